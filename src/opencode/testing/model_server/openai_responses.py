"""OpenAI's Responses API (`POST /v1/responses`) for the scripted model server.

Validation as the real API does it: Bearer key, `model` and `input` required, input items
(messages with typed content parts, `function_call`, `function_call_output`, `reasoning`), every
`function_call_output` answering a `function_call` earlier in the input and every call answered,
reasoning items sent back without `store` needing their encrypted content, function tools with
a top-level `name` and `strict` (true by default) only for schemas that strict mode accepts.

Replies stream as the API's event sequence, each event with its `sequence_number`:
`response.created`, `response.in_progress`, per output item `response.output_item.added`, then
for text `response.content_part.added`, `response.output_text.delta`..., `.done` events; for
reasoning the `response.reasoning_summary_*` events (only when the request asked for a summary;
the encrypted content only when `include` asked for it); for tool calls
`response.function_call_arguments.delta`... and `.done`; `response.output_item.done`; and last
`response.completed`, or `response.incomplete` for a reply that finished on "length"
(`max_output_tokens`) or "content_filter". Usage follows OpenAI's convention (cached input inside
`input_tokens`, reasoning inside `output_tokens`).

An `ErrorReply` with status 200 is a failure inside a successful response: streamed, an `error`
event followed by `response.failed`; not streamed, a response object with status "failed".
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from opencode.testing.model_server.openai_chat import (
    ERROR_KINDS,
    TOOL_NAME,
    RequestInvalid,
    check_bearer,
    json_response,
    openai_error,
    parse_body,
    scripted_error_body,
    tool_arguments,
)
from opencode.testing.model_server.script import ErrorReply, Reasoning, Reply, Text, chunks_of
from opencode.testing.model_server.server import (
    RecordedRequest,
    ScriptedModelServer,
    sse,
    stream_response,
    wait_before_headers,
)

if TYPE_CHECKING:
    from starlette.responses import Response

MESSAGE_ROLES = ("user", "assistant", "system", "developer")
INPUT_PARTS = {"input_text", "input_image", "input_file"}
OUTPUT_PARTS = {"output_text", "refusal"}
EFFORTS = ("none", "minimal", "low", "medium", "high", "xhigh")
SUMMARIES = ("auto", "concise", "detailed")
INCLUDABLE = (
    "reasoning.encrypted_content",
    "message.output_text.logprobs",
    "message.input_image.image_url",
    "file_search_call.results",
    "web_search_call.action.sources",
    "code_interpreter_call.outputs",
    "computer_call_output.output.image_url",
)


def validate_responses(body: dict[str, Any]) -> None:
    if not body.get("model"):
        raise RequestInvalid("Missing required parameter: 'model'.", "model", "missing_required_parameter")
    if "input" not in body:
        raise RequestInvalid("Missing required parameter: 'input'.", "input", "missing_required_parameter")
    items = body["input"]
    if isinstance(items, list):
        validate_input(items, store=body.get("store", True) is not False)
    elif not isinstance(items, str):
        raise RequestInvalid("Invalid type for 'input': expected a string or an array of input items.", "input")
    validate_tools(body.get("tools"))
    reasoning = body.get("reasoning")
    if reasoning is not None:
        if reasoning.get("effort") is not None and reasoning["effort"] not in EFFORTS:
            raise RequestInvalid(f"Invalid value: '{reasoning['effort']}'.", "reasoning.effort", "invalid_value")
        if reasoning.get("summary") is not None and reasoning["summary"] not in SUMMARIES:
            raise RequestInvalid(f"Invalid value: '{reasoning['summary']}'.", "reasoning.summary", "invalid_value")
    for index, value in enumerate(body.get("include") or []):
        if value not in INCLUDABLE:
            raise RequestInvalid(f"Invalid value: '{value}'.", f"include[{index}]", "invalid_value")


def validate_input(items: list[Any], *, store: bool) -> None:
    calls: dict[str, int] = {}
    answered: set[str] = set()
    for index, item in enumerate(items):
        where = f"input[{index}]"
        if not isinstance(item, dict):
            raise RequestInvalid(f"Invalid type for '{where}': expected an object.", where)
        kind = item.get("type", "message" if "role" in item else None)
        if kind == "message":
            validate_message(where, item)
        elif kind == "function_call":
            for key in ("call_id", "name", "arguments"):
                if not isinstance(item.get(key), str):
                    raise RequestInvalid(f"Missing required parameter: '{where}.{key}'.", f"{where}.{key}")
            calls[item["call_id"]] = index
        elif kind == "function_call_output":
            call_id = item.get("call_id")
            if call_id not in calls:
                raise RequestInvalid(f"No tool call found for function call output with call_id {call_id}.", "input")
            if not isinstance(item.get("output"), str | list):
                raise RequestInvalid(f"Missing required parameter: '{where}.output'.", f"{where}.output")
            answered.add(call_id)
        elif kind == "reasoning":
            if not isinstance(item.get("summary"), list):
                raise RequestInvalid(f"Missing required parameter: '{where}.summary'.", f"{where}.summary")
            if not item.get("encrypted_content"):
                if not item.get("id"):
                    raise RequestInvalid(f"Missing required parameter: '{where}.id'.", f"{where}.id")
                if not store:
                    raise RequestInvalid(
                        f"Item with id '{item['id']}' not found. Items are not persisted when `store` is set to "
                        "false. Try again with `store` set to true, or remove this item from your input.",
                        "input",
                        status=404,
                    )
        else:
            raise RequestInvalid(f"Invalid value: '{kind}'.", f"{where}.type", "invalid_value")
    for call_id in calls:
        if call_id not in answered:
            raise RequestInvalid(f"No tool output found for function call {call_id}.", "input")


def validate_message(where: str, item: dict[str, Any]) -> None:
    role = item.get("role")
    if role not in MESSAGE_ROLES:
        raise RequestInvalid(
            f"Invalid value: '{role}'. Supported values are: 'user', 'assistant', 'system', and 'developer'.",
            f"{where}.role",
            "invalid_value",
        )
    content = item.get("content")
    if isinstance(content, str):
        return
    if not isinstance(content, list):
        raise RequestInvalid(f"Missing required parameter: '{where}.content'.", f"{where}.content")
    allowed = OUTPUT_PARTS if role == "assistant" else INPUT_PARTS
    for part_index, part in enumerate(content):
        kind = part.get("type") if isinstance(part, dict) else None
        if kind not in allowed:
            supported = " and ".join(f"'{k}'" for k in sorted(allowed))
            raise RequestInvalid(
                f"Invalid value: '{kind}'. Supported values are: {supported}.",
                f"{where}.content[{part_index}].type",
                "invalid_value",
            )


def validate_tools(tools: Any) -> None:
    for index, tool in enumerate(tools or []):
        where = f"tools[{index}]"
        if not isinstance(tool, dict) or not tool.get("type"):
            raise RequestInvalid(f"Missing required parameter: '{where}.type'.", f"{where}.type")
        if tool["type"] != "function":
            continue
        name = tool.get("name")
        if not name:
            raise RequestInvalid(f"Missing required parameter: '{where}.name'.", f"{where}.name")
        if not TOOL_NAME.match(str(name)):
            raise RequestInvalid(f"Invalid '{where}.name': string does not match pattern.", f"{where}.name")
        parameters = tool.get("parameters")
        if not isinstance(parameters, dict):
            raise RequestInvalid(f"Missing required parameter: '{where}.parameters'.", f"{where}.parameters")
        if tool.get("strict", True) is not False and parameters.get("additionalProperties") is not False:
            raise RequestInvalid(
                f"Invalid schema for function '{name}': In context=(), 'additionalProperties' is required to be "
                "supplied and to be false.",
                f"{where}.parameters",
                "invalid_function_parameters",
            )


# --- rendering replies ------------------------------------------------------------------------


def wire_usage(reply: Reply) -> dict[str, Any]:
    u = reply.usage
    given = u.input + u.cache_read + u.cache_write
    produced = u.output + u.reasoning
    return {
        "input_tokens": given,
        "input_tokens_details": {"cached_tokens": u.cache_read},
        "output_tokens": produced,
        "output_tokens_details": {"reasoning_tokens": u.reasoning},
        "total_tokens": given + produced,
    }


class Rendering:
    """Builds the items of one reply and the events that stream them."""

    def __init__(self, reply: Reply, body: dict[str, Any]) -> None:
        self.reply = reply
        self.body = body
        self.sequence = 0
        reasoning = body.get("reasoning") or {}
        self.summaries = bool(reasoning.get("summary"))
        self.encrypted = "reasoning.encrypted_content" in (body.get("include") or [])
        self.created = int(time.time())

    def event(self, kind: str, **fields: Any) -> bytes:
        data = {"type": kind, "sequence_number": self.sequence, **fields}
        self.sequence += 1
        return sse(data, event=kind)

    def response(self, status: str, output: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
        body = self.body
        return {
            "id": "resp_scripted",
            "object": "response",
            "created_at": self.created,
            "status": status,
            "error": None,
            "incomplete_details": None,
            "instructions": body.get("instructions"),
            "max_output_tokens": body.get("max_output_tokens"),
            "model": body.get("model"),
            "output": output,
            "parallel_tool_calls": True,
            "previous_response_id": None,
            "reasoning": body.get("reasoning") or {"effort": None, "summary": None},
            "store": body.get("store", True),
            "temperature": body.get("temperature", 1.0),
            "text": body.get("text") or {"format": {"type": "text"}},
            "tool_choice": body.get("tool_choice", "auto"),
            "tools": body.get("tools") or [],
            "top_p": body.get("top_p", 1.0),
            "truncation": "disabled",
            "usage": None,
            "metadata": {},
            **extra,
        }

    def final(self, output: list[dict[str, Any]]) -> tuple[str, dict[str, Any]]:
        finish = self.reply.finish_reason
        if finish in ("length", "content_filter"):
            reason = "max_output_tokens" if finish == "length" else "content_filter"
            response = self.response(
                "incomplete", output, incomplete_details={"reason": reason}, usage=wire_usage(self.reply)
            )
            return "response.incomplete", response
        return "response.completed", self.response("completed", output, usage=wire_usage(self.reply))

    def items(self) -> list[dict[str, Any]]:
        ids = iter(self.reply.tool_call_ids())
        out: list[dict[str, Any]] = []
        for index, part in enumerate(self.reply.parts):
            if isinstance(part, Text):
                content = [{"type": "output_text", "text": part.text, "annotations": [], "logprobs": []}]
                out.append(
                    {
                        "id": f"msg_{index}",
                        "type": "message",
                        "status": "completed",
                        "role": "assistant",
                        "content": content,
                    }
                )
            elif isinstance(part, Reasoning):
                summary = [{"type": "summary_text", "text": part.text}] if self.summaries else []
                item: dict[str, Any] = {"id": f"rs_{index}", "type": "reasoning", "summary": summary}
                if self.encrypted:
                    item["encrypted_content"] = part.signature
                out.append(item)
            else:
                out.append(
                    {
                        "id": f"fc_{index}",
                        "type": "function_call",
                        "status": "completed",
                        "arguments": tool_arguments(part),
                        "call_id": next(ids),
                        "name": part.name,
                    }
                )
        return out

    def stream(self) -> Iterator[bytes]:
        yield self.event("response.created", response=self.response("in_progress", []))
        yield self.event("response.in_progress", response=self.response("in_progress", []))
        items = self.items()
        size = self.reply.chunk_size
        for index, (part, item) in enumerate(zip(self.reply.parts, items, strict=True)):
            where = {"item_id": item["id"], "output_index": index}
            if isinstance(part, Text):
                yield self.event("response.output_item.added", output_index=index, item={**item, "content": []})
                empty = {"type": "output_text", "text": "", "annotations": [], "logprobs": []}
                yield self.event("response.content_part.added", **where, content_index=0, part=empty)
                for piece in chunks_of(part.text, size):
                    yield self.event("response.output_text.delta", **where, content_index=0, delta=piece, logprobs=[])
                yield self.event("response.output_text.done", **where, content_index=0, text=part.text, logprobs=[])
                yield self.event("response.content_part.done", **where, content_index=0, part=item["content"][0])
            elif isinstance(part, Reasoning):
                yield self.event("response.output_item.added", output_index=index, item={**item, "summary": []})
                if self.summaries:
                    summary = {"type": "summary_text", "text": part.text}
                    yield self.event(
                        "response.reasoning_summary_part.added",
                        **where,
                        summary_index=0,
                        part={"type": "summary_text", "text": ""},
                    )
                    for piece in chunks_of(part.text, size):
                        yield self.event("response.reasoning_summary_text.delta", **where, summary_index=0, delta=piece)
                    yield self.event("response.reasoning_summary_text.done", **where, summary_index=0, text=part.text)
                    yield self.event("response.reasoning_summary_part.done", **where, summary_index=0, part=summary)
            else:
                added = {**item, "status": "in_progress", "arguments": ""}
                yield self.event("response.output_item.added", output_index=index, item=added)
                for piece in chunks_of(item["arguments"], size):
                    yield self.event("response.function_call_arguments.delta", **where, delta=piece)
                yield self.event("response.function_call_arguments.done", **where, arguments=item["arguments"])
            yield self.event("response.output_item.done", output_index=index, item=item)
        kind, response = self.final(items)
        yield self.event(kind, response=response)

    def failure(self, script: ErrorReply) -> Iterator[bytes]:
        error = scripted_error_body(script)["error"]
        yield self.event("response.created", response=self.response("in_progress", []))
        yield self.event("response.in_progress", response=self.response("in_progress", []))
        yield self.event("error", error=error)
        failed = self.response("failed", [], error={"code": error["code"], "message": error["message"]})
        yield self.event("response.failed", response=failed)


class ResponsesHandler:
    """`POST /v1/responses`."""

    name = "openai-responses"

    def match(self, method: str, path: str) -> bool:
        return method == "POST" and path == "/v1/responses"

    async def handle(self, server: ScriptedModelServer, request: RecordedRequest) -> Response:
        try:
            body = parse_body(request)
            check_bearer(server, request)
            validate_responses(body)
        except RequestInvalid as error:
            return json_response(
                openai_error(error.message, "invalid_request_error", error.param, error.code), error.status
            )
        script = server.next_script()
        await wait_before_headers(script)
        stream = bool(body.get("stream"))
        if isinstance(script, ErrorReply):
            if script.status != 200:
                return json_response(scripted_error_body(script), script.status, script.headers)
            rendering = Rendering(Reply(), body)
            if stream:
                return stream_response(Reply(), list(rendering.failure(script)), "text/event-stream", script.headers)
            type_, code = ERROR_KINDS.get(script.kind or "server", ERROR_KINDS["server"])
            return json_response(
                rendering.response("failed", [], error={"code": code or type_, "message": script.message})
            )
        rendering = Rendering(script, body)
        if stream:
            return stream_response(script, list(rendering.stream()), "text/event-stream")
        _, response = rendering.final(rendering.items())
        return json_response(response)


HANDLERS = [ResponsesHandler()]
