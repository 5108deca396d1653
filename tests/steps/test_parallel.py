"""The parallel step: every bullet of issue 2 §4, with deterministic probes (events, counters and
a fake launch clock), real sub-recipe files for error paths, and no wall-clock asserts."""

from __future__ import annotations

import gc
import json
import logging
from collections import defaultdict
from pathlib import Path
from typing import Any

import anyio
import anyio.lowlevel
import pytest
from pydantic import Field

from recipe_executor import _concurrency
from recipe_executor.context import Context
from recipe_executor.errors import (
    RecipeValidationError,
    StepError,
    StepTimeoutError,
    SubstepsFailedError,
    UnsafePathError,
)
from recipe_executor.executor import Executor
from recipe_executor.protocols import ContextProtocol
from recipe_executor.steps.base import BaseStep, StepConfig
from recipe_executor.steps.parallel import ParallelConfig, ParallelStep
from recipe_executor.steps.registry import STEP_REGISTRY


class Tracker:
    """What the probe steps of one test did."""

    def __init__(self) -> None:
        self.in_flight = 0
        self.peak = 0
        self.started: list[str] = []
        self.finished: list[str] = []
        self.cleaned: list[str] = []
        self.events: defaultdict[str, anyio.Event] = defaultdict(anyio.Event)


class ProbeConfig(StepConfig):
    name: str
    write: dict[str, Any] = Field(default_factory=dict)
    wait_for: str | None = None
    release_at: int | None = None
    shield: bool = False
    forever: bool = False
    fail: bool = False
    checkpoints: int = 0


@pytest.fixture
def tracker(registry: dict[str, type]) -> Tracker:
    """A fresh Tracker and a ``probe`` step type that reports to it."""
    state = Tracker()

    class ProbeStep(BaseStep[ProbeConfig]):
        async def execute(self, context: ContextProtocol) -> None:
            cfg = self.config
            state.started.append(cfg.name)
            state.in_flight += 1
            state.peak = max(state.peak, state.in_flight)
            try:
                for key, value in cfg.write.items():
                    context[key] = value
                if cfg.release_at is not None and state.in_flight >= cfg.release_at:
                    state.events["release"].set()
                if cfg.wait_for:
                    with anyio.CancelScope(shield=cfg.shield):
                        await state.events[cfg.wait_for].wait()
                        await anyio.lowlevel.checkpoint()
                for _ in range(cfg.checkpoints):
                    await anyio.lowlevel.checkpoint()
                if cfg.forever:
                    await anyio.sleep_forever()
                if cfg.fail:
                    raise RuntimeError(f"probe {cfg.name} failed")
                state.finished.append(cfg.name)
            finally:
                state.in_flight -= 1
                state.cleaned.append(cfg.name)

    registry["probe"] = ProbeStep
    return state


def probe(name: str, **fields: Any) -> dict[str, Any]:
    return {"type": "probe", "config": {"name": name, **fields}}


def parallel(substeps: list[dict[str, Any]], **fields: Any) -> dict[str, Any]:
    return {"type": "parallel", "config": {"substeps": substeps, **fields}}


async def run(steps: list[dict[str, Any]], context: Context | None = None) -> Context:
    ctx = context if context is not None else Context()
    await Executor(logging.getLogger("test_parallel")).execute({"steps": steps}, ctx)
    return ctx


# -- the seed's API ---------------------------------------------------------------------


def test_parallel_config_is_the_seeds() -> None:
    config = ParallelConfig(substeps=[{"type": "set_context", "config": {"key": "a", "value": 1}}])
    assert isinstance(config, StepConfig)
    assert (config.max_concurrency, config.delay) == (0, 0)
    assert STEP_REGISTRY["parallel"] is ParallelStep


async def test_parallel_step_runs_when_built_directly_as_upstream_does(tracker: Tracker) -> None:
    step = ParallelStep(logging.getLogger("t"), {"substeps": [probe("a"), probe("b")], "max_concurrency": 2})
    await step.execute(Context())
    assert sorted(tracker.finished) == ["a", "b"]


# -- clones -----------------------------------------------------------------------------


async def test_parallel_substeps_write_to_their_own_clones_which_are_discarded(tracker: Tracker) -> None:
    ctx = await run(
        [parallel([probe("a", write={"shared": "a", "only_a": 1}), probe("b", write={"shared": "b"})])],
        Context(artifacts={"shared": "parent"}),
    )
    assert ctx.dict() == {"shared": "parent"}


async def test_parallel_substep_mutating_a_shared_list_does_not_affect_siblings(registry: dict[str, type]) -> None:
    seen: dict[str, list[int]] = {}

    class AppendConfig(StepConfig):
        name: str

    class AppendStep(BaseStep[AppendConfig]):
        async def execute(self, context: ContextProtocol) -> None:
            items = context["items"]
            await anyio.lowlevel.checkpoint()
            items.append(len(items))
            await anyio.lowlevel.checkpoint()
            seen[self.config.name] = list(context["items"])

    registry["append"] = AppendStep
    subs = [{"type": "append", "name": n} for n in "abc"]
    ctx = await run([parallel(subs)], Context(artifacts={"items": [0]}))
    assert seen == {"a": [0, 1], "b": [0, 1], "c": [0, 1]}
    assert ctx["items"] == [0]


async def test_parallel_accepts_any_step_type_in_either_shape(tmp_path: Path) -> None:
    out = tmp_path / "out"
    subs = [
        {"type": "write_files", "root": str(out), "files": [{"path": "a.txt", "content": "A"}]},
        {"type": "write_files", "config": {"root": str(out), "files": [{"path": "b.txt", "content": "B"}]}},
    ]
    await run([parallel(subs)])
    assert (out / "a.txt").read_text() == "A"
    assert (out / "b.txt").read_text() == "B"


# -- max_concurrency and delay ----------------------------------------------------------


async def test_parallel_max_concurrency_caps_substeps_in_flight(tracker: Tracker) -> None:
    subs = [probe(str(i), release_at=2, wait_for="release", checkpoints=2) for i in range(6)]
    with anyio.fail_after(10):
        await run([parallel(subs, max_concurrency=2)])
    assert tracker.peak == 2
    assert len(tracker.finished) == 6


async def test_parallel_max_concurrency_zero_runs_all_at_once(tracker: Tracker) -> None:
    subs = [probe(str(i), release_at=25, wait_for="release") for i in range(25)]
    with anyio.fail_after(10):  # only a hang guard: all 25 must be in flight together
        await run([parallel(subs, max_concurrency=0)])
    assert tracker.peak == 25


async def test_parallel_negative_max_concurrency_is_a_validation_error_and_nothing_runs(tracker: Tracker) -> None:
    with pytest.raises(RecipeValidationError, match=r"steps\[1\] parallel: invalid config: field 'max_concurrency'"):
        await run([probe("before"), parallel([probe("a")], max_concurrency=-1)])
    assert tracker.started == []


async def test_parallel_delay_spaces_launches_and_starts_the_first_at_once(
    tracker: Tracker, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = [0.0]
    sleeps: list[float] = []
    launched_at: dict[str, float] = {}

    async def fake_sleep(seconds: float) -> None:
        sleeps.append(seconds)
        await anyio.lowlevel.checkpoint()
        clock[0] += seconds

    monkeypatch.setattr(_concurrency, "_now", lambda: clock[0])
    monkeypatch.setattr(_concurrency, "_sleep", fake_sleep)
    original = STEP_REGISTRY["probe"].execute

    async def stamped(self: Any, context: ContextProtocol) -> None:
        launched_at[self.config.name] = clock[0]
        await original(self, context)

    monkeypatch.setattr(STEP_REGISTRY["probe"], "execute", stamped)
    await run([parallel([probe(str(i)) for i in range(3)], delay=2)])
    assert launched_at == {"0": 0.0, "1": 2.0, "2": 4.0}
    assert sleeps == [2.0, 2.0]


# -- fail-fast ---------------------------------------------------------------------------


async def test_parallel_failure_cancels_running_siblings_and_awaits_them(tracker: Tracker) -> None:
    subs = [probe("blocker", forever=True), probe("bad", fail=True), probe("later")]
    with pytest.raises(SubstepsFailedError) as caught:
        await run([parallel(subs, max_concurrency=2)])
    assert tracker.started == ["blocker", "bad"]  # "later" never started
    assert sorted(tracker.cleaned) == ["bad", "blocker"]  # the blocker's finally ran before the error
    assert tracker.in_flight == 0
    assert isinstance(caught.value.__cause__, StepError)
    assert isinstance(caught.value.__cause__.__cause__, RuntimeError)


async def test_parallel_with_one_slot_starts_nothing_after_a_failure(tracker: Tracker) -> None:
    with pytest.raises(SubstepsFailedError):
        await run([parallel([probe("a", fail=True), probe("b"), probe("c")], max_concurrency=1)])
    assert tracker.started == ["a"]


async def test_parallel_failure_names_the_substep_and_sub_recipe_with_the_original_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "recipes").mkdir()
    (tmp_path / "recipes" / "ok.json").write_text(json.dumps({"steps": []}))
    bad = {"steps": [{"type": "write_files", "config": {"root": "out", "files": [{"path": "../../x", "content": ""}]}}]}
    (tmp_path / "recipes" / "bad.json").write_text(json.dumps(bad))
    subs = [
        {"type": "execute_recipe", "config": {"recipe_path": "recipes/ok.json"}},
        {"type": "execute_recipe", "config": {"recipe_path": "recipes/bad.json"}},
    ]
    (tmp_path / "main.json").write_text(json.dumps({"steps": [parallel(subs)]}))
    with pytest.raises(SubstepsFailedError) as caught:
        await Executor(logging.getLogger("t")).execute("main.json", Context())
    message = str(caught.value)
    assert message.startswith(
        "main.json › steps[0] parallel › substeps[1] execute_recipe (recipes/bad.json) › steps[0] write_files: "
    )
    assert "'../../x'" in message
    assert isinstance(caught.value.__cause__, UnsafePathError)
    assert [index for index, _ in caught.value.errors] == [1]


async def test_parallel_reports_every_failure_that_happened_before_cancellation(tracker: Tracker) -> None:
    # "starter" sees 3 in flight and releases the event x and y wait for; they finish their
    # (shielded) work and both fail, so two failures arrive before cancellation takes effect.
    subs = [
        probe("x", wait_for="release", shield=True, fail=True),
        probe("y", wait_for="release", shield=True, fail=True),
        probe("starter", release_at=3),
    ]
    with pytest.raises(SubstepsFailedError) as caught:
        await run([parallel(subs)])
    message = str(caught.value)
    assert "2 of 3 substeps failed" in message
    assert "substeps[0] probe: probe x failed" in message
    assert "substeps[1] probe: probe y failed" in message
    assert [index for index, _ in caught.value.errors] == [0, 1]


async def test_parallel_without_fail_fast_runs_everything_then_raises_one_error_listing_all(
    tracker: Tracker,
) -> None:
    subs = [probe("a"), probe("b", fail=True), probe("c"), probe("d", fail=True)]
    with pytest.raises(SubstepsFailedError) as caught:
        await run([parallel(subs, fail_fast=False, max_concurrency=1)])
    assert tracker.started == ["a", "b", "c", "d"]
    assert str(caught.value) == (
        "<recipe> › steps[0] parallel: 2 of 4 substeps failed: substeps[1] probe: probe b failed; "
        "substeps[3] probe: probe d failed"
    )


# -- timeout -----------------------------------------------------------------------------


async def test_parallel_timeout_covers_launch_waits_and_says_how_many_finished(tracker: Tracker) -> None:
    subs = [probe("quick"), probe("slow", forever=True), probe("queued")]
    with anyio.fail_after(30), pytest.raises(StepTimeoutError) as caught:
        await run([parallel(subs, max_concurrency=1, timeout=0.05, result_key="report")])
    assert "timed out after 0.05 seconds with 1 of 3 substeps finished" in str(caught.value)
    assert tracker.started == ["quick", "slow"]
    assert "slow" in tracker.cleaned


async def test_parallel_timeout_ends_a_long_delay_between_launches(tracker: Tracker) -> None:
    with anyio.fail_after(30), pytest.raises(StepTimeoutError, match="1 of 2 substeps finished"):
        await run([parallel([probe("first"), probe("second")], delay=600, timeout=0.05)])
    assert tracker.started == ["first"]


# -- result_key ----------------------------------------------------------------------------


async def test_parallel_result_key_records_each_substeps_status_and_outputs(tracker: Tracker) -> None:
    subs = [
        probe("ok", write={"summary": "fine", "other": 1}),
        probe("bad", write={"summary": "partial"}, fail=True),
        probe("ok2", write={"summary": "also"}),
    ]
    ctx = await run([parallel(subs, fail_fast=False, result_key="report", output_keys=["summary", "missing"])])
    report = ctx["report"]
    assert [entry["index"] for entry in report] == [0, 1, 2]
    assert [entry["status"] for entry in report] == ["succeeded", "failed", "succeeded"]
    assert report[0]["outputs"] == {"summary": "fine", "missing": None}
    assert report[1]["outputs"] == {"summary": "partial", "missing": None}
    assert report[0]["error"] is None
    assert report[1]["error"] == "substeps[1] probe: probe bad failed"
    for entry in report:
        assert set(entry) == {"index", "status", "error", "started_at", "duration_s", "outputs"}
        assert entry["started_at"].endswith("+00:00")
        assert entry["duration_s"] >= 0
    assert "summary" not in ctx


async def test_parallel_result_key_marks_cancelled_and_not_started_substeps(tracker: Tracker) -> None:
    ctx = Context()
    subs = [probe("blocker", forever=True), probe("bad", fail=True), probe("never")]
    with pytest.raises(SubstepsFailedError):
        await run([parallel(subs, max_concurrency=2, result_key="report")], ctx)
    report = ctx["report"]
    assert [entry["status"] for entry in report] == ["cancelled", "failed", "not_started"]
    assert report[2]["started_at"] is None and report[2]["duration_s"] is None and report[2]["outputs"] == {}


# -- templated fields ------------------------------------------------------------------------


async def test_parallel_numeric_and_boolean_fields_accept_templates(tracker: Tracker) -> None:
    subs = [probe(str(i), release_at=3, wait_for="release", checkpoints=2) for i in range(7)]
    subs.append(probe("bad", fail=True))
    ctx = Context(artifacts={"n": 3, "ff": "false", "pause": "0"})
    step = parallel(subs, max_concurrency="{{ n }}", fail_fast="{{ ff }}", delay="{{ pause }}", result_key="r")
    with anyio.fail_after(10):
        await run([step], ctx)
    assert tracker.peak == 3
    assert len(tracker.started) == 8  # fail_fast false: everything ran


async def test_parallel_template_that_renders_a_non_number_is_a_clear_error(tracker: Tracker) -> None:
    with pytest.raises(StepError, match=r"max_concurrency must render to an int, but '\{\{ n \}\}' rendered to 'many'"):
        await run([parallel([probe("a")], max_concurrency="{{ n }}")], Context(artifacts={"n": "many"}))
    assert tracker.started == []


async def test_parallel_template_that_renders_a_negative_number_is_refused(tracker: Tracker) -> None:
    with pytest.raises(StepError, match="max_concurrency must be 0 or more, but it is -2"):
        await run([parallel([probe("a")], max_concurrency="{{ n }}")], Context(artifacts={"n": -2}))
    assert tracker.started == []


# -- cancellation from outside -----------------------------------------------------------


async def test_parallel_outside_cancellation_cancels_every_running_substep(tracker: Tracker) -> None:
    subs = [probe(str(i), release_at=4, forever=True) for i in range(4)]
    with anyio.CancelScope() as scope:
        async with anyio.create_task_group() as tg:
            tg.start_soon(run, [parallel(subs)])
            await tracker.events["release"].wait()
            scope.cancel()
    assert scope.cancelled_caught
    assert sorted(tracker.cleaned) == ["0", "1", "2", "3"]
    assert tracker.in_flight == 0


async def test_parallel_leaves_no_unretrieved_task_exceptions(
    tracker: Tracker, caplog: pytest.LogCaptureFixture
) -> None:
    subs = [probe(str(i), fail=True, checkpoints=i % 3) for i in range(10)]
    with caplog.at_level(logging.ERROR, logger="asyncio"), pytest.raises(SubstepsFailedError):
        await run([parallel(subs)])
    gc.collect()
    await anyio.lowlevel.checkpoint()
    assert [r.getMessage() for r in caplog.records if r.name == "asyncio"] == []
