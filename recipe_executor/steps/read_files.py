"""``read_files``: read one or more files into the context.

``path`` is a template: a string (comma-separated list allowed) or a list of strings. Each entry
may be a glob (``**`` recursive). ``.json`` files are parsed as JSON and ``.yaml``/``.yml`` as
YAML (on a parse error the text is kept, with a warning). ``merge_mode`` ``concat`` joins
several files as upstream (``path\\ncontent`` blocks); ``dict`` always yields
``{path: content}``, also for a single file. Missing files fail unless ``optional``.
"""

from __future__ import annotations

import glob
import json
import logging
import os
from typing import Any

import anyio.to_thread

from ..errors import StepError
from ..protocols import ContextProtocol
from ..templates import render_structured, render_template
from .base import BaseStep, StepConfig, TemplatedBool, resolve_templated
from .registry import register_step

__all__ = ["ReadFilesConfig", "ReadFilesStep"]


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


_GLOB_CHARS = ("*", "?", "[")


def _expand(pattern: str) -> list[str]:
    if not any(c in pattern for c in _GLOB_CHARS):
        return [pattern]
    matches = sorted(m for m in glob.glob(pattern, recursive=True) if not os.path.isdir(m))
    return matches or [pattern]


def _decode(path: str, data: bytes, logger: logging.Logger) -> Any:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise StepError(f"file {path!r} is not UTF-8 text (is it binary?); read_files reads text files only") from None
    if "\x00" in text:
        raise StepError(f"file {path!r} looks binary (it contains NUL bytes); read_files reads text files only")
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
        for path in _expand(pattern):
            if os.path.isdir(path):
                raise StepError(f"{path!r} is a directory, not a file; use a glob such as '{path.rstrip('/')}/*'")
            try:
                with open(path, "rb") as handle:
                    data = handle.read()
            except FileNotFoundError:
                if optional:
                    logger.warning("Optional file not found: %s", path)
                    continue
                raise StepError(f"file not found: {path!r}") from None
            except OSError as exc:
                raise StepError(f"could not read {path!r}: {exc.strerror or exc}") from None
            results.append((path, _decode(path, data, logger)))
    return results


@register_step("read_files")
class ReadFilesStep(BaseStep[ReadFilesConfig]):
    """Reads files into the context; see the module docstring."""

    def __init__(self, logger: logging.Logger, config: dict[str, Any] | ReadFilesConfig) -> None:
        super().__init__(logger, config)

    def _paths(self, context: ContextProtocol) -> list[str]:
        raw = self.config.path
        if isinstance(raw, list):
            rendered = [render_template(p, context).strip() for p in raw]
            return [p for p in rendered if p]
        value = render_structured(raw, context)
        if isinstance(value, (list, tuple)):
            return [str(p).strip() for p in value if str(p).strip()]
        if value is None:
            return []
        return [p.strip() for p in str(value).split(",") if p.strip()]

    async def execute(self, context: ContextProtocol) -> None:
        cfg = self.config
        paths = self._paths(context)
        optional = resolve_templated(cfg.optional, bool, context, "optional")
        mode = render_template(cfg.merge_mode, context).strip() or "concat"
        if mode not in ("concat", "dict"):
            raise StepError(f"merge_mode must be 'concat' or 'dict', not {mode!r}")
        key = render_template(cfg.content_key, context)
        results = await anyio.to_thread.run_sync(_read_all, paths, optional, self.logger)
        context[key] = _merge(results, mode, len(paths))
        self.logger.debug("Read %d file(s) into %r", len(results), key)


def _merge(results: list[tuple[str, Any]], mode: str, requested: int) -> Any:
    if mode == "dict":
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


