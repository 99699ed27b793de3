"""The event streams under load: 100 subscribers in order, a stuck client dropped, opencode's wire shapes."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from opencode.bus import PartUpdated, SessionIdle, SessionStatus, SessionStatusInfo
from opencode.server import events
from opencode.session.model import TextPart, ToolPart
from opencode.testing.model_server import Reply, Text
from opencode.testing.sse import SSEClient, SSEClosed
from tests.server.conftest import MODEL, Live


async def connect(live: Live, path: str = "/event", **kwargs: Any) -> SSEClient:
    client = await SSEClient.connect(live.url, path, **kwargs)
    assert client.status == 200
    first = await client.next()
    assert first["type"] == "server.connected"  # registered with the hub before this was sent
    return client


async def read_until_idle(client: SSEClient, session_id: str) -> list[dict[str, Any]]:
    got = []
    while True:
        event = await client.next()
        got.append(event)
        if event["type"] == "session.idle" and event["properties"]["sessionID"] == session_id:
            return got


def publish_burst(live: Live, session_id: str, count: int, size: int = 40) -> None:
    """A busy session on the server's loop: busy, `count` streamed deltas of one text part, whole part, idle."""

    async def burst() -> None:
        bus = live.engine.bus
        bus.publish(SessionStatus(sessionID=session_id, status=SessionStatusInfo(type="busy")))
        part = TextPart(id="prt_burst", sessionID=session_id, messageID="msg_burst", text="")
        for i in range(count):
            delta = f"<{i}>" + "x" * size
            part.text += delta
            bus.publish(PartUpdated(part=part, delta=delta))
            if i % 64 == 0:
                await asyncio.sleep(0)  # let the writers run, as a real stream does between chunks
        bus.publish(PartUpdated(part=part))
        bus.publish(SessionIdle(sessionID=session_id))

    live.thread.call(burst())


def streamed_text(got: list[dict[str, Any]], part_id: str) -> str:
    """What a client rebuilds from the wire: the whole part when it comes, deltas appended."""
    text = ""
    for event in got:
        props = event["properties"]
        if event["type"] == "message.part.updated" and props["part"]["id"] == part_id:
            text = props["part"]["text"]
        elif event["type"] == "message.part.delta" and props["partID"] == part_id:
            assert props["field"] == "text"
            text += props["delta"]
    return text


async def test_a_hundred_subscribers_each_get_every_event_in_order(live: Live) -> None:
    clients = await asyncio.gather(*(connect(live) for _ in range(100)))
    count = 300
    started = time.monotonic()
    publisher = asyncio.get_running_loop().run_in_executor(None, publish_burst, live, "ses_busy", count)
    received = await asyncio.wait_for(asyncio.gather(*(read_until_idle(c, "ses_busy") for c in clients)), 20)
    await publisher
    elapsed = time.monotonic() - started
    first = received[0]
    assert len(first) == count + 3
    ids = [e["id"] for e in first]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)  # ids are time-ordered: publish order
    for got in received:
        assert [e["id"] for e in got] == ids  # every client: the same events, the same order
    # The first delta of a part reaches a client as the whole part, the rest as opencode's deltas.
    assert [e["type"] for e in first[:3]] == ["session.status", "message.part.updated", "message.part.delta"]
    expected = "".join(f"<{i}>" + "x" * 40 for i in range(count))
    assert streamed_text(first, "prt_burst") == expected
    assert first[-2]["properties"]["part"]["text"] == expected
    assert elapsed < 15
    hub: events.Hub = live.thread.app.state.hub
    assert hub.dropped == 0 and len(hub.listeners) == 100
    await asyncio.gather(*(c.close() for c in clients))


async def test_a_client_that_stops_reading_is_dropped_without_slowing_the_others(live: Live) -> None:
    hub: events.Hub = live.thread.app.state.hub
    hub.size = 200  # a smaller allowance than the default, so the burst needs not be huge
    readers = [await connect(live) for _ in range(5)]
    stuck = await connect(live, rcvbuf=4096)  # never reads again: the kernel's buffers fill, then its queue

    async def burst() -> int:
        """Stream 1 kB deltas until the stuck client is dropped (a few thousand, depending on buffers)."""
        bus = live.engine.bus
        part = TextPart(id="prt_big", sessionID="ses_big", messageID="msg_big", text="")
        sent = 0
        while (hub.dropped == 0 or sent < 2000) and sent < 50_000:
            delta = f"<{sent}>" + "y" * 1000
            if sent == 0:
                part.text = delta  # the text so far is what a client without the part gets whole
            bus.publish(PartUpdated(part=part, delta=delta))
            sent += 1
            if sent % 32 == 0:
                await asyncio.sleep(0)
        bus.publish(SessionIdle(sessionID="ses_big"))
        return sent

    started = time.monotonic()
    publisher = asyncio.get_running_loop().run_in_executor(None, live.thread.call, burst())
    received = await asyncio.wait_for(asyncio.gather(*(read_until_idle(r, "ses_big") for r in readers)), 20)
    sent = await publisher
    assert time.monotonic() - started < 20
    assert hub.dropped == 1
    assert len(hub.listeners) == 5  # the stuck one is gone from the fan-out
    for got in received:
        assert len(got) == sent + 1
        assert streamed_text(got, "prt_big") == "".join(f"<{i}>" + "y" * 1000 for i in range(sent))
    # Its connection was closed: once it reads, it finds what the kernel had buffered, then the end.
    seen: list[dict[str, Any]] = []
    with pytest.raises(SSEClosed):
        while True:
            seen.append(await asyncio.wait_for(stuck.next(), 10))
    assert 0 < len(seen) < sent
    assert not stuck.finished  # cut, not ended: the server gave up on it
    assert [e["id"] for e in seen] == [e["id"] for e in received[0][: len(seen)]]  # an in-order prefix
    for client in [*readers, stuck]:
        await client.close()


async def test_global_event_wraps_each_event_with_the_directory(live: Live) -> None:
    client = await SSEClient.connect(live.url, "/global/event")
    first = await client.next()
    assert first == {"directory": str(live.engine.cwd), "payload": first["payload"]}
    assert first["payload"]["type"] == "server.connected"
    session = live.thread.call(_create_session(live))
    created = await client.next()
    assert created["directory"] == str(live.engine.cwd)
    payload = created["payload"]
    assert payload["type"] == "session.created"
    assert payload["id"].startswith("evt_")
    assert payload["properties"]["sessionID"] == session.id  # opencode 1.18: sessionID beside info
    assert payload["properties"]["info"]["id"] == session.id
    await client.close()


async def _create_session(live: Live) -> Any:
    return live.engine.create_session(title="wrapped")


async def test_heartbeats_keep_the_stream_alive_and_parsers_skip_them(
    live: Live, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(events, "HEARTBEAT", 0.05)
    client = await connect(live)
    await asyncio.sleep(0.4)  # several idle periods: a heartbeat each, and the stream stays open
    live.thread.call(_idle(live, "ses_hb"))
    event = await asyncio.wait_for(client.next(), 5)
    assert event["type"] == "session.idle"
    assert client.comments >= 3
    # A strict line-by-line reading of the raw bytes: a comment line, then a blank line, nothing else.
    raw = await _raw_stream(live, 0.3)
    blocks = [b for b in raw.split("\n\n") if b]
    assert blocks[0].startswith("data: {")
    assert all(b == ": heartbeat" for b in blocks[1:])
    await client.close()


async def _idle(live: Live, session_id: str) -> None:
    live.engine.bus.publish(SessionIdle(sessionID=session_id))


async def _raw_stream(live: Live, seconds: float) -> str:
    import httpx

    text = ""
    async with httpx.AsyncClient(base_url=live.url) as http, http.stream("GET", "/event") as reply:
        assert reply.headers["content-type"].startswith("text/event-stream")
        try:
            async with asyncio.timeout(seconds):
                async for chunk in reply.aiter_text():
                    text += chunk
        except TimeoutError:
            pass
    return text


async def test_a_real_turn_streams_in_opencodes_shapes(live: Live) -> None:
    answer = "Streaming works, one small delta after another, until the end."
    live.models.push(Reply([Text(answer)], chunk_size=5))
    client = await connect(live)
    session = live.thread.call(_create_session(live))
    turn = asyncio.get_running_loop().run_in_executor(
        None, live.thread.call, live.engine.prompt(session.id, "stream please", model=MODEL)
    )
    got = await asyncio.wait_for(read_until_idle(client, session.id), 20)
    await turn
    types = [e["type"] for e in got]
    assert types[0] == "session.created"
    assert "message.part.delta" in types
    for event in got:
        props = event["properties"]
        if event["type"].startswith(("session.", "message.")):
            assert props.get("sessionID") == session.id, event
        if event["type"] == "message.part.updated":
            assert isinstance(props["time"], int) and "delta" not in props
    stored = [p for m in live.engine.store.list_messages(session.id) for p in m.parts if isinstance(p, TextPart)]
    assistant_text = stored[-1]
    assert streamed_text(got, assistant_text.id) == answer == assistant_text.text
    await client.close()


def test_wire_shapes_of_deltas() -> None:
    part = TextPart(id="prt_a", sessionID="ses_a", messageID="msg_a", text="hello")
    delta = events.wire(PartUpdated(part=part, delta="lo"))
    assert delta["type"] == "message.part.delta"
    assert delta["properties"] == {
        "sessionID": "ses_a",
        "messageID": "msg_a",
        "partID": "prt_a",
        "field": "text",
        "delta": "lo",
    }
    whole = events.wire(PartUpdated(part=part, delta="lo"), whole=True)
    assert whole["type"] == "message.part.updated" and whole["properties"]["part"]["text"] == "hello"
    # Streamed tool input is not sent (opencode sends the tool part when it starts and when it runs).
    tool = ToolPart(id="prt_t", sessionID="ses_a", messageID="msg_a", callID="c1", tool="bash")
    assert events.outgoing(PartUpdated(part=tool, delta='{"comm')) is None
    assert events.outgoing(PartUpdated(part=tool)) is not None


async def test_a_session_filter_passes_only_that_sessions_events() -> None:
    from opencode.bus import Bus

    bus = Bus()
    hub = events.Hub(bus)
    hub.start()
    with hub.listen(session_id="ses_mine") as mine, hub.listen() as everyone:
        bus.publish(SessionIdle(sessionID="ses_other"))
        bus.publish(SessionIdle(sessionID="ses_mine"))
        got = await mine.take(1)
        assert got is not None and [w.data["properties"]["sessionID"] for w in got] == ["ses_mine"]
        everything = await everyone.take(1)
        assert everything is not None and len(everything) == 2
    hub.stop()


async def test_stopping_the_hub_ends_every_stream_cleanly(live: Live) -> None:
    clients = [await connect(live) for _ in range(3)]
    hub: events.Hub = live.thread.app.state.hub

    async def stop() -> None:
        hub.stop()

    live.thread.call(stop())
    for client in clients:
        with pytest.raises(SSEClosed):
            await asyncio.wait_for(client.next(), 5)
        assert client.finished  # the response's last chunk came: ended, not cut
        await client.close()
    assert hub.listeners == set() and hub.dropped == 0
