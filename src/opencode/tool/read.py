"""The `read` tool: a file's lines, numbered, a page at a time.

Output follows opencode's current format: the path, then the lines as `N: text` (N counts from
1), then a footer that says whether the file goes on and which `offset` continues it. A page holds
at most `limit` lines (2000 by default) and 50 KB; a line longer than 2000 characters is cut with
a marker. Images and PDFs come back as attachments; other binary files are refused; a directory
is refused with a pointer to `list`; a missing file gets up to three similar names from its
directory. Every successful read is recorded in the session's file times (the whole file, not
only the page shown), which is what lets `write` and `edit` change the file afterwards.

This tool pages its own output, so the registry does not cap it again (`caps_output`).
"""

from __future__ import annotations

import asyncio
import difflib
from pathlib import Path
from typing import ClassVar

from pydantic import BaseModel, Field

from opencode.tool.tool import Attachment, PermissionRequest, Tool, ToolContext, ToolError, ToolResult

DEFAULT_LIMIT = 2000
MAX_LINE_CHARS = 2000
MAX_PAGE_BYTES = 50 * 1024
MAX_ATTACHMENT_BYTES = 20 * 1024 * 1024
SAMPLE_BYTES = 4096
LINE_CUT = f"... (line truncated to {MAX_LINE_CHARS} chars)"

ATTACHMENT_TYPES = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
    ".pdf": "application/pdf",
}
# fmt: off
BINARY_EXTENSIONS = frozenset({
    ".zip", ".tar", ".gz", ".tgz", ".bz2", ".xz", ".zst", ".7z", ".rar", ".exe", ".dll", ".so",
    ".dylib", ".class", ".jar", ".war", ".doc", ".docx", ".xls", ".xlsx", ".ppt", ".pptx", ".odt", ".ods",
    ".odp", ".bin", ".dat", ".obj", ".o", ".a", ".lib", ".wasm", ".pyc", ".pyo", ".whl", ".sqlite",
    ".db", ".ico", ".bmp", ".tiff", ".mp3", ".mp4", ".mov", ".avi", ".wav", ".flac", ".ogg", ".woff",
    ".woff2", ".ttf", ".otf", ".eot",
})
# fmt: on


class ReadParams(BaseModel):
    filePath: str = Field(description="Path of the file to read: absolute, or relative to the working directory")
    offset: int = Field(
        1, ge=0, description="Line number to start from (1 is the first line); omit to start at the top"
    )
    limit: int = Field(DEFAULT_LIMIT, ge=1, description="Maximum number of lines to return (default 2000)")


class ReadTool(Tool[ReadParams]):
    name = "read"
    params = ReadParams
    description_file = "read.txt"
    caps_output: ClassVar[bool] = True

    async def run(self, params: ReadParams, ctx: ToolContext) -> ToolResult:
        path = ctx.resolve(params.filePath)
        title = relative(path, ctx.root)
        await ctx.ask(PermissionRequest("read", [str(path)], f"Read {title}", {"filePath": str(path)}, ["*"]))
        if not path.exists():
            raise ToolError(_missing(path))
        if path.is_dir():
            raise ToolError(f"{path} is a directory, not a file. Use the list tool to see what it contains.")

        mime = ATTACHMENT_TYPES.get(path.suffix.lower())
        if mime is not None:
            return await _attachment(path, mime, title, ctx)

        data = await asyncio.to_thread(path.read_bytes)
        if path.suffix.lower() in BINARY_EXTENSIONS or looks_binary(data[:SAMPLE_BYTES]):
            raise ToolError(f"Cannot read binary file: {path}. Use the bash tool with a suitable command if needed.")
        ctx.file_times.record(path, data)
        return _page(path, title, data, params)


def _page(path: Path, title: str, data: bytes, params: ReadParams) -> ToolResult:
    text = data.decode("utf-8", errors="replace").removeprefix("\ufeff")
    lines = text.split("\n")
    if text.endswith("\n"):
        lines.pop()
    total = len(lines) if text else 0
    start = max(params.offset, 1)
    if total == 0:
        output = f"<path>{path}</path>\n<type>file</type>\n<content>\n(The file is empty.)\n</content>"
        return ToolResult(output, title, {"preview": "", "truncated": False, "lines": 0})
    if start > total:
        raise ToolError(f"offset {start} is beyond the end of {path}, which has {total} lines.")

    shown: list[str] = []
    used = 0
    cut_by_bytes = False
    for number in range(start, min(total, start - 1 + params.limit) + 1):
        line = lines[number - 1].removesuffix("\r")
        if len(line) > MAX_LINE_CHARS:
            line = line[:MAX_LINE_CHARS] + LINE_CUT
        entry = f"{number}: {line}"
        size = len(entry.encode("utf-8")) + 1
        if shown and used + size > MAX_PAGE_BYTES:
            cut_by_bytes = True
            break
        shown.append(entry)
        used += size

    last = start + len(shown) - 1
    more = last < total
    if cut_by_bytes:
        footer = f"(Output capped at {MAX_PAGE_BYTES // 1024} KB. Showing lines {start}-{last} of {total}."
        footer += f" Use offset={last + 1} to continue.)"
    elif more:
        footer = f"(Showing lines {start}-{last} of {total}. Use offset={last + 1} to continue.)"
    else:
        footer = f"(End of file - total {total} lines)"
    body = "\n".join(shown)
    output = f"<path>{path}</path>\n<type>file</type>\n<content>\n{body}\n\n{footer}\n</content>"
    preview = "\n".join(lines[start - 1 : start + 19])
    return ToolResult(output, title, {"preview": preview, "truncated": more, "lines": total})


async def _attachment(path: Path, mime: str, title: str, ctx: ToolContext) -> ToolResult:
    size = (await asyncio.to_thread(path.stat)).st_size
    if size > MAX_ATTACHMENT_BYTES:
        raise ToolError(f"{path} is {size // (1024 * 1024)} MB; files over 20 MB cannot be attached.")
    data = await asyncio.to_thread(path.read_bytes)
    ctx.file_times.record(path, data)
    kind = "PDF" if mime == "application/pdf" else "Image"
    message = f"{kind} read successfully: {path} ({len(data)} bytes, attached)"
    return ToolResult(
        message,
        title,
        {"preview": message, "truncated": False, "mime": mime},
        attachments=[Attachment(mime=mime, data=data, filename=path.name)],
    )


def looks_binary(sample: bytes) -> bool:
    """A NUL byte, or more than 30% control characters other than whitespace, means binary."""
    if not sample:
        return False
    if b"\0" in sample:
        return True
    control = sum(1 for byte in sample if byte < 9 or 13 < byte < 32)
    return control / len(sample) > 0.3


def _missing(path: Path) -> str:
    message = f"File not found: {path}"
    try:
        names = [entry.name for entry in path.parent.iterdir()]
    except OSError:
        return message
    wanted = path.name.lower()
    lowered = {name.lower(): name for name in names}
    close = [lowered[name] for name in difflib.get_close_matches(wanted, list(lowered), n=3, cutoff=0.6)]
    # A name that contains the other (config.ts vs config.test.ts) is a likely slip too.
    for name in sorted(names):
        if len(close) >= 3:
            break
        if name not in close and len(name) >= 3 and (wanted in name.lower() or name.lower() in wanted):
            close.append(name)
    if not close:
        return message
    return message + "\n\nDid you mean one of these?\n" + "\n".join(str(path.parent / name) for name in close)


def relative(path: Path, root: Path) -> str:
    """`path` as the faces show it: relative to the project root when inside it, else absolute."""
    try:
        return path.relative_to(root).as_posix() or "."
    except ValueError:
        return str(path)
