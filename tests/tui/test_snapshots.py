"""Snapshot tests (pytest-textual-snapshot) of the main screens, from the fixed data of test_screens.

Each test renders a screen to SVG and compares it with the stored one in `__snapshots__/`; a change
to what the user sees fails the test until the snapshot is refreshed on purpose:

    .venv/bin/pytest tests/tui/test_snapshots.py --snapshot-update

`docs/tui/` shows these same SVGs (copied by `scripts/tui-screenshots`), so the docs show the UI
as the tests last saw it.
"""

from __future__ import annotations

from typing import Any

from opencode.bus import QuestionAsked, QuestionInfo, QuestionOption
from opencode.tui.app import OpencodeApp
from opencode.tui.dialogs import PermissionDialog, PlanDialog, QuestionDialog
from tests.tui.conftest import wait_until
from tests.tui.test_screens import StaticClient, database_question, push_ask


def app_for(client: StaticClient | None = None) -> OpencodeApp:
    return OpencodeApp(client or StaticClient(), session_id="ses_demo")


async def steady(pilot: Any, wait: float = 0.2) -> None:
    """Let the screen settle, with every cursor shown and not blinking (a blink would make the SVG vary)."""
    await pilot.pause(wait)
    for screen in pilot.app.screen_stack:
        for widget in screen.walk_children(with_self=False):
            if hasattr(widget, "cursor_blink"):
                widget.cursor_blink = False
    await pilot.pause(0.05)


def test_chat_80x24(snap_compare: Any) -> None:
    assert snap_compare(app_for(), terminal_size=(80, 24), run_before=steady)


def test_chat_120x44(snap_compare: Any) -> None:
    assert snap_compare(app_for(), terminal_size=(120, 44), run_before=steady)


def test_permission_dialog(snap_compare: Any) -> None:
    client = StaticClient()
    app = app_for(client)

    async def ask(pilot: Any) -> None:
        client.publish(push_ask())
        await wait_until(pilot, lambda: isinstance(app.screen, PermissionDialog))
        await steady(pilot)

    assert snap_compare(app, terminal_size=(100, 30), run_before=ask)


def test_question_dialog(snap_compare: Any) -> None:
    client = StaticClient()
    app = app_for(client)

    async def ask(pilot: Any) -> None:
        client.publish(database_question())
        await wait_until(pilot, lambda: isinstance(app.screen, QuestionDialog))
        await steady(pilot)

    assert snap_compare(app, terminal_size=(100, 30), run_before=ask)


def test_plan_dialog(snap_compare: Any) -> None:
    client = StaticClient()
    app = app_for(client)
    plan = "## Friendlier greeting\n\n1. Use an f-string in `greet`\n2. Add a test for the new text\n3. Run the tests"

    async def ask(pilot: Any) -> None:
        options = [
            QuestionOption(label="Approve", description="Switch to build and carry out the plan"),
            QuestionOption(label="Keep planning", description="Stay in plan mode and refine the plan"),
        ]
        text = f"{plan}\n\nApprove this plan and switch to the build agent to carry it out?"
        client.publish(
            QuestionAsked(
                id="que_2",
                sessionID="ses_demo",
                questions=[QuestionInfo(question=text, header="Plan", options=options)],
            )
        )
        await wait_until(pilot, lambda: isinstance(app.screen, PlanDialog))
        await steady(pilot)

    assert snap_compare(app, terminal_size=(100, 30), run_before=ask)


def test_side_panel_hidden_by_its_keybind(snap_compare: Any) -> None:
    async def close_panel(pilot: Any) -> None:  # shown by default from 100 columns: <leader>b hides it
        await pilot.pause(0.1)
        await pilot.press("ctrl+x", "b")
        await steady(pilot)

    assert snap_compare(app_for(), terminal_size=(120, 36), run_before=close_panel)


def test_light_theme(snap_compare: Any) -> None:
    async def light(pilot: Any) -> None:
        await pilot.pause(0.1)
        pilot.app.theme = "opencode-light"
        await steady(pilot)

    assert snap_compare(app_for(), terminal_size=(100, 30), run_before=light)


def test_the_docs_show_the_current_snapshots() -> None:
    """docs/tui holds the snapshots as they are (refreshed together by scripts/tui-screenshots)."""
    from pathlib import Path

    here = Path(__file__).parent / "__snapshots__" / "test_snapshots"
    docs = Path(__file__).parents[2] / "docs" / "tui"
    stale = [
        raw.name
        for raw in here.glob("*.raw")
        if (docs / f"{raw.stem.removeprefix('test_')}.svg").read_bytes() != raw.read_bytes()
    ]
    assert not stale, f"docs/tui is behind the snapshots of {stale}: run scripts/tui-screenshots"
