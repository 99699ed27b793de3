"""The OpenAI Chat Completions adapter against the scripted server's OpenAI endpoint."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from opencode.provider import errors
from opencode.provider.adapters import adapter_class
from opencode.provider.adapters.base import Endpoint, Timeouts, collect
from opencode.provider.adapters.openai_chat import OpenAIChatAdapter
from opencode.provider.types import (
    AssistantMessage,
    FilePart,
    Finish,
    ModelRequest,
    ReasoningDelta,
    ReasoningEnd,
    ReasoningPart,
    StreamEvent,
    TextDelta,
    TextPart,
    ToolCallDelta,
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
from opencode.testing.model_server import openai_chat as chat_server
from opencode.testing.model_server.script import ScriptPart
from tests.provider.support import READ_PARAMETERS, bearer, closed_port, events_of, replay_events, response_of

PNG = b"\x89PNG\r\n\x1a\nscripted-image-bytes"
READ_TOOL = ToolSpec("read", "Read a file from the project.", READ_PARAMETERS)


@pytest.fixture
def endpoint(open_endpoint: Callable[..., Endpoint]) -> Endpoint:
    """An OpenAI endpoint on the scripted server's Chat Completions route."""
    return open_endpoint("openai-chat", "openai")


def ask(text: str = "hi", **kw: Any) -> ModelRequest:
    return ModelRequest(model="gpt-4.1", messages=[UserMessage([TextPart(text)])], **kw)


def test_protocol_is_registered() -> None:
    assert adapter_class("openai-chat") is OpenAIChatAdapter


# --- replies ----------------------------------------------------------------------------------


async def test_streams_text(model_server: ScriptedModelServer, endpoint: Endpoint) -> None:
    model_server.push(Reply([Text("Hello there, world")], chunk_size=5))
    events = await events_of(OpenAIChatAdapter(endpoint), ask())
    assert [e.text for e in events if isinstance(e, TextDelta)] == ["Hello", " ther", "e, wo", "rld"]
    assert events[-1] == Finish("stop", Usage(input=10, output=5))
    sent = model_server.requests[-1]
    assert sent.path == "/v1/chat/completions"
    assert sent.json["stream"] is True
    assert sent.json["stream_options"] == {"include_usage": True}
    response = await collect(replay_events(events))
    assert response.text == "Hello there, world"


async def test_complete_not_streamed(model_server: ScriptedModelServer, endpoint: Endpoint) -> None:
    model_server.push(Reply([Text("Plain answer.")], usage=ScriptUsage(input=12, output=3)))
    response = await OpenAIChatAdapter(endpoint).complete(ask())
    assert response.parts == [TextPart("Plain answer.")]
    assert response.finish_reason == "stop"
    assert response.usage == Usage(input=12, output=3)
    assert "stream" not in model_server.requests[-1].json
    assert "stream_options" not in model_server.requests[-1].json


async def test_request_on_the_wire(model_server: ScriptedModelServer, endpoint: Endpoint) -> None:
    endpoint.headers = {"x-title": "opencode"}
    model_server.push(Reply([Text("ok")]))
    request = ModelRequest(
        model="gpt-4.1",
        system=["You are terse.", "Project: demo"],
        messages=[
            UserMessage([TextPart("What is in this picture?"), FilePart("image/png", PNG, "dot.png")]),
            AssistantMessage(
                [
                    ReasoningPart("I should read both files."),
                    TextPart("Reading two files."),
                    ToolCallPart("call_a", "read", {"path": "a.py"}),
                    ToolCallPart("call_b", "read", {"path": "b.py"}),
                ]
            ),
            ToolMessage(
                [
                    ToolResultPart("call_a", "read", "print(1)"),
                    ToolResultPart("call_b", "read", "no such file", is_error=True),
                ]
            ),
        ],
        tools=[READ_TOOL],
        tool_choice="auto",
        temperature=0.2,
        top_p=0.9,
        max_tokens=512,
        options={"reasoningEffort": "low", "thinking": {"type": "enabled"}},
    )
    await collect(OpenAIChatAdapter(endpoint).stream(request))
    sent = model_server.requests[-1]
    assert sent.headers["authorization"] == f"Bearer {model_server.api_key}"
    assert sent.headers["x-title"] == "opencode"
    body = sent.json
    image_url = "data:image/png;base64," + base64.b64encode(PNG).decode()
    assert body["messages"] == [
        {"role": "system", "content": "You are terse.\n\nProject: demo"},
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "What is in this picture?"},
                {"type": "image_url", "image_url": {"url": image_url}},
            ],
        },
        {
            "role": "assistant",
            "content": "Reading two files.",
            "tool_calls": [
                {"id": "call_a", "type": "function", "function": {"name": "read", "arguments": '{"path": "a.py"}'}},
                {"id": "call_b", "type": "function", "function": {"name": "read", "arguments": '{"path": "b.py"}'}},
            ],
        },
        {"role": "tool", "tool_call_id": "call_a", "content": "print(1)"},
        {"role": "tool", "tool_call_id": "call_b", "content": "no such file"},
    ]
    assert body["tools"] == [
        {
            "type": "function",
            "function": {"name": "read", "description": READ_TOOL.description, "parameters": READ_TOOL.parameters},
        }
    ]
    assert body["tool_choice"] == "auto"
    assert body["temperature"] == 0.2
    assert body["top_p"] == 0.9
    assert body["max_tokens"] == 512
    assert body["reasoning_effort"] == "low"
    assert "thinking" not in body  # another vendor's option is ignored


async def test_pdf_goes_as_a_file_part(model_server: ScriptedModelServer, endpoint: Endpoint) -> None:
    model_server.push(Reply([Text("ok")]))
    request = ModelRequest(
        model="gpt-4.1", messages=[UserMessage([TextPart("Summarise"), FilePart("application/pdf", b"%PDF-1.7")])]
    )
    await OpenAIChatAdapter(endpoint).complete(request)
    part = model_server.requests[-1].json["messages"][0]["content"][1]
    assert part == {
        "type": "file",
        "file": {
            "filename": "document.pdf",
            "file_data": "data:application/pdf;base64," + base64.b64encode(b"%PDF-1.7").decode(),
        },
    }


async def test_options_for_compatible_servers(model_server: ScriptedModelServer, endpoint: Endpoint) -> None:
    endpoint.options = {"includeUsage": False, "maxTokensField": "max_completion_tokens"}
    model_server.push(Reply([Text("ok")]))
    events = await events_of(OpenAIChatAdapter(endpoint), ask(max_tokens=100))
    body = model_server.requests[-1].json
    assert "stream_options" not in body
    assert body["max_completion_tokens"] == 100
    assert "max_tokens" not in body
    assert events[-1] == Finish("stop", Usage())  # the server sends no usage when not asked


async def test_model_option_overrides_provider_option(model_server: ScriptedModelServer, endpoint: Endpoint) -> None:
    endpoint.options = {"maxTokensField": "max_completion_tokens"}
    model_server.push(Reply([Text("ok")]))
    await OpenAIChatAdapter(endpoint).complete(ask(max_tokens=64, options={"maxTokensField": "max_tokens"}))
    assert model_server.requests[-1].json["max_tokens"] == 64


async def test_no_key_sends_no_authorization(model_server: ScriptedModelServer, endpoint: Endpoint) -> None:
    model_server.local_models.ids.append("llama3.2")
    endpoint.api_key = None
    model_server.push(Reply([Text("local answer")]))
    response = await collect(
        OpenAIChatAdapter(endpoint).stream(ModelRequest("llama3.2", [UserMessage([TextPart("hi")])]))
    )
    assert response.text == "local answer"
    assert "authorization" not in model_server.requests[-1].headers


async def test_reasoning_content_deltas(model_server: ScriptedModelServer, endpoint: Endpoint) -> None:
    model_server.push(Reply([Reasoning("Think about it."), Text("Answer.")], chunk_size=8))
    events = await events_of(OpenAIChatAdapter(endpoint), ask())
    kinds = [type(e).__name__ for e in events]
    assert kinds == ["ReasoningDelta", "ReasoningDelta", "ReasoningEnd", "TextDelta", "Finish"]
    assert "".join(e.text for e in events if isinstance(e, ReasoningDelta)) == "Think about it."
    assert isinstance(events[2], ReasoningEnd)
    model_server.push(Reply([Reasoning("Think."), Text("Answer.")]))
    response = await OpenAIChatAdapter(endpoint).complete(ask())
    assert response.parts == [ReasoningPart("Think."), TextPart("Answer.")]


async def test_reasoning_field_of_openrouter_and_groq(
    model_server: ScriptedModelServer, endpoint: Endpoint, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(chat_server.CHAT, "reasoning_field", "reasoning")
    model_server.push(Reply([Reasoning("Hmm."), Text("Yes.")]))
    response = await collect(OpenAIChatAdapter(endpoint).stream(ask()))
    assert response.parts == [ReasoningPart("Hmm."), TextPart("Yes.")]
    model_server.push(Reply([Reasoning("Hmm."), Text("Yes.")]))
    assert (await OpenAIChatAdapter(endpoint).complete(ask())).parts == [ReasoningPart("Hmm."), TextPart("Yes.")]


# --- tool calls -------------------------------------------------------------------------------

TWO_CALLS: list[ScriptPart] = [
    Text("Reading."),
    ToolCall("read", {"path": "src/app.py"}, id="call_x1"),
    ToolCall("grep", {"pattern": "def main", "include": "*.py"}, id="call_x2"),
]


@pytest.mark.parametrize("streamed", [True, False])
async def test_two_tool_calls(model_server: ScriptedModelServer, endpoint: Endpoint, streamed: bool) -> None:
    model_server.push(Reply(TWO_CALLS, chunk_size=4))
    response = await response_of(OpenAIChatAdapter(endpoint), ask(tools=[READ_TOOL]), streamed)
    assert response.text == "Reading."
    assert response.tool_calls == [
        ToolCallPart("call_x1", "read", {"path": "src/app.py"}),
        ToolCallPart("call_x2", "grep", {"pattern": "def main", "include": "*.py"}),
    ]
    assert response.finish_reason == "tool_calls"
    assert response.malformed_tool_calls == []


async def test_tool_call_events(model_server: ScriptedModelServer, endpoint: Endpoint) -> None:
    model_server.push(Reply(TWO_CALLS, chunk_size=4))
    events = await events_of(OpenAIChatAdapter(endpoint), ask(tools=[READ_TOOL]))
    starts = [e for e in events if isinstance(e, ToolCallStart)]
    assert starts == [ToolCallStart("call_x1", "read"), ToolCallStart("call_x2", "grep")]
    first_args = "".join(e.arguments_delta for e in events if isinstance(e, ToolCallDelta) and e.id == "call_x1")
    assert first_args == '{"path": "src/app.py"}'
    ends = [e for e in events if isinstance(e, ToolCallEnd)]
    assert [(e.id, e.name, e.arguments, e.error) for e in ends] == [
        ("call_x1", "read", {"path": "src/app.py"}, None),
        ("call_x2", "grep", {"pattern": "def main", "include": "*.py"}, None),
    ]
    assert ends[1].raw == '{"pattern": "def main", "include": "*.py"}'


async def test_interleaved_tool_call_deltas(
    model_server: ScriptedModelServer, endpoint: Endpoint, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(chat_server.CHAT, "interleave_tool_calls", True)
    model_server.push(Reply(TWO_CALLS, chunk_size=3))
    events = await events_of(OpenAIChatAdapter(endpoint), ask(tools=[READ_TOOL]))
    delta_ids = [e.id for e in events if isinstance(e, ToolCallDelta)]
    assert delta_ids[:4] == ["call_x1", "call_x2", "call_x1", "call_x2"]  # really interleaved
    response = await collect(replay_events(events))
    assert response.tool_calls == [
        ToolCallPart("call_x1", "read", {"path": "src/app.py"}),
        ToolCallPart("call_x2", "grep", {"pattern": "def main", "include": "*.py"}),
    ]


@pytest.mark.parametrize("streamed", [True, False])
async def test_malformed_tool_call(model_server: ScriptedModelServer, endpoint: Endpoint, streamed: bool) -> None:
    model_server.push(Reply([ToolCall("read", '{"path": "a.py"', id="call_bad"), ToolCall("read", {"path": "b.py"})]))
    adapter = OpenAIChatAdapter(endpoint)
    if streamed:
        events = await events_of(adapter, ask(tools=[READ_TOOL]))
        bad = next(e for e in events if isinstance(e, ToolCallEnd) and e.id == "call_bad")
        assert bad.arguments is None
        assert bad.raw == '{"path": "a.py"'
        assert bad.error is not None and "not valid JSON" in bad.error
        response = await collect(replay_events(events))
    else:
        response = await adapter.complete(ask(tools=[READ_TOOL]))
    assert [(m.id, m.name, m.raw) for m in response.malformed_tool_calls] == [("call_bad", "read", '{"path": "a.py"')]
    assert response.tool_calls == [ToolCallPart("call_2", "read", {"path": "b.py"})]


# --- usage and finish -------------------------------------------------------------------------


@pytest.mark.parametrize("streamed", [True, False])
async def test_usage_normalised(model_server: ScriptedModelServer, endpoint: Endpoint, streamed: bool) -> None:
    model_server.push(Reply([Text("ok")], usage=ScriptUsage(input=100, output=20, reasoning=7, cache_read=30)))
    response = await response_of(OpenAIChatAdapter(endpoint), ask(), streamed)
    assert response.usage == Usage(input=100, output=20, reasoning=7, cache_read=30)


async def test_usage_on_the_wire_is_openai_convention(model_server: ScriptedModelServer) -> None:
    model_server.push(Reply([Text("ok")], usage=ScriptUsage(input=100, output=20, reasoning=7, cache_read=30)))
    raw = post(model_server, {"model": "gpt-4.1", "messages": [{"role": "user", "content": "hi"}]}).json()
    assert raw["usage"]["prompt_tokens"] == 130
    assert raw["usage"]["prompt_tokens_details"]["cached_tokens"] == 30
    assert raw["usage"]["completion_tokens"] == 27
    assert raw["usage"]["completion_tokens_details"]["reasoning_tokens"] == 7


@pytest.mark.parametrize(("finish", "expected"), [("length", "length"), ("content_filter", "content_filter")])
@pytest.mark.parametrize("streamed", [True, False])
async def test_finish_reasons(
    model_server: ScriptedModelServer, endpoint: Endpoint, streamed: bool, finish: Any, expected: str
) -> None:
    model_server.push(Reply([Text("cut")], finish=finish))
    response = await response_of(OpenAIChatAdapter(endpoint), ask(), streamed)
    assert response.finish_reason == expected


# --- errors -----------------------------------------------------------------------------------

ERROR_CASES = [
    (ErrorReply(401, "Incorrect API key provided: sk-***", kind="auth"), errors.AuthError, "Incorrect API key"),
    (
        ErrorReply(
            429, "Rate limit reached for gpt-4.1 on tokens per min", kind="rate_limit", headers={"retry-after": "7"}
        ),
        errors.RateLimitError,
        "Rate limit reached",
    ),
    (
        ErrorReply(429, "You exceeded your current quota, please check your plan and billing details.", kind="quota"),
        errors.QuotaExceededError,
        "exceeded your current quota",
    ),
    (ErrorReply(503, "The engine is currently overloaded", kind="overloaded"), errors.OverloadedError, "overloaded"),
    (ErrorReply(500, "The server had an error while processing", kind="server"), errors.ServerError, "server had an"),
    (
        ErrorReply(400, "This model's maximum context length is 128000 tokens.", kind="context_length"),
        errors.ContextTooLongError,
        "maximum context length",
    ),
    (
        ErrorReply(400, "Invalid value for 'temperature': must be at most 2.", kind="invalid_request"),
        errors.BadRequestError,
        "Invalid value for 'temperature'",
    ),
]


@pytest.mark.parametrize(("script", "error_class", "text"), ERROR_CASES)
@pytest.mark.parametrize("streamed", [True, False])
async def test_error_statuses(
    model_server: ScriptedModelServer,
    endpoint: Endpoint,
    streamed: bool,
    script: ErrorReply,
    error_class: type[errors.ProviderError],
    text: str,
) -> None:
    model_server.push(script)
    with pytest.raises(error_class) as caught:
        await response_of(OpenAIChatAdapter(endpoint), ask(), streamed)
    assert type(caught.value) is error_class
    assert caught.value.status == script.status
    assert text in str(caught.value)
    assert caught.value.provider == "openai"


async def test_rate_limit_retry_after(model_server: ScriptedModelServer, endpoint: Endpoint) -> None:
    model_server.push(ErrorReply(429, "slow down", kind="rate_limit", headers={"retry-after": "7"}))
    with pytest.raises(errors.RateLimitError) as caught:
        await collect(OpenAIChatAdapter(endpoint).stream(ask()))
    assert caught.value.retry_after == 7.0
    assert caught.value.retryable


async def test_wrong_key_is_auth_error(model_server: ScriptedModelServer, endpoint: Endpoint) -> None:
    endpoint.api_key = "sk-wrong-key-123456"
    with pytest.raises(errors.AuthError) as caught:
        await collect(OpenAIChatAdapter(endpoint).stream(ask()))
    assert "Incorrect API key provided" in str(caught.value)
    assert "opencode auth login openai" in str(caught.value)
    assert model_server.pending == 0


async def test_error_inside_the_stream(model_server: ScriptedModelServer, endpoint: Endpoint) -> None:
    model_server.push(ErrorReply(200, "Upstream provider is overloaded", kind="overloaded"))
    with pytest.raises(errors.OverloadedError) as caught:
        await collect(OpenAIChatAdapter(endpoint).stream(ask()))
    assert "Upstream provider is overloaded" in str(caught.value)
    model_server.push(ErrorReply(200, "Upstream provider is overloaded", kind="overloaded"))
    with pytest.raises(errors.OverloadedError):
        await OpenAIChatAdapter(endpoint).complete(ask())


@pytest.mark.parametrize("streamed", [True, False])
async def test_connection_refused(endpoints: list[Endpoint], streamed: bool) -> None:
    endpoint = Endpoint("openai", f"http://127.0.0.1:{closed_port()}/v1", "key", timeouts=Timeouts(connect=2))
    endpoints.append(endpoint)
    with pytest.raises(errors.NetworkError):
        await response_of(OpenAIChatAdapter(endpoint), ask(), streamed)


async def test_stalled_stream_times_out(model_server: ScriptedModelServer, endpoint: Endpoint) -> None:
    endpoint.timeouts = Timeouts(idle=0.3)
    model_server.push(Reply([Text("a long answer that stalls")], chunk_size=3, stall_after=2, stall_seconds=1.5))
    seen: list[StreamEvent] = []
    with pytest.raises(errors.ProviderTimeout):
        async for event in OpenAIChatAdapter(endpoint).stream(ask()):
            seen.append(event)
    assert seen == [TextDelta("a l")]


async def test_broken_stream(model_server: ScriptedModelServer, endpoint: Endpoint) -> None:
    model_server.push(Reply([Text("this reply breaks off")], chunk_size=3, break_after=3))
    with pytest.raises(errors.StreamBroken):
        await collect(OpenAIChatAdapter(endpoint).stream(ask()))


# --- the scripted server's own validation -----------------------------------------------------


def post(server: ScriptedModelServer, body: Any, key: str | None = ScriptedModelServer.api_key) -> httpx.Response:
    return httpx.post(server.base_url("openai-chat") + "/chat/completions", json=body, headers=bearer(key))


def test_server_rejects_missing_tool_result(model_server: ScriptedModelServer) -> None:
    model_server.push(Reply([Text("never sent")]))
    messages = [
        {"role": "user", "content": "read two files"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {"id": "call_1", "type": "function", "function": {"name": "read", "arguments": "{}"}},
                {"id": "call_2", "type": "function", "function": {"name": "read", "arguments": "{}"}},
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": "one"},
        {"role": "user", "content": "and?"},
    ]
    response = post(model_server, {"model": "gpt-4.1", "messages": messages})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["message"].startswith(
        "An assistant message with 'tool_calls' must be followed by tool messages responding to each 'tool_call_id'."
    )
    assert "call_2" in error["message"]
    assert error["type"] == "invalid_request_error"
    assert set(error) == {"message", "type", "param", "code"}
    assert model_server.pending == 1  # the script was not consumed


def test_server_rejects_tool_result_without_call(model_server: ScriptedModelServer) -> None:
    messages = [{"role": "user", "content": "hi"}, {"role": "tool", "tool_call_id": "call_9", "content": "x"}]
    response = post(model_server, {"model": "gpt-4.1", "messages": messages})
    assert response.status_code == 400
    assert "must be a response to a preceeding message with 'tool_calls'" in response.json()["error"]["message"]


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ({"messages": [{"role": "user", "content": "hi"}]}, "you must provide a model parameter"),
        ({"model": "gpt-4.1"}, "Missing required parameter: 'messages'."),
        ({"model": "gpt-4.1", "messages": [{"role": "robot", "content": "hi"}]}, "Invalid value: 'robot'"),
        (
            {
                "model": "gpt-4.1",
                "messages": [{"role": "user", "content": "hi"}],
                "tools": [{"type": "function", "function": {"name": "read", "parameters": "{}"}}],
            },
            "expected an object",
        ),
        (
            {
                "model": "gpt-4.1",
                "messages": [{"role": "user", "content": "hi"}],
                "stream_options": {"include_usage": True},
            },
            "only allowed when 'stream' is enabled",
        ),
    ],
)
def test_server_validates_body(model_server: ScriptedModelServer, body: dict[str, Any], needle: str) -> None:
    response = post(model_server, body)
    assert response.status_code == 400
    assert needle in response.json()["error"]["message"]


def test_server_checks_the_key(model_server: ScriptedModelServer) -> None:
    body = {"model": "gpt-4.1", "messages": [{"role": "user", "content": "hi"}]}
    wrong = post(model_server, body, key="sk-wrong-0000")
    assert wrong.status_code == 401
    assert wrong.json()["error"]["code"] == "invalid_api_key"
    missing = post(model_server, body, key=None)
    assert missing.status_code == 401
    assert "You didn't provide an API key" in missing.json()["error"]["message"]


def test_server_stream_ends_with_done_and_usage_chunk(model_server: ScriptedModelServer) -> None:
    model_server.push(Reply([Text("hey")]))
    body = {
        "model": "gpt-4.1",
        "messages": [{"role": "user", "content": "hi"}],
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    text = post(model_server, body).text
    frames = [line[len("data: ") :] for line in text.splitlines() if line.startswith("data: ")]
    assert frames[-1] == "[DONE]"
    last = json.loads(frames[-2])
    assert last["choices"] == [] and last["usage"]["total_tokens"] == 15
    assert json.loads(frames[-3])["choices"][0]["finish_reason"] == "stop"
