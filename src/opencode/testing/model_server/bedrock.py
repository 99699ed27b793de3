"""Scripted AWS Bedrock Converse endpoints: `POST /model/{modelId}/converse` and `/converse-stream`.

Authentication is checked for real. A SigV4 `Authorization` header is verified by recomputing the
signature with the server's secret (`server.api_key`) for access key id `server.aws_access_key_id`,
region `server.aws_region` and service "bedrock": an unknown key id is 403
UnrecognizedClientException, a wrong signature 403 InvalidSignatureException. `Authorization:
Bearer <key>` (a Bedrock API key) must equal `server.api_key`. Errors come as AWS sends them:
`{"message": ...}` with the type in the `x-amzn-ErrorType` header.

The conversation is validated as Converse does (messages present, starting with user, alternating,
tool results answering the previous turn's tool uses, toolConfig present when tool blocks are,
positive maxTokens) and answered as JSON or as an `application/vnd.amazon.eventstream` body.

An `ErrorReply` with status 200 on `/converse-stream` sends messageStart and then an exception frame
of the reply's kind (throttlingException, serviceUnavailableException, ...) inside the 200 stream.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from opencode.provider.adapters import sigv4
from opencode.provider.adapters.eventstream import encode_message
from opencode.testing.model_server.script import ErrorReply, Reasoning, Reply, ScriptUsage, Text, ToolCall, chunks_of
from opencode.testing.model_server.server import (
    RecordedRequest,
    ScriptedModelServer,
    stream_response,
    wait_before_headers,
)

BAD_SIGNATURE = (
    "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access "
    "Key and signing method. Consult the service documentation for details."
)
BAD_TOKEN = "The security token included in the request is invalid."
KIND_TYPES = {
    "rate_limit": "ThrottlingException",
    "quota": "ServiceQuotaExceededException",
    "overloaded": "ServiceUnavailableException",
    "auth": "AccessDeniedException",
    "context_length": "ValidationException",
    "invalid_request": "ValidationException",
    "server": "InternalServerException",
    "not_found": "ResourceNotFoundException",
}
STATUS_TYPES = {
    400: "ValidationException",
    403: "AccessDeniedException",
    404: "ResourceNotFoundException",
    408: "ModelTimeoutException",
    424: "ModelErrorException",
    429: "ThrottlingException",
    500: "InternalServerException",
    503: "ServiceUnavailableException",
}
STOP_REASONS = {
    "stop": "end_turn",
    "tool_calls": "tool_use",
    "length": "max_tokens",
    "content_filter": "content_filtered",
}
IMAGE_FORMATS = {"png", "jpeg", "gif", "webp"}
DOCUMENT_FORMATS = {"pdf", "csv", "doc", "docx", "xls", "xlsx", "html", "txt", "md"}
MAX_SKEW_SECONDS = 15 * 60
NO_MESSAGES = (
    "1 validation error detected: Value null at 'messages' failed to satisfy constraint: Member must not be null"
)


class BedrockHandler:
    name = "bedrock"

    def match(self, method: str, path: str) -> bool:
        return method == "POST" and path.startswith("/model/") and path.endswith(("/converse", "/converse-stream"))

    async def handle(self, server: ScriptedModelServer, request: RecordedRequest) -> Any:
        from starlette.responses import JSONResponse

        streamed = request.path.endswith("/converse-stream")
        denied = check_auth(server, request)
        if denied is not None:
            return denied
        try:
            body = json.loads(request.body or b"null")
        except ValueError:
            return aws_error(400, "SerializationException", "Unable to parse request body as JSON.")
        problem = validate(body)
        if problem:
            return aws_error(400, "ValidationException", problem)

        script = server.next_script()
        await wait_before_headers(script)
        if isinstance(script, ErrorReply):
            if script.status == 200 and streamed:
                return _exception_stream(script)
            kind = KIND_TYPES.get(script.kind or "") or STATUS_TYPES.get(script.status, "InternalServerException")
            return aws_error(script.status, kind, script.message, script.headers)
        if not streamed:
            return JSONResponse(render_whole(script))
        frames = [
            encode_message(_event_headers(name), json.dumps(data).encode()) for name, data in render_events(script)
        ]
        return stream_response(script, frames, "application/vnd.amazon.eventstream")


def aws_error(status: int, kind: str, message: str, headers: dict[str, str] | None = None) -> Any:
    from starlette.responses import JSONResponse

    error_type = f"{kind}:http://internal.amazon.com/coral/com.amazon.bedrock/"
    return JSONResponse(
        {"message": message}, status_code=status, headers={"x-amzn-ErrorType": error_type, **(headers or {})}
    )


# --- authentication -------------------------------------------------------------------------


def check_auth(server: ScriptedModelServer, request: RecordedRequest) -> Any:
    """None when the request is authenticated, else the error response AWS would send."""
    header = request.headers.get("authorization", "")
    if not header:
        return aws_error(403, "MissingAuthenticationTokenException", "Missing Authentication Token")
    if header.startswith("Bearer "):
        if header[len("Bearer ") :] != server.api_key:
            return aws_error(403, "UnrecognizedClientException", BAD_TOKEN)
        return None
    auth = sigv4.parse_authorization(header)
    if auth is None:
        return aws_error(
            403, "IncompleteSignatureException", f"Authorization header requires a valid signature: {header[:40]}"
        )
    if auth.access_key != server.aws_access_key_id:
        return aws_error(403, "UnrecognizedClientException", BAD_TOKEN)
    if auth.scope.service != "bedrock":
        return aws_error(403, "InvalidSignatureException", "Credential should be scoped to correct service: 'bedrock'.")
    if auth.scope.region != server.aws_region:
        return aws_error(
            403,
            "InvalidSignatureException",
            f"Credential should be scoped to a valid region, not '{auth.scope.region}'.",
        )
    amz_date = request.headers.get("x-amz-date", "")
    if "host" not in auth.signed_headers or "x-amz-date" not in auth.signed_headers or not amz_date:
        return aws_error(403, "IncompleteSignatureException", "Signed headers must include host and x-amz-date.")
    try:
        moment = datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    except ValueError:
        return aws_error(
            403, "IncompleteSignatureException", f"Date must be in ISO-8601 'basic format'. Got '{amz_date}'."
        )
    if abs((datetime.now(UTC) - moment).total_seconds()) > MAX_SKEW_SECONDS or auth.scope.date != amz_date[:8]:
        return aws_error(
            403, "InvalidSignatureException", f"Signature expired: {amz_date} is now earlier or later than allowed."
        )
    missing = [name for name in auth.signed_headers if name not in request.headers]
    if missing:
        return aws_error(403, "InvalidSignatureException", BAD_SIGNATURE)
    expected = sigv4.signature_for(
        request.method,
        wire_path(request.path),
        _query_string(request.query),
        {name: request.headers[name] for name in auth.signed_headers},
        hashlib.sha256(request.body).hexdigest(),
        amz_date=amz_date,
        secret_key=server.api_key,
        scope=auth.scope,
    )
    if expected != auth.signature:
        return aws_error(403, "InvalidSignatureException", BAD_SIGNATURE)
    return None


def wire_path(path: str) -> str:
    """The path as the client sent it: the recorded path is decoded, and the model id was one
    percent-encoded segment (':' as %3A, '/' in ARNs as %2F)."""
    head, _, rest = path.partition("/model/")
    model, _, action = rest.rpartition("/")
    return f"{head}/model/{quote(model, safe='')}/{action}"


def _query_string(query: dict[str, str]) -> str:
    return "&".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in query.items())


# --- validation -----------------------------------------------------------------------------


def validate(body: Any) -> str | None:
    """The first problem Converse would report, in its words, or None."""
    messages = body.get("messages") if isinstance(body, dict) else None
    if not isinstance(body, dict) or not isinstance(messages, list) or not messages:
        return NO_MESSAGES
    has_tool_blocks = False
    pending_uses: list[str] = []
    for mi, message in enumerate(messages):
        role = message.get("role") if isinstance(message, dict) else None
        if role not in ("user", "assistant"):
            return (
                f"1 validation error detected: Value '{role}' at 'messages.{mi + 1}.member.role' failed to satisfy "
                "constraint: Member must satisfy enum value set: [user, assistant]"
            )
        if mi == 0 and role != "user":
            return (
                "A conversation must start with a user message. Try again with a conversation that starts with a "
                "user message."
            )
        if mi > 0 and messages[mi - 1].get("role") == role:
            return (
                "A conversation must alternate between user and assistant roles. Make sure the conversation "
                "alternates between user and assistant roles and try again."
            )
        content = message.get("content")
        if not isinstance(content, list) or not content:
            return (
                f"The content field in the Message object at messages.{mi} is empty. Add a ContentBlock object to "
                "the content field and try again."
            )
        results: list[str] = []
        uses: list[str] = []
        for bi, block in enumerate(content):
            problem = _block_problem(block, role, f"messages.{mi}.content.{bi}")
            if problem:
                return problem
            if "toolUse" in block:
                uses.append(block["toolUse"]["toolUseId"])
            if "toolResult" in block:
                results.append(block["toolResult"]["toolUseId"])
        has_tool_blocks = has_tool_blocks or bool(uses or results)
        unanswered = [u for u in pending_uses if u not in results]
        if unanswered:
            return f"Expected toolResult blocks at messages.{mi}.content for the following Ids: {', '.join(unanswered)}"
        stray = [r for r in results if r not in pending_uses]
        if stray:
            return (
                f"messages.{mi}.content: the toolUseId {stray[0]} of a toolResult block does not match a toolUse "
                "block of the previous assistant turn"
            )
        pending_uses = uses
    if has_tool_blocks and not isinstance(body.get("toolConfig"), dict):
        return "The toolConfig field must be defined when using toolUse and toolResult content blocks."
    return _config_problem(body)


def _block_problem(block: Any, role: str, where: str) -> str | None:
    if not isinstance(block, dict) or len(block) != 1:
        return f"The ContentBlock object at {where} must set exactly one member."
    ((kind, value),) = block.items()
    if kind == "text":
        if not isinstance(value, str) or not value.strip():
            return (
                f"The text field in the ContentBlock object at {where} is blank. Add text to the text field, and try "
                "again."
            )
    elif kind == "image":
        if (
            role != "user"
            or value.get("format") not in IMAGE_FORMATS
            or not _is_base64((value.get("source") or {}).get("bytes"))
        ):
            return (
                f"The image in the ContentBlock object at {where} is invalid: format must be png, jpeg, gif or "
                "webp with base64 bytes."
            )
    elif kind == "document":
        if (
            value.get("format") not in DOCUMENT_FORMATS
            or not value.get("name")
            or not _is_base64((value.get("source") or {}).get("bytes"))
        ):
            return f"The document in the ContentBlock object at {where} is invalid."
    elif kind == "toolUse":
        if (
            role != "assistant"
            or not value.get("toolUseId")
            or not value.get("name")
            or not isinstance(value.get("input"), dict)
        ):
            return f"The toolUse block at {where} needs toolUseId, name and an object input, in an assistant message."
    elif kind == "toolResult":
        if role != "user" or not value.get("toolUseId") or not isinstance(value.get("content"), list):
            return f"The toolResult block at {where} needs toolUseId and content, in a user message."
        if value.get("status") not in (None, "success", "error"):
            return (
                f"1 validation error detected: Value '{value.get('status')}' at '{where}.toolResult.status' "
                "failed to satisfy constraint"
            )
    elif kind == "reasoningContent":
        text = value.get("reasoningText")
        if role != "assistant" or not (
            (isinstance(text, dict) and isinstance(text.get("text"), str)) or value.get("redactedContent")
        ):
            return f"The reasoningContent block at {where} is invalid."
    elif kind == "cachePoint":
        if value != {"type": "default"}:
            return f'The cachePoint block at {where} must be {{"type": "default"}}.'
    else:
        return f"Unknown content block type '{kind}' at {where}."
    return None


def _config_problem(body: dict[str, Any]) -> str | None:
    inference = body.get("inferenceConfig") or {}
    max_tokens = inference.get("maxTokens")
    if max_tokens is not None and (not isinstance(max_tokens, int) or max_tokens < 1):
        return (
            f"1 validation error detected: Value '{max_tokens}' at 'inferenceConfig.maxTokens' failed to satisfy "
            "constraint: Member must have value greater than or equal to 1"
        )
    temperature = inference.get("temperature")
    if temperature is not None and not (isinstance(temperature, int | float) and 0 <= temperature <= 1):
        return (
            f"1 validation error detected: Value '{temperature}' at 'inferenceConfig.temperature' failed to "
            "satisfy constraint"
        )
    for block in body.get("system") or []:
        if not isinstance(block, dict) or not (
            isinstance(block.get("text"), str) or block.get("cachePoint") == {"type": "default"}
        ):
            return "The system field must hold text or cachePoint blocks."
    tool_config = body.get("toolConfig")
    if isinstance(tool_config, dict):
        tools = tool_config.get("tools")
        if not isinstance(tools, list) or not tools:
            return "The toolConfig field must hold at least one tool."
        for ti, tool in enumerate(tools):
            spec = tool.get("toolSpec") if isinstance(tool, dict) else None
            schema = ((spec or {}).get("inputSchema") or {}).get("json")
            if (
                not isinstance(spec, dict)
                or not spec.get("name")
                or not isinstance(schema, dict)
                or schema.get("type") != "object"
            ):
                return (
                    f"The tool at toolConfig.tools.{ti} needs a toolSpec with a name and an inputSchema.json object "
                    "schema."
                )
        choice = tool_config.get("toolChoice")
        if choice is not None and not (
            isinstance(choice, dict) and len(choice) == 1 and next(iter(choice)) in ("auto", "any", "tool")
        ):
            return "toolConfig.toolChoice must be one of auto, any or tool."
    return None


def _is_base64(value: Any) -> bool:
    if not isinstance(value, str) or not value:
        return False
    try:
        base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return False
    return True


# --- rendering replies ----------------------------------------------------------------------


def _usage(usage: ScriptUsage) -> dict[str, Any]:
    # inputTokens leaves cached tokens out (reported apart); outputTokens includes any reasoning.
    output = usage.output + usage.reasoning
    data: dict[str, Any] = {
        "inputTokens": usage.input,
        "outputTokens": output,
        "totalTokens": usage.input + output + usage.cache_read + usage.cache_write,
    }
    if usage.cache_read or usage.cache_write:
        data["cacheReadInputTokens"] = usage.cache_read
        data["cacheWriteInputTokens"] = usage.cache_write
    return data


def _input_text(arguments: dict[str, Any] | str) -> str:
    return arguments if isinstance(arguments, str) else json.dumps(arguments)


def render_whole(reply: Reply) -> dict[str, Any]:
    content: list[dict[str, Any]] = []
    ids = iter(reply.tool_call_ids())
    for part in reply.parts:
        if isinstance(part, Text):
            content.append({"text": part.text})
        elif isinstance(part, Reasoning):
            content.append({"reasoningContent": {"reasoningText": {"text": part.text, "signature": part.signature}}})
        elif isinstance(part, ToolCall):
            try:
                value: Any = json.loads(_input_text(part.arguments))
            except ValueError:
                value = part.arguments  # not JSON: a document holding a bare string
            content.append({"toolUse": {"toolUseId": next(ids), "name": part.name, "input": value}})
    return {
        "output": {"message": {"role": "assistant", "content": content}},
        "stopReason": STOP_REASONS.get(reply.finish_reason, "end_turn"),
        "usage": _usage(reply.usage),
        "metrics": {"latencyMs": 1},
    }


def render_events(reply: Reply) -> list[tuple[str, dict[str, Any]]]:
    events: list[tuple[str, dict[str, Any]]] = [("messageStart", {"role": "assistant"})]
    ids = iter(reply.tool_call_ids())
    for index, part in enumerate(reply.parts):
        at = {"contentBlockIndex": index}
        if isinstance(part, Text):
            events += [
                ("contentBlockDelta", {**at, "delta": {"text": p}}) for p in chunks_of(part.text, reply.chunk_size)
            ]
        elif isinstance(part, Reasoning):
            pieces = chunks_of(part.text, reply.chunk_size)
            events += [("contentBlockDelta", {**at, "delta": {"reasoningContent": {"text": p}}}) for p in pieces]
            if part.signature:
                events.append(
                    ("contentBlockDelta", {**at, "delta": {"reasoningContent": {"signature": part.signature}}})
                )
        elif isinstance(part, ToolCall):
            start = {"toolUse": {"toolUseId": next(ids), "name": part.name}}
            events.append(("contentBlockStart", {**at, "start": start}))
            pieces = chunks_of(_input_text(part.arguments), reply.chunk_size)
            events += [("contentBlockDelta", {**at, "delta": {"toolUse": {"input": p}}}) for p in pieces]
        events.append(("contentBlockStop", at))
    events.append(("messageStop", {"stopReason": STOP_REASONS.get(reply.finish_reason, "end_turn")}))
    events.append(("metadata", {"usage": _usage(reply.usage), "metrics": {"latencyMs": 1}}))
    return events


def _event_headers(name: str) -> dict[str, Any]:
    return {":event-type": name, ":content-type": "application/json", ":message-type": "event"}


def _exception_stream(script: ErrorReply) -> Any:
    name = {
        "rate_limit": "throttlingException",
        "overloaded": "serviceUnavailableException",
        "server": "internalServerException",
        "invalid_request": "validationException",
        "context_length": "validationException",
    }.get(script.kind or "", "modelStreamErrorException")
    payload: dict[str, Any] = {"message": script.message}
    if name == "modelStreamErrorException":
        payload.update(originalStatusCode=500, originalMessage=script.message)
    headers = {":exception-type": name, ":content-type": "application/json", ":message-type": "exception"}
    frames = [
        encode_message(_event_headers("messageStart"), json.dumps({"role": "assistant"}).encode()),
        encode_message(headers, json.dumps(payload).encode()),
    ]
    return stream_response(Reply(), frames, "application/vnd.amazon.eventstream")


HANDLERS = [BedrockHandler()]
