"""Keeping paths inside the folder they belong to."""

from __future__ import annotations

import os
from pathlib import Path

from .errors import UnsafePathError

__all__ = ["contained_path"]


def contained_path(root: Path, relative: str, *, what: str = "path") -> Path:
    """``root / relative``, refusing anything that resolves outside ``root``.

    An absolute path is allowed only if it lies inside ``root``. ``..`` segments, absolute
    paths and symlinks that lead out of ``root`` are refused with an :class:`UnsafePathError`
    naming the offending path.
    """
    if not relative or not relative.strip():
        raise UnsafePathError(f"{what} is empty")
    base = root.resolve()
    target = (base / os.path.expanduser(relative) if relative.startswith("~") else base / relative).resolve()
    if target != base and base not in target.parents:
        raise UnsafePathError(f"{what} {relative!r} resolves outside {str(root)!r}; keep it inside that folder")
    return target
