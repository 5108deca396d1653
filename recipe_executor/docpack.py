"""The ``.docpack`` format: a zip archive holding ``outline.json`` and the outline's resources.

Layout (the one upstream's ``docpack-file`` package writes and reads)::

    outline.json          the outline; each ``resources[].path`` names a member below
    product_specs.md      resource files, flat, under their base names
    notes.md
    notes_1.md            a second ``notes.md`` from another folder, renamed ``{stem}_{n}{suffix}``

Extraction writes ``outline.json`` into the target folder and every other member into its
``files/`` subfolder. Unlike upstream:

- every outline path maps to the member that holds *its* file (upstream pointed duplicates at
  the first one);
- extraction refuses members with absolute or ``..`` names before writing anything (zip-slip);
- outline paths are rewritten to the extracted files in memory *and* in the ``outline.json``
  written to disk, so recipes that re-read it find the resources (upstream lost them).

All functions here are blocking; steps call them off the event loop.
"""

from __future__ import annotations

import contextlib
import json
import os
import posixpath
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Any

from .errors import StepError, UnsafePathError

__all__ = ["OUTLINE_NAME", "CreatedDocpack", "ExtractedDocpack", "create_docpack", "extract_docpack"]

OUTLINE_NAME = "outline.json"
FILES_DIR = "files"


@dataclass(frozen=True)
class CreatedDocpack:
    """What :func:`create_docpack` wrote: the archive, and resource file → member name."""

    path: Path
    members: dict[str, str]
    unmatched: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ExtractedDocpack:
    """What :func:`extract_docpack` produced.

    ``outline``: the outline with resource paths pointing at the extracted files (absolute).
    ``resource_files``: absolute paths of the resources the outline refers to, in outline order.
    ``unmatched``: outline paths that name no member (left as they were).
    """

    outline: dict[str, Any]
    resource_files: list[str]
    outline_path: Path
    unmatched: list[str] = field(default_factory=list)


def _key(path: str | Path) -> str:
    """A comparable identity for a path on disk (relative paths resolve against the cwd)."""
    return os.path.normcase(os.path.realpath(os.path.abspath(os.path.expanduser(str(path)))))


def _unique_name(name: str, taken: set[str]) -> str:
    if name not in taken:
        return name
    stem, suffix = posixpath.splitext(name)
    n = 1
    while f"{stem}_{n}{suffix}" in taken:
        n += 1
    return f"{stem}_{n}{suffix}"


def _outline_resources(outline: dict[str, Any]) -> list[dict[str, Any]]:
    resources = outline.get("resources")
    if resources is None:
        return []
    if not isinstance(resources, list):
        raise StepError(f"the outline's 'resources' must be a list, not {type(resources).__name__}")
    return [r for r in resources if isinstance(r, dict)]


def create_docpack(outline: dict[str, Any], resource_files: list[str], output: Path) -> CreatedDocpack:
    """Write ``outline`` and ``resource_files`` to the archive ``output`` (atomically).

    Every resource file must exist. An outline resource whose path is an existing file not in
    ``resource_files`` is packed too, so the docpack is self-contained; one whose path exists
    nowhere is left as written and reported in ``unmatched``.
    """
    files: list[str] = list(dict.fromkeys(resource_files))
    for path in files:
        if not os.path.isfile(path):
            what = "a folder, not a file" if os.path.isdir(path) else "not found"
            raise StepError(f"docpack resource file {path!r} is {what}; fix resource_files")
    by_key = {_key(p): p for p in files}
    outline = json.loads(json.dumps(outline))  # our own copy: paths are rewritten below
    unmatched: list[str] = []
    for resource in _outline_resources(outline):
        ref = resource.get("path")
        if isinstance(ref, str) and ref and _key(ref) not in by_key:
            if os.path.isfile(ref):
                by_key[_key(ref)] = ref
                files.append(ref)
            else:
                unmatched.append(ref)

    taken = {OUTLINE_NAME}
    members: dict[str, str] = {}
    for path in files:
        name = _unique_name(Path(path).name, taken)
        taken.add(name)
        members[path] = name
    member_by_key = {_key(p): m for p, m in members.items()}
    for resource in _outline_resources(outline):
        ref = resource.get("path")
        if isinstance(ref, str) and ref and _key(ref) in member_by_key:
            resource["path"] = member_by_key[_key(ref)]

    output.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{output.name}.", suffix=".tmp", dir=output.parent)
    os.close(fd)
    try:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            archive.writestr(OUTLINE_NAME, json.dumps(outline, indent=2, ensure_ascii=False))
            for path, name in members.items():
                archive.write(path, arcname=name)
        os.replace(tmp, output)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return CreatedDocpack(output, members, unmatched)


def _safe_member(name: str) -> str:
    """``name`` as a relative posix path, or :class:`UnsafePathError` if it could escape."""
    windows = PureWindowsPath(name)
    posix = PurePosixPath(name.replace("\\", "/"))
    if posix.is_absolute() or windows.is_absolute() or windows.drive or name.startswith(("/", "\\")):
        raise UnsafePathError(f"docpack member {name!r} has an absolute path; the archive was not extracted")
    if ".." in posix.parts:
        raise UnsafePathError(f"docpack member {name!r} climbs out with '..'; the archive was not extracted")
    cleaned = posixpath.normpath(str(posix))
    if cleaned in ("", "."):
        raise UnsafePathError(f"docpack member {name!r} has an empty path; the archive is unsafe and was not extracted")
    return cleaned


def _plan_outline(
    outline: dict[str, Any], members: set[str], docpack: Path
) -> tuple[list[tuple[dict[str, Any], str]], list[str]]:
    """Which member each outline resource names; unsafe paths outside the archive are refused."""
    plan: list[tuple[dict[str, Any], str]] = []
    unmatched: list[str] = []
    for resource in _outline_resources(outline):
        path = resource.get("path")
        if not isinstance(path, str) or not path:
            continue
        normalised = posixpath.normpath(path.replace("\\", "/"))
        if normalised in members and normalised != OUTLINE_NAME:
            plan.append((resource, normalised))
            continue
        try:
            _safe_member(path)
        except UnsafePathError:
            raise UnsafePathError(
                f"the outline in {str(docpack)!r} points at {path!r}, which is outside the docpack; "
                "resource paths must name files inside the archive"
            ) from None
        unmatched.append(path)
    return plan, unmatched


def extract_docpack(docpack: Path, extract_dir: Path) -> ExtractedDocpack:
    """Extract ``docpack`` into ``extract_dir``; see the module docstring for the layout.

    Every member name is checked before anything is written.
    """
    if not docpack.is_file():
        raise StepError(f"docpack file not found: {str(docpack)!r}")
    if docpack.suffix.lower() != ".docpack":
        raise StepError(f"{str(docpack)!r} is not a .docpack file; give the path of a file ending in .docpack")
    try:
        archive = zipfile.ZipFile(docpack)
    except (zipfile.BadZipFile, OSError) as exc:
        raise StepError(f"{str(docpack)!r} is not a valid .docpack (zip) archive: {exc}") from None
    with archive:
        infos = [i for i in archive.infolist() if not i.is_dir()]
        names = {info.filename: _safe_member(info.filename) for info in infos}
        if OUTLINE_NAME not in names.values():
            raise StepError(f"{str(docpack)!r} has no {OUTLINE_NAME}; it is not a docpack")
        outline_info = next(i for i in infos if names[i.filename] == OUTLINE_NAME)
        try:
            outline = json.loads(archive.read(outline_info).decode("utf-8-sig"))
        except (ValueError, UnicodeDecodeError) as exc:
            raise StepError(f"the {OUTLINE_NAME} in {str(docpack)!r} is not valid JSON: {exc}") from None
        if not isinstance(outline, dict):
            raise StepError(f"the {OUTLINE_NAME} in {str(docpack)!r} must hold an object, not {type(outline).__name__}")

        plan, unmatched = _plan_outline(outline, set(names.values()), docpack)
        root = extract_dir.resolve()
        files_dir = root / FILES_DIR
        extracted: dict[str, Path] = {}
        for info in infos:
            member = names[info.filename]
            if member == OUTLINE_NAME:
                continue
            target = files_dir / member
            target.parent.mkdir(parents=True, exist_ok=True)
            with archive.open(info) as source, open(target, "wb") as sink:
                while chunk := source.read(1 << 20):
                    sink.write(chunk)
            extracted[member] = target

    resource_files: list[str] = []
    for resource, member in plan:
        extracted_path = str(extracted[member])
        resource["path"] = extracted_path
        if extracted_path not in resource_files:
            resource_files.append(extracted_path)

    outline_path = root / OUTLINE_NAME
    root.mkdir(parents=True, exist_ok=True)
    outline_path.write_text(json.dumps(outline, indent=2, ensure_ascii=False), encoding="utf-8")
    return ExtractedDocpack(outline, resource_files, outline_path, unmatched)
