"""The `bash` tool: run a shell command and return what it printed.

The command runs under `/bin/bash -c` (or `$SHELL`, or `/bin/sh`) in a session of its own, so
that it and everything it starts share one process group: on a timeout or an abort the whole
group gets SIGTERM, then SIGKILL half a second later, and nothing is left behind. Its stdin is
`/dev/null`, so a command that waits for input ends at once instead of hanging; stdout and stderr
come back merged, in order. Output streams to the faces as metadata while the command runs.

The model sees the end of the output (where errors and summaries are), capped by `truncate`
with the full text saved to a file, followed by how the command ended when that is not a plain
success. The output kept in memory is bounded too: past `MAX_KEPT` bytes only the tail is kept.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import time
from pathlib import Path

from pydantic import BaseModel, Field

from opencode.aio import close_pipes
from opencode.tool.tool import PermissionRequest, Tool, ToolContext, ToolError, ToolResult
from opencode.tool.truncate import default_save_dir, truncate

DEFAULT_TIMEOUT_MS = 120_000
MAX_TIMEOUT_MS = 600_000
KILL_GRACE_S = 0.5
DRAIN_S = 0.5
PUBLISH_EVERY_S = 0.2
MAX_KEPT = 16 * 1024 * 1024
MAX_METADATA_CHARS = 30_000
CHUNK = 64 * 1024


class BashParams(BaseModel):
    command: str = Field(description="The command to run")
    timeout: int = Field(
        DEFAULT_TIMEOUT_MS, gt=0, description="Timeout in milliseconds (default 120000, at most 600000)"
    )
    description: str = Field(
        "",
        description="What the command does, in 5-10 words, e.g. 'Lists files in current directory', "
        "'Shows working tree status', 'Installs package dependencies'",
    )
    workdir: str = Field(
        "", description="Directory to run the command in (default: the working directory); use it instead of cd"
    )


class BashTool(Tool[BashParams]):
    name = "bash"
    params = BashParams
    description_file = "bash.txt"

    async def run(self, params: BashParams, ctx: ToolContext) -> ToolResult:
        cwd = ctx.resolve(params.workdir) if params.workdir else ctx.cwd
        if not cwd.is_dir():
            raise ToolError(f"workdir {cwd} does not exist or is not a directory.")
        timeout_ms = min(params.timeout, MAX_TIMEOUT_MS)
        head = params.command.split()[0] if params.command.split() else params.command
        await ctx.ask(
            PermissionRequest(
                "bash",
                [params.command],
                params.command,
                {"command": params.command, "description": params.description, "workdir": str(cwd)},
                [f"{head} *"],
            )
        )
        ctx.check_abort()
        run = _Run(params, ctx, cwd)
        ended = await run.execute(timeout_ms / 1000)

        text = run.text()
        if not text.strip():
            text = "(no output)"
        code = run.proc.returncode if run.proc else None
        status = ""
        if ended == "timeout":
            status = f"command timed out after {timeout_ms} ms and was killed"
        elif ended == "aborted":
            status = "command aborted by the user and killed"
        elif code:
            status = f"exit code {code}"
        if status:
            text = text.rstrip("\n") + f"\n\n({status})"
        capped = truncate(text, save_dir=default_save_dir(ctx.data_dir), direction="tail")
        metadata = {
            "output": run.preview(),
            "exit": code,
            "description": params.description,
            "timedOut": ended == "timeout",
            "aborted": ended == "aborted",
            "truncated": capped.truncated,
            "outputPath": str(capped.saved) if capped.saved else None,
        }
        return ToolResult(capped.text, params.description or params.command, metadata)


class _Run:
    """One command's process, its output so far, and how it ended."""

    def __init__(self, params: BashParams, ctx: ToolContext, cwd: Path) -> None:
        self.params = params
        self.ctx = ctx
        self.cwd = cwd
        self.proc: asyncio.subprocess.Process | None = None
        self.buffer = bytearray()
        self.dropped = 0
        self.published = 0.0

    async def execute(self, timeout_s: float) -> str:
        """Run to the end; return "exit", "timeout" or "aborted"."""
        self.ctx.metadata(None, output="", description=self.params.description)
        self.proc = await asyncio.create_subprocess_exec(
            _shell(),
            "-c",
            self.params.command,
            cwd=self.cwd,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,
        )
        reader = asyncio.ensure_future(self._pump())
        waiter = asyncio.ensure_future(self.proc.wait())
        aborted = asyncio.ensure_future(self.ctx.abort.wait())
        ended = "exit"
        try:
            done, _ = await asyncio.wait({waiter, aborted}, timeout=timeout_s, return_when=asyncio.FIRST_COMPLETED)
            if waiter not in done:
                ended = "aborted" if aborted in done else "timeout"
                await self._kill_group()
        finally:
            aborted.cancel()
            if not waiter.done():
                # Cancelled from outside (the engine's task): still leave no process behind.
                await asyncio.shield(self._kill_group())
            # The shell is gone; a background child may still hold the pipe open, so only drain briefly.
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(asyncio.shield(reader), DRAIN_S)
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader
            waiter.cancel()
            close_pipes(self.proc)
        return ended

    async def _pump(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        while chunk := await self.proc.stdout.read(CHUNK):
            self.buffer.extend(chunk)
            if len(self.buffer) > MAX_KEPT:
                excess = len(self.buffer) - MAX_KEPT
                del self.buffer[:excess]
                self.dropped += excess
            now = time.monotonic()
            if now - self.published >= PUBLISH_EVERY_S:
                self.published = now
                self.ctx.metadata(None, output=self.preview(), description=self.params.description)

    async def _kill_group(self) -> None:
        """SIGTERM to the whole group, SIGKILL to whatever is left after the grace period."""
        assert self.proc is not None
        pgid = self.proc.pid
        _signal_group(pgid, signal.SIGTERM)
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(asyncio.shield(self.proc.wait()), KILL_GRACE_S)
        # Children may outlive the shell (or ignore SIGTERM); the group id still names them.
        _signal_group(pgid, signal.SIGKILL)
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(asyncio.shield(self.proc.wait()), KILL_GRACE_S)

    def preview(self) -> str:
        """The end of the output for the faces; decoding only the tail keeps frequent updates cheap."""
        tail = bytes(self.buffer[-4 * MAX_METADATA_CHARS :]).decode("utf-8", errors="replace")
        if len(tail) > MAX_METADATA_CHARS or self.dropped or len(self.buffer) > 4 * MAX_METADATA_CHARS:
            return "…" + tail[-MAX_METADATA_CHARS:]
        return tail

    def text(self) -> str:
        text = self.buffer.decode("utf-8", errors="replace")
        if self.dropped:
            text = f"[... {self.dropped} bytes of earlier output dropped ...]\n" + text
        return text


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def _shell() -> str:
    if os.path.exists("/bin/bash"):
        return "/bin/bash"
    return os.environ.get("SHELL") or shutil.which("bash") or "/bin/sh"
