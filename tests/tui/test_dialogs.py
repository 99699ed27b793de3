"""Permission asks and the model's questions, answered in modal dialogs."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from opencode.testing.model_server import Reply, ScriptedModelServer, Text, ToolCall
from opencode.tui.app import OpencodeApp
from opencode.tui.dialogs import PermissionDialog, QuestionDialog
from opencode.tui.widgets import TextPartView, ToolBlock
from tests.tui.conftest import engine_of, tool_parts, type_text, wait_until

ASK_BASH = {"permission": {"bash": "ask"}}


async def test_permission_once_lets_the_command_run(
    make_app: Callable[..., OpencodeApp], model_server: ScriptedModelServer, project: Path
) -> None:
    model_server.push(
        Reply([ToolCall("bash", {"command": "echo approved > proof.txt; echo ran-ok", "description": "Write proof"})]),
        Reply([Text("it ran")]),
    )
    app = make_app(ASK_BASH)
    async with app.run_test(size=(100, 40)) as pilot:
        await type_text(pilot, "run it")
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, PermissionDialog))
        dialog = app.screen
        assert isinstance(dialog, PermissionDialog)
        assert "echo approved > proof.txt" in str(dialog.query_one("#ask-body Static").render())
        assert not (project / "proof.txt").exists()
        await pilot.pause(PermissionDialog.ARM_SECONDS)
        await pilot.click("#once")
        await wait_until(pilot, lambda: not app.client.busy(app.session_id) and app.query(TextPartView))
        assert not isinstance(app.screen, PermissionDialog)
        assert (project / "proof.txt").read_text() == "approved\n"
    (part,) = tool_parts(app)
    assert part.state.status == "completed" and "ran-ok" in part.state.output


async def test_permission_reject_stops_the_command(
    make_app: Callable[..., OpencodeApp],
    model_server: ScriptedModelServer,
    project: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The guard window is stretched so that a loaded machine cannot let it lapse before the first
    # key; the test then moves the dialog's clock past it instead of sleeping.
    monkeypatch.setattr(PermissionDialog, "ARM_SECONDS", 60.0)
    model_server.push(
        Reply([ToolCall("bash", {"command": "touch rejected.txt", "description": "Touch a file"})]),
        Reply([Text("ok, I will not")]),
    )
    app = make_app(ASK_BASH)
    async with app.run_test(size=(100, 40)) as pilot:
        await type_text(pilot, "run it")
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, PermissionDialog))
        await pilot.press("r")  # typed at once, as if meant for the prompt box: ignored
        await pilot.pause(0.1)
        assert isinstance(app.screen, PermissionDialog) and engine_of(app).permissions.pending()
        app.screen.opened -= 120
        await pilot.press("r")
        await wait_until(pilot, lambda: not app.client.busy(app.session_id) and app.query(TextPartView))
        await pilot.pause(0.1)
        (block,) = app.query(ToolBlock)
        assert block.has_class("-error") and block.title.startswith("✗ bash")
    assert not (project / "rejected.txt").exists()
    (part,) = tool_parts(app)
    assert part.state.status == "error" and "rejected permission" in part.state.error


async def test_permission_always_covers_the_next_same_command(
    make_app: Callable[..., OpencodeApp], model_server: ScriptedModelServer, project: Path
) -> None:
    model_server.push(
        Reply([ToolCall("bash", {"command": "echo one", "description": "first"})]),
        Reply([ToolCall("bash", {"command": "echo two", "description": "second"})]),
        Reply([Text("both ran")]),
    )
    app = make_app(ASK_BASH)
    async with app.run_test(size=(100, 40)) as pilot:
        await type_text(pilot, "run both")
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, PermissionDialog))
        await pilot.pause(PermissionDialog.ARM_SECONDS)
        await pilot.press("a")
        await wait_until(pilot, lambda: not app.client.busy(app.session_id) and app.query(TextPartView))
        assert not isinstance(app.screen, PermissionDialog)
    assert [p.state.status for p in tool_parts(app)] == ["completed", "completed"]


async def test_escape_during_a_permission_ask_withdraws_the_dialog(
    make_app: Callable[..., OpencodeApp], model_server: ScriptedModelServer, project: Path
) -> None:
    model_server.push(Reply([ToolCall("bash", {"command": "touch never.txt", "description": "Touch"})]))
    app = make_app(ASK_BASH)
    async with app.run_test(size=(100, 40)) as pilot:
        await type_text(pilot, "run it")
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, PermissionDialog))
        app.action_interrupt()  # Esc on the dialog rejects; an abort from elsewhere must close it too
        await wait_until(pilot, lambda: not app.client.busy(app.session_id))
        await wait_until(pilot, lambda: not isinstance(app.screen, PermissionDialog))
        assert not engine_of(app).permissions.pending()
    assert not (project / "never.txt").exists()


async def test_question_dialog_sends_the_chosen_option(
    make_app: Callable[..., OpencodeApp], model_server: ScriptedModelServer
) -> None:
    question = {
        "questions": [
            {
                "question": "Which database?",
                "header": "Database",
                "options": [
                    {"label": "Postgres", "description": "the usual"},
                    {"label": "SQLite", "description": "one file"},
                ],
            }
        ]
    }
    model_server.push(Reply([ToolCall("question", question)]), Reply([Text("SQLite it is")]))
    app = make_app()
    async with app.run_test(size=(100, 40)) as pilot:
        await type_text(pilot, "pick a db")
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, QuestionDialog))
        dialog = app.screen
        assert isinstance(dialog, QuestionDialog)
        options = dialog.query_one("#q0-options")
        options.select("SQLite")  # type: ignore[attr-defined]
        await pilot.pause()
        await pilot.click("#answer")
        await wait_until(pilot, lambda: not app.client.busy(app.session_id) and app.query(TextPartView))
    (part,) = tool_parts(app)
    assert part.state.status == "completed" and "SQLite" in part.state.output
    assert "SQLite" in str(model_server.requests[-1].json["messages"])


async def test_question_dismissed_tells_the_model(
    make_app: Callable[..., OpencodeApp], model_server: ScriptedModelServer
) -> None:
    question = {"questions": [{"question": "Name?", "header": "Name", "options": [{"label": "Ann"}]}]}
    model_server.push(Reply([ToolCall("question", question)]), Reply([Text("fine")]))
    app = make_app()
    async with app.run_test(size=(100, 40)) as pilot:
        await type_text(pilot, "ask me")
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, QuestionDialog))
        await pilot.press("escape")
        await wait_until(pilot, lambda: not app.client.busy(app.session_id) and app.query(TextPartView))
    (part,) = tool_parts(app)
    assert part.state.status == "error" and "dismissed" in part.state.error


async def test_plan_exit_shows_the_plan_and_approval_switches_to_build(
    make_app: Callable[..., OpencodeApp], model_server: ScriptedModelServer, project: Path
) -> None:
    from opencode.tui.dialogs import PlanDialog

    plan = "## Plan\n\n1. Write `cache.txt`\n2. Run the tests"
    model_server.push(
        Reply([ToolCall("plan_enter", {})]),
        Reply([ToolCall("plan_exit", {"plan": plan})]),
        Reply([ToolCall("write", {"filePath": "cache.txt", "content": "done\n"})]),
        Reply([Text("implemented")]),
    )
    app = make_app()
    async with app.run_test(size=(110, 40)) as pilot:
        await type_text(pilot, "plan a cache")
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, PlanDialog))
        dialog = app.screen
        assert isinstance(dialog, PlanDialog)
        shown = dialog.query_one("#plan").source  # type: ignore[attr-defined]
        assert "1. Write `cache.txt`" in shown and "Approve this plan" not in shown
        await pilot.pause(PlanDialog.ARM_SECONDS)
        await pilot.press("a")
        await wait_until(pilot, lambda: not app.client.busy(app.session_id) and (project / "cache.txt").exists())
    assert (project / "cache.txt").read_text() == "done\n"
    exit_part = next(p for p in tool_parts(app) if p.tool == "plan_exit")
    assert exit_part.state.status == "completed" and "approved" in exit_part.state.output
    assert "write" in [t["function"]["name"] for t in model_server.requests[2].json["tools"]]


async def test_plan_feedback_keeps_planning(
    make_app: Callable[..., OpencodeApp], model_server: ScriptedModelServer
) -> None:
    from opencode.tui.dialogs import PlanDialog

    model_server.push(
        Reply([ToolCall("plan_enter", {})]),
        Reply([ToolCall("plan_exit", {"plan": "1. Rewrite everything"})]),
        Reply([Text("revising")]),
    )
    app = make_app()
    async with app.run_test(size=(110, 40)) as pilot:
        await type_text(pilot, "plan it")
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, PlanDialog))
        app.screen.query_one("#feedback").focus()
        await type_text(pilot, "smaller steps")
        await pilot.press("enter")
        await wait_until(pilot, lambda: not app.client.busy(app.session_id) and app.query(TextPartView))
    exit_part = next(p for p in tool_parts(app) if p.tool == "plan_exit")
    assert "smaller steps" in exit_part.state.output and "still in plan mode" in exit_part.state.output
    assert "write" not in [t["function"]["name"] for t in model_server.requests[2].json.get("tools", [])]
