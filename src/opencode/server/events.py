"""Bus events out to many clients: the `Hub` fans them out, `/event` and `/global/event` stream them (SSE).

Each client gets its own bounded queue, filled inline as the bus publishes (so every client sees
every event in publish order). A client whose queue fills up, because it stopped reading, is
dropped: its stream ends, and nobody else waits for it.

On the wire an event is opencode's: `data: {"type": "message.part.updated", "properties": {...}}`,
the first one `server.connected`; a comment line every `HEARTBEAT` seconds keeps proxies from
closing an idle stream. `/global/event` wraps each as `{"directory": ..., "payload": event}`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.responses import Response

    from opencode.bus import Bus, BusEvent

log = logging.getLogger("opencode.server")

HEARTBEAT = 10.0
QUEUE_SIZE = 4096
"""Events a client may fall behind by before it is dropped."""


def wire(event: BusEvent) -> dict[str, Any]:
    """One bus event as opencode's clients read it."""
    return event.wire()


class Listener:
    """One client's queue of wire events; `closed` once it fell too far behind (or the hub shut down)."""

    def __init__(self, size: int) -> None:
        self.queue: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue(size)
        self.closed = False

    def offer(self, item: dict[str, Any] | None) -> bool:
        if self.closed:
            return False
        try:
            self.queue.put_nowait(item)
            return True
        except asyncio.QueueFull:
            self.closed = True
            with contextlib.suppress(asyncio.QueueEmpty):
                self.queue.get_nowait()
            self.queue.put_nowait(None)  # wakes the reader, which ends the stream
            return False

    async def __aiter__(self) -> AsyncIterator[dict[str, Any]]:
        while True:
            item = await self.queue.get()
            if item is None:
                return
            yield item


class Hub:
    """Fan-out of the bus to the server's streaming clients (SSE, WebSocket, GraphQL subscriptions)."""

    def __init__(self, bus: Bus, *, size: int = QUEUE_SIZE) -> None:
        self.bus = bus
        self.size = size
        self.listeners: set[Listener] = set()
        self.dropped = 0
        self._remove: Callable[[], None] | None = None

    def start(self) -> None:
        if self._remove is None:
            self._remove = self.bus.on(self._publish)

    def stop(self) -> None:
        if self._remove is not None:
            self._remove()
            self._remove = None
        for listener in list(self.listeners):
            listener.offer(None)

    def _publish(self, event: BusEvent) -> None:
        if not self.listeners:
            return
        item = wire(event)
        for listener in list(self.listeners):
            if not listener.offer(item):
                self.listeners.discard(listener)
                self.dropped += 1
                log.info("dropped an event stream client that stopped reading")

    @contextlib.contextmanager
    def listen(self) -> Any:
        listener = Listener(self.size)
        self.listeners.add(listener)
        try:
            yield listener
        finally:
            self.listeners.discard(listener)


def sse_line(data: dict[str, Any]) -> bytes:
    return b"data: " + json.dumps(data, separators=(",", ":")).encode() + b"\n\n"


def connected() -> dict[str, Any]:
    return {"type": "server.connected", "properties": {}}


async def _stream(request: Request, wrap: Callable[[dict[str, Any]], dict[str, Any]]) -> AsyncIterator[bytes]:
    hub: Hub = request.app.state.hub
    with hub.listen() as listener:
        yield sse_line(wrap(connected()))
        events = aiter(listener)
        while True:
            try:
                item = await asyncio.wait_for(anext(events), HEARTBEAT)
            except TimeoutError:
                yield b": heartbeat\n\n"
                continue
            except StopAsyncIteration:
                return
            yield sse_line(wrap(item))


def _sse(request: Request, wrap: Callable[[dict[str, Any]], dict[str, Any]]) -> Response:
    from starlette.responses import StreamingResponse

    headers = {"cache-control": "no-cache", "x-accel-buffering": "no", "connection": "keep-alive"}
    return StreamingResponse(_stream(request, wrap), media_type="text/event-stream", headers=headers)


async def event_stream(request: Request) -> Response:
    """GET /event: this instance's bus events, as SSE."""
    return _sse(request, lambda item: item)


async def global_event_stream(request: Request) -> Response:
    """GET /global/event: every event, each with the directory of the instance it came from."""
    directory = str(request.app.state.engine.cwd)
    return _sse(request, lambda item: {"directory": directory, "payload": item})
