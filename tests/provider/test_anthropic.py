"""The Anthropic Messages adapter against the scripted model server's `/v1/messages`."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from opencode.provider import errors
from opencode.provider.adapters.anthropic import AnthropicAdapter
from opencode.provider.adapters.base import Endpoint, Timeouts, collect
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
from tests.provider.support import PNG, READ_PARAMETERS, closed_port, events_of, last_body, post_json

MODEL = "claude-sonnet-4-5"
READ = ToolSpec("read", "Read a file", READ_PARAMETERS)


@pytest.fixture
def make(open_endpoint: Callable[..., Endpoint]) -> Callable[..., AnthropicAdapter]:
    """Build adapters on the scripted server; keyword arguments override the endpoint's fields."""

    def factory(**fields: Any) -> AnthropicAdapter:
        return AnthropicAdapter(open_endpoint("anthropic", "anthropic", **fields))

    return factory


@pytest.fixture
def adapter(make: Callable[..., AnthropicAdapter]) -> AnthropicAdapter:
    return make()


def ask(text: str = "hi", **kw: Any) -> ModelRequest:
    return ModelRequest(model=MODEL, messages=[UserMessage([TextPart(text)])], **kw)


def wire(server: ScriptedModelServer) -> dict[str, Any]:
    return last_body(server, "/v1/messages")


# --- text ---------------------------------------------------------------------------------


async def test_streamed_text(adapter: AnthropicAdapter, model_server: ScriptedModelServer) -> None:
    model_server.push(Reply([Text("Hello, world!")], usage=ScriptUsage(input=12, output=4)))

    events = await events_of(adapter, ask())

    assert events == [TextDelta("Hello,"), TextDelta(" world"), TextDelta("!"), Finish("stop", Usage(12, 4))]
    body = wire(model_server)
    assert body["stream"] is True


async def test_complete_text(adapter: AnthropicAdapter, model_server: ScriptedModelServer) -> None:
    model_server.push(Reply([Text("Hello, world!")], finish="length"))

    response = await adapter.complete(ask())

    assert response.parts == [TextPart("Hello, world!")]
    assert response.finish_reason == "length"
    assert response.usage == Usage(10, 5)
    assert "stream" not in wire(model_server)


# --- the request on the wire --------------------------------------------------------------


async def test_request_on_the_wire(make: Any, model_server: ScriptedModelServer) -> None:
    adapter = make(headers={"anthropic-beta": "fine-grained-tool-streaming-2025-05-14"})
    model_server.push(Reply([Text("ok")]))
    request = ModelRequest(
        model=MODEL,
        system=["You are terse.", "Follow the project rules."],
        messages=[
            UserMessage([TextPart("What is in these files?"), FilePart("image/png", PNG, "shot.png")]),
            AssistantMessage(
                [
                    ReasoningPart("Two files to read.", signature="sig-1"),
                    TextPart("Reading them."),
                    ToolCallPart("call_1", "read", {"path": "a.py"}),
                    ToolCallPart("call_2", "read", {"path": "b.py"}),
                ]
            ),
            ToolMessage(
                [
                    ToolResultPart("call_1", "read", "print(1)"),
                    ToolResultPart("call_2", "read", "no such file", is_error=True),
                ]
            ),
            UserMessage([TextPart("And now?")]),
        ],
        tools=[READ],
        temperature=0.2,
        top_p=0.9,
        tool_choice="required",
    )

    await adapter.complete(request)

    ephemeral = {"type": "ephemeral"}
    assert wire(model_server) == {
        "model": MODEL,
        "max_tokens": 4096,
        "system": [
            {"type": "text", "text": "You are terse."},
            {"type": "text", "text": "Follow the project rules.", "cache_control": ephemeral},
        ],
        "messages": [
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "What is in these files?"},
                    {
                        "type": "image",
                        "source": {"type": "base64", "media_type": "image/png", "data": base64.b64encode(PNG).decode()},
                    },
                ],
            },
            {
                "role": "assistant",
                "content": [
                    {"type": "thinking", "thinking": "Two files to read.", "signature": "sig-1"},
                    {"type": "text", "text": "Reading them."},
                    {"type": "tool_use", "id": "call_1", "name": "read", "input": {"path": "a.py"}},
                    {
                        "type": "tool_use",
                        "id": "call_2",
                        "name": "read",
                        "input": {"path": "b.py"},
                        "cache_control": ephemeral,
                    },
                ],
            },
            {
                # The tool results and the next user text share one user message, results first.
                "role": "user",
                "content": [
                    {"type": "tool_result", "tool_use_id": "call_1", "content": "print(1)"},
                    {"type": "tool_result", "tool_use_id": "call_2", "content": "no such file", "is_error": True},
                    {"type": "text", "text": "And now?", "cache_control": ephemeral},
                ],
            },
        ],
        "temperature": 0.2,
        "top_p": 0.9,
        "tools": [{"name": "read", "description": "Read a file", "input_schema": READ.parameters}],
        "tool_choice": {"type": "any"},
    }
    headers = model_server.requests[-1].headers
    assert headers["x-api-key"] == model_server.api_key
    assert headers["anthropic-version"] == "2023-06-01"
    assert headers["content-type"] == "application/json"
    assert headers["anthropic-beta"] == "fine-grained-tool-streaming-2025-05-14"


async def test_pdf_goes_as_a_document(adapter: AnthropicAdapter, model_server: ScriptedModelServer) -> None:
    model_server.push(Reply([Text("ok")]))
    pdf = b"%PDF-1.7 fake"
    request = ModelRequest(MODEL, [UserMessage([TextPart("Summarise"), FilePart("application/pdf", pdf, "a.pdf")])])

    await adapter.complete(request)

    block = wire(model_server)["messages"][0]["content"][1]
    assert block == {
        "type": "document",
        "source": {"type": "base64", "media_type": "application/pdf", "data": base64.b64encode(pdf).decode()},
        "cache_control": {"type": "ephemeral"},
    }


async def test_prompt_cache_off(adapter: AnthropicAdapter, model_server: ScriptedModelServer) -> None:
    model_server.push(Reply([Text("ok")]))

    await adapter.complete(ask(system=["You are terse."], options={"promptCache": False}))

    body = wire(model_server)
    assert "cache_control" not in json.dumps(body)
    assert body["system"] == [{"type": "text", "text": "You are terse."}]


async def test_cache_breakpoints_skip_thinking_blocks(
    adapter: AnthropicAdapter, model_server: ScriptedModelServer
) -> None:
    model_server.push(Reply([Text("ok")]))
    request = ModelRequest(
        MODEL,
        [
            UserMessage([TextPart("one")]),
            AssistantMessage([TextPart("two"), ReasoningPart("thought", signature="s")]),
            UserMessage([TextPart("three")]),
        ],
    )

    await adapter.complete(request)

    messages = wire(model_server)["messages"]
    assert "cache_control" not in messages[0]["content"][0]
    assert messages[1]["content"][0] == {"type": "text", "text": "two", "cache_control": {"type": "ephemeral"}}
    assert "cache_control" not in messages[1]["content"][1]
    assert messages[2]["content"][0]["cache_control"] == {"type": "ephemeral"}


async def test_max_tokens(adapter: AnthropicAdapter, model_server: ScriptedModelServer) -> None:
    model_server.push(Reply([Text("a")]), Reply([Text("b")]), Reply([Text("c")]))

    await adapter.complete(ask())
    assert wire(model_server)["max_tokens"] == 4096
    await adapter.complete(ask(options={"maxOutputTokens": 2000}))
    assert wire(model_server)["max_tokens"] == 2000
    await adapter.complete(ask(max_tokens=123, options={"maxOutputTokens": 2000}))
    assert wire(model_server)["max_tokens"] == 123


async def test_thinking_budget(adapter: AnthropicAdapter, model_server: ScriptedModelServer) -> None:
    model_server.push(Reply([Text("a")]), Reply([Text("b")]))
    thinking = {"type": "enabled", "budgetTokens": 2048}

    await adapter.complete(ask(temperature=0.5, top_p=0.5, options={"thinking": thinking}))
    body = wire(model_server)
    assert body["thinking"] == {"type": "enabled", "budget_tokens": 2048}
    assert "temperature" not in body
    assert "top_p" not in body
    assert body["max_tokens"] == 4096

    # max_tokens must exceed the budget: the answer's room goes on top of it.
    await adapter.complete(ask(max_tokens=1000, options={"thinking": thinking}))
    assert wire(model_server)["max_tokens"] == 3048


async def test_consecutive_same_role_messages_are_merged(
    adapter: AnthropicAdapter, model_server: ScriptedModelServer
) -> None:
    model_server.push(Reply([Text("ok")]))
    request = ModelRequest(
        MODEL,
        [
            UserMessage([TextPart("first")]),
            UserMessage([TextPart("second"), TextPart("  ")]),
            AssistantMessage([TextPart("one")]),
            AssistantMessage([TextPart("two")]),
            UserMessage([TextPart("third")]),
        ],
        options={"promptCache": False},
    )

    await adapter.complete(request)

    assert wire(model_server)["messages"] == [
        {"role": "user", "content": [{"type": "text", "text": "first"}, {"type": "text", "text": "second"}]},
        {"role": "assistant", "content": [{"type": "text", "text": "one"}, {"type": "text", "text": "two"}]},
        {"role": "user", "content": [{"type": "text", "text": "third"}]},
    ]


async def test_reasoning_sent_back(adapter: AnthropicAdapter, model_server: ScriptedModelServer) -> None:
    model_server.push(Reply([Text("ok")]))
    request = ModelRequest(
        MODEL,
        [
            UserMessage([TextPart("q")]),
            AssistantMessage(
                [
                    ReasoningPart("", redacted="opaque-bytes"),
                    ReasoningPart("unsigned, from another model"),
                    ReasoningPart("signed", signature="sig-9"),
                    ToolCallPart("call:7|x", "read", {"path": "a"}),
                ]
            ),
            ToolMessage([ToolResultPart("call:7|x", "read", "done")]),
        ],
        options={"promptCache": False},
    )

    await adapter.complete(request)

    messages = wire(model_server)["messages"]
    assert messages[1]["content"] == [
        {"type": "redacted_thinking", "data": "opaque-bytes"},
        {"type": "thinking", "thinking": "signed", "signature": "sig-9"},
        {"type": "tool_use", "id": "call_7_x", "name": "read", "input": {"path": "a"}},
    ]
    assert messages[2]["content"] == [{"type": "tool_result", "tool_use_id": "call_7_x", "content": "done"}]


# --- reasoning and tool calls in the reply ------------------------------------------------


async def test_streamed_thinking(adapter: AnthropicAdapter, model_server: ScriptedModelServer) -> None:
    model_server.push(Reply([Reasoning("Think it over.", signature="sig-abc"), Text("Done.")]))

    events = await events_of(adapter, ask())

    assert events == [
        ReasoningDelta("Think "),
        ReasoningDelta("it ove"),
        ReasoningDelta("r."),
        ReasoningEnd(signature="sig-abc"),
        TextDelta("Done."),
        Finish("stop", Usage(10, 5)),
    ]


async def test_thinking_collected_and_complete(adapter: AnthropicAdapter, model_server: ScriptedModelServer) -> None:
    script = Reply([Reasoning("Think it over.", signature="sig-abc"), Text("Done.")])
    model_server.push(script, script)

    streamed = await collect(adapter.stream(ask()))
    completed = await adapter.complete(ask())

    expected = [ReasoningPart("Think it over.", signature="sig-abc"), TextPart("Done.")]
    assert streamed.parts == expected
    assert completed.parts == expected


def two_calls() -> Reply:
    return Reply(
        [
            Text("Reading both."),
            ToolCall("read", {"path": "a.py"}),
            ToolCall("read", {"path": "src/b.py"}, id="toolu_b"),
        ]
    )


async def test_two_tool_calls_streamed(adapter: AnthropicAdapter, model_server: ScriptedModelServer) -> None:
    model_server.push(two_calls())

    events = await events_of(adapter, ask(tools=[READ]))

    starts = [e for e in events if isinstance(e, ToolCallStart)]
    ends = [e for e in events if isinstance(e, ToolCallEnd)]
    assert starts == [ToolCallStart("call_1", "read"), ToolCallStart("toolu_b", "read")]
    assert [(e.id, e.name, e.arguments, e.error) for e in ends] == [
        ("call_1", "read", {"path": "a.py"}, None),
        ("toolu_b", "read", {"path": "src/b.py"}, None),
    ]
    deltas = "".join(e.arguments_delta for e in events if isinstance(e, ToolCallDelta) and e.id == "toolu_b")
    assert json.loads(deltas) == {"path": "src/b.py"}
    assert len([e for e in events if isinstance(e, ToolCallDelta)]) > 2
    assert events[-1] == Finish("tool_calls", Usage(10, 5))


async def test_two_tool_calls_complete(adapter: AnthropicAdapter, model_server: ScriptedModelServer) -> None:
    model_server.push(two_calls())

    response = await adapter.complete(ask(tools=[READ]))

    assert response.text == "Reading both."
    assert response.tool_calls == [
        ToolCallPart("call_1", "read", {"path": "a.py"}),
        ToolCallPart("toolu_b", "read", {"path": "src/b.py"}),
    ]
    assert response.finish_reason == "tool_calls"


async def test_malformed_tool_call(adapter: AnthropicAdapter, model_server: ScriptedModelServer) -> None:
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


async def test_usage_normalisation(adapter: AnthropicAdapter, model_server: ScriptedModelServer) -> None:
    usage = ScriptUsage(input=100, output=20, cache_read=30, cache_write=5)
    model_server.push(Reply([Text("a")], usage=usage), Reply([Text("b")], usage=usage), Reply([Text("c")], usage=usage))

    # Anthropic's own convention on the wire: cached input counted apart from input_tokens.
    raw = await post(model_server, {"model": MODEL, "max_tokens": 10, "messages": [{"role": "user", "content": "hi"}]})
    assert raw.json()["usage"] == {
        "input_tokens": 100,
        "cache_creation_input_tokens": 5,
        "cache_read_input_tokens": 30,
        "output_tokens": 20,
    }

    expected = Usage(input=100, output=20, cache_read=30, cache_write=5)
    assert (await adapter.complete(ask())).usage == expected
    events = await events_of(adapter, ask())
    assert events[-1] == Finish("stop", expected)


# --- errors -------------------------------------------------------------------------------


async def test_wrong_key_is_auth_error(make: Any) -> None:
    adapter = make(api_key="wrong")

    with pytest.raises(errors.AuthError) as caught:
        await events_of(adapter, ask())

    assert caught.value.status == 401
    assert caught.value.message == "invalid x-api-key"


async def test_rate_limit_with_retry_after(adapter: AnthropicAdapter, model_server: ScriptedModelServer) -> None:
    model_server.push(
        ErrorReply(
            429,
            "Number of request tokens has exceeded your per-minute rate limit",
            kind="rate_limit",
            headers={"retry-after": "7"},
        )
    )

    with pytest.raises(errors.RateLimitError) as caught:
        await events_of(adapter, ask())

    assert type(caught.value) is errors.RateLimitError
    assert caught.value.retry_after == 7.0
    assert caught.value.retryable
    assert "per-minute rate limit" in caught.value.message


async def test_overloaded_status(adapter: AnthropicAdapter, model_server: ScriptedModelServer) -> None:
    model_server.push(ErrorReply(529, "Overloaded", kind="overloaded"), ErrorReply(529, "Overloaded"))

    with pytest.raises(errors.OverloadedError):
        await events_of(adapter, ask())
    with pytest.raises(errors.OverloadedError) as caught:
        await adapter.complete(ask())
    assert caught.value.status == 529


async def test_overloaded_inside_the_stream(adapter: AnthropicAdapter, model_server: ScriptedModelServer) -> None:
    model_server.push(ErrorReply(200, "Overloaded", kind="overloaded"))

    with pytest.raises(errors.OverloadedError) as caught:
        await events_of(adapter, ask())

    assert caught.value.message == "Overloaded"
    assert caught.value.retryable


@pytest.mark.parametrize(
    ("kind", "cls"),
    [
        ("rate_limit", errors.RateLimitError),
        ("server", errors.ServerError),
        ("invalid_request", errors.BadRequestError),
    ],
)
async def test_other_errors_inside_the_stream(
    adapter: AnthropicAdapter, model_server: ScriptedModelServer, kind: str, cls: type[errors.ProviderError]
) -> None:
    model_server.push(ErrorReply(200, "went wrong", kind=kind))

    with pytest.raises(cls):
        await events_of(adapter, ask())


async def test_server_error(adapter: AnthropicAdapter, model_server: ScriptedModelServer) -> None:
    model_server.push(ErrorReply(500, "Internal server error", kind="server"))

    with pytest.raises(errors.ServerError) as caught:
        await adapter.complete(ask())

    assert caught.value.status == 500
    assert caught.value.message == "Internal server error"


async def test_context_too_long(adapter: AnthropicAdapter, model_server: ScriptedModelServer) -> None:
    model_server.push(ErrorReply(400, kind="context_length"))

    with pytest.raises(errors.ContextTooLongError) as caught:
        await events_of(adapter, ask())

    assert caught.value.message == "prompt is too long: 210000 tokens > 200000 maximum"
    assert not caught.value.retryable


async def test_bad_request_keeps_the_vendor_message(
    adapter: AnthropicAdapter, model_server: ScriptedModelServer
) -> None:
    message = "messages.0.content.1.image.source.base64.media_type: Input should be 'image/jpeg'"
    model_server.push(ErrorReply(400, message, kind="invalid_request"))

    with pytest.raises(errors.BadRequestError) as caught:
        await adapter.complete(ask())

    assert caught.value.message == message
    assert str(caught.value) == f"anthropic: request rejected (400): {message}"


async def test_low_credit(adapter: AnthropicAdapter, model_server: ScriptedModelServer) -> None:
    low = (
        "Your credit balance is too low to access the Anthropic API. Please go to Plans & Billing to purchase credits."
    )
    model_server.push(ErrorReply(400, low, kind="invalid_request"), ErrorReply(402, low, kind="quota"))

    with pytest.raises(errors.BadRequestError) as as_400:
        await adapter.complete(ask())
    with pytest.raises(errors.QuotaExceededError) as as_billing:
        await adapter.complete(ask())

    assert as_400.value.message == low and not as_400.value.retryable
    assert as_billing.value.status == 402 and not as_billing.value.retryable


async def test_closed_port_is_network_error(make: Any) -> None:
    adapter = make(base_url=f"http://127.0.0.1:{closed_port()}/v1")

    with pytest.raises(errors.NetworkError):
        await events_of(adapter, ask())
    with pytest.raises(errors.NetworkError):
        await adapter.complete(ask())


async def test_stalled_stream_times_out(make: Any, model_server: ScriptedModelServer) -> None:
    adapter = make(timeouts=Timeouts(idle=0.3))
    model_server.push(Reply([Text("a fairly long answer")], stall_after=4, stall_seconds=2.0))

    seen: list[StreamEvent] = []
    with pytest.raises(errors.ProviderTimeout):
        async for event in adapter.stream(ask()):
            seen.append(event)

    assert seen == [TextDelta("a fair")]


async def test_broken_stream(adapter: AnthropicAdapter, model_server: ScriptedModelServer) -> None:
    model_server.push(Reply([Text("a fairly long answer")], break_after=5))

    seen: list[StreamEvent] = []
    with pytest.raises(errors.StreamBroken):
        async for event in adapter.stream(ask()):
            seen.append(event)

    assert seen == [TextDelta("a fair"), TextDelta("ly lon")]


# --- the scripted server's own validation -------------------------------------------------


async def post(server: ScriptedModelServer, body: dict[str, Any], **headers: str) -> httpx.Response:
    sent = {"x-api-key": server.api_key, "anthropic-version": "2023-06-01", **headers}
    return await post_json(server.base_url("anthropic") + "/messages", body, sent)


def user(text: str) -> dict[str, Any]:
    return {"role": "user", "content": text}


def check(response: httpx.Response, status: int, kind: str, message: str) -> None:
    assert response.status_code == status
    data = response.json()
    assert data["type"] == "error"
    assert data["error"]["type"] == kind
    assert message in data["error"]["message"]


async def test_server_requires_max_tokens(model_server: ScriptedModelServer) -> None:
    model_server.push(Reply([Text("unused")]))

    response = await post(model_server, {"model": MODEL, "messages": [user("hi")]})

    check(response, 400, "invalid_request_error", "max_tokens: Field required")
    assert model_server.pending == 1  # a rejected request consumes no script


async def test_server_requires_anthropic_version(model_server: ScriptedModelServer) -> None:
    response = await post_json(
        model_server.base_url("anthropic") + "/messages",
        {"model": MODEL, "max_tokens": 10, "messages": [user("hi")]},
        {"x-api-key": model_server.api_key},
    )

    check(response, 400, "invalid_request_error", "anthropic-version")


async def test_server_rejects_wrong_key(model_server: ScriptedModelServer) -> None:
    response = await post(
        model_server, {"model": MODEL, "max_tokens": 10, "messages": [user("hi")]}, **{"x-api-key": "nope"}
    )

    assert response.status_code == 401
    assert response.json()["error"] == {"type": "authentication_error", "message": "invalid x-api-key"}


async def test_server_requires_alternating_roles(model_server: ScriptedModelServer) -> None:
    response = await post(model_server, {"model": MODEL, "max_tokens": 10, "messages": [user("a"), user("b")]})

    check(response, 400, "invalid_request_error", "roles must alternate")


async def test_server_requires_a_user_message_first(model_server: ScriptedModelServer) -> None:
    body = {"model": MODEL, "max_tokens": 10, "messages": [{"role": "assistant", "content": "hi"}]}

    check(await post(model_server, body), 400, "invalid_request_error", 'first message must use the "user" role')


async def test_server_requires_tool_results(model_server: ScriptedModelServer) -> None:
    call = {"type": "tool_use", "id": "toolu_1", "name": "read", "input": {}}
    body = {
        "model": MODEL,
        "max_tokens": 10,
        "messages": [user("read it"), {"role": "assistant", "content": [call]}, user("well?")],
    }

    check(
        await post(model_server, body),
        400,
        "invalid_request_error",
        "`tool_use` ids were found without `tool_result` blocks immediately after: toolu_1",
    )


async def test_server_rejects_unmatched_tool_result(model_server: ScriptedModelServer) -> None:
    result = {"type": "tool_result", "tool_use_id": "toolu_9", "content": "x"}
    body = {"model": MODEL, "max_tokens": 10, "messages": [{"role": "user", "content": [result]}]}

    check(await post(model_server, body), 400, "invalid_request_error", "unexpected `tool_use_id`")


async def test_server_checks_thinking_budget(model_server: ScriptedModelServer) -> None:
    small = {
        "model": MODEL,
        "max_tokens": 4000,
        "messages": [user("hi")],
        "thinking": {"type": "enabled", "budget_tokens": 512},
    }
    over = {**small, "thinking": {"type": "enabled", "budget_tokens": 4000}}

    check(await post(model_server, small), 400, "invalid_request_error", "greater than or equal to 1024")
    check(await post(model_server, over), 400, "invalid_request_error", "`max_tokens` must be greater than")


async def test_server_limits_cache_breakpoints(model_server: ScriptedModelServer) -> None:
    marked = {"type": "text", "text": "x", "cache_control": {"type": "ephemeral"}}
    body = {"model": MODEL, "max_tokens": 10, "messages": [{"role": "user", "content": [marked] * 5}]}

    check(await post(model_server, body), 400, "invalid_request_error", "A maximum of 4 blocks with cache_control")
