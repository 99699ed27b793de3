"""write: file bytes, the read-before-write rule, the diff of what changed, atomic replacement."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from opencode.tool.read import ReadParams, ReadTool
from opencode.tool.tool import PermissionRequest, ToolContext, ToolError, ToolResult
from opencode.tool.write import WriteParams, WriteTool


async def write(ctx: ToolContext, path: str, content: str) -> ToolResult:
    return await WriteTool().run(WriteParams(filePath=path, content=content), ctx)


async def read(ctx: ToolContext, path: str) -> None:
    await ReadTool().run(ReadParams(filePath=path), ctx)


async def test_creates_a_new_file_and_its_parent_directories(ctx: ToolContext, project: Path) -> None:
    result = await write(ctx, "src/pkg/new.py", "print('hi')\n")
    path = project / "src/pkg/new.py"
    assert path.read_bytes() == b"print('hi')\n"
    assert result.metadata["existed"] is False
    assert result.metadata["filePath"] == str(path)
    assert "+print('hi')" in result.metadata["diff"]
    assert result.metadata["additions"] == 1
    assert result.title == "src/pkg/new.py"
    assert "Created" in result.output
    # Having written it, the model knows its content: writing again needs no read.
    await write(ctx, "src/pkg/new.py", "print('bye')\n")
    assert path.read_text() == "print('bye')\n"


async def test_overwriting_an_unread_file_is_refused(ctx: ToolContext, project: Path) -> None:
    path = project / "keep.txt"
    path.write_text("precious\n")
    with pytest.raises(ToolError, match=r"must read .*keep\.txt"):
        await write(ctx, "keep.txt", "gone\n")
    assert path.read_text() == "precious\n"


async def test_overwriting_after_a_read_replaces_the_content(ctx: ToolContext, project: Path) -> None:
    path = project / "notes.md"
    path.write_text("old line\nsame\n")
    await read(ctx, "notes.md")
    result = await write(ctx, str(path), "new line\nsame\n")
    assert path.read_bytes() == b"new line\nsame\n"
    assert result.metadata["existed"] is True
    diff = result.metadata["diff"]
    assert "-old line\n+new line\n" in diff
    assert (result.metadata["additions"], result.metadata["deletions"]) == (1, 1)


async def test_a_file_changed_since_the_read_is_refused_with_the_changes(ctx: ToolContext, project: Path) -> None:
    path = project / "app.py"
    path.write_text("a = 1\nb = 2\n")
    await read(ctx, "app.py")
    path.write_text("a = 1\nb = 3\n")  # someone else edits it
    with pytest.raises(ToolError) as caught:
        await write(ctx, "app.py", "replaced\n")
    message = str(caught.value)
    assert "has changed on disk since you last read it" in message
    assert "-b = 2" in message
    assert "+b = 3" in message
    assert path.read_text() == "a = 1\nb = 3\n"


async def test_touching_without_changing_content_is_not_a_change(ctx: ToolContext, project: Path) -> None:
    path = project / "same.txt"
    path.write_text("x\n")
    await read(ctx, "same.txt")
    os.utime(path, (1, 1))
    await write(ctx, "same.txt", "y\n")
    assert path.read_text() == "y\n"


async def test_the_file_mode_is_kept_and_no_temporary_file_is_left(ctx: ToolContext, project: Path) -> None:
    script = project / "run.sh"
    script.write_text("#!/bin/sh\necho old\n")
    script.chmod(0o750)
    await read(ctx, "run.sh")
    await write(ctx, "run.sh", "#!/bin/sh\necho new\n")
    assert script.stat().st_mode & 0o777 == 0o750
    assert sorted(p.name for p in project.iterdir()) == ["run.sh"]

    await write(ctx, "fresh.txt", "x")
    umask = os.umask(0)
    os.umask(umask)
    assert (project / "fresh.txt").stat().st_mode & 0o777 == 0o666 & ~umask


async def test_a_directory_is_refused(ctx: ToolContext, project: Path) -> None:
    (project / "dir").mkdir()
    with pytest.raises(ToolError, match="is a directory"):
        await write(ctx, "dir", "x")


async def test_permission_is_asked_with_the_diff_and_a_rejection_stops_the_write(
    ctx: ToolContext, project: Path
) -> None:
    asked: list[PermissionRequest] = []

    async def reject(request: PermissionRequest) -> None:
        asked.append(request)
        raise ToolError("the user rejected this change")

    ctx.ask = reject
    with pytest.raises(ToolError, match="rejected"):
        await write(ctx, "new.txt", "content\n")
    assert not (project / "new.txt").exists()
    assert asked[0].permission == "edit"
    assert asked[0].patterns == ["new.txt"]
    assert "+content" in asked[0].metadata["diff"]
