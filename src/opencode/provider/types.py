"""The provider layer's own vocabulary: what we send to a model and what comes back.

Every wire adapter translates a `ModelRequest` into its vendor's request and the vendor's reply
into `StreamEvent`s (streamed) or a `ModelResponse` (not streamed). Nothing outside the adapters
knows a vendor's JSON. The engine's session model (messages and parts with ids, times, state) is
a separate, richer thing; it converts to these plain values when it calls a model.

These are dataclasses, not pydantic models, so that importing them costs next to nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

# --- what we send -------------------------------------------------------------------------


@dataclass(slots=True)
class TextPart:
    text: str
    type: Literal["text"] = "text"


@dataclass(slots=True)
class FilePart:
    """An attachment: an image or a document (PDF). `data` is the raw bytes."""

    media_type: str
    data: bytes
    filename: str | None = None
    type: Literal["file"] = "file"


@dataclass(slots=True)
class ReasoningPart:
    """Reasoning the model produced earlier, sent back so the vendor can continue it.

    `signature` is Anthropic's thinking signature (or Gemini's thought signature); `redacted`
    holds Anthropic's opaque redacted-thinking data. Adapters that cannot send reasoning back
    drop the part.
    """

    text: str
    signature: str | None = None
    redacted: str | None = None
    type: Literal["reasoning"] = "reasoning"


@dataclass(slots=True)
class ToolCallPart:
    """A tool call the model made. `arguments` is the parsed JSON object."""

    id: str
    name: str
    arguments: dict[str, Any]
    type: Literal["tool_call"] = "tool_call"


@dataclass(slots=True)
class ToolResultPart:
    """The answer to one tool call, sent back in the next request."""

    call_id: str
    name: str
    output: str
    is_error: bool = False
    type: Literal["tool_result"] = "tool_result"


UserContent = TextPart | FilePart
AssistantContent = TextPart | ReasoningPart | ToolCallPart


@dataclass(slots=True)
class UserMessage:
    parts: list[UserContent]
    role: Literal["user"] = "user"


@dataclass(slots=True)
class AssistantMessage:
    parts: list[AssistantContent]
    role: Literal["assistant"] = "assistant"


@dataclass(slots=True)
class ToolMessage:
    """Results of the tool calls of the assistant message just before it."""

    results: list[ToolResultPart]
    role: Literal["tool"] = "tool"


Message = UserMessage | AssistantMessage | ToolMessage


@dataclass(slots=True)
class ToolSpec:
    """A tool as the model sees it: `parameters` is a JSON schema of an object."""

    name: str
    description: str
    parameters: dict[str, Any]


@dataclass(slots=True)
class ModelRequest:
    """One call to a model.

    `options` holds the per-model options from config (opencode's `provider.<id>.models.<id>.options`
    and the agent's `options`), such as `reasoningEffort`, `thinking`, `thinkingConfig` or
    `promptCache`. Each adapter reads the keys its vendor understands and ignores the rest.
    """

    model: str
    messages: list[Message]
    system: list[str] = field(default_factory=list)
    tools: list[ToolSpec] = field(default_factory=list)
    max_tokens: int | None = None
    temperature: float | None = None
    top_p: float | None = None
    tool_choice: Literal["auto", "required", "none"] | None = None
    options: dict[str, Any] = field(default_factory=dict)


# --- what comes back ----------------------------------------------------------------------


@dataclass(slots=True)
class Usage:
    """Token counts, normalised across vendors.

    - `input`: input tokens that were neither read from nor written to the cache.
    - `output`: output tokens excluding reasoning.
    - `reasoning`: reasoning ("thinking") tokens, counted here and only here.
    - `cache_read` / `cache_write`: input tokens read from / written to the prompt cache.

    Anthropic reports cached input apart from input; OpenAI and Gemini count it inside input and
    count reasoning inside output. Adapters undo those conventions, so the total input is
    `input + cache_read + cache_write` for every vendor.
    """

    input: int = 0
    output: int = 0
    reasoning: int = 0
    cache_read: int = 0
    cache_write: int = 0

    @property
    def total(self) -> int:
        return self.input + self.output + self.reasoning + self.cache_read + self.cache_write

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            input=self.input + other.input,
            output=self.output + other.output,
            reasoning=self.reasoning + other.reasoning,
            cache_read=self.cache_read + other.cache_read,
            cache_write=self.cache_write + other.cache_write,
        )


FinishReason = Literal["stop", "length", "tool_calls", "content_filter", "error", "other"]


@dataclass(slots=True)
class TextDelta:
    text: str
    type: Literal["text_delta"] = "text_delta"


@dataclass(slots=True)
class ReasoningDelta:
    text: str
    type: Literal["reasoning_delta"] = "reasoning_delta"


@dataclass(slots=True)
class ReasoningEnd:
    """Closes a block of reasoning; carries what must be sent back with it next turn."""

    signature: str | None = None
    redacted: str | None = None
    type: Literal["reasoning_end"] = "reasoning_end"


@dataclass(slots=True)
class ToolCallStart:
    id: str
    name: str
    type: Literal["tool_call_start"] = "tool_call_start"


@dataclass(slots=True)
class ToolCallDelta:
    id: str
    arguments_delta: str
    type: Literal["tool_call_delta"] = "tool_call_delta"


@dataclass(slots=True)
class ToolCallEnd:
    """A complete tool call.

    `arguments` is the parsed object, or None when the model sent text that is not a JSON object;
    then `error` says why and `raw` holds what was sent, so the engine can tell the model.
    """

    id: str
    name: str
    arguments: dict[str, Any] | None
    raw: str
    error: str | None = None
    type: Literal["tool_call_end"] = "tool_call_end"


@dataclass(slots=True)
class Finish:
    reason: FinishReason
    usage: Usage
    cost: float = 0.0
    """Dollars for this call, filled in from the catalog by `opencode.provider.cost`."""
    type: Literal["finish"] = "finish"


@dataclass(slots=True)
class Retrying:
    """Published by the retry layer before it waits: faces show "rate limited, retrying in 4 s"."""

    attempt: int
    delay: float
    error: Exception
    attempts: int = 0
    """How many tries the policy allows in all (0: unknown)."""
    type: Literal["retrying"] = "retrying"


@dataclass(slots=True)
class StreamFailed:
    """The final error of a call, after retries ran out or for an error that is not retried."""

    error: Exception
    type: Literal["error"] = "error"


StreamEvent = (
    TextDelta
    | ReasoningDelta
    | ReasoningEnd
    | ToolCallStart
    | ToolCallDelta
    | ToolCallEnd
    | Finish
    | Retrying
    | StreamFailed
)


@dataclass(slots=True)
class ModelResponse:
    """A whole reply: what `complete` returns, and what `collect` builds from a stream."""

    parts: list[AssistantContent]
    finish_reason: FinishReason
    usage: Usage
    cost: float = 0.0
    malformed_tool_calls: list[ToolCallEnd] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "".join(p.text for p in self.parts if isinstance(p, TextPart))

    @property
    def tool_calls(self) -> list[ToolCallPart]:
        return [p for p in self.parts if isinstance(p, ToolCallPart)]
