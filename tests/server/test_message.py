"""Message routes against a live server: prompts (waited for and async), their parts, stored messages and parts,
aborting a waited-for prompt, and bad payloads."""

from __future__ import annotations

import base64
import json
import threading
from typing import Any

from opencode.testing.model_server import Reply, ScriptedModelServer, Text
from tests.server.conftest import Live
from tests.server.test_session import new_session, text, wait_for, wait_idle

PNG = base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\0" * 32).decode()


def sent(model_server: ScriptedModelServer, index: int = -1) -> str:
    """What the model received in a request, as JSON text."""
    return json.dumps(model_server.requests[index].json)


def test_a_prompt_waits_for_the_answer(live: Live, model_server: ScriptedModelServer) -> None:
    model_server.push(Reply([Text("Hello there")]))
    session_id = new_session(live)
    reply = live.http.post(f"/session/{session_id}/message", json=text("hi"))
    assert reply.status_code == 200, reply.text
    answer = reply.json()
    info = answer["info"]
    assert info["role"] == "assistant" and info["sessionID"] == session_id
    assert (info["providerID"], info["modelID"]) == ("mine", "test-model")
    assert set(info) >= {"id", "time", "parentID", "mode", "path", "cost", "tokens"}
    assert info["time"]["completed"] >= info["time"]["created"]
    assert [p["type"] for p in answer["parts"]] == ["step-start", "text", "step-finish"]
    assert answer["parts"][1]["text"] == "Hello there"
    assert '"hi"' in sent(model_server)

    stored = live.engine.store.get_message(session_id, info["id"])
    assert stored.info.id == info["id"]


def test_stored_messages_in_opencodes_shape(live: Live, model_server: ScriptedModelServer) -> None:
    model_server.push(Reply([Text("one")]), Reply([Text("two")]))
    session_id = new_session(live)
    live.http.post(f"/session/{session_id}/message", json=text("first"))
    live.http.post(f"/session/{session_id}/message", json=text("second"))

    messages = live.http.get(f"/session/{session_id}/message").json()
    assert [m["info"]["role"] for m in messages] == ["user", "assistant", "user", "assistant"]
    user = messages[0]
    assert user["info"]["agent"] == "build"
    assert user["info"]["model"] == {"providerID": "mine", "modelID": "test-model"}
    (part,) = user["parts"]
    assert {k: part[k] for k in ("type", "text", "sessionID", "messageID")} == {
        "type": "text",
        "text": "first",
        "sessionID": session_id,
        "messageID": user["info"]["id"],
    }
    assert part["id"].startswith("prt_")
    finish = messages[1]["parts"][-1]
    assert finish["type"] == "step-finish" and set(finish["tokens"]) == {"input", "output", "reasoning", "cache"}

    last = live.http.get(f"/session/{session_id}/message", params={"limit": 1}).json()
    assert [m["info"]["id"] for m in last] == [messages[-1]["info"]["id"]]
    bad_limit = live.http.get(f"/session/{session_id}/message", params={"limit": -1})
    assert bad_limit.status_code == 400 and bad_limit.json()["data"]["field"] == "limit"

    one = live.http.get(f"/session/{session_id}/message/{user['info']['id']}")
    assert one.status_code == 200 and one.json() == user
    assert live.http.get(f"/session/{session_id}/message/msg_missing").status_code == 404


def test_file_and_agent_parts(live: Live, model_server: ScriptedModelServer) -> None:
    (live.project / "src").mkdir()
    (live.project / "src" / "app.py").write_text("print('inside the project')\n")
    model_server.push(Reply([Text("seen")]))
    session_id = new_session(live)
    body = {
        "parts": [
            {"type": "text", "text": "look at these"},
            {"type": "file", "mime": "image/png", "filename": "dot.png", "url": f"data:image/png;base64,{PNG}"},
            {"type": "file", "mime": "text/plain", "filename": "note.txt", "url": "data:text/plain,plain%20note"},
            {"type": "file", "mime": "text/x-python", "url": f"file://{live.project / 'src' / 'app.py'}"},
            {"type": "agent", "name": "explore"},
        ]
    }
    reply = live.http.post(f"/session/{session_id}/message", json=body)
    assert reply.status_code == 200, reply.text
    request = sent(model_server)
    assert "look at these" in request and "plain note" in request and "inside the project" in request
    assert PNG[:16] in request  # the image went to the model
    assert "subagent: explore" in request
    user = live.http.get(f"/session/{session_id}/message").json()[0]
    files = [p for p in user["parts"] if p["type"] == "file"]
    assert [(f["mime"], f["filename"]) for f in files] == [("image/png", "dot.png")]
    assert files[0]["url"].startswith("data:image/png;base64,")


def test_bad_prompts_get_400_naming_the_field(live: Live, model_server: ScriptedModelServer, tmp_path: Any) -> None:
    session_id = new_session(live)
    url = f"/session/{session_id}/message"
    outside = tmp_path / "secret.txt"
    outside.write_text("not for the model")
    cases: list[tuple[Any, str]] = [
        ({}, "parts"),
        ({"parts": "hello"}, "parts"),
        ({"parts": [{"type": "video", "text": "x"}]}, "parts.0"),
        ({"parts": [{"type": "text"}]}, "parts.0.text.text"),
        ({"parts": [{"type": "text", "text": 5}]}, "parts.0.text.text"),
        ({"parts": []}, "parts"),
        ({"parts": [{"type": "text", "text": "hi"}], "model": "mine/test-model"}, "model"),
        ({"parts": [{"type": "text", "text": "hi"}], "model": {"providerID": "nope", "modelID": "x"}}, "model"),
        ({"parts": [{"type": "text", "text": "hi"}], "agent": "nobody"}, "agent"),
        ({"parts": [{"type": "file", "mime": "text/plain", "url": f"file://{outside}"}]}, "parts.0.url"),
        ({"parts": [{"type": "file", "mime": "text/plain", "url": "https://example.com/x"}]}, "parts.0.url"),
        ({"parts": [{"type": "file", "mime": "image/png", "url": "data:image/png;base64,@@@"}]}, "parts.0.url"),
        ({"parts": [{"type": "agent", "name": "nobody"}]}, "parts.0.name"),
        (
            {"parts": [{"type": "subtask", "prompt": "p", "description": "d", "agent": "nobody"}]},
            "parts.0.agent",
        ),
    ]
    for body, field in cases:
        reply = live.http.post(url, json=body)
        assert reply.status_code == 400, (body, reply.text)
        error = reply.json()
        assert error["name"] == "BadRequest"
        assert error["data"]["field"] == field, (body, error)
    assert "not for the model" not in json.dumps([r.json for r in model_server.requests])
    assert live.http.post(url, content=b"{oops").status_code == 400
    assert live.http.post("/session/ses_missing/message", json=text("hi")).status_code == 404
    assert live.http.post("/session/ses_missing/prompt_async", json=text("hi")).status_code == 404
    assert model_server.requests == []
    assert live.engine.store.list_messages(session_id) == []


def test_no_reply_stores_the_message_without_a_turn(live: Live, model_server: ScriptedModelServer) -> None:
    session_id = new_session(live)
    reply = live.http.post(f"/session/{session_id}/message", json={**text("remember this"), "noReply": True})
    assert reply.status_code == 200
    assert reply.json()["info"]["role"] == "user"
    assert reply.json()["parts"][0]["text"] == "remember this"
    assert model_server.requests == []
    model_server.push(Reply([Text("noted")]))
    live.http.post(f"/session/{session_id}/message", json=text("what did I say?"))
    assert "remember this" in sent(model_server)


def test_prompt_async_returns_at_once_and_the_turn_goes_on(live: Live, model_server: ScriptedModelServer) -> None:
    model_server.push(Reply([Text("later answer")], delay=0.3))
    session_id = new_session(live)
    reply = live.http.post(f"/session/{session_id}/prompt_async", json=text("go"))
    assert reply.status_code == 204 and reply.content == b""
    assert live.http.get("/session/status").json() == {session_id: {"type": "busy"}}
    second = live.http.post(f"/session/{session_id}/prompt_async", json=text("again"))
    assert second.status_code == 409
    wait_idle(live, session_id)
    answer = live.http.get(f"/session/{session_id}/message").json()[-1]
    assert [p["text"] for p in answer["parts"] if p["type"] == "text"] == ["later answer"]


def test_abort_answers_a_waiting_prompt_with_the_aborted_message(live: Live, model_server: ScriptedModelServer) -> None:
    model_server.push(Reply([Text("never finished " * 40)], stall_after=3, stall_seconds=30))
    session_id = new_session(live)
    result: dict[str, Any] = {}

    def send() -> None:
        result["reply"] = live.http.post(f"/session/{session_id}/message", json=text("long one"))

    sender = threading.Thread(target=send)
    sender.start()
    wait_for(lambda: live.http.get("/session/status").json().get(session_id), what="busy")
    wait_for(lambda: model_server.requests, what="the model request")
    assert live.http.post(f"/session/{session_id}/abort").json() is True
    sender.join(15)
    reply = result["reply"]
    assert reply.status_code == 200, reply.text
    assert reply.json()["info"]["error"]["name"] == "MessageAbortedError"


def test_messages_and_parts_deleted_and_updated(live: Live, model_server: ScriptedModelServer) -> None:
    model_server.push(Reply([Text("an answer")]))
    session_id = new_session(live)
    answer = live.http.post(f"/session/{session_id}/message", json=text("hi")).json()
    text_part = next(p for p in answer["parts"] if p["type"] == "text")
    base = f"/session/{session_id}/message/{answer['info']['id']}/part/{text_part['id']}"

    changed = live.http.patch(base, json={**text_part, "text": "an edited answer"})
    assert changed.status_code == 200 and changed.json()["text"] == "an edited answer"
    stored = live.engine.store.get_message(session_id, answer["info"]["id"])
    assert [getattr(p, "text", None) for p in stored.parts if p.type == "text"] == ["an edited answer"]
    mismatch = live.http.patch(base, json={**text_part, "id": "prt_other"})
    assert mismatch.status_code == 400
    wrong = live.http.patch(base, json={**text_part, "type": "nonsense"})
    assert wrong.status_code == 400

    assert live.http.delete(base).json() is True
    stored = live.engine.store.get_message(session_id, answer["info"]["id"])
    assert all(p.id != text_part["id"] for p in stored.parts)
    assert live.http.delete(base).status_code == 400

    user_id = answer["info"]["parentID"]
    assert live.http.delete(f"/session/{session_id}/message/{user_id}").json() is True
    assert [m.info.id for m in live.engine.store.list_messages(session_id)] == [answer["info"]["id"]]
    assert live.http.delete(f"/session/{session_id}/message/{user_id}").status_code == 400


def test_the_api_document_lists_the_session_routes(live: Live) -> None:
    paths = live.http.get("/doc").json()["paths"]
    assert paths["/session/{sessionID}/message"]["post"]["operationId"] == "session.prompt"
    assert paths["/session/{sessionID}/prompt_async"]["post"]["operationId"] == "session.prompt_async"
    assert paths["/permission/{requestID}/reply"]["post"]["operationId"] == "permission.reply"
    assert paths["/session/status"]["get"]["operationId"] == "session.status"


def test_system_and_tools_of_a_prompt_reach_the_request(live: Live, model_server: ScriptedModelServer) -> None:
    model_server.push(Reply([Text("ok")]), Reply([Text("ok again")]))
    session_id = new_session(live)
    body = {**text("hi"), "system": "Answer in French.", "tools": {"write": False, "bash": False}}
    assert live.http.post(f"/session/{session_id}/message", json=body).status_code == 200
    request = model_server.requests[0].json
    assert "Answer in French." in json.dumps(request["messages"][0])
    names = [t["function"]["name"] for t in request["tools"]]
    assert "write" not in names and "bash" not in names and "read" in names
    stored = [m.info for m in live.engine.store.list_messages(session_id) if m.info.role == "user"]
    assert stored[0].system == "Answer in French." and stored[0].tools == {"write": False, "bash": False}
    # The next prompt without them has every tool again and no extra system text.
    assert live.http.post(f"/session/{session_id}/message", json=text("again")).status_code == 200
    again = model_server.requests[1].json
    assert "write" in [t["function"]["name"] for t in again["tools"]]
    assert "Answer in French." not in json.dumps(again["messages"][0])


def test_a_subtask_part_runs_the_task_in_a_child_session(live: Live, model_server: ScriptedModelServer) -> None:
    model_server.push(Reply([Text("The tests live in tests/.")]), Reply([Text("Summary: tests/ holds them.")]))
    session_id = new_session(live)
    body = {"parts": [{"type": "subtask", "prompt": "Find the tests", "description": "find tests", "agent": "explore"}]}
    reply = live.http.post(f"/session/{session_id}/message", json=body)
    assert reply.status_code == 200, reply.text
    assert [p.get("text") for p in reply.json()["parts"] if p["type"] == "text"] == ["Summary: tests/ holds them."]
    (child,) = live.http.get(f"/session/{session_id}/children").json()
    child_messages = live.http.get(f"/session/{child['id']}/message").json()
    assert child_messages[0]["parts"][0]["text"] == "Find the tests"
    parts = [p for m in live.http.get(f"/session/{session_id}/message").json() for p in m["parts"]]
    (task,) = [p for p in parts if p["type"] == "tool"]
    assert task["tool"] == "task" and task["state"]["status"] == "completed"
    assert "The tests live in tests/." in task["state"]["output"]


def test_a_prompt_may_choose_its_user_message_id(live: Live, model_server: ScriptedModelServer) -> None:
    model_server.push(Reply([Text("ok")]))
    session_id = new_session(live)
    chosen = "msg_0123456789abcdefClient"
    reply = live.http.post(f"/session/{session_id}/message", json={**text("hi"), "messageID": chosen})
    assert reply.status_code == 200, reply.text
    assert reply.json()["info"]["parentID"] == chosen
    assert live.engine.store.get_message(session_id, chosen).info.role == "user"
    again = live.http.post(f"/session/{session_id}/message", json={**text("hi"), "messageID": chosen})
    assert again.status_code == 400 and again.json()["data"]["field"] == "messageID"
    bad = live.http.post(f"/session/{session_id}/message", json={**text("hi"), "messageID": "nope"})
    assert bad.status_code == 400 and bad.json()["data"]["field"] == "messageID"


def test_messages_page_back_with_before_and_limit(live: Live, model_server: ScriptedModelServer) -> None:
    model_server.push(Reply([Text("one")]), Reply([Text("two")]), Reply([Text("three")]))
    session_id = new_session(live)
    for word in ("first", "second", "third"):
        assert live.http.post(f"/session/{session_id}/message", json=text(word)).status_code == 200
    every = live.http.get(f"/session/{session_id}/message").json()
    ids = [m["info"]["id"] for m in every]
    last_two = live.http.get(f"/session/{session_id}/message", params={"limit": 2}).json()
    assert [m["info"]["id"] for m in last_two] == ids[-2:]
    page = live.http.get(f"/session/{session_id}/message", params={"limit": 2, "before": ids[-2]}).json()
    assert [m["info"]["id"] for m in page] == ids[-4:-2]
    bad = live.http.get(f"/session/{session_id}/message", params={"before": "msg_nothere"})
    assert bad.status_code == 400 and bad.json()["data"]["field"] == "before"


def test_each_text_part_is_stored_as_sent(live: Live, model_server: ScriptedModelServer) -> None:
    model_server.push(Reply([Text("ok")]))
    session_id = new_session(live)
    body = {"parts": [{"type": "text", "text": "first part"}, {"type": "text", "text": "second part"}]}
    assert live.http.post(f"/session/{session_id}/message", json=body).status_code == 200
    user = live.http.get(f"/session/{session_id}/message").json()[0]
    assert [p["text"] for p in user["parts"] if p["type"] == "text"] == ["first part", "second part"]
    assert "first part" in sent(model_server) and "second part" in sent(model_server)
