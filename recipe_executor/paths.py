"""Keeping paths inside the folder they belong to.

Paths that come from templates or LLM output are data: ``contained_path`` makes sure they can
only name something under a given root, however they are spelled (``..``, an absolute path, a
symlink that points elsewhere).
"""

from __future__ import annotations

from pathlib import Path

from .errors import UnsafePathError

__all__ = ["contained_path"]


def contained_path(root: Path, relative: str, *, what: str = "path") -> Path:
    """The resolved ``root / relative``, refusing anything that resolves outside ``root``.

    An absolute ``relative`` is allowed only if it lies inside ``root``. ``..`` segments,
    absolute paths and symlinks (at any level) that lead out of ``root`` are refused with an
    :class:`UnsafePathError` naming the offending path. ``~`` is not expanded (as upstream,
    it is an ordinary folder name). ``what`` names the path in messages (e.g. ``file path``).
    """
    if not relative or not relative.strip():
        raise UnsafePathError(f"{what} is empty; give a file name relative to {str(root)!r}")
    if "\x00" in relative:
        raise UnsafePathError(f"{what} {relative!r} contains a NUL byte; remove it")
    try:
        base = root.resolve()
        target = (base / relative).resolve()
    except (OSError, RuntimeError) as exc:  # a symlink loop, an unreadable folder
        raise UnsafePathError(f"{what} {relative!r} cannot be resolved under {str(root)!r}: {exc}") from None
    if target != base and base not in target.parents:
        raise UnsafePathError(
            f"{what} {relative!r} resolves outside the root folder {str(root)!r}; "
            "use a relative path that stays inside it"
        )
    return target
