"""The Executor: load a recipe, validate its whole tree, then run its steps in order."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import RecipeExecutorError, RecipeValidationError, RecursionLimitError
from .loader import LoadedRecipe, load_recipe
from .models import Recipe
from .protocols import ContextProtocol
from .runtime import RunOptions, RunState, current_depth, current_recipe_dir, nested_recipe, run_scope
from .steps.registry import load_entry_point_steps
from .steps.runner import run_steps
from .validation import validate_recipe

if TYPE_CHECKING:
    from .llm.usage import UsageTotals

__all__ = ["Executor"]


class Executor:
    """Runs recipes: ``await Executor(logger).execute(recipe, context)``.

    ``recipe`` may be a file path (JSON or YAML), JSON text, a dict or a :class:`Recipe`.
    Nothing runs unless the whole tree validates; warnings (unknown config keys) are logged.
    Steps that installed packages declare under the ``recipe_executor.steps`` entry-point group
    are registered on the first run.
    ``options`` applies when this call starts the run (a nested call joins the current run).
    After a run, ``last_run`` holds its :class:`RunState` and ``usage`` its LLM usage totals.
    """

    def __init__(self, logger: logging.Logger | None = None, *, options: RunOptions | None = None) -> None:
        self.logger = logger or logging.getLogger("recipe_executor")
        self.options = options
        self.last_run: RunState | None = None

    @property
    def usage(self) -> UsageTotals:
        """LLM usage of the last run, per model: ``.as_dict()`` gives
        ``{model: {calls, requests, input_tokens, output_tokens, retries}}``, ``.summary()`` the
        printed lines. Empty before a run or when the run made no LLM call."""
        from .llm.usage import USAGE_SERVICE, UsageTotals  # only runs that ask pay for the import

        found = self.last_run.peek_service(USAGE_SERVICE) if self.last_run is not None else None
        return found if isinstance(found, UsageTotals) else UsageTotals()

    def validate(self, recipe: str | os.PathLike[str] | dict[str, Any] | Recipe) -> LoadedRecipe:
        """Load and validate ``recipe`` without running it; log warnings, raise on errors."""
        load_entry_point_steps()
        loaded = load_recipe(recipe)
        self._check(loaded, self.options.strict if self.options else False)
        return loaded

    def _check(self, loaded: LoadedRecipe, strict: bool, run_config: dict[str, Any] | None = None) -> None:
        problems = validate_recipe(loaded, strict=strict, run_config=run_config)
        for warning in problems:
            if warning.severity == "warning":
                self.logger.warning("%s", warning)
        errors = [p for p in problems if p.severity == "error"]
        if errors:
            raise RecipeValidationError(errors)

    async def execute(
        self,
        recipe: str | os.PathLike[str] | dict[str, Any] | Recipe,
        context: ContextProtocol,
    ) -> None:
        """Validate ``recipe`` and run its steps on ``context``."""
        async with run_scope(self.options, self.logger) as (run, owner):
            self.last_run = run
            if owner:
                load_entry_point_steps()
            loaded = load_recipe(recipe)
            self._check(loaded, run.options.strict, context.get_config())
            steps = loaded.data["steps"]
            recipe_dir = loaded.directory.resolve() if loaded.directory is not None else None
            if not owner and current_depth() >= run.options.max_depth:
                # a custom step that runs recipes itself: same limit as execute_recipe
                raise RecursionLimitError(
                    f"recipes nested more than {run.options.max_depth} levels deep; check for a step "
                    "that runs its own recipe without end, or raise the limit (--max-depth)"
                )
            with nested_recipe(recipe_dir or current_recipe_dir() or Path.cwd(), deeper=not owner):
                try:
                    await run_steps(steps, context, logger=self.logger)
                except RecipeExecutorError as exc:
                    exc.add_segment(loaded.label)
                    raise
