"""Scripted Gemini API endpoints: `POST /v1beta/models/{model}:generateContent` and
`:streamGenerateContent` (SSE with `alt=sse`, otherwise a streamed JSON array, as Google does).

Validates like the real service, in Google's error shape `{"error": {"code", "message", "status",
"details"}}`: a missing key is 403 PERMISSION_DENIED, a wrong key 400 INVALID_ARGUMENT with reason
API_KEY_INVALID; unknown JSON field names (a schema's `additionalProperties`, `$schema`, `const`,
...) are 400 "Invalid JSON payload received. Unknown name ..."; contents must be non-empty with
roles user/model, and a function-response turn must directly follow a function-call turn of the
same names and count.

Rendering: text and thoughts in `chunk_size` pieces, one part per chunk; a function call whole in
its own chunk (Gemini never splits one); a reasoning signature on the part after the reasoning
(the first call, else the text), else on the last thought chunk. A `ToolCall` whose arguments are
not a JSON object is what Gemini reports as finishReason MALFORMED_FUNCTION_CALL with no call.
An `ErrorReply` with status 200 on a streamed request sends one chunk, then the error as an SSE
event inside the 200 stream (Google's mid-stream error).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from typing import Any

from opencode.testing.model_server.script import ErrorReply, Reasoning, Reply, ScriptUsage, Text, chunks_of
from opencode.testing.model_server.server import (
    RecordedRequest,
    ScriptedModelServer,
    sse,
    stream_response,
    wait_before_headers,
)

STATUS_NAMES = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}
KIND_STATUS = {
    "rate_limit": "RESOURCE_EXHAUSTED",
    "quota": "RESOURCE_EXHAUSTED",
    "overloaded": "UNAVAILABLE",
    "auth": "PERMISSION_DENIED",
    "context_length": "INVALID_ARGUMENT",
    "invalid_request": "INVALID_ARGUMENT",
    "server": "INTERNAL",
    "not_found": "NOT_FOUND",
}
FINISH = {"stop": "STOP", "tool_calls": "STOP", "length": "MAX_TOKENS", "content_filter": "SAFETY"}
UNREGISTERED = (
    "Method doesn't allow unregistered callers (callers without established identity). "
    "Please use API Key or other form of API consumer identity to call this API."
)

# Field names the v1beta protos define (JSON accepts camelCase and snake_case for each).
REQUEST_FIELDS = {
    "contents", "tools", "toolConfig", "safetySettings", "systemInstruction", "generationConfig",
    "cachedContent", "labels",
}  # fmt: skip
CONTENT_FIELDS = {"role", "parts"}
PART_FIELDS = {
    "text", "inlineData", "functionCall", "functionResponse", "fileData", "executableCode",
    "codeExecutionResult", "thought", "thoughtSignature", "videoMetadata",
}  # fmt: skip
GENERATION_FIELDS = {
    "stopSequences", "responseMimeType", "responseSchema", "responseJsonSchema", "responseModalities",
    "candidateCount", "maxOutputTokens", "temperature", "topP", "topK", "seed", "presencePenalty",
    "frequencyPenalty", "responseLogprobs", "logprobs", "enableEnhancedCivicAnswers", "speechConfig",
    "thinkingConfig", "mediaResolution",
}  # fmt: skip
THINKING_FIELDS = {"includeThoughts", "thinkingBudget", "thinkingLevel"}
SCHEMA_FIELDS = {
    "type", "format", "title", "description", "nullable", "enum", "maxItems", "minItems", "properties",
    "required", "minProperties", "maxProperties", "minLength", "maxLength", "pattern", "example", "anyOf",
    "propertyOrdering", "default", "items", "minimum", "maximum",
}  # fmt: skip
SCHEMA_TYPES = {"TYPE_UNSPECIFIED", "STRING", "NUMBER", "INTEGER", "BOOLEAN", "ARRAY", "OBJECT", "NULL"}
TOOL_MODES = {"MODE_UNSPECIFIED", "AUTO", "ANY", "NONE", "VALIDATED"}


class GeminiHandler:
    name = "gemini"

    def match(self, method: str, path: str) -> bool:
        return (
            method == "POST"
            and path.startswith("/v1beta/models/")
            and path.endswith((":generateContent", ":streamGenerateContent"))
        )

    async def handle(self, server: ScriptedModelServer, request: RecordedRequest) -> Any:
        from starlette.responses import JSONResponse

        streamed = request.path.endswith(":streamGenerateContent")
        key = request.headers.get("x-goog-api-key") or request.query.get("key")
        if not key:
            return google_error(403, UNREGISTERED)
        if key != server.api_key:
            return google_error(
                400,
                "API key not valid. Please pass a valid API key.",
                details=[_error_info("API_KEY_INVALID")],
            )
        try:
            body = json.loads(request.body or b"null")
        except ValueError:
            return google_error(400, "Invalid JSON payload received. Unexpected token.")
        if not isinstance(body, dict):
            return google_error(400, "Invalid JSON payload received. Expected an object.")
        violations = field_violations(body)
        if violations:
            details = [
                {
                    "@type": "type.googleapis.com/google.rpc.BadRequest",
                    "fieldViolations": [{"field": f, "description": d} for f, d in violations],
                }
            ]
            return google_error(400, "\n".join(d for _, d in violations), details=details)
        problem = semantic_problem(body)
        if problem:
            return google_error(400, problem)

        script = server.next_script()
        await wait_before_headers(script)
        if isinstance(script, ErrorReply):
            if script.status == 200 and streamed:
                return _in_stream_error(script, request)
            return _render_error(script)
        chunks, usage = render(script)
        if not streamed:
            merged = _merge(chunks)
            merged["usageMetadata"] = usage
            return JSONResponse(merged)
        chunks[-1]["usageMetadata"] = usage
        if request.query.get("alt") == "sse":
            return stream_response(script, [sse(c) for c in chunks], "text/event-stream")
        pieces = [("[" if i == 0 else ",\r\n") + json.dumps(c) for i, c in enumerate(chunks)]
        pieces[-1] += "]"
        return stream_response(script, [p.encode() for p in pieces], "application/json")


def google_error(
    status: int,
    message: str,
    *,
    code_name: str | None = None,
    details: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> Any:
    from starlette.responses import JSONResponse

    error: dict[str, Any] = {
        "code": status,
        "message": message,
        "status": code_name or STATUS_NAMES.get(status, "UNKNOWN"),
    }
    if details:
        error["details"] = details
    return JSONResponse({"error": error}, status_code=status, headers=headers)


def _error_info(reason: str) -> dict[str, Any]:
    return {
        "@type": "type.googleapis.com/google.rpc.ErrorInfo",
        "reason": reason,
        "domain": "googleapis.com",
        "metadata": {"service": "generativelanguage.googleapis.com"},
    }


def _error_details(script: ErrorReply) -> list[dict[str, Any]]:
    if script.kind == "rate_limit":
        delay = script.headers.get("retry-after", "1")
        return [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": f"{delay}s"}]
    if script.kind == "quota":
        quota = "GenerateRequestsPerDayPerProjectPerModel-FreeTier"
        violation = {"quotaMetric": "generativelanguage.googleapis.com/generate_content_requests", "quotaId": quota}
        return [{"@type": "type.googleapis.com/google.rpc.QuotaFailure", "violations": [violation]}]
    if script.kind == "auth" and script.status == 400:
        return [_error_info("API_KEY_INVALID")]
    return []


def _render_error(script: ErrorReply) -> Any:
    name = KIND_STATUS.get(script.kind or "") or STATUS_NAMES.get(script.status, "UNKNOWN")
    return google_error(
        script.status, script.message, code_name=name, details=_error_details(script), headers=script.headers
    )


def _in_stream_error(script: ErrorReply, request: RecordedRequest) -> Any:
    status = {"rate_limit": 429, "quota": 429, "overloaded": 503, "auth": 403, "not_found": 404}.get(
        script.kind or "", 500 if script.kind in (None, "server") else 400
    )
    first = {"candidates": [{"content": {"role": "model", "parts": [{"text": "Partial"}]}, "index": 0}]}
    name = KIND_STATUS.get(script.kind or "") or STATUS_NAMES.get(status, "UNKNOWN")
    error = {"error": {"code": status, "message": script.message, "status": name}}
    reply = Reply()
    if request.query.get("alt") == "sse":
        return stream_response(reply, [sse(first), sse(error)], "text/event-stream")
    return stream_response(
        reply, [b"[" + json.dumps(first).encode(), b",\r\n" + json.dumps(error).encode() + b"]"], "application/json"
    )


# --- rendering replies ----------------------------------------------------------------------


def render(reply: Reply) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The stream chunks of `reply` (each a whole GenerateContentResponse) and its usageMetadata."""
    parts: list[dict[str, Any]] = []
    malformed = False
    signature: str | None = None
    ids = iter(reply.tool_call_ids())
    for part in reply.parts:
        if isinstance(part, Reasoning):
            parts.extend({"text": piece, "thought": True} for piece in chunks_of(part.text, reply.chunk_size))
            signature = part.signature or None
            continue
        new: list[dict[str, Any]]
        if isinstance(part, Text):
            new = [{"text": piece} for piece in chunks_of(part.text, reply.chunk_size)]
        else:
            call_id = next(ids)
            args = _arguments(part.arguments)
            if args is None:
                malformed = True
                continue
            call: dict[str, Any] = {"name": part.name, "args": args}
            if part.id:  # newer models send ids; older ones never do
                call["id"] = call_id
            new = [{"functionCall": call}]
        if signature:
            new[0]["thoughtSignature"] = signature
            signature = None
        parts.extend(new)
    if signature and parts:
        parts[-1]["thoughtSignature"] = signature
    if not parts:
        parts = [{"text": ""}]
    chunks: list[dict[str, Any]] = [
        {"candidates": [{"content": {"role": "model", "parts": [p]}, "index": 0}]} for p in parts
    ]
    finish = "MALFORMED_FUNCTION_CALL" if malformed else FINISH.get(reply.finish_reason, "STOP")
    chunks[-1]["candidates"][0]["finishReason"] = finish
    for chunk in chunks:
        chunk["modelVersion"] = "gemini-scripted"
    return chunks, _usage(reply.usage)


def _merge(chunks: list[dict[str, Any]]) -> dict[str, Any]:
    """The non-streamed reply: the chunks' parts joined, text runs of the same kind concatenated."""
    parts: list[dict[str, Any]] = []
    for chunk in chunks:
        for part in chunk["candidates"][0]["content"]["parts"]:
            last = parts[-1] if parts else None
            if (
                last is not None
                and "text" in part
                and "text" in last
                and bool(last.get("thought")) == bool(part.get("thought"))
                and "thoughtSignature" not in last
            ):
                last["text"] += part["text"]
                if "thoughtSignature" in part:
                    last["thoughtSignature"] = part["thoughtSignature"]
            else:
                parts.append(dict(part))
    finish = chunks[-1]["candidates"][0]["finishReason"]
    candidate = {"content": {"role": "model", "parts": parts}, "finishReason": finish, "index": 0}
    return {"candidates": [candidate], "modelVersion": "gemini-scripted"}


def _arguments(arguments: dict[str, Any] | str) -> dict[str, Any] | None:
    if isinstance(arguments, dict):
        return arguments
    try:
        value = json.loads(arguments)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _usage(usage: ScriptUsage) -> dict[str, Any]:
    # promptTokenCount includes the cached tokens; candidatesTokenCount leaves thoughts out.
    # Gemini reports no cache writes (explicit caches are created through their own API).
    meta: dict[str, Any] = {
        "promptTokenCount": usage.input + usage.cache_read,
        "candidatesTokenCount": usage.output,
        "totalTokenCount": usage.input + usage.cache_read + usage.output + usage.reasoning,
    }
    if usage.cache_read:
        meta["cachedContentTokenCount"] = usage.cache_read
    if usage.reasoning:
        meta["thoughtsTokenCount"] = usage.reasoning
    return meta


# --- validation -----------------------------------------------------------------------------


def _camel(name: str) -> str:
    return re.sub(r"_([a-z])", lambda m: m.group(1).upper(), name)


def _snake(name: str) -> str:
    return re.sub(r"([A-Z])", lambda m: "_" + m.group(1).lower(), name)


def _unknown(obj: dict[str, Any], allowed: set[str], where: str) -> list[tuple[str, str]]:
    out = []
    for key in obj:
        if _camel(key) not in allowed:
            at = f" at '{where}'" if where else ""
            out.append((where, f'Invalid JSON payload received. Unknown name "{key}"{at}: Cannot find field.'))
    return out


def _get(obj: dict[str, Any], name: str) -> Any:
    return obj[name] if name in obj else obj.get(_snake(name))


def field_violations(body: dict[str, Any]) -> list[tuple[str, str]]:
    """The proto-parsing errors Google reports all at once: unknown names and invalid values."""
    out = _unknown(body, REQUEST_FIELDS, "")
    for ci, content in enumerate(_get(body, "contents") or []):
        if not isinstance(content, dict):
            continue
        out += _unknown(content, CONTENT_FIELDS, f"contents[{ci}]")
        for pi, part in enumerate(content.get("parts") or []):
            if isinstance(part, dict):
                out += _unknown(part, PART_FIELDS, f"contents[{ci}].parts[{pi}]")
                inline = _get(part, "inlineData")
                if isinstance(inline, dict) and not _is_base64(inline.get("data")):
                    where = f"contents[{ci}].parts[{pi}].inline_data.data"
                    out.append((where, f"Invalid value at '{where}' (TYPE_BYTES), Base64 decoding failed."))
    config = _get(body, "generationConfig")
    if isinstance(config, dict):
        out += _unknown(config, GENERATION_FIELDS, "generation_config")
        thinking = _get(config, "thinkingConfig")
        if isinstance(thinking, dict):
            out += _unknown(thinking, THINKING_FIELDS, "generation_config.thinking_config")
    tool_config = _get(body, "toolConfig")
    if isinstance(tool_config, dict):
        calling = _get(tool_config, "functionCallingConfig") or {}
        mode = calling.get("mode") if isinstance(calling, dict) else None
        if mode is not None and mode not in TOOL_MODES:
            where = "tool_config.function_calling_config.mode"
            out.append(
                (
                    where,
                    f"Invalid value at '{where}' (type.googleapis.com/google.ai.generativelanguage."
                    f'v1beta.FunctionCallingConfig.Mode), "{mode}"',
                )
            )
    for ti, tool in enumerate(_get(body, "tools") or []):
        declarations = _get(tool, "functionDeclarations") if isinstance(tool, dict) else None
        for di, declaration in enumerate(declarations or []):
            parameters = _get(declaration, "parameters") if isinstance(declaration, dict) else None
            if parameters is not None:
                out += _schema_violations(parameters, f"tools[{ti}].function_declarations[{di}].parameters")
    return out


def _schema_violations(schema: Any, where: str) -> list[tuple[str, str]]:
    if not isinstance(schema, dict):
        return [(where, f"Invalid value at '{where}', expected an object.")]
    out = _unknown(schema, SCHEMA_FIELDS, where)
    kind = schema.get("type")
    if kind is not None and (not isinstance(kind, str) or kind.upper() not in SCHEMA_TYPES):
        at = f"{where}.type"
        out.append(
            (
                at,
                f"Invalid value at '{at}' (type.googleapis.com/google.ai.generativelanguage.v1beta.Type), "
                f"{json.dumps(kind)}",
            )
        )
    for i, value in enumerate(schema.get("enum") or []):
        if not isinstance(value, str):
            at = f"{where}.enum[{i}]"
            out.append((at, f"Invalid value at '{at}' (TYPE_STRING), {json.dumps(value)}"))
    properties = schema.get("properties")
    if isinstance(properties, dict):
        for i, value in enumerate(properties.values()):
            out += _schema_violations(value, f"{where}.properties[{i}].value")
    if "items" in schema:
        out += _schema_violations(schema["items"], f"{where}.items")
    for i, branch in enumerate(_get(schema, "anyOf") or []):
        out += _schema_violations(branch, f"{where}.any_of[{i}]")
    return out


def _is_base64(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return False
    return True


def semantic_problem(body: dict[str, Any]) -> str | None:
    """The first structural problem in the conversation, in Google's words, or None."""
    contents = _get(body, "contents")
    if not isinstance(contents, list) or not contents:
        return "* GenerateContentRequest.contents: contents is not specified\n"
    previous: dict[str, Any] | None = None
    for ci, content in enumerate(contents):
        if not isinstance(content, dict):
            return f"* GenerateContentRequest.contents[{ci}]: must be an object\n"
        role = content.get("role", "user")
        if role not in ("user", "model"):
            return "Please use a valid role: user, model."
        parts = content.get("parts")
        if not isinstance(parts, list) or not parts:
            return f"* GenerateContentRequest.contents[{ci}].parts: contents.parts must not be empty.\n"
        calls = [_get(p, "functionCall") for p in parts if isinstance(p, dict) and _get(p, "functionCall")]
        answers = [_get(p, "functionResponse") for p in parts if isinstance(p, dict) and _get(p, "functionResponse")]
        if calls and role != "model":
            return "Please ensure that function call turns come from the model."
        if calls and (previous is None or previous.get("role", "user") != "user"):
            return (
                "Please ensure that function call turn comes immediately after a user turn or after a function "
                "response turn."
            )
        if answers:
            before = [_get(p, "functionCall") for p in (previous or {}).get("parts") or [] if isinstance(p, dict)]
            before = [c for c in before if c]
            if previous is None or previous.get("role") != "model" or not before:
                return "Please ensure that function response turn comes immediately after a function call turn."
            if len(answers) != len(before):
                return (
                    "Please ensure that the number of function response parts is equal to the number of function "
                    "call parts of the function call turn."
                )
            called = {c.get("name") for c in before}
            for answer in answers:
                if answer.get("name") not in called or not isinstance(answer.get("response"), dict):
                    return (
                        f"* GenerateContentRequest.contents[{ci}].parts: function response "
                        f"{answer.get('name')!r} does not answer a function call of the previous turn\n"
                    )
        previous = content
    for ti, tool in enumerate(_get(body, "tools") or []):
        for di, declaration in enumerate(_get(tool, "functionDeclarations") or []):
            name = declaration.get("name") if isinstance(declaration, dict) else None
            if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.:\-]{0,127}", name):
                return f"* GenerateContentRequest.tools[{ti}].function_declarations[{di}].name: Invalid function name."
            parameters = _get(declaration, "parameters")
            is_object = isinstance(parameters, dict) and str(parameters.get("type", "")).upper() == "OBJECT"
            if is_object and not parameters.get("properties"):
                return (
                    f"* GenerateContentRequest.tools[{ti}].function_declarations[{di}].parameters.properties: "
                    "should be non-empty for OBJECT type\n"
                )
    config = _get(body, "generationConfig") or {}
    max_tokens = _get(config, "maxOutputTokens") if isinstance(config, dict) else None
    if max_tokens is not None and (not isinstance(max_tokens, int) or max_tokens < 1):
        return "* GenerateContentRequest.generation_config.max_output_tokens: must be positive\n"
    return None


HANDLERS = [GeminiHandler()]
