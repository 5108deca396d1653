"""``docpack_create``: pack an outline and its resource files into a ``.docpack`` archive.

``outline_path``, ``output_path`` and ``output_key`` are rendered. ``resource_files`` is a list or
a string: ``"{{ resources }}"`` passes a context list through, any other string is rendered and
split on commas (JSON text for a list, as ``--context`` gives, is that list); list entries are
rendered too (upstream used them verbatim). Relative paths resolve against the working
directory, as upstream. A missing resource file is an error (upstream
skipped it and still reported success). The archive is written atomically; see
:mod:`recipe_executor.docpack` for the format.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import anyio.to_thread

from ..docpack import CreatedDocpack, create_docpack
from ..errors import StepError
from ..protocols import ContextProtocol
from ..templates import render_structured, render_template
from ..values import parse_json_structure
from .base import BaseStep, StepConfig
from .registry import register_step

__all__ = ["DocpackCreateConfig", "DocpackCreateStep", "resolve_resource_files"]


class DocpackCreateConfig(StepConfig):
    """Config for DocpackCreateStep.

    Fields:
        outline_path: the outline JSON file to pack (a template).
        resource_files: resource paths: a list, a comma-separated string, or ``"{{ list }}"``.
        output_path: the ``.docpack`` file to write; parent folders are created (a template).
        output_key: if set, ``{output_path, resource_count, success}`` is stored there.
    """

    outline_path: str
    resource_files: str | list[Any]
    output_path: str
    output_key: str | None = None


def _flatten(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return [p for item in value for p in _flatten(item)]
    if isinstance(value, dict) and isinstance(value.get("path"), str):
        return [value["path"]]
    if isinstance(value, str):
        parsed = parse_json_structure(value)  # `--context resources='["a.md","b.md"]'`
        if isinstance(parsed, list):
            return _flatten(parsed)
    return [p.strip() for p in str(value).split(",") if p.strip()]


def resolve_resource_files(raw: str | list[Any], context: ContextProtocol) -> list[str]:
    """The resource paths ``raw`` names (see the module docstring)."""
    items = raw if isinstance(raw, list) else [raw]
    paths: list[str] = []
    for item in items:
        value = render_structured(item, context) if isinstance(item, str) else item
        paths.extend(_flatten(value))
    return paths


def _read_outline(path: str) -> dict[str, Any]:
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise StepError(f"outline file not found: {path!r}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise StepError(f"could not read outline file {path!r}: {exc}") from None
    try:
        outline = json.loads(text)
    except ValueError as exc:
        raise StepError(f"outline file {path!r} is not valid JSON: {exc}") from None
    if not isinstance(outline, dict):
        raise StepError(f"outline file {path!r} must hold a JSON object, not {type(outline).__name__}")
    return outline


def _create(outline_path: str, resources: list[str], output: Path) -> CreatedDocpack:
    return create_docpack(_read_outline(outline_path), resources, output)


@register_step("docpack_create")
class DocpackCreateStep(BaseStep[DocpackCreateConfig]):
    """Writes a ``.docpack`` archive; see the module docstring."""


    async def execute(self, context: ContextProtocol) -> None:
        cfg = self.config
        outline_path = render_template(cfg.outline_path, context).strip()
        output_path = render_template(cfg.output_path, context).strip()
        if not outline_path or not output_path:
            raise StepError(
                f"outline_path {cfg.outline_path!r} and output_path {cfg.output_path!r} must not render empty"
            )
        resources = resolve_resource_files(cfg.resource_files, context)
        created = await anyio.to_thread.run_sync(_create, outline_path, resources, Path(output_path))
        for path in created.unmatched:
            self.logger.warning("The outline refers to %r, which is not a file; it is packed unchanged", path)
        self.logger.info("Created docpack %s with %d resource file(s)", output_path, len(created.members))
        if cfg.output_key:
            key = render_template(cfg.output_key, context)
            context[key] = {"output_path": output_path, "resource_count": len(created.members), "success": True}
