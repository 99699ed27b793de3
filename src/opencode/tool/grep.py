"""The `grep` tool: search file contents with a regular expression.

ripgrep does the search (`rg --json`, so that any path or line survives parsing), honouring
`.gitignore` and friends (also when `include` is given, see `ripgrep.visible_files`), looking
into hidden files except `.git`, and skipping binary files. Matches are grouped by file, files
ordered by modification time (newest first), at most 100 matches shown, each line cut at 2000
characters. An invalid regular expression comes back as a tool error carrying ripgrep's own
explanation.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, Field

from opencode.tool.glob import newest_first
from opencode.tool.read import relative
from opencode.tool.ripgrep import run_rg, visible_files
from opencode.tool.tool import PermissionRequest, Tool, ToolContext, ToolError, ToolResult

LIMIT = 100
MAX_LINE_CHARS = 2000
MAX_RG_OUTPUT = 8 * 1024 * 1024


class GrepParams(BaseModel):
    pattern: str = Field(description="Regular expression to search for (ripgrep / Rust regex syntax)")
    path: str = Field("", description="Directory (or file) to search in (default: the working directory)")
    include: str = Field("", description="Only search files whose path matches this glob, e.g. '*.py' or '*.{ts,tsx}'")


@dataclass(frozen=True, slots=True)
class Match:
    path: Path
    line: int
    text: str


class GrepTool(Tool[GrepParams]):
    name = "grep"
    params = GrepParams
    description_file = "grep.txt"

    async def run(self, params: GrepParams, ctx: ToolContext) -> ToolResult:
        if not params.pattern:
            raise ToolError("pattern is empty; give a regular expression to search for.")
        target = ctx.resolve(params.path) if params.path else ctx.cwd
        if not target.exists():
            raise ToolError(f"Search path not found: {target}")
        meta = {"pattern": params.pattern, "path": str(target), "include": params.include}
        await ctx.ask(PermissionRequest("grep", [params.pattern], f"Search for {params.pattern}", meta, ["*"]))

        cwd = target if target.is_dir() else target.parent
        flags = ["--no-messages", "--no-require-git", "--hidden", "--glob", "!.git/"]
        args = ["--json", *flags]
        if params.include:
            args += ["--glob", params.include]
        args += ["--regexp", params.pattern]
        if not target.is_dir():
            args += ["--", target.name]
        search = run_rg(args, cwd=cwd, ctx=ctx, max_output=MAX_RG_OUTPUT)
        if params.include and target.is_dir():
            result, visible = await asyncio.gather(search, visible_files(cwd, ctx, flags))
        else:
            result, visible = await search, None
        matches = parse(result.lines(), cwd, visible)
        if result.returncode == 2 and not matches and result.stderr:
            raise ToolError(f"grep failed: {result.stderr}")

        title = params.pattern
        if not matches:
            return ToolResult("No files found", title, {"matches": 0, "truncated": False})
        by_file: dict[Path, list[Match]] = {}
        for match in matches:
            by_file.setdefault(match.path, []).append(match)
        order = await asyncio.to_thread(newest_first, list(by_file))

        shown: list[Match] = []
        for path in order:
            shown.extend(by_file[path][: LIMIT - len(shown)])
            if len(shown) >= LIMIT:
                break
        truncated = len(matches) > len(shown) or result.cut
        total = f"{len(matches)}{'+' if result.cut else ''}"
        lines = [f"Found {total} matches" + (f", showing the first {len(shown)}" if truncated else "")]
        current: Path | None = None
        for match in shown:
            if match.path != current:
                if current is not None:
                    lines.append("")
                current = match.path
                lines.append(f"{match.path}:")
            lines.append(f"  Line {match.line}: {match.text}")
        if truncated:
            lines += ["", "(Results truncated. Use a more specific path, pattern or include to see the others.)"]
        metadata = {
            "matches": len(matches),
            "truncated": truncated,
            "files": len(by_file),
            "root": relative(cwd, ctx.root),
        }
        return ToolResult("\n".join(lines), title, metadata)


def parse(lines: list[str], cwd: Path, visible: set[str] | None = None) -> list[Match]:
    """The match events of rg's JSON output, in files `visible` holds (if given); paths made absolute."""
    matches: list[Match] = []
    for line in lines:
        if not line.startswith('{"type":"match"'):
            continue
        try:
            data = json.loads(line)["data"]
        except (ValueError, KeyError):
            continue
        name = data.get("path", {}).get("text")
        if name is None or (visible is not None and name not in visible):
            continue
        text = data.get("lines", {}).get("text")
        if text is None:
            text = "(line is not valid UTF-8)"
        text = text.rstrip("\n").removesuffix("\r")
        if len(text) > MAX_LINE_CHARS:
            text = text[:MAX_LINE_CHARS] + f"... (line truncated to {MAX_LINE_CHARS} chars)"
        matches.append(Match(cwd / name, int(data.get("line_number") or 0), text))
    return matches
