"""read: numbered pages, paging hints, refusals, attachments and the read record."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from opencode.tool.read import ReadParams, ReadTool
from opencode.tool.tool import ToolContext, ToolError, ToolResult

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"


async def read(ctx: ToolContext, path: str, **kwargs: int) -> ToolResult:
    return await ReadTool().run(ReadParams(filePath=path, **kwargs), ctx)


def content_lines(output: str) -> list[str]:
    body = output.split("<content>\n", 1)[1].split("\n\n(", 1)[0]
    return body.split("\n")


async def test_lines_are_numbered_from_one_and_the_read_is_recorded(ctx: ToolContext, project: Path) -> None:
    path = project / "a.py"
    path.write_bytes(b"first\n  second\nthird\n")
    result = await read(ctx, "a.py")
    assert content_lines(result.output) == ["1: first", "2:   second", "3: third"]
    assert f"<path>{path}</path>" in result.output
    assert "(End of file - total 3 lines)" in result.output
    assert result.title == "a.py"
    assert result.metadata["truncated"] is False
    record = ctx.file_times.get(path)
    assert record is not None
    assert record.digest == hashlib.sha256(path.read_bytes()).hexdigest()


async def test_offset_and_limit_page_through_and_say_how_to_continue(ctx: ToolContext, project: Path) -> None:
    (project / "long.txt").write_text("".join(f"row {i}\n" for i in range(1, 11)))
    result = await read(ctx, str(project / "long.txt"), offset=4, limit=3)
    assert content_lines(result.output) == ["4: row 4", "5: row 5", "6: row 6"]
    assert "Showing lines 4-6 of 10. Use offset=7 to continue." in result.output
    assert result.metadata["truncated"] is True
    # The whole file is recorded, not only the page shown.
    assert ctx.file_times.get(project / "long.txt") is not None

    last = await read(ctx, "long.txt", offset=9)
    assert content_lines(last.output) == ["9: row 9", "10: row 10"]
    assert "End of file - total 10 lines" in last.output


async def test_offset_past_the_end_is_an_error(ctx: ToolContext, project: Path) -> None:
    (project / "short.txt").write_text("one\ntwo\n")
    with pytest.raises(ToolError, match=r"offset 5 is beyond the end .* 2 lines"):
        await read(ctx, "short.txt", offset=5)


async def test_default_limit_and_byte_cap(ctx: ToolContext, project: Path) -> None:
    (project / "many.txt").write_text("".join(f"{i}\n" for i in range(1, 2501)))
    result = await read(ctx, "many.txt")
    assert len(content_lines(result.output)) == 2000
    assert "Use offset=2001 to continue." in result.output

    (project / "wide.txt").write_text(("y" * 1000 + "\n") * 200)
    wide = await read(ctx, "wide.txt")
    shown = content_lines(wide.output)
    assert 40 <= len(shown) < 60
    assert f"Output capped at 50 KB. Showing lines 1-{len(shown)} of 200. Use offset={len(shown) + 1}" in wide.output


async def test_long_lines_are_cut_with_a_marker(ctx: ToolContext, project: Path) -> None:
    (project / "min.js").write_text("z" * 5000 + "\nshort\n")
    lines = content_lines((await read(ctx, "min.js")).output)
    assert lines[0] == "1: " + "z" * 2000 + "... (line truncated to 2000 chars)"
    assert lines[1] == "2: short"


async def test_crlf_and_bom_do_not_show_in_the_lines(ctx: ToolContext, project: Path) -> None:
    (project / "win.txt").write_bytes(b"\xef\xbb\xbfalpha\r\nbeta\r\n")
    assert content_lines((await read(ctx, "win.txt")).output) == ["1: alpha", "2: beta"]


async def test_empty_file(ctx: ToolContext, project: Path) -> None:
    (project / "empty.txt").write_bytes(b"")
    result = await read(ctx, "empty.txt")
    assert "(The file is empty.)" in result.output
    assert ctx.file_times.get(project / "empty.txt") is not None


async def test_binary_files_are_refused(ctx: ToolContext, project: Path) -> None:
    (project / "blob").write_bytes(b"abc\x00def" * 10)
    with pytest.raises(ToolError, match="Cannot read binary file"):
        await read(ctx, "blob")
    (project / "mod.pyc").write_bytes(b"plain looking text")
    with pytest.raises(ToolError, match="Cannot read binary file"):
        await read(ctx, "mod.pyc")
    (project / "utf8.txt").write_text("héllo wörld ✓\n")
    assert "1: héllo wörld ✓" in (await read(ctx, "utf8.txt")).output


async def test_images_come_back_as_attachments(ctx: ToolContext, project: Path) -> None:
    (project / "dot.png").write_bytes(PNG)
    result = await read(ctx, "dot.png")
    assert "Image read successfully" in result.output
    assert len(result.attachments) == 1
    attachment = result.attachments[0]
    assert (attachment.mime, attachment.data, attachment.filename) == ("image/png", PNG, "dot.png")

    (project / "doc.pdf").write_bytes(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    pdf = await read(ctx, "doc.pdf")
    assert pdf.attachments[0].mime == "application/pdf"
    assert "PDF read successfully" in pdf.output


async def test_a_missing_file_suggests_close_names(ctx: ToolContext, project: Path) -> None:
    for name in ("config.py", "configure.sh", "main.py"):
        (project / name).write_text("x\n")
    with pytest.raises(ToolError) as caught:
        await read(ctx, "confg.py")
    message = str(caught.value)
    assert message.startswith(f"File not found: {project / 'confg.py'}")
    assert "Did you mean one of these?" in message
    assert str(project / "config.py") in message
    assert "main.py" not in message

    with pytest.raises(ToolError) as nothing_close:
        await read(ctx, "zzzzzz.rs")
    assert "Did you mean" not in str(nothing_close.value)


async def test_a_directory_is_refused_with_a_pointer_to_list(ctx: ToolContext, project: Path) -> None:
    (project / "pkg").mkdir()
    with pytest.raises(ToolError, match=r"is a directory.*list tool"):
        await read(ctx, "pkg")
