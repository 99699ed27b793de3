"""Cohere's v2 Chat API (`POST /v2/chat`) for the scripted model server.

Validates a request as Cohere does (Bearer key, `model` and `messages`, every tool message
answering a call of the assistant message before it and every call answered, tool schemas) and
answers in Cohere's shapes: the chat response object, or server-sent events (`message-start`,
`content-*`, `tool-plan-delta`, `tool-call-*`, `message-end`), and `{"id": ..., "message": ...}`
for errors.

When a reply makes tool calls, its text goes out as the `tool_plan`, as Cohere does. An
`ErrorReply` whose status is below 400 stands for a generation that fails mid-stream: Cohere
ends the stream with `finish_reason: "ERROR"` and the message in `delta.error`.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from starlette.responses import JSONResponse, Response

from opencode.testing.model_server.script import ErrorReply, Reasoning, Reply, Text, ToolCall, chunks_of
from opencode.testing.model_server.server import (
    RecordedRequest,
    ScriptedModelServer,
    sse,
    stream_response,
    wait_before_headers,
)

FINISH_REASONS = {"stop": "COMPLETE", "length": "MAX_TOKENS", "tool_calls": "TOOL_CALL", "content_filter": "COMPLETE"}
KIND_STATUS = {
    "rate_limit": 429,
    "quota": 429,
    "overloaded": 503,
    "auth": 401,
    "context_length": 400,
    "invalid_request": 400,
    "server": 500,
    "not_found": 404,
}
DEFAULT_MESSAGES = {
    "rate_limit": (
        "You are using a Trial key, which is limited to 20 API calls / minute. You can continue to use the "
        "Trial key for free or upgrade to a Production key with higher rate limits at "
        "'https://dashboard.cohere.com/api-keys'."
    ),
    "quota": (
        "You are using a Trial key, which is limited to 1000 API calls / month. You can continue to use the "
        "Trial key for free or upgrade to a Production key with higher rate limits at "
        "'https://dashboard.cohere.com/api-keys'."
    ),
    "context_length": (
        "too many tokens: size limit exceeded by 1841 tokens. Try using shorter or fewer inputs, or setting "
        "prompt_truncation='AUTO'."
    ),
    "auth": "invalid api token",
    "overloaded": "service unavailable: the model is overloaded, please try again later",
    "server": "internal server error, this has been reported to our developers",
}


class InvalidRequest(Exception):
    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message, self.status = message, status


def error_response(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    return JSONResponse({"id": str(uuid.uuid4()), "message": message}, status_code=status, headers=headers)


class ChatHandler:
    name = "cohere"

    def match(self, method: str, path: str) -> bool:
        return method == "POST" and path == "/v2/chat"

    async def handle(self, server: ScriptedModelServer, request: RecordedRequest) -> Response:
        try:
            body = validate(server, request)
        except InvalidRequest as exc:
            return error_response(exc.status, exc.message)
        script = server.next_script()
        await wait_before_headers(script)
        streamed = bool(body.get("stream"))
        if isinstance(script, ErrorReply):
            if script.status < 400 and streamed:
                return stream_error(script)
            status = script.status if script.status >= 400 else KIND_STATUS.get(script.kind or "", 500)
            return error_response(status, error_text(script), headers=script.headers)
        if streamed:
            return stream_reply(script)
        return JSONResponse(chat_response(script))


HANDLERS = [ChatHandler()]


# --- validation ---------------------------------------------------------------------------


def validate(server: ScriptedModelServer, request: RecordedRequest) -> dict[str, Any]:
    auth = request.headers.get("authorization", "")
    if not auth:
        raise InvalidRequest("no api key supplied", 401)
    scheme, _, token = auth.partition(" ")
    if scheme.lower() != "bearer" or token.strip() != server.api_key:
        raise InvalidRequest("invalid api token", 401)
    try:
        body = json.loads(request.body)
    except ValueError:
        raise InvalidRequest("invalid request: the body is not valid JSON") from None
    if not isinstance(body, dict):
        raise InvalidRequest("invalid request: the body must be a JSON object")
    if not isinstance(body.get("model"), str) or not body["model"]:
        raise InvalidRequest("invalid request: model must be specified")
    validate_messages(body.get("messages"))
    for index, tool in enumerate(body.get("tools") or []):
        function = tool.get("function") if isinstance(tool, dict) else None
        if not isinstance(tool, dict) or tool.get("type") != "function" or not isinstance(function, dict):
            raise InvalidRequest(f"invalid request: tools[{index}] must be of type 'function'")
        if not function.get("name"):
            raise InvalidRequest(f"invalid request: tools[{index}].function.name must be specified")
        parameters = function.get("parameters")
        if parameters is not None and (not isinstance(parameters, dict) or parameters.get("type") != "object"):
            raise InvalidRequest(f"invalid request: tools[{index}].function.parameters must be a JSON object schema")
    choice = body.get("tool_choice")
    if choice is not None and choice not in ("REQUIRED", "NONE"):
        raise InvalidRequest(f"invalid request: tool_choice must be one of REQUIRED, NONE; received {choice!r}")
    if choice == "REQUIRED" and not body.get("tools"):
        raise InvalidRequest("invalid request: tool_choice REQUIRED requires tools to be specified")
    return body


def validate_messages(messages: Any) -> None:
    if not isinstance(messages, list) or not messages:
        raise InvalidRequest("invalid request: messages must contain at least one message")
    pending: list[str] = []  # calls of the last assistant message not yet answered
    for index, message in enumerate(messages):
        role = message.get("role") if isinstance(message, dict) else None
        if role not in ("system", "user", "assistant", "tool"):
            raise InvalidRequest(f"invalid request: messages[{index}] has an unknown role {role!r}")
        if role == "tool":
            call_id = message.get("tool_call_id")
            if call_id not in pending:
                raise InvalidRequest(
                    f"invalid request: messages[{index}]: tool_call_id {call_id!r} does not match any tool call "
                    "of the previous assistant message"
                )
            pending.remove(call_id)
            continue
        if pending:
            raise InvalidRequest(
                f"invalid request: messages[{index}]: tool calls {', '.join(pending)} have no tool message answering "
                "them"
            )
        if role == "assistant":
            calls = message.get("tool_calls") or []
            pending = [str(call.get("id")) for call in calls if isinstance(call, dict)]
            if not calls and not message.get("content"):
                raise InvalidRequest(f"invalid request: messages[{index}]: assistant message must have content")
        elif not message.get("content"):
            raise InvalidRequest(f"invalid request: messages[{index}]: content must be specified")
    if pending:
        raise InvalidRequest(f"invalid request: tool calls {', '.join(pending)} have no tool message answering them")


# --- answers ------------------------------------------------------------------------------


def error_text(script: ErrorReply) -> str:
    default = script.message == "scripted error"
    if script.kind == "context_length" and "too many tokens" not in script.message:
        return DEFAULT_MESSAGES["context_length"]
    if default and script.kind in DEFAULT_MESSAGES:
        return DEFAULT_MESSAGES[script.kind]
    return script.message


def wire_usage(reply: Reply) -> dict[str, Any]:
    # `tokens.input_tokens` includes the cached tokens; thinking is counted in output_tokens.
    usage = reply.usage
    output = usage.output + usage.reasoning
    return {
        "billed_units": {"input_tokens": usage.input + usage.cache_write, "output_tokens": output},
        "tokens": {"input_tokens": usage.input + usage.cache_read + usage.cache_write, "output_tokens": output},
        "cached_tokens": usage.cache_read,
    }


def chat_response(reply: Reply) -> dict[str, Any]:
    has_calls = any(isinstance(p, ToolCall) for p in reply.parts)
    content: list[dict[str, Any]] = []
    plan: list[str] = []
    calls: list[dict[str, Any]] = []
    ids = iter(reply.tool_call_ids())
    for part in reply.parts:
        if isinstance(part, Reasoning):
            content.append({"type": "thinking", "thinking": part.text})
        elif isinstance(part, Text):
            if has_calls:
                plan.append(part.text)
            else:
                content.append({"type": "text", "text": part.text})
        else:
            calls.append(_tool_call(next(ids), part))
    message: dict[str, Any] = {"role": "assistant"}
    if content:
        message["content"] = content
    if has_calls:
        message["tool_plan"] = "".join(plan)
        message["tool_calls"] = calls
    return {
        "id": str(uuid.uuid4()),
        "finish_reason": FINISH_REASONS[reply.finish_reason],
        "message": message,
        "usage": wire_usage(reply),
    }


def stream_reply(reply: Reply) -> Response:
    has_calls = any(isinstance(p, ToolCall) for p in reply.parts)
    events = [_message_start()]
    ids = iter(reply.tool_call_ids())
    content_index = call_index = 0
    for part in reply.parts:
        if isinstance(part, Text) and has_calls:
            for piece in chunks_of(part.text, reply.chunk_size):
                events.append(_event("tool-plan-delta", delta={"message": {"tool_plan": piece}}))
        elif isinstance(part, Text | Reasoning):
            key = "thinking" if isinstance(part, Reasoning) else "text"
            start = {"message": {"content": {"type": key, key: ""}}}
            events.append(_event("content-start", index=content_index, delta=start))
            for piece in chunks_of(part.text, reply.chunk_size):
                delta: dict[str, Any] = {"message": {"content": {key: piece}}}
                events.append(_event("content-delta", index=content_index, delta=delta))
            events.append(_event("content-end", index=content_index))
            content_index += 1
        else:
            call = _tool_call(next(ids), part)
            raw = call["function"]["arguments"]
            call["function"]["arguments"] = ""
            events.append(_event("tool-call-start", index=call_index, delta={"message": {"tool_calls": call}}))
            for piece in chunks_of(raw, reply.chunk_size):
                events.append(
                    _event(
                        "tool-call-delta",
                        index=call_index,
                        delta={"message": {"tool_calls": {"function": {"arguments": piece}}}},
                    )
                )
            events.append(_event("tool-call-end", index=call_index))
            call_index += 1
    end = {"finish_reason": FINISH_REASONS[reply.finish_reason], "usage": wire_usage(reply)}
    events.append(_event("message-end", delta=end))
    return stream_response(reply, events, "text/event-stream")


def stream_error(script: ErrorReply) -> Response:
    end = {"finish_reason": "ERROR", "error": error_text(script)}
    events = [_message_start(), _event("message-end", delta=end)]
    return stream_response(Reply(), events, "text/event-stream", headers=script.headers or None)


def _tool_call(call_id: str, part: ToolCall) -> dict[str, Any]:
    # A str is sent as it is, so a test can script arguments that are not valid JSON.
    raw = part.arguments if isinstance(part.arguments, str) else json.dumps(part.arguments)
    return {"id": call_id, "type": "function", "function": {"name": part.name, "arguments": raw}}


def _message_start() -> bytes:
    message = {"role": "assistant", "content": [], "tool_plan": "", "tool_calls": [], "citations": []}
    return sse({"id": str(uuid.uuid4()), "type": "message-start", "delta": {"message": message}}, "message-start")


def _event(kind: str, **fields: Any) -> bytes:
    return sse({"type": kind, **fields}, kind)
