"""The one place that runs work concurrently: bounded launching with limits, delays, timeouts
and cancellation, on an anyio task group. ``parallel`` and ``loop`` are thin layers over
:func:`run_bounded`.

Guarantees:
- at most ``max_concurrency`` workers exist at once (0 means no limit, which is still capped at
  :data:`UNLIMITED_CAP` live tasks so 100,000 items never become 100,000 tasks);
- launches are at least ``delay`` seconds apart; the first starts at once;
- with ``fail_fast``, the first failure stops further launches and cancels the running workers,
  which are awaited before returning; every failure recorded before cancellation took effect
  is reported;
- ``timeout`` bounds the whole call, launch waits included;
- cancellation from outside propagates after every worker has been cancelled and awaited.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Generic, Literal, TypeVar

import anyio

__all__ = ["UNLIMITED_CAP", "Outcome", "Report", "run_bounded", "run_in_fresh_task"]

T = TypeVar("T")

UNLIMITED_CAP = 4096
"""Most workers alive at once when ``max_concurrency`` is 0 (no limit)."""

Status = Literal["not_started", "running", "succeeded", "failed", "cancelled"]


@dataclass(slots=True)
class Outcome(Generic[T]):
    """What happened to one unit of work."""

    index: int
    status: Status = "not_started"
    value: T | None = None
    error: BaseException | None = None
    started_at: float | None = None
    duration_s: float | None = None


@dataclass(slots=True)
class Report(Generic[T]):
    """Outcomes in input order, and whether the ``timeout`` expired."""

    outcomes: list[Outcome[T]]
    timed_out: bool = False
    failures: list[Outcome[T]] = field(default_factory=list)

    @property
    def finished(self) -> int:
        return sum(1 for o in self.outcomes if o.status in ("succeeded", "failed"))


def _now() -> float:
    """The event loop's clock (a module function so tests can substitute a fake clock)."""
    return anyio.current_time()


async def _sleep(seconds: float) -> None:
    await anyio.sleep(seconds)


async def run_bounded(
    count: int,
    worker: Callable[[int], Awaitable[T]],
    *,
    max_concurrency: int = 0,
    delay: float = 0.0,
    timeout: float | None = None,
    fail_fast: bool = True,
) -> Report[T]:
    """Run ``worker(0) … worker(count - 1)`` concurrently under the limits above.

    Exceptions raised by workers are recorded in their outcomes, never raised from here;
    the caller decides how to report them.
    """
    if max_concurrency < 0:
        raise ValueError(f"max_concurrency must be 0 (no limit) or more, not {max_concurrency}")
    outcomes: list[Outcome[T]] = [Outcome(i) for i in range(count)]
    report: Report[T] = Report(outcomes)
    if count == 0:
        return report
    limit = min(max_concurrency or UNLIMITED_CAP, count)
    slots = anyio.Semaphore(limit)
    cancelled_exc = anyio.get_cancelled_exc_class()
    state = {"failed": False}

    async def run_one(outcome: Outcome[T], scope: anyio.CancelScope) -> None:
        outcome.status = "running"
        outcome.started_at = time.time()
        began = time.perf_counter()
        try:
            outcome.value = await worker(outcome.index)
            outcome.status = "succeeded"
        except cancelled_exc:
            outcome.status = "cancelled"
            raise
        except Exception as exc:  # recorded for the caller, which raises or reports it
            outcome.status = "failed"
            outcome.error = exc
            report.failures.append(outcome)
            if fail_fast and not state["failed"]:
                state["failed"] = True
                scope.cancel()
        finally:
            outcome.duration_s = time.perf_counter() - began
            slots.release()

    with anyio.move_on_after(timeout) as deadline:
        async with anyio.create_task_group() as tg:
            next_launch: float | None = None
            for outcome in outcomes:
                try:  # a free slot is taken without a checkpoint: launching stays O(1) per task
                    slots.acquire_nowait()
                except anyio.WouldBlock:
                    await slots.acquire()
                if state["failed"]:
                    slots.release()
                    break
                if delay > 0:
                    if next_launch is not None:
                        wait = next_launch - _now()
                        if wait > 0:
                            await _sleep(wait)
                        if state["failed"]:
                            slots.release()
                            break
                    next_launch = _now() + delay
                tg.start_soon(run_one, outcome, tg.cancel_scope)
    report.timed_out = deadline.cancelled_caught
    return report


async def run_in_fresh_task(func: Callable[[], Awaitable[T]]) -> T:
    """Await ``func()`` in a new task and return its result or raise its exception.

    Deeply nested recipes would otherwise grow one Python call stack until ``RecursionError``:
    a new task starts from the event loop with an empty stack while its caller waits.
    The exception is re-raised as it is (not as an ``ExceptionGroup``); cancellation passes
    through the task group untouched.
    """
    results: list[T] = []
    errors: list[Exception] = []

    async def body() -> None:
        try:
            results.append(await func())
        except Exception as exc:  # handed back to the caller below
            errors.append(exc)

    async with anyio.create_task_group() as tg:
        tg.start_soon(body)
    if errors:
        try:
            raise errors[0]
        finally:
            errors.clear()
    return results[0]
