"""When and how long to retry a provider request: transient failures only, exponential backoff
with full jitter, and the server's ``Retry-After`` honoured.

Transient: HTTP 408, 409, 425, 429 and 5xx, timeouts and broken connections. Everything else
(400, 401, 403, 404, 422 …) fails at once so the provider's message reaches the user.
"""

from __future__ import annotations

import email.utils
import random
import time
from collections.abc import Mapping
from dataclasses import dataclass

__all__ = ["RETRYABLE_STATUS", "RetryPolicy", "is_retryable_status", "parse_retry_after"]

RETRYABLE_STATUS = frozenset({408, 409, 425, 429})


def is_retryable_status(status: int) -> bool:
    """True for statuses worth another try (see the module docstring)."""
    return status in RETRYABLE_STATUS or 500 <= status <= 599


def parse_retry_after(headers: Mapping[str, str], now: float | None = None) -> float | None:
    """Seconds to wait from ``Retry-After`` (seconds or an HTTP date) or ``retry-after-ms``."""
    millis = headers.get("retry-after-ms")
    if millis:
        try:
            return max(0.0, float(millis) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """``max_retries`` further attempts after the first; delays grow as ``base_delay * 2**n``
    (full jitter) up to ``max_delay``. A ``Retry-After`` wins over the computed delay but is
    capped at ``max_retry_after`` so a hostile header cannot stall a run for hours."""

    max_retries: int = 5
    base_delay: float = 0.5
    max_delay: float = 30.0
    max_retry_after: float = 120.0

    def delay(self, attempt: int, retry_after: float | None, rng: random.Random | None = None) -> float:
        """Seconds to wait before retry number ``attempt`` (0 for the first retry)."""
        if retry_after is not None:
            return min(retry_after, self.max_retry_after)
        ceiling = min(self.max_delay, self.base_delay * (2**attempt))
        return (rng or random).uniform(ceiling / 2, ceiling)
