"""The `apply_patch` tool: add, update, move and delete files with one patch, all or none.

The format is opencode's (and codex's):

    *** Begin Patch
    *** Add File: path          then the content, every line prefixed with +
    *** Delete File: path
    *** Update File: path
    *** Move to: new/path       optional, right after Update File
    @@ context line             optional: the hunk starts after this line of the file
     context  -removed  +added  one prefix character per line; an empty line is an empty context line
    *** End of File             optional: the hunk ends at the end of the file
    *** End Patch

A hunk's context and removed lines are found like edit's oldString (exact first, then whitespace,
indentation, quotes, blank lines, similar blocks), after the previous hunk of the same file, and
must fit one place unless an `@@` line anchors them (then the first fit after it is used). Added
lines are re-indented the way the match was. Every change is checked and computed in memory
before anything is written: a file that was not read first (or changed since), a hunk that does
not fit (the error names the file and the hunk and shows the closest lines), or a refused
permission leaves every file as it was. If a write fails midway, the files already written are
restored. Permission is asked once, for every path.
"""

from __future__ import annotations

import asyncio
import re
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field

from opencode.tool.blocks import (
    Document,
    EditError,
    Placement,
    block_windows,
    closest_region,
    line_matches,
    place,
)
from opencode.tool.edit import TextForm, decode_text
from opencode.tool.read import relative
from opencode.tool.tool import PermissionRequest, Tool, ToolContext, ToolError, ToolResult
from opencode.tool.write import check_fresh, diff_stats, path_lock, unified_diff, write_atomic

BEGIN = "*** Begin Patch"
END = "*** End Patch"
_HEADERS = ("*** Add File:", "*** Delete File:", "*** Update File:")
_UNIFIED_HEADER = re.compile(r"^@@ -\d+(?:,\d+)? \+\d+(?:,\d+)? @@ ?(.*)$")
_HEREDOC = re.compile(r"^(?:\S*\s+)?<<-?\s*['\"]?(\w+)['\"]?\s*\n(.*)\n\1\s*$", re.S)


class ApplyPatchParams(BaseModel):
    patchText: str = Field(description="The whole patch, from '*** Begin Patch' to '*** End Patch'")


@dataclass
class Hunk:
    context: str | None
    old: list[str] = field(default_factory=list)
    new: list[str] = field(default_factory=list)
    end_of_file: bool = False
    line: int = 0
    """Line of the patch text where the hunk starts (1-based), for error messages."""


@dataclass
class FileOp:
    kind: Literal["add", "delete", "update"]
    path: str
    move_to: str | None = None
    content: list[str] = field(default_factory=list)
    hunks: list[Hunk] = field(default_factory=list)


class PatchError(ToolError):
    pass


def parse_patch(text: str) -> list[FileOp]:
    """The file operations of a patch; a `PatchError` naming the line when the text is malformed."""
    text = text.replace("\r\n", "\n").strip()
    fence = re.fullmatch(r"```[\w-]*\n(.*)\n```", text, re.S)
    if fence:
        text = fence.group(1).strip()
    heredoc = _HEREDOC.match(text)
    if heredoc:
        text = heredoc.group(2).strip()
    lines = text.split("\n")
    try:
        begin = next(i for i, line in enumerate(lines) if line.strip() == BEGIN)
    except StopIteration:
        raise PatchError(f"The patch must start with a line '{BEGIN}' and end with '{END}'.")
    try:
        end = next(i for i in range(len(lines) - 1, begin, -1) if lines[i].strip() == END)
    except StopIteration:
        raise PatchError(f"The patch has no '{END}' line (was it cut off?); nothing was applied.")

    ops: list[FileOp] = []
    i = begin + 1
    while i < end:
        line = lines[i]
        number = i + 1
        if not line.strip():
            i += 1
            continue
        header = next((h for h in _HEADERS if line.startswith(h)), None)
        if header is None:
            raise PatchError(
                f"Patch line {number}: expected '*** Add File:', '*** Update File:' or '*** Delete File:', "
                f"got {line!r}."
            )
        path = line[len(header) :].strip()
        if not path:
            raise PatchError(f"Patch line {number}: the file path is missing after {header!r}.")
        i += 1
        if header == "*** Delete File:":
            ops.append(FileOp("delete", path))
        elif header == "*** Add File:":
            op = FileOp("add", path)
            while i < end and not lines[i].startswith("*** "):
                if lines[i].startswith("+"):
                    op.content.append(lines[i][1:])
                elif lines[i].strip():
                    raise PatchError(
                        f"Patch line {i + 1}: every line of an added file must start with '+', got {lines[i]!r}."
                    )
                elif _more_content(lines, i + 1, end):
                    op.content.append("")  # a blank line inside the content, its '+' lost
                i += 1
            ops.append(op)
        else:
            op = FileOp("update", path)
            if i < end and lines[i].startswith("*** Move to:"):
                op.move_to = lines[i][len("*** Move to:") :].strip()
                if not op.move_to:
                    raise PatchError(f"Patch line {i + 1}: the path is missing after '*** Move to:'.")
                i += 1
            i = _parse_hunks(lines, i, end, op)
            if not op.hunks and not op.move_to:
                raise PatchError(f"Patch line {number}: '*** Update File: {path}' has no hunks.")
            ops.append(op)
    if not ops:
        raise PatchError("The patch has no file sections, so there is nothing to apply.")
    return ops


def _more_content(lines: list[str], i: int, end: int) -> bool:
    """Whether an added file's section has another '+' line from line i on."""
    while i < end and not lines[i].startswith("*** "):
        if lines[i].startswith("+"):
            return True
        i += 1
    return False


def _parse_hunks(lines: list[str], i: int, end: int, op: FileOp) -> int:
    hunk: Hunk | None = None
    while i < end:
        line = lines[i]
        if line.startswith(_HEADERS) or line.startswith("*** Move to:"):
            break
        if line.startswith("@@"):
            unified = _UNIFIED_HEADER.match(line)
            context = (unified.group(1) if unified else line[2:]).strip()
            hunk = Hunk(context or None, line=i + 1)
            op.hunks.append(hunk)
        elif line.strip() == "*** End of File":
            if hunk is None:
                raise PatchError(f"Patch line {i + 1}: '*** End of File' outside a hunk.")
            hunk.end_of_file = True
            hunk = None
        elif line.startswith("\\"):
            pass  # "\ No newline at end of file", from diff tools
        elif line[:1] in (" ", "-", "+", ""):
            if hunk is None:
                hunk = Hunk(None, line=i + 1)
                op.hunks.append(hunk)
            if line[:1] in (" ", ""):
                hunk.old.append(line[1:])
                hunk.new.append(line[1:])
            elif line[0] == "-":
                hunk.old.append(line[1:])
            else:
                hunk.new.append(line[1:])
        else:
            raise PatchError(
                f"Patch line {i + 1} (in {op.path}): a hunk line must start with ' ' (context), '-' (remove) or "
                f"'+' (add), got {line!r}."
            )
        i += 1
    for hunk_ in op.hunks:
        # Blank lines between hunks or before the next header are not context.
        while hunk_.old and hunk_.new and hunk_.old[-1] == "" and hunk_.new[-1] == "" and not hunk_.end_of_file:
            hunk_.old.pop()
            hunk_.new.pop()
    return i


@dataclass
class _Change:
    kind: Literal["add", "update", "delete", "move"]
    path: Path
    target: Path
    before: str
    after: str
    matchers: list[str] = field(default_factory=list)
    similarity: float = 1.0


class ApplyPatchTool(Tool[ApplyPatchParams]):
    name = "apply_patch"
    params = ApplyPatchParams
    description_file = "apply_patch.txt"

    async def run(self, params: ApplyPatchParams, ctx: ToolContext) -> ToolResult:
        ops = parse_patch(params.patchText)
        paths: list[Path] = []
        for op in ops:
            paths.append(ctx.resolve(op.path))
            if op.move_to:
                paths.append(ctx.resolve(op.move_to))
        touched = list(dict.fromkeys(paths))
        async with AsyncExitStack() as stack:
            for path in sorted(touched, key=str):
                await stack.enter_async_context(path_lock(path))
            return await self._apply(ops, touched, ctx)
        raise AssertionError("unreachable")

    async def _apply(self, ops: list[FileOp], touched: list[Path], ctx: ToolContext) -> ToolResult:
        disk: dict[Path, bytes | None] = {}
        forms: dict[Path, TextForm] = {}
        state: dict[Path, str | None] = {}
        changes: list[_Change] = []

        async def current(path: Path, fresh: bool) -> str | None:
            """The file's text as the patch has left it so far (None: absent); read-before-write if `fresh`."""
            if path in state:
                return state[path]
            raw = await asyncio.to_thread(_read, path)
            disk[path] = raw
            if raw is None:
                state[path] = None
                return None
            if fresh:
                check_fresh(ctx, path, raw)
            text, forms[path] = decode_text(raw, path)
            state[path] = text
            return text

        for op in ops:
            ctx.check_abort()
            path = ctx.resolve(op.path)
            text = await current(path, op.kind != "add")
            if op.kind == "add":
                if text is not None:
                    raise ToolError(
                        f"*** Add File: {op.path}: {path} already exists; use '*** Update File:' to change it (after "
                        "reading it). Nothing was applied."
                    )
                after = "\n".join(op.content) + "\n" if op.content else ""
                state[path] = after
                changes.append(_Change("add", path, path, "", after))
                continue
            if text is None:
                verb = "delete" if op.kind == "delete" else "update"
                raise ToolError(f"Cannot {verb} {path}: the file does not exist. Nothing was applied.")
            if op.kind == "delete":
                state[path] = None
                changes.append(_Change("delete", path, path, text, ""))
                continue
            after, matchers, similarity = apply_hunks(text, op, path)
            target = ctx.resolve(op.move_to) if op.move_to else path
            if target != path:
                existing = await current(target, False)
                if existing is not None:
                    raise ToolError(
                        f"*** Move to: {op.move_to}: {target} already exists; nothing was applied. Move to a new path, "
                        "or delete that file first."
                    )
                forms[target] = forms.get(path, TextForm())
                state[path] = None
            state[target] = after
            kind: Literal["update", "move"] = "move" if target != path else "update"
            changes.append(_Change(kind, path, target, text, after, matchers, similarity))

        diff = "".join(
            unified_diff(c.before, c.after, relative(c.target, ctx.root)) for c in changes if c.before != c.after
        )
        titles = [relative(path, ctx.root) for path in touched]
        metadata: dict[str, Any] = {"diff": diff, "files": [str(path) for path in touched]}
        if len(touched) == 1:
            metadata["filePath"] = str(touched[0])
        await ctx.ask(PermissionRequest("edit", titles, f"Patch {', '.join(titles)}", metadata, ["*"]))
        ctx.check_abort()

        written = await _write_all(touched, disk, state, forms)
        for path, data in written.items():
            if data is None:
                ctx.file_times.forget(path)
            else:
                ctx.file_times.record(path, data)
        return _result(changes, list(written), ctx)


def _read(path: Path) -> bytes | None:
    if path.is_dir():
        raise ToolError(f"{path} is a directory; the patch can only change files. Nothing was applied.")
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None


def apply_hunks(text: str, op: FileOp, path: Path) -> tuple[str, list[str], float]:
    """The file's text after the op's hunks, in order; a `ToolError` naming the hunk when one does not fit."""
    doc = Document(text)
    real = len(doc.lines) - (1 if doc.view.endswith("\n") or not doc.view else 0)
    position = 0
    placements: list[Placement] = []
    matchers: list[str] = []
    similarity = 1.0
    for number, hunk in enumerate(op.hunks, start=1):
        where = f"{path}, hunk {number} (patch line {hunk.line})"
        if hunk.context is not None:
            found = line_matches(doc, hunk.context, position, real)
            if not found:
                region = closest_region(doc, [hunk.context], "the @@ line")
                raise ToolError(
                    f"{where}: the @@ line {hunk.context!r} was not found after the previous hunk. Nothing was "
                    f"applied. Give an @@ line copied from the file (or none).{_then(region)}"
                )
            position = found[0] + 1
        if not hunk.old:
            if hunk.new:
                at = position if hunk.context is not None else real
                placements.append(_insertion(doc, at, real, hunk.new))
                matchers.append("insert")
            continue
        name, windows = block_windows(doc, hunk.old, position, real)
        if hunk.end_of_file:
            windows = [w for w in windows if w.stop == real] or windows
        if not windows:
            region = closest_region(doc, hunk.old, "the hunk")
            raise ToolError(
                f"{where}: its context and '-' lines were not found (after the previous hunk), not even with "
                "whitespace, indentation or quotes forgiven. Nothing was applied. Copy them exactly from the file; "
                f"read it again if it may have changed.{_then(region)}"
            )
        if len(windows) > 1 and hunk.context is None and not hunk.end_of_file:
            lines = ", ".join(str(w.start + 1) for w in windows[:20])
            raise ToolError(
                f"{where}: its context and '-' lines fit {len(windows)} places (lines {lines}); nothing was applied. "
                "Add more context lines, or an '@@ line' naming the enclosing function or class."
            )
        window = windows[0]
        try:
            placement = place(doc, window, hunk.old, hunk.new, True, True, name, "the hunk")
        except EditError as exc:
            raise ToolError(f"{where}: {exc}")
        placements.append(placement)
        matchers.append(placement.matcher)
        similarity = min(similarity, placement.similarity)
        position = window.stop
    return doc.apply(placements), matchers, round(similarity, 3)


def _then(region: str) -> str:
    return f"\n\n{region}" if region else ""


def _insertion(doc: Document, at: int, real: int, new: list[str]) -> Placement:
    body = "\n".join(new)
    if at < real:
        start = doc.starts[at]
        return Placement(start, start, body + "\n", at, "insert", 1.0)
    end = len(doc.view)
    if doc.view and not doc.view.endswith("\n"):
        return Placement(end, end, "\n" + body, real, "insert", 1.0)
    return Placement(end, end, body + "\n", real, "insert", 1.0)


async def _write_all(
    touched: list[Path], disk: dict[Path, bytes | None], state: dict[Path, str | None], forms: dict[Path, TextForm]
) -> dict[Path, bytes | None]:
    """Write or delete every changed file; on a failure, put back what was done and raise `ToolError`."""
    done: dict[Path, bytes | None] = {}
    try:
        for path in touched:
            after = state.get(path)
            before = disk.get(path)
            if after is None:
                if before is not None:
                    await asyncio.to_thread(path.unlink)
                    done[path] = None
                continue
            data = forms.get(path, TextForm()).encode(after)
            if data != before:
                await asyncio.to_thread(write_atomic, path, data)
                done[path] = data
    except OSError as exc:
        restored = await _restore(done, disk)
        raise ToolError(f"Writing the patch failed ({type(exc).__name__}: {exc}); {restored}, so no file was changed.")
    return done


async def _restore(done: dict[Path, bytes | None], disk: dict[Path, bytes | None]) -> str:
    failed: list[str] = []
    for path in done:
        before = disk.get(path)
        try:
            if before is None:
                await asyncio.to_thread(path.unlink, True)
            else:
                await asyncio.to_thread(write_atomic, path, before)
        except OSError:
            failed.append(str(path))
    if failed:
        return f"the files written before were restored except {', '.join(failed)}"
    return "the files written before it were restored" if done else "nothing had been written yet"


def _result(changes: list[_Change], written: list[Path], ctx: ToolContext) -> ToolResult:
    summary: list[str] = []
    diffs: list[str] = []
    additions = deletions = 0
    notes: list[str] = []
    details: list[dict[str, Any]] = []
    for change in changes:
        shown = relative(change.target, ctx.root)
        letter = {"add": "A", "delete": "D", "update": "M", "move": "M"}[change.kind]
        summary.append(
            f"{letter} {shown}" + (f" (moved from {relative(change.path, ctx.root)})" if change.kind == "move" else "")
        )
        tolerant = [m for m in change.matchers if m not in ("exact", "insert")]
        if tolerant:
            notes.append(
                f"{shown}: some hunks did not match exactly; matched by {', '.join(dict.fromkeys(tolerant))} "
                f"(lowest similarity {change.similarity:.2f}). Read the file if unsure of the result."
            )
        file_diff = unified_diff(change.before, change.after, shown)
        added, removed = diff_stats(file_diff) if file_diff else (0, 0)
        diffs.append(file_diff)
        additions += added
        deletions += removed
        details.append(
            {
                "filePath": str(change.path),
                "type": change.kind,
                **({"movePath": str(change.target)} if change.kind == "move" else {}),
                "additions": added,
                "deletions": removed,
                "matchers": change.matchers,
            }
        )
    output = "Success. Updated the following files:\n" + "\n".join(summary)
    if notes:
        output += "\n\n" + "\n".join(notes)
    similarities = [c.similarity for c in changes]
    matchers = [m for c in changes for m in c.matchers]
    metadata: dict[str, Any] = {
        "files": [str(path) for path in written],
        "changes": details,
        "diff": "".join(diffs),
        "additions": additions,
        "deletions": deletions,
        "matcher": next((m for m in matchers if m not in ("exact", "insert")), "exact"),
        "similarity": min(similarities, default=1.0),
    }
    title = ", ".join(dict.fromkeys(relative(c.target, ctx.root) for c in changes))
    return ToolResult(output, title, metadata)
