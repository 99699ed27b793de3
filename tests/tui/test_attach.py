"""`opencode attach <url>`: the same TUI over HTTP against a live `opencode serve` (its SSE stream feeds the view)."""

# The server's fixtures (`live`, `start_server`, its `project`) are imported, so their names are reused.
# ruff: noqa: F811

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Callable

import pytest

from opencode.session.model import AssistantMessage, TextPart, UserMessage
from opencode.testing.model_server import Reply, ScriptedModelServer, Text, ToolCall
from opencode.tool import plan
from opencode.tui import http_client
from opencode.tui.app import OpencodeApp
from opencode.tui.client import ClientError
from opencode.tui.dialogs import PermissionDialog
from opencode.tui.http_client import HttpClient
from opencode.tui.widgets import StatusLine, TextPartView, ToolBlock, UserMessageView
from tests.server.conftest import Live, live, project, start_server  # noqa: F401
from tests.tui.conftest import type_text, wait_until


@pytest.fixture
async def attached(live: Live) -> AsyncIterator[HttpClient]:
    client = HttpClient(live.url)
    yield client
    await client.close()


async def test_a_prompt_typed_in_the_attached_tui_streams_its_answer_over_sse(
    live: Live, attached: HttpClient, model_server: ScriptedModelServer
) -> None:
    answer = "Streamed **over the wire**, piece by piece.\n\n- one\n- two"
    model_server.push(Reply([Text(answer)], chunk_size=4))
    app = OpencodeApp(attached)
    seen: list[str] = []
    async with app.run_test(size=(140, 40)) as pilot:  # wide: the side panel shows (and reads) too
        attached.subscribe(lambda event: seen.append(event.type))
        await wait_until(pilot, lambda: app.session_id and attached._live())
        # The session the app made is the server's.
        assert live.engine.store.get_session(app.session_id).directory == str(live.project)
        asked: list[str] = []
        attached.http.event_hooks["request"].append(lambda request: asked.append(request.url.path))
        await type_text(pilot, "hello server")
        await pilot.press("enter")
        await wait_until(pilot, lambda: app.query(TextPartView) and not attached.busy(app.session_id))
        await wait_until(pilot, lambda: app.query_one(TextPartView).source == answer)
        await pilot.pause(0.1)
        # Repaints while streaming asked the server nothing: status, usage and title come from the events.
        assert asked == [], asked
        spent = str(app.query_one("#side-cost").render())
        assert spent.endswith("spent") and spent != "$0.0000 spent"  # the side panel's cost, from the events
        (user,) = app.query(UserMessageView)
        assert user.text == "hello server"
        (text,) = app.query(TextPartView)
        assert text.query("MarkdownBulletList")  # rendered as markdown, as in-process
        status = str(app.query_one(StatusLine).render())
        assert "mine/test-model" in status and "build" in status and "tokens" in status
    # It arrived as events from the server's stream: streamed deltas, then idle.
    assert seen.count("message.part.updated") > 3 and "session.idle" in seen
    messages = live.engine.store.list_messages(app.session_id)
    assert isinstance(messages[0].info, UserMessage) and isinstance(messages[-1].info, AssistantMessage)
    assert messages[-1].info.finish == "stop"
    assert "".join(p.text for p in messages[-1].parts if isinstance(p, TextPart)) == answer
    assert model_server.requests[-1].json["messages"][-1]["content"] == "hello server"


async def test_after_the_event_stream_drops_the_view_catches_up_with_what_it_missed(
    live: Live, attached: HttpClient, model_server: ScriptedModelServer
) -> None:
    model_server.push(Reply([Text("seen live")]), Reply([Text("missed while the stream was down")]))
    app = OpencodeApp(attached)
    hub = live.thread.app.state.hub
    loop = live.thread.loop
    assert loop is not None
    async with app.run_test(size=(100, 40)) as pilot:
        await wait_until(pilot, lambda: app.session_id and attached._live())
        await type_text(pilot, "first")
        await pilot.press("enter")
        await wait_until(pilot, lambda: [v.source for v in app.query(TextPartView)] == ["seen live"])
        await wait_until(pilot, lambda: not attached.busy(app.session_id))
        loop.call_soon_threadsafe(hub.stop)  # every stream ends; the bus reaches nobody for now
        await wait_until(pilot, lambda: not attached._live())
        # Another client prompts the same session meanwhile: none of its events reach this one.
        reply = live.http.post(f"/session/{app.session_id}/message", json={"parts": [{"type": "text", "text": "2nd"}]})
        assert reply.status_code == 200
        loop.call_soon_threadsafe(hub.start)
        await wait_until(pilot, lambda: attached._resyncing is not None and attached._resyncing.done())
        await wait_until(pilot, lambda: len(app.query(TextPartView)) == 2)
        await pilot.pause(0.2)  # the replayed events all applied before the app closes
        sources = [v.source for v in app.query(TextPartView)]
        assert sources == ["seen live", "missed while the stream was down"]
        assert [v.text for v in app.query(UserMessageView)] == ["first", "2nd"]


async def test_a_permission_asked_on_the_server_is_answered_in_the_attached_tui(
    start_server: Callable[..., Live], model_server: ScriptedModelServer
) -> None:
    live = start_server({"permission": {"bash": "ask"}})
    model_server.push(
        Reply([ToolCall("bash", {"command": "echo approved > proof.txt", "description": "Write proof"})]),
        Reply([Text("it ran")]),
    )
    client = HttpClient(live.url)
    app = OpencodeApp(client)
    async with app.run_test(size=(100, 40)) as pilot:
        await wait_until(pilot, lambda: app.session_id and client._live())
        await type_text(pilot, "run it")
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, PermissionDialog))
        assert "echo approved > proof.txt" in str(app.screen.query_one("#ask-body Static").render())
        assert not (live.project / "proof.txt").exists()
        await pilot.pause(PermissionDialog.ARM_SECONDS)
        await pilot.click("#once")  # POST /permission/{id}/reply, then the turn goes on on the server
        await wait_until(pilot, lambda: not client.busy(app.session_id) and app.query(TextPartView))
        assert (live.project / "proof.txt").read_text() == "approved\n"
        (block,) = app.query(ToolBlock)
        await wait_until(pilot, lambda: block.has_class("-completed"))
        # /undo over HTTP: the server reverts the file and the view drops the turn.
        await type_text(pilot, "/undo")
        await pilot.press("enter")
        await wait_until(pilot, lambda: not (live.project / "proof.txt").exists())
        await wait_until(pilot, lambda: not app.query(UserMessageView))
        assert live.engine.store.get_session(app.session_id).revert is not None


async def test_the_http_client_answers_as_the_in_process_one(
    live: Live, attached: HttpClient, model_server: ScriptedModelServer
) -> None:
    model_server.push(Reply([Text("first answer")]))
    session = attached.create_session()
    assert session.id in [s.id for s in attached.list_sessions()]
    assert attached.directory == str(live.project)
    assert attached.agent_name(session.id) == "build"
    assert http_client.SWITCH_KEY == plan.SWITCH_KEY  # how plan_enter / plan_exit say the agent changed
    assert attached.model_ref(session.id) == "mine/test-model"
    assert not attached.busy(session.id)
    await attached.prompt(session.id, "one")
    items = attached.messages(session.id)
    assert [type(m.info) for m in items] == [UserMessage, AssistantMessage]
    usage = attached.usage(session.id)
    assert usage.tokens > 0 and usage.cost > 0
    assert usage.cost == pytest.approx(live.engine.session_cost(session.id))
    renamed = attached.rename_session(session.id, "renamed over HTTP")
    assert renamed.title == live.engine.store.get_session(session.id).title == "renamed over HTTP"
    assert attached.export_session(session.id)["info"]["id"] == session.id  # type: ignore[index]
    assert attached.todos(session.id) == []
    assert attached.child_sessions(session.id) == []
    assert any(choice.ref == "mine/test-model" for choice in attached.models())
    info = attached.model_info(session.id)
    assert info is not None and info.cost.input == 3.0
    assert "build" in [choice.name for choice in attached.agents()]
    with pytest.raises(ClientError, match="unknown agent"):
        attached.set_agent(session.id, "no-such-agent")
    with pytest.raises(ClientError, match="no such model"):
        attached.set_model("mine/nope")
    await attached.undo(session.id)
    assert attached.messages(session.id) == []
    assert live.engine.store.get_session(session.id).revert is not None
    await attached.redo(session.id)
    assert len(attached.messages(session.id)) == 2
    assert attached.abort(session.id) is False
    with pytest.raises(ClientError, match="nothing to redo"):
        await attached.redo(session.id)
    attached.delete_session(session.id)
    with pytest.raises(ClientError):
        attached.get_session(session.id)


def test_a_password_server_refuses_a_client_without_it(start_server: Callable[..., Live]) -> None:
    live = start_server(hostname="0.0.0.0", environ={"OPENCODE_SERVER_PASSWORD": "s3cret"})
    url = f"http://127.0.0.1:{live.thread.port}"
    without, with_password = HttpClient(url), HttpClient(url, password="s3cret")
    try:
        with pytest.raises(ClientError, match="wants a password"):
            without.health()
        assert with_password.health()["healthy"] is True
    finally:
        without.http.close()
        with_password.http.close()


def test_attach_to_nothing_says_one_line_and_exits_1() -> None:
    env = {k: v for k, v in os.environ.items() if k != "OPENCODE_SERVER_PASSWORD"}
    done = subprocess.run(
        [sys.executable, "-m", "opencode", "attach", "http://127.0.0.1:1"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert "cannot reach the opencode server at http://127.0.0.1:1" in done.stderr
    assert done.stdout == ""


def test_attach_with_a_wrong_password_says_one_line_and_exits_1(start_server: Callable[..., Live]) -> None:
    live = start_server(hostname="0.0.0.0", environ={"OPENCODE_SERVER_PASSWORD": "s3cret"})
    env = {k: v for k, v in os.environ.items() if k != "OPENCODE_SERVER_PASSWORD"}
    done = subprocess.run(
        [sys.executable, "-m", "opencode", "attach", f"http://127.0.0.1:{live.thread.port}", "-p", "wrong"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1 and "wants a password" in done.stderr


def test_attach_finds_a_local_servers_password_and_checks_the_session(start_server: Callable[..., Live]) -> None:
    from opencode.server import credentials

    live = start_server(hostname="0.0.0.0", environ={"OPENCODE_SERVER_PASSWORD": "s3cret"})
    url = f"http://127.0.0.1:{live.thread.port}"
    # What `opencode serve` leaves for local clients: with it, no --password is needed.
    creds = credentials.Credentials(
        url=url, username="opencode", password="s3cret", pid=os.getpid(), directory=str(live.project)
    )
    credentials.write(creds, live.thread.port)
    env = {k: v for k, v in os.environ.items() if k != "OPENCODE_SERVER_PASSWORD"}
    done = subprocess.run(
        [sys.executable, "-m", "opencode", "attach", url, "-s", "ses_nosuch"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1, done.stderr
    assert "--session ses_nosuch" in done.stderr and "password" not in done.stderr


async def test_the_prompt_box_and_side_panel_calls_over_http(
    live: Live, attached: HttpClient, model_server: ScriptedModelServer
) -> None:
    model_server.push(
        Reply([ToolCall("write", {"filePath": "notes.txt", "content": "new line\n"})]),
        Reply([Text("wrote it")]),
    )
    session = attached.create_session()
    await attached.prompt(session.id, "write notes")
    assert (live.project / "notes.txt").read_text() == "new line\n"
    assert attached.modified_files(session.id) == ["notes.txt"]
    diff = await attached.file_diff(session.id, "notes.txt")
    assert "+new line" in diff and "notes.txt" in diff
    with pytest.raises(ClientError, match="not changed"):
        await attached.file_diff(session.id, "README.md")
    said = await attached.shell(session.id, "echo shell-ran-here")
    assert "shell-ran-here" in said
    assert "shell-ran-here" in str(live.engine.store.list_messages(session.id)[-1].model_dump())
    assert await attached.project_files() == ["README.md", "notes.txt"]
    # More files than opencode's GET /find/file gives (200), nested, some ignored: all listed, as ripgrep would.
    (live.project / ".gitignore").write_text("build/\n")
    for index in range(260):
        folder = live.project / "src" / f"pkg{index % 7}" / ("deep" if index % 2 else "")
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"mod{index}.py").write_text("")
    (live.project / "build").mkdir()
    (live.project / "build" / "out.bin").write_text("")
    listed = await attached.project_files(refresh=True)
    assert len(listed) == 260 + 3 and "src/pkg1/deep/mod1.py" in listed and "src/pkg0/mod0.py" in listed
    assert ".gitignore" in listed and not [f for f in listed if f.startswith("build")]
    assert "init" in [c.name for c in attached.commands()]
    assert attached.recent_models() == ["mine/test-model"]
    # @file attachments go as opencode's file parts (file:// URLs); a name that is no file is left out.
    model_server.push(Reply([Text("read it")]), Reply([Text("made AGENTS.md")]))
    await attached.prompt(session.id, "look at @README.md and @nobody", files=["README.md", "nobody"])
    assert "# demo" in json.dumps(model_server.requests[-1].json["messages"][-1])
    # A custom command: POST /session/{id}/command, its template expanded on the server.
    await attached.prompt(session.id, "", command="init")
    assert "AGENTS.md" in json.dumps(model_server.requests[-1].json["messages"][-1])
    model_server.push(Reply([Text("the summary")]))
    await attached.compact(session.id)
    assert any(
        isinstance(m.info, AssistantMessage) and m.info.summary for m in live.engine.store.list_messages(session.id)
    )
    assert model_server.requests[-1].json["messages"]  # the summary was asked of the model


async def test_questions_are_answered_and_dismissed_over_http(
    live: Live, attached: HttpClient, model_server: ScriptedModelServer
) -> None:
    import asyncio

    from opencode.bus import BusEvent, QuestionAsked

    ask = {"questions": [{"question": "Which database?", "header": "DB", "options": [{"label": "SQLite"}]}]}
    model_server.push(
        Reply([ToolCall("question", ask)]),
        Reply([Text("SQLite it is")]),
        Reply([ToolCall("question", ask)]),
        Reply([Text("fine, none")]),
    )
    asked: list[QuestionAsked] = []

    def on_event(event: BusEvent) -> None:
        if isinstance(event, QuestionAsked):
            asked.append(event)

    attached.subscribe(on_event)
    session = attached.create_session()
    for answer in (["SQLite"], None):
        turn = asyncio.ensure_future(attached.prompt(session.id, "pick one"))
        for _ in range(600):
            if asked:
                break
            await asyncio.sleep(0.05)
        (question,) = asked
        assert question.questions[0].question == "Which database?"
        if answer is None:
            assert attached.reject_question(question.id) is True
        else:
            assert attached.reply_question(question.id, [answer]) is True
        await asyncio.wait_for(turn, 30)
        asked.clear()
    tools = [str(m.model_dump()) for m in live.engine.store.list_messages(session.id)]
    assert any("SQLite" in text and "question" in text for text in tools)
    assert "fine, none" in str(attached.messages(session.id)[-1].model_dump())
