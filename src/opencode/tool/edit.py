"""The `edit` tool: replace an exact piece of a file with new text.

The same read-before-write rule as `write` applies (`check_fresh`). Matching is exact for now:
`oldString` must occur in the file as given, once, unless `replaceAll` asks for every
occurrence. When it does not occur, the refusal shows the file's closest lines with their
numbers; when it occurs several times, it names the lines. `newString` goes in literally.

The file keeps its form: line endings (`oldString` and `newString` are converted to the file's
dominant ending, so a model that writes `\\n` can edit a CRLF file), a UTF-8 byte order mark, and
its permission bits. An empty `oldString` creates a file that does not exist yet (or fills an
empty one).
"""

from __future__ import annotations

import asyncio
import difflib
from pathlib import Path

from pydantic import BaseModel, Field

from opencode.tool.read import relative
from opencode.tool.tool import PermissionRequest, Tool, ToolContext, ToolError, ToolResult
from opencode.tool.write import check_fresh, diff_stats, path_lock, unified_diff, write_atomic

BOM = b"\xef\xbb\xbf"
MAX_LISTED = 20
MAX_REGION_LINES = 20
MAX_SCAN_LINES = 20000


class EditParams(BaseModel):
    filePath: str = Field(description="Path of the file to change: absolute, or relative to the working directory")
    oldString: str = Field(description="The exact text to replace, as it is in the file (without line numbers)")
    newString: str = Field(description="The text to put in its place (must differ from oldString)")
    replaceAll: bool = Field(False, description="Replace every occurrence of oldString (default false)")


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

        async with path_lock(path):
            existed = path.exists()
            raw = b""
            if existed:
                raw = await asyncio.to_thread(path.read_bytes)
                check_fresh(ctx, path, raw)
            elif params.oldString:
                raise ToolError(
                    f"File not found: {path}. To create a file, use the write tool (or edit with an empty oldString)."
                )
            bom = raw.startswith(BOM)
            try:
                text = raw[len(BOM) :].decode("utf-8") if bom else raw.decode("utf-8")
            except UnicodeDecodeError:
                raise ToolError(f"{path} is not UTF-8 text, so edit cannot change it safely.")

            ending = dominant_ending(text)
            new = to_ending(params.newString, ending)
            if params.oldString:
                updated, count = replace(text, to_ending(params.oldString, ending), new, params.replaceAll, path)
            elif text:
                raise ToolError(
                    f"oldString is empty but {path} already has content. Give the exact text to replace, "
                    "or use the write tool to replace the whole file."
                )
            else:
                updated, count = new, 1

            diff = unified_diff(text, updated, title)
            await ctx.ask(
                PermissionRequest("edit", [title], f"Edit {title}", {"filePath": str(path), "diff": diff}, ["*"])
            )
            data = (BOM if bom else b"") + updated.encode("utf-8")
            await asyncio.to_thread(write_atomic, path, data)
            ctx.file_times.record(path, data)

        additions, deletions = diff_stats(diff)
        output = "Edit applied successfully." if existed else f"Created {path}."
        if count > 1:
            output += f" Replaced {count} occurrences."
        metadata = {"filePath": str(path), "diff": diff, "additions": additions, "deletions": deletions}
        return ToolResult(output, title, metadata)


def dominant_ending(text: str) -> str:
    crlf = text.count("\r\n")
    return "\r\n" if crlf > text.count("\n") - crlf else "\n"


def to_ending(text: str, ending: str) -> str:
    text = text.replace("\r\n", "\n")
    return text.replace("\n", ending) if ending != "\n" else text


def find_all(text: str, needle: str) -> list[int]:
    """Start offsets of the non-overlapping occurrences, as str.replace would see them."""
    found: list[int] = []
    start = text.find(needle)
    while start != -1:
        found.append(start)
        start = text.find(needle, start + len(needle))
    return found


def replace(text: str, old: str, new: str, every: bool, path: Path) -> tuple[str, int]:
    found = find_all(text, old)
    if not found:
        raise ToolError(not_found(text, old, path))
    if len(found) > 1 and not every:
        numbers = [text.count("\n", 0, start) + 1 for start in found[:MAX_LISTED]]
        listed = ", ".join(str(n) for n in numbers) + (", ..." if len(found) > MAX_LISTED else "")
        raise ToolError(
            f"oldString occurs {len(found)} times in {path} (starting at lines {listed}). Include more of the "
            "surrounding lines in oldString so that it matches one place only, or set replaceAll to true to "
            "change every occurrence."
        )
    if every:
        return text.replace(old, new), len(found)
    start = found[0]
    # Slicing rather than re.sub: newString goes in literally, backslashes and $ included.
    return text[:start] + new + text[start + len(old) :], 1


def not_found(text: str, old: str, path: Path) -> str:
    message = (
        f"oldString was not found in {path}. It must match the file exactly, including whitespace, indentation "
        "and line breaks, and must not include the line-number prefixes of the read output. If the file may "
        "have changed, read it again."
    )
    region = closest_region(text, old)
    return f"{message}\n\n{region}" if region else message


def closest_region(text: str, old: str) -> str:
    """The file's lines that look most like `old`, numbered; empty when nothing is close."""
    lines = text.replace("\r\n", "\n").split("\n")
    wanted = [line.strip() for line in old.replace("\r\n", "\n").split("\n")]
    while wanted and not wanted[-1]:
        wanted.pop()
    anchor = next((line for line in wanted if line), "")
    if not anchor or len(lines) > MAX_SCAN_LINES:
        return ""
    stripped = [line.strip() for line in lines]
    close = difflib.get_close_matches(anchor, stripped, n=3, cutoff=0.6)
    starts = [i for i, line in enumerate(stripped) if line in close][:50]
    if not starts:
        return ""
    offset = wanted.index(anchor)
    size = len(wanted)
    target = "\n".join(wanted)

    def score(start: int) -> float:
        window = stripped[max(0, start - offset) : max(0, start - offset) + size]
        return difflib.SequenceMatcher(None, "\n".join(window), target).ratio()

    best = max(starts, key=score)
    first = max(0, best - offset)
    window = lines[first : first + min(size, MAX_REGION_LINES)]
    numbered = "\n".join(f"{first + 1 + i}: {line}" for i, line in enumerate(window))
    last = first + len(window)
    if [line.strip() for line in window] == wanted[: len(window)] and len(window) == size:
        head = f"Lines {first + 1}-{last} have the same text but different whitespace or indentation:"
    else:
        head = f"The closest text is at lines {first + 1}-{last}:"
    return f"{head}\n{numbered}"
