"""Run-scoped state shared by every step of one run, however deeply nested.

A run starts when the outermost :class:`~recipe_executor.executor.Executor` starts executing and
ends when it returns. Nested executions (``execute_recipe``, ``parallel``, ``loop``, a custom
step that calls an Executor itself) see the same :class:`RunState` through a context variable,
which child tasks inherit. Steps use it for services that must be shared by the whole run —
LLM rate limits, MCP server connections, usage totals — and for cleanup at the end.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import anyio
import anyio.abc

__all__ = [
    "RunOptions",
    "RunState",
    "current_depth",
    "current_recipe_dir",
    "current_run",
    "nested_recipe",
    "run_scope",
]

T = TypeVar("T")

DEFAULT_MAX_DEPTH = 64


@dataclass(frozen=True)
class RunOptions:
    """Options that hold for a whole run.

    ``strict``: unknown config keys are errors instead of warnings.
    ``strict_templates``: undefined template variables are errors instead of rendering empty.
    ``max_depth``: how deeply ``execute_recipe`` may nest before failing (0 = no sub-recipes).
    """

    strict: bool = False
    strict_templates: bool = False
    max_depth: int = DEFAULT_MAX_DEPTH


@dataclass
class RunState:
    """Services and cleanup shared by one run. Create it with :func:`run_scope`."""

    options: RunOptions
    logger: logging.Logger
    _services: dict[str, Any] = field(default_factory=dict)
    _stack: contextlib.AsyncExitStack = field(default_factory=contextlib.AsyncExitStack)
    _task_group: anyio.abc.TaskGroup | None = None

    def service(self, key: str, factory: Callable[[], T]) -> T:
        """The run's shared object under ``key``, created by ``factory`` on first use."""
        try:
            return self._services[key]  # type: ignore[no-any-return]
        except KeyError:
            value = self._services[key] = factory()
            return value

    def peek_service(self, key: str) -> Any:
        """The shared object under ``key`` if it was created, else ``None``."""
        return self._services.get(key)

    def add_cleanup(self, callback: Callable[[], Awaitable[object]]) -> None:
        """Await ``callback`` when the run ends (last added runs first), also on failure."""
        self._stack.push_async_callback(callback)

    def start_background(self, func: Callable[[], Coroutine[Any, Any, object]], name: str) -> None:
        """Run ``func`` in the background until the run ends, when it is cancelled.

        For long-lived owners of resources that must be entered and exited in one task
        (an MCP server connection, for example).
        """
        if self._task_group is None:
            raise RuntimeError("background tasks need a run started with run_scope()")
        self._task_group.start_soon(func, name=name)


_RUN: ContextVar[RunState | None] = ContextVar("recipe_executor_run", default=None)
_DEPTH: ContextVar[int] = ContextVar("recipe_executor_depth", default=0)
_RECIPE_DIR: ContextVar[Path | None] = ContextVar("recipe_executor_recipe_dir", default=None)


def current_run() -> RunState:
    """The run in progress; outside any run, a throw-away default state."""
    run = _RUN.get()
    if run is None:
        run = RunState(RunOptions(), logging.getLogger("recipe_executor"))
    return run


@contextlib.asynccontextmanager
async def run_scope(
    options: RunOptions | None, logger: logging.Logger
) -> AsyncIterator[tuple[RunState, bool]]:
    """Enter the current run, or start one if there is none.

    Yields ``(run, owner)``; ``owner`` is true for the scope that started the run, which also
    closes it (cleanup callbacks, background tasks) on the way out.
    """
    existing = _RUN.get()
    if existing is not None:
        yield existing, False
        return
    run = RunState(options or RunOptions(), logger)
    token = _RUN.set(run)
    # The body's error is kept aside and re-raised after the task group has closed, so callers
    # see the step's own exception, not an ExceptionGroup wrapping it. Cancellation and other
    # BaseExceptions pass through the group untouched (anyio never wraps cancellation).
    body_error: Exception | None = None
    try:
        async with anyio.create_task_group() as tg:
            run._task_group = tg
            try:
                async with run._stack:
                    yield run, True
            except Exception as exc:  # re-raised below, outside the task group
                body_error = exc
            finally:
                tg.cancel_scope.cancel()
    finally:
        run._task_group = None
        _RUN.reset(token)
    if body_error is not None:
        try:
            raise body_error
        finally:
            body_error = None  # break the frame ↔ traceback cycle


def current_depth() -> int:
    """How many ``execute_recipe`` levels deep the current task is."""
    return _DEPTH.get()


def current_recipe_dir() -> Path | None:
    """The folder of the recipe file whose steps are running, if it came from a file."""
    return _RECIPE_DIR.get()


@contextlib.contextmanager
def nested_recipe(recipe_dir: Path | None, *, deeper: bool) -> Any:
    """Mark that a (sub-)recipe from ``recipe_dir`` runs; ``deeper`` adds one nesting level."""
    dir_token = _RECIPE_DIR.set(recipe_dir)
    depth_token = _DEPTH.set(_DEPTH.get() + 1) if deeper else None
    try:
        yield
    finally:
        if depth_token is not None:
            _DEPTH.reset(depth_token)
        _RECIPE_DIR.reset(dir_token)
