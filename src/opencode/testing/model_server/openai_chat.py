"""OpenAI Chat Completions (and Azure OpenAI's deployment route) for the scripted model server.

Validates requests as the real services do and answers in their shapes:
- `POST /v1/chat/completions`: `Authorization: Bearer <key>`; a request for a model the server
  lists as local (`server.local_models`) needs no key, as ollama and LM Studio need none.
- `POST /openai/deployments/{deployment}/chat/completions`: the `api-version` query and the
  `api-key` header; Azure's own 401 and 429 bodies. Its streams begin with Azure's
  `prompt_filter_results` chunk, which has no choices.

Replies: `Reasoning` parts stream as `reasoning_content` (DeepSeek's and llama.cpp's field;
OpenAI does not stream reasoning), text and tool-call arguments in `chunk_size` pieces, several
tool calls one after another by index (or round-robin when `interleave_tool_calls` is set on the
handler, as some compatible servers do), usage in OpenAI's convention (cached input inside
`prompt_tokens`, reasoning inside `completion_tokens`) on the last chunk when the request asked
for `stream_options.include_usage`, then `data: [DONE]`.

An `ErrorReply` with status 200 is an error reported inside a successful response: a stream
whose chunk is `{"error": {...}}` (as OpenRouter sends) or, not streamed, a 200 body with only
an error.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from opencode.testing.model_server.script import ErrorReply, Reasoning, Reply, Text, ToolCall, chunks_of
from opencode.testing.model_server.server import (
    RecordedRequest,
    ScriptedModelServer,
    sse,
    stream_response,
    wait_before_headers,
)

if TYPE_CHECKING:
    from starlette.responses import Response

ROLES = ("system", "developer", "user", "assistant", "tool", "function")
TOOL_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")

# ErrorReply.kind -> (OpenAI error type, code)
ERROR_KINDS: dict[str, tuple[str, str | None]] = {
    "rate_limit": ("requests", "rate_limit_exceeded"),
    "quota": ("insufficient_quota", "insufficient_quota"),
    "overloaded": ("server_error", "server_is_overloaded"),
    "auth": ("invalid_request_error", "invalid_api_key"),
    "context_length": ("invalid_request_error", "context_length_exceeded"),
    "invalid_request": ("invalid_request_error", None),
    "server": ("server_error", None),
    "not_found": ("invalid_request_error", "model_not_found"),
}


class RequestInvalid(Exception):
    """A validation failure, answered as an OpenAI error body."""

    def __init__(self, message: str, param: str | None = None, code: str | None = None, status: int = 400) -> None:
        super().__init__(message)
        self.message, self.param, self.code, self.status = message, param, code, status


def openai_error(
    message: str, type_: str = "invalid_request_error", param: str | None = None, code: str | None = None
) -> dict[str, Any]:
    return {"error": {"message": message, "type": type_, "param": param, "code": code}}


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    from starlette.responses import JSONResponse

    return JSONResponse(body, status_code=status, headers=headers)


def scripted_error_body(script: ErrorReply) -> dict[str, Any]:
    if script.kind in ERROR_KINDS:
        type_, code = ERROR_KINDS[script.kind]
    elif script.status == 429:
        type_, code = ERROR_KINDS["rate_limit"]
    elif script.status >= 500:
        type_, code = ERROR_KINDS["server"]
    else:
        type_, code = ERROR_KINDS["invalid_request"]
    param = "messages" if script.kind == "context_length" else None
    return openai_error(script.message, type_, param, code)


def parse_body(request: RecordedRequest) -> dict[str, Any]:
    try:
        body = json.loads(request.body)
    except ValueError:
        raise RequestInvalid(
            "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your "
            "HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON.)"
        ) from None
    if not isinstance(body, dict):
        raise RequestInvalid(f"Invalid type for request body: expected an object, but got {type(body).__name__}.")
    return body


def check_bearer(server: ScriptedModelServer, request: RecordedRequest) -> None:
    auth = request.headers.get("authorization", "")
    if not auth:
        raise RequestInvalid(
            "You didn't provide an API key. You need to provide your API key in an Authorization header using "
            "Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
            status=401,
        )
    key = auth[7:] if auth.lower().startswith("bearer ") else auth
    if key != server.api_key:
        shown = key[:3] + "*" * 4 + key[-4:] if len(key) > 8 else key
        raise RequestInvalid(
            f"Incorrect API key provided: {shown}. You can find your API key at "
            "https://platform.openai.com/account/api-keys.",
            code="invalid_api_key",
            status=401,
        )


def validate_chat(body: dict[str, Any], *, model_required: bool = True) -> None:
    if model_required and not body.get("model"):
        raise RequestInvalid("you must provide a model parameter")
    messages = body.get("messages")
    if messages is None:
        raise RequestInvalid("Missing required parameter: 'messages'.", "messages", "missing_required_parameter")
    if not isinstance(messages, list) or not messages:
        raise RequestInvalid("Invalid 'messages': empty array. Expected an array with minimum length 1.", "messages")
    validate_messages(messages)
    validate_tools(body.get("tools"))
    if body.get("stream_options") is not None and not body.get("stream"):
        raise RequestInvalid("The 'stream_options' parameter is only allowed when 'stream' is enabled.")
    if body.get("tool_choice") is not None and not body.get("tools"):
        raise RequestInvalid(
            "Invalid value for 'tool_choice': 'tool_choice' is only allowed when 'tools' are specified."
        )


def validate_messages(messages: list[Any]) -> None:
    pending: dict[str, int] = {}  # unanswered tool_call ids -> index of their assistant message
    for index, message in enumerate(messages):
        if not isinstance(message, dict):
            raise RequestInvalid(f"Invalid type for 'messages[{index}]': expected an object.", f"messages[{index}]")
        role = message.get("role")
        if role not in ROLES:
            raise RequestInvalid(
                f"Invalid value: '{role}'. Supported values are: 'system', 'assistant', 'user', 'function', 'tool', "
                "and 'developer'.",
                f"messages[{index}].role",
                "invalid_value",
            )
        if role == "tool":
            call_id = message.get("tool_call_id")
            if not pending:
                raise RequestInvalid(
                    "Invalid parameter: messages with role 'tool' must be a response to a preceeding message with "
                    "'tool_calls'.",
                    f"messages.[{index}].role",
                )
            if call_id not in pending:
                raise RequestInvalid(
                    f"Invalid parameter: 'tool_call_id' of '{call_id}' not found in 'tool_calls' of previous message.",
                    f"messages.[{index}].tool_call_id",
                )
            del pending[call_id]
            if not isinstance(message.get("content"), str | list):
                raise RequestInvalid(
                    f"Missing required parameter: 'messages[{index}].content'.", f"messages[{index}].content"
                )
            continue
        if pending:
            first = min(pending.values())
            raise RequestInvalid(
                "An assistant message with 'tool_calls' must be followed by tool messages responding to each "
                f"'tool_call_id'. The following tool_call_ids did not have response messages: {', '.join(pending)}",
                f"messages.[{first}].role",
            )
        validate_content(index, role, message)
        if role == "assistant":
            for call_index, call in enumerate(message.get("tool_calls") or []):
                where = f"messages[{index}].tool_calls[{call_index}]"
                function = call.get("function") if isinstance(call, dict) else None
                if not isinstance(function, dict) or not call.get("id"):
                    raise RequestInvalid(f"Missing required parameter: '{where}.id'.", f"{where}.id")
                if not isinstance(function.get("arguments"), str):
                    raise RequestInvalid(
                        f"Invalid type for '{where}.function.arguments': expected a string.",
                        f"{where}.function.arguments",
                    )
                pending[str(call["id"])] = index
    if pending:
        first = min(pending.values())
        raise RequestInvalid(
            "An assistant message with 'tool_calls' must be followed by tool messages responding to each "
            f"'tool_call_id'. The following tool_call_ids did not have response messages: {', '.join(pending)}",
            f"messages.[{first}].role",
        )


def validate_content(index: int, role: str, message: dict[str, Any]) -> None:
    content = message.get("content")
    if content is None:
        if role == "assistant" and message.get("tool_calls"):
            return
        raise RequestInvalid(f"Missing required parameter: 'messages[{index}].content'.", f"messages[{index}].content")
    if isinstance(content, str):
        return
    if not isinstance(content, list):
        raise RequestInvalid(f"Invalid type for 'messages[{index}].content'.", f"messages[{index}].content")
    allowed = {"text", "image_url", "input_audio", "file"} if role == "user" else {"text", "refusal"}
    for part_index, part in enumerate(content):
        where = f"messages[{index}].content[{part_index}]"
        kind = part.get("type") if isinstance(part, dict) else None
        if kind not in allowed:
            raise RequestInvalid(f"Invalid value: '{kind}'. Supported values are: {sorted(allowed)}.", f"{where}.type")
        if kind == "image_url" and not isinstance((part.get("image_url") or {}).get("url"), str):
            raise RequestInvalid(f"Missing required parameter: '{where}.image_url.url'.", f"{where}.image_url.url")


def validate_tools(tools: Any) -> None:
    if tools is None:
        return
    if not isinstance(tools, list):
        raise RequestInvalid("Invalid type for 'tools': expected an array.", "tools")
    for index, tool in enumerate(tools):
        where = f"tools[{index}]"
        if not isinstance(tool, dict) or tool.get("type") != "function":
            raise RequestInvalid(f"Missing required parameter: '{where}.type'.", f"{where}.type")
        function = tool.get("function")
        if not isinstance(function, dict):
            raise RequestInvalid(f"Missing required parameter: '{where}.function'.", f"{where}.function")
        name = function.get("name")
        if not isinstance(name, str) or not TOOL_NAME.match(name):
            raise RequestInvalid(
                f"Invalid '{where}.function.name': string does not match pattern. Expected a string that matches "
                "the pattern '^[a-zA-Z0-9_-]+$'.",
                f"{where}.function.name",
                "invalid_value",
            )
        parameters = function.get("parameters")
        if parameters is not None and not isinstance(parameters, dict):
            raise RequestInvalid(
                f"Invalid type for '{where}.function.parameters': expected an object, but got "
                f"{type(parameters).__name__} instead.",
                f"{where}.function.parameters",
                "invalid_type",
            )


# --- rendering replies ------------------------------------------------------------------------


def wire_usage(reply: Reply) -> dict[str, Any]:
    u = reply.usage
    prompt = u.input + u.cache_read + u.cache_write
    completion = u.output + u.reasoning
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": u.cache_read, "audio_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": u.reasoning, "audio_tokens": 0},
    }


def tool_arguments(call: ToolCall) -> str:
    return call.arguments if isinstance(call.arguments, str) else json.dumps(call.arguments)


def completion_body(reply: Reply, model: str, reasoning_field: str = "reasoning_content") -> dict[str, Any]:
    text = "".join(p.text for p in reply.parts if isinstance(p, Text))
    reasoning = "".join(p.text for p in reply.parts if isinstance(p, Reasoning))
    calls = [p for p in reply.parts if isinstance(p, ToolCall)]
    message: dict[str, Any] = {"role": "assistant", "content": text or None, "refusal": None}
    if reasoning:
        message[reasoning_field] = reasoning
    if calls:
        message["tool_calls"] = [
            {"id": call_id, "type": "function", "function": {"name": call.name, "arguments": tool_arguments(call)}}
            for call_id, call in zip(reply.tool_call_ids(), calls, strict=True)
        ]
    return {
        "id": "chatcmpl-scripted",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": reply.finish_reason}],
        "usage": wire_usage(reply),
        "system_fingerprint": "fp_scripted",
    }


def stream_chunks(
    reply: Reply, model: str, include_usage: bool, interleave: bool, reasoning_field: str
) -> Iterator[dict[str, Any]]:
    created = int(time.time())

    def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": "chatcmpl-scripted",
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "system_fingerprint": "fp_scripted",
            "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
        }
        if include_usage:
            out["usage"] = None
        return out

    yield chunk({"role": "assistant", "content": "", "refusal": None})
    ids = iter(reply.tool_call_ids())
    calls: list[tuple[int, str, ToolCall]] = []
    for part in reply.parts:
        if isinstance(part, Text):
            for piece in chunks_of(part.text, reply.chunk_size):
                yield chunk({"content": piece})
        elif isinstance(part, Reasoning):
            for piece in chunks_of(part.text, reply.chunk_size):
                yield chunk({reasoning_field: piece})
        else:
            calls.append((len(calls), next(ids), part))
    pieces = [(index, chunks_of(tool_arguments(call), reply.chunk_size)) for index, _, call in calls]
    for index, call_id, call in calls:
        head = {"index": index, "id": call_id, "type": "function", "function": {"name": call.name, "arguments": ""}}
        if not interleave:
            yield chunk({"tool_calls": [head]})
            for piece in pieces[index][1]:
                yield chunk({"tool_calls": [{"index": index, "function": {"arguments": piece}}]})
        else:
            yield chunk({"tool_calls": [head]})
    if interleave:
        longest = max((len(p) for _, p in pieces), default=0)
        for step in range(longest):
            for index, parts in pieces:
                if step < len(parts):
                    yield chunk({"tool_calls": [{"index": index, "function": {"arguments": parts[step]}}]})
    yield chunk({}, reply.finish_reason)
    if include_usage:
        last = chunk({})
        last["choices"] = []
        last["usage"] = wire_usage(reply)
        yield last


class ChatCompletionsHandler:
    """`POST /v1/chat/completions`."""

    name = "openai-chat"
    interleave_tool_calls = False
    reasoning_field = "reasoning_content"
    """Where streamed reasoning goes: DeepSeek's `reasoning_content`, or OpenRouter's and Groq's `reasoning`."""

    def match(self, method: str, path: str) -> bool:
        return method == "POST" and path == "/v1/chat/completions"

    def authenticate(self, server: ScriptedModelServer, request: RecordedRequest, body: dict[str, Any]) -> None:
        if body.get("model") in server.local_models.ids:
            return
        check_bearer(server, request)

    def validate(self, body: dict[str, Any]) -> None:
        validate_chat(body)

    def error_response(self, error: RequestInvalid) -> Response:
        type_ = "invalid_request_error"
        return json_response(openai_error(error.message, type_, error.param, error.code), error.status)

    def scripted_error(self, script: ErrorReply) -> Response:
        return json_response(scripted_error_body(script), script.status, script.headers)

    def first_chunks(self) -> list[dict[str, Any]]:
        return []

    async def handle(self, server: ScriptedModelServer, request: RecordedRequest) -> Response:
        try:
            body = parse_body(request)
            self.authenticate(server, request, body)
            self.validate(body)
        except RequestInvalid as error:
            return self.error_response(error)
        script = server.next_script()
        await wait_before_headers(script)
        model = str(body.get("model") or self.name)
        stream = bool(body.get("stream"))
        if isinstance(script, ErrorReply):
            if script.status != 200:
                return self.scripted_error(script)
            error_body = scripted_error_body(script)
            if not stream:
                return json_response(error_body, 200, script.headers)
            frames = [sse(c) for c in self.first_chunks()] + [sse(error_body)]
            return stream_response(Reply(), frames, "text/event-stream", script.headers)
        if not stream:
            return json_response(completion_body(script, model, self.reasoning_field))
        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
        chunks = self.first_chunks() + list(
            stream_chunks(script, model, include_usage, self.interleave_tool_calls, self.reasoning_field)
        )
        frames = [sse(c) for c in chunks] + [sse("[DONE]")]
        return stream_response(script, frames, "text/event-stream")


class AzureChatHandler(ChatCompletionsHandler):
    """`POST /openai/deployments/{deployment}/chat/completions?api-version=...`."""

    name = "azure"
    path = re.compile(r"^/openai/deployments/([^/]+)/chat/completions$")

    def match(self, method: str, path: str) -> bool:
        return method == "POST" and self.path.match(path) is not None

    async def handle(self, server: ScriptedModelServer, request: RecordedRequest) -> Response:
        if not request.query.get("api-version"):
            return json_response({"error": {"code": "404", "message": "Resource not found"}}, 404)
        if request.headers.get("api-key") != server.api_key:
            return json_response(
                {
                    "error": {
                        "code": "401",
                        "message": "Access denied due to invalid subscription key or wrong API endpoint. Make sure "
                        "to provide a valid key for an active subscription and use a correct regional API endpoint "
                        "for your resource.",
                    }
                },
                401,
            )
        match = self.path.match(request.path)
        deployment = match.group(1) if match else "deployment"
        try:
            body = parse_body(request)
        except RequestInvalid as error:
            return self.error_response(error)
        body.setdefault("model", deployment)
        request = RecordedRequest(
            request.method, request.path, request.query, request.headers, json.dumps(body).encode()
        )
        return await super().handle(server, request)

    def authenticate(self, server: ScriptedModelServer, request: RecordedRequest, body: dict[str, Any]) -> None:
        return None  # the api-key header was checked in `handle`

    def validate(self, body: dict[str, Any]) -> None:
        validate_chat(body, model_required=False)

    def scripted_error(self, script: ErrorReply) -> Response:
        if script.status in (401, 429) and script.kind not in ("quota", "context_length"):
            body = {"error": {"code": str(script.status), "message": script.message}}
            return json_response(body, script.status, script.headers)
        return super().scripted_error(script)

    def first_chunks(self) -> list[dict[str, Any]]:
        filters = {
            category: {"filtered": False, "severity": "safe"}
            for category in ("hate", "self_harm", "sexual", "violence")
        }
        return [
            {
                "id": "",
                "object": "",
                "created": 0,
                "model": "",
                "choices": [],
                "prompt_filter_results": [{"prompt_index": 0, "content_filter_results": filters}],
            }
        ]


CHAT = ChatCompletionsHandler()
AZURE = AzureChatHandler()
HANDLERS = [CHAT, AZURE]
