"""The `glob` tool: find files by name pattern, most recently changed first.

ripgrep lists the files (`rg --files --glob PATTERN`, checked against what the ignore files allow,
see `ripgrep.visible_files`), so `.gitignore`, `.ignore` and `.rgignore` are honoured (also
outside a git repository) and hidden files are left out as rg leaves them out,
unless the pattern itself names a hidden path (`.github/**`, `**/.env*`). Results are absolute
paths sorted by modification time, newest first, at most 100 of them.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from pydantic import BaseModel, Field

from opencode.tool.read import relative
from opencode.tool.ripgrep import run_rg, visible_files
from opencode.tool.tool import PermissionRequest, Tool, ToolContext, ToolError, ToolResult

LIMIT = 100


class GlobParams(BaseModel):
    pattern: str = Field(description="Glob pattern to match file paths against, e.g. '**/*.py' or 'src/**/test_*.ts'")
    path: str = Field("", description="Directory to search in (default: the working directory)")


class GlobTool(Tool[GlobParams]):
    name = "glob"
    params = GlobParams
    description_file = "glob.txt"

    async def run(self, params: GlobParams, ctx: ToolContext) -> ToolResult:
        if not params.pattern.strip():
            raise ToolError("pattern is empty; give a glob such as '**/*.py'.")
        search = search_dir(params.path, ctx)
        await ctx.ask(
            PermissionRequest("glob", [params.pattern], f"Find {params.pattern}", {"path": str(search)}, ["*"])
        )
        flags = ["--no-require-git", "--no-messages"]
        if _names_hidden(params.pattern):
            flags += ["--hidden", "--glob", "!.git/"]
        result, visible = await asyncio.gather(
            run_rg(["--files", *flags, "--glob", params.pattern], cwd=search, ctx=ctx),
            visible_files(search, ctx, flags),
        )
        if result.returncode not in (0, 1) and not result.stdout:
            raise ToolError(f"glob failed: {result.stderr or f'rg exited with code {result.returncode}'}")

        names = [line for line in result.lines() if line and (visible is None or line in visible)]
        found = await asyncio.to_thread(newest_first, [search / name for name in names])
        title = relative(search, ctx.root)
        if not found:
            return ToolResult("No files found", title, {"count": 0, "truncated": False})
        shown = found[:LIMIT]
        lines = [str(path) for path in shown]
        truncated = len(found) > LIMIT or result.cut
        if truncated:
            lines += [
                "",
                f"(Showing the {LIMIT} most recently modified of {len(found)}{'+' if result.cut else ''} "
                "files. Use a more specific path or pattern to see the others.)",
            ]
        return ToolResult("\n".join(lines), title, {"count": len(shown), "truncated": truncated})


def search_dir(path: str, ctx: ToolContext) -> Path:
    """The directory a search tool should look in; a clear error when it is not one."""
    search = ctx.resolve(path) if path else ctx.cwd
    if not search.exists():
        raise ToolError(f"Search path not found: {search}")
    if not search.is_dir():
        raise ToolError(f"{search} is a file, not a directory; give the directory to search in.")
    return search


def newest_first(paths: list[Path]) -> list[Path]:
    """Sort by modification time, newest first; ties (and vanished files) by path."""

    def mtime(path: Path) -> float:
        try:
            return path.stat().st_mtime
        except OSError:
            return 0.0

    stamped = [(mtime(path), path) for path in paths]
    stamped.sort(key=lambda item: (-item[0], str(item[1])))
    return [path for _, path in stamped]


def _names_hidden(pattern: str) -> bool:
    return any(part.startswith(".") and part not in (".", "..") for part in pattern.replace("\\", "/").split("/"))
