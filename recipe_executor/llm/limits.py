"""Run-wide limits on provider requests: in-flight requests per provider, requests per minute
and tokens per minute, shared by every call however deeply it is nested.

Limits wrap only the HTTP request (see :mod:`.transport`), never a step, so a parent step never
holds a slot while its children wait for one: no deadlock at any nesting depth. Waiting for a
retry happens outside the slot. Tokens per minute are counted from an estimate of each
request's input (its body size / 4) when it is sent, plus the output tokens each call reports
when it finishes.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import anyio

__all__ = ["LIMITS_SERVICE", "LimitSettings", "ProviderLimits", "RateWindow", "RunLimits"]

LIMITS_SERVICE = "llm.limits"
DEFAULT_MAX_CONCURRENCY = 8
WINDOW_SECONDS = 60.0


def _positive_int(config: Mapping[str, Any], key: str, default: int | None) -> int | None:
    value = config.get(key)
    if value is None or value == "":
        return default
    try:
        number = int(float(value))
    except (TypeError, ValueError):
        raise ValueError(f"config {key} must be a whole number, got {value!r}") from None
    if number < 0:
        raise ValueError(f"config {key} must be 0 (no limit) or more, got {value!r}")
    return number or None


@dataclass(frozen=True, slots=True)
class LimitSettings:
    """``max_concurrency`` per provider (``None`` = no limit), ``rpm`` and ``tpm`` for the run."""

    max_concurrency: int | None = DEFAULT_MAX_CONCURRENCY
    rpm: int | None = None
    tpm: int | None = None

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> LimitSettings:
        """From config ``llm_max_concurrency`` (0 = no limit), ``llm_rpm``, ``llm_tpm``."""
        return cls(
            max_concurrency=_positive_int(config, "llm_max_concurrency", DEFAULT_MAX_CONCURRENCY),
            rpm=_positive_int(config, "llm_rpm", None),
            tpm=_positive_int(config, "llm_tpm", None),
        )


Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]


@dataclass
class RateWindow:
    """A sliding one-minute window allowing at most ``limit`` units (requests or tokens).

    One oversized reservation is let through when the window is empty, so a request larger
    than the whole budget still runs (alone) instead of waiting forever.
    """

    limit: int
    period: float = WINDOW_SECONDS
    clock: Clock = time.monotonic
    sleep: Sleep = anyio.sleep
    _entries: deque[tuple[float, int]] = field(default_factory=deque)
    _used: int = 0
    _lock: anyio.Lock = field(default_factory=anyio.Lock)

    def _prune(self, now: float) -> None:
        while self._entries and self._entries[0][0] <= now - self.period:
            _, amount = self._entries.popleft()
            self._used -= amount

    async def reserve(self, amount: int) -> None:
        """Wait until ``amount`` more fits in the window, then count it."""
        async with self._lock:  # first come, first served
            while True:
                now = self.clock()
                self._prune(now)
                if not self._entries or self._used + amount <= self.limit:
                    self._entries.append((now, amount))
                    self._used += amount
                    return
                await self.sleep(max(0.0, self._entries[0][0] + self.period - now))

    def add(self, amount: int) -> None:
        """Count ``amount`` now without waiting (usage learnt after the fact)."""
        if amount > 0:
            self._entries.append((self.clock(), amount))
            self._used += amount


class ProviderLimits:
    """The limits one provider's requests go through: a concurrency slot plus the run's windows."""

    def __init__(self, max_concurrency: int | None, run_limits: RunLimits) -> None:
        self.slots = anyio.Semaphore(max_concurrency) if max_concurrency else None
        self.run_limits = run_limits

    async def before_request(self, estimated_tokens: int) -> None:
        """Wait for the run's requests-per-minute and tokens-per-minute budget."""
        if self.run_limits.requests is not None:
            await self.run_limits.requests.reserve(1)
        if self.run_limits.tokens is not None:
            await self.run_limits.tokens.reserve(max(1, estimated_tokens))

    async def acquire(self) -> None:
        if self.slots is not None:
            await self.slots.acquire()

    def release(self) -> None:
        if self.slots is not None:
            self.slots.release()


class RunLimits:
    """All limits of one run, created from the config of the first LLM call."""

    def __init__(self, settings: LimitSettings, *, clock: Clock = time.monotonic, sleep: Sleep = anyio.sleep) -> None:
        self.settings = settings
        self.requests = RateWindow(settings.rpm, clock=clock, sleep=sleep) if settings.rpm else None
        self.tokens = RateWindow(settings.tpm, clock=clock, sleep=sleep) if settings.tpm else None
        self._providers: dict[str, ProviderLimits] = {}

    def for_provider(self, provider: str) -> ProviderLimits:
        """The limits of ``provider`` (its own concurrency slots, the shared windows)."""
        limits = self._providers.get(provider)
        if limits is None:
            limits = self._providers[provider] = ProviderLimits(self.settings.max_concurrency, self)
        return limits

    def add_output_tokens(self, amount: int) -> None:
        """Count output tokens a finished call reported against the tokens-per-minute window."""
        if self.tokens is not None:
            self.tokens.add(amount)
