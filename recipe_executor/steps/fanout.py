"""What ``parallel`` and ``loop`` share: their concurrency fields, resolving them at run time,
running children through :func:`recipe_executor._concurrency.run_bounded`, and turning timeouts
and failures into one error."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import field_validator

from .._concurrency import Outcome, Report, run_bounded
from ..errors import StepTimeoutError, SubstepsFailedError
from ..protocols import ContextProtocol
from .base import StepConfig, TemplatedBool, TemplatedFloat, TemplatedInt, resolve_templated

__all__ = ["FanOutConfig", "FanOutLimits", "check_timeout", "failure_error", "run_children"]

T = TypeVar("T")


class FanOutConfig(StepConfig):
    """Concurrency fields of a step that runs children: each also accepts a template.

    Fields:
        max_concurrency: most children running at once; 0 means no limit.
        delay: seconds between consecutive launches; the first starts at once.
        timeout: seconds for the whole step, launch waits included; None means no limit.
        fail_fast: stop at the first failure and cancel the running children.
    """

    max_concurrency: TemplatedInt = 0
    delay: TemplatedFloat = 0
    timeout: TemplatedFloat | None = None
    fail_fast: TemplatedBool = True

    @field_validator("max_concurrency", "delay", "timeout", check_fields=False)
    @classmethod
    def _not_negative(cls, value: Any) -> Any:
        if isinstance(value, (int, float)) and value < 0:
            raise ValueError("must be 0 or more")
        return value

    def limits(self, context: ContextProtocol) -> FanOutLimits:
        """The fields rendered and converted; a negative rendered value is a ``ValueError``."""
        limits = FanOutLimits(
            max_concurrency=resolve_templated(self.max_concurrency, int, context, "max_concurrency"),
            delay=resolve_templated(self.delay, float, context, "delay"),
            timeout=resolve_templated(self.timeout, float, context, "timeout") if self.timeout is not None else None,
            fail_fast=resolve_templated(self.fail_fast, bool, context, "fail_fast"),
        )
        for name, number, hint in (
            ("max_concurrency", limits.max_concurrency, "use 0 for no limit"),
            ("delay", limits.delay, "use 0 for no delay"),
            ("timeout", limits.timeout, "leave it out for no limit"),
        ):
            if number is not None and number < 0:
                raise ValueError(f"{name} must be 0 or more, but it is {number!r}; {hint}")
        return limits


@dataclass(frozen=True)
class FanOutLimits:
    """Resolved concurrency settings of one execution."""

    max_concurrency: int
    delay: float
    timeout: float | None
    fail_fast: bool


async def run_children(count: int, worker: Callable[[int], Awaitable[T]], limits: FanOutLimits) -> Report[T]:
    """Run ``worker`` for ``count`` children under ``limits``; failures and a timeout are left in
    the report for the caller (see :func:`check_timeout` and :func:`failure_error`)."""
    return await run_bounded(
        count,
        worker,
        max_concurrency=limits.max_concurrency,
        delay=limits.delay,
        timeout=limits.timeout,
        fail_fast=limits.fail_fast,
    )


def check_timeout(report: Report[Any], limits: FanOutLimits, noun: str) -> None:
    """Raise :class:`StepTimeoutError` saying how many of the ``noun`` finished, if time ran out."""
    if report.timed_out:
        raise StepTimeoutError(
            f"timed out after {limits.timeout:g} seconds with {report.finished} of {len(report.outcomes)} {noun} "
            "finished; raise 'timeout' or lower the work per child"
        )


def failure_error(
    failures: Sequence[Outcome[Any]], total: int, noun: str, describe: Callable[[int], str]
) -> SubstepsFailedError:
    """One error for the failed children: a single failure keeps its own path and reason;
    several are listed. ``describe(index)`` names a child (``substeps[1] execute_recipe``)."""
    errors = sorted(((o.index, o.error) for o in failures if o.error is not None), key=lambda pair: pair[0])
    first = next(o.error for o in failures if o.error is not None)  # the one that failed first
    if len(errors) == 1:
        path = list(getattr(first, "path", None) or [describe(errors[0][0])])
        reason = getattr(first, "reason", None) or str(first)
        error = SubstepsFailedError(reason, errors=errors, path=path)
    else:
        listed = "; ".join(str(e) if getattr(e, "path", None) else f"{describe(i)}: {e}" for i, e in errors)
        error = SubstepsFailedError(f"{len(errors)} of {total} {noun} failed: {listed}", errors=errors)
    error.__cause__ = first
    return error
