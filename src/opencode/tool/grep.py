"""The `grep` tool: search file contents with a regular expression.

ripgrep does the search, honouring `.gitignore` and friends (also when `include` is given, see
`ripgrep.visible_files`), looking into hidden files except `.git`, and skipping binary files.
Matches are grouped by file, files ordered by modification time (newest first), at most 100
matches shown, each line cut at 2000 characters. An invalid regular expression comes back as a
tool error carrying ripgrep's own explanation.

Speed (bench/grep.py compares the tool with a bare `rg -n`): rg's plain output is read as it
streams (`Collector`), with a NUL after each path (`--null`) so that any path survives parsing;
each matching file is stat'ed for its modification time when it first shows up, while rg is
still searching, up to `MAX_ORDERED` files: a word found in 20,000 files would otherwise cost
more in stat calls than rg's whole search, for an output cut to 100 matches anyway (the note
says so). Only the lines that are shown are decoded.
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass
from itertools import groupby
from pathlib import Path

from pydantic import BaseModel, Field

from opencode.tool.read import relative
from opencode.tool.ripgrep import run_rg, visible_files
from opencode.tool.tool import PermissionRequest, Tool, ToolContext, ToolError, ToolResult

LIMIT = 100
MAX_LINE_CHARS = 2000
MAX_RG_OUTPUT = 8 * 1024 * 1024
MAX_ORDERED = 1000
"""Matching files stat'ed for the newest-first order; past this many the output is cut anyway."""


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
        # Plain output with a NUL after each path: as robust as --json for odd paths, a quarter of the bytes.
        args = ["--null", "--line-number", "--with-filename", "--no-heading", "--color", "never", *flags]
        if params.include:
            args += ["--glob", params.include]
        args += ["--regexp", params.pattern]
        if not target.is_dir():
            args += ["--", target.name]
        collector = Collector(cwd)
        search = run_rg(args, cwd=cwd, ctx=ctx, max_output=MAX_RG_OUTPUT, on_output=collector.feed)
        if params.include and target.is_dir():
            result, visible = await asyncio.gather(search, visible_files(cwd, ctx, flags))
        else:
            result, visible = await search, None
        collector.finish(drop_last=result.cut)
        files = collector.newest_first(visible)
        counts = collector.counts
        total = len(collector.paths) if visible is None else sum(counts[path] for path in files)
        if result.returncode == 2 and not total and result.stderr:
            raise ToolError(f"grep failed: {result.stderr}")

        title = params.pattern
        if not total:
            return ToolResult("No files found", title, {"matches": 0, "truncated": False})
        shown: list[Match] = []
        for path in files:
            name = os.fsdecode(path)
            shown += [to_match(cwd, name, raw) for raw in collector.lines(path, LIMIT - len(shown))]
            if len(shown) >= LIMIT:
                break
        truncated = total > len(shown) or result.cut
        lines = [
            f"Found {total}{'+' if result.cut else ''} matches"
            + (f", showing the first {len(shown)}" if truncated else "")
        ]
        current: Path | None = None
        for match in shown:
            if match.path != current:
                if current is not None:
                    lines.append("")
                current = match.path
                lines.append(f"{match.path}:")
            lines.append(f"  Line {match.line}: {match.text}")
        if truncated:
            unordered = (
                f"; {len(files)} files matched and only the first {MAX_ORDERED} found were ordered by modification time"
                if collector.unordered
                else ""
            )
            lines += [
                "",
                f"(Results truncated{unordered}. Use a more specific path, pattern or include to see the others.)",
            ]
        metadata = {
            "matches": total,
            "truncated": truncated,
            "files": len(files),
            "root": relative(cwd, ctx.root),
        }
        return ToolResult("\n".join(lines), title, metadata)


class Collector:
    """Parses rg's `path NUL N:text` lines as they stream in; stats each file when it first shows up.

    A common word can match a hundred thousand lines, so the work per line is left to C code
    (`replace`, `split`, slicing, `groupby`, `list`); Python-level work is per file, and per line
    only for the lines shown. rg prints a file's matches together, so a file is one run of equal
    paths: its count and the index of its first line are all that is kept besides the lines.
    A line's text holds no NUL and no newline (rg skips binary files), so in a block with as many
    NULs as newlines, turning each NUL into a newline splits it into path, text, path, text...;
    otherwise some path holds a newline and the block is parsed line by line (`_parse_slowly`)."""

    def __init__(self, cwd: Path) -> None:
        self.base = os.fsencode(str(cwd) + os.sep)
        self.paths: list[bytes] = []
        self.bodies: list[bytes] = []
        self.counts: dict[bytes, int] = {}
        self.first: dict[bytes, int] = {}
        self.mtimes: dict[bytes, float] = {}
        self.rest = b""

    def feed(self, chunk: bytes) -> None:
        data = self.rest + chunk if self.rest else chunk
        end = data.rfind(b"\n") + 1
        self.rest = data[end:]
        if not end:
            return
        block = data[:end]
        if block.count(b"\0") == block.count(b"\n"):
            parts = block.replace(b"\0", b"\n").split(b"\n")
            paths, bodies = parts[0:-1:2], parts[1::2]
        else:
            paths, bodies = _parse_slowly(block)
        offset = len(self.paths)
        self.paths += paths
        self.bodies += bodies
        counts, first, mtimes, base, stat = self.counts, self.first, self.mtimes, self.base, os.stat
        for path, run in groupby(paths):
            size = len(list(run))
            if path in counts:
                counts[path] += size
            else:
                counts[path], first[path] = size, offset
                if len(mtimes) < MAX_ORDERED:
                    # Stat here, between reads, so that the calls overlap rg's search.
                    try:
                        mtimes[path] = stat(base + path).st_mtime
                    except OSError:
                        mtimes[path] = 0.0
            offset += size

    def finish(self, *, drop_last: bool) -> None:
        """The end of the output; a last line cut by the output cap is dropped."""
        if self.rest and not drop_last:
            self.feed(b"\n")
        self.rest = b""

    @property
    def unordered(self) -> bool:
        """True when more files matched than were stat'ed (`MAX_ORDERED`)."""
        return len(self.counts) > len(self.mtimes)

    def newest_first(self, keep: set[str] | None = None) -> list[bytes]:
        """The files with matches (those in `keep`, if given): the stat'ed ones most recently modified
        first (then by path), then the rest in the order rg found them."""
        paths = list(self.counts) if keep is None else [p for p in self.counts if os.fsdecode(p) in keep]
        mtimes = self.mtimes
        timed = [p for p in paths if p in mtimes]
        ordered = [path for _, path in sorted(zip([-mtimes[p] for p in timed], timed, strict=True))]
        return ordered + [p for p in paths if p not in mtimes] if len(timed) < len(paths) else ordered

    def lines(self, path: bytes, limit: int) -> list[bytes]:
        """Up to `limit` of the file's match lines, as rg wrote them after the path: `N:text`."""
        start = self.first[path]
        end = start + min(limit, self.counts[path])
        return [body for name, body in zip(self.paths[start:end], self.bodies[start:end], strict=True) if name == path]


def to_match(cwd: Path, name: str, raw: bytes) -> Match:
    number, _, body = raw.partition(b":")
    text = body.decode("utf-8", errors="replace").removesuffix("\r")
    if len(text) > MAX_LINE_CHARS:
        text = text[:MAX_LINE_CHARS] + f"... (line truncated to {MAX_LINE_CHARS} chars)"
    return Match(cwd / name, int(number) if number.isdigit() else 0, text)


def _parse_slowly(block: bytes) -> tuple[list[bytes], list[bytes]]:
    """Paths and line bodies of a block in which some path holds a newline."""
    paths: list[bytes] = []
    bodies: list[bytes] = []
    carry = b""
    for piece in block.split(b"\n")[:-1]:
        path, sep, body = piece.partition(b"\0")
        if not sep:
            carry += piece + b"\n"
            continue
        paths.append(carry + path)
        bodies.append(body)
        carry = b""
    return paths, bodies
