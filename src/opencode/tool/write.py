"""The `write` tool, and the checks and file writing it shares with `edit`.

An existing file may only be overwritten if the model read it in this session and it has not
changed on disk since (`check_fresh` compares content hashes with the session's file times).
When it changed, the refusal shows a unified diff of what changed since the read, so the model
can take the change into account without guessing. Files are written atomically: the new
content goes to a temporary file in the same directory, which then replaces the old one, keeping
its permission bits. A per-path lock keeps two concurrent calls on one file from interleaving.
"""

from __future__ import annotations

import asyncio
import difflib
import hashlib
import os
import tempfile
import weakref
from pathlib import Path

from pydantic import BaseModel, Field

from opencode.tool.read import relative
from opencode.tool.tool import PermissionRequest, Tool, ToolContext, ToolError, ToolResult

MAX_CHANGE_LINES = 80
MAX_CHANGE_BYTES = 8 * 1024

_locks: weakref.WeakValueDictionary[Path, asyncio.Lock] = weakref.WeakValueDictionary()


class WriteParams(BaseModel):
    filePath: str = Field(description="Path of the file to write: absolute, or relative to the working directory")
    content: str = Field(description="The complete new content of the file")


class WriteTool(Tool[WriteParams]):
    name = "write"
    params = WriteParams
    description_file = "write.txt"

    async def run(self, params: WriteParams, ctx: ToolContext) -> ToolResult:
        path = ctx.resolve(params.filePath)
        title = relative(path, ctx.root)
        if path.is_dir():
            raise ToolError(f"{path} is a directory; give the path of a file to write.")
        async with path_lock(path):
            existed = path.exists()
            old = b""
            if existed:
                old = await asyncio.to_thread(path.read_bytes)
                check_fresh(ctx, path, old)
            new = params.content.encode("utf-8")
            diff = unified_diff(decode(old), params.content, title)
            verb = "Overwrite" if existed else "Create"
            await ctx.ask(
                PermissionRequest("edit", [title], f"{verb} {title}", {"filePath": str(path), "diff": diff}, ["*"])
            )
            await asyncio.to_thread(write_atomic, path, new)
            ctx.file_times.record(path, new)
        additions, deletions = diff_stats(diff)
        output = f"Wrote {path}." if existed else f"Created {path}."
        metadata = {
            "filePath": str(path),
            "existed": existed,
            "diff": diff,
            "additions": additions,
            "deletions": deletions,
        }
        return ToolResult(output, title, metadata)


def path_lock(path: Path) -> asyncio.Lock:
    """One lock per file, shared by write and edit, dropped when no call holds it."""
    lock = _locks.get(path)
    if lock is None:
        lock = asyncio.Lock()
        _locks[path] = lock
    return lock


def check_fresh(ctx: ToolContext, path: Path, current: bytes) -> None:
    """Refuse to change `path` unless the model read it and it is unchanged since."""
    record = ctx.file_times.get(path)
    if record is None:
        raise ToolError(
            f"You must read {path} with the read tool before changing it, so that you know what it contains. "
            "Read it, then try again."
        )
    if hashlib.sha256(current).hexdigest() == record.digest:
        return
    message = (
        f"{path} has changed on disk since you last read it (the user, a formatter or another tool changed it). "
        "Read it again and base your change on the current content."
    )
    if record.content is None:
        raise ToolError(message + " (The file is too large to show what changed.)")
    change = cap_diff(unified_diff(decode(record.content), decode(current), str(path)))
    raise ToolError(f"{message}\n\nWhat changed since your read:\n{change}")


def decode(data: bytes) -> str:
    return data.decode("utf-8", errors="replace")


def unified_diff(old: str, new: str, label: str) -> str:
    """A unified diff of two texts, line endings normalised, git's marker for a missing final newline."""
    old_lines = old.replace("\r\n", "\n").splitlines(keepends=True)
    new_lines = new.replace("\r\n", "\n").splitlines(keepends=True)
    out: list[str] = []
    for line in difflib.unified_diff(old_lines, new_lines, f"a/{label}", f"b/{label}"):
        out.append(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n")
    return "".join(out)


def cap_diff(diff: str) -> str:
    lines = diff.splitlines()
    kept: list[str] = []
    size = 0
    for line in lines:
        if len(kept) >= MAX_CHANGE_LINES or size + len(line) + 1 > MAX_CHANGE_BYTES:
            kept.append(f"... ({len(lines) - len(kept)} more diff lines not shown)")
            break
        kept.append(line)
        size += len(line) + 1
    return "\n".join(kept)


def diff_stats(diff: str) -> tuple[int, int]:
    """Lines added and removed, from a unified diff."""
    additions = deletions = 0
    # The first two lines are the file headers (--- and +++); difflib writes them once.
    for line in diff.splitlines()[2:]:
        if line.startswith("+"):
            additions += 1
        elif line.startswith("-"):
            deletions += 1
    return additions, deletions


def write_atomic(path: Path, data: bytes) -> None:
    """Replace `path` with `data` in one rename, creating parents; keep an existing file's mode."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        mode = path.stat().st_mode & 0o7777
    except FileNotFoundError:
        mode = 0o666 & ~_umask()
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _umask() -> int:
    # os.umask can only be read by setting it, which races with other threads; Linux reports it here.
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    return 0o022
