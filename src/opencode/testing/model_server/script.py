"""What a test tells the scripted model server to answer, in vendor-neutral terms.

Each protocol handler renders these into its vendor's JSON or event stream, with the vendor's
own conventions (Anthropic counts cached input apart from input, OpenAI inside it, and so on).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal


@dataclass(slots=True)
class Text:
    text: str


@dataclass(slots=True)
class Reasoning:
    text: str
    signature: str = "sig-scripted"


@dataclass(slots=True)
class ToolCall:
    """A tool call. `arguments` as a str is sent verbatim: use it for malformed JSON."""

    name: str
    arguments: dict[str, Any] | str = field(default_factory=dict)
    id: str | None = None


ScriptPart = Text | Reasoning | ToolCall


@dataclass(slots=True)
class ScriptUsage:
    """Normalised counts (see `opencode.provider.types.Usage`); handlers convert them."""

    input: int = 10
    output: int = 5
    reasoning: int = 0
    cache_read: int = 0
    cache_write: int = 0


@dataclass
class Reply:
    """A successful answer.

    Stream control (streamed requests only), counted in event-stream chunks sent:
    - `stall_after`: after this many chunks, wait `stall_seconds` before sending more.
    - `break_after`: after this many chunks, drop the connection without finishing.
    `delay` waits before the response headers are sent (non-streamed too).
    """

    parts: list[ScriptPart] = field(default_factory=list)
    usage: ScriptUsage = field(default_factory=ScriptUsage)
    finish: Literal["stop", "length", "tool_calls", "content_filter"] | None = None
    stall_after: int | None = None
    stall_seconds: float = 30.0
    break_after: int | None = None
    delay: float = 0.0
    chunk_size: int = 6
    """Text and reasoning are streamed in deltas of this many characters."""

    @property
    def finish_reason(self) -> str:
        if self.finish:
            return self.finish
        return "tool_calls" if any(isinstance(p, ToolCall) for p in self.parts) else "stop"

    def tool_call_ids(self) -> list[str]:
        ids = []
        for index, part in enumerate(p for p in self.parts if isinstance(p, ToolCall)):
            ids.append(part.id or f"call_{index + 1}")
        return ids


@dataclass
class ErrorReply:
    """An error answer, rendered in the vendor's own error shape.

    `kind` picks the vendor's error type where it has one: "rate_limit", "quota", "overloaded",
    "auth", "context_length", "invalid_request", "server", "not_found". `headers` are sent as
    given (e.g. `{"retry-after": "1"}`).

    `status` 200 scripts an error that arrives inside a successful response: an error event in
    the stream (Anthropic's `error` event, an OpenAI error chunk, a Bedrock exception frame), or a
    200 body that carries only an error. `kind` then picks the vendor's error type.
    """

    status: int
    message: str = "scripted error"
    kind: str | None = None
    headers: dict[str, str] = field(default_factory=dict)


Script = Reply | ErrorReply


def chunks_of(text: str, size: int) -> list[str]:
    size = max(1, size)
    return [text[i : i + size] for i in range(0, len(text), size)] or [""]
