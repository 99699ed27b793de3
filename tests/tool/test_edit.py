"""edit: exact and tolerant replacement, file form kept (CRLF, BOM, UTF-16, mode), refusals the model can act on."""

from __future__ import annotations

from pathlib import Path

import pytest

from opencode.bus import Bus, PermissionAsked
from opencode.permission.rules import Ruleset
from opencode.permission.service import PermissionService
from opencode.tool.edit import EditParams, EditTool
from opencode.tool.read import ReadParams, ReadTool
from opencode.tool.registry import ToolRegistry
from opencode.tool.tool import PermissionRequest, ToolContext, ToolError, ToolResult


async def edit(ctx: ToolContext, path: str, old: str, new: str, replace_all: bool = False) -> ToolResult:
    return await EditTool().run(EditParams(filePath=path, oldString=old, newString=new, replaceAll=replace_all), ctx)


async def seen(ctx: ToolContext, project: Path, name: str, data: bytes) -> Path:
    """Create `name` with `data` and read it, as the model would before editing."""
    path = project / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    await ReadTool().run(ReadParams(filePath=name), ctx)
    return path


# --- exact matches and the file's form -------------------------------------------------------


async def test_replaces_the_one_occurrence(ctx: ToolContext, project: Path) -> None:
    path = await seen(ctx, project, "m.py", b"def f():\n    return 1\n\nprint(f())\n")
    result = await edit(ctx, "m.py", "    return 1\n", "    x = 2\n    return x\n")
    assert path.read_bytes() == b"def f():\n    x = 2\n    return x\n\nprint(f())\n"
    assert result.output == "Edit applied successfully (exact match)."
    assert (result.metadata["additions"], result.metadata["deletions"]) == (2, 1)
    assert result.metadata["filePath"] == str(path)
    assert (result.metadata["matcher"], result.metadata["similarity"]) == ("exact", 1.0)
    assert "-    return 1\n+    x = 2\n+    return x\n" in result.metadata["diff"]
    # The new content counts as read: a second edit needs no new read.
    await edit(ctx, "m.py", "print(f())", "print(f() + 1)")
    assert path.read_text().endswith("print(f() + 1)\n")


async def test_crlf_line_endings_are_kept(ctx: ToolContext, project: Path) -> None:
    path = await seen(ctx, project, "win.txt", b"one\r\ntwo\r\nthree\r\n")
    result = await edit(ctx, "win.txt", "one\ntwo", "uno\ndos\nmas")
    assert path.read_bytes() == b"uno\r\ndos\r\nmas\r\nthree\r\n"
    assert result.metadata["matcher"] == "line-endings"


async def test_mixed_line_endings_keep_each_line_its_own(ctx: ToolContext, project: Path) -> None:
    path = await seen(ctx, project, "mixed.txt", b"one\r\ntwo\nthree\r\nfour\n")
    await edit(ctx, "mixed.txt", "two\nthree\n", "TWO\nthree\n")
    assert path.read_bytes() == b"one\r\nTWO\nthree\r\nfour\n"


async def test_a_byte_order_mark_is_kept(ctx: ToolContext, project: Path) -> None:
    path = await seen(ctx, project, "bom.cs", b"\xef\xbb\xbfclass A {}\n")
    await edit(ctx, "bom.cs", "class A", "class B")
    assert path.read_bytes() == b"\xef\xbb\xbfclass B {}\n"


async def test_utf16_with_a_byte_order_mark_stays_utf16(ctx: ToolContext, project: Path) -> None:
    data = "\ufeffname = 'a'\r\nvalue = 1\r\n".encode("utf-16-le")
    path = project / "u16.txt"
    path.write_bytes(data)
    ctx.file_times.record(path, data)  # read shows UTF-16 as binary; the model may know it from elsewhere
    await edit(ctx, "u16.txt", "value = 1", "value = 2")
    assert path.read_bytes() == "\ufeffname = 'a'\r\nvalue = 2\r\n".encode("utf-16-le")


async def test_a_file_that_is_not_text_is_refused(ctx: ToolContext, project: Path) -> None:
    path = await seen(ctx, project, "latin.txt", "caf\xe9\n".encode("latin-1"))
    with pytest.raises(ToolError, match="not UTF-8"):
        await edit(ctx, "latin.txt", "caf", "cafe")
    assert path.read_bytes() == b"caf\xe9\n"


async def test_the_file_mode_is_kept(ctx: ToolContext, project: Path) -> None:
    path = await seen(ctx, project, "tool.sh", b"#!/bin/sh\necho a\n")
    path.chmod(0o755)
    await edit(ctx, "tool.sh", "echo a", "echo b")
    assert path.stat().st_mode & 0o777 == 0o755


async def test_new_string_goes_in_literally(ctx: ToolContext, project: Path) -> None:
    path = await seen(ctx, project, "r.txt", b"NAME\n")
    await edit(ctx, "r.txt", "NAME", r"$1 \1 \n $& \\")
    assert path.read_text() == "$1 \\1 \\n $& \\\\\n"


async def test_new_string_goes_in_literally_through_a_tolerant_match(ctx: ToolContext, project: Path) -> None:
    path = await seen(ctx, project, "t.py", b"def f(s):\n    s = s.strip()\n    return s\n")
    result = await edit(ctx, "t.py", "s = s.strip()\nreturn s", "s = s.strip()\nreturn re.sub(r'(\\d)', r'$& \\1', s)")
    assert result.metadata["matcher"] != "exact"
    assert path.read_text() == "def f(s):\n    s = s.strip()\n    return re.sub(r'(\\d)', r'$& \\1', s)\n"


async def test_replace_all_changes_every_occurrence(ctx: ToolContext, project: Path) -> None:
    path = await seen(ctx, project, "e.py", b"foo(1)\nbar(foo)\nfoo\n")
    result = await edit(ctx, "e.py", "foo", "qux", replace_all=True)
    assert path.read_text() == "qux(1)\nbar(qux)\nqux\n"
    assert "Replaced 3 occurrences" in result.output
    assert result.metadata["replacements"] == 3


# --- tolerant matches ----------------------------------------------------------------------------


async def test_drifted_indentation_is_matched_and_new_string_reindented(ctx: ToolContext, project: Path) -> None:
    body = b"class A:\n    def f(self):\n        x = 1\n        return x\n"
    path = await seen(ctx, project, "a.py", body)
    result = await edit(
        ctx,
        "a.py",
        "def f(self):\n    x = 1\n    return x",
        "def f(self):\n    x = 1\n    if x:\n        x += 1\n    return x",
    )
    assert path.read_bytes() == (
        b"class A:\n    def f(self):\n        x = 1\n        if x:\n            x += 1\n        return x\n"
    )
    assert result.metadata["matcher"] == "indentation-flexible"
    assert 0 < result.metadata["similarity"] < 1
    assert "matched by indentation-flexible" in result.output
    assert "re-indented" in result.output
    assert "Lines 2-6 now read:\n2:     def f(self):" in result.output


async def test_spaces_for_a_tab_indented_file_become_tabs(ctx: ToolContext, project: Path) -> None:
    path = await seen(ctx, project, "m.go", b"func f() {\n\tif ok {\n\t\trun()\n\t}\n}\n")
    await edit(ctx, "m.go", "    if ok {\n        run()\n    }", "    if ok {\n        run()\n        done()\n    }")
    assert path.read_bytes() == b"func f() {\n\tif ok {\n\t\trun()\n\t\tdone()\n\t}\n}\n"


async def test_lines_the_edit_keeps_stay_as_the_file_has_them(ctx: ToolContext, project: Path) -> None:
    """Trailing spaces and typographic quotes on kept lines survive an oldString without them."""
    path = await seen(ctx, project, "doc.md", "Title  \nIt\u2019s \u201cfine\u201d.\nLast line.\n".encode())
    result = await edit(ctx, "doc.md", 'Title\nIt\'s "fine".\nLast line.', 'Title\nIt\'s "fine".\nThe last line.')
    assert path.read_text() == "Title  \nIt\u2019s \u201cfine\u201d.\nThe last line.\n"
    assert result.metadata["matcher"] == "smart-quotes"


async def test_escaped_newlines_and_quotes_are_decoded(ctx: ToolContext, project: Path) -> None:
    path = await seen(ctx, project, "s.py", b'def hi():\n    print("hi")\n    return 0\n')
    result = await edit(ctx, "s.py", 'print(\\"hi\\")\\n    return 0', 'print(\\"hello\\")\\n    return 0')
    assert path.read_text() == 'def hi():\n    print("hello")\n    return 0\n'
    assert result.metadata["matcher"] == "escape-normalised"


async def test_line_number_prefixes_from_read_are_dropped(ctx: ToolContext, project: Path) -> None:
    path = await seen(ctx, project, "n.py", b"a = 1\nb = 2\na = 1\nb = 2\n")
    result = await edit(ctx, "n.py", "3: a = 1\n4: b = 2", "a = 1\nb = 3")
    # Both copies fit; the claimed line numbers pick the second one.
    assert path.read_text() == "a = 1\nb = 2\na = 1\nb = 3\n"
    assert result.metadata["matcher"] == "line-numbers"


async def test_a_missing_final_newline_in_the_file_is_kept(ctx: ToolContext, project: Path) -> None:
    path = await seen(ctx, project, "eof.txt", b"a\nb\nc")
    result = await edit(ctx, "eof.txt", "b\nc\n", "b\nC\n")
    assert path.read_bytes() == b"a\nb\nC"
    assert result.metadata["matcher"] == "trailing-newline"


async def test_a_stale_context_line_is_kept_from_the_file(ctx: ToolContext, project: Path) -> None:
    """The user changed a line the edit keeps: the edit goes in, their change stays."""
    body = (
        b"def total(items):\n    subtotal = sum(i.price for i in items)\n    tax = subtotal * 0.2\n"
        b"    return subtotal + tax\n"
    )
    path = await seen(ctx, project, "t.py", body.replace(b"0.2", b"0.25"))
    result = await edit(
        ctx,
        "t.py",
        body.decode(),
        body.decode().replace("return subtotal + tax", "return round(subtotal + tax, 2)"),
    )
    assert path.read_bytes() == body.replace(b"0.2", b"0.25").replace(
        b"return subtotal + tax", b"return round(subtotal + tax, 2)"
    )
    assert result.metadata["matcher"] == "block-anchors"


# --- refusals ----------------------------------------------------------------------------------


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


async def test_several_exact_matches_are_refused_naming_their_lines(ctx: ToolContext, project: Path) -> None:
    path = await seen(ctx, project, "d.py", b"x = 1\ny = 2\nx = 1\nz = 3\nx = 1\n")
    with pytest.raises(ToolError) as caught:
        await edit(ctx, "d.py", "x = 1", "x = 9")
    message = str(caught.value)
    assert "occurs 3 times" in message
    assert "lines 1, 3, 5" in message
    assert "replaceAll" in message
    assert path.read_text() == "x = 1\ny = 2\nx = 1\nz = 3\nx = 1\n"


async def test_a_tolerant_match_in_two_places_is_refused_naming_them(ctx: ToolContext, project: Path) -> None:
    body = b"if a:\n    run()\n    log()\nif b:\n        run()\n        log()\n"
    path = await seen(ctx, project, "two.py", body)
    with pytest.raises(ToolError) as caught:
        await edit(ctx, "two.py", "  run()\n  log()", "  run()\n  log(1)")
    message = str(caught.value)
    assert "fits 2 places (lines 2, 5)" in message
    assert "indentation" in message
    assert path.read_bytes() == body


async def test_not_found_shows_the_closest_lines_with_a_diff(ctx: ToolContext, project: Path) -> None:
    body = b"import os\n\n\ndef handler(event):\n    value = event.get('key')\n    return value\n"
    path = await seen(ctx, project, "h.py", body)
    with pytest.raises(ToolError) as caught:
        await edit(ctx, "h.py", "def handler(evnt):\n    value = evnt.get('key')", "pass")
    message = str(caught.value)
    assert "oldString was not found" in message
    assert "The closest text is at lines 4-5 (similarity 0." in message
    assert "4: def handler(event):" in message
    assert "5:     value = event.get('key')" in message
    assert "-      def handler(evnt):\n-          value = evnt.get('key')" in message
    assert "+    4: def handler(event):" in message
    assert path.read_bytes() == body


async def test_changing_a_line_that_is_not_in_the_file_is_refused(ctx: ToolContext, project: Path) -> None:
    """The model's memory of the line it changes is stale: applying would undo someone's change."""
    body = b"def f():\n    a = load()\n    b = a * 3\n    c = b + 1\n    return c\n"
    path = await seen(ctx, project, "s.py", body)
    old = "def f():\n    a = load()\n    b = a * 2\n    c = b + 1\n    return c"
    with pytest.raises(ToolError) as caught:
        await edit(ctx, "s.py", old, old.replace("b = a * 2", "b = a * 4"))
    message = str(caught.value)
    assert "'b = a * 2'" in message and "is not in the file" in message
    assert "3:     b = a * 3" in message
    assert path.read_bytes() == body


async def test_an_edit_already_in_place_says_so(ctx: ToolContext, project: Path) -> None:
    path = await seen(ctx, project, "done.py", b"import os\n\nTIMEOUT = 30\n")
    with pytest.raises(ToolError, match=r"already is \(at line 3\): the edit looks already applied"):
        await edit(ctx, "done.py", "TIMEOUT = 10\n", "TIMEOUT = 30\n")
    assert path.read_bytes() == b"import os\n\nTIMEOUT = 30\n"


async def test_whitespace_only_old_string_is_refused(ctx: ToolContext, project: Path) -> None:
    path = await seen(ctx, project, "w.py", b"a = 1\n\n\nb = 2\n")
    with pytest.raises(ToolError, match="only whitespace"):
        await edit(ctx, "w.py", "\n\n", "\n")
    assert path.read_bytes() == b"a = 1\n\n\nb = 2\n"


async def test_identical_strings_are_refused(ctx: ToolContext, project: Path) -> None:
    await seen(ctx, project, "f.txt", b"same\n")
    with pytest.raises(ToolError, match="identical"):
        await edit(ctx, "f.txt", "same", "same")


async def test_empty_old_string_creates_a_missing_file(ctx: ToolContext, project: Path) -> None:
    result = await edit(ctx, "new/dir/file.txt", "", "hello\n")
    assert (project / "new/dir/file.txt").read_bytes() == b"hello\n"
    assert "Created" in result.output
    assert result.metadata["filePath"] == str(project / "new/dir/file.txt")


async def test_empty_old_string_on_a_file_with_content_is_refused(ctx: ToolContext, project: Path) -> None:
    path = await seen(ctx, project, "full.txt", b"content\n")
    with pytest.raises(ToolError, match="already has content"):
        await edit(ctx, "full.txt", "", "other\n")
    assert path.read_text() == "content\n"


async def test_a_missing_file_with_old_string_is_an_error(ctx: ToolContext) -> None:
    with pytest.raises(ToolError, match="File not found"):
        await edit(ctx, "nope.txt", "a", "b")


async def test_a_directory_is_refused(ctx: ToolContext, project: Path) -> None:
    (project / "pkg").mkdir()
    with pytest.raises(ToolError, match="is a directory"):
        await edit(ctx, "pkg", "a", "b")


async def test_bad_arguments_from_the_model_get_a_clear_error(ctx: ToolContext, project: Path) -> None:
    registry = ToolRegistry.builtin()
    with pytest.raises(ToolError, match=r"filePath: expected a string; oldString: required"):
        await registry.execute("edit", {"filePath": 3, "newString": "x"}, ctx)
    with pytest.raises(ToolError, match="replaceAll: expected a boolean"):
        await registry.execute(
            "edit", {"filePath": "a", "oldString": "a", "newString": "b", "replaceAll": "often"}, ctx
        )


async def test_permission_is_asked_with_the_path_and_diff(ctx: ToolContext, project: Path) -> None:
    asked: list[PermissionRequest] = []

    async def ask(request: PermissionRequest) -> None:
        asked.append(request)

    ctx.ask = ask
    path = await seen(ctx, project, "p.txt", b"one\n")
    await edit(ctx, "p.txt", "one", "two")
    edits = [r for r in asked if r.permission == "edit"]
    assert len(edits) == 1
    assert edits[0].patterns == ["p.txt"]
    assert edits[0].metadata["filePath"] == str(path)
    assert "-one\n+two\n" in edits[0].metadata["diff"]


async def test_a_path_outside_the_project_goes_through_external_directory(
    ctx: ToolContext, project: Path, tmp_path: Path
) -> None:
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    target = outside / "notes.txt"
    target.write_text("keep\n")
    bus = Bus()
    asked: list[PermissionAsked] = []
    bus.on(lambda event: asked.append(event) if isinstance(event, PermissionAsked) else None)
    service = PermissionService(bus, project)  # nobody can answer: an ask is refused
    ctx.ask = service.asker(Ruleset.from_config(None), session_id=ctx.session_id)
    ctx.file_times.record(target.resolve(), b"keep\n")
    with pytest.raises(ToolError, match="outside the project"):
        await edit(ctx, str(target), "keep", "changed")
    assert [event.permission for event in asked] == ["external_directory"]
    assert target.read_text() == "keep\n"
