"""The session data model, in opencode's shapes so its API, exports and clients map one to one.

A `Session` holds `Message`s (user or assistant); a message holds `Part`s. Field names are the
JSON keys opencode uses (`sessionID`, `time.created` in epoch milliseconds, ...), so
`model_dump(mode="json", exclude_none=True)` is the wire and export format and
`model_validate` reads it back. `MessageWithParts` is the unit the store returns and the export
contains.

A tool part carries its own state machine: pending -> running -> completed | error; each state
has only the fields that make sense for it.
"""

from __future__ import annotations

import time
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field


def now_ms() -> int:
    return int(time.time() * 1000)


class Model(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


# --- session ----------------------------------------------------------------------------------


class SessionTime(Model):
    created: int = Field(default_factory=now_ms)
    updated: int = Field(default_factory=now_ms)
    compacting: int | None = None
    archived: int | None = None


class SessionSummary(Model):
    additions: int = 0
    deletions: int = 0
    files: int = 0


class SessionRevert(Model):
    messageID: str
    partID: str | None = None
    snapshot: str | None = None
    diff: str | None = None


class Session(Model):
    id: str
    slug: str = ""
    """A short readable name ("brisk-otter-k3f9"), as opencode's sessions have; made from the id when absent."""
    projectID: str
    directory: str
    title: str
    version: str = ""
    parentID: str | None = None
    summary: SessionSummary | None = None
    revert: SessionRevert | None = None
    time: SessionTime = Field(default_factory=SessionTime)

    def model_post_init(self, context: Any, /) -> None:
        if not self.slug:
            self.slug = slug_for(self.id)


_SLUG_ADJECTIVES = [
    "brisk",
    "calm",
    "clever",
    "eager",
    "gentle",
    "happy",
    "jolly",
    "keen",
    "lively",
    "merry",
    "nimble",
    "proud",
    "quiet",
    "rapid",
    "sharp",
    "steady",
    "swift",
    "tidy",
    "vivid",
    "witty",
    "bold",
    "bright",
    "cosy",
    "daring",
    "fair",
    "frank",
    "grand",
    "humble",
    "lucky",
    "noble",
    "plucky",
    "sunny",
]
_SLUG_NOUNS = [
    "otter",
    "falcon",
    "maple",
    "river",
    "comet",
    "badger",
    "heron",
    "cedar",
    "lynx",
    "orchid",
    "pebble",
    "quail",
    "raven",
    "sparrow",
    "tiger",
    "walrus",
    "willow",
    "yak",
    "zebra",
    "beacon",
    "canyon",
    "delta",
    "ember",
    "fjord",
    "glacier",
    "harbor",
    "island",
    "jetty",
    "lagoon",
    "meadow",
]


def slug_for(session_id: str) -> str:
    """A stable readable name for a session id: two words and four characters, all from the id's hash."""
    import hashlib

    digest = hashlib.sha1(session_id.encode()).digest()
    adjective = _SLUG_ADJECTIVES[digest[0] % len(_SLUG_ADJECTIVES)]
    noun = _SLUG_NOUNS[digest[1] % len(_SLUG_NOUNS)]
    return f"{adjective}-{noun}-{digest[2:4].hex()}"


# --- messages ---------------------------------------------------------------------------------


class ModelRef(Model):
    providerID: str
    modelID: str

    @property
    def ref(self) -> str:
        return f"{self.providerID}/{self.modelID}"


class CacheTokens(Model):
    read: int = 0
    write: int = 0


class Tokens(Model):
    input: int = 0
    output: int = 0
    reasoning: int = 0
    cache: CacheTokens = Field(default_factory=CacheTokens)

    def add(self, other: Tokens) -> Tokens:
        return Tokens(
            input=self.input + other.input,
            output=self.output + other.output,
            reasoning=self.reasoning + other.reasoning,
            cache=CacheTokens(read=self.cache.read + other.cache.read, write=self.cache.write + other.cache.write),
        )

    @property
    def total(self) -> int:
        return self.input + self.output + self.reasoning + self.cache.read + self.cache.write


class MessageError(Model):
    """opencode's error names: ProviderAuthError, APIError, MessageAbortedError,
    MessageOutputLengthError, UnknownError. `data.message` is the one line a user sees."""

    name: str
    data: dict[str, Any] = Field(default_factory=dict)

    @property
    def message(self) -> str:
        return str(self.data.get("message", self.name))


class UserTime(Model):
    created: int = Field(default_factory=now_ms)


class UserMessage(Model):
    id: str
    sessionID: str
    role: Literal["user"] = "user"
    time: UserTime = Field(default_factory=UserTime)
    agent: str = "build"
    model: ModelRef | None = None
    system: str | None = None
    tools: dict[str, bool] | None = None


class AssistantTime(Model):
    created: int = Field(default_factory=now_ms)
    completed: int | None = None


class AssistantPath(Model):
    cwd: str
    root: str


class AssistantMessage(Model):
    id: str
    sessionID: str
    role: Literal["assistant"] = "assistant"
    time: AssistantTime = Field(default_factory=AssistantTime)
    parentID: str
    modelID: str
    providerID: str
    mode: str = "build"
    agent: str = "build"
    path: AssistantPath
    cost: float = 0.0
    tokens: Tokens = Field(default_factory=Tokens)
    finish: str | None = None
    error: MessageError | None = None
    summary: bool | None = None
    """True for a compaction summary message."""


Message = Annotated[UserMessage | AssistantMessage, Field(discriminator="role")]


# --- parts ------------------------------------------------------------------------------------


class PartBase(Model):
    id: str
    sessionID: str
    messageID: str


class PartTime(Model):
    start: int = Field(default_factory=now_ms)
    end: int | None = None


class TextPart(PartBase):
    type: Literal["text"] = "text"
    text: str = ""
    synthetic: bool | None = None
    """Added by the engine, not typed by the user (e.g. "continue" after a compaction)."""
    ignored: bool | None = None
    time: PartTime | None = None
    metadata: dict[str, Any] | None = None


class ReasoningPart(PartBase):
    type: Literal["reasoning"] = "reasoning"
    text: str = ""
    time: PartTime = Field(default_factory=PartTime)
    metadata: dict[str, Any] | None = None
    """`signature` / `redacted`: what the vendor needs back with this reasoning."""


class FilePart(PartBase):
    type: Literal["file"] = "file"
    mime: str
    url: str
    """A `data:` URL for attachments, `file://` for files on disk."""
    filename: str | None = None


class ToolTimeRange(Model):
    start: int
    end: int
    compacted: int | None = None


class ToolStart(Model):
    start: int = Field(default_factory=now_ms)


class ToolStatePending(Model):
    status: Literal["pending"] = "pending"
    input: dict[str, Any] = Field(default_factory=dict)
    raw: str = ""


class ToolStateRunning(Model):
    status: Literal["running"] = "running"
    input: dict[str, Any] = Field(default_factory=dict)
    title: str | None = None
    metadata: dict[str, Any] | None = None
    time: ToolStart = Field(default_factory=ToolStart)


class ToolStateCompleted(Model):
    status: Literal["completed"] = "completed"
    input: dict[str, Any] = Field(default_factory=dict)
    output: str
    title: str
    metadata: dict[str, Any] = Field(default_factory=dict)
    time: ToolTimeRange
    attachments: list[FilePart] | None = None


class ToolStateError(Model):
    status: Literal["error"] = "error"
    input: dict[str, Any] = Field(default_factory=dict)
    error: str
    metadata: dict[str, Any] | None = None
    time: ToolTimeRange


ToolState = Annotated[
    ToolStatePending | ToolStateRunning | ToolStateCompleted | ToolStateError, Field(discriminator="status")
]


class ToolPart(PartBase):
    type: Literal["tool"] = "tool"
    callID: str
    tool: str
    state: ToolState = Field(default_factory=ToolStatePending)
    metadata: dict[str, Any] | None = None


class StepStartPart(PartBase):
    type: Literal["step-start"] = "step-start"
    snapshot: str | None = None


class StepFinishPart(PartBase):
    type: Literal["step-finish"] = "step-finish"
    reason: str
    snapshot: str | None = None
    cost: float = 0.0
    tokens: Tokens = Field(default_factory=Tokens)


class SnapshotPart(PartBase):
    type: Literal["snapshot"] = "snapshot"
    snapshot: str


class PatchPart(PartBase):
    type: Literal["patch"] = "patch"
    hash: str
    files: list[str] = Field(default_factory=list)


class AgentPart(PartBase):
    type: Literal["agent"] = "agent"
    name: str
    source: dict[str, Any] | None = None


class SubtaskPart(PartBase):
    type: Literal["subtask"] = "subtask"
    prompt: str
    description: str
    agent: str
    model: ModelRef | None = None
    command: str | None = None


class CompactionPart(PartBase):
    type: Literal["compaction"] = "compaction"
    auto: bool = True


class RetryTime(Model):
    created: int = Field(default_factory=now_ms)


class RetryPart(PartBase):
    type: Literal["retry"] = "retry"
    attempt: int
    error: MessageError
    time: RetryTime = Field(default_factory=RetryTime)


Part = Annotated[
    TextPart
    | ReasoningPart
    | FilePart
    | ToolPart
    | StepStartPart
    | StepFinishPart
    | SnapshotPart
    | PatchPart
    | AgentPart
    | SubtaskPart
    | CompactionPart
    | RetryPart,
    Field(discriminator="type"),
]


# --- todos ------------------------------------------------------------------------------------


class Todo(Model):
    """One item of a session's todo list (the `todowrite` tool), in opencode's shape."""

    content: str
    status: Literal["pending", "in_progress", "completed", "cancelled"] = "pending"
    priority: Literal["high", "medium", "low"] = "medium"
    id: str


class MessageWithParts(Model):
    info: Message
    parts: list[Part] = Field(default_factory=list)


class SessionExport(Model):
    """`opencode export`'s document: the session and every message with its parts, in order."""

    info: Session
    messages: list[MessageWithParts] = Field(default_factory=list)
    todos: list[Todo] | None = None
    """The session's todo list; left out when it is empty."""
