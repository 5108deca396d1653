"""Loading recipes from files, JSON/YAML text, dicts or models, with a parse cache.

A recipe file is parsed once per (path, size, mtime); every ``execute_recipe`` of the same
sub-recipe reuses the parsed object.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from .errors import RecipeLoadError
from .models import Recipe

__all__ = ["LoadedRecipe", "canonical_path", "load_recipe", "resolve_recipe_path"]

_YAML_SUFFIXES = (".yaml", ".yml")


@dataclass(frozen=True)
class LoadedRecipe:
    """A recipe's raw object, how to name it in messages, and where it came from."""

    data: dict[str, Any]
    label: str
    path: Path | None

    @property
    def directory(self) -> Path | None:
        return self.path.parent if self.path is not None else None


_FILE_CACHE: dict[Path, tuple[tuple[int, int], dict[str, Any]]] = {}


@lru_cache(maxsize=4096)
def _realpath(absolute: str) -> Path:
    return Path(os.path.realpath(absolute))


def canonical_path(path: str | os.PathLike[str]) -> Path:
    """``Path(path).resolve()``, cached per absolute path.

    A run resolves the same recipe files again and again (every ``execute_recipe`` of a
    sub-recipe, and validation), and each resolution costs a system call per path component.
    """
    return _realpath(os.path.abspath(path))


def _parse_text(text: str, label: str, syntax: Literal["json", "yaml", "either"]) -> Any:
    """Parse recipe text. ``either`` tries JSON, then YAML (recipe text of unknown kind).

    A ``.json`` file is JSON only, as upstream: YAML would silently accept mistakes such as
    trailing commas, and the JSON error is the one its author needs.
    """
    json_error: json.JSONDecodeError | None = None
    if syntax != "yaml":
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            json_error = exc
    if json_error is not None and syntax == "json":
        raise _json_load_error(label, json_error)
    import yaml  # only recipes that are YAML pay for the import

    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        if json_error is not None:
            raise _json_load_error(label, json_error) from None
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1} column {mark.column + 1}" if mark is not None else ""
        raise RecipeLoadError(f"{label} is not valid YAML: {getattr(exc, 'problem', exc)}{where}") from None


def _json_load_error(label: str, exc: json.JSONDecodeError) -> RecipeLoadError:
    return RecipeLoadError(f"{label} is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}")


def _load_file(path: Path, label: str) -> dict[str, Any]:
    try:
        stat = path.stat()
    except OSError:
        raise RecipeLoadError(f"recipe file not found: {label!r}") from None
    key = (stat.st_size, stat.st_mtime_ns)
    resolved = canonical_path(path)
    cached = _FILE_CACHE.get(resolved)
    if cached is not None and cached[0] == key:
        return cached[1]
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise RecipeLoadError(f"could not read recipe file {label!r}: {exc}") from None
    suffix = path.suffix.lower()
    syntax: Literal["json", "yaml", "either"] = (
        "yaml" if suffix in _YAML_SUFFIXES else "json" if suffix == ".json" else "either"
    )
    data = _parse_text(text, label, syntax)
    data = _check_top_level(data, label)
    _FILE_CACHE[resolved] = (key, data)
    return data


def _check_top_level(data: Any, label: str) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise RecipeLoadError(f"{label} must hold an object with a 'steps' list, not {type(data).__name__}")
    return data


def load_recipe(source: str | os.PathLike[str] | dict[str, Any] | Recipe) -> LoadedRecipe:
    """Load a recipe from a file path, JSON/YAML text, a dict or a :class:`Recipe`.

    The returned ``data`` is shared with the cache: callers must not mutate it.
    """
    if isinstance(source, Recipe):
        return LoadedRecipe(source.model_dump(exclude_none=True), "<recipe>", None)
    if isinstance(source, dict):
        return LoadedRecipe(source, "<recipe>", None)
    if isinstance(source, os.PathLike):
        path = Path(source)
        return LoadedRecipe(_load_file(path, str(source)), str(source), path)
    if isinstance(source, str):
        stripped = source.lstrip()
        if stripped.startswith("{"):
            return _from_text(source, "json")
        if "\n" in source and not os.path.exists(source):
            return _from_text(source, "yaml")
        path = Path(source)
        return LoadedRecipe(_load_file(path, source), source, path)
    raise TypeError(f"a recipe is a file path, JSON text, a dict or a Recipe, not {type(source).__name__}")


def _from_text(text: str, syntax: Literal["json", "yaml"]) -> LoadedRecipe:
    return LoadedRecipe(_check_top_level(_parse_text(text, "recipe text", syntax), "recipe text"), "<recipe>", None)


def resolve_recipe_path(path: str, caller_dir: Path | None) -> Path | None:
    """Where a sub-recipe path points: the working directory first (as upstream), then the
    directory of the calling recipe. ``None`` if neither has the file."""
    candidate = Path(path)
    if candidate.is_file():
        return candidate
    if caller_dir is not None and not candidate.is_absolute():
        beside = caller_dir / candidate
        if beside.is_file():
            return beside
    return None
