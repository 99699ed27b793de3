# mypy: disallow-untyped-decorators=False
# (strawberry's decorators are untyped without its mypy plugin)
"""The GraphQL schema: sessions, their messages and parts (queries), and the bus's events (subscription).

    { sessions(limit: 10) { id title time { updated } } }
    { session(id: "ses_...") { title messages { id role parts { type text tool state { status output } } } } }
    { messages(sessionID: "ses_...") { id parts { type data } } }
    subscription { events(sessionID: "ses_...") { id type sessionID properties } }

The subscription's events are `/event`'s, in the same shapes (`properties` as JSON), the first one
`server.connected` (sent once the subscription is registered: nothing after it is missed).
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import TYPE_CHECKING, Any, cast

import strawberry
from strawberry.scalars import JSON
from strawberry.schema.config import StrawberryConfig
from strawberry.types import Info

from opencode.server.events import Hub, Wire, connected
from opencode.session.model import (
    AssistantMessage,
    MessageWithParts,
    ReasoningPart,
    TextPart,
    ToolPart,
    UserMessage,
)
from opencode.session.model import Part as PartModel
from opencode.session.model import Session as SessionModel

if TYPE_CHECKING:
    from opencode.agent.engine import Engine


def engine_of(info: Info[Any, Any]) -> Engine:
    engine: Engine = info.context["engine"]
    return engine


def dump(model: Any) -> Any:
    return model.model_dump(mode="json", exclude_none=True)


@strawberry.type(description="Epoch milliseconds.")
class SessionTime:
    created: float
    updated: float
    archived: float | None = None


@strawberry.type(description="One conversation with the agent.")
class Session:
    id: strawberry.ID
    title: str
    directory: str
    projectID: str
    parentID: str | None
    version: str
    time: SessionTime
    model: strawberry.Private[SessionModel]

    @strawberry.field(description="The session's messages with their parts, oldest first.")
    def messages(self, info: Info[Any, Any]) -> list[Message]:
        return [message_of(m) for m in engine_of(info).store.list_messages(self.model.id)]

    @strawberry.field(description="The session as opencode's JSON (the shape of GET /session/{id}).")
    def data(self) -> JSON:
        return dump(self.model)


@strawberry.type(description="Epoch milliseconds.")
class MessageTime:
    created: float
    completed: float | None = None


@strawberry.type(description="A tool call's state: pending, running, completed or error.")
class ToolState:
    status: str
    input: JSON
    output: str | None = None
    title: str | None = None
    error: str | None = None
    metadata: JSON | None = None


@strawberry.type(description="One part of a message; `data` is the whole part as opencode's JSON.")
class Part:
    id: strawberry.ID
    sessionID: str
    messageID: str
    type: str
    text: str | None = strawberry.field(description="Text and reasoning parts.")
    tool: str | None = strawberry.field(description="Tool parts: the tool's name.")
    callID: str | None
    state: ToolState | None
    data: JSON


@strawberry.type(description="A user or assistant message with its parts.")
class Message:
    id: strawberry.ID
    sessionID: str
    role: str
    agent: str
    providerID: str | None
    modelID: str | None
    time: MessageTime
    cost: float | None = strawberry.field(description="Assistant messages: dollars spent.")
    tokens: JSON | None = strawberry.field(description="Assistant messages: input, output, reasoning, cache.")
    finish: str | None
    error: JSON | None = strawberry.field(description="Assistant messages: opencode's error {name, data}.")
    parts: list[Part]
    info: JSON = strawberry.field(description="The message as opencode's JSON (without its parts).")


@strawberry.type(description="A bus event, as GET /event sends it.")
class Event:
    id: str
    type: str
    sessionID: str | None
    properties: JSON


def session_of(model: SessionModel) -> Session:
    time = model.time
    return Session(
        id=strawberry.ID(model.id),
        title=model.title,
        directory=model.directory,
        projectID=model.projectID,
        parentID=model.parentID,
        version=model.version,
        time=SessionTime(created=time.created, updated=time.updated, archived=time.archived),
        model=model,
    )


def part_of(part: PartModel) -> Part:
    state = None
    if isinstance(part, ToolPart):
        s = part.state
        state = ToolState(
            status=s.status,
            input=cast(Any, s.input),
            output=getattr(s, "output", None),
            title=getattr(s, "title", None),
            error=getattr(s, "error", None),
            metadata=getattr(s, "metadata", None),
        )
    return Part(
        id=strawberry.ID(part.id),
        sessionID=part.sessionID,
        messageID=part.messageID,
        type=part.type,
        text=part.text if isinstance(part, TextPart | ReasoningPart) else None,
        tool=part.tool if isinstance(part, ToolPart) else None,
        callID=part.callID if isinstance(part, ToolPart) else None,
        state=state,
        data=dump(part),
    )


def message_of(item: MessageWithParts) -> Message:
    info = item.info
    parts = [part_of(p) for p in item.parts]
    if isinstance(info, UserMessage):
        model = info.model
        return Message(
            id=strawberry.ID(info.id),
            sessionID=info.sessionID,
            role="user",
            agent=info.agent,
            providerID=model.providerID if model else None,
            modelID=model.modelID if model else None,
            time=MessageTime(created=info.time.created),
            cost=None,
            tokens=None,
            finish=None,
            error=None,
            parts=parts,
            info=dump(info),
        )
    assert isinstance(info, AssistantMessage)
    return Message(
        id=strawberry.ID(info.id),
        sessionID=info.sessionID,
        role="assistant",
        agent=info.agent,
        providerID=info.providerID,
        modelID=info.modelID,
        time=MessageTime(created=info.time.created, completed=info.time.completed),
        cost=info.cost,
        tokens=dump(info.tokens),
        finish=info.finish,
        error=dump(info.error) if info.error is not None else None,
        parts=parts,
        info=dump(info),
    )


@strawberry.type
class Query:
    @strawberry.field(description="This project's sessions, most recently updated first.")
    def sessions(
        self, info: Info[Any, Any], limit: int | None = None, search: str | None = None, roots: bool = False
    ) -> list[Session]:
        engine = engine_of(info)
        needle = (search or "").casefold()
        found = [
            s
            for s in engine.store.list_sessions(roots=roots)
            if s.projectID == engine.project_id and needle in s.title.casefold()
        ]
        return [session_of(s) for s in found[: limit if limit and limit > 0 else None]]

    @strawberry.field(description="One session by id (null when there is none).")
    def session(self, info: Info[Any, Any], id: strawberry.ID) -> Session | None:
        from opencode.session.store import NotFound

        try:
            return session_of(engine_of(info).store.get_session(str(id)))
        except NotFound:
            return None

    @strawberry.field(description="A session's messages with their parts, oldest first (empty for no session).")
    def messages(self, info: Info[Any, Any], sessionID: str, limit: int | None = None) -> list[Message]:
        from opencode.session.store import NotFound

        try:
            found = engine_of(info).store.list_messages(sessionID)
        except NotFound:
            return []
        if limit:
            found = found[-limit:]
        return [message_of(m) for m in found]


def event_of(item: Wire) -> Event:
    data = item.data
    return Event(id=str(data.get("id", "")), type=item.type, sessionID=item.session_id, properties=data["properties"])


@strawberry.type
class Subscription:
    @strawberry.subscription(description="The bus's events (only one session's with `sessionID`).")
    async def events(self, info: Info[Any, Any], sessionID: str | None = None) -> AsyncGenerator[Event, None]:
        hub: Hub = info.context["hub"]
        with hub.listen(session_id=sessionID) as listener:
            yield event_of(connected())
            while True:
                batch = await listener.take()
                if batch is None:
                    return  # the hub stopped, or this subscriber fell too far behind
                for item in batch:
                    yield event_of(item)


schema = strawberry.Schema(query=Query, subscription=Subscription, config=StrawberryConfig(auto_camel_case=False))
