"""recipe-executor: run JSON/YAML recipes of steps over a shared context.

The public API (compatible with upstream ``recipe-executor`` 0.1.3)::

    from recipe_executor import Context, Executor
    await Executor(logger).execute("recipe.json", Context(artifacts={...}, config={...}))
"""

from __future__ import annotations

import gc as _gc

# Importing pydantic and defining models allocates many small objects; the cyclic collector
# would run dozens of times during start-up for nothing (nothing here is garbage yet).
_gc_was_enabled = _gc.isenabled()
_gc.disable()

try:
    from . import steps as steps  # registers the built-in steps
    from .context import Context
    from .errors import (
        RecipeError,
        RecipeExecutorError,
        RecipeLoadError,
        RecipeValidationError,
        StepError,
    )
    from .executor import Executor
    from .models import Recipe, RecipeStep
    from .runtime import RunOptions
    from .steps.base import BaseStep, StepConfig
    from .steps.registry import STEP_REGISTRY, register_step
finally:
    if _gc_was_enabled:
        _gc.enable()

__all__ = [
    "STEP_REGISTRY",
    "BaseStep",
    "Context",
    "Executor",
    "Recipe",
    "RecipeError",
    "RecipeExecutorError",
    "RecipeLoadError",
    "RecipeStep",
    "RecipeValidationError",
    "RunOptions",
    "StepConfig",
    "StepError",
    "register_step",
]

__version__ = "0.2.0"
