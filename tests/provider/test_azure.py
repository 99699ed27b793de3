"""The Azure OpenAI adapter against the scripted server's Azure deployment route."""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from opencode.provider import errors
from opencode.provider.adapters import adapter_class
from opencode.provider.adapters.azure import AzureOpenAIAdapter
from opencode.provider.adapters.base import Endpoint, Timeouts, collect
from opencode.provider.types import (
    AssistantMessage,
    FilePart,
    Finish,
    ModelRequest,
    ReasoningDelta,
    ReasoningEnd,
    ReasoningPart,
    TextDelta,
    TextPart,
    ToolCallEnd,
    ToolCallPart,
    ToolCallStart,
    ToolMessage,
    ToolResultPart,
    ToolSpec,
    Usage,
    UserMessage,
)
from opencode.testing.model_server import (
    ErrorReply,
    Reasoning,
    Reply,
    ScriptedModelServer,
    ScriptUsage,
    Text,
    ToolCall,
)
from tests.provider.support import READ_PARAMETERS, events_of, response_of

PNG = b"\x89PNG\r\n\x1a\nazure-image"
READ_TOOL = ToolSpec("read", "Read a file.", READ_PARAMETERS)


@pytest.fixture
def endpoint(open_endpoint: Callable[..., Endpoint]) -> Endpoint:
    """An Azure endpoint on the scripted server's deployment route."""
    return open_endpoint("azure", "azure")


def ask(text: str = "hi", **kw: Any) -> ModelRequest:
    return ModelRequest(model="my-gpt4o", messages=[UserMessage([TextPart(text)])], **kw)


def test_protocol_is_registered() -> None:
    assert adapter_class("azure") is AzureOpenAIAdapter


# --- where and how ----------------------------------------------------------------------------


async def test_url_and_key_header(model_server: ScriptedModelServer, endpoint: Endpoint) -> None:
    model_server.push(Reply([Text("Hello from Azure")]))
    events = await events_of(AzureOpenAIAdapter(endpoint), ask())
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == "Hello from Azure"
    sent = model_server.requests[-1]
    assert sent.path == "/openai/deployments/my-gpt4o/chat/completions"
    assert sent.query == {"api-version": "2024-10-21"}
    assert sent.headers["api-key"] == model_server.api_key
    assert "authorization" not in sent.headers
    assert sent.json["stream_options"] == {"include_usage": True}


async def test_api_version_option(model_server: ScriptedModelServer, endpoint: Endpoint) -> None:
    endpoint.options = {"apiVersion": "2025-01-01-preview"}
    model_server.push(Reply([Text("ok")]))
    await AzureOpenAIAdapter(endpoint).complete(ask())
    assert model_server.requests[-1].query == {"api-version": "2025-01-01-preview"}


def test_resource_name_base_url() -> None:
    adapter = AzureOpenAIAdapter(Endpoint("azure", "", "key", options={"resourceName": "contoso"}))
    assert adapter.url(ask()) == (
        "https://contoso.openai.azure.com/openai/deployments/my-gpt4o/chat/completions?api-version=2024-10-21"
    )
    explicit = AzureOpenAIAdapter(Endpoint("azure", "https://proxy.example/openai/", "key"))
    assert explicit.url(ask()).startswith("https://proxy.example/openai/deployments/my-gpt4o/")


async def test_no_base_url_nor_resource_name() -> None:
    adapter = AzureOpenAIAdapter(Endpoint("azure", "", "key"))
    with pytest.raises(errors.BadRequestError, match="resourceName"):
        await collect(adapter.stream(ask()))


# --- replies ----------------------------------------------------------------------------------


async def test_stream_with_prompt_filter_chunk(model_server: ScriptedModelServer, endpoint: Endpoint) -> None:
    model_server.push(Reply([Text("Filtered fine")], chunk_size=4))
    events = await events_of(AzureOpenAIAdapter(endpoint), ask())
    assert [type(e).__name__ for e in events] == ["TextDelta"] * 4 + ["Finish"]
    assert events[-1] == Finish("stop", Usage(input=10, output=5))


async def test_complete_not_streamed(model_server: ScriptedModelServer, endpoint: Endpoint) -> None:
    model_server.push(Reply([Text("Whole answer")]))
    response = await AzureOpenAIAdapter(endpoint).complete(ask())
    assert response.parts == [TextPart("Whole answer")]
    assert response.finish_reason == "stop"
    assert "stream" not in model_server.requests[-1].json


async def test_request_on_the_wire(model_server: ScriptedModelServer, endpoint: Endpoint) -> None:
    model_server.push(Reply([Text("ok")]))
    request = ModelRequest(
        model="my-gpt4o",
        system=["Be brief."],
        messages=[
            UserMessage([TextPart("Look"), FilePart("image/png", PNG)]),
            AssistantMessage([TextPart(""), ToolCallPart("call_1", "read", {"path": "x"})]),
            ToolMessage([ToolResultPart("call_1", "read", "contents")]),
        ],
        tools=[READ_TOOL],
        temperature=0.5,
        options={"reasoningEffort": "high"},
    )
    await AzureOpenAIAdapter(endpoint).complete(request)
    body = model_server.requests[-1].json
    assert body["messages"] == [
        {"role": "system", "content": "Be brief."},
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "Look"},
                {"type": "image_url", "image_url": {"url": "data:image/png;base64," + base64.b64encode(PNG).decode()}},
            ],
        },
        {
            "role": "assistant",
            "content": "",
            "tool_calls": [
                {"id": "call_1", "type": "function", "function": {"name": "read", "arguments": '{"path": "x"}'}}
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": "contents"},
    ]
    assert body["tools"][0]["function"]["name"] == "read"
    assert body["temperature"] == 0.5
    assert body["reasoning_effort"] == "high"


async def test_reasoning_content(model_server: ScriptedModelServer, endpoint: Endpoint) -> None:
    model_server.push(Reply([Reasoning("Consider."), Text("Done.")]))
    events = await events_of(AzureOpenAIAdapter(endpoint), ask())
    assert "".join(e.text for e in events if isinstance(e, ReasoningDelta)) == "Consider."
    assert any(isinstance(e, ReasoningEnd) for e in events)
    model_server.push(Reply([Reasoning("Consider."), Text("Done.")]))
    assert (await AzureOpenAIAdapter(endpoint).complete(ask())).parts == [ReasoningPart("Consider."), TextPart("Done.")]


@pytest.mark.parametrize("streamed", [True, False])
async def test_tool_calls_and_malformed(model_server: ScriptedModelServer, endpoint: Endpoint, streamed: bool) -> None:
    model_server.push(
        Reply(
            [
                ToolCall("read", {"path": "a"}, id="call_a"),
                ToolCall("read", {"path": "b"}, id="call_b"),
                ToolCall("read", "not json", id="call_c"),
            ],
            chunk_size=3,
        )
    )
    response = await response_of(AzureOpenAIAdapter(endpoint), ask(tools=[READ_TOOL]), streamed)
    assert response.tool_calls == [
        ToolCallPart("call_a", "read", {"path": "a"}),
        ToolCallPart("call_b", "read", {"path": "b"}),
    ]
    [bad] = response.malformed_tool_calls
    assert (bad.id, bad.arguments, bad.raw) == ("call_c", None, "not json")
    assert bad.error is not None
    assert response.finish_reason == "tool_calls"


async def test_tool_call_events_in_order(model_server: ScriptedModelServer, endpoint: Endpoint) -> None:
    model_server.push(
        Reply([ToolCall("read", {"path": "a"}, id="call_a"), ToolCall("read", {"path": "b"}, id="call_b")])
    )
    events = await events_of(AzureOpenAIAdapter(endpoint), ask(tools=[READ_TOOL]))
    assert [e.id for e in events if isinstance(e, ToolCallStart)] == ["call_a", "call_b"]
    assert [e.arguments for e in events if isinstance(e, ToolCallEnd)] == [{"path": "a"}, {"path": "b"}]


@pytest.mark.parametrize("streamed", [True, False])
async def test_usage_normalised(model_server: ScriptedModelServer, endpoint: Endpoint, streamed: bool) -> None:
    model_server.push(Reply([Text("ok")], usage=ScriptUsage(input=100, output=20, reasoning=7, cache_read=30)))
    response = await response_of(AzureOpenAIAdapter(endpoint), ask(), streamed)
    assert response.usage == Usage(input=100, output=20, reasoning=7, cache_read=30)


@pytest.mark.parametrize("streamed", [True, False])
async def test_content_filter_finish(model_server: ScriptedModelServer, endpoint: Endpoint, streamed: bool) -> None:
    model_server.push(Reply([Text("I can")], finish="content_filter"))
    response = await response_of(AzureOpenAIAdapter(endpoint), ask(), streamed)
    assert response.finish_reason == "content_filter"


# --- errors -----------------------------------------------------------------------------------


async def test_wrong_key_gets_azure_401(model_server: ScriptedModelServer, endpoint: Endpoint) -> None:
    endpoint.api_key = "wrong"
    with pytest.raises(errors.AuthError) as caught:
        await collect(AzureOpenAIAdapter(endpoint).stream(ask()))
    assert "Access denied due to invalid subscription key" in str(caught.value)
    assert caught.value.status == 401


async def test_azure_rate_limit_is_not_quota(model_server: ScriptedModelServer, endpoint: Endpoint) -> None:
    message = (
        "Requests to the ChatCompletions_Create Operation under Azure OpenAI API version 2024-10-21 have exceeded "
        "token rate limit of your current OpenAI S0 pricing tier. Please retry after 6 seconds. Please go here: "
        "https://aka.ms/oai/quotaincrease if you would like to further increase the default rate limit."
    )
    model_server.push(ErrorReply(429, message, kind="rate_limit", headers={"retry-after": "6"}))
    with pytest.raises(errors.RateLimitError) as caught:
        await AzureOpenAIAdapter(endpoint).complete(ask())
    assert type(caught.value) is errors.RateLimitError
    assert caught.value.retry_after == 6.0
    assert caught.value.retryable


@pytest.mark.parametrize(
    ("script", "error_class"),
    [
        (ErrorReply(401, "Access denied", kind="auth"), errors.AuthError),
        (ErrorReply(429, "You exceeded your current quota", kind="quota"), errors.QuotaExceededError),
        (ErrorReply(503, "Service temporarily unavailable", kind="overloaded"), errors.OverloadedError),
        (ErrorReply(500, "Internal server error", kind="server"), errors.ServerError),
        (ErrorReply(400, "maximum context length is 128000 tokens", kind="context_length"), errors.ContextTooLongError),
        (
            ErrorReply(400, "The response was filtered due to the prompt", kind="invalid_request"),
            errors.BadRequestError,
        ),
    ],
)
@pytest.mark.parametrize("streamed", [True, False])
async def test_error_statuses(
    model_server: ScriptedModelServer,
    endpoint: Endpoint,
    streamed: bool,
    script: ErrorReply,
    error_class: type[errors.ProviderError],
) -> None:
    model_server.push(script)
    with pytest.raises(error_class) as caught:
        await response_of(AzureOpenAIAdapter(endpoint), ask(), streamed)
    assert type(caught.value) is error_class
    assert script.message in str(caught.value)


async def test_stall_and_break(model_server: ScriptedModelServer, endpoint: Endpoint) -> None:
    endpoint.timeouts = Timeouts(idle=0.3)
    model_server.push(Reply([Text("slow reply here")], chunk_size=2, stall_after=3, stall_seconds=1.5))
    with pytest.raises(errors.ProviderTimeout):
        await collect(AzureOpenAIAdapter(endpoint).stream(ask()))
    model_server.push(Reply([Text("broken reply here")], chunk_size=2, break_after=4))
    with pytest.raises(errors.StreamBroken):
        await collect(AzureOpenAIAdapter(endpoint).stream(ask()))


# --- the scripted server's own validation -----------------------------------------------------


def post(
    server: ScriptedModelServer, body: Any, *, key: str | None = "test-key", version: str | None = "2024-10-21"
) -> httpx.Response:
    url = server.base_url("azure") + "/deployments/dep/chat/completions"
    params = {"api-version": version} if version else {}
    headers = {"api-key": key} if key else {}
    return httpx.post(url, json=body, params=params, headers=headers)


def test_server_requires_api_version_and_key(model_server: ScriptedModelServer) -> None:
    body = {"messages": [{"role": "user", "content": "hi"}]}
    assert post(model_server, body, version=None).status_code == 404
    wrong = post(model_server, body, key="nope")
    assert wrong.status_code == 401
    assert wrong.json() == {
        "error": {
            "code": "401",
            "message": "Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a "
            "valid key for an active subscription and use a correct regional API endpoint for your resource.",
        }
    }


def test_server_rejects_missing_tool_result(model_server: ScriptedModelServer) -> None:
    body = {
        "messages": [
            {"role": "user", "content": "hi"},
            {
                "role": "assistant",
                "content": "",
                "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "read", "arguments": "{}"}}],
            },
        ]
    }
    response = post(model_server, body)
    assert response.status_code == 400
    assert "did not have response messages: call_1" in response.json()["error"]["message"]
