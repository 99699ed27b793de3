"""The `list` tool: a directory's files as an indented tree.

ripgrep lists the files (`rg --files`), so what `.gitignore` excludes stays out, as do the usual
bulky or generated directories (`DEFAULT_IGNORE`: node_modules, .git, __pycache__, virtual
environments, build output...) and whatever the model adds in `ignore`. Hidden files are shown.
At most 100 files are listed; directories come before files, each level sorted by name. Empty
directories do not appear, since only files are listed.
"""

from __future__ import annotations

from pathlib import PurePosixPath

from pydantic import BaseModel, Field

from opencode.tool.glob import search_dir
from opencode.tool.read import relative
from opencode.tool.ripgrep import run_rg
from opencode.tool.tool import PermissionRequest, Tool, ToolContext, ToolError, ToolResult

LIMIT = 100
DEFAULT_IGNORE = [
    "node_modules/",
    "__pycache__/",
    ".git/",
    ".hg/",
    ".svn/",
    ".venv/",
    "venv/",
    ".tox/",
    ".nox/",
    ".mypy_cache/",
    ".pytest_cache/",
    ".ruff_cache/",
    "dist/",
    "build/",
    "target/",
    "vendor/",
    "obj/",
    ".idea/",
    ".vscode/",
    ".cache/",
    "coverage/",
    ".next/",
    ".zig-cache/",
    "zig-out/",
    "*.egg-info/",
]


class ListParams(BaseModel):
    path: str = Field(
        "", description="Directory to list: absolute, or relative to the working directory (default: the latter)"
    )
    ignore: list[str] = Field(
        default_factory=list, description="Extra glob patterns to leave out, e.g. ['*.log', 'fixtures/']"
    )


class ListTool(Tool[ListParams]):
    name = "list"
    params = ListParams
    description_file = "list.txt"

    async def run(self, params: ListParams, ctx: ToolContext) -> ToolResult:
        root = search_dir(params.path, ctx)
        await ctx.ask(
            PermissionRequest("list", [str(root)], f"List {relative(root, ctx.root)}", {"path": str(root)}, ["*"])
        )
        args = ["--files", "--no-require-git", "--no-messages", "--hidden"]
        for pattern in DEFAULT_IGNORE + params.ignore:
            args += ["--glob", f"!{pattern}"]
        result = await run_rg(args, cwd=root, ctx=ctx)
        if result.returncode not in (0, 1) and not result.stdout:
            raise ToolError(f"list failed: {result.stderr or f'rg exited with code {result.returncode}'}")

        files = sorted(line.replace("\\", "/") for line in result.lines() if line)
        shown = files[:LIMIT]
        output = f"{root}/\n" + render(shown)
        truncated = len(files) > LIMIT or result.cut
        if truncated:
            output += (
                f"\n(Showing {len(shown)} of {len(files)}{'+' if result.cut else ''} files. "
                "List a subdirectory, or use glob with a pattern, to see the others.)"
            )
        return ToolResult(output, relative(root, ctx.root), {"count": len(shown), "truncated": truncated})


def render(files: list[str]) -> str:
    """An indented tree of relative file paths: directories first, then files, by name."""
    tree: dict[str, dict] = {}
    for name in files:
        node = tree
        parts = PurePosixPath(name).parts
        for part in parts[:-1]:
            node = node.setdefault(part + "/", {})
        node[parts[-1]] = {}
    lines: list[str] = []

    def walk(node: dict[str, dict], depth: int) -> None:
        dirs = sorted(key for key in node if key.endswith("/"))
        leaves = sorted(key for key in node if not key.endswith("/"))
        for key in dirs:
            lines.append("  " * (depth + 1) + key)
            walk(node[key], depth + 1)
        for key in leaves:
            lines.append("  " * (depth + 1) + key)

    walk(tree, 0)
    return "".join(line + "\n" for line in lines)
