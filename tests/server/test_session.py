"""Session routes against a live server: list/create/get/update/delete, status, todos, diffs, abort, revert,
summarize, init, shell, command, fork, permissions and questions answered over HTTP, and the SSE stream."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from opencode.testing.model_server import Reply, ScriptedModelServer, Text, ToolCall
from tests.server.conftest import Live

PROVIDER, MODEL_ID = "mine", "test-model"


# --- helpers (test_message.py uses them too) --------------------------------------------------------


def wait_for(check: Callable[[], Any], timeout: float = 20.0, what: str = "the condition") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


def wait_idle(live: Live, session_id: str) -> None:
    wait_for(lambda: session_id not in live.http.get("/session/status").json(), what=f"{session_id} to go idle")


def new_session(live: Live, **body: Any) -> str:
    reply = live.http.post("/session", json=body)
    assert reply.status_code == 200, reply.text
    session_id: str = reply.json()["id"]
    return session_id


def text(value: str) -> dict[str, Any]:
    return {"parts": [{"type": "text", "text": value}]}


def user_messages(live: Live, session_id: str) -> list[dict[str, Any]]:
    return [m for m in live.http.get(f"/session/{session_id}/message").json() if m["info"]["role"] == "user"]


class EventReader:
    """GET /event read on a thread with httpx's stream, every event kept in order, until `until(event)` holds."""

    def __init__(self, live: Live, until: Callable[[dict[str, Any]], bool]) -> None:
        self.url = live.url
        self.until = until
        self.events: list[dict[str, Any]] = []
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()
        wait_for(lambda: self.events, what="server.connected")

    def _read(self) -> None:
        with (
            httpx.Client(base_url=self.url, timeout=30) as client,
            client.stream("GET", "/event") as stream,
        ):
            for line in stream.iter_lines():
                if line.startswith("data: "):
                    event = json.loads(line[len("data: ") :])
                    self.events.append(event)
                    if self.until(event):
                        break
        self.done.set()

    def types(self) -> list[str]:
        return [e["type"] for e in self.events]

    def wait(self, timeout: float = 20.0) -> None:
        assert self.done.wait(timeout), "the awaited event never came"


# --- sessions ----------------------------------------------------------------------------------------


def test_create_list_get_update_delete(live: Live) -> None:
    parent = new_session(live, title="Fix the parser")
    child = new_session(live, title="look around", parentID=parent)
    other = new_session(live, title="Write docs")

    listed = live.http.get("/session").json()
    assert [s["id"] for s in listed][:3] == [other, child, parent]
    assert {s["id"] for s in live.http.get("/session", params={"roots": "true"}).json()} == {parent, other}
    assert [s["id"] for s in live.http.get("/session", params={"search": "PARSER"}).json()] == [parent]
    assert len(live.http.get("/session", params={"limit": 1}).json()) == 1
    assert live.http.get("/session", params={"start": int(time.time() * 1000) + 60_000}).json() == []
    assert [s["id"] for s in live.http.get(f"/session/{parent}/children").json()] == [child]

    got = live.http.get(f"/session/{parent}").json()
    assert got["title"] == "Fix the parser" and got["directory"] == str(live.project)
    assert set(got) >= {"id", "projectID", "directory", "title", "version", "time"}

    renamed = live.http.patch(f"/session/{parent}", json={"title": "Fix the lexer"})
    assert renamed.status_code == 200 and renamed.json()["title"] == "Fix the lexer"
    assert live.engine.store.get_session(parent).title == "Fix the lexer"
    archived = live.http.patch(f"/session/{other}", json={"time": {"archived": 1234}}).json()
    assert archived["time"]["archived"] == 1234

    assert live.http.delete(f"/session/{parent}").json() is True
    assert live.http.get(f"/session/{parent}").status_code == 404
    assert live.http.get(f"/session/{child}").status_code == 404  # children go with it
    assert [s.id for s in live.engine.store.list_sessions()] == [other]


def test_bad_session_payloads_and_unknown_sessions(live: Live) -> None:
    wrong = live.http.post("/session", json={"title": 5})
    assert wrong.status_code == 400 and wrong.json()["data"]["field"] == "title"
    orphan = live.http.post("/session", json={"parentID": "ses_nope"})
    assert orphan.status_code == 400 and orphan.json()["data"]["field"] == "parentID"
    assert live.http.post("/session", content=b"{not json").status_code == 400
    limit = live.http.get("/session", params={"limit": "lots"})
    assert limit.status_code == 400 and limit.json()["data"]["field"] == "limit"

    session_id = new_session(live)
    empty = live.http.patch(f"/session/{session_id}", json={"title": "   "})
    assert empty.status_code == 400 and "empty" in empty.json()["data"]["message"]

    for method, path in [
        ("GET", ""),
        ("PATCH", ""),
        ("DELETE", ""),
        ("GET", "/children"),
        ("GET", "/todo"),
        ("GET", "/diff"),
        ("POST", "/abort"),
        ("POST", "/unrevert"),
        ("GET", "/message"),
    ]:
        reply = live.http.request(method, f"/session/ses_missing{path}", json={} if method == "PATCH" else None)
        assert reply.status_code == 404, (method, path, reply.text)
        assert reply.json()["name"] == "NotFoundError"
    model = {"providerID": PROVIDER, "modelID": MODEL_ID}
    for path, body in [
        ("/revert", {"messageID": "msg_x"}),
        ("/shell", {"agent": "build", "command": "ls"}),
        ("/command", {"command": "init", "arguments": ""}),
        ("/summarize", model),
        ("/init", model),
        ("/fork", {}),
        ("/permissions/per_x", {"response": "once"}),
    ]:
        reply = live.http.post(f"/session/ses_missing{path}", json=body)
        assert reply.status_code == 404, (path, reply.text)


def test_todos_written_by_the_model(live: Live, model_server: ScriptedModelServer) -> None:
    todos = [{"content": "write the test", "status": "in_progress", "priority": "high", "id": "1"}]
    model_server.push(Reply([ToolCall("todowrite", {"todos": todos})]), Reply([Text("planned")]))
    session_id = new_session(live)
    assert live.http.post(f"/session/{session_id}/message", json=text("plan it")).status_code == 200
    assert live.http.get(f"/session/{session_id}/todo").json() == todos


def test_diff_revert_and_unrevert_restore_files(live: Live, model_server: ScriptedModelServer) -> None:
    model_server.push(
        Reply([ToolCall("write", {"filePath": str(live.project / "notes.txt"), "content": "one\ntwo\n"})]),
        Reply([Text("wrote it")]),
    )
    session_id = new_session(live)
    assert live.http.post(f"/session/{session_id}/message", json=text("write notes")).status_code == 200
    assert (live.project / "notes.txt").read_text() == "one\ntwo\n"

    diffs = live.http.get(f"/session/{session_id}/diff").json()
    assert diffs == [{"file": "notes.txt", "before": "", "after": "one\ntwo\n", "additions": 2, "deletions": 0}]

    (user,) = user_messages(live, session_id)
    reverted = live.http.post(f"/session/{session_id}/revert", json={"messageID": user["info"]["id"]})
    assert reverted.status_code == 200, reverted.text
    assert reverted.json()["revert"]["messageID"] == user["info"]["id"]
    assert not (live.project / "notes.txt").exists()

    restored = live.http.post(f"/session/{session_id}/unrevert")
    assert restored.status_code == 200 and "revert" not in restored.json()
    assert (live.project / "notes.txt").read_text() == "one\ntwo\n"

    nothing = live.http.post(f"/session/{session_id}/unrevert")
    assert nothing.status_code == 400
    unknown = live.http.post(f"/session/{session_id}/revert", json={"messageID": "msg_unknown"})
    assert unknown.status_code == 400 and unknown.json()["data"]["field"] == "messageID"
    missing = live.http.post(f"/session/{session_id}/revert", json={})
    assert missing.status_code == 400 and missing.json()["data"]["field"] == "messageID"


def test_diff_of_one_turn(live: Live, model_server: ScriptedModelServer) -> None:
    notes = str(live.project / "a.txt")
    model_server.push(
        Reply([ToolCall("write", {"filePath": notes, "content": "1\n"})]),
        Reply([Text("first")]),
        Reply([ToolCall("bash", {"command": "echo 2 >> a.txt && echo new > b.txt", "description": "Change files"})]),
        Reply([Text("second")]),
    )
    session_id = new_session(live)
    live.http.post(f"/session/{session_id}/message", json=text("one"))
    live.http.post(f"/session/{session_id}/message", json=text("two"))
    first, second = (m["info"]["id"] for m in user_messages(live, session_id))

    def diffs(**query: str) -> dict[str, tuple[str, str]]:
        reply = live.http.get(f"/session/{session_id}/diff", params=query)
        assert reply.status_code == 200, reply.text
        return {d["file"]: (d["before"], d["after"]) for d in reply.json()}

    assert diffs(messageID=first) == {"a.txt": ("", "1\n")}
    assert diffs(messageID=second) == {"a.txt": ("1\n", "1\n2\n"), "b.txt": ("", "new\n")}
    assert diffs() == {"a.txt": ("", "1\n2\n"), "b.txt": ("", "new\n")}
    unknown = live.http.get(f"/session/{session_id}/diff", params={"messageID": "msg_nope"})
    assert unknown.status_code == 400


def test_abort_stops_a_long_streamed_answer(live: Live, model_server: ScriptedModelServer) -> None:
    model_server.push(Reply([Text("a long answer " * 50)], stall_after=3, stall_seconds=30))
    session_id = new_session(live)
    assert live.http.post(f"/session/{session_id}/prompt_async", json=text("talk")).status_code == 204
    status = wait_for(lambda: live.http.get("/session/status").json().get(session_id), what="busy")
    assert status == {"type": "busy"}
    wait_for(
        lambda: any(
            p["type"] == "text" for m in live.http.get(f"/session/{session_id}/message").json() for p in m["parts"]
        ),
        what="the first streamed text",
    )
    busy = live.http.post(f"/session/{session_id}/message", json=text("again"))
    assert busy.status_code == 409 and "busy" in busy.json()["data"]["message"]

    started = time.monotonic()
    assert live.http.post(f"/session/{session_id}/abort").json() is True
    wait_idle(live, session_id)
    assert time.monotonic() - started < 10  # not the 30 s stall
    answer = live.http.get(f"/session/{session_id}/message").json()[-1]
    assert answer["info"]["role"] == "assistant"
    assert answer["info"]["error"]["name"] == "MessageAbortedError"
    assert live.http.post(f"/session/{session_id}/abort").json() is True  # nothing running: still true


def test_permission_asked_and_answered_over_http(
    start_server: Callable[..., Live], model_server: ScriptedModelServer
) -> None:
    live = start_server({"permission": {"edit": "ask"}})
    target = live.project / "approved.txt"
    model_server.push(
        Reply([ToolCall("write", {"filePath": str(target), "content": "yes\n"})]),
        Reply([Text("written")]),
    )
    session_id = new_session(live)
    assert live.http.post(f"/session/{session_id}/prompt_async", json=text("write it")).status_code == 204
    (pending,) = wait_for(lambda: live.http.get("/permission").json(), what="a permission request")
    assert pending["sessionID"] == session_id and pending["permission"] == "edit"
    assert set(pending) >= {"id", "patterns", "metadata", "always", "tool"}
    assert not target.exists()

    bad = live.http.post(f"/session/{session_id}/permissions/{pending['id']}", json={"response": "maybe"})
    assert bad.status_code == 400 and bad.json()["data"]["field"] == "response"
    unknown = live.http.post(f"/session/{session_id}/permissions/per_unknown", json={"response": "once"})
    assert unknown.status_code == 404

    ok = live.http.post(f"/session/{session_id}/permissions/{pending['id']}", json={"response": "once"})
    assert ok.status_code == 200 and ok.json() is True
    wait_idle(live, session_id)
    assert target.read_text() == "yes\n"
    assert live.http.get("/permission").json() == []


def test_permission_rejected_with_the_reply_route(
    start_server: Callable[..., Live], model_server: ScriptedModelServer
) -> None:
    live = start_server({"permission": {"edit": "ask"}})
    target = live.project / "refused.txt"
    model_server.push(
        Reply([ToolCall("write", {"filePath": str(target), "content": "no\n"})]),
        Reply([Text("understood")]),
    )
    session_id = new_session(live)
    assert live.http.post(f"/session/{session_id}/prompt_async", json=text("write it")).status_code == 204
    (pending,) = wait_for(lambda: live.http.get("/permission").json(), what="a permission request")
    reply = live.http.post(f"/permission/{pending['id']}/reply", json={"reply": "reject", "message": "not now"})
    assert reply.status_code == 200 and reply.json() is True
    wait_idle(live, session_id)
    assert not target.exists()
    assert "not now" in json.dumps(model_server.requests[-1].json)  # the model was told why
    assert live.http.post(f"/permission/{pending['id']}/reply", json={"reply": "once"}).status_code == 404


def test_question_answered_and_rejected_over_http(live: Live, model_server: ScriptedModelServer) -> None:
    question = {"questions": [{"question": "Which database?", "header": "DB", "options": [{"label": "Postgres"}]}]}
    model_server.push(
        Reply([ToolCall("question", question)]),
        Reply([Text("Postgres it is")]),
        Reply([ToolCall("question", question)]),
        Reply([Text("fine, no answer")]),
    )
    session_id = new_session(live)
    assert live.http.post(f"/session/{session_id}/prompt_async", json=text("ask me")).status_code == 204
    (pending,) = wait_for(lambda: live.http.get("/question").json(), what="a question")
    assert pending["sessionID"] == session_id and pending["questions"][0]["question"] == "Which database?"
    wrong = live.http.post(f"/question/{pending['id']}/reply", json={"answers": "Postgres"})
    assert wrong.status_code == 400 and wrong.json()["data"]["field"] == "answers"
    assert live.http.post(f"/question/{pending['id']}/reply", json={"answers": [["Postgres"]]}).json() is True
    wait_idle(live, session_id)
    assert "Postgres" in json.dumps(model_server.requests[1].json)

    assert live.http.post(f"/session/{session_id}/prompt_async", json=text("ask again")).status_code == 204
    (again,) = wait_for(lambda: live.http.get("/question").json(), what="the second question")
    assert live.http.post(f"/question/{again['id']}/reject").json() is True
    wait_idle(live, session_id)
    assert "dismissed" in json.dumps(model_server.requests[3].json)
    assert live.http.post(f"/question/{again['id']}/reject").status_code == 404


def test_summarize_compacts_the_session(live: Live, model_server: ScriptedModelServer) -> None:
    model_server.push(Reply([Text("hello")]), Reply([Text("SUMMARY: they said hi")]))
    session_id = new_session(live)
    assert live.http.post(f"/session/{session_id}/message", json=text("hi")).status_code == 200
    reply = live.http.post(f"/session/{session_id}/summarize", json={"providerID": PROVIDER, "modelID": MODEL_ID})
    assert reply.status_code == 200 and reply.json() is True
    summaries = [m for m in live.http.get(f"/session/{session_id}/message").json() if m["info"].get("summary")]
    assert [p["text"] for p in summaries[0]["parts"] if p["type"] == "text"] == ["SUMMARY: they said hi"]
    unknown = live.http.post(f"/session/{session_id}/summarize", json={"providerID": "nope", "modelID": "x"})
    assert unknown.status_code == 400 and unknown.json()["data"]["field"] == "modelID"
    missing = live.http.post(f"/session/{session_id}/summarize", json={"providerID": PROVIDER})
    assert missing.status_code == 400 and missing.json()["data"]["field"] == "modelID"


def test_init_runs_the_agents_md_command(live: Live, model_server: ScriptedModelServer) -> None:
    model_server.push(
        Reply([ToolCall("write", {"filePath": str(live.project / "AGENTS.md"), "content": "# Agents\n"})]),
        Reply([Text("AGENTS.md written")]),
    )
    session_id = new_session(live)
    reply = live.http.post(
        f"/session/{session_id}/init", json={"providerID": PROVIDER, "modelID": MODEL_ID, "messageID": "msg_x"}
    )
    assert reply.status_code == 200 and reply.json() is True
    assert "AGENTS.md" in json.dumps(model_server.requests[0].json)
    assert (live.project / "AGENTS.md").read_text() == "# Agents\n"


def test_shell_adds_its_output_as_a_user_message(live: Live, model_server: ScriptedModelServer) -> None:
    session_id = new_session(live)
    reply = live.http.post(f"/session/{session_id}/shell", json={"agent": "build", "command": "echo shell-says-hi"})
    assert reply.status_code == 200, reply.text
    message = reply.json()
    assert message["info"]["role"] == "user"
    assert "shell-says-hi" in message["parts"][0]["text"]
    assert model_server.requests == []
    missing = live.http.post(f"/session/{session_id}/shell", json={"command": "ls"})
    assert missing.status_code == 400 and missing.json()["data"]["field"] == "agent"
    unknown = live.http.post(f"/session/{session_id}/shell", json={"agent": "nobody", "command": "ls"})
    assert unknown.status_code == 400 and unknown.json()["data"]["field"] == "agent"


def test_command_expands_a_custom_command(live: Live, model_server: ScriptedModelServer, project: Path) -> None:
    (project / ".opencode" / "command").mkdir(parents=True)
    (project / ".opencode" / "command" / "greet.md").write_text("Say hello to $ARGUMENTS politely.\n")
    model_server.push(Reply([Text("Hello, Bob.")]))
    session_id = new_session(live)
    attached = {"type": "file", "mime": "text/plain", "filename": "bob.txt", "url": "data:text/plain,Bob%20likes%20tea"}
    reply = live.http.post(
        f"/session/{session_id}/command", json={"command": "greet", "arguments": "Bob", "parts": [attached]}
    )
    assert reply.status_code == 200, reply.text
    answer = reply.json()
    assert answer["info"]["role"] == "assistant"
    assert [p["text"] for p in answer["parts"] if p["type"] == "text"] == ["Hello, Bob."]
    assert "Say hello to Bob politely." in json.dumps(model_server.requests[0].json)
    assert "Bob likes tea" in json.dumps(model_server.requests[0].json)
    unknown = live.http.post(f"/session/{session_id}/command", json={"command": "nope", "arguments": ""})
    assert unknown.status_code == 400 and "greet" in unknown.json()["data"]["message"]


def test_fork_copies_the_messages_before_a_point(live: Live, model_server: ScriptedModelServer) -> None:
    model_server.push(Reply([Text("first answer")]), Reply([Text("second answer")]))
    session_id = new_session(live, title="Original")
    live.http.post(f"/session/{session_id}/message", json=text("one"))
    live.http.post(f"/session/{session_id}/message", json=text("two"))
    second_user = user_messages(live, session_id)[1]["info"]["id"]

    forked = live.http.post(f"/session/{session_id}/fork", json={"messageID": second_user})
    assert forked.status_code == 200, forked.text
    fork = forked.json()
    assert fork["id"] != session_id and fork["title"].startswith("Original (fork")
    copied = live.http.get(f"/session/{fork['id']}/message").json()
    assert [m["info"]["role"] for m in copied] == ["user", "assistant"]
    assert copied[1]["info"]["parentID"] == copied[0]["info"]["id"]
    assert all(p["sessionID"] == fork["id"] for m in copied for p in m["parts"])
    whole = live.http.post(f"/session/{session_id}/fork").json()
    assert len(live.http.get(f"/session/{whole['id']}/message").json()) == 4


def test_the_event_stream_carries_a_prompt_in_order(live: Live, model_server: ScriptedModelServer) -> None:
    model_server.push(Reply([Text("streamed words here")]))
    session_id = new_session(live)
    reader = EventReader(
        live, until=lambda e: e["type"] == "session.idle" and e["properties"]["sessionID"] == session_id
    )
    assert live.http.post(f"/session/{session_id}/prompt_async", json=text("stream it")).status_code == 204
    reader.wait()
    types = reader.types()
    assert types[0] == "server.connected"
    user_id = user_messages(live, session_id)[0]["info"]["id"]
    answer = [
        (i, e)
        for i, e in enumerate(reader.events)
        if e["type"] in ("message.part.updated", "message.part.delta")
        and e["properties"].get("part", e["properties"]).get("messageID") != user_id
    ]
    busy, idle = types.index("session.status"), types.index("session.idle")
    assert answer and busy < answer[0][0] and answer[-1][0] < idle
    assert "message.part.updated" in {e["type"] for _, e in answer}
    streamed = ""  # the answer's text as a client builds it: the part, then its deltas
    for _, e in answer:
        if e["type"] == "message.part.updated" and e["properties"]["part"]["type"] == "text":
            streamed = e["properties"]["part"]["text"]
        elif e["type"] == "message.part.delta":
            streamed += e["properties"]["delta"]
    assert streamed == "streamed words here"
    statuses = [e["properties"]["status"]["type"] for e in reader.events if e["type"] == "session.status"]
    assert statuses == ["busy", "idle"]
    assert types.index("message.updated") < busy  # the user's message is stored first


def test_session_status_says_retry_while_a_rate_limited_request_waits(
    live: Live, model_server: ScriptedModelServer
) -> None:
    from opencode.testing.model_server import ErrorReply

    model_server.push(
        ErrorReply(429, "slow down", kind="rate_limit", headers={"retry-after": "2"}), Reply([Text("after the wait")])
    )
    session_id = new_session(live)
    assert live.http.post(f"/session/{session_id}/prompt_async", json=text("hi")).status_code == 204
    seen: dict[str, Any] = {}
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        status = live.http.get("/session/status").json().get(session_id)
        if status and status["type"] == "retry":
            seen = status
            break
        time.sleep(0.05)
    assert seen["attempt"] >= 1 and "slow down" in seen["message"].lower() and seen["next"] > 0
    wait_idle(live, session_id)
    assert live.http.get("/session/status").json() == {}


def test_revert_names_a_part_that_is_not_in_the_message(live: Live, model_server: ScriptedModelServer) -> None:
    model_server.push(Reply([Text("hello")]))
    session_id = new_session(live)
    answer = live.http.post(f"/session/{session_id}/message", json=text("hi")).json()
    body = {"messageID": answer["info"]["id"], "partID": "prt_nothere"}
    reply = live.http.post(f"/session/{session_id}/revert", json=body)
    assert reply.status_code == 400 and reply.json()["data"]["field"] == "partID"
    second = answer["parts"][1]["id"]  # the text part, after the step's start
    reverted = live.http.post(
        f"/session/{session_id}/revert", json={"messageID": answer["info"]["id"], "partID": second}
    )
    assert reverted.status_code == 200 and reverted.json()["revert"]["partID"] == second
    shown = live.http.get(f"/session/{session_id}/message").json()
    assert [p["type"] for p in shown[-1]["parts"]] == [
        "step-start",
        "text",
        "step-finish",
    ]  # the list keeps all, as opencode's
