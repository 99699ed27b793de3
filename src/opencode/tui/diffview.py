"""Diffs in tool blocks: unified when the view is narrow, side by side when there is room.

    body.update(DiffView(part.state.metadata["diff"]))

`DiffView` is a Rich renderable that picks its layout when it is drawn, from the width it is
given (the tool block's content width), so one widget switches as the terminal is resized or the
side panel opens: side by side from `SIDE_BY_SIDE_WIDTH` columns of content (what a 160-column
terminal leaves beside the side panel, after the chat's padding, the scrollbar and the block's
indent; about 126 columns with the panel closed), so each half keeps ~55 columns; unified below. The text it shows
is the unified diff the edit tools store in their metadata; nothing is recomputed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from rich.syntax import Syntax
from rich.table import Table
from rich.text import Text

if TYPE_CHECKING:
    from rich.console import Console, ConsoleOptions, RenderResult

SIDE_BY_SIDE_WIDTH = 118
"""Content columns from which a diff is shown side by side (a 160-column terminal with the panel gives 118)."""

_HUNK = re.compile(r"^@@ -(\d+)(?:,\d+)? \+(\d+)(?:,\d+)? @@")
RowKind = Literal["file", "hunk", "context", "change", "note"]


@dataclass(frozen=True)
class Row:
    """One line of a side-by-side diff: the old side on the left, the new one on the right."""

    kind: RowKind
    left: str = ""
    right: str = ""
    left_no: int | None = None
    right_no: int | None = None
    removed: bool = False
    added: bool = False


def side_by_side_rows(diff: str) -> list[Row]:
    """The rows of a unified diff (one or more files) laid side by side: a run of removed lines
    faces the run of added lines that follows it, line for line; context lines face themselves."""
    rows: list[Row] = []
    removed: list[tuple[int, str]] = []
    added: list[tuple[int, str]] = []
    old_no = new_no = 0

    def pair_up() -> None:
        for index in range(max(len(removed), len(added))):
            left = removed[index] if index < len(removed) else None
            right = added[index] if index < len(added) else None
            rows.append(
                Row(
                    "change",
                    left=left[1] if left else "",
                    right=right[1] if right else "",
                    left_no=left[0] if left else None,
                    right_no=right[0] if right else None,
                    removed=left is not None,
                    added=right is not None,
                )
            )
        removed.clear()
        added.clear()

    lines = diff.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    index = 0
    while index < len(lines):
        line = lines[index]
        if line.startswith("--- ") and index + 1 < len(lines) and lines[index + 1].startswith("+++ "):
            pair_up()
            old, new = line[4:].split("\t")[0], lines[index + 1][4:].split("\t")[0]
            rows.append(Row("file", left=old, right=new))
            index += 2
            continue
        hunk = _HUNK.match(line)
        if hunk:
            pair_up()
            old_no, new_no = int(hunk.group(1)), int(hunk.group(2))
            rows.append(Row("hunk", left=line, right=line))
        elif line.startswith("-"):
            if added:  # a removal after additions starts a new run
                pair_up()
            removed.append((old_no, line[1:]))
            old_no += 1
        elif line.startswith("+"):
            added.append((new_no, line[1:]))
            new_no += 1
        elif line.startswith(" "):
            pair_up()
            rows.append(Row("context", left=line[1:], right=line[1:], left_no=old_no, right_no=new_no))
            old_no += 1
            new_no += 1
        else:  # "\ No newline at end of file", a cap note, Index:/=== headers
            pair_up()
            rows.append(Row("note", left=line, right=line))
        index += 1
    pair_up()
    return rows


class DiffView:
    """A unified diff, drawn side by side when it has `SIDE_BY_SIDE_WIDTH` columns, unified otherwise."""

    def __init__(self, diff: str, *, side_by_side_width: int = SIDE_BY_SIDE_WIDTH) -> None:
        self.code = diff.rstrip("\n")
        self.side_by_side_width = side_by_side_width

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        if options.max_width >= self.side_by_side_width:
            yield self.side_by_side()
        else:
            yield self.unified()

    def unified(self) -> Syntax:
        return Syntax(self.code, "diff", theme="ansi_dark", background_color="default", word_wrap=True)

    def side_by_side(self) -> Table:
        table = Table.grid(expand=True, padding=(0, 1))
        table.add_column(justify="right", style="dim", no_wrap=True)
        table.add_column(ratio=1, overflow="fold")
        table.add_column(justify="right", style="dim", no_wrap=True)
        table.add_column(ratio=1, overflow="fold")
        for row in side_by_side_rows(self.code):
            if row.kind == "file":
                table.add_row("", Text(f"--- {row.left}", style="bold"), "", Text(f"+++ {row.right}", style="bold"))
            elif row.kind in ("hunk", "note"):
                style = "cyan" if row.kind == "hunk" else "dim"
                table.add_row("", Text(row.left, style=style), "", Text(row.right, style=style))
            elif row.kind == "context":
                table.add_row(_number(row.left_no), Text(f" {row.left}"), _number(row.right_no), Text(f" {row.right}"))
            else:
                table.add_row(
                    _number(row.left_no),
                    Text(f"-{row.left}", style="red") if row.removed else "",
                    _number(row.right_no),
                    Text(f"+{row.right}", style="green") if row.added else "",
                )
        return table


def _number(value: int | None) -> str:
    return "" if value is None else str(value)
