"""The HTTP transport every provider client sends through: run-wide limits and retries.

The SDK clients are built with ``max_retries=0`` so that this is the only retry loop, and it
sits below pydantic-ai: a retried request is the same HTTP request sent again, invisible to
the agent. The concurrency slot is held from sending the request until the response body is
closed; waiting between retries happens outside it.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable

import anyio
import httpx2

from .limits import ProviderLimits, Sleep
from .retry import RetryPolicy, is_retryable_status, parse_retry_after

__all__ = ["LimitedTransport"]

_TRANSIENT_ERRORS = (httpx2.TimeoutException, httpx2.NetworkError, httpx2.RemoteProtocolError)


class _SlotStream(httpx2.AsyncByteStream):
    """A response body that gives the concurrency slot back when it is closed."""

    def __init__(self, inner: httpx2.Response, release: Callable[[], None]) -> None:
        self._inner = inner
        self._release: Callable[[], None] | None = release

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self._inner.aiter_raw():
            yield chunk

    async def aclose(self) -> None:
        try:
            await self._inner.aclose()
        finally:
            if self._release is not None:
                release, self._release = self._release, None
                release()


class LimitedTransport(httpx2.AsyncBaseTransport):
    """Sends each request under ``limits``, retrying transient failures under ``policy``.

    ``on_retry`` is told of every retry (for usage totals); ``sleep`` waits between attempts.
    """

    def __init__(
        self,
        limits: ProviderLimits,
        policy: RetryPolicy,
        *,
        logger: logging.Logger,
        label: str,
        on_retry: Callable[[], None] | None = None,
        sleep: Sleep = anyio.sleep,
        inner: httpx2.AsyncBaseTransport | None = None,
    ) -> None:
        self.limits = limits
        self.policy = policy
        self.logger = logger
        self.label = label
        self.on_retry = on_retry
        self.sleep = sleep
        self.inner = inner or httpx2.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        body = await request.aread()
        estimate = len(body) // 4
        attempt = 0
        while True:
            await self.limits.before_request(estimate)
            await self.limits.acquire()
            try:
                response = await self.inner.handle_async_request(request)
            except _TRANSIENT_ERRORS as exc:
                self.limits.release()
                if attempt >= self.policy.max_retries:
                    raise
                reason, retry_after = f"{type(exc).__name__}: {exc}", None
            except BaseException:
                self.limits.release()
                raise
            else:
                if not is_retryable_status(response.status_code) or attempt >= self.policy.max_retries:
                    return httpx2.Response(
                        status_code=response.status_code,
                        headers=response.headers,
                        stream=_SlotStream(response, self.limits.release),
                        extensions=response.extensions,
                        request=request,
                    )
                try:
                    await response.aread()
                finally:
                    await response.aclose()
                    self.limits.release()
                reason, retry_after = f"HTTP {response.status_code}", parse_retry_after(response.headers)
            delay = self.policy.delay(attempt, retry_after)
            attempt += 1
            self.logger.warning(
                "%s: transient failure (%s); retry %d of %d in %.2fs",
                self.label, reason, attempt, self.policy.max_retries, delay,
            )
            if self.on_retry is not None:
                self.on_retry()
            await self.sleep(delay)

    async def aclose(self) -> None:
        await self.inner.aclose()
