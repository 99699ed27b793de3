"""/ws: the same events as /event over a WebSocket, prompts and aborts from the client, bad frames answered."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import pytest
import websockets

from opencode.session.model import AssistantMessage, TextPart
from opencode.testing.model_server import Reply, Text
from tests.server.conftest import MODEL, Live


def ws_url(live: Live, query: str = "") -> str:
    return live.url.replace("http://", "ws://") + "/ws" + query


async def receive(ws: Any) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), 10))
    return data


async def until(ws: Any, match: Callable[[dict[str, Any]], bool]) -> list[dict[str, Any]]:
    got = []
    while True:
        got.append(await receive(ws))
        if match(got[-1]):
            return got


def idle_of(session_id: str) -> Callable[[dict[str, Any]], bool]:
    return lambda m: m["type"] == "session.idle" and m["properties"]["sessionID"] == session_id


async def _create(live: Live, title: str) -> Any:
    return live.engine.create_session(title=title)


async def test_events_arrive_in_the_event_streams_shapes(live: Live) -> None:
    async with websockets.connect(ws_url(live)) as everything:
        first = await receive(everything)
        assert first["type"] == "server.connected" and first["id"].startswith("evt_")
        session = live.thread.call(_create(live, "seen over ws"))
        created = await receive(everything)
        assert created["type"] == "session.created"
        assert created["properties"]["sessionID"] == session.id
        assert created["properties"]["info"]["title"] == "seen over ws"
        # ?sessionID= narrows the stream to one session.
        async with websockets.connect(ws_url(live, f"?sessionID={session.id}")) as mine:
            assert (await receive(mine))["type"] == "server.connected"
            live.thread.call(_create(live, "another session"))
            live.thread.call(_rename(live, session.id))
            updated = await receive(mine)
            assert updated["type"] == "session.updated" and updated["properties"]["sessionID"] == session.id
        assert (await receive(everything))["properties"]["info"]["title"] == "another session"


async def _rename(live: Live, session_id: str) -> None:
    from opencode.agent.actions import rename_session

    rename_session(live.engine, session_id, "renamed")


async def test_a_prompt_over_the_socket_runs_a_turn(live: Live) -> None:
    session = live.thread.call(_create(live, "ws prompt"))
    live.models.push(Reply([Text("Answered over a WebSocket, in small deltas.")], chunk_size=4))
    async with websockets.connect(ws_url(live)) as ws:
        await receive(ws)
        prompt = {
            "type": "prompt",
            "requestID": "r1",
            "sessionID": session.id,
            "parts": [{"type": "text", "text": "hello from the socket"}],
            "model": {"providerID": "mine", "modelID": "test-model"},
        }
        await ws.send(json.dumps(prompt))
        accepted = await receive(ws)
        assert accepted == {"type": "prompt.accepted", "sessionID": session.id, "requestID": "r1"}
        got = await until(ws, idle_of(session.id))
    types = [m["type"] for m in got]
    assert "message.part.delta" in types and types[-1] == "session.idle"
    (request,) = live.models.requests
    assert b"hello from the socket" in request.body
    messages = live.engine.store.list_messages(session.id)
    answer = messages[-1]
    assert isinstance(answer.info, AssistantMessage) and answer.info.error is None
    assert [p.text for p in answer.parts if isinstance(p, TextPart)] == ["Answered over a WebSocket, in small deltas."]


async def test_abort_over_the_socket_stops_the_turn(live: Live) -> None:
    session = live.thread.call(_create(live, "ws abort"))
    live.models.push(Reply([Text("a long answer " * 40)], stall_after=2, stall_seconds=30))
    async with websockets.connect(ws_url(live)) as ws:
        await receive(ws)
        parts = [{"type": "text", "text": "talk for a long time"}]
        await ws.send(json.dumps({"type": "prompt", "sessionID": session.id, "parts": parts, "model": MODEL}))
        await until(ws, lambda m: m["type"] == "message.part.updated" and m["properties"]["part"]["type"] == "text")
        started = asyncio.get_running_loop().time()
        await ws.send(json.dumps({"type": "abort", "sessionID": session.id}))
        got = await until(ws, idle_of(session.id))
        assert asyncio.get_running_loop().time() - started < 5
        assert {"type": "abort.accepted", "sessionID": session.id, "aborted": True} in got
        # Nothing runs any more: a second abort finds nothing to stop.
        await ws.send(json.dumps({"type": "abort", "sessionID": session.id}))
        assert await receive(ws) == {"type": "abort.accepted", "sessionID": session.id, "aborted": False}
    answer = live.engine.store.list_messages(session.id)[-1].info
    assert isinstance(answer, AssistantMessage)
    assert answer.error is not None and answer.error.name == "MessageAbortedError"


async def test_bad_frames_get_error_frames_and_the_socket_stays_open(live: Live) -> None:
    session = live.thread.call(_create(live, "bad frames"))
    text = [{"type": "text", "text": "x"}]
    cases: list[tuple[str | bytes, str]] = [
        ("not json", "not valid JSON"),
        ("[1, 2]", "a message is a JSON object"),
        (json.dumps({"type": "dance"}), "unknown message type 'dance'"),
        (json.dumps({"text": "no type"}), "unknown message type None"),
        (json.dumps({"type": "prompt", "parts": text}), "sessionID: Field required"),
        (json.dumps({"type": "prompt", "sessionID": session.id, "parts": []}), "parts"),
        (json.dumps({"type": "prompt", "sessionID": session.id, "parts": "hello"}), "parts"),
        (json.dumps({"type": "prompt", "sessionID": "ses_missing", "parts": text}), "no session ses_missing"),
        (json.dumps({"type": "prompt", "sessionID": session.id, "parts": text, "model": "nope/none"}), "model"),
        (json.dumps({"type": "prompt", "sessionID": session.id, "parts": text, "agent": "ghost"}), "ghost"),
        (json.dumps({"type": "abort", "sessionID": 42}), "sessionID"),
        (b"\x00\x01binary", "binary frames"),
    ]
    async with websockets.connect(ws_url(live)) as ws:
        await receive(ws)
        for frame, expected in cases:
            await ws.send(frame)
            answer = await receive(ws)
            assert answer["type"] == "error", frame
            assert expected in answer["message"], (frame, answer)
        await ws.send(json.dumps({"type": "abort", "sessionID": session.id, "requestID": "still-here"}))
        assert (await receive(ws))["requestID"] == "still-here"
    assert live.models.requests == []  # no bad frame reached the model


async def test_a_busy_session_refuses_a_second_prompt(live: Live) -> None:
    session = live.thread.call(_create(live, "busy"))
    live.models.push(Reply([Text("slow " * 30)], stall_after=1, stall_seconds=30))
    parts = [{"type": "text", "text": "go"}]
    frame = json.dumps({"type": "prompt", "sessionID": session.id, "parts": parts, "model": MODEL})
    async with websockets.connect(ws_url(live)) as ws:
        await receive(ws)
        await ws.send(frame)
        assert (await receive(ws))["type"] == "prompt.accepted"
        await ws.send(frame)
        refused = await until(ws, lambda m: m["type"] == "error")
        assert "busy" in refused[-1]["message"] and refused[-1]["sessionID"] == session.id
        await ws.send(json.dumps({"type": "abort", "sessionID": session.id}))
        await until(ws, idle_of(session.id))


async def test_the_password_guards_the_socket(start_server: Callable[..., Live]) -> None:
    live = start_server(environ={"OPENCODE_SERVER_PASSWORD": "s3cret"})
    with pytest.raises(websockets.exceptions.WebSocketException):
        async with websockets.connect(ws_url(live)) as ws:
            await receive(ws)
    async with websockets.connect(ws_url(live, "?auth_token=s3cret")) as ws:
        assert (await receive(ws))["type"] == "server.connected"
    foreign = {"Origin": "https://evil.example"}
    with pytest.raises(websockets.exceptions.WebSocketException):
        async with websockets.connect(ws_url(live, "?auth_token=s3cret"), additional_headers=foreign) as ws:
            await receive(ws)


def test_plain_http_on_ws_says_to_upgrade(live: Live) -> None:
    reply = live.http.get("/ws")
    assert reply.status_code == 426
    assert "WebSocket" in reply.json()["data"]["message"]
    assert live.http.get("/doc").json()["paths"]["/ws"]["get"]["operationId"] == "event.websocket"


async def test_a_socket_that_stops_reading_is_dropped(live: Live) -> None:
    import socket

    from opencode.bus import PartUpdated, SessionIdle

    hub = live.thread.app.state.hub
    hub.size = 100
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", live.thread.port))
    # No compression (repeated text would shrink to nothing) and a small receive buffer: it fills soon.
    stuck_socket = websockets.connect(ws_url(live), sock=sock, max_queue=1, compression=None)
    async with stuck_socket as stuck, websockets.connect(ws_url(live)) as ok:
        await receive(stuck)
        await receive(ok)

        async def burst() -> int:
            part = TextPart(id="prt_ws", sessionID="ses_ws", messageID="msg_ws", text="start")
            sent = 0
            while hub.dropped == 0 and sent < 50_000:
                live.engine.bus.publish(PartUpdated(part=part, delta=f"<{sent}>" + "z" * 1000))
                sent += 1
                if sent % 32 == 0:
                    await asyncio.sleep(0)
            live.engine.bus.publish(SessionIdle(sessionID="ses_ws"))
            return sent

        publisher = asyncio.get_running_loop().run_in_executor(None, live.thread.call, burst())
        got = await until(ok, idle_of("ses_ws"))  # the reading client, meanwhile: everything, in order
        sent = await publisher
        assert hub.dropped == 1
        deltas = [m["properties"]["delta"] for m in got if m["type"] == "message.part.delta"]
        assert [d[: d.index(">") + 1] for d in deltas] == [f"<{i}>" for i in range(1, sent)]
        with pytest.raises(websockets.exceptions.ConnectionClosed):
            while True:
                await asyncio.wait_for(stuck.recv(), 10)
