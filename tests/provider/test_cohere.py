"""The Cohere v2 Chat adapter against the scripted model server's `/v2/chat`."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from opencode.provider import errors
from opencode.provider.adapters.base import Endpoint, Timeouts, collect
from opencode.provider.adapters.cohere import CohereAdapter
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
from opencode.testing.model_server import ErrorReply, Reasoning, Reply, ScriptedModelServer, ScriptUsage, Text, ToolCall
from tests.provider.support import PNG, READ_PARAMETERS, bearer, closed_port, events_of, last_body, post_json

MODEL = "command-a-03-2025"
READ = ToolSpec("read", "Read a file", READ_PARAMETERS)


@pytest.fixture
def make(open_endpoint: Callable[..., Endpoint]) -> Callable[..., CohereAdapter]:
    """Build adapters on the scripted server; keyword arguments override the endpoint's fields."""

    def factory(**fields: Any) -> CohereAdapter:
        return CohereAdapter(open_endpoint("cohere", "cohere", **fields))

    return factory


@pytest.fixture
def adapter(make: Callable[..., CohereAdapter]) -> CohereAdapter:
    return make()


def ask(text: str = "hi", **kw: Any) -> ModelRequest:
    return ModelRequest(model=MODEL, messages=[UserMessage([TextPart(text)])], **kw)


def wire(server: ScriptedModelServer) -> dict[str, Any]:
    return last_body(server, "/v2/chat")


# --- text ---------------------------------------------------------------------------------


async def test_streamed_text(adapter: CohereAdapter, model_server: ScriptedModelServer) -> None:
    model_server.push(Reply([Text("Hello, world!")], usage=ScriptUsage(input=12, output=4)))

    events = await events_of(adapter, ask())

    assert events == [TextDelta("Hello,"), TextDelta(" world"), TextDelta("!"), Finish("stop", Usage(12, 4))]
    assert wire(model_server)["stream"] is True


async def test_complete_text(adapter: CohereAdapter, model_server: ScriptedModelServer) -> None:
    model_server.push(Reply([Text("Hello, world!")], finish="length"))

    response = await adapter.complete(ask())

    assert response.parts == [TextPart("Hello, world!")]
    assert response.finish_reason == "length"
    assert response.usage == Usage(10, 5)
    assert wire(model_server)["stream"] is False


# --- the request on the wire --------------------------------------------------------------


async def test_request_on_the_wire(make: Any, model_server: ScriptedModelServer) -> None:
    adapter = make(headers={"x-client-name": "opencode"})
    model_server.push(Reply([Text("ok")]))
    request = ModelRequest(
        model=MODEL,
        system=["You are terse.", "Follow the project rules."],
        messages=[
            UserMessage([TextPart("What is in these files?"), FilePart("image/png", PNG, "shot.png")]),
            AssistantMessage(
                [
                    ReasoningPart("not sent back"),
                    TextPart("I will read both."),
                    ToolCallPart("read_1", "read", {"path": "a.py"}),
                    ToolCallPart("read_2", "read", {"path": "b.py"}),
                ]
            ),
            ToolMessage(
                [
                    ToolResultPart("read_1", "read", "print(1)"),
                    ToolResultPart("read_2", "read", "no such file", is_error=True),
                ]
            ),
            AssistantMessage([TextPart("a.py prints 1.")]),
            UserMessage([TextPart("And now?")]),
        ],
        tools=[READ],
        temperature=0.2,
        top_p=0.9,
        max_tokens=1000,
        tool_choice="required",
        options={"thinking": {"type": "enabled", "tokenBudget": 2048}, "unknownKey": 1},
    )

    await adapter.complete(request)

    assert wire(model_server) == {
        "model": MODEL,
        "stream": False,
        "messages": [
            {
                "role": "system",
                "content": [
                    {"type": "text", "text": "You are terse."},
                    {"type": "text", "text": "Follow the project rules."},
                ],
            },
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "What is in these files?"},
                    {
                        "type": "image_url",
                        "image_url": {"url": "data:image/png;base64," + base64.b64encode(PNG).decode()},
                    },
                ],
            },
            {
                "role": "assistant",
                "tool_plan": "I will read both.",
                "tool_calls": [
                    {"id": "read_1", "type": "function", "function": {"name": "read", "arguments": '{"path": "a.py"}'}},
                    {"id": "read_2", "type": "function", "function": {"name": "read", "arguments": '{"path": "b.py"}'}},
                ],
            },
            {"role": "tool", "tool_call_id": "read_1", "content": "print(1)"},
            {"role": "tool", "tool_call_id": "read_2", "content": "no such file"},
            {"role": "assistant", "content": [{"type": "text", "text": "a.py prints 1."}]},
            {"role": "user", "content": [{"type": "text", "text": "And now?"}]},
        ],
        "max_tokens": 1000,
        "temperature": 0.2,
        "p": 0.9,
        "tools": [
            {
                "type": "function",
                "function": {"name": "read", "description": "Read a file", "parameters": READ.parameters},
            }
        ],
        "tool_choice": "REQUIRED",
        "thinking": {"type": "enabled", "token_budget": 2048},
    }
    headers = model_server.requests[-1].headers
    assert headers["authorization"] == f"Bearer {model_server.api_key}"
    assert headers["content-type"] == "application/json"
    assert headers["x-client-name"] == "opencode"


async def test_tool_choice_and_max_tokens_option(adapter: CohereAdapter, model_server: ScriptedModelServer) -> None:
    model_server.push(Reply([Text("a")]), Reply([Text("b")]))

    await adapter.complete(ask(tools=[READ], tool_choice="auto", options={"maxOutputTokens": 512}))
    body = wire(model_server)
    assert "tool_choice" not in body  # auto is Cohere's default and has no value
    assert body["max_tokens"] == 512

    await adapter.complete(ask(tools=[READ], tool_choice="none"))
    body = wire(model_server)
    assert body["tool_choice"] == "NONE"
    assert "max_tokens" not in body


# --- reasoning and tool calls in the reply ------------------------------------------------


async def test_streamed_thinking(adapter: CohereAdapter, model_server: ScriptedModelServer) -> None:
    model_server.push(Reply([Reasoning("Two and two."), Text("4")]))

    events = await events_of(adapter, ask())

    assert events == [
        ReasoningDelta("Two an"),
        ReasoningDelta("d two."),
        ReasoningEnd(),
        TextDelta("4"),
        Finish("stop", Usage(10, 5)),
    ]


async def test_thinking_collected_and_complete(adapter: CohereAdapter, model_server: ScriptedModelServer) -> None:
    script = Reply([Reasoning("Two and two."), Text("4")])
    model_server.push(script, script)

    streamed = await collect(adapter.stream(ask()))
    completed = await adapter.complete(ask())

    assert streamed.parts == [ReasoningPart("Two and two."), TextPart("4")]
    assert completed.parts == [ReasoningPart("Two and two."), TextPart("4")]


def two_calls() -> Reply:
    return Reply(
        [
            Text("I will read both."),
            ToolCall("read", {"path": "a.py"}, id="read_a"),
            ToolCall("read", {"path": "src/b.py"}, id="read_b"),
        ]
    )


async def test_two_tool_calls_streamed(adapter: CohereAdapter, model_server: ScriptedModelServer) -> None:
    model_server.push(two_calls())

    events = await events_of(adapter, ask(tools=[READ]))

    # The tool plan arrives as text.
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == "I will read both."
    assert [e for e in events if isinstance(e, ToolCallStart)] == [
        ToolCallStart("read_a", "read"),
        ToolCallStart("read_b", "read"),
    ]
    ends = [e for e in events if isinstance(e, ToolCallEnd)]
    assert [(e.id, e.name, e.arguments, e.error) for e in ends] == [
        ("read_a", "read", {"path": "a.py"}, None),
        ("read_b", "read", {"path": "src/b.py"}, None),
    ]
    deltas = "".join(e.arguments_delta for e in events if isinstance(e, ToolCallDelta) and e.id == "read_b")
    assert json.loads(deltas) == {"path": "src/b.py"}
    assert events[-1] == Finish("tool_calls", Usage(10, 5))


async def test_two_tool_calls_complete(adapter: CohereAdapter, model_server: ScriptedModelServer) -> None:
    model_server.push(two_calls())

    response = await adapter.complete(ask(tools=[READ]))

    assert response.text == "I will read both."
    assert response.tool_calls == [
        ToolCallPart("read_a", "read", {"path": "a.py"}),
        ToolCallPart("read_b", "read", {"path": "src/b.py"}),
    ]
    assert response.finish_reason == "tool_calls"


async def test_null_arguments_mean_no_arguments(adapter: CohereAdapter, model_server: ScriptedModelServer) -> None:
    model_server.push(Reply([ToolCall("list", "null")]))

    response = await adapter.complete(ask())

    assert response.tool_calls == [ToolCallPart("call_1", "list", {})]


async def test_malformed_tool_call(adapter: CohereAdapter, model_server: ScriptedModelServer) -> None:
    broken = '{"path": "a.py"'
    model_server.push(Reply([ToolCall("read", broken)]), Reply([ToolCall("read", broken)]))

    events = await events_of(adapter, ask(tools=[READ]))
    response = await adapter.complete(ask(tools=[READ]))

    end = next(e for e in events if isinstance(e, ToolCallEnd))
    assert end.arguments is None
    assert end.raw == broken
    assert end.error is not None and "not valid JSON" in end.error
    assert response.tool_calls == []
    assert [(m.name, m.raw, m.arguments) for m in response.malformed_tool_calls] == [("read", broken, None)]


# --- usage --------------------------------------------------------------------------------


async def test_usage_normalisation(adapter: CohereAdapter, model_server: ScriptedModelServer) -> None:
    usage = ScriptUsage(input=100, output=20, cache_read=30)
    model_server.push(Reply([Text("a")], usage=usage), Reply([Text("b")], usage=usage), Reply([Text("c")], usage=usage))

    # Cohere's convention on the wire: tokens.input_tokens includes the cached tokens.
    raw = await post(model_server, {"model": MODEL, "messages": [{"role": "user", "content": "hi"}]})
    assert raw.json()["usage"]["tokens"] == {"input_tokens": 130, "output_tokens": 20}
    assert raw.json()["usage"]["cached_tokens"] == 30

    expected = Usage(input=100, output=20, cache_read=30)
    assert (await adapter.complete(ask())).usage == expected
    assert (await events_of(adapter, ask()))[-1] == Finish("stop", expected)


# --- errors -------------------------------------------------------------------------------


async def test_wrong_key_is_auth_error(make: Any) -> None:
    adapter = make(api_key="wrong")

    with pytest.raises(errors.AuthError) as caught:
        await events_of(adapter, ask())

    assert caught.value.status == 401
    assert caught.value.message == "invalid api token"


async def test_rate_limit_with_retry_after(adapter: CohereAdapter, model_server: ScriptedModelServer) -> None:
    model_server.push(ErrorReply(429, kind="rate_limit", headers={"retry-after": "3"}))

    with pytest.raises(errors.RateLimitError) as caught:
        await events_of(adapter, ask())

    assert type(caught.value) is errors.RateLimitError
    assert caught.value.retry_after == 3.0
    assert "20 API calls / minute" in caught.value.message


async def test_monthly_trial_limit_is_quota(adapter: CohereAdapter, model_server: ScriptedModelServer) -> None:
    model_server.push(ErrorReply(429, kind="quota"))

    with pytest.raises(errors.QuotaExceededError) as caught:
        await adapter.complete(ask())

    assert not caught.value.retryable
    assert "1000 API calls / month" in caught.value.message


async def test_overloaded(adapter: CohereAdapter, model_server: ScriptedModelServer) -> None:
    model_server.push(ErrorReply(503, kind="overloaded"))

    with pytest.raises(errors.OverloadedError) as caught:
        await events_of(adapter, ask())

    assert caught.value.status == 503


async def test_server_error(adapter: CohereAdapter, model_server: ScriptedModelServer) -> None:
    model_server.push(ErrorReply(500, kind="server"))

    with pytest.raises(errors.ServerError) as caught:
        await adapter.complete(ask())

    assert caught.value.message == "internal server error, this has been reported to our developers"


async def test_error_inside_the_stream(adapter: CohereAdapter, model_server: ScriptedModelServer) -> None:
    model_server.push(ErrorReply(200, "generation failed", kind="server"))

    with pytest.raises(errors.ServerError) as caught:
        await events_of(adapter, ask())

    assert caught.value.message == "generation failed"


async def test_context_too_long(adapter: CohereAdapter, model_server: ScriptedModelServer) -> None:
    model_server.push(ErrorReply(400, kind="context_length"))

    with pytest.raises(errors.ContextTooLongError) as caught:
        await events_of(adapter, ask())

    assert caught.value.message.startswith("too many tokens")


async def test_bad_request_keeps_the_vendor_message(adapter: CohereAdapter, model_server: ScriptedModelServer) -> None:
    message = "invalid request: temperature must be between 0 and 1"
    model_server.push(ErrorReply(400, message, kind="invalid_request"))

    with pytest.raises(errors.BadRequestError) as caught:
        await adapter.complete(ask())

    assert str(caught.value) == f"cohere: request rejected (400): {message}"


async def test_closed_port_is_network_error(make: Any) -> None:
    adapter = make(base_url=f"http://127.0.0.1:{closed_port()}/v2")

    with pytest.raises(errors.NetworkError):
        await events_of(adapter, ask())
    with pytest.raises(errors.NetworkError):
        await adapter.complete(ask())


async def test_stalled_stream_times_out(make: Any, model_server: ScriptedModelServer) -> None:
    adapter = make(timeouts=Timeouts(idle=0.3))
    model_server.push(Reply([Text("a fairly long answer")], stall_after=3, stall_seconds=2.0))

    seen: list[StreamEvent] = []
    with pytest.raises(errors.ProviderTimeout):
        async for event in adapter.stream(ask()):
            seen.append(event)

    assert seen == [TextDelta("a fair")]


async def test_broken_stream(adapter: CohereAdapter, model_server: ScriptedModelServer) -> None:
    model_server.push(Reply([Text("a fairly long answer")], break_after=4))

    seen: list[StreamEvent] = []
    with pytest.raises(errors.StreamBroken):
        async for event in adapter.stream(ask()):
            seen.append(event)

    assert seen == [TextDelta("a fair"), TextDelta("ly lon")]


# --- the scripted server's own validation -------------------------------------------------


async def post(server: ScriptedModelServer, body: dict[str, Any], key: str | None = None) -> httpx.Response:
    return await post_json(server.base_url("cohere") + "/chat", body, bearer(key or server.api_key))


async def test_server_rejects_wrong_key(model_server: ScriptedModelServer) -> None:
    model_server.push(Reply([Text("unused")]))

    response = await post(model_server, {"model": MODEL, "messages": [{"role": "user", "content": "hi"}]}, key="nope")

    assert response.status_code == 401
    assert response.json()["message"] == "invalid api token"
    assert set(response.json()) == {"id", "message"}
    assert model_server.pending == 1


async def test_server_requires_model_and_messages(model_server: ScriptedModelServer) -> None:
    no_model = await post(model_server, {"messages": [{"role": "user", "content": "hi"}]})
    no_messages = await post(model_server, {"model": MODEL})

    assert no_model.status_code == 400 and "model" in no_model.json()["message"]
    assert no_messages.status_code == 400 and "messages" in no_messages.json()["message"]


async def test_server_checks_tool_call_ids(model_server: ScriptedModelServer) -> None:
    call = {"id": "read_1", "type": "function", "function": {"name": "read", "arguments": "{}"}}
    stray = [{"role": "user", "content": "hi"}, {"role": "tool", "tool_call_id": "read_9", "content": "x"}]
    unanswered = [{"role": "user", "content": "hi"}, {"role": "assistant", "tool_calls": [call]}]

    stray_response = await post(model_server, {"model": MODEL, "messages": stray})
    unanswered_response = await post(model_server, {"model": MODEL, "messages": unanswered})

    assert stray_response.status_code == 400
    assert "'read_9' does not match any tool call" in stray_response.json()["message"]
    assert unanswered_response.status_code == 400
    assert "read_1 have no tool message" in unanswered_response.json()["message"]
