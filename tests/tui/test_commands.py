"""Slash commands and `!command` from the prompt box: custom commands, /init, !shell, /export, /compact."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from opencode.agent.actions import shell_message
from opencode.session.model import AssistantMessage, CompactionPart, TextPart, UserMessage
from opencode.testing.model_server import Reply, ScriptedModelServer, Text
from opencode.tui.app import OpencodeApp
from opencode.tui.client import EngineClient
from opencode.tui.prompt import Prompt
from opencode.tui.widgets import Notice, TextPartView, UserMessageView
from tests.tui.conftest import engine_of, type_text, wait_until
from tests.tui.test_completion import menu_entries, user_text


def last_notice(app: OpencodeApp) -> str:
    return str(app.query(Notice).last().render())


def write_command(project: Path) -> None:
    folder = project / ".opencode" / "command"
    folder.mkdir(parents=True)
    (folder / "review.md").write_text(
        "---\ndescription: review one file\nagent: plan\n---\nReview $1 with care; focus on $2\n"
    )


async def test_slash_lists_built_in_and_custom_commands_and_a_custom_one_is_expanded(
    project: Path, make_app: Callable[..., OpencodeApp], model_server: ScriptedModelServer
) -> None:
    write_command(project)
    model_server.push(Reply([Text("reviewed")]))
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await type_text(pilot, "/")
        await pilot.pause(0.05)
        shown = menu_entries(app)
        assert any(e.startswith("/compact") for e in shown) and any(e.startswith("/new") for e in shown)
        await type_text(pilot, "rev")
        await pilot.pause(0.05)
        assert menu_entries(app) == ["/review  review one file"]
        await pilot.press("enter")  # a custom command is put in the box for its arguments, not run yet
        assert app.query_one(Prompt).text == "/review "
        assert not model_server.requests
        await type_text(pilot, "src/app.py error handling")
        await pilot.press("enter")
        await wait_until(pilot, lambda: model_server.requests and not app.client.busy(app.session_id))
        await wait_until(pilot, lambda: app.query(TextPartView))
    assert user_text(model_server.requests[0]) == "Review src/app.py with care; focus on error handling"
    users = [m.info for m in engine_of(app).store.list_messages(app.session_id) if isinstance(m.info, UserMessage)]
    assert [u.agent for u in users] == ["plan"]  # the command's agent ran it


async def test_slash_init_sends_the_built_in_init_prompt(
    project: Path, make_app: Callable[..., OpencodeApp], model_server: ScriptedModelServer
) -> None:
    model_server.push(Reply([Text("wrote AGENTS.md")]))
    app = make_app()
    async with app.run_test() as pilot:
        await type_text(pilot, "/init")
        await pilot.press("escape")  # close the dropdown; Enter then sends what is typed
        await pilot.press("enter")
        await wait_until(pilot, lambda: model_server.requests and not app.client.busy(app.session_id))
    sent = user_text(model_server.requests[0])
    assert "AGENTS.md" in sent and str(project) in sent


async def test_an_unknown_slash_word_with_text_is_a_message(
    make_app: Callable[..., OpencodeApp], model_server: ScriptedModelServer
) -> None:
    model_server.push(Reply([Text("ok")]))
    app = make_app()
    async with app.run_test() as pilot:
        await type_text(pilot, "/usr/bin is where")
        await pilot.press("enter")
        await wait_until(pilot, lambda: model_server.requests and not app.client.busy(app.session_id))
    assert user_text(model_server.requests[0]) == "/usr/bin is where"


async def test_bang_runs_a_shell_command_and_adds_its_output(
    project: Path, make_app: Callable[..., OpencodeApp], model_server: ScriptedModelServer
) -> None:
    (project / "marker.txt").write_text("x")
    model_server.push(Reply([Text("seen")]))
    app = make_app()
    async with app.run_test() as pilot:
        await type_text(pilot, "!echo hi; ls")
        await pilot.press("enter")
        await wait_until(pilot, lambda: any("marker.txt" in v.text for v in app.query(UserMessageView)))
        shown = app.query(UserMessageView).last().text
        assert "$ echo hi; ls" in shown and "\nhi\n" in shown
        assert not model_server.requests  # no turn: the output waits for the next message
        await type_text(pilot, "what did it print?")
        await pilot.press("enter")
        await wait_until(pilot, lambda: model_server.requests and not app.client.busy(app.session_id))
    stored = engine_of(app).store.list_messages(app.session_id)
    first = stored[0]
    assert isinstance(first.info, UserMessage)
    texts = [p.text for p in first.parts if isinstance(p, TextPart)]
    assert texts == [shell_message("echo hi; ls", "hi\nmarker.txt")]
    sent = json.dumps(model_server.requests[0].json["messages"])
    assert "echo hi; ls" in sent and "marker.txt" in sent  # the model sees it on the next turn


async def test_a_failing_shell_command_says_how_it_ended(make_app: Callable[..., OpencodeApp]) -> None:
    app = make_app()
    async with app.run_test() as pilot:
        await type_text(pilot, "!exit 3")
        await pilot.press("enter")
        await wait_until(pilot, lambda: app.query(UserMessageView))
        assert "failed with exit code 3" in app.query(UserMessageView).last().text
        await type_text(pilot, "!")
        await pilot.press("enter")
        await wait_until(pilot, lambda: app.query(Notice))
        assert "no shell command given" in last_notice(app)


async def test_slash_export_writes_the_session_to_the_project(
    project: Path, make_app: Callable[..., OpencodeApp], model_server: ScriptedModelServer
) -> None:
    model_server.push(Reply([Text("an answer")]))
    app = make_app()
    async with app.run_test(size=(160, 40)) as pilot:
        await type_text(pilot, "hello")
        await pilot.press("enter")
        await wait_until(pilot, lambda: not app.client.busy(app.session_id) and app.query(TextPartView))
        await type_text(pilot, "/export")
        await pilot.press("escape", "enter")
        target = project / f"session-{app.session_id}.json"
        await wait_until(pilot, target.exists)
        await pilot.pause(0.05)
        assert str(target) in last_notice(app)
    document = json.loads(target.read_text())
    assert document["info"]["id"] == app.session_id
    roles = [m["info"]["role"] for m in document["messages"]]
    assert roles == ["user", "assistant"]
    assert document["messages"][0]["parts"][0]["text"] == "hello"
    assert any(p.get("text") == "an answer" for p in document["messages"][1]["parts"])


async def test_slash_compact_summarises_into_the_store(
    make_app: Callable[..., OpencodeApp], model_server: ScriptedModelServer
) -> None:
    model_server.push(Reply([Text("first answer")]), Reply([Text("## Summary\nthe user said hello")]))
    app = make_app()
    async with app.run_test() as pilot:
        await type_text(pilot, "/compact")
        await pilot.press("escape", "enter")
        await wait_until(pilot, lambda: "nothing to compact" in last_notice(app))
        await type_text(pilot, "hello")
        await pilot.press("enter")
        await wait_until(pilot, lambda: not app.client.busy(app.session_id) and app.query(TextPartView))
        await type_text(pilot, "/compact")
        await pilot.press("escape", "enter")
        await wait_until(pilot, lambda: "compacted" in last_notice(app), timeout=15)
    assert len(model_server.requests) == 2
    assert "hello" in json.dumps(model_server.requests[1].json["messages"])
    stored = engine_of(app).store.list_messages(app.session_id)
    assert any(isinstance(p, CompactionPart) and not p.auto for m in stored for p in m.parts)
    summaries = [m for m in stored if isinstance(m.info, AssistantMessage) and m.info.summary]
    assert len(summaries) == 1 and summaries[0].info.error is None
    assert [p.text for p in summaries[0].parts if isinstance(p, TextPart)] == ["## Summary\nthe user said hello"]


async def test_project_files_are_listed_once_and_relisted_on_refresh(project: Path, make_app: Any) -> None:
    (project / "one.py").write_text("")
    client = make_app().client
    assert isinstance(client, EngineClient)
    assert await client.project_files() == ["one.py"]
    (project / "two.py").write_text("")
    assert await client.project_files() == ["one.py"]
    assert await client.project_files(refresh=True) == ["one.py", "two.py"]
    await client.close()
