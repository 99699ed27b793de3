"""Bus events out to many clients: the `Hub` fans them out, `/event` and `/global/event` stream them (SSE).

On the wire an event is opencode 1.18's: `{"id": "evt_...", "type": ..., "properties": {...}}`, the
first one `server.connected`. `wire()` translates our bus events into those shapes:
- session, message and part events carry `sessionID` next to `info` / `part`, and
  `message.part.updated` its `time` (epoch ms), as opencode's SDK types declare;
- streamed text and reasoning (our `PartUpdated` with a `delta`) become opencode's
  `message.part.delta` `{sessionID, messageID, partID, field: "text", delta}`. A client that does not
  have the part yet (the first delta of a part, or a client that connected mid-stream) gets the
  whole part as `message.part.updated` instead, so it never sees a delta of a part it cannot find;
- streamed tool input (a delta on a pending tool part) is not sent, as opencode does not: the
  client sees the tool part when it starts and again when it runs.

Each client has its own bounded queue, filled inline as the bus publishes (so every client sees
every event in publish order) and emptied by that client's writer, many events per write. A
client whose queue fills up, because it stopped reading, is dropped at once: its writer is
cancelled even mid-write, its connection closed, and nobody else waits for it.

A comment line (`: heartbeat`) every `HEARTBEAT` seconds keeps proxies from closing an idle stream.
`/global/event` wraps each event as `{"directory": ..., "payload": event}`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections import deque
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from opencode import id as ids

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.responses import Response

    from opencode.bus import Bus, BusEvent

log = logging.getLogger("opencode.server")

HEARTBEAT = 10.0
QUEUE_SIZE = 4096
"""Events a client may fall behind by before it is dropped."""
BATCH = 512
"""Most events written to one client in one write."""
PACE = 0.02
"""Seconds a client's writer waits after a write before the next one, gathering what comes meanwhile,
once `PACE_FROM` clients listen: an event after a quiet spell goes out at once, a busy stream in at
most 50 writes a second per client, many events each (a write, a syscall, per delta to each of 100
clients costs more than the deltas; bench/sse.py). With fewer clients every event goes out as it comes."""
PACE_FROM = 16

STREAMED_TYPES = ("text", "reasoning")
"""Part types whose deltas go out as `message.part.delta` (field `text`)."""


def event_id() -> str:
    """An id for one event on the wire, `evt_` and the same time-ordered scheme as sessions and parts."""
    return "evt_" + ids.ascending("prt")[4:]


def _dumps(data: Any) -> str:
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False)


class Wire:
    """One event as sent: its JSON object, serialised once however many clients get it."""

    __slots__ = ("_sse", "_text", "data", "part_id", "session_id")

    def __init__(self, data: dict[str, Any], *, part_id: str | None = None) -> None:
        self.data = data
        self.part_id = part_id
        """The part whose whole state this event carries (message.part.updated), if any."""
        self.session_id = session_of(data)
        self._text: str | None = None
        self._sse: bytes | None = None

    @property
    def type(self) -> str:
        return str(self.data["type"])

    @property
    def text(self) -> str:
        if self._text is None:
            self._text = _dumps(self.data)
        return self._text

    def sse(self) -> bytes:
        if self._sse is None:
            self._sse = b"data: " + self.text.encode() + b"\n\n"
        return self._sse


class Streamed:
    """A streamed delta of a text or reasoning part: `message.part.delta` for a client that has the
    part, the whole part (`message.part.updated`) for one that does not; each built only if needed."""

    __slots__ = ("_delta", "_event", "_id", "_whole", "part_id", "session_id")

    def __init__(self, event: Any) -> None:
        self._event = event
        self._id = event_id()
        self.part_id: str = event.part.id
        self.session_id: str = event.part.sessionID
        self._delta: Wire | None = None
        self._whole: Wire | None = None

    def delta(self) -> Wire:
        if self._delta is None:
            part = self._event.part
            properties = {
                "sessionID": part.sessionID,
                "messageID": part.messageID,
                "partID": part.id,
                "field": "text",
                "delta": self._event.delta,
            }
            self._delta = Wire({"id": self._id, "type": "message.part.delta", "properties": properties})
        return self._delta

    def whole(self) -> Wire:
        if self._whole is None:
            self._whole = Wire(wire(self._event, whole=True, identifier=self._id), part_id=self.part_id)
        return self._whole


def session_of(data: dict[str, Any]) -> str | None:
    """The session an event (on the wire) is about, if any."""
    properties = data.get("properties") or {}
    session = properties.get("sessionID")
    return session if isinstance(session, str) else None


def wire(event: BusEvent, *, whole: bool = False, identifier: str | None = None) -> dict[str, Any]:
    """One bus event as opencode's clients read it (see the module's docstring).

    A streamed text delta is `message.part.delta` unless `whole`: then the part as it is now."""
    from opencode.bus import MessageUpdated, PartUpdated, SessionCreated, SessionDeleted, SessionUpdated
    from opencode.session.model import now_ms

    identifier = identifier or event_id()
    if isinstance(event, PartUpdated):
        part = event.part
        if event.delta is not None and not whole and part.type in STREAMED_TYPES:
            properties: dict[str, Any] = {
                "sessionID": part.sessionID,
                "messageID": part.messageID,
                "partID": part.id,
                "field": "text",
                "delta": event.delta,
            }
            return {"id": identifier, "type": "message.part.delta", "properties": properties}
        properties = {"sessionID": part.sessionID, "part": part.model_dump(mode="json", exclude_none=True)}
        properties["time"] = now_ms()
        return {"id": identifier, "type": event.type, "properties": properties}
    properties = event.model_dump(mode="json", exclude_none=True)
    if isinstance(event, SessionCreated | SessionUpdated | SessionDeleted):
        properties = {"sessionID": event.info.id, **properties}
    elif isinstance(event, MessageUpdated):
        properties = {"sessionID": event.info.sessionID, **properties}
    return {"id": identifier, "type": event.type, "properties": properties}


def outgoing(event: BusEvent) -> Wire | Streamed | None:
    """What the hub hands its clients for one bus event (None: nothing goes out)."""
    from opencode.bus import PartUpdated

    if isinstance(event, PartUpdated) and event.delta is not None:
        if event.part.type in STREAMED_TYPES:
            return Streamed(event)
        return None  # streamed tool input: opencode's clients get the tool part when it starts and runs
    part_id = event.part.id if isinstance(event, PartUpdated) else None
    return Wire(wire(event), part_id=part_id)


def connected() -> Wire:
    return Wire({"id": event_id(), "type": "server.connected", "properties": {}})


class Listener:
    """One client's queue of wire events; `closed` once it fell too far behind (or the hub shut down).

    `session_id` set: only events about that session. `on_drop` is called when it is dropped for
    falling behind (the writer may be stuck in a write: it is cancelled)."""

    def __init__(self, size: int, *, session_id: str | None = None, hub: Hub | None = None) -> None:
        self.size = size
        self.hub = hub
        self.session_id = session_id
        self.items: deque[Wire] = deque()
        self.closed = False
        self.dropped = False
        self.on_drop: Callable[[], object] | None = None
        self.streaming: set[str] = set()
        """Parts this client has whole while they stream: their next deltas go out as deltas."""
        self._waiter: asyncio.Future[None] | None = None
        self._last = 0.0
        self._pacing = False
        self._high = max(1, min(BATCH, size // 4))
        """Queued events that end a writer's pause at once (so pacing never makes a client fall behind)."""

    def offer(self, item: Wire | Streamed) -> bool:
        """Queue one event (in publish order); False once this client is closed."""
        if self.closed:
            return False
        if self.session_id is not None and item.session_id != self.session_id:
            return True
        if len(self.items) >= self.size:
            self.dropped = True
            self.close()
            if self.on_drop is not None:
                self.on_drop()
            return False
        if isinstance(item, Streamed):
            if item.part_id in self.streaming:
                self.items.append(item.delta())
            else:
                self.streaming.add(item.part_id)
                self.items.append(item.whole())
        else:
            if item.part_id is not None:
                self.streaming.discard(item.part_id)
            self.items.append(item)
        if not self._pacing or len(self.items) >= self._high:
            self._wake()
        return True

    def reply(self, item: Wire) -> None:
        """A message for this client alone (a WebSocket reply), queued after the events so far."""
        if not self.closed:
            self.items.append(item)
            self._wake()

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        self.items.clear()
        self._wake()

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    async def take(self, timeout: float | None = None) -> list[Wire] | None:
        """The events waiting (at least one, at most `BATCH`); [] when `timeout` seconds pass without
        any; None once closed. Within `PACE` seconds of the last take, it waits out the rest first
        (unless the queue fills meanwhile)."""
        loop = asyncio.get_running_loop()
        if not self.items and not self.closed:
            await self._wait(timeout)
            if not self.items and not self.closed:
                return []
        pace = PACE if self.hub is None or len(self.hub.listeners) >= PACE_FROM else 0.0
        rest = self._last + pace - loop.time()
        if rest > 0 and len(self.items) < self._high and not self.closed:
            self._pacing = True
            try:
                await self._wait(rest)
            finally:
                self._pacing = False
        if self.closed:
            return None
        self._last = loop.time()
        count = min(len(self.items), BATCH)
        return [self.items.popleft() for _ in range(count)]

    async def _wait(self, timeout: float | None) -> None:
        """Until `_wake` (or `timeout` seconds)."""
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[None] = loop.create_future()
        self._waiter = waiter
        timer = loop.call_later(timeout, _expire, waiter) if timeout is not None else None
        try:
            await waiter
        finally:
            self._waiter = None
            if timer is not None:
                timer.cancel()


def _expire(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)


class Hub:
    """Fan-out of the bus to the server's streaming clients (SSE, WebSocket, GraphQL subscriptions)."""

    def __init__(self, bus: Bus, *, size: int = QUEUE_SIZE) -> None:
        self.bus = bus
        self.size = size
        self.listeners: set[Listener] = set()
        self.dropped = 0
        self.stopped = False
        self._remove: Callable[[], None] | None = None

    def start(self) -> None:
        self.stopped = False
        if self._remove is None:
            self._remove = self.bus.on(self._publish)

    def stop(self) -> None:
        self.stopped = True
        if self._remove is not None:
            self._remove()
            self._remove = None
        for listener in list(self.listeners):
            listener.close()
        self.listeners.clear()

    def _publish(self, event: BusEvent) -> None:
        if not self.listeners:
            return
        item = outgoing(event)
        if item is None:
            return
        for listener in list(self.listeners):
            if not listener.offer(item):
                self.listeners.discard(listener)
                if listener.dropped:
                    self.dropped += 1
                    log.info("dropped an event stream client that stopped reading (%d behind)", listener.size)

    @contextlib.contextmanager
    def listen(self, *, session_id: str | None = None) -> Iterator[Listener]:
        """A new client's queue, registered before anything is sent to it (so it misses nothing after)."""
        listener = Listener(self.size, session_id=session_id, hub=self)
        if self.stopped:
            listener.close()
        else:
            self.listeners.add(listener)
        try:
            yield listener
        finally:
            self.listeners.discard(listener)
            listener.on_drop = None
            listener.close()


# --- SSE ---------------------------------------------------------------------------------------

SSE_HEADERS = [
    (b"content-type", b"text/event-stream"),
    (b"cache-control", b"no-cache"),
    (b"x-accel-buffering", b"no"),
    (b"connection", b"keep-alive"),
]


class EventStream:
    """The SSE response (an ASGI app): `server.connected`, then every event, many per write.

    Ends when the client disconnects, when the hub stops, or when the client is dropped for not
    reading: then the writer is cancelled even in the middle of a write and the app returns without
    finishing the response, which makes uvicorn close the connection."""

    def __init__(self, hub: Hub, encode: Callable[[Wire], bytes], *, session_id: str | None = None) -> None:
        self.hub = hub
        self.encode = encode
        self.session_id = session_id

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        with self.hub.listen(session_id=self.session_id) as listener:
            await send({"type": "http.response.start", "status": 200, "headers": SSE_HEADERS})
            writer = asyncio.ensure_future(self._write(listener, send))
            listener.on_drop = writer.cancel
            watcher = asyncio.ensure_future(_until_disconnect(receive))
            try:
                await asyncio.wait({writer, watcher}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                writer.cancel()
                watcher.cancel()
                await asyncio.gather(writer, watcher, return_exceptions=True)
            stopped = writer.done() and not writer.cancelled() and writer.exception() is None
            if stopped and not listener.dropped and not (watcher.done() and not watcher.cancelled()):
                # The hub stopped (the server is shutting down): end the response properly.
                await send({"type": "http.response.body", "body": b"", "more_body": False})

    async def _write(self, listener: Listener, send: Any) -> None:
        await send({"type": "http.response.body", "body": self.encode(connected()), "more_body": True})
        while True:
            batch = await listener.take(HEARTBEAT)
            if batch is None:
                return
            body = b"".join(self.encode(item) for item in batch) if batch else b": heartbeat\n\n"
            await send({"type": "http.response.body", "body": body, "more_body": True})


async def _until_disconnect(receive: Any) -> None:
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return


async def event_stream(request: Request) -> Response:
    """GET /event: this instance's bus events, as SSE."""
    hub: Hub = request.app.state.hub
    return EventStream(hub, Wire.sse)  # type: ignore[return-value]  # an ASGI app, as a Response is


async def global_event_stream(request: Request) -> Response:
    """GET /global/event: every event, each with the directory of the instance it came from."""
    hub: Hub = request.app.state.hub
    prefix = b'data: {"directory":' + _dumps(str(request.app.state.engine.cwd)).encode() + b',"payload":'

    def encode(item: Wire) -> bytes:
        return prefix + item.text.encode() + b"}\n\n"

    return EventStream(hub, encode)  # type: ignore[return-value]
