"""The event bus: typed events with opencode's names, published by the engine, read by every face.

    bus = Bus()
    async with bus.subscribe() as events:        # an async subscriber with its own queue
        async for event in events: ...
    remove = bus.on(callback)                    # a synchronous listener, called inline

Each event type is declared once with `@event("name")`; `REGISTRY` maps names to types, so the
server can publish the schema of its SSE stream. On the wire an event is `{"type": name,
"properties": {...}}`. Publishing never blocks: each async subscriber has a bounded queue and a
subscriber that falls behind loses its oldest events (full-state events such as
`message.part.updated` without a delta let it catch up), so a slow face never stalls the loop.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any, ClassVar, Literal, TypeVar

from pydantic import BaseModel, ConfigDict

from opencode.session.model import Message, MessageError, Part, Session

log = logging.getLogger("opencode.bus")


class BusEvent(BaseModel):
    model_config = ConfigDict(extra="ignore")
    type: ClassVar[str] = ""

    def wire(self) -> dict[str, Any]:
        return {"type": self.type, "properties": self.model_dump(mode="json", exclude_none=True)}


REGISTRY: dict[str, type[BusEvent]] = {}
E = TypeVar("E", bound=type[BusEvent])


def event(name: str) -> Callable[[E], E]:
    def register(cls: E) -> E:
        if name in REGISTRY:
            raise ValueError(f"event {name!r} is declared twice")
        cls.type = name
        REGISTRY[name] = cls
        return cls

    return register


@event("session.created")
class SessionCreated(BusEvent):
    info: Session


@event("session.updated")
class SessionUpdated(BusEvent):
    info: Session


@event("session.deleted")
class SessionDeleted(BusEvent):
    info: Session


class SessionStatusInfo(BaseModel):
    type: Literal["idle", "busy", "retry"]
    attempt: int | None = None
    message: str | None = None
    next: int | None = None
    """Epoch milliseconds of the next try (retry only)."""


@event("session.status")
class SessionStatus(BusEvent):
    sessionID: str
    status: SessionStatusInfo


@event("session.idle")
class SessionIdle(BusEvent):
    sessionID: str


@event("session.error")
class SessionError(BusEvent):
    sessionID: str | None = None
    error: MessageError


@event("session.compacted")
class SessionCompacted(BusEvent):
    sessionID: str


@event("message.updated")
class MessageUpdated(BusEvent):
    info: Message


@event("message.removed")
class MessageRemoved(BusEvent):
    sessionID: str
    messageID: str


@event("message.part.updated")
class PartUpdated(BusEvent):
    part: Part
    delta: str | None = None
    """The text just appended (streamed text, reasoning or tool input); None for a full update."""


@event("message.part.removed")
class PartRemoved(BusEvent):
    sessionID: str
    messageID: str
    partID: str


class ToolRef(BaseModel):
    messageID: str
    callID: str


@event("permission.asked")
class PermissionAsked(BusEvent):
    id: str
    sessionID: str
    permission: str
    patterns: list[str]
    metadata: dict[str, Any] = {}
    always: list[str] = []
    tool: ToolRef | None = None


@event("permission.replied")
class PermissionReplied(BusEvent):
    sessionID: str
    requestID: str
    reply: Literal["once", "always", "reject"]


class QuestionOption(BaseModel):
    label: str
    description: str = ""


class QuestionInfo(BaseModel):
    """One question put to the user (opencode's `QuestionInfo`)."""

    question: str
    header: str = ""
    options: list[QuestionOption] = []
    multiple: bool | None = None
    custom: bool | None = None
    """Whether a typed answer is allowed besides the options (None: yes)."""


@event("question.asked")
class QuestionAsked(BusEvent):
    id: str
    sessionID: str
    questions: list[QuestionInfo]
    tool: ToolRef | None = None


@event("question.replied")
class QuestionReplied(BusEvent):
    sessionID: str
    requestID: str
    answers: list[list[str]]
    """One list of chosen labels (or typed text) per question, in order."""


@event("question.rejected")
class QuestionRejected(BusEvent):
    sessionID: str
    requestID: str


@event("file.edited")
class FileEdited(BusEvent):
    file: str


@event("todo.updated")
class TodoUpdated(BusEvent):
    sessionID: str
    todos: list[dict[str, Any]]


class Subscription:
    def __init__(self, bus: Bus, types: frozenset[str] | None, maxsize: int) -> None:
        self._bus = bus
        self.types = types
        self.queue: asyncio.Queue[BusEvent] = asyncio.Queue(maxsize)
        self.dropped = 0

    def offer(self, item: BusEvent) -> None:
        if self.types is not None and item.type not in self.types:
            return
        while True:
            try:
                self.queue.put_nowait(item)
                return
            except asyncio.QueueFull:
                self.queue.get_nowait()  # the oldest goes: a late reader catches up on full-state events
                self.dropped += 1

    def __aiter__(self) -> AsyncIterator[BusEvent]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[BusEvent]:
        while True:
            yield await self.queue.get()


class Bus:
    def __init__(self) -> None:
        self._subscriptions: list[Subscription] = []
        self._listeners: list[Callable[[BusEvent], None]] = []

    def publish(self, item: BusEvent) -> None:
        for listener in list(self._listeners):
            try:
                listener(item)
            except Exception:
                log.exception("bus listener failed on %s", item.type)
        for subscription in list(self._subscriptions):
            subscription.offer(item)

    def on(self, listener: Callable[[BusEvent], None]) -> Callable[[], None]:
        """Call `listener` inline for every event; returns the function that removes it. Keep it cheap."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    @asynccontextmanager
    async def subscribe(self, *types: str, maxsize: int = 10_000) -> AsyncIterator[Subscription]:
        unknown = [t for t in types if t not in REGISTRY]
        if unknown:
            raise ValueError(f"unknown event type(s): {', '.join(unknown)}")
        subscription = Subscription(self, frozenset(types) if types else None, maxsize)
        self._subscriptions.append(subscription)
        try:
            yield subscription
        finally:
            self._subscriptions.remove(subscription)


@event("lsp.updated")
class LspUpdated(BusEvent):
    """A language server started, crashed or was found missing (`LspManager.status()` says which)."""


@event("lsp.client.diagnostics")
class LspDiagnostics(BusEvent):
    """A language server published diagnostics for a file."""

    serverID: str
    path: str


@event("mcp.tools.changed")
class McpToolsChanged(BusEvent):
    """An MCP server's tool list changed (`notifications/tools/list_changed`); the next step offers the new list."""

    server: str


@event("mcp.status")
class McpStatus(BusEvent):
    """An MCP server's status changed: connecting, connected, failed (with `error`), needs_auth, disabled."""

    server: str
    status: str
    error: str | None = None
