"""``parallel``: run substeps concurrently, each on its own clone of the context.

Faithful to the seed (clones discarded, fail-fast, ``max_concurrency`` 0 = no limit, ``delay``
between launches), plus ``timeout``, ``fail_fast: false`` and an optional ``result_key`` report.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from pydantic import Field

from .._concurrency import Outcome, Report
from ..models import normalize_step
from ..protocols import ContextProtocol
from .base import BaseStep, TemplatedFloat, TemplatedInt
from .fanout import FanOutConfig, check_timeout, failure_error, run_children
from .registry import register_step
from .runner import run_step, step_segment

__all__ = ["ParallelConfig", "ParallelStep", "failure_error"]


class ParallelConfig(FanOutConfig):
    """Config for ParallelStep.

    Fields:
        substeps: step objects to run concurrently (any registered type, either shape).
        max_concurrency: most substeps running at once; 0 means no limit.
        delay: seconds between consecutive launches; the first starts at once.
        timeout: seconds for the whole step, launch waits included; None means no limit.
        fail_fast: stop at the first failure (cancel the rest); false runs every substep.
        result_key: if set, store one report entry per substep there (and do not raise
            for failures when ``fail_fast`` is false).
        output_keys: keys copied from each substep's context into its report entry.
    """

    substeps: list[dict[str, Any]]
    max_concurrency: TemplatedInt = 0
    delay: TemplatedFloat = 0
    result_key: str | None = None
    output_keys: list[str] = Field(default_factory=list)


def _describe_substep(raw: Any, field: str, index: int) -> str:
    try:
        step_type, config = normalize_step(raw)
    except ValueError:
        return step_segment(field, index, None)
    detail = config.get("recipe_path") if step_type == "execute_recipe" else None
    return step_segment(field, index, step_type) + (f" ({detail})" if detail else "")


@register_step("parallel")
class ParallelStep(BaseStep[ParallelConfig]):
    """Runs ``substeps`` concurrently on cloned contexts; see :class:`ParallelConfig`."""


    @classmethod
    def child_steps(cls, config: ParallelConfig) -> Sequence[tuple[str, Sequence[Any]]]:
        return [("substeps", config.substeps)]

    async def execute(self, context: ContextProtocol) -> None:
        cfg = self.config
        substeps = cfg.substeps
        limits = cfg.limits(context)
        output_keys = cfg.output_keys
        outputs: list[dict[str, Any]] = [{} for _ in substeps]
        self.logger.info(
            "Running %d substeps in parallel (max_concurrency=%s)", len(substeps), limits.max_concurrency or "unlimited"
        )

        async def worker(index: int) -> None:
            clone = context.clone()
            try:
                await run_step(substeps[index], clone, field="substeps", index=index, logger=self.logger)
            finally:  # what the substep's context held when it ended, however it ended
                outputs[index] = {key: clone.get(key) for key in output_keys}

        report: Report[None] = await run_children(len(substeps), worker, limits)
        if cfg.result_key:
            context[cfg.result_key] = [_entry(o, outputs[o.index]) for o in report.outcomes]
        check_timeout(report, limits, "substeps")
        if report.failures and not (cfg.result_key and not limits.fail_fast):
            raise failure_error(
                report.failures, len(substeps), "substeps", lambda i: _describe_substep(substeps[i], "substeps", i)
            )


def _entry(outcome: Outcome[None], outputs: dict[str, Any]) -> dict[str, Any]:
    """One ``result_key`` entry: status, error text, start time (ISO, UTC), duration, outputs."""
    started = datetime.fromtimestamp(outcome.started_at, tz=UTC).isoformat() if outcome.started_at is not None else None
    status = outcome.status if outcome.status != "running" else "cancelled"
    return {
        "index": outcome.index,
        "status": status,
        "error": str(outcome.error) if outcome.error is not None else None,
        "started_at": started,
        "duration_s": round(outcome.duration_s, 6) if outcome.duration_s is not None else None,
        "outputs": outputs if outcome.status != "not_started" else {},
    }
