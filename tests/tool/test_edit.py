"""edit: exact replacement, file form kept (CRLF, BOM, mode), and refusals the model can act on."""

from __future__ import annotations

from pathlib import Path

import pytest

from opencode.tool.edit import EditParams, EditTool
from opencode.tool.read import ReadParams, ReadTool
from opencode.tool.tool import ToolContext, ToolError, ToolResult


async def edit(ctx: ToolContext, path: str, old: str, new: str, replace_all: bool = False) -> ToolResult:
    return await EditTool().run(EditParams(filePath=path, oldString=old, newString=new, replaceAll=replace_all), ctx)


async def seen(ctx: ToolContext, project: Path, name: str, data: bytes) -> Path:
    """Create `name` with `data` and read it, as the model would before editing."""
    path = project / name
    path.write_bytes(data)
    await ReadTool().run(ReadParams(filePath=name), ctx)
    return path


async def test_replaces_the_one_occurrence(ctx: ToolContext, project: Path) -> None:
    path = await seen(ctx, project, "m.py", b"def f():\n    return 1\n\nprint(f())\n")
    result = await edit(ctx, "m.py", "    return 1\n", "    x = 2\n    return x\n")
    assert path.read_bytes() == b"def f():\n    x = 2\n    return x\n\nprint(f())\n"
    assert result.output == "Edit applied successfully."
    assert (result.metadata["additions"], result.metadata["deletions"]) == (2, 1)
    assert "-    return 1\n+    x = 2\n+    return x\n" in result.metadata["diff"]
    # The new content counts as read: a second edit needs no new read.
    await edit(ctx, "m.py", "print(f())", "print(f() + 1)")
    assert path.read_text().endswith("print(f() + 1)\n")


async def test_crlf_line_endings_are_kept(ctx: ToolContext, project: Path) -> None:
    path = await seen(ctx, project, "win.txt", b"one\r\ntwo\r\nthree\r\n")
    await edit(ctx, "win.txt", "one\ntwo", "uno\ndos\nmas")
    assert path.read_bytes() == b"uno\r\ndos\r\nmas\r\nthree\r\n"


async def test_a_byte_order_mark_is_kept(ctx: ToolContext, project: Path) -> None:
    path = await seen(ctx, project, "bom.cs", b"\xef\xbb\xbfclass A {}\n")
    await edit(ctx, "bom.cs", "class A", "class B")
    assert path.read_bytes() == b"\xef\xbb\xbfclass B {}\n"


async def test_the_file_mode_is_kept(ctx: ToolContext, project: Path) -> None:
    path = await seen(ctx, project, "tool.sh", b"#!/bin/sh\necho a\n")
    path.chmod(0o755)
    await edit(ctx, "tool.sh", "echo a", "echo b")
    assert path.stat().st_mode & 0o777 == 0o755


async def test_new_string_goes_in_literally(ctx: ToolContext, project: Path) -> None:
    path = await seen(ctx, project, "r.txt", b"NAME\n")
    await edit(ctx, "r.txt", "NAME", r"$1 \1 \n $& \\")
    assert path.read_text() == "$1 \\1 \\n $& \\\\\n"


async def test_editing_an_unread_file_is_refused(ctx: ToolContext, project: Path) -> None:
    path = project / "x.txt"
    path.write_text("a\n")
    with pytest.raises(ToolError, match="must read"):
        await edit(ctx, "x.txt", "a", "b")
    assert path.read_text() == "a\n"


async def test_a_file_changed_since_the_read_is_refused_with_the_changes(ctx: ToolContext, project: Path) -> None:
    path = await seen(ctx, project, "c.txt", b"alpha\nbeta\n")
    path.write_text("alpha\nBETA\n")
    with pytest.raises(ToolError) as caught:
        await edit(ctx, "c.txt", "alpha", "gamma")
    assert "-beta" in str(caught.value) and "+BETA" in str(caught.value)
    assert path.read_text() == "alpha\nBETA\n"


async def test_several_matches_are_refused_naming_their_lines(ctx: ToolContext, project: Path) -> None:
    path = await seen(ctx, project, "d.py", b"x = 1\ny = 2\nx = 1\nz = 3\nx = 1\n")
    with pytest.raises(ToolError) as caught:
        await edit(ctx, "d.py", "x = 1", "x = 9")
    message = str(caught.value)
    assert "occurs 3 times" in message
    assert "lines 1, 3, 5" in message
    assert "replaceAll" in message
    assert path.read_text() == "x = 1\ny = 2\nx = 1\nz = 3\nx = 1\n"


async def test_replace_all_changes_every_occurrence(ctx: ToolContext, project: Path) -> None:
    path = await seen(ctx, project, "e.py", b"foo(1)\nbar(foo)\nfoo\n")
    result = await edit(ctx, "e.py", "foo", "qux", replace_all=True)
    assert path.read_text() == "qux(1)\nbar(qux)\nqux\n"
    assert "Replaced 3 occurrences" in result.output


async def test_not_found_shows_the_closest_lines(ctx: ToolContext, project: Path) -> None:
    body = b"import os\n\n\ndef handler(event):\n    value = event.get('key')\n    return value\n"
    path = await seen(ctx, project, "h.py", body)
    with pytest.raises(ToolError) as caught:
        await edit(ctx, "h.py", "def handler(evnt):\n    value = evnt.get('key')", "pass")
    message = str(caught.value)
    assert "oldString was not found" in message
    assert "The closest text is at lines 4-5:" in message
    assert "4: def handler(event):" in message
    assert "5:     value = event.get('key')" in message
    assert path.read_bytes() == body


async def test_not_found_because_of_indentation_says_so(ctx: ToolContext, project: Path) -> None:
    await seen(ctx, project, "i.py", b"if x:\n\tcall()\n\tdone()\n")
    with pytest.raises(ToolError) as caught:
        await edit(ctx, "i.py", "    call()\n    done()", "pass")
    assert "Lines 2-3 have the same text but different whitespace or indentation" in str(caught.value)


async def test_identical_strings_are_refused(ctx: ToolContext, project: Path) -> None:
    await seen(ctx, project, "f.txt", b"same\n")
    with pytest.raises(ToolError, match="identical"):
        await edit(ctx, "f.txt", "same", "same")


async def test_empty_old_string_creates_a_missing_file(ctx: ToolContext, project: Path) -> None:
    result = await edit(ctx, "new/dir/file.txt", "", "hello\n")
    assert (project / "new/dir/file.txt").read_bytes() == b"hello\n"
    assert "Created" in result.output


async def test_empty_old_string_on_a_file_with_content_is_refused(ctx: ToolContext, project: Path) -> None:
    path = await seen(ctx, project, "full.txt", b"content\n")
    with pytest.raises(ToolError, match="already has content"):
        await edit(ctx, "full.txt", "", "other\n")
    assert path.read_text() == "content\n"


async def test_a_missing_file_with_old_string_is_an_error(ctx: ToolContext) -> None:
    with pytest.raises(ToolError, match="File not found"):
        await edit(ctx, "nope.txt", "a", "b")
