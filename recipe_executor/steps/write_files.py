"""``write_files``: write files from the recipe or from the context, atomically and contained.

Files come from ``files`` (entries with ``path``/``path_key`` and ``content``/``content_key``)
or from ``files_key`` (a context value: a ``{path, content}`` object or a list of them, e.g.
``llm_generate``'s ``files`` output). Paths and contents written in the recipe are rendered;
values taken from the context (LLM output included) are data and are not rendered. Every path
must stay inside ``root``. All paths are checked before anything is written, and each file is
written to a temporary file and renamed, so a crash never leaves a half-written file.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import anyio.to_thread
from pydantic import BaseModel, model_validator

from ..errors import StepError
from ..paths import contained_path
from ..protocols import ContextProtocol
from ..templates import is_template, render_owned, render_template
from .base import BaseStep, StepConfig
from .registry import register_step

__all__ = ["FileEntry", "WriteFilesConfig", "WriteFilesStep", "write_all", "write_atomic"]


class FileEntry(BaseModel):
    """One file of ``files``: ``path`` or ``path_key``, and ``content`` or ``content_key``."""

    path: str | None = None
    path_key: str | None = None
    content: Any = None
    content_key: str | None = None

    @model_validator(mode="after")
    def _one_of_each(self) -> FileEntry:
        if self.path is None and self.path_key is None:
            raise ValueError("each file needs 'path' or 'path_key'")
        return self


class WriteFilesConfig(StepConfig):
    """Config for WriteFilesStep.

    Fields:
        files_key: context key holding a file object or list of them (a template).
        files: file entries written in the recipe (takes precedence over ``files_key``).
        root: folder the files are written under (a template); paths may not leave it.
    """

    files_key: str | None = None
    files: list[FileEntry] | None = None
    root: str = "."

    @model_validator(mode="after")
    def _has_source(self) -> WriteFilesConfig:
        if self.files is None and self.files_key is None:
            raise ValueError("give 'files' or 'files_key'")
        return self


def _serialise(content: Any) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, BaseModel):
        content = content.model_dump()
    if isinstance(content, (dict, list)):
        return json.dumps(content, ensure_ascii=False, indent=2, default=str)
    return str(content)


def _new_file_mode() -> int:
    """The mode a plain ``open(path, "w")`` would give a new file (0o666 minus the umask)."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


_NEW_FILE_MODE = _new_file_mode()


def _check_target(target: Path, shown: str) -> None:
    """Refuse, before anything is written, a target that cannot become a regular file."""
    if shown.rstrip().endswith(("/", os.sep)):
        raise StepError(f"file path {shown!r} ends with a slash, so it names a folder; give a file name")
    if target.is_dir():
        raise StepError(f"file path {shown!r} names an existing folder; give a file name")
    for parent in target.parents:
        if parent.exists():
            if not parent.is_dir():
                raise StepError(f"file path {shown!r} runs through {str(parent)!r}, which is a file, not a folder")
            break


def _write_temp(target: Path, text: str) -> Path:
    """Write ``text`` to a new temporary file beside ``target`` and return its path."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        try:
            mode = target.stat().st_mode & 0o7777
        except FileNotFoundError:
            mode = _NEW_FILE_MODE
        os.fchmod(fd, mode)
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
    except BaseException:
        _discard(Path(tmp))
        raise
    return Path(tmp)


def _discard(path: Path) -> None:
    with contextlib.suppress(OSError):
        path.unlink()


def write_atomic(target: Path, text: str) -> None:
    """Write ``text`` to ``target`` through a temporary file in the same folder and a rename,
    so readers (and a crash or Ctrl-C) see either the old file or the complete new one."""
    os.replace(_write_temp(target, text), target)


def write_all(plan: list[tuple[Path, str]]) -> None:
    """Write every ``(target, text)`` of ``plan`` all-or-nothing as far as the OS allows.

    All temporary files are written first; only when every one of them is complete are they
    renamed into place. A failure while writing (disk full, permission denied) removes the
    temporary files and leaves every target untouched.
    """
    written: list[tuple[Path, Path]] = []
    try:
        for target, text in plan:
            written.append((_write_temp(target, text), target))
    except BaseException:
        for tmp, _ in written:
            _discard(tmp)
        raise
    for index, (tmp, target) in enumerate(written):
        try:
            os.replace(tmp, target)
        except BaseException:
            for later, _ in written[index:]:
                _discard(later)
            raise


def _render_content(content: Any, context: ContextProtocol) -> Any:
    """Render recipe-written content: strings inside it are templates (upstream wrote them
    literally); a string that is exactly ``"{{ x }}"`` keeps ``x``'s value, so an object is
    written as JSON rather than as a Python repr."""
    if isinstance(content, str):
        return render_owned(content, context) if is_template(content) else content
    if isinstance(content, dict):
        return {k: _render_content(v, context) for k, v in content.items()}
    if isinstance(content, list):
        return [_render_content(v, context) for v in content]
    return content


def _as_file(item: Any, where: str) -> tuple[Any, Any]:
    if isinstance(item, BaseModel):
        item = item.model_dump()
    if isinstance(item, dict) and "path" in item and "content" in item:
        return item["path"], item["content"]
    raise StepError(f"{where} must be an object with 'path' and 'content' (or a list of them), got {item!r:.80}")


@register_step("write_files")
class WriteFilesStep(BaseStep[WriteFilesConfig]):
    """Writes files under ``root``; see the module docstring."""


    def _collect(self, context: ContextProtocol) -> list[tuple[str, Any]]:
        cfg = self.config
        if cfg.files is not None:
            out: list[tuple[str, Any]] = []
            for entry in cfg.files:
                if entry.path is not None:
                    path = render_template(entry.path, context)
                else:
                    key = render_template(entry.path_key or "", context)
                    if key not in context:
                        raise StepError(f"path_key {key!r} is not in the context")
                    path = str(context[key])
                if entry.content_key is not None:
                    key = render_template(entry.content_key, context)
                    if key not in context:
                        raise StepError(f"content_key {key!r} is not in the context")
                    content = context[key]
                else:
                    content = _render_content(entry.content, context)
                out.append((path, content))
            return out
        key = render_template(cfg.files_key or "", context)
        if key not in context:
            raise StepError(f"files_key {key!r} is not in the context")
        value = context[key]
        items = value if isinstance(value, list) else [value]
        return [_as_file(item, f"the value of {key!r}") for item in items]

    async def execute(self, context: ContextProtocol) -> None:
        root = Path(render_template(self.config.root, context).strip() or ".")
        plan: list[tuple[Path, str]] = []
        seen: dict[Path, str] = {}
        for path, content in self._collect(context):
            shown = str(path)
            target = contained_path(root, shown, what="file path")
            _check_target(target, shown)
            if target in seen:
                self.logger.warning("%r and %r name the same file; the later one wins", seen[target], shown)
                plan = [(t, x) for t, x in plan if t != target]
            seen[target] = shown
            plan.append((target, _serialise(content)))
        await anyio.to_thread.run_sync(write_all, plan)
        for target, text in plan:
            self.logger.info("Wrote %s (%d bytes)", target, len(text.encode("utf-8")))
