"""Anthropic's Messages API (`POST /v1/messages`) for the scripted model server.

Validates a request the way the real API does (the `x-api-key` and `anthropic-version` headers,
required fields, user / assistant alternation, every `tool_use` answered by a `tool_result` in
the next message, thinking budgets, at most four cache breakpoints) and answers in Anthropic's
shapes: the Message object, or the event stream (`message_start`, `ping`, content blocks,
`message_delta`, `message_stop`), and `{"type": "error", "error": {...}}` for errors.

An `ErrorReply` whose status is below 400 stands for an error that arrives inside a 200 stream
(Anthropic sends an `error` event after `message_start`, e.g. when it is overloaded mid-way).
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

ERROR_TYPES = {
    "rate_limit": "rate_limit_error",
    "quota": "billing_error",
    "overloaded": "overloaded_error",
    "auth": "authentication_error",
    "context_length": "invalid_request_error",
    "invalid_request": "invalid_request_error",
    "server": "api_error",
    "not_found": "not_found_error",
}
STATUS_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    529: "overloaded_error",
}
TYPE_STATUS = {kind: status for status, kind in STATUS_TYPES.items()}
STOP_REASONS = {"stop": "end_turn", "length": "max_tokens", "tool_calls": "tool_use", "content_filter": "refusal"}


class InvalidRequest(Exception):
    def __init__(self, message: str, status: int = 400, kind: str = "invalid_request_error") -> None:
        super().__init__(message)
        self.message, self.status, self.kind = message, status, kind


def error_response(status: int, kind: str, message: str, headers: dict[str, str] | None = None) -> Response:
    body = {"type": "error", "error": {"type": kind, "message": message}, "request_id": _request_id()}
    return JSONResponse(body, status_code=status, headers=headers)


class MessagesHandler:
    name = "anthropic"

    def match(self, method: str, path: str) -> bool:
        return method == "POST" and path == "/v1/messages"

    async def handle(self, server: ScriptedModelServer, request: RecordedRequest) -> Response:
        try:
            body = validate(server, request)
        except InvalidRequest as exc:
            return error_response(exc.status, exc.kind, exc.message)
        script = server.next_script()
        await wait_before_headers(script)
        streamed = bool(body.get("stream"))
        if isinstance(script, ErrorReply):
            if script.status < 400 and streamed:
                return stream_error(script, body)
            return render_error(script)
        if streamed:
            return stream_reply(script, body)
        return JSONResponse(message_object(script, body), headers={"request-id": _request_id()})


HANDLERS = [MessagesHandler()]


# --- validation ---------------------------------------------------------------------------


def validate(server: ScriptedModelServer, request: RecordedRequest) -> dict[str, Any]:
    key = request.headers.get("x-api-key")
    if not key:
        raise InvalidRequest("x-api-key header is required", 401, "authentication_error")
    if key != server.api_key:
        raise InvalidRequest("invalid x-api-key", 401, "authentication_error")
    if not request.headers.get("anthropic-version"):
        raise InvalidRequest("anthropic-version: header is required")
    try:
        body = json.loads(request.body)
    except ValueError:
        raise InvalidRequest("There was an issue with your request body: it is not valid JSON") from None
    if not isinstance(body, dict):
        raise InvalidRequest("Input should be an object")
    for name in ("model", "max_tokens", "messages"):
        if name not in body:
            raise InvalidRequest(f"{name}: Field required")
    if not isinstance(body["max_tokens"], int) or body["max_tokens"] < 1:
        raise InvalidRequest("max_tokens: Input should be a valid integer greater than or equal to 1")
    validate_messages(body["messages"])
    validate_thinking(body)
    for index, tool in enumerate(body.get("tools") or []):
        schema = tool.get("input_schema")
        if not isinstance(schema, dict) or schema.get("type") != "object":
            raise InvalidRequest(f"tools.{index}.custom.input_schema.type: Input should be 'object'")
    marked = count_cache_control(body)
    if marked > 4:
        raise InvalidRequest(f"A maximum of 4 blocks with cache_control may be provided. Found {marked}.")
    return body


def validate_messages(messages: Any) -> None:
    if not isinstance(messages, list) or not messages:
        raise InvalidRequest("messages: at least one message is required")
    if not isinstance(messages[0], dict) or messages[0].get("role") != "user":
        raise InvalidRequest('messages: first message must use the "user" role')
    previous_tool_uses: list[str] = []
    for index, message in enumerate(messages):
        if not isinstance(message, dict):
            raise InvalidRequest(f"messages.{index}: Input should be an object")
        role = message.get("role")
        if role not in ("user", "assistant"):
            raise InvalidRequest(f"messages.{index}.role: Input should be 'user' or 'assistant'")
        if index and messages[index - 1].get("role") == role:
            raise InvalidRequest(
                'messages: roles must alternate between "user" and "assistant", '
                f'but found multiple "{role}" roles in a row'
            )
        blocks = _blocks(message.get("content"))
        for position, block in enumerate(blocks):
            validate_block(index, position, role, block)
        results = [b.get("tool_use_id") for b in blocks if b.get("type") == "tool_result"]
        if previous_tool_uses:
            missing = [i for i in previous_tool_uses if i not in results]
            if missing:
                raise InvalidRequest(
                    f"messages.{index}: `tool_use` ids were found without `tool_result` blocks immediately after: "
                    f"{', '.join(missing)}. Each `tool_use` block must have a corresponding `tool_result` block "
                    "in the next message."
                )
        for position, result in enumerate(results):
            if result not in previous_tool_uses:
                raise InvalidRequest(
                    f"messages.{index}.content.{position}: unexpected `tool_use_id` found in `tool_result` blocks: "
                    f"{result}. Each `tool_result` block must have a corresponding `tool_use` block in the "
                    "previous message."
                )
        previous_tool_uses = [str(b.get("id")) for b in blocks if b.get("type") == "tool_use"]
    if previous_tool_uses and messages[-1].get("role") == "assistant":
        # A trailing assistant message is a prefill; its tool calls can never be answered.
        raise InvalidRequest(
            f"messages.{len(messages) - 1}: `tool_use` ids were found without `tool_result` blocks immediately "
            f"after: {', '.join(previous_tool_uses)}. Each `tool_use` block must have a corresponding "
            "`tool_result` block in the next message."
        )


def validate_block(index: int, position: int, role: str, block: dict[str, Any]) -> None:
    where = f"messages.{index}.content.{position}"
    kind = block.get("type")
    if kind == "text" and not str(block.get("text", "")).strip():
        raise InvalidRequest("messages: text content blocks must be non-empty")
    if kind in ("thinking", "redacted_thinking", "tool_use") and role != "assistant":
        raise InvalidRequest(f"{where}: `{kind}` blocks can only be in `assistant` messages")
    if kind in ("tool_result", "image", "document") and role != "user":
        raise InvalidRequest(f"{where}: `{kind}` blocks can only be in `user` messages")
    if kind == "thinking" and not block.get("signature"):
        raise InvalidRequest(f"{where}.thinking.signature: Field required")
    if kind == "tool_use" and not all(c.isalnum() or c in "_-" for c in str(block.get("id", ""))):
        raise InvalidRequest(f"{where}.tool_use.id: String should match pattern '^[a-zA-Z0-9_-]+$'")
    if kind in ("image", "document"):
        source = block.get("source") or {}
        if source.get("type") == "base64" and not source.get("data"):
            raise InvalidRequest(f"{where}.{kind}.source.base64.data: Field required")


def validate_thinking(body: dict[str, Any]) -> None:
    thinking = body.get("thinking")
    if not isinstance(thinking, dict) or thinking.get("type") != "enabled":
        return
    budget = thinking.get("budget_tokens")
    if not isinstance(budget, int):
        raise InvalidRequest("thinking.enabled.budget_tokens: Field required")
    if budget < 1024:
        raise InvalidRequest("thinking.enabled.budget_tokens: Input should be greater than or equal to 1024")
    if body["max_tokens"] <= budget:
        raise InvalidRequest("`max_tokens` must be greater than `thinking.budget_tokens`.")
    if "temperature" in body and body["temperature"] != 1:
        raise InvalidRequest("`temperature` may only be set to 1 when thinking is enabled.")


def count_cache_control(body: dict[str, Any]) -> int:
    blocks: list[Any] = list(body.get("tools") or [])
    system = body.get("system")
    if isinstance(system, list):
        blocks.extend(system)
    for message in body["messages"]:
        blocks.extend(_blocks(message.get("content")))
    return sum(1 for block in blocks if isinstance(block, dict) and "cache_control" in block)


def _blocks(content: Any) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    return [block for block in content or [] if isinstance(block, dict)]


# --- answers ------------------------------------------------------------------------------


def render_error(script: ErrorReply) -> Response:
    kind = error_type(script)
    # A below-400 status means "inside the stream"; a non-streamed request gets the status
    # the error type stands for instead.
    status = script.status if script.status >= 400 else TYPE_STATUS.get(kind, 500)
    return error_response(status, kind, error_text(script), headers=script.headers)


def error_type(script: ErrorReply) -> str:
    if script.kind in ERROR_TYPES:
        return ERROR_TYPES[script.kind]
    return STATUS_TYPES.get(script.status, "api_error" if script.status >= 500 else "invalid_request_error")


def error_text(script: ErrorReply) -> str:
    if script.kind == "context_length" and "prompt is too long" not in script.message:
        return "prompt is too long: 210000 tokens > 200000 maximum"
    return script.message


def wire_usage(reply: Reply) -> dict[str, int]:
    # Anthropic counts cached input apart from input_tokens, and thinking inside output_tokens.
    usage = reply.usage
    return {
        "input_tokens": usage.input,
        "cache_creation_input_tokens": usage.cache_write,
        "cache_read_input_tokens": usage.cache_read,
        "output_tokens": usage.output + usage.reasoning,
    }


def message_object(reply: Reply, body: dict[str, Any]) -> dict[str, Any]:
    content: list[dict[str, Any]] = []
    ids = iter(reply.tool_call_ids())
    for part in reply.parts:
        if isinstance(part, Text):
            content.append({"type": "text", "text": part.text})
        elif isinstance(part, Reasoning):
            content.append({"type": "thinking", "thinking": part.text, "signature": part.signature})
        elif isinstance(part, ToolCall):
            # A str is sent as it is, so a test can script arguments that are not an object.
            content.append({"type": "tool_use", "id": next(ids), "name": part.name, "input": part.arguments})
    return {
        "id": _message_id(),
        "type": "message",
        "role": "assistant",
        "model": body.get("model"),
        "content": content,
        "stop_reason": STOP_REASONS[reply.finish_reason],
        "stop_sequence": None,
        "usage": wire_usage(reply),
    }


def stream_reply(reply: Reply, body: dict[str, Any]) -> Response:
    usage = wire_usage(reply)
    start_usage = {**usage, "output_tokens": 1}
    events = [_message_start(body, start_usage), sse({"type": "ping"}, "ping")]
    ids = iter(reply.tool_call_ids())
    for index, part in enumerate(reply.parts):
        if isinstance(part, Text):
            events.append(_block_start(index, {"type": "text", "text": ""}))
            for piece in chunks_of(part.text, reply.chunk_size):
                events.append(_block_delta(index, {"type": "text_delta", "text": piece}))
        elif isinstance(part, Reasoning):
            events.append(_block_start(index, {"type": "thinking", "thinking": "", "signature": ""}))
            for piece in chunks_of(part.text, reply.chunk_size):
                events.append(_block_delta(index, {"type": "thinking_delta", "thinking": piece}))
            events.append(_block_delta(index, {"type": "signature_delta", "signature": part.signature}))
        else:
            raw = part.arguments if isinstance(part.arguments, str) else json.dumps(part.arguments)
            events.append(_block_start(index, {"type": "tool_use", "id": next(ids), "name": part.name, "input": {}}))
            for piece in chunks_of(raw, reply.chunk_size):
                events.append(_block_delta(index, {"type": "input_json_delta", "partial_json": piece}))
        events.append(sse({"type": "content_block_stop", "index": index}, "content_block_stop"))
    delta = {"stop_reason": STOP_REASONS[reply.finish_reason], "stop_sequence": None}
    events.append(
        sse(
            {"type": "message_delta", "delta": delta, "usage": {"output_tokens": usage["output_tokens"]}},
            "message_delta",
        )
    )
    events.append(sse({"type": "message_stop"}, "message_stop"))
    return stream_response(reply, events, "text/event-stream", headers={"request-id": _request_id()})


def stream_error(script: ErrorReply, body: dict[str, Any]) -> Response:
    usage = {"input_tokens": 0, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0, "output_tokens": 1}
    error = {"type": "error", "error": {"type": error_type(script), "message": error_text(script)}}
    events = [_message_start(body, usage), sse({"type": "ping"}, "ping"), sse(error, "error")]
    return stream_response(Reply(), events, "text/event-stream", headers=script.headers or None)


def _message_start(body: dict[str, Any], usage: dict[str, int]) -> bytes:
    message: dict[str, Any] = {
        "id": _message_id(),
        "type": "message",
        "role": "assistant",
        "model": body.get("model"),
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": usage,
    }
    return sse({"type": "message_start", "message": message}, "message_start")


def _block_start(index: int, block: dict[str, Any]) -> bytes:
    return sse({"type": "content_block_start", "index": index, "content_block": block}, "content_block_start")


def _block_delta(index: int, delta: dict[str, Any]) -> bytes:
    return sse({"type": "content_block_delta", "index": index, "delta": delta}, "content_block_delta")


def _message_id() -> str:
    return "msg_" + uuid.uuid4().hex[:24]


def _request_id() -> str:
    return "req_" + uuid.uuid4().hex[:24]
