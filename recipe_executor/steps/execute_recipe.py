"""``execute_recipe``: run another recipe file on the same context.

``recipe_path`` is rendered, then looked up in the working directory (as upstream) and, failing
that, beside the calling recipe. ``context_overrides`` are rendered recursively; a rendered
string holding a JSON object or array becomes that structure, and ``"{{ x }}"`` passes ``x``
through unchanged. Overrides are visible to the sub-recipe only: afterwards each overridden key
is restored (or removed). Other writes of the sub-recipe stay, as upstream recipes rely on.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from typing import Any

from ..errors import RecipeValidationError, RecursionLimitError, StepError
from ..loader import load_recipe, resolve_recipe_path
from ..protocols import ContextProtocol
from ..runtime import current_depth, current_recipe_dir, current_run, nested_recipe
from ..templates import is_template, render_value
from ..validation import validate_recipe
from .base import BaseStep, StepConfig
from .registry import register_step
from .runner import run_steps

__all__ = ["ExecuteRecipeConfig", "ExecuteRecipeStep"]

_MISSING = object()


class ExecuteRecipeConfig(StepConfig):
    """Config for ExecuteRecipeStep.

    Fields:
        recipe_path: path of the sub-recipe (a template).
        context_overrides: values set for the sub-recipe only (rendered recursively).
    """

    recipe_path: str
    context_overrides: dict[str, Any] = {}


def _parse_structure(value: Any) -> Any:
    """A rendered string holding a JSON object or array becomes that structure."""
    if isinstance(value, str):
        text = value.strip()
        if text[:1] in ("{", "[") and text[-1:] in ("}", "]"):
            try:
                return json.loads(text)
            except ValueError:
                return value
        return value
    if isinstance(value, dict):
        return {k: _parse_structure(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_parse_structure(v) for v in value]
    return value


@register_step("execute_recipe")
class ExecuteRecipeStep(BaseStep[ExecuteRecipeConfig]):
    """Runs a sub-recipe on the same context with scoped overrides; see the module docstring."""

    def __init__(self, logger: logging.Logger, config: dict[str, Any] | ExecuteRecipeConfig) -> None:
        super().__init__(logger, config)

    @classmethod
    def static_recipe_path(cls, config: ExecuteRecipeConfig) -> str | None:
        return None if is_template(config.recipe_path) else config.recipe_path

    @classmethod
    def child_steps(cls, config: ExecuteRecipeConfig) -> Sequence[tuple[str, Sequence[Any]]]:
        return ()

    async def execute(self, context: ContextProtocol) -> None:
        run = current_run()
        raw_path = render_value(self.config.recipe_path, context).strip()
        self.path_detail = f" ({raw_path})"
        if current_depth() >= run.options.max_depth:
            raise RecursionLimitError(
                f"sub-recipes nested more than {run.options.max_depth} levels deep; "
                "check for a recipe that calls itself without end, or raise the limit (--max-depth)"
            )
        resolved = resolve_recipe_path(raw_path, current_recipe_dir())
        if resolved is None:
            raise StepError(f"sub-recipe file not found: {raw_path!r}")
        loaded = load_recipe(resolved)
        validated: set[Any] = run.service("execute_recipe.validated", set)
        key = resolved.resolve()
        if key not in validated:
            problems = [p for p in validate_recipe(loaded, strict=run.options.strict, prefix=[]) if p.severity == "error"]
            if problems:
                raise RecipeValidationError(problems)
            validated.add(key)

        overrides = {k: _parse_structure(render_value(v, context, structured=True)) for k, v in self.config.context_overrides.items()}
        saved = {k: context[k] if k in context else _MISSING for k in overrides}
        for k, v in overrides.items():
            context[k] = v
        self.logger.info("Executing sub-recipe %s", raw_path)
        try:
            with nested_recipe(key.parent, deeper=True):
                await run_steps(loaded.data["steps"], context, logger=self.logger)
        finally:
            for k, old in saved.items():
                if old is _MISSING:
                    if k in context:
                        del context[k]
                else:
                    context[k] = old
