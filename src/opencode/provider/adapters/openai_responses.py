"""OpenAI's Responses API: `POST {base_url}/responses`, the API of OpenAI's own models.

The conversation goes out as `input` items: messages (`input_text`, `input_image`, `input_file`
parts; assistant text as `output_text`), `function_call` items for the assistant's tool calls and
`function_call_output` items for their results, matched by `call_id`. System prompts become
`instructions`. Nothing is stored on OpenAI's side (`store: false`), so every request carries the
whole conversation.

Reasoning: `reasoning: {effort, summary}` from the model options `reasoningEffort` and
`reasoningSummary` ("auto", "concise", "detailed"; OpenAI sends no summary text without it).
When either is set the request also asks for `reasoning.encrypted_content`; the encrypted
reasoning comes back as `ReasoningEnd.signature` and is sent back next turn as a reasoning item
without an id (the API accepts that when `store` is false), so the model keeps its chain of
thought across tool calls. `textVerbosity` and `promptCacheKey` map to `text.verbosity` and
`prompt_cache_key`.

Left out: OpenAI's hosted tools (web search, file search, computer use), `previous_response_id`
chaining and background responses.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

from opencode.provider import errors
from opencode.provider.adapters.base import Adapter, map_transport_errors, parse_arguments, read_rest
from opencode.provider.adapters.openai_chat import data_url, stream_error
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

INCOMPLETE_REASONS: dict[str, FinishReason] = {
    "max_output_tokens": "length",
    "content_filter": "content_filter",
}


def responses_usage(usage: dict[str, Any] | None) -> Usage:
    """Normalise Responses usage: input_tokens includes cached input, output_tokens reasoning."""
    if not usage:
        return Usage()
    cached = _int((usage.get("input_tokens_details") or {}).get("cached_tokens"))
    reasoning = _int((usage.get("output_tokens_details") or {}).get("reasoning_tokens"))
    return Usage(
        input=max(0, _int(usage.get("input_tokens")) - cached),
        output=max(0, _int(usage.get("output_tokens")) - reasoning),
        reasoning=reasoning,
        cache_read=cached,
    )


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _error_payload(event: dict[str, Any]) -> dict[str, Any]:
    """The error of an `error` event: nested under `error` in practice, top-level in the spec."""
    nested = event.get("error")
    if isinstance(nested, dict):
        return {"error": nested}
    return {"error": {k: event.get(k) for k in ("code", "message", "param")}}


@dataclass
class _Call:
    call_id: str
    name: str
    raw: str = ""


class ResponsesStreamParser:
    """Turns Responses streaming events into ours; `done` is set by the final event."""

    def __init__(self, provider: str) -> None:
        self.provider = provider
        self.calls: dict[str, _Call] = {}
        self.by_output: dict[int, _Call] = {}
        self.summary_index: dict[str, int] = {}
        self.saw_call = False
        self.done = False

    def feed(self, event: dict[str, Any]) -> Iterator[StreamEvent]:
        kind = event.get("type", "")
        if kind == "response.output_text.delta" or kind == "response.refusal.delta":
            if event.get("delta"):
                yield TextDelta(str(event["delta"]))
        elif kind in ("response.reasoning_summary_text.delta", "response.reasoning_text.delta"):
            item_id = str(event.get("item_id", ""))
            index = event.get("summary_index", 0)
            previous = self.summary_index.get(item_id)
            if previous is not None and previous != index:
                yield ReasoningDelta("\n\n")  # a new summary part of the same reasoning
            self.summary_index[item_id] = index
            if event.get("delta"):
                yield ReasoningDelta(str(event["delta"]))
        elif kind == "response.output_item.added":
            item = event.get("item") or {}
            if item.get("type") == "function_call":
                call = _Call(str(item.get("call_id") or item.get("id") or ""), str(item.get("name") or ""))
                self.calls[str(item.get("id") or call.call_id)] = call
                if isinstance(event.get("output_index"), int):
                    self.by_output[event["output_index"]] = call
                self.saw_call = True
                yield ToolCallStart(call.call_id, call.name)
        elif kind == "response.function_call_arguments.delta":
            found = self.find_call(event)
            if found is not None and event.get("delta"):
                found.raw += str(event["delta"])
                yield ToolCallDelta(found.call_id, str(event["delta"]))
        elif kind == "response.output_item.done":
            yield from self.item_done(event.get("item") or {}, event.get("output_index"))
        elif kind in ("response.completed", "response.incomplete"):
            self.done = True
            response = event.get("response") or {}
            yield Finish(self.finish_reason(response), responses_usage(response.get("usage")))
        elif kind == "response.failed":
            response = event.get("response") or {}
            raise stream_error(self.provider, {"error": response.get("error") or {"message": "the response failed"}})
        elif kind == "error":
            raise stream_error(self.provider, _error_payload(event))

    def find_call(self, event: dict[str, Any]) -> _Call | None:
        # By item id, else by output index: some proxies (GitHub Copilot) rotate item ids mid-stream.
        found = self.calls.get(str(event.get("item_id", "")))
        index = event.get("output_index")
        if found is None and isinstance(index, int):
            found = self.by_output.get(index)
        return found

    def item_done(self, item: dict[str, Any], output_index: Any) -> Iterator[StreamEvent]:
        if item.get("type") == "reasoning":
            item_id = str(item.get("id", ""))
            if item.get("encrypted_content") or item_id in self.summary_index or item.get("summary"):
                yield ReasoningEnd(signature=item.get("encrypted_content") or None)
        elif item.get("type") == "function_call":
            call = self.find_call({"item_id": item.get("id") or item.get("call_id"), "output_index": output_index})
            self.calls = {key: value for key, value in self.calls.items() if value is not call}
            call_id = str(item.get("call_id") or (call.call_id if call else ""))
            name = str(item.get("name") or (call.name if call else ""))
            raw = item.get("arguments")
            raw = str(raw) if raw is not None else (call.raw if call else "")
            if call is None:  # no output_item.added seen: announce it now so the events stay paired
                self.saw_call = True
                yield ToolCallStart(call_id, name)
            arguments, error = parse_arguments(raw)
            yield ToolCallEnd(call_id, name, arguments, raw, error)

    def finish_reason(self, response: dict[str, Any]) -> FinishReason:
        if response.get("status") == "incomplete":
            reason = (response.get("incomplete_details") or {}).get("reason")
            return INCOMPLETE_REASONS.get(str(reason), "other")
        return "tool_calls" if self.saw_call else "stop"


class OpenAIResponsesAdapter(Adapter):
    protocol = "openai-responses"

    def url(self, request: ModelRequest) -> str:
        return self.endpoint.url("responses")

    def headers(self) -> dict[str, str]:
        return self.json_headers()

    # --- the request body -------------------------------------------------------------------

    def build_body(self, request: ModelRequest, *, stream: bool) -> dict[str, Any]:
        body: dict[str, Any] = {"model": request.model, "input": self.build_input(request), "store": False}
        instructions = "\n\n".join(s for s in request.system if s)
        if instructions:
            body["instructions"] = instructions
        if request.tools:
            body["tools"] = [self.build_tool(tool) for tool in request.tools]
            if request.tool_choice:
                body["tool_choice"] = request.tool_choice
        if request.max_tokens is not None:
            body["max_output_tokens"] = request.max_tokens
        if request.temperature is not None:
            body["temperature"] = request.temperature
        if request.top_p is not None:
            body["top_p"] = request.top_p
        options = request.options
        reasoning = {
            key: options[name]
            for key, name in (("effort", "reasoningEffort"), ("summary", "reasoningSummary"))
            if options.get(name)
        }
        if reasoning:
            body["reasoning"] = reasoning
            body["include"] = ["reasoning.encrypted_content"]
        if options.get("textVerbosity"):
            body["text"] = {"verbosity": options["textVerbosity"]}
        if options.get("promptCacheKey"):
            body["prompt_cache_key"] = options["promptCacheKey"]
        if stream:
            body["stream"] = True
        return body

    def build_input(self, request: ModelRequest) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        for message in request.messages:
            if isinstance(message, UserMessage):
                items.append({"role": "user", "content": [self.user_part(part) for part in message.parts]})
            elif isinstance(message, AssistantMessage):
                items.extend(self.assistant_items(message))
            elif isinstance(message, ToolMessage):
                items.extend(
                    {"type": "function_call_output", "call_id": result.call_id, "output": result.output}
                    for result in message.results
                )
        return items

    def user_part(self, part: TextPart | FilePart) -> dict[str, Any]:
        if isinstance(part, TextPart):
            return {"type": "input_text", "text": part.text}
        if part.media_type.startswith("image/"):
            return {"type": "input_image", "image_url": data_url(part), "detail": "auto"}
        if part.media_type.startswith("text/"):
            header = f"[{part.filename}]\n" if part.filename else ""
            return {"type": "input_text", "text": header + part.data.decode("utf-8", "replace")}
        filename = part.filename or ("document.pdf" if part.media_type == "application/pdf" else "file")
        return {"type": "input_file", "filename": filename, "file_data": data_url(part)}

    def assistant_items(self, message: AssistantMessage) -> Iterator[dict[str, Any]]:
        # Items keep the order the model produced them in: reasoning, text, calls.
        for part in message.parts:
            if isinstance(part, ReasoningPart):
                if part.signature:  # only OpenAI's encrypted reasoning can be sent back
                    summary = [{"type": "summary_text", "text": part.text}] if part.text else []
                    yield {"type": "reasoning", "summary": summary, "encrypted_content": part.signature}
            elif isinstance(part, TextPart):
                if part.text:
                    yield {"role": "assistant", "content": [{"type": "output_text", "text": part.text}]}
            else:
                yield {
                    "type": "function_call",
                    "call_id": part.id,
                    "name": part.name,
                    "arguments": json.dumps(part.arguments),
                }

    def build_tool(self, tool: ToolSpec) -> dict[str, Any]:
        # strict defaults to true here, and strict mode rejects ordinary schemas (optional
        # properties, no additionalProperties: false), so it is switched off explicitly.
        return {
            "type": "function",
            "name": tool.name,
            "description": tool.description,
            "parameters": tool.parameters,
            "strict": False,
        }

    # --- calls ------------------------------------------------------------------------------

    async def stream(self, request: ModelRequest) -> AsyncIterator[StreamEvent]:
        body = self.build_body(request, stream=True)
        parser = ResponsesStreamParser(self.provider)
        async with self.open_stream(self.url(request), body, self.headers()) as response:
            with map_transport_errors(self.provider):
                events = iter_sse(response)
                async for event in events:
                    data = event.data.strip()
                    if not data or data == "[DONE]":
                        continue
                    for out in parser.feed(self.decode_event(data)):
                        yield out
                    if parser.done:
                        await read_rest(events)
                        return
        raise errors.StreamBroken(self.provider, "the stream ended before response.completed")

    def decode_event(self, data: str) -> dict[str, Any]:
        try:
            event = json.loads(data)
        except ValueError:
            raise errors.StreamBroken(self.provider, f"a stream event is not JSON: {data[:200]!r}") from None
        if not isinstance(event, dict):
            raise errors.StreamBroken(self.provider, f"unexpected stream event: {data[:200]!r}")
        return event

    async def complete(self, request: ModelRequest) -> ModelResponse:
        data = await self.post_json(self.url(request), self.build_body(request, stream=False), self.headers())
        if not isinstance(data, dict):
            raise errors.BadRequestError(self.provider, f"unexpected response: {str(data)[:200]}")
        return self.parse_response(data)

    def parse_response(self, data: dict[str, Any]) -> ModelResponse:
        if data.get("status") == "failed" or (data.get("error") and not data.get("output")):
            raise stream_error(self.provider, {"error": data.get("error") or {"message": "the response failed"}})
        parts: list[AssistantContent] = []
        malformed: list[ToolCallEnd] = []
        saw_call = False
        for item in data.get("output") or []:
            kind = item.get("type")
            if kind == "reasoning":
                summary = "\n\n".join(s.get("text", "") for s in item.get("summary") or [] if s.get("text"))
                if summary or item.get("encrypted_content"):
                    parts.append(ReasoningPart(summary, signature=item.get("encrypted_content") or None))
            elif kind == "message":
                for content in item.get("content") or []:
                    text = content.get("text") if content.get("type") == "output_text" else content.get("refusal")
                    if text:
                        parts.append(TextPart(str(text)))
            elif kind == "function_call":
                saw_call = True
                raw = str(item.get("arguments") or "")
                call_id, name = str(item.get("call_id") or item.get("id") or ""), str(item.get("name") or "")
                arguments, error = parse_arguments(raw)
                if arguments is None:
                    malformed.append(ToolCallEnd(call_id, name, None, raw, error))
                else:
                    parts.append(ToolCallPart(call_id, name, arguments))
        if data.get("status") == "incomplete":
            reason = (data.get("incomplete_details") or {}).get("reason")
            finish: FinishReason = INCOMPLETE_REASONS.get(str(reason), "other")
        else:
            finish = "tool_calls" if saw_call else "stop"
        return ModelResponse(
            parts=parts,
            finish_reason=finish,
            usage=responses_usage(data.get("usage")),
            malformed_tool_calls=malformed,
        )
