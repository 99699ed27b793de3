"""OpenAI Chat Completions: the wire protocol most vendors speak.

`POST {base_url}/chat/completions` with `Authorization: Bearer <key>` (no header without a key:
ollama, LM Studio and llama.cpp need none). Besides OpenAI this adapter serves the compatible
vendors (Groq, Mistral, xAI, Together, Cerebras, OpenRouter, Perplexity, DeepSeek, Fireworks,
GitHub Models, Hugging Face, Ollama, LM Studio, llama.cpp): a vendor that differs overrides one of
the small `build_*` / `*_message` methods instead of copying the class.

Vendor differences handled here as data:
- `stream_options: {"include_usage": true}` is sent unless the provider option `includeUsage` is
  False (some compatible servers reject the field).
- The output limit goes out as `max_tokens`, which every compatible server accepts. OpenAI's
  reasoning models (o-series, gpt-5) want `max_completion_tokens`: set the option
  `maxTokensField` to that name, per model or per provider (the model's option wins).
- Reasoning arrives as `reasoning_content` (DeepSeek, llama.cpp, vLLM) or `reasoning`
  (OpenRouter, Groq, ollama); both become `ReasoningDelta`. OpenAI itself does not stream it.
- A vendor that omits tool-call ids gets generated ones; one that reuses index 0 for every
  parallel call (new id, same index) still yields separate calls.

Left out: the legacy `functions` / `function_call` fields, `n` > 1, logprobs and audio.
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any, ClassVar

from opencode.provider import errors
from opencode.provider.adapters.base import (
    Adapter,
    Endpoint,
    error_fields,
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
    ToolSpec,
    Usage,
    UserMessage,
)

FINISH_REASONS: dict[str, FinishReason] = {
    "stop": "stop",
    "length": "length",
    "tool_calls": "tool_calls",
    "function_call": "tool_calls",
    "content_filter": "content_filter",
    # Compatible vendors' own words for the same things (Mistral, llama.cpp, TGI).
    "end_turn": "stop",
    "eos": "stop",
    "eos_token": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "model_length": "length",
    "tool_use": "tool_calls",
    "error": "error",
}

# Error codes and types that OpenAI and compatible vendors put in an error sent inside a 200
# response (a stream's error event, a failed Responses object), with the status they stand for.
_CODE_STATUS: dict[str, int] = {
    "rate_limit_exceeded": 429,
    "requests": 429,
    "tokens": 429,
    "insufficient_quota": 429,
    "server_error": 500,
    "internal_error": 500,
    "server_is_overloaded": 503,
    "overloaded": 503,
    "overloaded_error": 503,
    "slow_down": 503,
    "context_length_exceeded": 400,
    "invalid_request_error": 400,
    "invalid_prompt": 400,
    "invalid_api_key": 401,
}


def data_url(part: FilePart) -> str:
    return f"data:{part.media_type};base64,{base64.b64encode(part.data).decode('ascii')}"


def option(request: ModelRequest, endpoint_options: dict[str, Any], key: str) -> Any:
    """A model option, falling back to the provider's option of the same name."""
    if key in request.options:
        return request.options[key]
    return endpoint_options.get(key)


def stream_error(provider: str, payload: Any) -> errors.ProviderError:
    """Map an error the vendor reported inside a successful response (no HTTP error status).

    The class comes from the error's code (or an HTTP status some vendors put there, such as
    OpenRouter's `"code": 502`); unknown codes count as a server failure. The error carries no
    status because the HTTP exchange itself succeeded.
    """
    message, code = error_fields(payload)
    err = payload.get("error") if isinstance(payload, dict) else None
    kinds = [code, err.get("type") if isinstance(err, dict) else None]
    status = 500
    for value in kinds:
        if value is None:
            continue
        kind = str(value)
        if kind.isdigit() and 400 <= int(kind) <= 599:
            status = int(kind)
            break
        if kind in _CODE_STATUS:
            status = _CODE_STATUS[kind]
            break
    mapped = errors.from_status(provider, status, message, code=code, body=payload)
    return type(mapped)(provider, message, body=payload)


def chat_usage(usage: dict[str, Any] | None) -> Usage:
    """Normalise Chat Completions usage: prompt_tokens includes cached input, completion_tokens reasoning."""
    if not usage:
        return Usage()
    prompt = _int(usage.get("prompt_tokens"))
    completion = _int(usage.get("completion_tokens"))
    prompt_details = usage.get("prompt_tokens_details") or {}
    completion_details = usage.get("completion_tokens_details") or {}
    cached = _int(prompt_details.get("cached_tokens")) or _int(usage.get("prompt_cache_hit_tokens"))  # DeepSeek
    written = _int(prompt_details.get("cache_write_tokens"))  # OpenRouter, for Anthropic models behind it
    reasoning = _int(completion_details.get("reasoning_tokens"))
    return Usage(
        input=max(0, prompt - cached - written),
        output=max(0, completion - reasoning),
        reasoning=reasoning,
        cache_read=cached,
        cache_write=written,
    )


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


@dataclass
class _PendingCall:
    id: str
    name: str = ""
    raw: str = ""
    started: bool = False


class ChatStreamParser:
    """Turns Chat Completions chunks into our events; `close` ends open calls and finishes."""

    def __init__(self, provider: str, reasons: dict[str, FinishReason]) -> None:
        self.provider = provider
        self.reasons = reasons
        self.calls: list[_PendingCall] = []
        self.by_index: dict[int, _PendingCall] = {}
        self.reasoning_open = False
        self.finish: str | None = None
        self.usage: dict[str, Any] | None = None

    def feed(self, chunk: dict[str, Any]) -> Iterator[StreamEvent]:
        if chunk.get("error"):
            raise stream_error(self.provider, chunk)
        usage = chunk.get("usage") or (chunk.get("x_groq") or {}).get("usage")  # Groq's place for it
        if isinstance(usage, dict):
            self.usage = usage
        for choice in chunk.get("choices") or []:
            if not isinstance(choice, dict) or choice.get("index", 0) != 0:
                continue
            delta = choice.get("delta") or {}
            reasoning = delta.get("reasoning_content") or delta.get("reasoning")
            if isinstance(reasoning, str) and reasoning:
                self.reasoning_open = True
                yield ReasoningDelta(reasoning)
            content = delta.get("content")
            if isinstance(content, str) and content:
                yield from self.end_reasoning()
                yield TextDelta(content)
            for position, tool_call in enumerate(delta.get("tool_calls") or []):
                yield from self.end_reasoning()
                yield from self.tool_delta(position, tool_call)
            if choice.get("finish_reason"):
                self.finish = str(choice["finish_reason"])

    def tool_delta(self, position: int, tool_call: dict[str, Any]) -> Iterator[StreamEvent]:
        index = tool_call.get("index")
        index = index if isinstance(index, int) else position
        function = tool_call.get("function") or {}
        call_id = tool_call.get("id") or ""
        call = self.by_index.get(index)
        if call is None or (call_id and call.id and call_id != call.id):
            call = _PendingCall(id=call_id)
            self.calls.append(call)
            self.by_index[index] = call
        if call_id and not call.id:
            call.id = call_id
        if function.get("name") and not call.name:
            call.name = str(function["name"])
        arguments = function.get("arguments")
        if isinstance(arguments, dict):  # a few servers send an object, not JSON text
            arguments = json.dumps(arguments)
        if not call.started and call.name:
            call.id = call.id or f"call_{uuid.uuid4().hex[:24]}"
            call.started = True
            yield ToolCallStart(call.id, call.name)
            if call.raw:
                yield ToolCallDelta(call.id, call.raw)
        if isinstance(arguments, str) and arguments:
            call.raw += arguments
            if call.started:
                yield ToolCallDelta(call.id, arguments)

    def end_reasoning(self) -> Iterator[StreamEvent]:
        if self.reasoning_open:
            self.reasoning_open = False
            yield ReasoningEnd()

    def close(self) -> Iterator[StreamEvent]:
        yield from self.end_reasoning()
        for call in self.calls:
            if not call.started:
                call.id = call.id or f"call_{uuid.uuid4().hex[:24]}"
                yield ToolCallStart(call.id, call.name)
            arguments, error = parse_arguments(call.raw)
            if not call.name:
                arguments, error = None, "the tool call has no name"
            yield ToolCallEnd(call.id, call.name, arguments, call.raw, error)
        reason = finish_reason(self.finish, self.reasons)
        if reason == "stop" and self.calls:  # ollama and others say "stop" after tool calls
            reason = "tool_calls"
        yield Finish(reason, chat_usage(self.usage))


class OpenAIChatAdapter(Adapter):
    protocol = "openai-chat"
    finish_reasons: ClassVar[dict[str, FinishReason]] = FINISH_REASONS
    reasoning_field: ClassVar[str | None] = None
    """Set by a vendor that wants earlier reasoning sent back on assistant messages (the field name)."""

    def __init__(self, endpoint: Endpoint) -> None:
        super().__init__(endpoint)
        # Assistant messages already turned into wire dicts, by identity: the loop sends the same
        # history objects at every step of a prompt (`ResolvedModel.connected` keeps this adapter),
        # and re-encoding every old tool call's arguments would make each step cost more than the last.
        self._assistant_wire: dict[int, tuple[AssistantMessage, dict[str, Any]]] = {}

    # --- where and how ----------------------------------------------------------------------

    def url(self, request: ModelRequest) -> str:
        return self.endpoint.url("chat/completions")

    def headers(self) -> dict[str, str]:
        return self.json_headers()

    # --- the request body -------------------------------------------------------------------

    def build_body(self, request: ModelRequest, *, stream: bool) -> dict[str, Any]:
        body: dict[str, Any] = {"model": request.model, "messages": self.build_messages(request)}
        if request.tools:
            body["tools"] = [self.build_tool(tool) for tool in request.tools]
            if request.tool_choice:
                body["tool_choice"] = request.tool_choice
        if request.max_tokens is not None:
            field = option(request, self.endpoint.options, "maxTokensField") or "max_tokens"
            body[str(field)] = request.max_tokens
        if request.temperature is not None:
            body["temperature"] = request.temperature
        if request.top_p is not None:
            body["top_p"] = request.top_p
        effort = request.options.get("reasoningEffort")
        if effort:
            body["reasoning_effort"] = effort
        if stream:
            body["stream"] = True
            if self.endpoint.options.get("includeUsage") is not False:
                body["stream_options"] = {"include_usage": True}
        return body

    def build_messages(self, request: ModelRequest) -> list[dict[str, Any]]:
        messages = self.system_messages(request.system)
        for message in request.messages:
            if isinstance(message, UserMessage):
                messages.append(self.user_message(message))
            elif isinstance(message, AssistantMessage):
                messages.append(self.assistant_message(message))
            elif isinstance(message, ToolMessage):
                messages.extend(self.tool_messages(message))
        return messages

    def system_messages(self, system: list[str]) -> list[dict[str, Any]]:
        # One system message: several confuse some local servers' chat templates.
        text = "\n\n".join(s for s in system if s)
        return [{"role": "system", "content": text}] if text else []

    def user_message(self, message: UserMessage) -> dict[str, Any]:
        parts = message.parts
        if len(parts) == 1 and isinstance(parts[0], TextPart):
            # Plain string content: some compatible servers accept nothing else.
            return {"role": "user", "content": parts[0].text}
        return {"role": "user", "content": [self.user_part(part) for part in parts]}

    def user_part(self, part: TextPart | FilePart) -> dict[str, Any]:
        if isinstance(part, TextPart):
            return {"type": "text", "text": part.text}
        if part.media_type.startswith("image/"):
            return {"type": "image_url", "image_url": {"url": data_url(part)}}
        if part.media_type.startswith("text/"):
            header = f"[{part.filename}]\n" if part.filename else ""
            return {"type": "text", "text": header + part.data.decode("utf-8", "replace")}
        filename = part.filename or ("document.pdf" if part.media_type == "application/pdf" else "file")
        return {"type": "file", "file": {"filename": filename, "file_data": data_url(part)}}

    def assistant_message(self, message: AssistantMessage) -> dict[str, Any]:
        """The wire form of `message`; the dict is shared between requests, so it is never changed."""
        known = self._assistant_wire.get(id(message))
        if known is not None and known[0] is message:
            return known[1]
        out = self._assistant_message(message)
        self._assistant_wire[id(message)] = (message, out)
        return out

    def _assistant_message(self, message: AssistantMessage) -> dict[str, Any]:
        text = "".join(p.text for p in message.parts if isinstance(p, TextPart))
        out: dict[str, Any] = {"role": "assistant", "content": text}
        calls = [p for p in message.parts if isinstance(p, ToolCallPart)]
        if calls:
            out["tool_calls"] = [
                {
                    "id": call.id,
                    "type": "function",
                    "function": {"name": call.name, "arguments": json.dumps(call.arguments)},
                }
                for call in calls
            ]
        reasoning = "".join(p.text for p in message.parts if isinstance(p, ReasoningPart))
        if self.reasoning_field and reasoning:
            out[self.reasoning_field] = reasoning
        return out

    def tool_messages(self, message: ToolMessage) -> list[dict[str, Any]]:
        return [
            {"role": "tool", "tool_call_id": result.call_id, "content": result.output} for result in message.results
        ]

    def build_tool(self, tool: ToolSpec) -> dict[str, Any]:
        return {
            "type": "function",
            "function": {"name": tool.name, "description": tool.description, "parameters": tool.parameters},
        }

    # --- calls ------------------------------------------------------------------------------

    async def stream(self, request: ModelRequest) -> AsyncIterator[StreamEvent]:
        body = self.build_body(request, stream=True)
        parser = ChatStreamParser(self.provider, self.finish_reasons)
        done = False
        async with self.open_stream(self.url(request), body, self.headers()) as response:
            with map_transport_errors(self.provider):
                events = iter_sse(response)
                async for event in events:
                    data = event.data.strip()
                    if data == "[DONE]":
                        done = True
                        await read_rest(events)
                        break
                    if not data:
                        continue
                    for out in parser.feed(self.decode_chunk(data)):
                        yield out
        # Some compatible servers end without [DONE]; a finish reason marks a complete reply
        # (a dropped connection raises StreamBroken above, from the transport).
        if not done and parser.finish is None:
            raise errors.StreamBroken(self.provider, "the stream ended before the model finished")
        for out in parser.close():
            yield out

    def decode_chunk(self, data: str) -> dict[str, Any]:
        try:
            chunk = json.loads(data)
        except ValueError:
            raise errors.StreamBroken(self.provider, f"a stream chunk is not JSON: {data[:200]!r}") from None
        if not isinstance(chunk, dict):
            raise errors.StreamBroken(self.provider, f"unexpected stream chunk: {data[:200]!r}")
        return chunk

    async def complete(self, request: ModelRequest) -> ModelResponse:
        data = await self.post_json(self.url(request), self.build_body(request, stream=False), self.headers())
        return self.parse_completion(data)

    def parse_completion(self, data: Any) -> ModelResponse:
        if not isinstance(data, dict):
            raise errors.BadRequestError(self.provider, f"unexpected response: {str(data)[:200]}")
        choices = data.get("choices") or []
        if data.get("error") and not choices:
            raise stream_error(self.provider, data)
        if not choices:
            raise errors.BadRequestError(self.provider, "the response has no choices")
        choice = choices[0]
        message = choice.get("message") or {}
        parts: list[AssistantContent] = []
        malformed: list[ToolCallEnd] = []
        reasoning = message.get("reasoning_content") or message.get("reasoning")
        if isinstance(reasoning, str) and reasoning:
            parts.append(ReasoningPart(reasoning))
        content = message.get("content")
        if isinstance(content, str) and content:
            parts.append(TextPart(content))
        for call in message.get("tool_calls") or []:
            function = call.get("function") or {}
            raw = function.get("arguments")
            raw = json.dumps(raw) if isinstance(raw, dict) else str(raw or "")
            call_id = call.get("id") or f"call_{uuid.uuid4().hex[:24]}"
            name = str(function.get("name") or "")
            arguments, error = parse_arguments(raw)
            if not name:
                arguments, error = None, "the tool call has no name"
            if arguments is None:
                malformed.append(ToolCallEnd(call_id, name, None, raw, error))
            else:
                parts.append(ToolCallPart(call_id, name, arguments))
        reason = finish_reason(choice.get("finish_reason"), self.finish_reasons)
        if reason == "stop" and (malformed or any(isinstance(p, ToolCallPart) for p in parts)):
            reason = "tool_calls"
        return ModelResponse(
            parts=parts,
            finish_reason=reason,
            usage=chat_usage(data.get("usage")),
            malformed_tool_calls=malformed,
        )
