"""The AWS Bedrock Converse API wire adapter.

`POST {base}/model/{model id, URL-encoded}/converse`, and `/converse-stream` whose body is AWS's
binary event stream (`eventstream.py`): one frame per event, named by its `:event-type` header
(messageStart, contentBlockStart, contentBlockDelta, contentBlockStop, messageStop, metadata), or
an exception frame (`:message-type` exception, `:exception-type` throttlingException, ...).

Credentials, first match wins:
1. `accessKeyId` + `secretAccessKey` (+ `sessionToken`) in the provider options: SigV4;
2. a Bedrock API key, `endpoint.api_key` or `AWS_BEARER_TOKEN_BEDROCK`: `Authorization: Bearer`;
3. `AWS_ACCESS_KEY_ID` + `AWS_SECRET_ACCESS_KEY` (+ `AWS_SESSION_TOKEN`): SigV4.
The region is `options.region`, else `AWS_REGION` / `AWS_DEFAULT_REGION`, else us-east-1; the base
URL is `endpoint.base_url`, else `https://bedrock-runtime.{region}.amazonaws.com`.

Usage: Converse's `inputTokens` excludes `cacheReadInputTokens` and `cacheWriteInputTokens` (AWS
reports them separately; opencode's TypeScript port fixed its mapping to that reading), so they map
one to one. `outputTokens` includes any reasoning: Bedrock gives no split, so `reasoning` stays 0.

Left out: AWS profiles and SSO, the instance/container credential chain, InvokeModel, guardrails.
"""

from __future__ import annotations

import base64
import json
import os
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from opencode.provider import errors
from opencode.provider.adapters import sigv4
from opencode.provider.adapters.base import Adapter, decode_json, map_transport_errors, parse_arguments
from opencode.provider.adapters.eventstream import EventStreamDecoder, EventStreamError
from opencode.provider.retry import retry_after_from_headers
from opencode.provider.types import (
    AssistantContent,
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

STOP_REASONS: dict[str, FinishReason] = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "tool_use": "tool_calls",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "content_filtered": "content_filter",
    "guardrail_intervened": "content_filter",
    "malformed_model_output": "error",
    "malformed_tool_use": "error",
}
IMAGE_FORMATS = {
    "image/png": "png",
    "image/jpeg": "jpeg",
    "image/jpg": "jpeg",
    "image/gif": "gif",
    "image/webp": "webp",
}
DOCUMENT_FORMATS = {
    "application/pdf": "pdf",
    "text/csv": "csv",
    "application/msword": "doc",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "docx",
    "application/vnd.ms-excel": "xls",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "xlsx",
    "text/html": "html",
    "text/plain": "txt",
    "text/markdown": "md",
}


@dataclass(slots=True)
class Credentials:
    access_key: str
    secret_key: str
    session_token: str | None = None


class BedrockAdapter(Adapter):
    protocol = "bedrock"

    # --- requests -------------------------------------------------------------------------

    @property
    def region(self) -> str:
        region = self.endpoint.options.get("region") or os.environ.get("AWS_REGION")
        return str(region or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1")

    def _url(self, model: str, stream: bool) -> str:
        base = (self.endpoint.base_url or f"https://bedrock-runtime.{self.region}.amazonaws.com").rstrip("/")
        # Model ids and ARNs hold ':' and '/', which must be percent-encoded inside one path segment.
        return f"{base}/model/{quote(model, safe='')}/" + ("converse-stream" if stream else "converse")

    def _credentials(self) -> Credentials | str:
        """SigV4 credentials, or a Bedrock API key (a str) for bearer auth."""
        options = self.endpoint.options
        if options.get("accessKeyId") and options.get("secretAccessKey"):
            token = options.get("sessionToken")
            return Credentials(str(options["accessKeyId"]), str(options["secretAccessKey"]), token and str(token))
        bearer = self.endpoint.api_key or os.environ.get("AWS_BEARER_TOKEN_BEDROCK")
        if bearer:
            return bearer
        access, secret = os.environ.get("AWS_ACCESS_KEY_ID"), os.environ.get("AWS_SECRET_ACCESS_KEY")
        if access and secret:
            return Credentials(access, secret, os.environ.get("AWS_SESSION_TOKEN") or None)
        raise errors.AuthError(
            self.provider,
            "no AWS credentials",
            hint="Set AWS_BEARER_TOKEN_BEDROCK, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, "
            "or the provider options accessKeyId and secretAccessKey (AWS profiles are not read)",
        )

    def _signed(self, url: str, body: bytes) -> dict[str, str]:
        headers = {"content-type": "application/json"}
        credentials = self._credentials()
        if isinstance(credentials, str):
            headers["authorization"] = f"Bearer {credentials}"
        else:
            headers = sigv4.sign(
                "POST",
                url,
                headers,
                body,
                access_key=credentials.access_key,
                secret_key=credentials.secret_key,
                session_token=credentials.session_token,
                region=self.region,
                service="bedrock",
            )
        # Extra headers from config go on unsigned: a proxy may add or change its own.
        return {**headers, **{k.lower(): v for k, v in self.endpoint.headers.items() if k.lower() not in headers}}

    async def stream(self, request: ModelRequest) -> AsyncIterator[StreamEvent]:
        url = self._url(request.model, True)
        body = json.dumps(build_body(request)).encode()
        headers = self._signed(url, body)
        async with self.open_stream(url, body, headers) as response:
            reader = _StreamReader(self)
            decoder = EventStreamDecoder()
            with map_transport_errors(self.provider):
                async for data in response.aiter_bytes():
                    try:
                        messages = decoder.feed(data)
                    except EventStreamError as exc:
                        raise errors.StreamBroken(self.provider, str(exc)) from None
                    for message in messages:
                        if message.message_type != "event":
                            raise self._frame_error(message.headers, message.payload)
                        try:
                            payload = json.loads(message.payload or b"{}")
                        except ValueError:
                            raise errors.StreamBroken(self.provider, f"bad JSON in a {message.event_type} frame")
                        for event in reader.event(message.event_type, payload):
                            yield event
            if decoder.pending:
                raise errors.StreamBroken(self.provider, "the stream ended inside an event frame")
            for event in reader.finish():
                yield event

    async def complete(self, request: ModelRequest) -> ModelResponse:
        url = self._url(request.model, False)
        body = json.dumps(build_body(request)).encode()
        # `post_json` re-serialises a dict; SigV4 signs bytes, so send the exact bytes signed.
        async with self.open_stream(url, body, self._signed(url, body)) as response:
            with map_transport_errors(self.provider):
                raw = await response.aread()
        data = decode_json(self.provider, raw)
        return self._response(data if isinstance(data, dict) else {})

    def _response(self, data: dict[str, Any]) -> ModelResponse:
        parts: list[AssistantContent] = []
        malformed: list[ToolCallEnd] = []
        message = (data.get("output") or {}).get("message") or {}
        for block in message.get("content") or []:
            if not isinstance(block, dict):
                continue
            if isinstance(block.get("text"), str):
                if block["text"]:
                    parts.append(TextPart(block["text"]))
            elif isinstance(block.get("reasoningContent"), dict):
                reasoning = block["reasoningContent"]
                text_block = reasoning.get("reasoningText") or {}
                redacted = reasoning.get("redactedContent")
                parts.append(ReasoningPart(str(text_block.get("text") or ""), text_block.get("signature"), redacted))
            elif isinstance(block.get("toolUse"), dict):
                use = block["toolUse"]
                call_id, name, value = str(use.get("toolUseId") or ""), str(use.get("name") or ""), use.get("input")
                if isinstance(value, dict):
                    parts.append(ToolCallPart(call_id, name, value))
                else:
                    raw = value if isinstance(value, str) else json.dumps(value)
                    arguments, error = parse_arguments(raw)
                    if arguments is None:
                        malformed.append(ToolCallEnd(call_id, name, None, raw, error))
                    else:
                        parts.append(ToolCallPart(call_id, name, arguments))
        reason = STOP_REASONS.get(str(data.get("stopReason")), "other")
        return ModelResponse(parts, reason, usage_from(data.get("usage") or {}), malformed_tool_calls=malformed)

    # --- errors ---------------------------------------------------------------------------

    def error_message(self, raw: bytes) -> tuple[str, str | None]:
        try:
            data = json.loads(raw)
        except ValueError:
            return raw.decode("utf-8", "replace")[:400], None
        if not isinstance(data, dict):
            return str(data)[:400], None
        message = data.get("message") or data.get("Message") or ""
        return str(message), _str(data.get("__type"))

    def http_error(self, status: int, headers: Any, raw: bytes) -> errors.ProviderError:
        message, code = self.error_message(raw)
        kind = headers.get("x-amzn-errortype") if headers is not None else None
        kind = (kind or code or "").split(":")[0].split("#")[-1]
        try:
            body: Any = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode("utf-8", "replace")
        return self._mapped(kind, message, status, retry_after_from_headers(headers), body)

    def _frame_error(self, headers: dict[str, Any], payload: bytes) -> errors.ProviderError:
        if headers.get(":message-type") == "error":  # a protocol-level error frame
            return self._mapped(str(headers.get(":error-code") or ""), str(headers.get(":error-message") or ""))
        message, _ = self.error_message(payload)
        return self._mapped(str(headers.get(":exception-type") or ""), message)

    def _mapped(
        self, kind: str, message: str, status: int | None = None, retry_after: float | None = None, body: Any = None
    ) -> errors.ProviderError:
        """Map an AWS error type (an HTTP `x-amzn-ErrorType` or a stream `:exception-type`)."""
        name = kind[:1].lower() + kind[1:]  # streams spell types lowerCamel, HTTP headers UpperCamel
        kw: dict[str, Any] = {"status": status, "retry_after": retry_after, "body": body}
        cls: type[errors.ProviderError] | None = {
            "throttlingException": errors.RateLimitError,
            "serviceQuotaExceededException": errors.QuotaExceededError,
            "serviceUnavailableException": errors.OverloadedError,
            "modelNotReadyException": errors.OverloadedError,
            "internalServerException": errors.ServerError,
            "modelErrorException": errors.ServerError,
            "modelTimeoutException": errors.ProviderTimeout,
            "modelStreamErrorException": errors.StreamBroken,
            "accessDeniedException": errors.AuthError,
            "unrecognizedClientException": errors.AuthError,
            "invalidSignatureException": errors.AuthError,
            "incompleteSignatureException": errors.AuthError,
            "expiredTokenException": errors.AuthError,
            "missingAuthenticationTokenException": errors.AuthError,
        }.get(name)
        if name == "validationException":  # "Input is too long for requested model" and the like
            return errors.from_status(self.provider, 400, message, retry_after=retry_after, body=body)
        if cls is not None:
            return cls(self.provider, message, **kw)
        if status is not None:
            return errors.from_status(self.provider, status, message, code=kind or None, retry_after=retry_after)
        return errors.StreamBroken(self.provider, f"{kind or 'stream error'}: {message}".strip(": "))


# --- reading the stream ---------------------------------------------------------------------


@dataclass(slots=True)
class _Block:
    kind: str
    call_id: str = ""
    name: str = ""
    chunks: list[str] = field(default_factory=list)
    signature: str | None = None
    redacted: str | None = None


class _StreamReader:
    def __init__(self, adapter: BedrockAdapter) -> None:
        self.provider = adapter.provider
        self.blocks: dict[int, _Block] = {}
        self.stop_reason: str | None = None
        self.usage = Usage()

    def event(self, name: str, data: Any) -> list[StreamEvent]:
        if not isinstance(data, dict):
            return []
        index = int(data.get("contentBlockIndex") or 0)
        if name == "contentBlockStart":
            use = (data.get("start") or {}).get("toolUse")
            if isinstance(use, dict):
                block = _Block("tool", str(use.get("toolUseId") or ""), str(use.get("name") or ""))
                self.blocks[index] = block
                return [ToolCallStart(block.call_id, block.name)]
            return []
        if name == "contentBlockDelta":
            return self._delta(index, data.get("delta") or {})
        if name == "contentBlockStop":
            return self._close(self.blocks.pop(index)) if index in self.blocks else []
        if name == "messageStop":
            self.stop_reason = str(data.get("stopReason") or "end_turn")
        elif name == "metadata" and isinstance(data.get("usage"), dict):
            self.usage = usage_from(data["usage"])
        return []

    def _delta(self, index: int, delta: dict[str, Any]) -> list[StreamEvent]:
        if isinstance(delta.get("text"), str):
            self.blocks.setdefault(index, _Block("text"))
            return [TextDelta(delta["text"])] if delta["text"] else []
        if isinstance(delta.get("toolUse"), dict):
            block = self.blocks.get(index)
            piece = delta["toolUse"].get("input")
            if block is None or block.kind != "tool" or not isinstance(piece, str):
                return []
            block.chunks.append(piece)
            return [ToolCallDelta(block.call_id, piece)] if piece else []
        reasoning = delta.get("reasoningContent")
        if isinstance(reasoning, dict):
            block = self.blocks.setdefault(index, _Block("reasoning"))
            if reasoning.get("signature"):
                block.signature = str(reasoning["signature"])
            if reasoning.get("redactedContent"):
                block.redacted = str(reasoning["redactedContent"])
            if reasoning.get("text"):
                return [ReasoningDelta(str(reasoning["text"]))]
        return []

    def _close(self, block: _Block) -> list[StreamEvent]:
        if block.kind == "reasoning":
            return [ReasoningEnd(block.signature, block.redacted)]
        if block.kind == "tool":
            raw = "".join(block.chunks)
            arguments, error = parse_arguments(raw)
            return [ToolCallEnd(block.call_id, block.name, arguments, raw, error)]
        return []

    def finish(self) -> list[StreamEvent]:
        if self.stop_reason is None:
            raise errors.StreamBroken(self.provider, "the stream ended before messageStop")
        events: list[StreamEvent] = []
        for index in sorted(self.blocks):  # blocks the vendor never closed
            events.extend(self._close(self.blocks.pop(index)))
        events.append(Finish(STOP_REASONS.get(self.stop_reason, "other"), self.usage))
        return events


def usage_from(usage: dict[str, Any]) -> Usage:
    return Usage(
        input=int(usage.get("inputTokens") or 0),
        output=int(usage.get("outputTokens") or 0),
        cache_read=int(usage.get("cacheReadInputTokens") or 0),
        cache_write=int(usage.get("cacheWriteInputTokens") or 0),
    )


def _str(value: Any) -> str | None:
    return None if value is None else str(value)


# --- building requests ----------------------------------------------------------------------


def build_body(request: ModelRequest) -> dict[str, Any]:
    cache = _caching(request)
    body: dict[str, Any] = {"messages": _messages(request, cache)}
    system: list[dict[str, Any]] = [{"text": text} for text in request.system if text]
    if system:
        if cache:
            system.append({"cachePoint": {"type": "default"}})
        body["system"] = system
    inference: dict[str, Any] = {}
    max_tokens = request.max_tokens or request.options.get("maxOutputTokens")
    if isinstance(max_tokens, int) and max_tokens > 0:
        inference["maxTokens"] = max_tokens
    budget = _thinking_budget(request.options)
    if budget:
        body["additionalModelRequestFields"] = {"thinking": {"type": "enabled", "budget_tokens": budget}}
        # Anthropic counts thinking inside max_tokens and rejects temperature/top_p with thinking on.
        inference["maxTokens"] = inference.get("maxTokens", 4096) + budget
    else:
        if request.temperature is not None:
            inference["temperature"] = request.temperature
        if request.top_p is not None:
            inference["topP"] = request.top_p
    if inference:
        body["inferenceConfig"] = inference
    uses_tools = any(
        isinstance(m, ToolMessage) or any(isinstance(p, ToolCallPart) for p in getattr(m, "parts", []))
        for m in request.messages
    )
    # Bedrock has no "none" tool choice; leave tools out then, unless the history holds tool
    # blocks: those are rejected without a toolConfig.
    if request.tools and (request.tool_choice != "none" or uses_tools):
        tools = [
            {"toolSpec": {"name": t.name, "description": t.description, "inputSchema": {"json": t.parameters}}}
            for t in request.tools
        ]
        tool_config: dict[str, Any] = {"tools": tools}
        if request.tool_choice == "auto":
            tool_config["toolChoice"] = {"auto": {}}
        elif request.tool_choice == "required":
            tool_config["toolChoice"] = {"any": {}}
        body["toolConfig"] = tool_config
    return body


def _caching(request: ModelRequest) -> bool:
    option = request.options.get("promptCache")
    if isinstance(option, bool):
        return option
    # Cache points are rejected by models without prompt caching: on by default for Claude and Nova only.
    model = request.model.lower()
    return any(name in model for name in ("anthropic", "claude", "nova"))


def _thinking_budget(options: dict[str, Any]) -> int | None:
    for key in ("thinking", "reasoningConfig"):
        value = options.get(key)
        if isinstance(value, dict) and value.get("type") == "enabled":
            budget = value.get("budgetTokens") or value.get("budget_tokens")
            if isinstance(budget, int) and budget > 0:
                return budget
    return None


def _messages(request: ModelRequest, cache: bool) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for message in request.messages:
        role = "assistant" if isinstance(message, AssistantMessage) else "user"
        content = _content(message)
        if not content:
            continue
        # Converse requires strict user/assistant alternation: tool results and a following user
        # message share one user turn.
        if out and out[-1]["role"] == role:
            out[-1]["content"].extend(content)
        else:
            out.append({"role": role, "content": content})
    if cache:
        for turn in out[-2:]:
            turn["content"].append({"cachePoint": {"type": "default"}})
    return out


def _content(message: UserMessage | AssistantMessage | ToolMessage) -> list[dict[str, Any]]:
    content: list[dict[str, Any]] = []
    if isinstance(message, ToolMessage):
        for result in message.results:
            block: dict[str, Any] = {"toolUseId": result.call_id, "content": [{"text": result.output or "(no output)"}]}
            if result.is_error:
                block["status"] = "error"
            content.append({"toolResult": block})
    elif isinstance(message, UserMessage):
        for part in message.parts:
            if isinstance(part, TextPart):
                if part.text.strip():
                    content.append({"text": part.text})
                continue
            data = base64.b64encode(part.data).decode()
            media = part.media_type.lower()
            if media in IMAGE_FORMATS:
                content.append({"image": {"format": IMAGE_FORMATS[media], "source": {"bytes": data}}})
            elif media in DOCUMENT_FORMATS or media.startswith("text/"):
                fmt = DOCUMENT_FORMATS.get(media, "txt")
                name = _document_name(part.filename, len(content))
                content.append({"document": {"format": fmt, "name": name, "source": {"bytes": data}}})
            else:
                content.append({"text": f"[attachment {part.filename or media} omitted: Bedrock cannot read {media}]"})
    else:
        for item in message.parts:
            if isinstance(item, TextPart):
                if item.text.strip():
                    content.append({"text": item.text})
            elif isinstance(item, ReasoningPart):
                # Anthropic only takes reasoning back with its signature (or as redacted data).
                if item.redacted:
                    content.append({"reasoningContent": {"redactedContent": item.redacted}})
                elif item.signature:
                    text = {"text": item.text, "signature": item.signature}
                    content.append({"reasoningContent": {"reasoningText": text}})
            else:
                content.append({"toolUse": {"toolUseId": item.id, "name": item.name, "input": item.arguments}})
    return content


def _document_name(filename: str | None, index: int) -> str:
    # Bedrock allows letters, digits, whitespace (never two in a row), hyphens, parentheses, brackets.
    stem = (filename or "").rsplit(".", 1)[0]
    name = re.sub(r"\s+", " ", re.sub(r"[^A-Za-z0-9\s\-()\[\]]", "-", stem)).strip()
    return name or f"document-{index + 1}"
