"""The Bedrock Converse adapter against the scripted model server, which verifies SigV4 for real."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from opencode.provider import errors
from opencode.provider.adapters.base import Endpoint, Timeouts
from opencode.provider.adapters.bedrock import BedrockAdapter
from opencode.provider.adapters.eventstream import decode_all
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
from tests.provider.support import PNG, READ_PARAMETERS, bearer, closed_port, events_of, post_json, text_of

MODEL = "anthropic.claude-sonnet-4-20250514-v1:0"  # the ':' must be encoded twice in the signature
PDF = b"%PDF-1.4 fake"


def sigv4_endpoint(server: ScriptedModelServer, **options: Any) -> Endpoint:
    keys = {"accessKeyId": server.aws_access_key_id, "secretAccessKey": server.api_key, "region": server.aws_region}
    return Endpoint(provider_id="amazon-bedrock", base_url=server.base_url("bedrock"), options={**keys, **options})


@pytest.fixture
def make(endpoints: list[Endpoint]) -> Callable[[Endpoint], BedrockAdapter]:
    """Build adapters on other endpoints; their clients are closed at the end."""

    def build(endpoint: Endpoint) -> BedrockAdapter:
        endpoints.append(endpoint)
        return BedrockAdapter(endpoint)

    return build


@pytest.fixture
def bedrock(make: Callable[[Endpoint], BedrockAdapter], model_server: ScriptedModelServer) -> BedrockAdapter:
    return make(sigv4_endpoint(model_server))


def ask(text: str = "Hi", **kw: Any) -> ModelRequest:
    return ModelRequest(model=MODEL, messages=[UserMessage([TextPart(text)])], **kw)


async def raw_post(server: ScriptedModelServer, body: Any, headers: dict[str, str]) -> httpx.Response:
    return await post_json(f"{server.url}/model/{MODEL}/converse", body, headers)


# --- text and authentication -----------------------------------------------------------------


async def test_streamed_text_with_sigv4(bedrock: BedrockAdapter, model_server: ScriptedModelServer) -> None:
    model_server.push(Reply([Text("Hello from Bedrock!")], usage=ScriptUsage(input=11, output=6)))
    events = await events_of(bedrock, ask())

    assert text_of(events) == "Hello from Bedrock!"
    assert len([e for e in events if isinstance(e, TextDelta)]) > 1
    assert events[-1] == Finish("stop", Usage(input=11, output=6))
    sent = model_server.requests[-1]
    assert sent.path == f"/model/{MODEL}/converse-stream"
    auth = sent.headers["authorization"]
    assert auth.startswith(f"AWS4-HMAC-SHA256 Credential={model_server.aws_access_key_id}/")
    assert "/us-east-1/bedrock/aws4_request, SignedHeaders=" in auth
    assert "x-amz-date" in sent.headers
    assert sent.json["messages"] == [{"role": "user", "content": [{"text": "Hi"}, {"cachePoint": {"type": "default"}}]}]


async def test_non_streamed_text_with_a_bedrock_api_key(make: Any, model_server: ScriptedModelServer) -> None:
    endpoint = Endpoint(provider_id="amazon-bedrock", base_url=model_server.url, api_key=model_server.api_key)
    model_server.push(Reply([Text("Whole answer.")], finish="length"))
    response = await make(endpoint).complete(ask())

    assert response.text == "Whole answer."
    assert response.finish_reason == "length"
    assert response.usage == Usage(input=10, output=5)
    sent = model_server.requests[-1]
    assert sent.path == f"/model/{MODEL}/converse"
    assert sent.headers["authorization"] == f"Bearer {model_server.api_key}"


async def test_session_token_is_signed(make: Any, model_server: ScriptedModelServer) -> None:
    adapter = make(sigv4_endpoint(model_server, sessionToken="session-token-xyz"))
    model_server.push(Reply([Text("ok")]))
    assert (await adapter.complete(ask())).text == "ok"
    sent = model_server.requests[-1]
    assert sent.headers["x-amz-security-token"] == "session-token-xyz"
    assert "x-amz-security-token" in sent.headers["authorization"].split("SignedHeaders=")[1]


async def test_credentials_from_the_environment(
    make: Any, model_server: ScriptedModelServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", model_server.aws_access_key_id)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", model_server.api_key)
    monkeypatch.setenv("AWS_REGION", model_server.aws_region)
    adapter = make(Endpoint(provider_id="amazon-bedrock", base_url=model_server.url))
    model_server.push(Reply([Text("from env")]))
    assert (await adapter.complete(ask())).text == "from env"
    assert model_server.requests[-1].headers["authorization"].startswith("AWS4-HMAC-SHA256 ")

    monkeypatch.setenv("AWS_BEARER_TOKEN_BEDROCK", model_server.api_key)  # an API key wins over access keys
    model_server.push(Reply([Text("bearer")]))
    assert (await adapter.complete(ask())).text == "bearer"
    assert model_server.requests[-1].headers["authorization"] == f"Bearer {model_server.api_key}"


async def test_no_credentials_fails_before_sending(make: Any, model_server: ScriptedModelServer) -> None:
    adapter = make(Endpoint(provider_id="amazon-bedrock", base_url=model_server.url))
    with pytest.raises(errors.AuthError, match="no AWS credentials"):
        await adapter.complete(ask())
    assert model_server.requests == []


async def test_model_arn_with_slashes_is_signed(make: Any, model_server: ScriptedModelServer) -> None:
    arn = "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-3-7-sonnet-20250219-v1:0"
    model_server.push(Reply([Text("arn ok")]))
    response = await make(sigv4_endpoint(model_server)).complete(ModelRequest(arn, [UserMessage([TextPart("x")])]))
    assert response.text == "arn ok"
    assert model_server.requests[-1].path == f"/model/{arn}/converse"


def test_default_base_url_uses_the_region() -> None:
    adapter = BedrockAdapter(Endpoint(provider_id="amazon-bedrock", base_url="", options={"region": "eu-west-3"}))
    assert (
        adapter._url("a.b:0", True) == "https://bedrock-runtime.eu-west-3.amazonaws.com/model/a.b%3A0/converse-stream"
    )


# --- the request on the wire -----------------------------------------------------------------


async def test_request_on_the_wire(bedrock: BedrockAdapter, model_server: ScriptedModelServer) -> None:
    model_server.push(Reply([Text("ok")]))
    request = ModelRequest(
        model=MODEL,
        system=["You are terse."],
        messages=[
            UserMessage(
                [
                    TextPart("Look:"),
                    FilePart("image/png", PNG, "shot.png"),
                    FilePart("application/pdf", PDF, "spec v2.pdf"),
                ]
            ),
            AssistantMessage(
                [
                    ReasoningPart("Two files.", signature="sig-r"),
                    TextPart("Reading."),
                    ToolCallPart("tooluse_1", "read", {"path": "a.py"}),
                    ToolCallPart("tooluse_2", "read", {"path": "b.py"}),
                ]
            ),
            ToolMessage(
                [ToolResultPart("tooluse_1", "read", "print(1)"), ToolResultPart("tooluse_2", "read", "gone", True)]
            ),
            UserMessage([TextPart("Summarise.")]),
        ],
        tools=[ToolSpec("read", "Read a file", READ_PARAMETERS)],
        tool_choice="required",
        max_tokens=1000,
        temperature=0.5,
        options={"thinking": {"type": "enabled", "budgetTokens": 2048}, "reasoningEffort": "high"},
    )
    assert text_of(await events_of(bedrock, request)) == "ok"  # accepted: signature and structure are valid

    body = model_server.requests[-1].json
    assert body["system"] == [{"text": "You are terse."}, {"cachePoint": {"type": "default"}}]
    assert body["messages"] == [
        {
            "role": "user",
            "content": [
                {"text": "Look:"},
                {"image": {"format": "png", "source": {"bytes": base64.b64encode(PNG).decode()}}},
                {"document": {"format": "pdf", "name": "spec v2", "source": {"bytes": base64.b64encode(PDF).decode()}}},
            ],
        },
        {
            "role": "assistant",
            "content": [
                {"reasoningContent": {"reasoningText": {"text": "Two files.", "signature": "sig-r"}}},
                {"text": "Reading."},
                {"toolUse": {"toolUseId": "tooluse_1", "name": "read", "input": {"path": "a.py"}}},
                {"toolUse": {"toolUseId": "tooluse_2", "name": "read", "input": {"path": "b.py"}}},
                {"cachePoint": {"type": "default"}},
            ],
        },
        {
            "role": "user",  # tool results and the next user message share one turn
            "content": [
                {"toolResult": {"toolUseId": "tooluse_1", "content": [{"text": "print(1)"}]}},
                {"toolResult": {"toolUseId": "tooluse_2", "content": [{"text": "gone"}], "status": "error"}},
                {"text": "Summarise."},
                {"cachePoint": {"type": "default"}},
            ],
        },
    ]
    assert body["toolConfig"] == {
        "tools": [
            {"toolSpec": {"name": "read", "description": "Read a file", "inputSchema": {"json": READ_PARAMETERS}}}
        ],
        "toolChoice": {"any": {}},
    }
    # Thinking: budget added to maxTokens, and temperature left out (Anthropic rejects it with thinking).
    assert body["additionalModelRequestFields"] == {"thinking": {"type": "enabled", "budget_tokens": 2048}}
    assert body["inferenceConfig"] == {"maxTokens": 3048}


async def test_sampling_options_without_thinking_or_cache(
    bedrock: BedrockAdapter, model_server: ScriptedModelServer
) -> None:
    model_server.push(Reply([Text("ok")]))
    await bedrock.complete(
        ask(
            max_tokens=200,
            temperature=0.2,
            top_p=0.8,
            tools=[ToolSpec("read", "r", READ_PARAMETERS)],
            tool_choice="auto",
            options={"promptCache": False},
        )
    )
    body = model_server.requests[-1].json
    assert body["inferenceConfig"] == {"maxTokens": 200, "temperature": 0.2, "topP": 0.8}
    assert body["toolConfig"]["toolChoice"] == {"auto": {}}
    assert "system" not in body and "additionalModelRequestFields" not in body
    assert body["messages"] == [{"role": "user", "content": [{"text": "Hi"}]}]


# --- reasoning -------------------------------------------------------------------------------


async def test_streamed_reasoning_with_signature(bedrock: BedrockAdapter, model_server: ScriptedModelServer) -> None:
    model_server.push(Reply([Reasoning("Deep thought here.", signature="sig-bedrock"), Text("42")]))
    events = await events_of(bedrock, ask())

    assert "".join(e.text for e in events if isinstance(e, ReasoningDelta)) == "Deep thought here."
    assert [e for e in events if isinstance(e, ReasoningEnd)] == [ReasoningEnd(signature="sig-bedrock")]
    assert text_of(events) == "42"


async def test_non_streamed_reasoning(bedrock: BedrockAdapter, model_server: ScriptedModelServer) -> None:
    model_server.push(Reply([Reasoning("Think.", signature="sig-x"), Text("Done.")]))
    response = await bedrock.complete(ask())
    assert response.parts == [ReasoningPart("Think.", "sig-x"), TextPart("Done.")]


# --- tool calls ------------------------------------------------------------------------------

TWO_CALLS = [
    Text("Reading both."),
    ToolCall("read", {"path": "a.py"}),
    ToolCall("grep", {"pattern": "def ", "glob": "*"}),
]


async def test_two_streamed_tool_calls(bedrock: BedrockAdapter, model_server: ScriptedModelServer) -> None:
    model_server.push(Reply(list(TWO_CALLS)))
    events = await events_of(bedrock, ask())

    assert [(e.id, e.name) for e in events if isinstance(e, ToolCallStart)] == [("call_1", "read"), ("call_2", "grep")]
    pieces = [e for e in events if isinstance(e, ToolCallDelta)]
    assert len([d for d in pieces if d.id == "call_2"]) > 1  # the input arrives as string pieces
    assert "".join(d.arguments_delta for d in pieces if d.id == "call_2") == json.dumps(
        {"pattern": "def ", "glob": "*"}
    )
    ends = [e for e in events if isinstance(e, ToolCallEnd)]
    assert [(e.id, e.arguments) for e in ends] == [
        ("call_1", {"path": "a.py"}),
        ("call_2", {"pattern": "def ", "glob": "*"}),
    ]
    assert isinstance(events[-1], Finish) and events[-1].reason == "tool_calls"


async def test_two_tool_calls_not_streamed(bedrock: BedrockAdapter, model_server: ScriptedModelServer) -> None:
    model_server.push(Reply(list(TWO_CALLS)))
    response = await bedrock.complete(ask())
    assert response.text == "Reading both."
    assert [(c.id, c.name, c.arguments) for c in response.tool_calls] == [
        ("call_1", "read", {"path": "a.py"}),
        ("call_2", "grep", {"pattern": "def ", "glob": "*"}),
    ]
    assert response.finish_reason == "tool_calls"


async def test_malformed_streamed_tool_input(bedrock: BedrockAdapter, model_server: ScriptedModelServer) -> None:
    model_server.push(Reply([ToolCall("read", '{"path": "a.py"'), ToolCall("ls", {})]))
    events = await events_of(bedrock, ask())
    bad, good = [e for e in events if isinstance(e, ToolCallEnd)]
    assert (bad.name, bad.arguments, bad.raw) == ("read", None, '{"path": "a.py"')
    assert bad.error and "not valid JSON" in bad.error
    assert good.arguments == {}


async def test_malformed_tool_input_not_streamed(bedrock: BedrockAdapter, model_server: ScriptedModelServer) -> None:
    model_server.push(Reply([ToolCall("read", "not json at all")]))
    response = await bedrock.complete(ask())
    assert response.tool_calls == []
    [bad] = response.malformed_tool_calls
    assert (bad.id, bad.name, bad.arguments) == ("call_1", "read", None)


# --- usage -----------------------------------------------------------------------------------


async def test_usage_normalisation(bedrock: BedrockAdapter, model_server: ScriptedModelServer) -> None:
    usage = ScriptUsage(input=100, output=20, cache_read=30, cache_write=5)
    model_server.push(Reply([Text("x")], usage=usage))
    raw = await raw_post(
        model_server,
        {"messages": [{"role": "user", "content": [{"text": "hi"}]}]},
        {"authorization": f"Bearer {model_server.api_key}"},
    )
    assert raw.json()["usage"] == {
        "inputTokens": 100,
        "outputTokens": 20,
        "totalTokens": 155,
        "cacheReadInputTokens": 30,
        "cacheWriteInputTokens": 5,
    }
    expected = Usage(input=100, output=20, cache_read=30, cache_write=5)
    model_server.push(Reply([Text("x")], usage=usage), Reply([Text("x")], usage=usage))
    assert (await bedrock.complete(ask())).usage == expected
    events = await events_of(bedrock, ask())
    assert isinstance(events[-1], Finish) and events[-1].usage == expected


# --- errors ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("script", "cls", "text"),
    [
        (ErrorReply(403, "User is not authorized to perform: bedrock:InvokeModel", kind="auth"), errors.AuthError,
         "not authorized"),
        (ErrorReply(503, "Bedrock is unable to process your request.", kind="overloaded"), errors.OverloadedError,
         "unable to process"),
        (ErrorReply(500, "The server encountered an internal error.", kind="server"), errors.ServerError, "internal"),
        (ErrorReply(400, "Input is too long for requested model.", kind="context_length"), errors.ContextTooLongError,
         "too long"),
        (ErrorReply(400, "messages.0.content: text must not be empty", kind="invalid_request"), errors.BadRequestError,
         "must not be empty"),
    ],
)  # fmt: skip
async def test_error_statuses(
    bedrock: BedrockAdapter, model_server: ScriptedModelServer, script: ErrorReply, cls: type, text: str
) -> None:
    model_server.push(script)
    with pytest.raises(cls) as caught:
        await events_of(bedrock, ask())
    assert type(caught.value) is cls
    assert text in caught.value.message
    assert caught.value.status == script.status


async def test_throttling_with_retry_after(bedrock: BedrockAdapter, model_server: ScriptedModelServer) -> None:
    model_server.push(
        ErrorReply(429, "Too many requests, please wait.", kind="rate_limit", headers={"retry-after": "4"})
    )
    with pytest.raises(errors.RateLimitError) as caught:
        await bedrock.complete(ask())
    assert type(caught.value) is errors.RateLimitError
    assert caught.value.retry_after == 4.0


@pytest.mark.parametrize(
    ("kind", "message", "cls"),
    [
        ("rate_limit", "Too many tokens, please wait.", errors.RateLimitError),
        ("overloaded", "The service is unavailable.", errors.OverloadedError),
        ("server", "Internal failure.", errors.ServerError),
        ("invalid_request", "A bad field.", errors.BadRequestError),
        ("context_length", "Input is too long for requested model.", errors.ContextTooLongError),
        (None, "The model stream failed.", errors.StreamBroken),
    ],
)
async def test_exception_frames_inside_the_stream(
    bedrock: BedrockAdapter, model_server: ScriptedModelServer, kind: str | None, message: str, cls: type
) -> None:
    model_server.push(ErrorReply(200, message, kind=kind))
    with pytest.raises(cls) as caught:
        await events_of(bedrock, ask())
    assert type(caught.value) is cls
    assert message in str(caught.value)


async def test_closed_port_is_a_network_error(make: Any) -> None:
    adapter = make(Endpoint(provider_id="amazon-bedrock", base_url=f"http://127.0.0.1:{closed_port()}", api_key="k"))
    with pytest.raises(errors.NetworkError):
        await events_of(adapter, ask())


async def test_stalled_stream_times_out(make: Any, model_server: ScriptedModelServer) -> None:
    endpoint = sigv4_endpoint(model_server)
    endpoint.timeouts = Timeouts(idle=0.3)
    model_server.push(Reply([Text("one two three four")], stall_after=2, stall_seconds=3))
    with pytest.raises(errors.ProviderTimeout):
        await events_of(make(endpoint), ask())


async def test_broken_stream(bedrock: BedrockAdapter, model_server: ScriptedModelServer) -> None:
    model_server.push(Reply([Text("one two three four")], break_after=3))
    with pytest.raises(errors.StreamBroken):
        await events_of(bedrock, ask())


# --- the scripted server's own checks --------------------------------------------------------


async def test_wrong_secret_fails_the_signature(make: Any, model_server: ScriptedModelServer) -> None:
    adapter = make(sigv4_endpoint(model_server, secretAccessKey="not-the-secret"))
    model_server.push(Reply([Text("never sent")]))
    with pytest.raises(errors.AuthError) as caught:
        await adapter.complete(ask())
    assert caught.value.status == 403
    assert "signature we calculated does not match" in caught.value.message
    assert model_server.pending == 1  # rejected before a reply was taken


async def test_unknown_access_key(make: Any, model_server: ScriptedModelServer) -> None:
    adapter = make(sigv4_endpoint(model_server, accessKeyId="AKIDUNKNOWN"))
    with pytest.raises(errors.AuthError, match="security token included in the request is invalid"):
        await events_of(adapter, ask())


async def test_server_auth_and_validation(model_server: ScriptedModelServer) -> None:
    bearer = {"authorization": f"Bearer {model_server.api_key}"}
    user = {"role": "user", "content": [{"text": "hi"}]}
    missing = await raw_post(model_server, {"messages": [user]}, {})
    assert (missing.status_code, missing.headers["x-amzn-errortype"].split(":")[0]) == (
        403,
        "MissingAuthenticationTokenException",
    )
    wrong = await raw_post(model_server, {"messages": [user]}, {"authorization": "Bearer nope"})
    assert wrong.status_code == 403

    cases = [
        ({}, "Member must not be null"),
        ({"messages": [{"role": "assistant", "content": [{"text": "x"}]}]}, "must start with a user message"),
        ({"messages": [user, user]}, "must alternate between user and assistant"),
        (
            {
                "messages": [
                    user,
                    {"role": "assistant", "content": [{"toolUse": {"toolUseId": "t1", "name": "f", "input": {}}}]},
                    {"role": "user", "content": [{"toolResult": {"toolUseId": "t9", "content": [{"text": "r"}]}}]},
                ],
                "toolConfig": {"tools": [{"toolSpec": {"name": "f", "inputSchema": {"json": {"type": "object"}}}}]},
            },
            "Expected toolResult blocks at messages.2.content for the following Ids: t1",
        ),
        ({"messages": [user], "inferenceConfig": {"maxTokens": 0}}, "inferenceConfig.maxTokens"),
    ]
    for body, expected in cases:
        response = await raw_post(model_server, body, bearer)
        assert response.status_code == 400, body
        assert response.headers["x-amzn-errortype"].startswith("ValidationException")
        assert expected in response.json()["message"]
    assert model_server.pending == 0


async def test_stream_body_is_aws_eventstream(model_server: ScriptedModelServer) -> None:
    model_server.push(Reply([Text("hey")]))
    response = await post_json(
        f"{model_server.url}/model/{MODEL}/converse-stream",
        {"messages": [{"role": "user", "content": [{"text": "hi"}]}]},
        bearer(model_server.api_key),
    )
    assert response.headers["content-type"] == "application/vnd.amazon.eventstream"
    frames = decode_all(response.content)
    assert [f.event_type for f in frames] == [
        "messageStart",
        "contentBlockDelta",
        "contentBlockStop",
        "messageStop",
        "metadata",
    ]
    assert json.loads(frames[1].payload) == {"contentBlockIndex": 0, "delta": {"text": "hey"}}
