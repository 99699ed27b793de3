"""Cohere's v2 Chat API (`POST {base_url}/chat`, base `https://api.cohere.com/v2`), streamed and not.

Request: system / user / assistant / tool messages, tools as `{"type": "function", ...}`,
`tool_choice` ("REQUIRED" / "NONE"), `p` for top_p and `thinking` for Command A Reasoning.
Reply: the server-sent events (`message-start`, `content-*`, `tool-plan-delta`, `tool-call-*`,
`message-end`) or the chat response object.

Cohere writes the text it says before calling tools into `tool_plan`, not `content`; we treat it
as ordinary text and send an assistant message's text back as `tool_plan` when it made tool
calls. Thinking is not sent back (Cohere does not ask for it). Files: images go as `image_url`
data URIs and text files as text; Cohere's chat cannot read PDFs, so they are dropped.
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

FINISH_REASONS: dict[str, FinishReason] = {
    "COMPLETE": "stop",
    "STOP_SEQUENCE": "stop",
    "MAX_TOKENS": "length",
    "TOOL_CALL": "tool_calls",
    "ERROR": "error",
    "TIMEOUT": "error",
}
TOOL_CHOICE = {"required": "REQUIRED", "none": "NONE"}
# A Trial key's monthly allowance is spent: waiting a few seconds will not bring it back.
_MONTHLY_LIMIT = re.compile(r"/\s*month|monthly|per month", re.IGNORECASE)


class CohereAdapter(Adapter):
    protocol = "cohere"

    # --- the request ----------------------------------------------------------------------

    def headers(self) -> dict[str, str]:
        return self.json_headers(extra={"accept": "application/json"})

    def body(self, request: ModelRequest, *, stream: bool) -> dict[str, Any]:
        body: dict[str, Any] = {"model": request.model, "messages": build_messages(request), "stream": stream}
        max_tokens = request.max_tokens or request.options.get("maxOutputTokens")
        if isinstance(max_tokens, int) and max_tokens > 0:
            body["max_tokens"] = max_tokens
        if request.temperature is not None:
            body["temperature"] = request.temperature
        if request.top_p is not None:
            body["p"] = request.top_p
        if request.tools:
            body["tools"] = [
                {
                    "type": "function",
                    "function": {"name": t.name, "description": t.description, "parameters": t.parameters},
                }
                for t in request.tools
            ]
            # "auto" is Cohere's default and has no value of its own.
            if request.tool_choice in TOOL_CHOICE:
                body["tool_choice"] = TOOL_CHOICE[request.tool_choice]
        thinking = thinking_config(request.options.get("thinking"))
        if thinking is not None:
            body["thinking"] = thinking
        return body

    # --- streamed -------------------------------------------------------------------------

    async def stream(self, request: ModelRequest) -> AsyncIterator[StreamEvent]:
        url = self.endpoint.url("chat")
        headers = {**self.headers(), "accept": "text/event-stream"}
        async with self.open_stream(url, self.body(request, stream=True), headers) as response:
            with map_transport_errors(self.provider):
                state = _StreamState()
                events = iter_sse(response)
                async for sse in events:
                    if not sse.data or sse.data.strip() == "[DONE]":
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
        raise errors.StreamBroken(self.provider, "the stream ended before message-end")

    def _on_event(self, data: dict[str, Any], state: _StreamState) -> list[StreamEvent]:
        kind = data.get("type")
        index = data.get("index", 0)
        message = (data.get("delta") or {}).get("message") or {}
        if kind == "content-start":
            content = message.get("content") or {}
            thinking = content.get("type") == "thinking"
            state.content[index] = thinking
            initial = content.get("thinking" if thinking else "text")
            if initial:
                return [ReasoningDelta(initial) if thinking else TextDelta(initial)]
        elif kind == "content-delta":
            content = message.get("content") or {}
            if content.get("thinking"):
                return [ReasoningDelta(content["thinking"])]
            if content.get("text"):
                return [TextDelta(content["text"])]
        elif kind == "content-end":
            if state.content.pop(index, False):
                return [ReasoningEnd()]
        elif kind == "tool-plan-delta":
            if message.get("tool_plan"):
                return [TextDelta(message["tool_plan"])]
        elif kind == "tool-call-start":
            return state.start_call(index, message.get("tool_calls") or {})
        elif kind == "tool-call-delta":
            piece = ((message.get("tool_calls") or {}).get("function") or {}).get("arguments") or ""
            call = state.calls.get(index)
            if call is not None and piece:
                call.raw.append(piece)
                return [ToolCallDelta(call.id, piece)]
        elif kind == "tool-call-end":
            call = state.calls.pop(index, None)
            if call is not None:
                return [tool_call_end(call.id, call.name, "".join(call.raw))]
        elif kind == "message-end":
            delta = data.get("delta") or {}
            if delta.get("error"):
                raise errors.from_status(self.provider, 500, str(delta["error"]), body=data)
            state.finished = True
            reason = finish_reason(delta.get("finish_reason"), FINISH_REASONS)
            return [Finish(reason, read_usage(delta.get("usage") or {}))]
        # message-start, citation-start / -end and debug events carry nothing we use.
        return []

    # --- not streamed ---------------------------------------------------------------------

    async def complete(self, request: ModelRequest) -> ModelResponse:
        data = await self.post_json(self.endpoint.url("chat"), self.body(request, stream=False), self.headers())
        if not isinstance(data, dict):
            raise errors.BadRequestError(self.provider, "the response is not a chat response object")
        message = data.get("message") or {}
        content = message.get("content") or []
        parts: list[AssistantContent] = []
        malformed: list[ToolCallEnd] = []
        for item in content:
            if item.get("type") == "thinking" and item.get("thinking"):
                parts.append(ReasoningPart(item["thinking"]))
        if message.get("tool_plan"):
            parts.append(TextPart(message["tool_plan"]))
        for item in content:
            if item.get("type") == "text" and item.get("text"):
                parts.append(TextPart(item["text"]))
        for call in message.get("tool_calls") or []:
            function = call.get("function") or {}
            end = tool_call_end(str(call.get("id", "")), str(function.get("name", "")), function.get("arguments"))
            if end.arguments is None:
                malformed.append(end)
            else:
                parts.append(ToolCallPart(end.id, end.name, end.arguments))
        return ModelResponse(
            parts=parts,
            finish_reason=finish_reason(data.get("finish_reason"), FINISH_REASONS),
            usage=read_usage(data.get("usage") or {}),
            malformed_tool_calls=malformed,
        )

    # --- errors ---------------------------------------------------------------------------

    def http_error(self, status: int, headers: Any, raw: bytes) -> errors.ProviderError:
        # Error bodies are {"id": "...", "message": "..."}, which the base class reads.
        error = super().http_error(status, headers, raw)
        kw: dict[str, Any] = {"status": status, "retry_after": error.retry_after, "body": error.body}
        if status == 402 or (status == 429 and _MONTHLY_LIMIT.search(error.message)):
            return errors.QuotaExceededError(self.provider, error.message, **kw)
        if status == 498:  # Cohere's "invalid token"
            return errors.AuthError(self.provider, error.message, **kw)
        return error


# --- building the request -----------------------------------------------------------------


def build_messages(request: ModelRequest) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    system = [{"type": "text", "text": text} for text in request.system if text]
    if system:
        out.append({"role": "system", "content": system})
    for message in request.messages:
        if isinstance(message, UserMessage):
            content = [item for item in (user_item(part) for part in message.parts) if item is not None]
            if content:
                out.append({"role": "user", "content": content})
        elif isinstance(message, ToolMessage):
            for result in message.results:
                out.append({"role": "tool", "tool_call_id": result.call_id, "content": result.output})
        else:
            converted = assistant_message(message)
            if converted is not None:
                out.append(converted)
    return out


def user_item(part: TextPart | FilePart) -> dict[str, Any] | None:
    if isinstance(part, TextPart):
        return {"type": "text", "text": part.text} if part.text else None
    if part.media_type.startswith("image/"):
        url = f"data:{part.media_type};base64,{base64.b64encode(part.data).decode('ascii')}"
        return {"type": "image_url", "image_url": {"url": url}}
    if part.media_type.startswith("text/"):
        return {"type": "text", "text": part.data.decode("utf-8", "replace")}
    return None


def assistant_message(message: AssistantMessage) -> dict[str, Any] | None:
    text = "".join(part.text for part in message.parts if isinstance(part, TextPart))
    calls = [
        {"id": p.id, "type": "function", "function": {"name": p.name, "arguments": json.dumps(p.arguments)}}
        for p in message.parts
        if isinstance(p, ToolCallPart)
    ]
    if calls:
        return {"role": "assistant", "tool_calls": calls, **({"tool_plan": text} if text else {})}
    if not text:
        return None
    return {"role": "assistant", "content": [{"type": "text", "text": text}]}


def thinking_config(value: Any) -> dict[str, Any] | None:
    """The `thinking` option: {"type": "enabled", "tokenBudget": N} (or "budgetTokens")."""
    if not isinstance(value, dict) or value.get("type") not in ("enabled", "disabled"):
        return None
    config: dict[str, Any] = {"type": value["type"]}
    budget = value.get("tokenBudget", value.get("budgetTokens", value.get("token_budget")))
    if value["type"] == "enabled" and isinstance(budget, int) and budget > 0:
        config["token_budget"] = budget
    return config


# --- reading the reply --------------------------------------------------------------------


def read_usage(usage: dict[str, Any]) -> Usage:
    # `tokens` counts what the model processed (billed_units is what was charged, after
    # discounts). tokens.input_tokens includes the `cached_tokens` read from the prompt cache,
    # so they are taken out of input. output_tokens includes thinking, which Cohere does not
    # count apart, so reasoning stays 0.
    tokens = usage.get("tokens") or {}
    cached = int(usage.get("cached_tokens") or 0)
    total_input = int(tokens.get("input_tokens") or 0)
    return Usage(
        input=max(0, total_input - cached),
        output=int(tokens.get("output_tokens") or 0),
        cache_read=cached,
    )


def tool_call_end(call_id: str, name: str, raw: Any) -> ToolCallEnd:
    text = raw if isinstance(raw, str) else json.dumps(raw)
    # Cohere sends "null" as the arguments of a call to a tool without parameters.
    arguments, error = ({}, None) if text.strip() == "null" else parse_arguments(text)
    return ToolCallEnd(call_id, name, arguments, text, error)


@dataclass
class _Call:
    id: str
    name: str
    raw: list[str] = field(default_factory=list)


@dataclass
class _StreamState:
    content: dict[int, bool] = field(default_factory=dict)
    """Open content blocks by index: True for thinking."""
    calls: dict[int, _Call] = field(default_factory=dict)
    finished: bool = False

    def start_call(self, index: int, call: dict[str, Any]) -> list[StreamEvent]:
        function = call.get("function") or {}
        state = _Call(str(call.get("id", "")), str(function.get("name", "")))
        self.calls[index] = state
        events: list[StreamEvent] = [ToolCallStart(state.id, state.name)]
        initial = function.get("arguments") or ""
        if initial:
            state.raw.append(initial)
            events.append(ToolCallDelta(state.id, initial))
        return events
