"""/graphql: sessions, messages and parts after a real turn; a subscription to the bus over graphql-transport-ws."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from typing import Any

import websockets

from opencode.testing.model_server import Reply, Text, ToolCall
from tests.server.conftest import MODEL, Live


def query(live: Live, text: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    reply = live.http.post("/graphql", json={"query": text, "variables": variables or {}})
    assert reply.status_code == 200, reply.text
    body: dict[str, Any] = reply.json()
    return body


async def _turn(live: Live, session_id: str) -> None:
    await live.engine.prompt(session_id, "read the readme, then answer", model=MODEL)


async def _create(live: Live, title: str) -> Any:
    return live.engine.create_session(title=title)


def test_sessions_messages_and_parts_after_a_real_prompt(live: Live) -> None:
    session = live.thread.call(_create(live, "graphql session"))
    live.models.push(
        Reply([Text("Reading it."), ToolCall("read", {"filePath": "README.md"}, id="call_read")]),
        Reply([Text("It is a demo.")]),
    )
    live.thread.call(_turn(live, session.id))

    listed = query(live, "{ sessions { id title time { created updated } } }")
    assert listed["data"]["sessions"][0]["id"] == session.id
    assert listed["data"]["sessions"][0]["title"] == "graphql session"
    assert listed["data"]["sessions"][0]["time"]["updated"] > 1_700_000_000_000  # epoch ms, beyond a 32-bit Int

    one = query(
        live,
        """query One($id: ID!) { session(id: $id) { id messages { role providerID modelID cost
             parts { type text tool callID state { status input output title error } } } } }""",
        {"id": session.id},
    )["data"]["session"]
    assert one["id"] == session.id
    roles = [m["role"] for m in one["messages"]]
    assert roles == ["user", "assistant", "assistant"]
    user, first, second = one["messages"]
    assert [p["text"] for p in user["parts"] if p["type"] == "text"] == ["read the readme, then answer"]
    assert first["providerID"] == "mine" and first["modelID"] == "test-model"
    (tool,) = [p for p in first["parts"] if p["type"] == "tool"]
    assert tool["tool"] == "read" and tool["callID"] == "call_read"
    assert tool["state"]["status"] == "completed"
    assert tool["state"]["input"] == {"filePath": "README.md"}
    assert "# demo" in tool["state"]["output"]  # the file's content, read for real
    assert [p["text"] for p in second["parts"] if p["type"] == "text"] == ["It is a demo."]
    assert second["cost"] > 0

    # The same messages straight from the store, as JSON scalars.
    stored = live.engine.store.list_messages(session.id)
    flat = query(live, "query M($s: String!) { messages(sessionID: $s) { id info parts { data } } }", {"s": session.id})
    messages = flat["data"]["messages"]
    assert [m["id"] for m in messages] == [m.info.id for m in stored]
    assert messages[1]["parts"][-1]["data"] == stored[1].parts[-1].model_dump(mode="json", exclude_none=True)
    assert query(live, '{ session(id: "ses_none") { id } }')["data"]["session"] is None


def test_bad_queries_are_graphql_errors_not_500s(live: Live) -> None:
    wrong = live.http.post("/graphql", json={"query": "{ sessions { nope } }"})
    assert wrong.status_code in (200, 400)
    assert "nope" in wrong.json()["errors"][0]["message"]
    broken = live.http.post("/graphql", content=b"{not json", headers={"content-type": "application/json"})
    assert broken.status_code == 400
    assert live.http.get("/graphql", params={"query": "{ sessions { id } }"}).status_code in (404, 405)
    assert "/graphql" in live.http.get("/doc").json()["paths"]


async def test_a_subscription_receives_the_buses_events(live: Live) -> None:
    url = live.url.replace("http://", "ws://") + "/graphql"
    async with websockets.connect(url, subprotocols=["graphql-transport-ws"]) as ws:  # type: ignore[list-item]
        await ws.send(json.dumps({"type": "connection_init"}))
        assert json.loads(await asyncio.wait_for(ws.recv(), 10))["type"] == "connection_ack"
        subscription = "subscription { events { id type sessionID properties } }"
        await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": subscription}}))
        first = json.loads(await asyncio.wait_for(ws.recv(), 10))
        assert first["type"] == "next" and first["payload"]["data"]["events"]["type"] == "server.connected"
        session = live.thread.call(_create(live, "subscribed"))
        got = json.loads(await asyncio.wait_for(ws.recv(), 10))
        event = got["payload"]["data"]["events"]
        assert event["type"] == "session.created" and event["sessionID"] == session.id
        assert event["properties"]["info"]["title"] == "subscribed"
        assert event["id"].startswith("evt_")
        await ws.send(json.dumps({"id": "1", "type": "complete"}))


async def test_a_session_subscription_sees_its_turn_only(live: Live) -> None:
    mine = live.thread.call(_create(live, "mine"))
    live.models.push(Reply([Text("streamed to a subscriber")], chunk_size=4))
    url = live.url.replace("http://", "ws://") + "/graphql"
    async with websockets.connect(url, subprotocols=["graphql-transport-ws"]) as ws:  # type: ignore[list-item]
        await ws.send(json.dumps({"type": "connection_init"}))
        await asyncio.wait_for(ws.recv(), 10)
        text = "subscription S($s: String) { events(sessionID: $s) { type sessionID properties } }"
        payload = {"query": text, "variables": {"s": mine.id}}
        await ws.send(json.dumps({"id": "s", "type": "subscribe", "payload": payload}))
        assert json.loads(await asyncio.wait_for(ws.recv(), 10))["payload"]["data"]["events"]["type"] == (
            "server.connected"
        )
        live.thread.call(_create(live, "someone else's"))
        turn = asyncio.get_running_loop().run_in_executor(None, live.thread.call, _turn(live, mine.id))
        seen = []
        while not seen or seen[-1]["type"] != "session.idle":
            seen.append(json.loads(await asyncio.wait_for(ws.recv(), 10))["payload"]["data"]["events"])
        await turn
    assert {e["sessionID"] for e in seen} == {mine.id}
    deltas = "".join(e["properties"]["delta"] for e in seen if e["type"] == "message.part.delta")
    assert deltas and "streamed to a subscriber".endswith(deltas)


def test_neither_the_cli_nor_the_servers_start_imports_strawberry() -> None:
    for args in (["-m", "opencode", "--help"], ["-c", "import opencode.server.app, opencode.server.routes.graphql"]):
        done = subprocess.run([sys.executable, "-X", "importtime", *args], capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr[-2000:]
        imported = [line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines() if "|" in line]
        assert "opencode" in imported
        assert not [name for name in imported if name.startswith(("strawberry", "graphql"))], args
