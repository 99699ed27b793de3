"""The `rm` tool: delete a file, a symlink or (with `recursive`) a directory inside the project.

Where the path leads is decided before anything is touched: the parent directory is resolved
(`..` and symlinks), the last name is kept as given, so a symlink is deleted as a link and its
target is left alone. The result must lie inside the project root; the root itself, `.git` (and
anything in it) and directories holding a nested git repository are refused. A directory needs
`recursive: true`; its removal never follows links (`shutil.rmtree` unlinks a link it meets).
Deleting needs the `edit` permission, asked with the path relative to the project.

The result says what went: file and directory counts for a tree, and `metadata["files"]` lists
the removed paths (absolute; at most `MAX_LISTED`). Removed files are forgotten from the
session's read records, so a later `write` to the same path starts afresh.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import stat
import sys
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel, Field

from opencode.tool.read import relative
from opencode.tool.tool import PermissionRequest, Tool, ToolContext, ToolError, ToolResult

MAX_LISTED = 1000


class RmParams(BaseModel):
    path: str = Field(description="File, symlink or directory to delete")
    recursive: bool = Field(False, description="true to delete a directory and everything in it")


@dataclass
class Inventory:
    """What a removal will take away; `files` counts files and symlinks (not followed)."""

    files: int = 0
    dirs: int = 0
    paths: list[str] = field(default_factory=list)
    nested_git: Path | None = None


class RmTool(Tool[RmParams]):
    name = "rm"
    params = RmParams
    description_file = "rm.txt"

    async def run(self, params: RmParams, ctx: ToolContext) -> ToolResult:
        if not params.path.strip():
            raise ToolError("path is empty; give the file or directory to delete.")
        target = locate(params.path, ctx)
        root = ctx.root.resolve()
        rel = relative(target, root)
        try:
            info = target.lstat()
        except FileNotFoundError:
            raise ToolError(f"Nothing to delete: {target} does not exist.")
        except NotADirectoryError:
            raise ToolError(f"Nothing to delete: a part of {target} is a file, not a directory.")

        link = stat.S_ISLNK(info.st_mode)
        is_dir = not link and stat.S_ISDIR(info.st_mode)
        inventory = Inventory(files=0 if is_dir else 1, paths=[] if is_dir else [str(target)])
        if is_dir:
            inventory = await asyncio.to_thread(survey, target)
            if inventory.nested_git is not None:
                raise ToolError(
                    f"{rel}/ holds a git repository ({relative(inventory.nested_git, root)}), whose history a "
                    "deletion would lose for good. Refused; ask the user to delete it if that is really wanted."
                )
            if not params.recursive:
                raise ToolError(
                    f"{rel} is a directory ({describe(inventory)}). Set recursive to true to delete it and "
                    "everything in it, or give the path of a file inside it."
                )

        pointed = os.readlink(target) if link else ""
        kind = "symlink" if link else ("directory" if is_dir else "file")
        meta = {"filePath": str(target), "kind": kind, "recursive": params.recursive}
        await ctx.ask(PermissionRequest("edit", [rel], f"Delete {kind} {rel}", meta, ["*"]))
        ctx.check_abort()
        try:
            await asyncio.to_thread(remove, target, is_dir)
        except OSError as exc:
            raise ToolError(f"Could not delete {rel}: {exc.strerror or exc}. Nothing or only part was removed.")
        for name in inventory.paths:
            ctx.file_times.forget(Path(name))

        if link:
            output = f"Deleted symlink {rel}" + (
                f" (it pointed to {pointed}; the target was not touched)." if pointed else "."
            )
        elif is_dir:
            output = f"Deleted directory {rel}/ with {describe(inventory)}."
        else:
            output = f"Deleted {rel}."
        metadata = {
            "files": inventory.paths[:MAX_LISTED],
            "fileCount": inventory.files,
            "dirCount": inventory.dirs,
            "kind": kind,
        }
        if len(inventory.paths) > MAX_LISTED:
            metadata["filesTruncated"] = True
        return ToolResult(output, rel, metadata)


def locate(given: str, ctx: ToolContext) -> Path:
    """Where `given` leads, its last name unresolved; a `ToolError` unless it is inside the project."""
    path = Path(given).expanduser()
    if not path.is_absolute():
        path = ctx.cwd / path
    path = Path(os.path.normpath(path))
    root = ctx.root.resolve()
    # Only the parent is resolved: the last name may be a symlink, which is deleted as such.
    target = path.parent.resolve(strict=False) / path.name if path.name else path.resolve(strict=False)
    if target == root or target in root.parents:
        raise ToolError(f"Refused: {target} is the project root (or above it); rm deletes things inside the project.")
    if not target.is_relative_to(root):
        raise ToolError(
            f"Refused: {target} is outside the project ({root}), after resolving '..' and symlinks. "
            "rm only deletes inside the project."
        )
    if ".git" in target.relative_to(root).parts:
        raise ToolError("Refused: rm does not touch .git, the project's version history.")
    return target


def survey(directory: Path) -> Inventory:
    """Count (and list) what is under `directory`, without following links."""
    found = Inventory(dirs=1)
    for current, dirs, files in os.walk(directory, followlinks=False):
        for name in dirs:
            full = os.path.join(current, name)
            if name == ".git" and found.nested_git is None:
                found.nested_git = Path(full)
            if os.path.islink(full):
                # os.walk lists a link to a directory among the directories but does not enter it.
                found.files += 1
                found.paths.append(full)
            else:
                found.dirs += 1
        for name in files:
            if name == ".git" and found.nested_git is None:
                found.nested_git = Path(current, name)  # a submodule's or worktree's .git file
            found.files += 1
            found.paths.append(os.path.join(current, name))
    return found


def remove(target: Path, is_dir: bool) -> None:
    if not is_dir:
        os.unlink(target)
        return
    errors: list[str] = []

    # rmtree unlinks the symlinks it meets and never follows them (fd-based on Linux and macOS).
    if sys.version_info >= (3, 12):
        shutil.rmtree(target, onexc=lambda function, path, exc: errors.append(f"{path}: {exc}"))
    else:
        shutil.rmtree(target, onerror=lambda function, path, info: errors.append(f"{path}: {info[1]}"))
    if errors:
        shown = "; ".join(errors[:3]) + (f"; and {len(errors) - 3} more" if len(errors) > 3 else "")
        raise OSError(f"some entries could not be removed: {shown}")


def describe(inventory: Inventory) -> str:
    files = f"{inventory.files} file{'s' if inventory.files != 1 else ''}"
    subdirs = inventory.dirs - 1
    return f"{files}, {subdirs} subdirector{'ies' if subdirs != 1 else 'y'}"
