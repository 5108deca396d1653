"""The shared runner: builds steps from their raw objects and runs them with breadcrumbs.

The Executor runs a recipe's top-level steps through here, and composite steps (``parallel``,
``loop``, ``conditional``, ``execute_recipe``) run their children through here too, so every
error gets its step path the same way and nothing imports the Executor.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Sequence
from contextvars import ContextVar
from typing import Any

from pydantic import ValidationError

from .._concurrency import run_in_fresh_task
from ..errors import RecipeError, RecipeExecutorError, StepError
from ..models import RecipeStep, normalize_step
from ..protocols import ContextProtocol
from .base import describe_validation_error
from .registry import STEP_REGISTRY, suggest_step_type

__all__ = ["build_step", "describe_exception", "run_step", "run_steps", "step_segment"]


def step_segment(field: str, index: int, step_type: str | None) -> str:
    """The breadcrumb of one step, e.g. ``substeps[1] execute_recipe``."""
    return f"{field}[{index}] {step_type}" if step_type else f"{field}[{index}]"


def describe_exception(exc: BaseException) -> str:
    """A one-line description of a foreign exception for a step error's reason."""
    if isinstance(exc, KeyError) and exc.args:
        key = exc.args[0]
        # Context raises KeyError("Key 'k' not found in Context."), already a sentence
        return key if isinstance(key, str) and "not found" in key else f"missing key {key!r}"
    text = str(exc).strip()
    if isinstance(exc, ValidationError):
        return describe_validation_error(exc)
    return text or type(exc).__name__


def _split(raw: Any) -> tuple[str, dict[str, Any]]:
    if isinstance(raw, RecipeStep):
        return raw.type, raw.config
    return normalize_step(raw)


def build_step(step_type: str, config: dict[str, Any], logger: logging.Logger) -> Any:
    """An instance of the registered class for ``step_type``, built with ``config``.

    Raises :class:`RecipeError` for an unknown type or an invalid config.
    """
    cls = STEP_REGISTRY.get(step_type)
    if cls is None:
        raise RecipeError(f"unknown step type {step_type!r}{suggest_step_type(step_type)}")
    try:
        return cls(logger, config)
    except ValidationError as exc:
        raise RecipeError(f"invalid config: {describe_validation_error(exc)}") from exc
    except RecipeExecutorError:
        raise
    except (TypeError, ValueError) as exc:
        raise RecipeError(f"invalid config: {describe_exception(exc)}") from exc


async def run_step(
    raw: Any, context: ContextProtocol, *, field: str, index: int, logger: logging.Logger
) -> None:
    """Build and run one step; any failure leaves with this step's segment on its path."""
    step_type: str | None = None
    step: Any = None
    try:
        try:
            step_type, config = _split(raw)
        except ValueError as exc:
            raise RecipeError(str(exc)) from None
        step = build_step(step_type, config, logger)
        logger.debug("Running %s", step_segment(field, index, step_type))
        result = step.execute(context)
        if inspect.isawaitable(result):
            await result
    except RecipeExecutorError as exc:
        exc.add_segment(step_segment(field, index, step_type) + getattr(step, "path_detail", ""))
        raise
    except Exception as exc:  # a step's own failure (I/O, a custom step's bug): give it a path
        error = StepError(describe_exception(exc))
        error.add_segment(step_segment(field, index, step_type) + getattr(step, "path_detail", ""))
        raise error from exc


# How many step lists are nested in the current task's call stack. Every few levels the next
# list runs in a fresh task, so recursion through sub-recipes never meets RecursionError.
_STACK_LEVEL: ContextVar[int] = ContextVar("recipe_executor_stack_level", default=0)
_LEVELS_PER_TASK = 12


async def run_steps(
    steps: Sequence[Any], context: ContextProtocol, *, logger: logging.Logger, field: str = "steps"
) -> None:
    """Run ``steps`` in order on ``context``; stop at the first failure."""
    level = _STACK_LEVEL.get()
    if level >= _LEVELS_PER_TASK:

        async def fresh() -> None:
            _STACK_LEVEL.set(0)
            await run_steps(steps, context, logger=logger, field=field)

        await run_in_fresh_task(fresh)
        return
    token = _STACK_LEVEL.set(level + 1)
    try:
        for index, raw in enumerate(steps):
            await run_step(raw, context, field=field, index=index, logger=logger)
    finally:
        _STACK_LEVEL.reset(token)
