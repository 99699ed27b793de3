"""The OpenAI Responses adapter against the scripted server's /v1/responses endpoint."""

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
from opencode.provider.adapters.openai_responses import OpenAIResponsesAdapter
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
from opencode.testing.model_server.script import ScriptPart
from tests.provider.support import READ_PARAMETERS, bearer, closed_port, events_of, replay_events, response_of

PNG = b"\x89PNG\r\n\x1a\nresponses-image"
READ_TOOL = ToolSpec("read", "Read a file.", READ_PARAMETERS)


@pytest.fixture
def endpoint(open_endpoint: Callable[..., Endpoint]) -> Endpoint:
    """An OpenAI endpoint on the scripted server's Responses route."""
    return open_endpoint("openai-responses", "openai")


def ask(text: str = "hi", **kw: Any) -> ModelRequest:
    return ModelRequest(model="gpt-5", messages=[UserMessage([TextPart(text)])], **kw)


def test_protocol_is_registered() -> None:
    assert adapter_class("openai-responses") is OpenAIResponsesAdapter


# --- replies ----------------------------------------------------------------------------------


async def test_streams_text(model_server: ScriptedModelServer, endpoint: Endpoint) -> None:
    model_server.push(Reply([Text("Hello from responses")], chunk_size=6))
    events = await events_of(OpenAIResponsesAdapter(endpoint), ask())
    assert [e.text for e in events if isinstance(e, TextDelta)] == ["Hello ", "from r", "espons", "es"]
    assert events[-1] == Finish("stop", Usage(input=10, output=5))
    sent = model_server.requests[-1]
    assert sent.path == "/v1/responses"
    assert sent.json["stream"] is True
    assert (await collect(replay_events(events))).text == "Hello from responses"


async def test_complete_not_streamed(model_server: ScriptedModelServer, endpoint: Endpoint) -> None:
    model_server.push(Reply([Text("Whole.")], usage=ScriptUsage(input=3, output=2)))
    response = await OpenAIResponsesAdapter(endpoint).complete(ask())
    assert response.parts == [TextPart("Whole.")]
    assert response.finish_reason == "stop"
    assert response.usage == Usage(input=3, output=2)
    assert "stream" not in model_server.requests[-1].json


async def test_request_on_the_wire(model_server: ScriptedModelServer, endpoint: Endpoint) -> None:
    model_server.push(Reply([Text("ok")]))
    request = ModelRequest(
        model="gpt-5",
        system=["You are terse.", "Project: demo"],
        messages=[
            UserMessage([TextPart("What is this?"), FilePart("image/png", PNG, "dot.png")]),
            AssistantMessage(
                [
                    TextPart("Reading two files."),
                    ToolCallPart("call_a", "read", {"path": "a.py"}),
                    ToolCallPart("call_b", "read", {"path": "b.py"}),
                ]
            ),
            ToolMessage(
                [ToolResultPart("call_a", "read", "print(1)"), ToolResultPart("call_b", "read", "missing", True)]
            ),
        ],
        tools=[READ_TOOL],
        tool_choice="required",
        temperature=0.3,
        max_tokens=2048,
        options={"reasoningEffort": "medium", "reasoningSummary": "auto", "textVerbosity": "low"},
    )
    await collect(OpenAIResponsesAdapter(endpoint).stream(request))
    sent = model_server.requests[-1]
    assert sent.headers["authorization"] == f"Bearer {model_server.api_key}"
    body = sent.json
    assert body["instructions"] == "You are terse.\n\nProject: demo"
    assert body["input"] == [
        {
            "role": "user",
            "content": [
                {"type": "input_text", "text": "What is this?"},
                {
                    "type": "input_image",
                    "image_url": "data:image/png;base64," + base64.b64encode(PNG).decode(),
                    "detail": "auto",
                },
            ],
        },
        {"role": "assistant", "content": [{"type": "output_text", "text": "Reading two files."}]},
        {"type": "function_call", "call_id": "call_a", "name": "read", "arguments": '{"path": "a.py"}'},
        {"type": "function_call", "call_id": "call_b", "name": "read", "arguments": '{"path": "b.py"}'},
        {"type": "function_call_output", "call_id": "call_a", "output": "print(1)"},
        {"type": "function_call_output", "call_id": "call_b", "output": "missing"},
    ]
    assert body["tools"] == [
        {
            "type": "function",
            "name": "read",
            "description": "Read a file.",
            "parameters": READ_TOOL.parameters,
            "strict": False,
        }
    ]
    assert body["tool_choice"] == "required"
    assert body["temperature"] == 0.3
    assert body["max_output_tokens"] == 2048
    assert body["reasoning"] == {"effort": "medium", "summary": "auto"}
    assert body["include"] == ["reasoning.encrypted_content"]
    assert body["text"] == {"verbosity": "low"}
    assert body["store"] is False


async def test_no_reasoning_options_no_reasoning_fields(model_server: ScriptedModelServer, endpoint: Endpoint) -> None:
    model_server.push(Reply([Text("ok")]))
    await OpenAIResponsesAdapter(endpoint).complete(ask())
    body = model_server.requests[-1].json
    assert "reasoning" not in body and "include" not in body and "instructions" not in body
    assert body["input"] == [{"role": "user", "content": [{"type": "input_text", "text": "hi"}]}]


async def test_reasoning_summary_and_encrypted_content(model_server: ScriptedModelServer, endpoint: Endpoint) -> None:
    model_server.push(Reply([Reasoning("Plan the edit.", signature="enc-blob-1"), Text("Done.")], chunk_size=5))
    options = {"reasoningEffort": "high", "reasoningSummary": "detailed"}
    events = await events_of(OpenAIResponsesAdapter(endpoint), ask(options=options))
    assert "".join(e.text for e in events if isinstance(e, ReasoningDelta)) == "Plan the edit."
    assert ReasoningEnd(signature="enc-blob-1") in events
    response = await collect(replay_events(events))
    assert response.parts == [ReasoningPart("Plan the edit.", signature="enc-blob-1"), TextPart("Done.")]

    # Next turn: the encrypted reasoning goes back as an item without an id (store is false).
    model_server.push(Reply([Text("Again.")]))
    follow_up = ModelRequest(
        model="gpt-5",
        messages=[UserMessage([TextPart("hi")]), AssistantMessage(response.parts), UserMessage([TextPart("more")])],
        options=options,
    )
    await OpenAIResponsesAdapter(endpoint).complete(follow_up)
    items = model_server.requests[-1].json["input"]
    assert items[1] == {
        "type": "reasoning",
        "summary": [{"type": "summary_text", "text": "Plan the edit."}],
        "encrypted_content": "enc-blob-1",
    }
    assert items[2] == {"role": "assistant", "content": [{"type": "output_text", "text": "Done."}]}


async def test_reasoning_without_summary_request(model_server: ScriptedModelServer, endpoint: Endpoint) -> None:
    model_server.push(Reply([Reasoning("hidden", signature="enc-2"), Text("Shown.")]))
    response = await OpenAIResponsesAdapter(endpoint).complete(ask(options={"reasoningEffort": "low"}))
    assert response.parts == [ReasoningPart("", signature="enc-2"), TextPart("Shown.")]


async def test_reasoning_without_signature_is_not_sent_back(
    model_server: ScriptedModelServer, endpoint: Endpoint
) -> None:
    model_server.push(Reply([Text("ok")]))
    request = ModelRequest(
        model="gpt-5",
        messages=[
            UserMessage([TextPart("hi")]),
            AssistantMessage([ReasoningPart("another vendor's thoughts"), TextPart("hello")]),
            UserMessage([TextPart("again")]),
        ],
    )
    await OpenAIResponsesAdapter(endpoint).complete(request)
    assert [item.get("type", item.get("role")) for item in model_server.requests[-1].json["input"]] == [
        "user",
        "assistant",
        "user",
    ]


# --- tool calls -------------------------------------------------------------------------------

TWO_CALLS: list[ScriptPart] = [
    Text("Reading."),
    ToolCall("read", {"path": "src/app.py"}, id="call_r1"),
    ToolCall("grep", {"pattern": "main"}, id="call_r2"),
]


@pytest.mark.parametrize("streamed", [True, False])
async def test_two_tool_calls(model_server: ScriptedModelServer, endpoint: Endpoint, streamed: bool) -> None:
    model_server.push(Reply(TWO_CALLS, chunk_size=4))
    response = await response_of(OpenAIResponsesAdapter(endpoint), ask(tools=[READ_TOOL]), streamed)
    assert response.text == "Reading."
    assert response.tool_calls == [
        ToolCallPart("call_r1", "read", {"path": "src/app.py"}),
        ToolCallPart("call_r2", "grep", {"pattern": "main"}),
    ]
    assert response.finish_reason == "tool_calls"


async def test_tool_call_events(model_server: ScriptedModelServer, endpoint: Endpoint) -> None:
    model_server.push(Reply(TWO_CALLS, chunk_size=4))
    events = await events_of(OpenAIResponsesAdapter(endpoint), ask(tools=[READ_TOOL]))
    calls = [e for e in events if isinstance(e, ToolCallStart | ToolCallEnd)]
    assert [(type(e).__name__, e.id) for e in calls] == [
        ("ToolCallStart", "call_r1"),
        ("ToolCallEnd", "call_r1"),
        ("ToolCallStart", "call_r2"),
        ("ToolCallEnd", "call_r2"),
    ]
    deltas = "".join(e.arguments_delta for e in events if isinstance(e, ToolCallDelta) and e.id == "call_r2")
    assert deltas == '{"pattern": "main"}'
    assert calls[3] == ToolCallEnd("call_r2", "grep", {"pattern": "main"}, '{"pattern": "main"}')


@pytest.mark.parametrize("streamed", [True, False])
async def test_malformed_tool_call(model_server: ScriptedModelServer, endpoint: Endpoint, streamed: bool) -> None:
    model_server.push(Reply([ToolCall("read", '{"path": ', id="call_bad")]))
    response = await response_of(OpenAIResponsesAdapter(endpoint), ask(tools=[READ_TOOL]), streamed)
    [bad] = response.malformed_tool_calls
    assert (bad.id, bad.name, bad.arguments, bad.raw) == ("call_bad", "read", None, '{"path": ')
    assert bad.error is not None and "not valid JSON" in bad.error
    assert response.tool_calls == []


# --- usage and finish -------------------------------------------------------------------------


@pytest.mark.parametrize("streamed", [True, False])
async def test_usage_normalised(model_server: ScriptedModelServer, endpoint: Endpoint, streamed: bool) -> None:
    model_server.push(Reply([Text("ok")], usage=ScriptUsage(input=100, output=20, reasoning=7, cache_read=30)))
    response = await response_of(OpenAIResponsesAdapter(endpoint), ask(), streamed)
    assert response.usage == Usage(input=100, output=20, reasoning=7, cache_read=30)


def test_usage_on_the_wire_is_openai_convention(model_server: ScriptedModelServer) -> None:
    model_server.push(Reply([Text("ok")], usage=ScriptUsage(input=100, output=20, reasoning=7, cache_read=30)))
    usage = post(model_server, {"model": "gpt-5", "input": "hi"}).json()["usage"]
    assert usage["input_tokens"] == 130
    assert usage["input_tokens_details"]["cached_tokens"] == 30
    assert usage["output_tokens"] == 27
    assert usage["output_tokens_details"]["reasoning_tokens"] == 7


@pytest.mark.parametrize(("finish", "expected"), [("length", "length"), ("content_filter", "content_filter")])
@pytest.mark.parametrize("streamed", [True, False])
async def test_incomplete_responses(
    model_server: ScriptedModelServer, endpoint: Endpoint, streamed: bool, finish: Any, expected: str
) -> None:
    model_server.push(Reply([Text("cut off")], finish=finish))
    response = await response_of(OpenAIResponsesAdapter(endpoint), ask(), streamed)
    assert response.finish_reason == expected
    assert response.text == "cut off"


# --- errors -----------------------------------------------------------------------------------

ERROR_CASES = [
    (ErrorReply(401, "Incorrect API key provided", kind="auth"), errors.AuthError),
    (ErrorReply(429, "Rate limit reached for gpt-5", kind="rate_limit"), errors.RateLimitError),
    (ErrorReply(429, "You exceeded your current quota", kind="quota"), errors.QuotaExceededError),
    (ErrorReply(503, "The engine is currently overloaded", kind="overloaded"), errors.OverloadedError),
    (ErrorReply(500, "The server had an error", kind="server"), errors.ServerError),
    (
        ErrorReply(400, "Your input exceeds the context window of this model.", kind="context_length"),
        errors.ContextTooLongError,
    ),
    (ErrorReply(400, "Unsupported parameter: 'temperature'.", kind="invalid_request"), errors.BadRequestError),
]


@pytest.mark.parametrize(("script", "error_class"), ERROR_CASES)
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
        await response_of(OpenAIResponsesAdapter(endpoint), ask(), streamed)
    assert type(caught.value) is error_class
    assert caught.value.status == script.status
    assert script.message in str(caught.value)


async def test_rate_limit_retry_after(model_server: ScriptedModelServer, endpoint: Endpoint) -> None:
    model_server.push(ErrorReply(429, "slow down", kind="rate_limit", headers={"retry-after": "3"}))
    with pytest.raises(errors.RateLimitError) as caught:
        await collect(OpenAIResponsesAdapter(endpoint).stream(ask()))
    assert caught.value.retry_after == 3.0


@pytest.mark.parametrize(
    ("kind", "error_class"),
    [("quota", errors.QuotaExceededError), ("overloaded", errors.OverloadedError), ("server", errors.ServerError)],
)
@pytest.mark.parametrize("streamed", [True, False])
async def test_failure_inside_a_successful_response(
    model_server: ScriptedModelServer,
    endpoint: Endpoint,
    streamed: bool,
    kind: str,
    error_class: type[errors.ProviderError],
) -> None:
    model_server.push(ErrorReply(200, f"scripted {kind} failure", kind=kind))
    with pytest.raises(error_class) as caught:
        await response_of(OpenAIResponsesAdapter(endpoint), ask(), streamed)
    assert type(caught.value) is error_class
    assert f"scripted {kind} failure" in str(caught.value)
    assert caught.value.status is None


async def test_wrong_key(model_server: ScriptedModelServer, endpoint: Endpoint) -> None:
    endpoint.api_key = "sk-not-the-key"
    with pytest.raises(errors.AuthError, match="Incorrect API key provided"):
        await OpenAIResponsesAdapter(endpoint).complete(ask())


async def test_connection_refused(endpoints: list[Endpoint]) -> None:
    endpoint = Endpoint("openai", f"http://127.0.0.1:{closed_port()}/v1", "key", timeouts=Timeouts(connect=2))
    endpoints.append(endpoint)
    with pytest.raises(errors.NetworkError):
        await collect(OpenAIResponsesAdapter(endpoint).stream(ask()))


async def test_stalled_stream_times_out(model_server: ScriptedModelServer, endpoint: Endpoint) -> None:
    endpoint.timeouts = Timeouts(idle=0.3)
    model_server.push(Reply([Text("stalls midway")], chunk_size=3, stall_after=5, stall_seconds=1.5))
    seen: list[StreamEvent] = []
    with pytest.raises(errors.ProviderTimeout):
        async for event in OpenAIResponsesAdapter(endpoint).stream(ask()):
            seen.append(event)
    assert seen == [TextDelta("sta")]


async def test_broken_stream(model_server: ScriptedModelServer, endpoint: Endpoint) -> None:
    model_server.push(Reply([Text("this breaks")], chunk_size=3, break_after=6))
    with pytest.raises(errors.StreamBroken):
        await collect(OpenAIResponsesAdapter(endpoint).stream(ask()))


# --- the scripted server's own validation -----------------------------------------------------


def post(server: ScriptedModelServer, body: Any, key: str | None = ScriptedModelServer.api_key) -> httpx.Response:
    return httpx.post(server.base_url("openai-responses") + "/responses", json=body, headers=bearer(key))


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ({"input": "hi"}, "Missing required parameter: 'model'."),
        ({"model": "gpt-5"}, "Missing required parameter: 'input'."),
        (
            {"model": "gpt-5", "input": [{"type": "function_call_output", "call_id": "call_9", "output": "x"}]},
            "No tool call found for function call output with call_id call_9.",
        ),
        (
            {
                "model": "gpt-5",
                "input": [
                    {"role": "user", "content": "hi"},
                    {"type": "function_call", "call_id": "call_1", "name": "read", "arguments": "{}"},
                ],
            },
            "No tool output found for function call call_1.",
        ),
        (
            {
                "model": "gpt-5",
                "input": "hi",
                "tools": [{"type": "function", "function": {"name": "read", "parameters": {"type": "object"}}}],
            },
            "Missing required parameter: 'tools[0].name'.",
        ),
        (
            {
                "model": "gpt-5",
                "input": "hi",
                "tools": [{"type": "function", "name": "read", "parameters": {"type": "object"}}],
            },
            "'additionalProperties' is required to be supplied and to be false",
        ),
        (
            {"model": "gpt-5", "input": [{"role": "assistant", "content": [{"type": "input_text", "text": "x"}]}]},
            "Invalid value: 'input_text'.",
        ),
    ],
)
def test_server_validates_body(model_server: ScriptedModelServer, body: dict[str, Any], needle: str) -> None:
    model_server.push(Reply([Text("never sent")]))
    response = post(model_server, body)
    assert response.status_code == 400
    error = response.json()["error"]
    assert needle in error["message"]
    assert error["type"] == "invalid_request_error"
    assert model_server.pending == 1


def test_server_rejects_unpersisted_reasoning_reference(model_server: ScriptedModelServer) -> None:
    body = {
        "model": "gpt-5",
        "store": False,
        "input": [{"role": "user", "content": "hi"}, {"type": "reasoning", "id": "rs_1", "summary": []}],
    }
    response = post(model_server, body)
    assert response.status_code == 404
    assert "Items are not persisted when `store` is set to false" in response.json()["error"]["message"]


def test_server_checks_the_key(model_server: ScriptedModelServer) -> None:
    assert post(model_server, {"model": "gpt-5", "input": "hi"}, key="bad-key-000000").status_code == 401
    assert post(model_server, {"model": "gpt-5", "input": "hi"}, key=None).status_code == 401


def test_server_event_sequence(model_server: ScriptedModelServer) -> None:
    model_server.push(Reply([Text("hey")]))
    text = post(model_server, {"model": "gpt-5", "input": "hi", "stream": True}).text
    events = [json.loads(line[len("data: ") :]) for line in text.splitlines() if line.startswith("data: ")]
    assert [e["type"] for e in events] == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
        "response.output_text.delta",
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]
    assert [e["sequence_number"] for e in events] == list(range(len(events)))
    assert events[-1]["response"]["output"][0]["content"][0]["text"] == "hey"
