"""The one retry layer: exponential backoff with jitter for retryable errors only.

A call is retried when its error is retryable (rate limit, overload, 5xx, network, timeout, a
stream that broke) and nothing has been passed on yet: once the first event of a reply reached
the caller, a break is final, because replaying it would duplicate text. The vendor's own wait
(`Retry-After`, `retry-after-ms`, the `*-reset` headers) wins over the backoff when given; no
single wait exceeds `max_delay`. Quota exhaustion is not retried. Adapters never retry.
"""

from __future__ import annotations

import asyncio
import logging
import random
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any

from opencode.provider.errors import ProviderError
from opencode.provider.types import Retrying, StreamEvent, StreamFailed


@dataclass(slots=True)
class RetryPolicy:
    """`attempts` counts the first try too. Config: provider `options.maxRetries` / `options.maxRetryDelay`."""

    attempts: int = 8
    base_delay: float = 2.0
    max_delay: float = 60.0
    jitter: float = 0.2

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> RetryPolicy:
        policy = cls()
        retries = options.get("maxRetries")
        if isinstance(retries, int) and retries >= 0:
            policy.attempts = retries + 1
        max_delay = options.get("maxRetryDelay")
        if isinstance(max_delay, int | float) and max_delay > 0:
            policy.max_delay = float(max_delay) / 1000.0  # milliseconds, as opencode's timeouts
        return policy

    def delay(self, attempt: int, error: ProviderError) -> float:
        """Seconds to wait before try number `attempt + 1` (attempt counts from 1)."""
        if error.retry_after is not None:
            return max(0.0, min(error.retry_after, self.max_delay))
        backoff = self.base_delay * (2 ** (attempt - 1))
        backoff *= 1 + random.uniform(-self.jitter, self.jitter)
        return max(0.0, min(backoff, self.max_delay))


log = logging.getLogger("opencode.provider.retry")

Sleep = Callable[[float], Awaitable[None]]


async def stream_with_retry(
    start: Callable[[], AsyncIterator[StreamEvent]],
    policy: RetryPolicy | None = None,
    *,
    sleep: Sleep = asyncio.sleep,
) -> AsyncIterator[StreamEvent]:
    """Run `start()` and pass its events on, retrying as described above.

    Never raises a `ProviderError`: the final error arrives as a `StreamFailed` event, after
    `Retrying` events for each wait.
    """
    policy = policy or RetryPolicy()
    attempt = 0
    while True:
        attempt += 1
        started = False
        try:
            async for event in start():
                started = True
                yield event
            return
        except ProviderError as error:
            if started or not error.retryable or attempt >= policy.attempts:
                yield StreamFailed(error)
                return
            wait = policy.delay(attempt, error)
            log.info("%s; retrying in %.1f s (try %d of %d)", error.summary(), wait, attempt + 1, policy.attempts)
            yield Retrying(attempt=attempt, delay=wait, error=error, attempts=policy.attempts)
            await sleep(wait)


async def call_with_retry(
    call: Callable[[], Awaitable[Any]],
    policy: RetryPolicy | None = None,
    *,
    sleep: Sleep = asyncio.sleep,
    on_retry: Callable[[Retrying], None] | None = None,
) -> Any:
    """Retry a non-streamed call; raises the final `ProviderError`."""
    policy = policy or RetryPolicy()
    attempt = 0
    while True:
        attempt += 1
        try:
            return await call()
        except ProviderError as error:
            if not error.retryable or attempt >= policy.attempts:
                raise
            wait = policy.delay(attempt, error)
            log.info("%s; retrying in %.1f s (try %d of %d)", error.summary(), wait, attempt + 1, policy.attempts)
            if on_retry is not None:
                on_retry(Retrying(attempt=attempt, delay=wait, error=error, attempts=policy.attempts))
            await sleep(wait)


_DURATION = re.compile(r"(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m(?!s))?(?:(\d+(?:\.\d+)?)s)?(?:(\d+(?:\.\d+)?)ms)?$")


def retry_after_from_headers(headers: Mapping[str, str] | Any, now: float | None = None) -> float | None:
    """Seconds the vendor asks us to wait, from whichever header it sent, or None.

    Understands `retry-after-ms`, `Retry-After` (seconds or an HTTP date), OpenAI's
    `x-ratelimit-reset-requests` / `-tokens` (`"1s"`, `"6m0s"`, `"250ms"`) and Anthropic's
    `anthropic-ratelimit-*-reset` (an RFC 3339 time). The longest of the reset headers wins.
    """
    if headers is None:
        return None
    get = headers.get
    now = time.time() if now is None else now
    value = get("retry-after-ms")
    if value:
        try:
            return max(0.0, float(value) / 1000.0)
        except ValueError:
            pass
    value = get("retry-after")
    if value:
        try:
            return max(0.0, float(value))
        except ValueError:
            try:
                return max(0.0, parsedate_to_datetime(value).timestamp() - now)
            except (TypeError, ValueError, IndexError):
                pass
    waits: list[float] = []
    for name in ("x-ratelimit-reset-requests", "x-ratelimit-reset-tokens"):
        value = get(name)
        if value:
            parsed = _parse_duration(value)
            if parsed is not None:
                waits.append(parsed)
    for name in (
        "anthropic-ratelimit-requests-reset",
        "anthropic-ratelimit-tokens-reset",
        "anthropic-ratelimit-input-tokens-reset",
        "anthropic-ratelimit-output-tokens-reset",
    ):
        value = get(name)
        if value:
            try:
                waits.append(max(0.0, datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp() - now))
            except ValueError:
                pass
    return max(waits) if waits else None


def _parse_duration(text: str) -> float | None:
    text = text.strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    match = _DURATION.match(text)
    if not match or not any(match.groups()):
        return None
    hours, minutes, seconds, millis = (float(g) if g else 0.0 for g in match.groups())
    return hours * 3600 + minutes * 60 + seconds + millis / 1000.0
