"""``read_files``: read one or more files into the context.

``path`` is a template: a string (comma-separated list allowed) or a list of strings. Each entry
may be a glob (``**`` recursive). ``.json`` files are parsed as JSON and ``.yaml``/``.yml`` as
YAML (on a parse error the text is kept, with a warning). ``merge_mode`` ``concat`` joins
several files as upstream (``path\\ncontent`` blocks); ``dict`` yields ``{path: content}``
whenever the path could name several files (a glob, a comma or ``{% for %}`` list, a list),
also when only one matched; a path naming one file yields its content, as upstream. Missing
files fail unless ``optional``.
``optional`` and ``merge_mode`` are templates too (upstream used them verbatim). Files are read
as UTF-8 (a leading BOM is dropped) off the event loop; a binary or undecodable file is a clear
error rather than mojibake.
"""

from __future__ import annotations

import glob
import json
import logging
import os
from typing import Any

import anyio.to_thread
from pydantic import field_validator

from ..errors import StepError
from ..protocols import ContextProtocol
from ..templates import is_template, render_structured, render_template
from .base import BaseStep, StepConfig, TemplatedBool, resolve_templated
from .registry import register_step

__all__ = ["MERGE_MODES", "ReadFilesConfig", "ReadFilesStep"]

MERGE_MODES = ("concat", "dict")


class ReadFilesConfig(StepConfig):
    """Config for ReadFilesStep.

    Fields:
        path: a path, a comma-separated list of paths, or a list of paths (templates, globs).
        content_key: the artifact key to store the content under (a template).
        optional: skip missing files (with a warning) instead of failing.
        merge_mode: "concat" (default) or "dict"; a template.
    """

    path: str | list[str]
    content_key: str
    optional: TemplatedBool = False
    merge_mode: str = "concat"

    @field_validator("merge_mode")
    @classmethod
    def _known_mode(cls, value: str) -> str:
        if not is_template(value) and value.strip() not in MERGE_MODES:
            raise ValueError(f"merge_mode must be 'concat' or 'dict', not {value!r}")
        return value


_GLOB_CHARS = ("*", "?", "[")


def _expand(pattern: str) -> tuple[list[str], bool]:
    """The files ``pattern`` names, and whether it was a glob that matched nothing.

    A pattern that matches nothing is kept as a literal path (a file may have ``[`` in its
    name), as upstream does.
    """
    if not any(c in pattern for c in _GLOB_CHARS):
        return [pattern], False
    matches = sorted(m for m in glob.glob(pattern, recursive=True) if not os.path.isdir(m))
    return (matches, False) if matches else ([pattern], True)


def _decode(path: str, data: bytes, logger: logging.Logger) -> Any:
    if b"\x00" in data:
        raise StepError(f"file {path!r} looks binary (it contains NUL bytes); read_files reads UTF-8 text files only")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise StepError(
            f"file {path!r} is not UTF-8 text (undecodable byte at offset {exc.start}); "
            "convert it to UTF-8 or leave it out"
        ) from None
    lower = path.lower()
    if lower.endswith(".json"):
        try:
            return json.loads(text)
        except ValueError as exc:
            logger.warning("Could not parse %s as JSON (%s); keeping its text", path, exc)
    elif lower.endswith((".yaml", ".yml")):
        import yaml

        try:
            return yaml.safe_load(text)
        except yaml.YAMLError as exc:
            logger.warning("Could not parse %s as YAML (%s); keeping its text", path, exc)
    return text


def _read_all(paths: list[str], optional: bool, logger: logging.Logger) -> list[tuple[str, Any]]:
    results: list[tuple[str, Any]] = []
    for pattern in paths:
        expanded, unmatched = _expand(pattern)
        for path in expanded:
            if os.path.isdir(path):
                raise StepError(f"{path!r} is a directory, not a file; use a glob such as '{path.rstrip('/')}/*'")
            try:
                with open(path, "rb") as handle:
                    data = handle.read()
            except FileNotFoundError:
                if optional:
                    logger.warning("Optional file not found: %s", path)
                    continue
                if unmatched:
                    raise StepError(f"no file matches {path!r}; check the pattern or set optional: true") from None
                raise StepError(f"file not found: {path!r}; check the path or set optional: true") from None
            except OSError as exc:
                raise StepError(f"could not read {path!r}: {exc.strerror or exc}") from None
            results.append((path, _decode(path, data, logger)))
    return results


@register_step("read_files")
class ReadFilesStep(BaseStep[ReadFilesConfig]):
    """Reads files into the context; see the module docstring."""


    def _paths(self, context: ContextProtocol) -> list[str]:
        """The rendered paths: a string is split on commas; list items are not (as upstream).

        A single ``{{ expression }}`` that yields a list contributes each of its items, where
        upstream concatenated them into one bogus path.
        """
        raw = self.config.path
        if isinstance(raw, list):
            paths: list[str] = []
            for item in raw:
                value = render_structured(item, context)
                items = value if isinstance(value, (list, tuple)) else [value]
                paths.extend(str(p).strip() for p in items if p is not None)
            return [p for p in paths if p]
        value = render_structured(raw, context)
        if isinstance(value, (list, tuple)):
            return [str(p).strip() for p in value if p is not None and str(p).strip()]
        if value is None:
            return []
        return [p.strip() for p in str(value).split(",") if p.strip()]

    def _names_one_file(self, paths: list[str]) -> bool:
        """True if the recipe asks for exactly one file by its text: one path, with no comma,
        no ``{% %}`` tag (a loop building a list) and no glob. Decided from the recipe, never
        from how many files happen to exist."""
        raw = self.config.path
        if not isinstance(raw, str) or "," in raw or "{%" in raw or len(paths) != 1:
            return False
        return not any(c in paths[0] for c in _GLOB_CHARS)

    async def execute(self, context: ContextProtocol) -> None:
        cfg = self.config
        paths = self._paths(context)
        optional = resolve_templated(cfg.optional, bool, context, "optional")
        mode = render_template(cfg.merge_mode, context).strip() or "concat"
        if mode not in MERGE_MODES:
            raise StepError(f"merge_mode must be 'concat' or 'dict', not {mode!r}")
        key = render_template(cfg.content_key, context)
        if not key.strip():
            raise StepError(f"content_key {cfg.content_key!r} rendered to an empty string; give a non-empty key")
        results = await anyio.to_thread.run_sync(_read_all, paths, optional, self.logger)
        single_file = self._names_one_file(paths)
        context[key] = _merge(results, mode, single_file)
        self.logger.debug("Read %d file(s) into %r", len(results), key)


def _merge(results: list[tuple[str, Any]], mode: str, single_file: bool) -> Any:
    """Upstream's merge rules, except that ``dict`` gives a dict whenever the request could name
    several files (a glob, a comma list, a list, a ``{% for %}``-built list), however many
    matched. Upstream returned the bare content whenever exactly one file matched, so the shape
    depended on the file system. A request for one file still yields its content, as upstream
    recipes rely on (codebase_generator's ``read_components.json`` reads ``components.json``)."""
    if mode == "dict":
        if single_file and len(results) == 1:
            return results[0][1]
        return dict(results)
    if not results:
        return ""
    if len(results) == 1:
        return results[0][1]
    blocks = []
    for path, content in results:
        text = content if isinstance(content, str) else json.dumps(content, ensure_ascii=False)
        blocks.append(f"{path}\n{text}")
    return "\n".join(blocks)
