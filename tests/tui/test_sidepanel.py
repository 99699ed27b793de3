"""The side panel against a real engine: title, context used, cost, todos, and the files a session changed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textual.widgets import OptionList, Static

from opencode.bus import TodoUpdated
from opencode.session.model import AssistantMessage, Todo
from opencode.testing.model_server import Reply, ScriptedModelServer, Text, ToolCall
from opencode.testing.model_server.script import ScriptUsage
from opencode.tui.app import OpencodeApp
from opencode.tui.client import EngineClient
from opencode.tui.sidepanel import FileDiffDialog, SidePanel
from tests.tui.conftest import engine_of, make_client, type_text, wait_until


def client_with_context(project: Path, server: ScriptedModelServer, context: int = 10_000) -> EngineClient:
    """The conftest's model with a context window of `context` tokens in its catalog entry."""
    model = {"tool_call": True, "cost": {"input": 3.0, "output": 15.0}, "limit": {"context": context, "output": 1000}}
    options = {"baseURL": server.base_url("openai-chat"), "apiKey": server.api_key, "maxRetries": 2}
    provider = {"mine": {"npm": "@ai-sdk/openai-compatible", "options": options, "models": {"test-model": model}}}
    return make_client(project, server, {"provider": provider})


def text_of(app: OpencodeApp, selector: str) -> str:
    return str(app.query_one(selector, Static).render())


async def send(pilot: Any, app: OpencodeApp, text: str) -> None:
    """Type `text`, send it, and wait until the turn has ended (its last step finished with `stop`)."""
    await type_text(pilot, text)
    await pilot.press("enter")

    def finished() -> bool:
        messages = engine_of(app).store.list_messages(app.session_id)
        last = messages[-1].info if messages else None
        return isinstance(last, AssistantMessage) and last.finish == "stop" and not app.client.busy(app.session_id)

    await wait_until(pilot, finished)
    await pilot.pause(0.2)


async def test_panel_shows_title_context_share_cost_and_the_todo_list(
    project: Path, model_server: ScriptedModelServer
) -> None:
    model_server.push(Reply([Text("all set")], usage=ScriptUsage(input=2000, output=500)))
    app = OpencodeApp(client_with_context(project, model_server))
    async with app.run_test(size=(120, 40)) as pilot:
        panel = app.query_one(SidePanel)
        assert panel.display  # 120 columns: shown without asking
        assert not app.query_one("#side-todos").display  # no todos yet: no empty section
        await send(pilot, app, "greet politely")
        await wait_until(pilot, lambda: "2,500 tokens" in text_of(app, "#side-context"))
        # 2,000 in + 500 out of a 10,000-token window; $3/M in and $15/M out.
        assert text_of(app, "#side-context") == "2,500 tokens, 25% of 10,000"
        assert text_of(app, "#side-cost") == "$0.0135 spent"
        assert text_of(app, "#side-title") == app.client.get_session(app.session_id).title == "greet politely"

        engine = engine_of(app)
        todos = [
            Todo(id="1", content="read the code", status="completed"),
            Todo(id="2", content="fix the greeting", status="in_progress"),
            Todo(id="3", content="run the tests", status="pending"),
        ]
        engine.store.put_todos(app.session_id, todos)
        engine.bus.publish(TodoUpdated(sessionID=app.session_id, todos=[t.model_dump() for t in todos]))
        await wait_until(pilot, lambda: "fix the greeting" in text_of(app, "#side-todos"))
        assert text_of(app, "#side-todos").splitlines() == [
            "[✓] read the code",
            "[•] fix the greeting",
            "[ ] run the tests",
        ]
        assert app.query_one("#side-todos").display


async def test_files_a_session_wrote_are_listed_and_selecting_one_shows_its_diff(
    project: Path, model_server: ScriptedModelServer
) -> None:
    (project / "notes.txt").write_text("old line\n")
    model_server.push(
        Reply([ToolCall("read", {"filePath": "notes.txt"})]),
        Reply([ToolCall("write", {"filePath": "notes.txt", "content": "new line\n"})]),
        Reply([ToolCall("write", {"filePath": "src/added.py", "content": "print('hi')\n"})]),
        Reply([ToolCall("read", {"filePath": "notes.txt"})]),
        Reply([ToolCall("write", {"filePath": "notes.txt", "content": "final line\n"})]),
        Reply([Text("written")]),
    )
    app = OpencodeApp(client_with_context(project, model_server))
    async with app.run_test(size=(120, 40)) as pilot:
        await send(pilot, app, "rewrite the notes")
        assert (project / "notes.txt").read_text() == "final line\n"
        files = app.query_one("#side-files", OptionList)
        await wait_until(pilot, lambda: files.option_count == 2)
        assert [files.get_option_at_index(i).id for i in range(2)] == ["notes.txt", "src/added.py"]
        assert app.query_one(SidePanel).files == app.client.modified_files(app.session_id)

        files.focus()
        files.highlighted = 0
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, FileDiffDialog))
        await pilot.pause(0.1)
        dialog = app.screen
        assert isinstance(dialog, FileDiffDialog) and dialog.file == "notes.txt"
        # The whole session's change to the file, over both steps that wrote it.
        assert "-old line" in dialog.diff and "+final line" in dialog.diff and "new line" not in dialog.diff
        assert "added.py" not in dialog.diff  # that file's own diff only
        await pilot.press("escape")
        await wait_until(pilot, lambda: not isinstance(app.screen, FileDiffDialog))

        # A click on the other file opens its diff: a file that did not exist before the session.
        await pilot.click("#side-files", offset=(2, 1))
        await wait_until(pilot, lambda: isinstance(app.screen, FileDiffDialog))
        dialog = app.screen
        assert isinstance(dialog, FileDiffDialog) and dialog.file == "src/added.py"
        assert "+print('hi')" in dialog.diff and "notes.txt" not in dialog.diff


async def test_panel_hides_below_100_columns_and_the_keybind_toggles_it(
    project: Path, model_server: ScriptedModelServer
) -> None:
    app = OpencodeApp(client_with_context(project, model_server))
    async with app.run_test(size=(80, 24)) as pilot:
        panel = app.query_one(SidePanel)
        shown: list[bool] = [panel.display]
        await pilot.press("ctrl+x", "b")  # opencode's sidebar_toggle: <leader>b
        await pilot.pause(0.1)
        shown.append(panel.display)
        assert text_of(app, "#side-context") == "0 tokens, 0% of 10,000"
        await pilot.press("ctrl+x", "b")
        await pilot.pause(0.1)
        shown.append(panel.display)
        assert shown == [False, True, False]
