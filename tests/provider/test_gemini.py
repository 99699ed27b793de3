"""The Gemini adapter against the scripted model server: wire format, events, usage, errors."""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from opencode.provider import errors
from opencode.provider.adapters.base import Endpoint, Timeouts, collect
from opencode.provider.adapters.gemini import GeminiAdapter, _Reader, build_body, gemini_schema
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
from tests.provider.support import PNG, closed_port, endpoint_on, events_of, post_json, replay_events, text_of

MODEL = "gemini-2.5-flash"


def endpoint_for(server: ScriptedModelServer, **kw: Any) -> Endpoint:
    return endpoint_on(server, "gemini", "google", **kw)


@pytest.fixture
def gemini(open_endpoint: Callable[..., Endpoint]) -> GeminiAdapter:
    return GeminiAdapter(open_endpoint("gemini", "google"))


def ask(text: str = "Hi", **kw: Any) -> ModelRequest:
    return ModelRequest(model=MODEL, messages=[UserMessage([TextPart(text)])], **kw)


async def raw_post(server: ScriptedModelServer, body: dict[str, Any], **headers: str) -> httpx.Response:
    return await post_json(f"{server.base_url('gemini')}/models/{MODEL}:generateContent", body, headers)


# --- text --------------------------------------------------------------------------------


async def test_streamed_text(gemini: GeminiAdapter, model_server: ScriptedModelServer) -> None:
    model_server.push(Reply([Text("Hello from Gemini!")], usage=ScriptUsage(input=12, output=4)))
    events = await events_of(gemini, ask())

    assert text_of(events) == "Hello from Gemini!"
    assert len([e for e in events if isinstance(e, TextDelta)]) > 1  # it really streamed in pieces
    assert events[-1] == Finish("stop", Usage(input=12, output=4))
    sent = model_server.requests[-1]
    assert sent.path == f"/v1beta/models/{MODEL}:streamGenerateContent"
    assert sent.query == {"alt": "sse"}
    assert sent.headers["x-goog-api-key"] == model_server.api_key
    assert sent.json["contents"] == [{"role": "user", "parts": [{"text": "Hi"}]}]


async def test_non_streamed_text(gemini: GeminiAdapter, model_server: ScriptedModelServer) -> None:
    model_server.push(Reply([Text("Whole answer.")], finish="length"))
    response = await gemini.complete(ask())

    assert response.text == "Whole answer."
    assert response.finish_reason == "length"
    assert response.usage == Usage(input=10, output=5)
    assert model_server.requests[-1].path == f"/v1beta/models/{MODEL}:generateContent"


# --- the request on the wire ---------------------------------------------------------------

TOOL_SCHEMA = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "type": "object",
    "additionalProperties": False,
    "$defs": {"Mode": {"type": "string", "enum": ["fast", "slow"], "description": "How hard to look"}},
    "properties": {
        "path": {"type": "string", "description": "File to read", "default": "a.py", "format": "uri"},
        "limit": {"type": ["integer", "null"], "minimum": 1, "exclusiveMaximum": 1000},
        "level": {"type": "integer", "enum": [1, 2, 3]},
        "kind": {"const": "file"},
        "mode": {"$ref": "#/$defs/Mode"},
        "tags": {"type": "array", "items": {"type": "string", "additionalProperties": False}},
        "when": {"anyOf": [{"type": "string", "format": "date-time"}, {"type": "null"}]},
    },
    "required": ["path", "ghost"],
}


def test_schema_is_sanitised_to_the_supported_subset() -> None:
    assert gemini_schema(TOOL_SCHEMA) == {
        "type": "object",
        "properties": {
            "path": {"type": "string", "description": "File to read"},
            "limit": {"type": "integer", "minimum": 1, "nullable": True},
            "level": {"type": "string", "enum": ["1", "2", "3"]},
            "kind": {"type": "string", "enum": ["file"]},
            "mode": {"type": "string", "enum": ["fast", "slow"], "description": "How hard to look"},
            "tags": {"type": "array", "items": {"type": "string"}},
            "when": {"type": "string", "format": "date-time", "nullable": True},
        },
        "required": ["path"],
    }


async def test_request_on_the_wire(gemini: GeminiAdapter, model_server: ScriptedModelServer) -> None:
    model_server.push(Reply([Text("ok")]))
    request = ModelRequest(
        model=MODEL,
        system=["You are terse.", "Project rules."],
        messages=[
            UserMessage([TextPart("What is in this image?"), FilePart("image/png", PNG, "shot.png")]),
            AssistantMessage(
                [
                    ReasoningPart("Look at both files.", signature="sig-abc"),
                    TextPart("Reading."),
                    ToolCallPart("call_1", "read", {"path": "a.py"}),
                    ToolCallPart("call_2", "read", {"path": "b.py"}),
                ]
            ),
            ToolMessage([ToolResultPart("call_1", "read", "print(1)"), ToolResultPart("call_2", "read", "nope", True)]),
            UserMessage([TextPart("Now summarise.")]),
        ],
        tools=[ToolSpec("read", "Read a file", TOOL_SCHEMA), ToolSpec("now", "The time", {"type": "object"})],
        tool_choice="required",
        max_tokens=512,
        temperature=0.3,
        top_p=0.9,
        options={"thinkingConfig": {"thinkingBudget": 1024, "includeThoughts": True}, "reasoningEffort": "high"},
    )
    events = await events_of(gemini, request)
    assert text_of(events) == "ok"  # the server accepted the request: the schema was sanitised

    body = model_server.requests[-1].json
    assert body["systemInstruction"] == {"parts": [{"text": "You are terse."}, {"text": "Project rules."}]}
    assert body["contents"] == [
        {
            "role": "user",
            "parts": [
                {"text": "What is in this image?"},
                {"inlineData": {"mimeType": "image/png", "data": base64.b64encode(PNG).decode()}},
            ],
        },
        {
            "role": "model",
            "parts": [
                {"text": "Look at both files.", "thought": True},
                {"text": "Reading.", "thoughtSignature": "sig-abc"},
                {"functionCall": {"name": "read", "args": {"path": "a.py"}}},
                {"functionCall": {"name": "read", "args": {"path": "b.py"}}},
            ],
        },
        {
            "role": "user",
            "parts": [
                {"functionResponse": {"name": "read", "response": {"output": "print(1)"}}},
                {"functionResponse": {"name": "read", "response": {"error": "nope"}}},
            ],
        },
        {"role": "user", "parts": [{"text": "Now summarise."}]},
    ]
    assert body["tools"] == [
        {
            "functionDeclarations": [
                {"name": "read", "description": "Read a file", "parameters": gemini_schema(TOOL_SCHEMA)},
                {"name": "now", "description": "The time"},  # no properties: no parameters at all
            ]
        }
    ]
    assert body["toolConfig"] == {"functionCallingConfig": {"mode": "ANY"}}
    assert body["generationConfig"] == {
        "maxOutputTokens": 512,
        "temperature": 0.3,
        "topP": 0.9,
        "thinkingConfig": {"thinkingBudget": 1024, "includeThoughts": True},
    }


# --- reasoning -------------------------------------------------------------------------------


async def test_streamed_thoughts_keep_their_signature(gemini: GeminiAdapter, model_server: ScriptedModelServer) -> None:
    model_server.push(Reply([Reasoning("Let me think this over.", signature="sig-1"), Text("Answer: 4")]))
    events = await events_of(gemini, ask("2+2?"))

    reasoning = "".join(e.text for e in events if isinstance(e, ReasoningDelta))
    assert reasoning == "Let me think this over."
    ends = [e for e in events if isinstance(e, ReasoningEnd)]
    assert ends == [ReasoningEnd(signature="sig-1")]
    assert events.index(ends[0]) < events.index(next(e for e in events if isinstance(e, TextDelta)))

    response = await collect(replay_events(events))
    assert response.parts == [ReasoningPart("Let me think this over.", "sig-1"), TextPart("Answer: 4")]
    # Sent back, the signature rides on the part that followed the thoughts, where Gemini put it.
    model_server.push(Reply([Text("ok")]))
    await gemini.complete(ModelRequest(MODEL, [UserMessage([TextPart("2+2?")]), AssistantMessage(response.parts)]))
    assert model_server.requests[-1].json["contents"][1]["parts"] == [
        {"text": "Let me think this over.", "thought": True},
        {"text": "Answer: 4", "thoughtSignature": "sig-1"},
    ]


async def test_non_streamed_thoughts(gemini: GeminiAdapter, model_server: ScriptedModelServer) -> None:
    model_server.push(Reply([Reasoning("Hmm.", signature="sig-2"), Text("Done.")], usage=ScriptUsage(reasoning=9)))
    response = await gemini.complete(ask())
    assert response.parts == [ReasoningPart("Hmm.", "sig-2"), TextPart("Done.")]
    assert response.usage.reasoning == 9


async def test_signature_on_the_thoughts_alone(gemini: GeminiAdapter, model_server: ScriptedModelServer) -> None:
    model_server.push(Reply([Reasoning("Only thinking.", signature="sig-t")]))
    response = await gemini.complete(ask())
    assert response.parts == [ReasoningPart("Only thinking.", "sig-t")]
    replayed = build_body(ModelRequest(MODEL, [AssistantMessage(response.parts)]))
    assert replayed["contents"][0]["parts"] == [
        {"text": "Only thinking.", "thought": True, "thoughtSignature": "sig-t"}
    ]


def test_signature_on_later_text_goes_back_on_the_last_part() -> None:
    # Gemini may put the signature of a call-free reply on a later text chunk (or an empty final one).
    chunks = [
        {"candidates": [{"content": {"parts": [{"text": "Hello "}]}}]},
        {"candidates": [{"content": {"parts": [{"text": "world", "thoughtSignature": "sig-late"}]}}]},
        {"candidates": [{"content": {"parts": [{"text": ""}]}, "finishReason": "STOP"}]},
    ]
    reader = _Reader("google")
    events = [event for chunk in chunks for event in reader.read(chunk)] + list(reader.finish())
    assert [e for e in events if not isinstance(e, Finish)] == [
        TextDelta("Hello "),
        TextDelta("world"),
        ReasoningEnd(signature="sig-late"),
    ]
    parts = [TextPart("Hello world"), ReasoningPart("", "sig-late")]
    replayed = build_body(ModelRequest(MODEL, [AssistantMessage(parts)]))
    assert replayed["contents"][0]["parts"] == [{"text": "Hello world", "thoughtSignature": "sig-late"}]


def test_stream_without_finish_reason_is_broken() -> None:
    reader = _Reader("google")
    assert list(reader.read({"candidates": [{"content": {"parts": [{"text": "cut"}]}}]})) == [TextDelta("cut")]
    with pytest.raises(errors.StreamBroken):
        list(reader.finish())


# --- tool calls ------------------------------------------------------------------------------

TWO_CALLS = [
    Reasoning("Need two files.", signature="sig-calls"),
    Text("Reading both."),
    ToolCall("read", {"path": "a.py"}),
    ToolCall("grep", {"pattern": "def ", "glob": "*.py"}),
]


async def test_two_streamed_tool_calls(gemini: GeminiAdapter, model_server: ScriptedModelServer) -> None:
    model_server.push(Reply(list(TWO_CALLS)))
    events = await events_of(gemini, ask())

    starts = [e for e in events if isinstance(e, ToolCallStart)]
    deltas = [e for e in events if isinstance(e, ToolCallDelta)]
    ends = [e for e in events if isinstance(e, ToolCallEnd)]
    assert [(s.id, s.name) for s in starts] == [("call_1", "read"), ("call_2", "grep")]
    assert [d.id for d in deltas] == ["call_1", "call_2"]
    assert [(e.id, e.name, e.arguments, e.error) for e in ends] == [
        ("call_1", "read", {"path": "a.py"}, None),
        ("call_2", "grep", {"pattern": "def ", "glob": "*.py"}, None),
    ]
    assert text_of(events) == "Reading both."
    assert isinstance(events[-1], Finish) and events[-1].reason == "tool_calls"  # Gemini says STOP


async def test_two_tool_calls_not_streamed_and_signature_replay(
    gemini: GeminiAdapter, model_server: ScriptedModelServer
) -> None:
    model_server.push(Reply([Reasoning("Plan.", signature="sig-fc"), ToolCall("read", {"path": "x"}), ToolCall("ls")]))
    response = await gemini.complete(ask())

    assert response.finish_reason == "tool_calls"
    assert [(c.id, c.name, c.arguments) for c in response.tool_calls] == [
        ("call_1", "read", {"path": "x"}),
        ("call_2", "ls", {}),
    ]
    assert response.parts[0] == ReasoningPart("Plan.", "sig-fc")
    # Replayed, the signature goes on the first function call, as Gemini requires.
    model_server.push(Reply([Text("ok")]))
    results = ToolMessage([ToolResultPart("call_1", "read", "x"), ToolResultPart("call_2", "ls", "a b")])
    await gemini.complete(
        ModelRequest(MODEL, [UserMessage([TextPart("go")]), AssistantMessage(response.parts), results])
    )
    assert model_server.requests[-1].json["contents"][1]["parts"] == [
        {"text": "Plan.", "thought": True},
        {"functionCall": {"name": "read", "args": {"path": "x"}}, "thoughtSignature": "sig-fc"},
        {"functionCall": {"name": "ls", "args": {}}},
    ]


async def test_function_call_ids_from_the_vendor_are_kept(
    gemini: GeminiAdapter, model_server: ScriptedModelServer
) -> None:
    model_server.push(Reply([ToolCall("read", {"path": "a"}, id="fc-vendor-7")]))
    events = await events_of(gemini, ask())
    assert [e.id for e in events if isinstance(e, ToolCallEnd)] == ["fc-vendor-7"]


async def test_malformed_function_call_finishes_with_error(
    gemini: GeminiAdapter, model_server: ScriptedModelServer
) -> None:
    # Gemini sends `args` as a JSON object, never as text, so a call cannot carry malformed JSON.
    # What Gemini does instead is drop the call and finish with MALFORMED_FUNCTION_CALL.
    model_server.push(Reply([ToolCall("read", "{not json")]))
    events = await events_of(gemini, ask())
    assert not [e for e in events if isinstance(e, ToolCallEnd)]
    assert isinstance(events[-1], Finish) and events[-1].reason == "error"


# --- usage -----------------------------------------------------------------------------------


async def test_usage_normalisation(gemini: GeminiAdapter, model_server: ScriptedModelServer) -> None:
    usage = ScriptUsage(input=100, output=20, reasoning=7, cache_read=30)
    model_server.push(Reply([Text("x")], usage=usage))
    raw = await raw_post(
        model_server,
        {"contents": [{"role": "user", "parts": [{"text": "hi"}]}]},
        **{"x-goog-api-key": model_server.api_key},
    )
    meta = raw.json()["usageMetadata"]
    assert (meta["promptTokenCount"], meta["cachedContentTokenCount"]) == (130, 30)
    assert (meta["candidatesTokenCount"], meta["thoughtsTokenCount"]) == (20, 7)

    model_server.push(Reply([Text("x")], usage=usage), Reply([Text("x")], usage=usage))
    expected = Usage(input=100, output=20, reasoning=7, cache_read=30)
    assert (await gemini.complete(ask())).usage == expected
    events = await events_of(gemini, ask())
    assert isinstance(events[-1], Finish) and events[-1].usage == expected


# --- errors ----------------------------------------------------------------------------------


async def test_wrong_key_is_an_auth_error(model_server: ScriptedModelServer) -> None:
    adapter = GeminiAdapter(endpoint_for(model_server, api_key="wrong"))
    with pytest.raises(errors.AuthError) as caught:
        await adapter.complete(ask())
    assert caught.value.status == 400  # Google answers a bad key with 400 INVALID_ARGUMENT
    assert "API key not valid" in str(caught.value)
    await adapter.endpoint.http().aclose()


async def test_missing_key_is_an_auth_error(model_server: ScriptedModelServer) -> None:
    adapter = GeminiAdapter(endpoint_for(model_server, api_key=None))
    with pytest.raises(errors.AuthError) as caught:
        await events_of(adapter, ask())
    assert caught.value.status == 403
    assert "unregistered callers" in caught.value.message
    await adapter.endpoint.http().aclose()


async def test_rate_limit_with_retry_after(gemini: GeminiAdapter, model_server: ScriptedModelServer) -> None:
    message = "You exceeded your current quota, please check your plan and billing details."
    model_server.push(ErrorReply(429, message, kind="rate_limit", headers={"retry-after": "3"}))
    with pytest.raises(errors.RateLimitError) as caught:
        await events_of(gemini, ask())
    assert type(caught.value) is errors.RateLimitError  # a per-minute limit, not a spent quota
    assert caught.value.retry_after == 3.0
    assert caught.value.retryable


async def test_rate_limit_wait_from_retry_info(gemini: GeminiAdapter, model_server: ScriptedModelServer) -> None:
    model_server.push(ErrorReply(429, "Resource has been exhausted (e.g. check quota).", kind="rate_limit"))
    with pytest.raises(errors.RateLimitError) as caught:
        await gemini.complete(ask())
    assert caught.value.retry_after == 1.0  # from the body's google.rpc.RetryInfo retryDelay "1s"


async def test_daily_quota_is_not_retried(gemini: GeminiAdapter, model_server: ScriptedModelServer) -> None:
    model_server.push(ErrorReply(429, "You exceeded your current quota, check your billing.", kind="quota"))
    with pytest.raises(errors.QuotaExceededError):
        await gemini.complete(ask())


@pytest.mark.parametrize(
    ("script", "cls", "text"),
    [
        (ErrorReply(503, "The model is overloaded. Please try again later.", kind="overloaded"), errors.OverloadedError,
         "overloaded"),
        (ErrorReply(500, "An internal error has occurred.", kind="server"), errors.ServerError, "internal error"),
        (ErrorReply(400, "The input token count (1200000) exceeds the maximum number of tokens allowed (1048576).",
                    kind="context_length"), errors.ContextTooLongError, "1048576"),
        (ErrorReply(400, "Unable to submit request because it has an empty text parameter.", kind="invalid_request"),
         errors.BadRequestError, "empty text parameter"),
        (ErrorReply(403, "Permission denied on resource project x.", kind="auth"), errors.AuthError, "Permission"),
    ],
)  # fmt: skip
async def test_error_statuses(
    gemini: GeminiAdapter, model_server: ScriptedModelServer, script: ErrorReply, cls: type, text: str
) -> None:
    model_server.push(script)
    with pytest.raises(cls) as caught:
        await events_of(gemini, ask())
    assert type(caught.value) is cls
    assert text in caught.value.message
    assert caught.value.status == script.status


async def test_error_inside_the_stream(gemini: GeminiAdapter, model_server: ScriptedModelServer) -> None:
    model_server.push(ErrorReply(200, "The model is overloaded.", kind="overloaded"))
    seen: list[StreamEvent] = []
    with pytest.raises(errors.OverloadedError):
        async for event in gemini.stream(ask()):
            seen.append(event)
    assert text_of(seen) == "Partial"


async def test_closed_port_is_a_network_error() -> None:
    endpoint = Endpoint(provider_id="google", base_url=f"http://127.0.0.1:{closed_port()}/v1beta", api_key="k")
    with pytest.raises(errors.NetworkError):
        await events_of(GeminiAdapter(endpoint), ask())
    await endpoint.http().aclose()


async def test_stalled_stream_times_out(model_server: ScriptedModelServer) -> None:
    endpoint = endpoint_for(model_server, timeouts=Timeouts(idle=0.3))
    model_server.push(Reply([Text("one two three four")], stall_after=1, stall_seconds=3))
    with pytest.raises(errors.ProviderTimeout):
        await events_of(GeminiAdapter(endpoint), ask())
    await endpoint.http().aclose()


async def test_broken_stream(gemini: GeminiAdapter, model_server: ScriptedModelServer) -> None:
    model_server.push(Reply([Text("one two three four")], break_after=2))
    with pytest.raises(errors.StreamBroken):
        await events_of(gemini, ask())


# --- the scripted server's own validation ----------------------------------------------------


async def test_server_rejects_unsupported_schema_keys(model_server: ScriptedModelServer) -> None:
    parameters = {"type": "object", "properties": {"a": {"type": "string"}}, "additionalProperties": False}
    body = {
        "contents": [{"role": "user", "parts": [{"text": "hi"}]}],
        "tools": [{"functionDeclarations": [{"name": "f", "description": "d", "parameters": parameters}]}],
    }
    response = await raw_post(model_server, body, **{"x-goog-api-key": model_server.api_key})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["status"] == "INVALID_ARGUMENT"
    assert error["message"] == (
        'Invalid JSON payload received. Unknown name "additionalProperties" at '
        "'tools[0].function_declarations[0].parameters': Cannot find field."
    )
    assert model_server.pending == 0


async def test_server_key_checks(model_server: ScriptedModelServer) -> None:
    body = {"contents": [{"role": "user", "parts": [{"text": "hi"}]}]}
    missing = await raw_post(model_server, body)
    assert (missing.status_code, missing.json()["error"]["status"]) == (403, "PERMISSION_DENIED")
    wrong = await raw_post(model_server, body, **{"x-goog-api-key": "nope"})
    assert wrong.status_code == 400
    assert wrong.json()["error"]["details"][0]["reason"] == "API_KEY_INVALID"

    # The key may also come as the `key` query parameter; without alt=sse the stream is a JSON array.
    model_server.push(Reply([Text("array form")]))
    url = f"{model_server.base_url('gemini')}/models/{MODEL}:streamGenerateContent"
    streamed = await post_json(url, body, params={"key": model_server.api_key})
    chunks = streamed.json()
    assert isinstance(chunks, list) and chunks[-1]["candidates"][0]["finishReason"] == "STOP"
    assert "".join(c["candidates"][0]["content"]["parts"][0]["text"] for c in chunks) == "array form"


async def test_server_checks_function_responses(model_server: ScriptedModelServer) -> None:
    key = {"x-goog-api-key": model_server.api_key}
    orphan = {
        "contents": [
            {"role": "user", "parts": [{"text": "hi"}]},
            {"role": "user", "parts": [{"functionResponse": {"name": "read", "response": {"output": "x"}}}]},
        ]
    }
    response = await raw_post(model_server, orphan, **key)
    assert response.status_code == 400
    assert "function response turn comes immediately after a function call turn" in response.json()["error"]["message"]

    bad_role = {"contents": [{"role": "assistant", "parts": [{"text": "hi"}]}]}
    response = await raw_post(model_server, bad_role, **key)
    assert response.json()["error"]["message"] == "Please use a valid role: user, model."
    empty = await raw_post(model_server, {"contents": []}, **key)
    assert "contents is not specified" in empty.json()["error"]["message"]
