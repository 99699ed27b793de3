"""The one retry layer: which errors retry, how long it waits, when it gives up."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from opencode.provider import errors
from opencode.provider.adapters import adapter_class
from opencode.provider.adapters.base import Endpoint, collect
from opencode.provider.retry import RetryPolicy, retry_after_from_headers, stream_with_retry
from opencode.provider.types import (
    Finish,
    ModelRequest,
    Retrying,
    StreamEvent,
    StreamFailed,
    TextDelta,
    TextPart,
    Usage,
    UserMessage,
)
from opencode.testing.model_server import ErrorReply, Reply, ScriptedModelServer, Text


class Sleeps:
    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def scripted(*outcomes: Exception | list[StreamEvent]):  # type: ignore[no-untyped-def]
    calls = iter(outcomes)

    async def start() -> AsyncIterator[StreamEvent]:
        outcome = next(calls)
        if isinstance(outcome, Exception):
            raise outcome
        for event in outcome:
            if isinstance(event, Exception):
                raise event
            yield event

    return start


OK = [TextDelta("hi"), Finish("stop", Usage())]


async def drain(stream: AsyncIterator[StreamEvent]) -> list[StreamEvent]:
    return [event async for event in stream]


async def test_retryable_errors_are_retried_with_backoff() -> None:
    sleeps = Sleeps()
    start = scripted(errors.OverloadedError("p"), errors.ServerError("p", status=500), OK)
    events = await drain(stream_with_retry(start, RetryPolicy(jitter=0), sleep=sleeps))
    assert [type(e) for e in events] == [Retrying, Retrying, TextDelta, Finish]
    assert sleeps.waits == [2.0, 4.0]


async def test_retry_after_wins_and_is_capped() -> None:
    sleeps = Sleeps()
    start = scripted(errors.RateLimitError("p", retry_after=7.0), errors.RateLimitError("p", retry_after=3600), OK)
    await drain(stream_with_retry(start, RetryPolicy(max_delay=60), sleep=sleeps))
    assert sleeps.waits == [7.0, 60.0]


async def test_backoff_never_exceeds_the_cap() -> None:
    policy = RetryPolicy(attempts=20, max_delay=60)
    waits = [policy.delay(n, errors.ServerError("p")) for n in range(1, 20)]
    assert max(waits) <= 60
    assert waits[0] < waits[3]


@pytest.mark.parametrize(
    "error",
    [
        errors.AuthError("p", status=401),
        errors.QuotaExceededError("p", status=429),
        errors.BadRequestError("p", "bad", status=400),
        errors.ContextTooLongError("p", status=400),
    ],
)
async def test_fatal_errors_are_not_retried(error: errors.ProviderError) -> None:
    sleeps = Sleeps()
    events = await drain(stream_with_retry(scripted(error, OK), sleep=sleeps))
    assert len(events) == 1 and isinstance(events[0], StreamFailed)
    assert events[0].error is error
    assert sleeps.waits == []


async def test_attempts_are_capped_and_the_last_error_is_final() -> None:
    sleeps = Sleeps()
    start = scripted(*[errors.OverloadedError("p") for _ in range(3)])
    events = await drain(stream_with_retry(start, RetryPolicy(attempts=3), sleep=sleeps))
    assert [type(e) for e in events] == [Retrying, Retrying, StreamFailed]
    assert len(sleeps.waits) == 2


async def test_a_break_before_the_first_token_is_retried_but_not_after() -> None:
    sleeps = Sleeps()
    start = scripted([errors.StreamBroken("p")], [TextDelta("partial"), errors.StreamBroken("p")], OK)
    events = await drain(stream_with_retry(start, sleep=sleeps))
    assert [type(e) for e in events] == [Retrying, TextDelta, StreamFailed]


def test_policy_from_provider_options() -> None:
    policy = RetryPolicy.from_options({"maxRetries": 2, "maxRetryDelay": 5000})
    assert policy.attempts == 3
    assert policy.max_delay == 5.0
    assert RetryPolicy.from_options({}).attempts == 8


def test_retry_after_headers() -> None:
    now = 1_700_000_000.0
    assert retry_after_from_headers({"retry-after": "3"}) == 3.0
    assert retry_after_from_headers({"retry-after-ms": "1500", "retry-after": "9"}) == 1.5
    when = datetime.fromtimestamp(now, UTC) + timedelta(seconds=30)
    assert retry_after_from_headers({"retry-after": format_datetime(when, usegmt=True)}, now=now) == pytest.approx(30)
    assert retry_after_from_headers({"x-ratelimit-reset-requests": "6m0s", "x-ratelimit-reset-tokens": "250ms"}) == 360
    reset = (datetime.fromtimestamp(now, UTC) + timedelta(seconds=12)).isoformat().replace("+00:00", "Z")
    assert retry_after_from_headers({"anthropic-ratelimit-requests-reset": reset}, now=now) == pytest.approx(12)
    assert retry_after_from_headers({}) is None
    assert retry_after_from_headers({"retry-after": "soon"}) is None


PROTOCOLS = ["openai-chat", "openai-responses", "azure", "anthropic", "gemini", "bedrock", "cohere"]


def endpoint_for(protocol: str, server: ScriptedModelServer) -> Endpoint:
    options: dict[str, object] = {}
    if protocol == "bedrock":
        options = {
            "accessKeyId": server.aws_access_key_id,
            "secretAccessKey": server.api_key,
            "region": server.aws_region,
        }
    return Endpoint(
        provider_id=protocol,
        base_url=server.base_url(protocol),
        api_key=None if protocol == "bedrock" else server.api_key,
        options=options,
    )


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_429_with_retry_after_1_is_retried_after_a_second(
    protocol: str, model_server: ScriptedModelServer
) -> None:
    model_server.push(
        ErrorReply(429, "slow down", kind="rate_limit", headers={"retry-after": "1"}), Reply([Text("after the wait")])
    )
    endpoint = endpoint_for(protocol, model_server)
    adapter = adapter_class(protocol)(endpoint)
    request = ModelRequest(model="some-model", messages=[UserMessage([TextPart("hi")])], max_tokens=100)
    started = time.monotonic()
    try:
        events = await drain(stream_with_retry(lambda: adapter.stream(request)))
    finally:
        if endpoint.client is not None:
            await endpoint.client.aclose()
    elapsed = time.monotonic() - started
    retry = events[0]
    assert isinstance(retry, Retrying)
    assert isinstance(retry.error, errors.RateLimitError)
    assert retry.delay == 1.0
    assert elapsed >= 1.0
    response = await collect(_aiter(events[1:]))
    assert response.text == "after the wait"
    assert len(model_server.requests) == 2


async def _aiter(events: list[StreamEvent]) -> AsyncIterator[StreamEvent]:
    for event in events:
        yield event
