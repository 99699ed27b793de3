"""What every wire adapter shares: the endpoint it talks to, the adapter contract, and the
boundary where httpx's exceptions and HTTP error statuses become our `ProviderError`s.

An adapter knows one API shape. It does not retry (the retry layer in `opencode.provider.retry`
is the only one), does not compute cost (`opencode.provider.cost`), and never prints.
"""

from __future__ import annotations

import abc
import contextlib
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from opencode.provider import errors
from opencode.provider.retry import retry_after_from_headers
from opencode.provider.types import (
    AssistantContent,
    Finish,
    FinishReason,
    ModelRequest,
    ModelResponse,
    ReasoningDelta,
    ReasoningEnd,
    ReasoningPart,
    StreamEvent,
    StreamFailed,
    TextDelta,
    TextPart,
    ToolCallEnd,
    ToolCallPart,
    Usage,
)

if TYPE_CHECKING:
    import httpx


@dataclass(slots=True)
class Timeouts:
    """Seconds. `first_byte` bounds the wait for response headers; `idle` the gap between chunks."""

    connect: float = 15.0
    first_byte: float = 300.0
    idle: float = 120.0


@dataclass
class Endpoint:
    """Where and how to reach one provider: filled from the vendor data, config and auth store."""

    provider_id: str
    base_url: str
    api_key: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)
    """The provider's `options` from config (e.g. Azure's `apiVersion`, Bedrock's `region`)."""
    timeouts: Timeouts = field(default_factory=Timeouts)
    client: httpx.AsyncClient | None = None
    """Shared client from `opencode.provider.http.make_client`; made lazily when None."""

    def url(self, path: str) -> str:
        return self.base_url.rstrip("/") + "/" + path.lstrip("/")

    def http(self) -> httpx.AsyncClient:
        if self.client is None:
            from opencode.provider.http import make_client

            self.client = make_client(connect_timeout=self.timeouts.connect, base_url=self.base_url)
        return self.client


class Adapter(abc.ABC):
    """Base of the wire adapters. Subclasses implement `stream` and `complete`."""

    protocol: ClassVar[str] = ""

    def __init__(self, endpoint: Endpoint) -> None:
        self.endpoint = endpoint

    @property
    def provider(self) -> str:
        return self.endpoint.provider_id

    @abc.abstractmethod
    def stream(self, request: ModelRequest) -> AsyncIterator[StreamEvent]:
        """Yield the reply as events, ending with `Finish`. Raises `ProviderError`."""

    @abc.abstractmethod
    async def complete(self, request: ModelRequest) -> ModelResponse:
        """The whole reply in one (non-streamed) request. Raises `ProviderError`."""

    # --- helpers for subclasses -----------------------------------------------------------

    def json_headers(
        self, key_header: str = "authorization", key_prefix: str = "Bearer ", extra: dict[str, str] | None = None
    ) -> dict[str, str]:
        """JSON content type, the key in the vendor's header, then the headers from config (which win)."""
        headers = {"content-type": "application/json", **(extra or {})}
        if self.endpoint.api_key:
            headers[key_header] = f"{key_prefix}{self.endpoint.api_key}"
        return {**headers, **self.endpoint.headers}

    async def post_json(self, url: str, body: dict[str, Any], headers: dict[str, str]) -> Any:
        """POST without streaming; returns the decoded JSON body or raises a mapped error."""
        import httpx

        client = self.endpoint.http()
        timeout = httpx.Timeout(
            connect=self.endpoint.timeouts.connect,
            read=self.endpoint.timeouts.first_byte,
            write=60.0,
            pool=60.0,
        )
        with map_transport_errors(self.provider):
            response = await client.post(url, json=body, headers=headers, timeout=timeout)
            if response.status_code >= 400:
                raise self.http_error(response.status_code, response.headers, response.content)
            return decode_json(self.provider, response.content)

    @asynccontextmanager
    async def open_stream(
        self, url: str, body: dict[str, Any] | bytes, headers: dict[str, str]
    ) -> AsyncIterator[httpx.Response]:
        """POST and hand over the response with a 2xx status; error statuses are raised mapped."""
        import httpx

        client = self.endpoint.http()
        timeout = httpx.Timeout(
            connect=self.endpoint.timeouts.connect,
            read=self.endpoint.timeouts.first_byte,
            write=60.0,
            pool=60.0,
        )
        content = body if isinstance(body, bytes) else json.dumps(body).encode()
        with map_transport_errors(self.provider):
            request = client.build_request("POST", url, content=content, headers=headers, timeout=timeout)
            response = await client.send(request, stream=True)
            try:
                if response.status_code >= 400:
                    raw = await response.aread()
                    raise self.http_error(response.status_code, response.headers, raw)
                # After the headers, each chunk may take at most `idle` seconds. httpcore reads the
                # read timeout from the request's extensions when the body starts flowing.
                response.request.extensions["timeout"] = {**timeout.as_dict(), "read": self.endpoint.timeouts.idle}
                yield response
            finally:
                await response.aclose()

    def http_error(self, status: int, headers: Any, raw: bytes) -> errors.ProviderError:
        """Map an error response to our tree; subclasses refine `error_message`."""
        message, code = self.error_message(raw)
        try:
            payload: Any = json.loads(raw) if raw else None
        except ValueError:
            payload = raw.decode("utf-8", "replace")
        return errors.from_status(
            self.provider,
            status,
            message,
            code=code,
            retry_after=retry_after_from_headers(headers),
            body=payload,
        )

    def error_message(self, raw: bytes) -> tuple[str, str | None]:
        """(message, code) from a vendor error body. Handles the common `{"error": {...}}` shapes."""
        try:
            data = json.loads(raw)
        except ValueError:
            return raw.decode("utf-8", "replace")[:400], None
        return error_fields(data)


async def read_rest(events: AsyncIterator[Any], grace: float = 1.0) -> None:
    """Read what follows a reply's last event (normally just the end of the body), so that the
    connection goes back to the pool for the next step instead of being closed (a new TLS
    handshake per step). A server that keeps sending or stalls for over `grace` seconds only
    costs the connection: nothing after the last event matters."""
    import asyncio

    with contextlib.suppress(Exception):
        async with asyncio.timeout(grace):
            async for _ in events:
                pass


def error_fields(data: Any) -> tuple[str, str | None]:
    """Dig (message, code) out of the error shapes vendors use."""
    if isinstance(data, list) and data:
        data = data[0]
    if not isinstance(data, dict):
        return str(data), None
    err = data.get("error", data)
    if isinstance(err, str):
        return err, _str_or_none(data.get("code") or data.get("type"))
    if isinstance(err, dict):
        message = err.get("message") or err.get("msg") or json.dumps(err)
        code = err.get("code") or err.get("type") or err.get("status")
        return str(message), _str_or_none(code)
    return str(data.get("message") or data), _str_or_none(data.get("code") or data.get("type"))


def _str_or_none(value: Any) -> str | None:
    return None if value is None else str(value)


def decode_json(provider: str, raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        raise errors.BadRequestError(
            provider, f"the response is not JSON: {raw[:200].decode('utf-8', 'replace')!r}"
        ) from None


class map_transport_errors:
    """Turn httpx's transport exceptions into `NetworkError` / `ProviderTimeout` / `StreamBroken`."""

    def __init__(self, provider: str) -> None:
        self.provider = provider

    def __enter__(self) -> None:
        return None

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: Any) -> Literal[False]:
        if exc is None or isinstance(exc, errors.ProviderError):
            return False
        import httpx

        if isinstance(exc, httpx.TimeoutException):
            kind = {
                httpx.ConnectTimeout: "connecting",
                httpx.ReadTimeout: "waiting for data",
                httpx.WriteTimeout: "sending the request",
                httpx.PoolTimeout: "waiting for a free connection",
            }.get(type(exc), "")
            raise errors.ProviderTimeout(self.provider, f"timed out {kind}".strip()) from exc
        if isinstance(exc, httpx.RemoteProtocolError | httpx.ReadError):
            raise errors.StreamBroken(self.provider, str(exc) or type(exc).__name__) from exc
        if isinstance(exc, httpx.TransportError):
            raise errors.NetworkError(self.provider, str(exc) or type(exc).__name__) from exc
        return False


def parse_arguments(raw: str) -> tuple[dict[str, Any] | None, str | None]:
    """Parse a tool call's argument text: (object, None) or (None, why it is not an object)."""
    text = raw.strip()
    if not text:
        return {}, None
    try:
        value = json.loads(text)
    except ValueError as exc:
        return None, f"arguments are not valid JSON ({exc})"
    if not isinstance(value, dict):
        return None, f"arguments must be a JSON object, got {type(value).__name__}"
    return value, None


async def collect(events: AsyncIterator[StreamEvent]) -> ModelResponse:
    """Build a `ModelResponse` from a stream of events (the one place that assembles deltas)."""
    parts: list[AssistantContent] = []
    malformed: list[ToolCallEnd] = []
    finish: Finish | None = None
    reasoning: ReasoningPart | None = None
    async for event in events:
        if isinstance(event, TextDelta):
            if parts and isinstance(parts[-1], TextPart):
                parts[-1].text += event.text
            else:
                parts.append(TextPart(event.text))
        elif isinstance(event, ReasoningDelta):
            if reasoning is None:
                reasoning = ReasoningPart("")
                parts.append(reasoning)
            reasoning.text += event.text
        elif isinstance(event, ReasoningEnd):
            if reasoning is None:
                reasoning = ReasoningPart("")
                parts.append(reasoning)
            reasoning.signature = event.signature
            reasoning.redacted = event.redacted
            reasoning = None
        elif isinstance(event, ToolCallEnd):
            if event.arguments is None:
                malformed.append(event)
            else:
                parts.append(ToolCallPart(event.id, event.name, event.arguments))
        elif isinstance(event, Finish):
            finish = event
        elif isinstance(event, StreamFailed):
            raise event.error
    if finish is None:
        raise errors.StreamBroken("model", "the stream ended without a finish event")
    return ModelResponse(
        parts=parts,
        finish_reason=finish.reason,
        usage=finish.usage,
        cost=finish.cost,
        malformed_tool_calls=malformed,
    )


async def replay(response: ModelResponse) -> AsyncIterator[StreamEvent]:
    """The events a streamed call would have produced for `response` (for non-streamed calls)."""
    for part in response.parts:
        if isinstance(part, TextPart):
            yield TextDelta(part.text)
        elif isinstance(part, ReasoningPart):
            if part.text:
                yield ReasoningDelta(part.text)
            yield ReasoningEnd(part.signature, part.redacted)
        else:
            raw = json.dumps(part.arguments)
            yield ToolCallEnd(part.id, part.name, part.arguments, raw)
    for bad in response.malformed_tool_calls:
        yield bad
    yield Finish(response.finish_reason, response.usage, response.cost)


def finish_reason(value: str | None, table: dict[str, FinishReason]) -> FinishReason:
    if value is None:
        return "stop"
    return table.get(value, "other")


UsageReader = Callable[[dict[str, Any]], Usage]
