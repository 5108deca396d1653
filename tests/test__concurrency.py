"""run_bounded: limits, delays, fail-fast, timeouts and cancellation — all checked with events
and counters, never with wall-clock measurements; and run_in_fresh_task."""

from __future__ import annotations

import sys

import anyio
import anyio.lowlevel
import pytest

from recipe_executor import _concurrency
from recipe_executor._concurrency import run_bounded, run_in_fresh_task


class Gauge:
    """Counts workers in flight and remembers the peak."""

    def __init__(self) -> None:
        self.now = 0
        self.peak = 0
        self.started: list[int] = []
        self.cleaned: list[int] = []

    def enter(self, index: int) -> None:
        self.now += 1
        self.peak = max(self.peak, self.now)
        self.started.append(index)

    def leave(self, index: int) -> None:
        self.now -= 1
        self.cleaned.append(index)


async def test_run_bounded_never_exceeds_max_concurrency_and_reaches_it() -> None:
    gauge = Gauge()
    two_running = anyio.Event()

    async def worker(index: int) -> int:
        gauge.enter(index)
        try:
            if gauge.now == 2:
                two_running.set()
            await two_running.wait()
            for _ in range(3):
                await anyio.lowlevel.checkpoint()
            return index * 10
        finally:
            gauge.leave(index)

    report = await run_bounded(7, worker, max_concurrency=2)
    assert gauge.peak == 2
    assert [o.value for o in report.outcomes] == [0, 10, 20, 30, 40, 50, 60]
    assert all(o.status == "succeeded" for o in report.outcomes)


async def test_run_bounded_zero_means_every_worker_at_once() -> None:
    gauge = Gauge()
    everyone = anyio.Event()

    async def worker(index: int) -> None:
        gauge.enter(index)
        if gauge.now == 40:
            everyone.set()
        await everyone.wait()  # deadlocks (and the guard fails) unless all 40 run together
        gauge.leave(index)

    with anyio.fail_after(10):
        await run_bounded(40, worker, max_concurrency=0)
    assert gauge.peak == 40


async def test_run_bounded_unlimited_is_still_capped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_concurrency, "UNLIMITED_CAP", 3)
    gauge = Gauge()

    async def worker(index: int) -> None:
        gauge.enter(index)
        for _ in range(5):
            await anyio.lowlevel.checkpoint()
        gauge.leave(index)

    await run_bounded(10, worker)
    assert gauge.peak == 3


async def test_run_bounded_rejects_negative_concurrency() -> None:
    async def worker(index: int) -> None:
        raise AssertionError("must not run")

    with pytest.raises(ValueError, match="max_concurrency must be 0"):
        await run_bounded(1, worker, max_concurrency=-1)


async def test_run_bounded_with_no_work_returns_an_empty_report() -> None:
    async def worker(index: int) -> None:
        raise AssertionError("must not run")

    report = await run_bounded(0, worker)
    assert report.outcomes == [] and report.failures == [] and not report.timed_out


@pytest.fixture
def fake_clock(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[float]]:
    """Replace the launcher's clock and sleep: sleeping advances the fake clock at once."""
    state: dict[str, list[float]] = {"now": [0.0], "sleeps": []}

    def now() -> float:
        return state["now"][0]

    async def sleep(seconds: float) -> None:
        state["sleeps"].append(seconds)
        await anyio.lowlevel.checkpoint()  # let already launched workers run first
        state["now"][0] += seconds

    monkeypatch.setattr(_concurrency, "_now", now)
    monkeypatch.setattr(_concurrency, "_sleep", sleep)
    return state


async def test_run_bounded_delay_spaces_launches_and_the_first_starts_at_once(
    fake_clock: dict[str, list[float]],
) -> None:
    launched_at: list[float] = []

    async def worker(index: int) -> None:
        launched_at.append(fake_clock["now"][0])

    await run_bounded(4, worker, delay=1.5)
    assert launched_at == [0.0, 1.5, 3.0, 4.5]
    assert fake_clock["sleeps"] == [1.5, 1.5, 1.5]


async def test_run_bounded_delay_does_not_add_to_time_already_spent_waiting_for_a_slot(
    fake_clock: dict[str, list[float]],
) -> None:
    async def worker(index: int) -> None:
        fake_clock["now"][0] += 5.0  # each worker "takes" longer than the delay

    await run_bounded(3, worker, max_concurrency=1, delay=2.0)
    assert fake_clock["sleeps"] == []


async def test_run_bounded_fail_fast_cancels_running_workers_and_awaits_them() -> None:
    gauge = Gauge()
    blocker_running = anyio.Event()

    async def worker(index: int) -> None:
        gauge.enter(index)
        try:
            if index == 0:
                blocker_running.set()
                await anyio.sleep_forever()
            await blocker_running.wait()
            raise RuntimeError(f"worker {index} broke")
        finally:
            gauge.leave(index)

    report = await run_bounded(4, worker, max_concurrency=2)
    assert gauge.started == [0, 1]  # 2 and 3 never started
    assert sorted(gauge.cleaned) == [0, 1]  # the blocker's finally ran before we returned
    assert [o.status for o in report.outcomes] == ["cancelled", "failed", "not_started", "not_started"]
    assert [o.index for o in report.failures] == [1]
    assert str(report.failures[0].error) == "worker 1 broke"


async def test_run_bounded_fail_fast_with_one_slot_starts_nothing_after_a_failure() -> None:
    started: list[int] = []

    async def worker(index: int) -> None:
        started.append(index)
        raise ValueError("no")

    report = await run_bounded(5, worker, max_concurrency=1)
    assert started == [0]
    assert [o.status for o in report.outcomes] == ["failed"] + ["not_started"] * 4


async def test_run_bounded_reports_failures_that_happen_while_cancelling() -> None:
    go = anyio.Event()

    async def worker(index: int) -> None:
        if index == 2:
            go.set()
            return
        with anyio.CancelScope(shield=True):  # a worker that finishes its failing I/O first
            await go.wait()
            await anyio.lowlevel.checkpoint()
        raise RuntimeError(f"boom {index}")

    report = await run_bounded(3, worker)
    assert sorted(o.index for o in report.failures) == [0, 1]
    assert [o.status for o in report.outcomes] == ["failed", "failed", "succeeded"]


async def test_run_bounded_without_fail_fast_runs_everything() -> None:
    async def worker(index: int) -> int:
        await anyio.lowlevel.checkpoint()
        if index % 2:
            raise RuntimeError(str(index))
        return index

    report = await run_bounded(6, worker, max_concurrency=2, fail_fast=False)
    assert [o.status for o in report.outcomes] == ["succeeded", "failed"] * 3
    assert sorted(o.index for o in report.failures) == [1, 3, 5]


async def test_run_bounded_timeout_covers_launch_waits() -> None:
    async def worker(index: int) -> None:
        return None

    # The second launch waits 60 s for its delay; the 0.05 s timeout must end that wait.
    with anyio.fail_after(30):
        report = await run_bounded(3, worker, delay=60, timeout=0.05)
    assert report.timed_out
    assert report.finished == 1
    assert [o.status for o in report.outcomes] == ["succeeded", "not_started", "not_started"]


async def test_run_bounded_timeout_cancels_running_workers() -> None:
    cleaned: list[int] = []

    async def worker(index: int) -> None:
        try:
            if index == 1:
                await anyio.sleep_forever()
        finally:
            cleaned.append(index)

    report = await run_bounded(3, worker, max_concurrency=2, timeout=0.05)
    assert report.timed_out
    assert [o.status for o in report.outcomes] == ["succeeded", "cancelled", "succeeded"]
    assert sorted(cleaned) == [0, 1, 2]


async def test_run_bounded_outside_cancellation_cancels_and_awaits_every_worker() -> None:
    gauge = Gauge()
    all_running = anyio.Event()

    async def worker(index: int) -> None:
        gauge.enter(index)
        try:
            if gauge.now == 3:
                all_running.set()
            await anyio.sleep_forever()
        finally:
            gauge.leave(index)

    async with anyio.create_task_group() as tg:

        async def run() -> None:
            await run_bounded(3, worker)
            raise AssertionError("run_bounded must not return normally when cancelled")

        tg.start_soon(run)
        await all_running.wait()
        tg.cancel_scope.cancel()
    assert sorted(gauge.cleaned) == [0, 1, 2]
    assert gauge.now == 0


async def test_run_in_fresh_task_returns_the_result() -> None:
    async def work() -> str:
        return "done"

    assert await run_in_fresh_task(work) == "done"


async def test_run_in_fresh_task_raises_the_exception_itself_not_a_group() -> None:
    async def work() -> None:
        raise KeyError("k")

    with pytest.raises(KeyError, match="'k'"):
        await run_in_fresh_task(work)


async def test_run_in_fresh_task_starts_with_a_short_stack() -> None:
    def depth() -> int:
        frame, count = sys._getframe(), 0
        while frame is not None:
            frame, count = frame.f_back, count + 1  # type: ignore[assignment]
        return count

    async def nested(levels: int) -> int:
        if levels:
            return await nested(levels - 1)
        return depth()

    deep = await nested(50)

    async def fresh() -> int:
        return depth()

    shallow = await run_in_fresh_task(lambda: nested(0))
    assert shallow < deep - 40
    assert await run_in_fresh_task(fresh) < deep - 40
