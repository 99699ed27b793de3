"""The `list` tool: a directory's files as an indented tree.

ripgrep lists the files (`rg --files`), so what `.gitignore` excludes stays out, as do the usual
bulky or generated directories (`DEFAULT_IGNORE`: opencode's list, node_modules, .git, dist, build,
__pycache__, virtual environments, caches, tmp, logs..., plus a few more tool caches) and whatever
the model adds in `ignore`. opencode's `bin/` is left out of the defaults on purpose: Rust's
`src/bin/` and many projects' scripts live there. Hidden files are shown.

At most `LIMIT` files are shown. When there are more, the shallowest files are the ones shown
(then by path), so a cut keeps an overview of the whole tree rather than the first subdirectory
in full: a directory none of whose files made it is folded into one line with its file count,
and an opened directory says how many of its files were left out. Directories come before files,
each level sorted by name. Empty directories do not appear, since only files are listed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pydantic import BaseModel, Field

from opencode.tool.glob import search_dir
from opencode.tool.read import relative
from opencode.tool.ripgrep import run_rg
from opencode.tool.tool import PermissionRequest, Tool, ToolContext, ToolError, ToolResult

LIMIT = 100
MAX_FOLDED = 50
"""Folded directories shown per directory; the rest are counted."""
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
    ".coverage",
    "htmlcov/",
    "tmp/",
    "temp/",
    "cache/",
    "logs/",
    "env/",
    ".gradle/",
    ".terraform/",
    ".turbo/",
    ".nuxt/",
    ".svelte-kit/",
    ".parcel-cache/",
]


class ListParams(BaseModel):
    path: str = Field("", description="Directory to list (default: the working directory)")
    ignore: list[str] = Field(default_factory=list, description="More glob patterns to skip, e.g. ['*.log']")


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
        for pattern in [*DEFAULT_IGNORE, *(p.strip() for p in params.ignore)]:
            if pattern:
                args += ["--glob", f"!{pattern}"]
        result = await run_rg(args, cwd=root, ctx=ctx)
        if result.returncode not in (0, 1) and not result.stdout:
            raise ToolError(f"list failed: {result.stderr or f'rg exited with code {result.returncode}'}")

        files = [line.replace("\\", "/") for line in result.lines() if line]
        tree = Tree.of(files)
        shown = tree.choose(LIMIT)
        output = f"{root}/\n" + tree.render(shown)
        truncated = len(shown) < len(files) or result.cut
        if truncated:
            output += (
                f"\n(Showing {len(shown)} of {len(files)}{'+' if result.cut else ''} files. The list stops at "
                f"{LIMIT}; folded directories show their file count: list one of them, or use glob, to see more.)"
            )
        return ToolResult(output, relative(root, ctx.root), {"count": len(shown), "truncated": truncated})


@dataclass
class Node:
    dirs: dict[str, Node] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)
    total: int = 0
    """Files in this directory and below."""


@dataclass
class Tree:
    """Relative file paths as a directory tree, with a file count per directory."""

    top: Node
    paths: list[tuple[int, str]]
    """(depth, path) of every file, in the order files are chosen to be shown."""

    @classmethod
    def of(cls, files: list[str]) -> Tree:
        top = Node()
        for name in files:
            node = top
            node.total += 1
            *parents, leaf = name.split("/")
            for part in parents:
                node = node.dirs.setdefault(part, Node())
                node.total += 1
            node.files.append(leaf)
        return cls(top, sorted((name.count("/"), name) for name in files))

    def choose(self, limit: int) -> set[str]:
        """The files to show: the shallowest first (then by path), so a cut keeps the overview."""
        return {name for _, name in self.paths[:limit]}

    def render(self, shown: set[str]) -> str:
        """An indented tree: directories first, then files, by name. A directory none of whose files
        are shown is folded into one line with its file count; files left out are counted."""
        lines: list[str] = []
        opened = {name[: i + 1] for name in shown for i, char in enumerate(name) if char == "/"}

        def walk(node: Node, prefix: str, depth: int) -> None:
            indent = "  " * (depth + 1)
            folded = 0
            for name in sorted(node.dirs):
                child = node.dirs[name]
                if f"{prefix}{name}/" in opened:
                    lines.append(f"{indent}{name}/")
                    walk(child, f"{prefix}{name}/", depth + 1)
                elif folded < MAX_FOLDED:
                    folded += 1
                    lines.append(f"{indent}{name}/ ({_files(child.total)})")
                else:
                    folded += 1
            if folded > MAX_FOLDED:
                lines.append(f"{indent}... {folded - MAX_FOLDED} more directories")
            hidden = 0
            for leaf in sorted(node.files):
                if prefix + leaf in shown:
                    lines.append(f"{indent}{leaf}")
                else:
                    hidden += 1
            if hidden:
                lines.append(f"{indent}... {hidden} more file{'s' if hidden != 1 else ''}")

        walk(self.top, "", 0)
        return "".join(line + "\n" for line in lines)


def _files(count: int) -> str:
    return f"{count} file{'s' if count != 1 else ''}"
