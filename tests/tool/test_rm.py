"""rm: deletes inside the project only, never through or along symlinks, asks for `edit`."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from opencode.tool.rm import RmParams, RmTool
from opencode.tool.tool import PermissionRequest, ToolContext, ToolError


def put(root: Path, name: str, text: str = "x\n") -> Path:
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


async def rm(ctx: ToolContext, path: str, recursive: bool = False) -> str:
    result = await RmTool().run(RmParams(path=path, recursive=recursive), ctx)
    return result.output


async def test_deletes_a_file_and_asks_for_edit_with_the_relative_path(ctx: ToolContext, project: Path) -> None:
    asked: list[PermissionRequest] = []

    async def ask(request: PermissionRequest) -> None:
        asked.append(request)

    ctx.ask = ask
    target = put(project, "src/old.py")
    ctx.file_times.record(target, b"x\n")
    result = await RmTool().run(RmParams(path="src/old.py"), ctx)
    assert not target.exists() and (project / "src").is_dir()
    assert result.output == "Deleted src/old.py."
    assert result.metadata["files"] == [str(target)] and result.metadata["fileCount"] == 1
    assert [(r.permission, r.patterns) for r in asked] == [("edit", ["src/old.py"])]
    assert ctx.file_times.get(target) is None


async def test_a_rejected_ask_deletes_nothing(ctx: ToolContext, project: Path) -> None:
    async def reject(request: PermissionRequest) -> None:
        raise ToolError("The user rejected this call.")

    ctx.ask = reject
    target = put(project, "keep.txt")
    with pytest.raises(ToolError, match="rejected"):
        await rm(ctx, "keep.txt")
    assert target.read_text() == "x\n"


async def test_a_directory_needs_recursive_and_the_result_counts_what_went(ctx: ToolContext, project: Path) -> None:
    for name in ("build/a.o", "build/b.o", "build/sub/c.o", "build/sub/deeper/d.o"):
        put(project, name)
    with pytest.raises(ToolError, match=r"build is a directory \(4 files, 2 subdirectories\)\. Set recursive"):
        await rm(ctx, "build")
    assert (project / "build/sub/deeper/d.o").exists()

    result = await RmTool().run(RmParams(path="build", recursive=True), ctx)
    assert not (project / "build").exists()
    assert result.output == "Deleted directory build/ with 4 files, 2 subdirectories."
    assert sorted(result.metadata["files"]) == sorted(
        str(project / n) for n in ("build/a.o", "build/b.o", "build/sub/c.o", "build/sub/deeper/d.o")
    )
    assert (result.metadata["fileCount"], result.metadata["dirCount"]) == (4, 3)


async def test_refuses_paths_outside_the_project(ctx: ToolContext, project: Path, tmp_path: Path) -> None:
    outside = put(tmp_path, "outside.txt")
    for given in ("../outside.txt", str(outside), "src/../../outside.txt"):
        with pytest.raises(ToolError, match="outside the project"):
            await rm(ctx, given)
    assert outside.exists()


async def test_refuses_the_root_and_git(ctx: ToolContext, project: Path) -> None:
    put(project, ".git/HEAD", "ref: refs/heads/main\n")
    for given in (".", str(project), "src/..", ".."):
        with pytest.raises(ToolError, match="project root"):
            await rm(ctx, given, recursive=True)
    for given in (".git", ".git/HEAD"):
        with pytest.raises(ToolError, match=r"does not touch \.git"):
            await rm(ctx, given, recursive=True)
    assert (project / ".git/HEAD").exists()


async def test_a_nested_repository_is_refused(ctx: ToolContext, project: Path) -> None:
    put(project, "vendor/lib/.git/HEAD")
    put(project, "vendor/lib/code.c")
    with pytest.raises(ToolError, match=r"holds a git repository \(vendor/lib/\.git\)"):
        await rm(ctx, "vendor", recursive=True)
    assert (project / "vendor/lib/code.c").exists()


async def test_a_symlink_is_deleted_as_a_link_and_its_target_kept(
    ctx: ToolContext, project: Path, tmp_path: Path
) -> None:
    outside_dir = tmp_path / "precious"
    put(outside_dir, "data.txt", "keep me\n")
    (project / "link").symlink_to(outside_dir)
    result = await rm(ctx, "link")
    assert not (project / "link").is_symlink()
    assert (outside_dir / "data.txt").read_text() == "keep me\n"
    assert result == f"Deleted symlink link (it pointed to {outside_dir}; the target was not touched)."


async def test_a_path_through_a_symlink_out_of_the_project_is_refused(
    ctx: ToolContext, project: Path, tmp_path: Path
) -> None:
    outside_dir = tmp_path / "elsewhere"
    victim = put(outside_dir, "victim.txt")
    (project / "door").symlink_to(outside_dir)
    with pytest.raises(ToolError, match="outside the project"):
        await rm(ctx, "door/victim.txt")
    assert victim.exists()


async def test_recursive_removal_does_not_follow_links(ctx: ToolContext, project: Path, tmp_path: Path) -> None:
    outside_dir = tmp_path / "shared"
    kept = put(outside_dir, "lib.txt", "shared\n")
    put(project, "tmpdir/own.txt")
    (project / "tmpdir/to_dir").symlink_to(outside_dir)
    (project / "tmpdir/to_file").symlink_to(kept)
    result = await RmTool().run(RmParams(path="tmpdir", recursive=True), ctx)
    assert not (project / "tmpdir").exists()
    assert kept.read_text() == "shared\n" and outside_dir.is_dir()
    # The two links count as entries removed, the target tree is not walked.
    assert result.metadata["fileCount"] == 3


async def test_missing_paths_and_bad_arguments(ctx: ToolContext, project: Path) -> None:
    from opencode.tool.registry import ToolRegistry

    with pytest.raises(ToolError, match="does not exist"):
        await rm(ctx, "nope.txt")
    put(project, "file.txt")
    with pytest.raises(ToolError, match=r"a part of .* is a file"):
        await rm(ctx, "file.txt/inner")
    with pytest.raises(ToolError, match="path is empty"):
        await rm(ctx, "  ")
    registry = ToolRegistry([RmTool()])
    with pytest.raises(ToolError, match="recursive: expected a boolean"):
        await registry.execute("rm", {"path": "file.txt", "recursive": "very"}, ctx)
    with pytest.raises(ToolError, match="path: required"):
        await registry.execute("rm", {}, ctx)
    assert (project / "file.txt").exists()


async def test_a_dangling_symlink_can_be_deleted(ctx: ToolContext, project: Path) -> None:
    os.symlink(project / "gone", project / "dangling")
    await rm(ctx, "dangling")
    assert not os.path.lexists(project / "dangling")
