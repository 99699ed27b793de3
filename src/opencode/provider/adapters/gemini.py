"""The Google Gemini API (generativelanguage.googleapis.com, `v1beta`) wire adapter.

`POST {base}/models/{model}:generateContent`, and `:streamGenerateContent?alt=sse` for streaming,
where every SSE event is a whole `GenerateContentResponse` holding the next parts. The key goes in
the `x-goog-api-key` header.

Gemini's quirks this module absorbs:
- Tool parameters use an OpenAPI 3.0 subset, and the API rejects any other JSON-schema key
  (`additionalProperties`, `$schema`, `const`, ...) with "Unknown name": `gemini_schema` rewrites
  schemas into that subset.
- Function calls carry no id on most models: we make ids up and pair results by function name.
- A function call arrives whole in one chunk; we still emit start, delta and end for it.
- `thoughtSignature` (on a function call, a text part or a thought part) must be sent back on the
  same part next turn. It travels as `ReasoningEnd.signature` / `ReasoningPart.signature`: the part
  right after the thoughts, or any function call, closes the reasoning with its signature; one on
  later text is emitted at the end of the reply. On replay a signature goes onto the part after its
  reasoning part, or onto the last part when nothing follows, which puts each back where it came.
- Usage: `promptTokenCount` includes `cachedContentTokenCount`; `candidatesTokenCount` excludes
  `thoughtsTokenCount`.
- A bad key is answered 400 INVALID_ARGUMENT with reason API_KEY_INVALID (an `AuthError` here).

Left out: Vertex AI (other URLs and OAuth), cached-content management, code execution and
grounding tools, responses with more than one candidate.
"""

from __future__ import annotations

import base64
import itertools
import json
import re
from collections.abc import AsyncIterator, Iterable, Iterator
from typing import Any
from urllib.parse import quote

from opencode.provider import errors
from opencode.provider.adapters.base import Adapter, collect, map_transport_errors
from opencode.provider.retry import retry_after_from_headers
from opencode.provider.sse import iter_sse
from opencode.provider.types import (
    AssistantMessage,
    Finish,
    FinishReason,
    ModelRequest,
    ModelResponse,
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
    Usage,
    UserMessage,
)

DEFAULT_BASE_URL = "https://generativelanguage.googleapis.com/v1beta"

FINISH_REASONS: dict[str, FinishReason] = {
    "STOP": "stop",
    "MAX_TOKENS": "length",
    "SAFETY": "content_filter",
    "RECITATION": "content_filter",
    "LANGUAGE": "content_filter",
    "BLOCKLIST": "content_filter",
    "PROHIBITED_CONTENT": "content_filter",
    "SPII": "content_filter",
    "IMAGE_SAFETY": "content_filter",
    "MALFORMED_FUNCTION_CALL": "error",
    "UNEXPECTED_TOOL_CALL": "error",
    "OTHER": "other",
    "FINISH_REASON_UNSPECIFIED": "other",
}
TOOL_MODES = {"auto": "AUTO", "required": "ANY", "none": "NONE"}
THINKING_KEYS = ("thinkingBudget", "includeThoughts", "thinkingLevel")
AUTH_REASONS = {"API_KEY_INVALID", "API_KEY_EXPIRED", "API_KEY_SERVICE_BLOCKED", "ACCESS_TOKEN_EXPIRED"}


class GeminiAdapter(Adapter):
    protocol = "gemini"

    # --- requests -------------------------------------------------------------------------

    def _url(self, model: str, stream: bool) -> str:
        base = (self.endpoint.base_url or DEFAULT_BASE_URL).rstrip("/")
        name = quote(model.removeprefix("models/"), safe="")
        return f"{base}/models/{name}:" + ("streamGenerateContent?alt=sse" if stream else "generateContent")

    def _headers(self) -> dict[str, str]:
        headers = {"content-type": "application/json"}
        if self.endpoint.api_key:
            headers["x-goog-api-key"] = self.endpoint.api_key
        return {**headers, **self.endpoint.headers}

    async def stream(self, request: ModelRequest) -> AsyncIterator[StreamEvent]:
        body = build_body(request)
        async with self.open_stream(self._url(request.model, True), body, self._headers()) as response:
            reader = _Reader(self.provider)
            with map_transport_errors(self.provider):
                async for event in iter_sse(response):
                    if not event.data.strip():
                        continue
                    try:
                        chunk = json.loads(event.data)
                    except ValueError:
                        raise errors.StreamBroken(self.provider, f"bad JSON in the stream: {event.data[:200]!r}")
                    if isinstance(chunk, dict) and isinstance(chunk.get("error"), dict):
                        raise self._error_from_body(chunk, int(chunk["error"].get("code") or 500), None)
                    for out in reader.read(chunk):
                        yield out
            for out in reader.finish():
                yield out

    async def complete(self, request: ModelRequest) -> ModelResponse:
        data = await self.post_json(self._url(request.model, False), build_body(request), self._headers())

        async def events() -> AsyncIterator[StreamEvent]:
            reader = _Reader(self.provider)
            for event in itertools.chain(reader.read(data), reader.finish()):
                yield event

        return await collect(events())

    # --- errors ---------------------------------------------------------------------------

    def error_message(self, raw: bytes) -> tuple[str, str | None]:
        try:
            data = json.loads(raw)
        except ValueError:
            return raw.decode("utf-8", "replace")[:400], None
        if isinstance(data, list) and data:  # the non-SSE stream wraps errors in an array
            data = data[0]
        err = data.get("error") if isinstance(data, dict) else None
        if isinstance(err, dict):
            return str(err.get("message") or ""), err.get("status") or None
        return str(data)[:400], None

    def http_error(self, status: int, headers: Any, raw: bytes) -> errors.ProviderError:
        try:
            data: Any = json.loads(raw) if raw else None
        except ValueError:
            data = raw.decode("utf-8", "replace")
        if isinstance(data, list) and data:
            data = data[0]
        return self._error_from_body(data, status, headers)

    def _error_from_body(self, data: Any, status: int, headers: Any) -> errors.ProviderError:
        err = data.get("error") if isinstance(data, dict) else None
        err = err if isinstance(err, dict) else {}
        message = str(err.get("message") or (data if isinstance(data, str) else "") or "")
        code = err.get("status") or None
        details = [d for d in err.get("details") or [] if isinstance(d, dict)]
        reasons = {str(d.get("reason")) for d in details if d.get("reason")}
        retry_info = next((d for d in details if str(d.get("@type", "")).endswith("google.rpc.RetryInfo")), None)
        retry_after = retry_after_from_headers(headers) if headers is not None else None
        if retry_after is None and retry_info is not None:
            retry_after = _duration(retry_info.get("retryDelay"))
        kw: dict[str, Any] = {"status": status, "retry_after": retry_after, "body": data}
        if reasons & AUTH_REASONS or "api key not valid" in message.lower():
            return errors.AuthError(self.provider, message, **kw)
        if status == 429 and retry_info is not None:
            # Google words per-minute limits as "exceeded your current quota"; a RetryInfo says waiting helps.
            return errors.RateLimitError(self.provider, message, **kw)
        return errors.from_status(self.provider, status, message, code=code, retry_after=retry_after, body=data)


# --- reading responses --------------------------------------------------------------------


class _Reader:
    """Turns `GenerateContentResponse` objects (stream chunks, or the one whole reply) into events."""

    def __init__(self, provider: str) -> None:
        self.provider = provider
        self.reasoning_open = False
        self.trailing_signature: str | None = None
        self.finish_raw: str | None = None
        self.blocked = False
        self.has_calls = False
        self.calls = 0
        self.usage = Usage()

    def read(self, chunk: Any) -> Iterator[StreamEvent]:
        if not isinstance(chunk, dict):
            return
        if isinstance(chunk.get("usageMetadata"), dict):
            self.usage = usage_from(chunk["usageMetadata"])
        candidates = chunk.get("candidates") or []
        if not candidates:
            feedback = chunk.get("promptFeedback") or {}
            if isinstance(feedback, dict) and feedback.get("blockReason"):
                self.blocked = True
            return
        candidate = candidates[0] if isinstance(candidates[0], dict) else {}
        content = candidate.get("content") or {}
        for part in content.get("parts") or []:
            if isinstance(part, dict):
                yield from self._part(part)
        if candidate.get("finishReason"):
            self.finish_raw = str(candidate["finishReason"])

    def _part(self, part: dict[str, Any]) -> Iterator[StreamEvent]:
        signature = part.get("thoughtSignature") or None
        if part.get("thought"):
            if part.get("text"):
                self.reasoning_open = True
                yield ReasoningDelta(part["text"])
            if signature:
                self.reasoning_open = False
                yield ReasoningEnd(signature=signature)
            return
        call = part.get("functionCall")
        if self.reasoning_open or (signature and isinstance(call, dict)):
            # The part right after the thoughts (or a call) carries their signature: close the block with it.
            self.reasoning_open = False
            yield ReasoningEnd(signature=signature)
        elif signature:
            # A later text part carries it: keep it for the end of the reply, where replay puts it
            # back onto the last part.
            self.trailing_signature = signature
        if isinstance(call, dict):
            yield from self._call(call)
        elif part.get("text"):
            yield TextDelta(part["text"])

    def _call(self, call: dict[str, Any]) -> Iterator[StreamEvent]:
        self.calls += 1
        self.has_calls = True
        name = str(call.get("name") or "")
        call_id = str(call.get("id") or f"call_{self.calls}")
        args = call.get("args")
        args = {} if args is None else args
        raw = json.dumps(args)
        yield ToolCallStart(call_id, name)
        yield ToolCallDelta(call_id, raw)
        # Gemini sends args as a JSON object, never as text, so a call cannot be malformed JSON.
        if isinstance(args, dict):
            yield ToolCallEnd(call_id, name, args, raw)
        else:
            yield ToolCallEnd(call_id, name, None, raw, f"arguments must be a JSON object, got {type(args).__name__}")

    def finish(self) -> Iterator[StreamEvent]:
        if self.reasoning_open:
            self.reasoning_open = False
            yield ReasoningEnd()
        if self.trailing_signature:
            yield ReasoningEnd(signature=self.trailing_signature)
            self.trailing_signature = None
        if self.blocked:
            yield Finish("content_filter", self.usage)
            return
        if self.finish_raw is None:
            raise errors.StreamBroken(self.provider, "the stream ended before a finishReason")
        reason: FinishReason = FINISH_REASONS.get(self.finish_raw, "other")
        if reason == "stop" and self.has_calls:
            reason = "tool_calls"
        yield Finish(reason, self.usage)


def usage_from(meta: dict[str, Any]) -> Usage:
    prompt = int(meta.get("promptTokenCount") or 0)
    cached = int(meta.get("cachedContentTokenCount") or 0)
    # Tokens of tool-use prompts (e.g. search results) are billed as input but counted apart.
    tool_prompt = int(meta.get("toolUsePromptTokenCount") or 0)
    return Usage(
        input=max(0, prompt - cached) + tool_prompt,
        output=int(meta.get("candidatesTokenCount") or 0),
        reasoning=int(meta.get("thoughtsTokenCount") or 0),
        cache_read=cached,
    )


def _duration(value: Any) -> float | None:
    """Google's protobuf Duration in JSON: "17s" or "0.5s"."""
    if not isinstance(value, str) or not value.endswith("s"):
        return None
    try:
        return max(0.0, float(value[:-1]))
    except ValueError:
        return None


# --- building requests --------------------------------------------------------------------


def build_body(request: ModelRequest) -> dict[str, Any]:
    body: dict[str, Any] = {"contents": list(_contents(request))}
    system = [{"text": text} for text in request.system if text]
    if system:
        body["systemInstruction"] = {"parts": system}
    if request.tools:
        declarations = []
        for tool in request.tools:
            declaration: dict[str, Any] = {"name": tool.name, "description": tool.description}
            parameters = gemini_schema(tool.parameters)
            if parameters.get("properties"):
                declaration["parameters"] = parameters
            declarations.append(declaration)
        body["tools"] = [{"functionDeclarations": declarations}]
        if request.tool_choice:
            body["toolConfig"] = {"functionCallingConfig": {"mode": TOOL_MODES[request.tool_choice]}}
    config: dict[str, Any] = {}
    max_tokens = request.max_tokens or request.options.get("maxOutputTokens")
    if isinstance(max_tokens, int) and max_tokens > 0:
        config["maxOutputTokens"] = max_tokens
    if request.temperature is not None:
        config["temperature"] = request.temperature
    if request.top_p is not None:
        config["topP"] = request.top_p
    thinking = request.options.get("thinkingConfig")
    if isinstance(thinking, dict):
        picked = {key: thinking[key] for key in THINKING_KEYS if thinking.get(key) is not None}
        if picked:
            config["thinkingConfig"] = picked
    if config:
        body["generationConfig"] = config
    return body


def _contents(request: ModelRequest) -> Iterator[dict[str, Any]]:
    for message in request.messages:
        if isinstance(message, UserMessage):
            parts: list[dict[str, Any]] = []
            for part in message.parts:
                if isinstance(part, TextPart):
                    if part.text:
                        parts.append({"text": part.text})
                else:
                    data = base64.b64encode(part.data).decode()
                    parts.append({"inlineData": {"mimeType": part.media_type, "data": data}})
            if parts:
                yield {"role": "user", "parts": parts}
        elif isinstance(message, AssistantMessage):
            parts = _model_parts(message.parts)
            if parts:
                yield {"role": "model", "parts": parts}
        elif isinstance(message, ToolMessage) and message.results:
            # Function responses answer calls by name (and in order); Gemini's role for them is "user".
            responses = [
                {
                    "functionResponse": {
                        "name": result.name,
                        "response": {"error" if result.is_error else "output": result.output},
                    }
                }
                for result in message.results
            ]
            yield {"role": "user", "parts": responses}


def _model_parts(parts: Iterable[Any]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    pending: str | None = None
    for part in parts:
        if isinstance(part, ReasoningPart):
            if part.text:
                out.append({"text": part.text, "thought": True})
            if part.signature:
                pending = part.signature
            continue
        if isinstance(part, TextPart):
            if not part.text and not pending:
                continue
            item: dict[str, Any] = {"text": part.text}
        elif isinstance(part, ToolCallPart):
            item = {"functionCall": {"name": part.name, "args": part.arguments}}
        else:
            continue
        if pending:
            item["thoughtSignature"] = pending
            pending = None
        out.append(item)
    if pending and out and "thoughtSignature" not in out[-1]:
        out[-1]["thoughtSignature"] = pending
    return out


# --- tool schemas -------------------------------------------------------------------------

_STRING_FORMATS = {"enum", "date-time"}
_NUMBER_FORMATS = {"integer": {"int32", "int64"}, "number": {"float", "double"}}
_COPIED = ("description", "minimum", "maximum", "minItems", "maxItems", "minLength", "maxLength", "pattern")
_TYPES = {"string", "number", "integer", "boolean", "array", "object"}
_MAX_DEPTH = 12


def gemini_schema(schema: Any) -> dict[str, Any]:
    """Rewrite a JSON schema into the OpenAPI subset Gemini's function declarations accept.

    Local `$ref`s are inlined, `const` becomes a one-value enum, enums become strings (Gemini allows
    enums on strings only), `["x", "null"]` types and null branches of unions become `nullable`,
    and every key outside the subset (`additionalProperties`, `$schema`, `default`, ...) is dropped.
    """
    root = schema if isinstance(schema, dict) else {}
    defs = {**(root.get("definitions") or {}), **(root.get("$defs") or {})}
    return _convert(root, defs, 0)


def _convert(schema: Any, defs: dict[str, Any], depth: int) -> dict[str, Any]:
    if not isinstance(schema, dict) or depth > _MAX_DEPTH:
        return {}
    ref = schema.get("$ref")
    if isinstance(ref, str):
        target = defs.get(re.sub(r"^#/(\$defs|definitions)/", "", ref))
        merged = {**(target if isinstance(target, dict) else {}), **{k: v for k, v in schema.items() if k != "$ref"}}
        return _convert(merged, defs, depth + 1)
    out: dict[str, Any] = {}
    nullable = schema.get("nullable") is True
    kind = schema.get("type")
    if isinstance(kind, list):
        nullable = nullable or "null" in kind
        kind = next((k for k in kind if k != "null"), None)
    for key in ("anyOf", "oneOf"):
        branches = schema.get(key)
        if isinstance(branches, list):
            real = [b for b in branches if not (isinstance(b, dict) and b.get("type") == "null")]
            nullable = nullable or len(real) < len(branches)
            if len(real) == 1:
                inner = _convert(real[0], defs, depth + 1)
                inner.update({k: v for k, v in out.items() if k not in inner})
                out = inner
            elif real:
                out["anyOf"] = [_convert(b, defs, depth + 1) for b in real]
    all_of = schema.get("allOf")
    if isinstance(all_of, list):
        for branch in all_of:
            for k, v in _convert(branch, defs, depth + 1).items():
                if k == "properties":
                    out.setdefault("properties", {}).update(v)
                elif k == "required":
                    out["required"] = sorted({*out.get("required", []), *v})
                else:
                    out.setdefault(k, v)
    if isinstance(kind, str) and kind in _TYPES:
        out["type"] = kind
    values = [schema["const"]] if "const" in schema else schema.get("enum")
    if isinstance(values, list):
        nullable = nullable or None in values
        out["enum"] = [v if isinstance(v, str) else json.dumps(v) for v in values if v is not None]
        out["type"] = "string"
    for key in _COPIED:
        value = schema.get(key)
        if isinstance(value, str) if key in ("description", "pattern") else _is_number(value):
            out[key] = value
    fmt = schema.get("format")
    if isinstance(fmt, str):
        allowed = _STRING_FORMATS if out.get("type") == "string" else _NUMBER_FORMATS.get(out.get("type", ""), set())
        if fmt in allowed:
            out["format"] = fmt
    properties = schema.get("properties")
    if isinstance(properties, dict):
        out["type"] = "object"
        out["properties"] = {name: _convert(value, defs, depth + 1) for name, value in properties.items()}
        required = [name for name in schema.get("required") or [] if name in properties]
        if required:
            out["required"] = required
    if out.get("type") == "array" or "items" in schema:
        out["type"] = "array"
        items = schema.get("items")
        out["items"] = _convert(items[0] if isinstance(items, list) and items else items, defs, depth + 1)
    if nullable:
        out["nullable"] = True
    return out


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
