"""Plain helpers shared by the provider tests: endpoints, draining adapters, raw HTTP to the scripted server."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx

from opencode.provider.adapters.base import Adapter, Endpoint, collect
from opencode.provider.types import ModelRequest, ModelResponse, StreamEvent, TextDelta
from opencode.testing.model_server import ScriptedModelServer

PNG = b"\x89PNG\r\n\x1a\nfake-image-bytes"
READ_PARAMETERS = {"type": "object", "properties": {"path": {"type": "string"}}, "required": ["path"]}
"""JSON schema of a `read` tool that takes one required `path`."""


# --- endpoints --------------------------------------------------------------------------------


def endpoint_on(server: ScriptedModelServer, protocol: str, provider_id: str, **fields: Any) -> Endpoint:
    """An endpoint on the scripted server's route for `protocol`, with the server's key unless `fields` say else."""
    fields.setdefault("base_url", server.base_url(protocol))
    fields.setdefault("api_key", server.api_key)
    return Endpoint(provider_id=provider_id, **fields)


async def close_endpoint(endpoint: Endpoint) -> None:
    """Close the endpoint's HTTP client, if it ever opened one."""
    if endpoint.client is not None:
        await endpoint.client.aclose()


def closed_port() -> int:
    """A localhost port that nothing listens on."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --- adapters -----------------------------------------------------------------------------------


async def events_of(adapter: Adapter, request: ModelRequest) -> list[StreamEvent]:
    """Every event the adapter streams for `request`."""
    return [event async for event in adapter.stream(request)]


async def response_of(adapter: Adapter, request: ModelRequest, streamed: bool) -> ModelResponse:
    """The adapter's response to `request`: streamed and collected, or asked for whole."""
    return await collect(adapter.stream(request)) if streamed else await adapter.complete(request)


async def replay_events(events: list[StreamEvent]) -> AsyncIterator[StreamEvent]:
    """Stream events already seen once more, e.g. to `collect` them."""
    for event in events:
        yield event


def text_of(events: list[StreamEvent]) -> str:
    """The streamed text deltas, joined."""
    return "".join(e.text for e in events if isinstance(e, TextDelta))


def last_body(server: ScriptedModelServer, path: str) -> dict[str, Any]:
    """The JSON body of the server's last request, checked to have gone to `path`."""
    request = server.requests[-1]
    assert request.path == path
    body: dict[str, Any] = request.json
    return body


# --- raw HTTP, past the adapters ----------------------------------------------------------------


def bearer(key: str | None) -> dict[str, str]:
    """An authorization header carrying `key` as a bearer token; none without a key."""
    return {"authorization": f"Bearer {key}"} if key else {}


async def post_json(
    url: str, body: Any, headers: dict[str, str] | None = None, params: dict[str, str] | None = None
) -> httpx.Response:
    """POST a JSON body with a client of its own."""
    async with httpx.AsyncClient() as client:
        return await client.post(url, json=body, headers=headers, params=params)


def mock_client(handler: Callable[[httpx.Request], httpx.Response]) -> httpx.AsyncClient:
    """An httpx client whose requests `handler` answers instead of the network."""
    return httpx.AsyncClient(transport=httpx.MockTransport(handler))
