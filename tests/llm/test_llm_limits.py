"""Rate windows and retry delays, with an injected clock (no wall-clock timing)."""

from __future__ import annotations

import random

from recipe_executor.llm.limits import LimitSettings, RateWindow
from recipe_executor.llm.retry import RetryPolicy, is_retryable_status, parse_retry_after


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


async def test_rpm_window_waits_until_the_oldest_request_leaves_the_minute() -> None:
    clock = FakeClock()
    window = RateWindow(2, clock=clock, sleep=clock.sleep)
    await window.reserve(1)
    clock.now = 10.0
    await window.reserve(1)
    await window.reserve(1)
    assert clock.sleeps == [50.0]


async def test_tpm_window_lets_one_oversized_request_through_alone() -> None:
    clock = FakeClock()
    window = RateWindow(100, clock=clock, sleep=clock.sleep)
    await window.reserve(500)
    assert clock.sleeps == []
    await window.reserve(10)
    assert clock.sleeps == [60.0]


def test_limit_settings_from_config_zero_means_no_limit() -> None:
    assert LimitSettings.from_config({}) == LimitSettings(8, None, None)
    assert LimitSettings.from_config({"llm_max_concurrency": "0", "llm_rpm": "30", "llm_tpm": 1000}) == LimitSettings(
        None, 30, 1000
    )


def test_retry_after_wins_over_backoff_and_is_capped() -> None:
    policy = RetryPolicy(base_delay=1.0, max_delay=8.0, max_retry_after=60.0)
    assert policy.delay(0, 3.0) == 3.0
    assert policy.delay(0, 1000.0) == 60.0
    rng = random.Random(1)
    delays = [policy.delay(n, None, rng) for n in range(6)]
    assert all(min(8.0, 2**n) / 2 <= d <= min(8.0, 2**n) for n, d in enumerate(delays))


def test_retry_after_header_forms() -> None:
    assert parse_retry_after({"retry-after": "2"}) == 2.0
    assert parse_retry_after({"retry-after-ms": "250"}) == 0.25
    assert parse_retry_after({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}, now=1445412470.0) == 10.0
    assert parse_retry_after({}) is None


def test_only_transient_statuses_are_retried() -> None:
    assert all(is_retryable_status(s) for s in (408, 429, 500, 502, 503))
    assert not any(is_retryable_status(s) for s in (400, 401, 403, 404, 422))
