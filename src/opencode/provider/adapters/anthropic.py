"""Anthropic's Messages API (`POST {base_url}/messages`), streamed and not.

Request: system prompt as text blocks, user / assistant messages of content blocks (Anthropic
requires the roles to alternate, so consecutive same-role messages are merged and tool results
travel in a user message), thinking blocks sent back with their signature, prompt-cache
breakpoints, tools as `input_schema` declarations. Reply: the event stream
(`message_start` ... `message_stop`) or the Message object, turned into our events and usage.

Left out: the beta features behind `anthropic-beta` headers (interleaved thinking, the 1M
context window, computer use); a caller that wants one sets the header in `Endpoint.headers`.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from opencode.provider import errors
from opencode.provider.adapters.base import (
    Adapter,
    finish_reason,
    map_transport_errors,
    parse_arguments,
    read_rest,
)
from opencode.provider.sse import iter_sse
from opencode.provider.types import (
    AssistantContent,
    AssistantMessage,
    FilePart,
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

API_VERSION = "2023-06-01"
DEFAULT_MAX_TOKENS = 4096
MAX_CACHE_BREAKPOINTS = 4
CACHE_CONTROL = {"type": "ephemeral"}

STOP_REASONS: dict[str, FinishReason] = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "pause_turn": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
}

# The HTTP status each error type stands for (Anthropic's errors page); used for errors that
# arrive inside a 200 stream, where the status line cannot tell.
ERROR_STATUS: dict[str, int] = {
    "invalid_request_error": 400,
    "authentication_error": 401,
    "billing_error": 402,
    "permission_error": 403,
    "not_found_error": 404,
    "request_too_large": 413,
    "rate_limit_error": 429,
    "api_error": 500,
    "timeout_error": 504,
    "overloaded_error": 529,
}

_TOOL_ID = re.compile(r"[^a-zA-Z0-9_-]")


class AnthropicAdapter(Adapter):
    protocol = "anthropic"

    # --- the request ----------------------------------------------------------------------

    def headers(self) -> dict[str, str]:
        return self.json_headers("x-api-key", "", {"anthropic-version": API_VERSION})

    def body(self, request: ModelRequest, *, stream: bool) -> dict[str, Any]:
        options = request.options
        max_tokens = request.max_tokens or _positive_int(options.get("maxOutputTokens")) or DEFAULT_MAX_TOKENS
        body: dict[str, Any] = {"model": request.model, "max_tokens": max_tokens}
        system = [{"type": "text", "text": text} for text in request.system if text]
        if system:
            body["system"] = system
        body["messages"] = build_messages(request)
        thinking = thinking_config(options.get("thinking"))
        if thinking is not None:
            body["thinking"] = thinking
            budget = thinking.get("budget_tokens")
            # max_tokens counts the thinking too and must exceed the budget: keep the requested
            # room for the answer on top of the budget.
            if isinstance(budget, int) and max_tokens <= budget:
                body["max_tokens"] = budget + max_tokens
        thinking_on = thinking is not None and thinking.get("type") != "disabled"
        # Thinking rejects any temperature but 1, and top_p below 0.95.
        if request.temperature is not None and not thinking_on:
            body["temperature"] = request.temperature
        if request.top_p is not None and (not thinking_on or request.top_p >= 0.95):
            body["top_p"] = request.top_p
        if request.tools:
            body["tools"] = [
                {"name": tool.name, "description": tool.description, "input_schema": tool.parameters}
                for tool in request.tools
            ]
            if request.tool_choice is not None:
                body["tool_choice"] = {"type": {"auto": "auto", "required": "any", "none": "none"}[request.tool_choice]}
        if options.get("promptCache") is not False:
            add_cache_breakpoints(body)
        if stream:
            body["stream"] = True
        return body

    # --- streamed -------------------------------------------------------------------------

    async def stream(self, request: ModelRequest) -> AsyncIterator[StreamEvent]:
        url = self.endpoint.url("messages")
        async with self.open_stream(url, self.body(request, stream=True), self.headers()) as response:
            with map_transport_errors(self.provider):
                state = _StreamState()
                events = iter_sse(response)
                async for sse in events:
                    if not sse.data:
                        continue
                    try:
                        data = json.loads(sse.data)
                    except ValueError:
                        raise errors.StreamBroken(self.provider, f"undecodable event: {sse.data[:200]!r}") from None
                    for event in self._on_event(data, state):
                        yield event
                    if state.finished:
                        await read_rest(events)
                        return
        raise errors.StreamBroken(self.provider, "the stream ended before message_stop")

    def _on_event(self, data: dict[str, Any], state: _StreamState) -> list[StreamEvent]:
        kind = data.get("type")
        if kind == "message_start":
            state.read_usage(data.get("message", {}).get("usage") or {})
        elif kind == "content_block_start":
            return state.start_block(data.get("index", 0), data.get("content_block") or {})
        elif kind == "content_block_delta":
            return state.delta(data.get("index", 0), data.get("delta") or {})
        elif kind == "content_block_stop":
            return state.stop_block(data.get("index", 0))
        elif kind == "message_delta":
            state.stop_reason = (data.get("delta") or {}).get("stop_reason") or state.stop_reason
            state.read_usage(data.get("usage") or {})
        elif kind == "message_stop":
            state.finished = True
            return [Finish(finish_reason(state.stop_reason, STOP_REASONS), state.usage())]
        elif kind == "error":
            raise self.stream_error(data)
        # ping and event types added later carry nothing we use.
        return []

    def stream_error(self, data: dict[str, Any]) -> errors.ProviderError:
        error = data.get("error") or {}
        kind = str(error.get("type") or "api_error")
        message = str(error.get("message") or kind)
        if kind == "billing_error":
            return errors.QuotaExceededError(self.provider, message, body=data)
        return errors.from_status(self.provider, ERROR_STATUS.get(kind, 500), message, code=kind, body=data)

    # --- not streamed ---------------------------------------------------------------------

    async def complete(self, request: ModelRequest) -> ModelResponse:
        url = self.endpoint.url("messages")
        data = await self.post_json(url, self.body(request, stream=False), self.headers())
        if not isinstance(data, dict):
            raise errors.BadRequestError(self.provider, "the response is not a Message object")
        parts: list[AssistantContent] = []
        malformed: list[ToolCallEnd] = []
        for block in data.get("content") or []:
            kind = block.get("type")
            if kind == "text":
                parts.append(TextPart(block.get("text", "")))
            elif kind == "thinking":
                parts.append(ReasoningPart(block.get("thinking", ""), signature=block.get("signature")))
            elif kind == "redacted_thinking":
                parts.append(ReasoningPart("", redacted=block.get("data")))
            elif kind == "tool_use":
                call_input = block.get("input")
                if isinstance(call_input, dict):
                    parts.append(ToolCallPart(block.get("id", ""), block.get("name", ""), call_input))
                else:
                    raw = call_input if isinstance(call_input, str) else json.dumps(call_input)
                    arguments, error = parse_arguments(raw)
                    if arguments is None:
                        malformed.append(ToolCallEnd(block.get("id", ""), block.get("name", ""), None, raw, error))
                    else:
                        parts.append(ToolCallPart(block.get("id", ""), block.get("name", ""), arguments))
        return ModelResponse(
            parts=parts,
            finish_reason=finish_reason(data.get("stop_reason"), STOP_REASONS),
            usage=read_usage(data.get("usage") or {}),
            malformed_tool_calls=malformed,
        )

    # --- errors ---------------------------------------------------------------------------

    def http_error(self, status: int, headers: Any, raw: bytes) -> errors.ProviderError:
        # The body is {"type": "error", "error": {"type": ..., "message": ...}}, which the base
        # class reads. A billing_error (402, or 400 on older accounts) is spent credit: not
        # retried, with the hint to add credit. A 400 that merely mentions the credit balance
        # under invalid_request_error stays a BadRequestError with Anthropic's message.
        error = super().http_error(status, headers, raw)
        _, code = self.error_message(raw)
        if code == "billing_error" and not isinstance(error, errors.QuotaExceededError):
            return errors.QuotaExceededError(
                self.provider, error.message, status=status, retry_after=error.retry_after, body=error.body
            )
        return error


# --- building the request -----------------------------------------------------------------


def build_messages(request: ModelRequest) -> list[dict[str, Any]]:
    """Our messages as Anthropic's, merged so that user and assistant alternate."""
    out: list[dict[str, Any]] = []
    for message in request.messages:
        if isinstance(message, UserMessage):
            role, content = "user", [user_block(part) for part in message.parts]
        elif isinstance(message, ToolMessage):
            role = "user"
            content = [
                {
                    "type": "tool_result",
                    "tool_use_id": tool_id(result.call_id),
                    "content": result.output,
                    **({"is_error": True} if result.is_error else {}),
                }
                for result in message.results
            ]
        else:
            role, content = "assistant", assistant_blocks(message)
        content = [block for block in content if block is not None and not _empty_text(block)]
        if not content:
            continue
        if out and out[-1]["role"] == role:
            out[-1]["content"].extend(content)
        else:
            out.append({"role": role, "content": content})
    return out


def user_block(part: TextPart | FilePart) -> dict[str, Any] | None:
    if isinstance(part, TextPart):
        return {"type": "text", "text": part.text}
    source = {"type": "base64", "media_type": part.media_type, "data": base64.b64encode(part.data).decode("ascii")}
    if part.media_type.startswith("image/"):
        return {"type": "image", "source": source}
    if part.media_type == "application/pdf":
        return {"type": "document", "source": source}
    if part.media_type.startswith("text/"):
        text = part.data.decode("utf-8", "replace")
        source = {"type": "text", "media_type": "text/plain", "data": text}
        return {"type": "document", "source": source, **({"title": part.filename} if part.filename else {})}
    return None


def assistant_blocks(message: AssistantMessage) -> list[dict[str, Any] | None]:
    blocks: list[dict[str, Any] | None] = []
    for part in message.parts:
        if isinstance(part, TextPart):
            blocks.append({"type": "text", "text": part.text})
        elif isinstance(part, ReasoningPart):
            # Anthropic only accepts thinking it signed; reasoning from elsewhere is dropped.
            if part.redacted:
                blocks.append({"type": "redacted_thinking", "data": part.redacted})
            elif part.signature:
                blocks.append({"type": "thinking", "thinking": part.text, "signature": part.signature})
        else:
            blocks.append({"type": "tool_use", "id": tool_id(part.id), "name": part.name, "input": part.arguments})
    return blocks


def tool_id(call_id: str) -> str:
    """Anthropic's tool ids must match ^[a-zA-Z0-9_-]+$; ids from other vendors may not."""
    return _TOOL_ID.sub("_", call_id) or "tool"


def thinking_config(value: Any) -> dict[str, Any] | None:
    """opencode's `thinking` option ({"type": "enabled", "budgetTokens": N}) in Anthropic's terms."""
    if not isinstance(value, dict) or not isinstance(value.get("type"), str):
        return None
    if value["type"] != "enabled":
        return {"type": value["type"]}
    budget = value.get("budgetTokens", value.get("budget_tokens"))
    if not isinstance(budget, int):
        return None
    return {"type": "enabled", "budget_tokens": budget}


def add_cache_breakpoints(body: dict[str, Any]) -> None:
    """Mark the last system block and the last block of the last two messages as cacheable.

    The prefix up to each breakpoint is cached, so the next turn (which repeats all of it) reads
    it back; two message breakpoints keep the cache warm when a turn adds two messages.
    """
    targets: list[dict[str, Any]] = []
    if body.get("system"):
        targets.append(body["system"][-1])
    for message in body["messages"][-2:]:
        # Thinking blocks cannot carry cache_control; use the last block that can.
        for block in reversed(message["content"]):
            if block.get("type") not in ("thinking", "redacted_thinking"):
                targets.append(block)
                break
    for block in targets[:MAX_CACHE_BREAKPOINTS]:
        block["cache_control"] = dict(CACHE_CONTROL)


def _empty_text(block: dict[str, Any]) -> bool:
    # Anthropic rejects empty text blocks ("text content blocks must be non-empty").
    return block.get("type") == "text" and not block.get("text", "").strip()


def _positive_int(value: Any) -> int | None:
    return value if isinstance(value, int) and value > 0 else None


# --- reading the reply --------------------------------------------------------------------


def read_usage(usage: dict[str, Any]) -> Usage:
    # Anthropic's input_tokens already excludes cache reads and writes, so the counts go over
    # as they are. output_tokens includes thinking, and Anthropic does not report thinking
    # tokens apart, so reasoning stays 0 and output is the whole output_tokens.
    return Usage(
        input=int(usage.get("input_tokens") or 0),
        output=int(usage.get("output_tokens") or 0),
        cache_read=int(usage.get("cache_read_input_tokens") or 0),
        cache_write=int(usage.get("cache_creation_input_tokens") or 0),
    )


@dataclass
class _Block:
    kind: str
    id: str = ""
    name: str = ""
    text: list[str] = field(default_factory=list)
    signature: str | None = None
    redacted: str | None = None


@dataclass
class _StreamState:
    """What one streamed reply has said so far: open content blocks by index, usage, stop."""

    blocks: dict[int, _Block] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    stop_reason: str | None = None
    finished: bool = False

    def read_usage(self, usage: dict[str, Any]) -> None:
        # message_start carries the input counts, message_delta the running output count (and,
        # in newer API versions, final input counts too); the latest value of each wins.
        for key in ("input_tokens", "output_tokens", "cache_read_input_tokens", "cache_creation_input_tokens"):
            value = usage.get(key)
            if isinstance(value, int):
                self.counts[key] = value

    def usage(self) -> Usage:
        return read_usage(self.counts)

    def start_block(self, index: int, block: dict[str, Any]) -> list[StreamEvent]:
        kind = str(block.get("type", ""))
        state = _Block(kind)
        self.blocks[index] = state
        if kind == "text" and block.get("text"):
            return [TextDelta(block["text"])]
        if kind == "thinking":
            state.signature = block.get("signature") or None
            if block.get("thinking"):
                return [ReasoningDelta(block["thinking"])]
        elif kind == "redacted_thinking":
            state.redacted = block.get("data")
        elif kind == "tool_use":
            state.id, state.name = str(block.get("id", "")), str(block.get("name", ""))
            # The block's own `input` is {} when arguments follow as input_json_delta.
            initial = block.get("input")
            if isinstance(initial, dict) and initial:
                state.text.append(json.dumps(initial))
            return [ToolCallStart(state.id, state.name)]
        return []

    def delta(self, index: int, delta: dict[str, Any]) -> list[StreamEvent]:
        state = self.blocks.get(index)
        kind = delta.get("type")
        if state is None:
            return []
        if kind == "text_delta":
            return [TextDelta(delta.get("text", ""))]
        if kind == "thinking_delta":
            return [ReasoningDelta(delta.get("thinking", ""))]
        if kind == "signature_delta":
            state.signature = (state.signature or "") + delta.get("signature", "")
        elif kind == "input_json_delta":
            piece = delta.get("partial_json", "")
            state.text.append(piece)
            if piece:
                return [ToolCallDelta(state.id, piece)]
        return []

    def stop_block(self, index: int) -> list[StreamEvent]:
        state = self.blocks.pop(index, None)
        if state is None:
            return []
        if state.kind in ("thinking", "redacted_thinking"):
            return [ReasoningEnd(signature=state.signature, redacted=state.redacted)]
        if state.kind == "tool_use":
            raw = "".join(state.text)
            arguments, error = parse_arguments(raw)
            return [ToolCallEnd(state.id, state.name, arguments, raw, error)]
        return []
