"""The `edit` tool: replace a piece of a file with new text, forgiving the model's small slips.

The same read-before-write rule as `write` applies (`check_fresh`). `oldString` is found by
`opencode.tool.matching`: exactly first, then by tolerant matchers (whitespace, indentation,
blank lines, quotes, escapes, read's line-number prefixes, similar blocks). A tolerant match must
be unique and must not touch lines the model did not mean to change; the result names the
matcher and its similarity. Refusals say why: several places (their lines), nothing close enough
(the closest lines, numbered, with a per-line diff), or the change already in place. `newString`
goes in literally, re-indented only when the match was.

The file keeps its form: line endings (new text takes the file's dominant ending, other lines
keep theirs), a byte order mark and UTF-16 encoding, and its permission bits. An empty
`oldString` creates a file that does not exist yet (or fills an empty one).

`decode_text` and `TextForm` are shared with multiedit and apply_patch.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, Field

from opencode.tool.matching import Applied, EditError, apply_edit
from opencode.tool.read import relative
from opencode.tool.tool import PermissionRequest, Tool, ToolContext, ToolError, ToolResult
from opencode.tool.write import check_fresh, diff_stats, path_lock, unified_diff, write_atomic

MAX_SHOWN_LINES = 12
_BOMS = ((b"\xef\xbb\xbf", "utf-8"), (b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be"))


class EditParams(BaseModel):
    filePath: str = Field(description="Path of the file to change: absolute, or relative to the working directory")
    oldString: str = Field(description="The text to replace, copied from the file (without line-number prefixes)")
    newString: str = Field(description="The text to put in its place (must differ from oldString)")
    replaceAll: bool = Field(False, description="Replace every occurrence of oldString (default false)")


@dataclass(frozen=True)
class TextForm:
    """How a file's text is stored: its byte order mark and encoding."""

    bom: bytes = b""
    encoding: str = "utf-8"

    def encode(self, text: str) -> bytes:
        return self.bom + text.encode(self.encoding)


def decode_text(raw: bytes, path: Path) -> tuple[str, TextForm]:
    """A file's text and form; a `ToolError` when it is not text edit can change safely."""
    form = TextForm()
    for bom, encoding in _BOMS:
        if raw.startswith(bom):
            form = TextForm(bom, encoding)
            break
    try:
        return raw[len(form.bom) :].decode(form.encoding), form
    except UnicodeDecodeError:
        raise ToolError(f"{path} is not UTF-8 (or UTF-16 with a byte order mark) text, so it cannot be edited safely.")


async def read_for_edit(ctx: ToolContext, path: Path) -> tuple[bool, str, TextForm]:
    """Whether `path` exists, its text and its form; refused if it changed since the model read it."""
    try:
        raw = await asyncio.to_thread(path.read_bytes)
    except FileNotFoundError:
        return False, "", TextForm()
    check_fresh(ctx, path, raw)
    text, form = decode_text(raw, path)
    return True, text, form


async def save_edit(ctx: ToolContext, path: Path, title: str, before: str, after: str, form: TextForm) -> str:
    """Ask the `edit` permission with the diff, write `after` in the file's own form (atomically) and
    record it as read; returns the diff. Call it holding `path_lock(path)`."""
    diff = unified_diff(before, after, title)
    await ctx.ask(PermissionRequest("edit", [title], f"Edit {title}", {"filePath": str(path), "diff": diff}, ["*"]))
    data = form.encode(after)
    await asyncio.to_thread(write_atomic, path, data)
    ctx.file_times.record(path, data)
    return diff


class EditTool(Tool[EditParams]):
    name = "edit"
    params = EditParams
    description_file = "edit.txt"

    async def run(self, params: EditParams, ctx: ToolContext) -> ToolResult:
        if params.oldString == params.newString:
            raise ToolError("oldString and newString are identical, so there is nothing to change.")
        path = ctx.resolve(params.filePath)
        title = relative(path, ctx.root)
        if path.is_dir():
            raise ToolError(f"{path} is a directory; give the path of a file to edit.")

        applied: Applied | None = None
        async with path_lock(path):
            existed, text, form = await read_for_edit(ctx, path)
            if not existed and params.oldString:
                raise ToolError(
                    f"File not found: {path}. To create a file, use the write tool (or edit with an empty oldString)."
                )
            if not params.oldString:
                if text:
                    raise ToolError(
                        f"oldString is empty but {path} already has content. Give the text to replace, "
                        "or use the write tool to replace the whole file."
                    )
                updated = params.newString
            else:
                try:
                    applied = apply_edit(text, params.oldString, params.newString, params.replaceAll)
                except EditError as exc:
                    raise ToolError(f"Could not edit {path}: {exc}")
                updated = applied.text

            diff = await save_edit(ctx, path, title, text, updated, form)

        additions, deletions = diff_stats(diff)
        metadata = {
            "filePath": str(path),
            "diff": diff,
            "additions": additions,
            "deletions": deletions,
            "matcher": applied.matcher if applied else "create",
            "similarity": applied.similarity if applied else 1.0,
        }
        if applied is None:
            output = f"Created {path}." if not existed else f"Wrote {path} (it was empty)."
            return ToolResult(output, title, metadata)
        metadata["replacements"] = applied.count
        return ToolResult(report(applied, updated), title, metadata)


def report(applied: Applied, updated: str) -> str:
    """The result for the model: what matched, and for a tolerant match the lines as they now are."""
    note = applied.describe()
    if not note:
        output = "Edit applied successfully (exact match)."
        return output + (f" Replaced {applied.count} occurrences." if applied.count > 1 else "")
    output = f"Edit applied successfully. {note}"
    if applied.count > 1:
        output += f" Replaced {applied.count} occurrences."
    return output + "\n\n" + shown(updated, applied.after)


def shown(text: str, regions: list[tuple[int, int]]) -> str:
    """The changed lines as they now read, numbered like the read tool's output."""
    lines = text.replace("\r\n", "\n").split("\n")
    parts: list[str] = []
    budget = MAX_SHOWN_LINES
    for first, size in regions:
        if budget <= 0:
            parts.append("(more changes not shown)")
            break
        if size == 0:
            parts.append(f"(lines removed before line {first})")
            continue
        last = first + size - 1
        numbered = [f"{n}: {lines[n - 1]}" for n in range(first, min(last, first + budget - 1) + 1) if n <= len(lines)]
        budget -= len(numbered)
        more = f"\n... ({last - first + 1 - len(numbered)} more lines)" if len(numbered) < size else ""
        where = f"Line {first} now reads:" if size == 1 else f"Lines {first}-{last} now read:"
        parts.append(where + "\n" + "\n".join(numbered) + more)
    return "\n\n".join(parts)
