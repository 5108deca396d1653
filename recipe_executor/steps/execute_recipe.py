"""``execute_recipe``: run another recipe file on the same context.

``recipe_path`` is rendered, then looked up in the working directory (as upstream) and, failing
that, beside the calling recipe. ``context_overrides`` are rendered recursively; a rendered
string holding a JSON object or array becomes that structure (upstream parsed Python literals,
which broke on ``true``/``false``/``null``), and ``"{{ x }}"`` passes ``x`` through unchanged.
Keys are rendered too. Overrides are visible to the sub-recipe only: afterwards each overridden key
is restored (or removed). Other writes of the sub-recipe stay, as upstream recipes rely on.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import Field

from ..errors import RecipeValidationError, RecursionLimitError, StepError
from ..loader import canonical_path, load_recipe, resolve_recipe_path
from ..protocols import ContextProtocol
from ..runtime import current_depth, current_recipe_dir, current_run, nested_recipe
from ..templates import is_template, render_owned, render_template
from ..validation import validate_recipe
from ..values import parse_json_structure
from .base import BaseStep, StepConfig
from .registry import register_step
from .runner import run_steps

__all__ = ["ExecuteRecipeConfig", "ExecuteRecipeStep", "render_override"]

_MISSING = object()
_STACK_RESERVE = 250
"""Frames kept free below Python's recursion limit for the steps of the deepest sub-recipe."""


def _stack_depth() -> int:
    """How many Python frames the current call stack holds (cheap: a pointer walk)."""
    frame = sys._getframe()
    depth = 0
    while frame is not None:
        depth += 1
        frame = frame.f_back  # type: ignore[assignment]
    return depth


class ExecuteRecipeConfig(StepConfig):
    """Config for ExecuteRecipeStep.

    Fields:
        recipe_path: path of the sub-recipe (a template).
        context_overrides: values set for the sub-recipe only (rendered recursively).
    """

    recipe_path: str
    context_overrides: dict[str, Any] = Field(default_factory=dict)


def render_override(value: Any, context: ContextProtocol) -> Any:
    """Render one ``context_overrides`` value (see the module docstring).

    Only strings written in the recipe are parsed as JSON after rendering; values taken from
    the context through ``"{{ x }}"`` are passed through as they are (as a private copy).
    """
    if isinstance(value, str):
        if not is_template(value):
            return parse_json_structure(value)
        result = render_owned(value, context)
        return parse_json_structure(result) if isinstance(result, str) else result
    if isinstance(value, dict):
        return {render_template(k, context): render_override(v, context) for k, v in value.items()}
    if isinstance(value, list):
        return [render_override(v, context) for v in value]
    return value


@register_step("execute_recipe")
class ExecuteRecipeStep(BaseStep[ExecuteRecipeConfig]):
    """Runs a sub-recipe on the same context with scoped overrides; see the module docstring."""


    @classmethod
    def static_recipe_path(cls, config: ExecuteRecipeConfig) -> str | None:
        return None if is_template(config.recipe_path) else config.recipe_path

    @classmethod
    def child_steps(cls, config: ExecuteRecipeConfig) -> Sequence[tuple[str, Sequence[Any]]]:
        return ()

    async def execute(self, context: ContextProtocol) -> None:
        run = current_run()
        raw_path = render_template(self.config.recipe_path, context).strip()
        if not raw_path:
            raise StepError(f"recipe_path {self.config.recipe_path!r} rendered to an empty string; give a recipe file")
        self.path_detail = f" ({raw_path})"
        if current_depth() >= run.options.max_depth:
            raise RecursionLimitError(
                f"sub-recipes nested more than {run.options.max_depth} levels deep; "
                "check for a recipe that calls itself without end, or raise the limit (--max-depth)"
            )
        if _stack_depth() > sys.getrecursionlimit() - _STACK_RESERVE:
            raise RecursionLimitError(
                f"sub-recipes nested {current_depth()} levels deep have used up Python's call stack; "
                f"lower --max-depth below {current_depth()} or make the recursion shallower"
            )
        resolved = resolve_recipe_path(raw_path, current_recipe_dir())
        if resolved is None:
            raise StepError(
                f"sub-recipe file not found: {raw_path!r}; looked in the working directory "
                f"({str(Path.cwd())!r}) and beside the calling recipe"
            )
        loaded = load_recipe(resolved)
        validated: set[Any] = run.service("execute_recipe.validated", set)
        key = canonical_path(resolved)
        if key not in validated:
            problems = validate_recipe(loaded, strict=run.options.strict, prefix=[], run_config=context.get_config())
            errors = [p for p in problems if p.severity == "error"]
            if errors:
                raise RecipeValidationError(errors)
            for warning in problems:
                self.logger.warning("%s: %s", raw_path, warning)
            validated.add(key)

        overrides = render_override(self.config.context_overrides, context)
        saved = {k: context.get(k, _MISSING) for k in overrides}
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
