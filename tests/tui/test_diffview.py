"""Edit diffs in tool blocks: side by side in a wide terminal, unified in a narrow one, from the same metadata."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.geometry import Region
from textual.widget import Widget

from opencode import id as ids
from opencode.session.model import Part, ToolPart, ToolStateCompleted, ToolTimeRange
from opencode.testing.model_server import ScriptedModelServer
from opencode.testing.sessions import stored_session
from opencode.tool.write import unified_diff
from opencode.tui.app import OpencodeApp
from opencode.tui.diffview import DiffView, side_by_side_rows
from opencode.tui.widgets import ToolBlock
from tests.tui.conftest import make_client, wait_until

OLD = "def greet():\n    print('hello')\n\nkeep = 1\nold_tail = 2\n"
NEW = "def greet():\n    print('hello, world')\n\nkeep = 1\n"


def edit_part(tool: str = "edit") -> Part:
    diff = unified_diff(OLD, NEW, "src/greet.py")
    state = ToolStateCompleted(
        input={"filePath": "src/greet.py"},
        output="Edit applied successfully.",
        title="src/greet.py",
        metadata={"diff": diff},
        time=ToolTimeRange(start=1, end=2),
    )
    return ToolPart(id=ids.ascending("prt"), sessionID="", messageID="", callID="call_1", tool=tool, state=state)


def lines_of(widget: Widget) -> list[str]:
    """The widget's rows as plain text, as the screen shows them."""
    size = widget.size
    return [strip.text.rstrip() for strip in widget.render_lines(Region(0, 0, size.width, size.height))]


@pytest.mark.parametrize("tool", ["edit", "write", "multiedit", "apply_patch"])
async def test_the_same_diff_is_side_by_side_at_180_columns_and_unified_at_80(
    project: Path, model_server: ScriptedModelServer, tool: str
) -> None:
    client = make_client(project, model_server)
    session_id = stored_session(client.engine, 2, extra=[edit_part(tool)])
    shown: dict[int, list[str]] = {}
    for width in (180, 80):
        app = OpencodeApp(client, session_id=session_id)
        async with app.run_test(size=(width, 50)) as pilot:
            await wait_until(pilot, lambda: app.query(ToolBlock) and not app.query_one(ToolBlock).collapsed)  # noqa: B023
            await pilot.pause(0.1)
            shown[width] = lines_of(app.query_one(ToolBlock).body)
    wide, narrow = shown[180], shown[80]
    # Side by side: the old line faces the new one on one row, line numbers on both sides.
    row = next(line for line in wide if "print('hello')" in line)
    assert "-    print('hello')" in row and "+    print('hello, world')" in row
    assert row.split()[0] == "2" and " 2 " in row[row.index("-") :]
    assert any("--- a/src/greet.py" in line and "+++ b/src/greet.py" in line for line in wide)
    # A removal with nothing facing it keeps the right side empty.
    tail = next(line for line in wide if "old_tail" in line)
    assert "+" not in tail
    # Unified: one line each, removals before additions, nothing side by side.
    assert "-    print('hello')" in narrow and "+    print('hello, world')" in narrow
    assert narrow.index("-    print('hello')") < narrow.index("+    print('hello, world')")
    assert not any("print('hello')" in line and "hello, world" in line for line in narrow)
    assert "-old_tail = 2" in narrow


def test_rows_pair_removed_and_added_runs_and_number_both_sides() -> None:
    diff = unified_diff("a\nb\nc\nd\n", "a\nB\nc\nd\ne\n", "f.txt")
    rows = side_by_side_rows(diff)
    kinds = [r.kind for r in rows]
    assert kinds[:2] == ["file", "hunk"]
    change = next(r for r in rows if r.kind == "change")
    assert (change.left, change.left_no, change.right, change.right_no) == ("b", 2, "B", 2)
    added = [r for r in rows if r.kind == "change"][-1]
    assert (added.left, added.removed, added.right, added.right_no, added.added) == ("", False, "e", 5, True)
    context = [r for r in rows if r.kind == "context"]
    assert [(r.left_no, r.right_no) for r in context] == [(1, 1), (3, 3), (4, 4)]
    # The text the block keeps is the stored diff, unchanged.
    assert DiffView(diff).code == diff.rstrip("\n")


async def test_a_shown_diff_switches_layout_when_the_terminal_is_resized(
    project: Path, model_server: ScriptedModelServer
) -> None:
    client = make_client(project, model_server)
    session_id = stored_session(client.engine, 2, extra=[edit_part()])
    app = OpencodeApp(client, session_id=session_id)
    async with app.run_test(size=(180, 50)) as pilot:
        await wait_until(pilot, lambda: app.query(ToolBlock) and not app.query_one(ToolBlock).collapsed)
        await pilot.pause(0.1)
        body = app.query_one(ToolBlock).body
        assert any("print('hello')" in line and "hello, world" in line for line in lines_of(body))
        await pilot.resize_terminal(80, 30)
        await pilot.pause(0.2)
        narrow = lines_of(body)
        assert "-    print('hello')" in narrow and "+    print('hello, world')" in narrow
