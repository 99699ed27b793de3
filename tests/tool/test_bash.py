"""bash: output, exit codes, closed stdin, workdir, streaming, and killing the whole process group."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path
from typing import Any

import pytest

from opencode.tool.bash import BashParams, BashTool
from opencode.tool.tool import Aborted, ToolContext, ToolError, ToolResult


async def bash(ctx: ToolContext, command: str, **kwargs: Any) -> ToolResult:
    return await BashTool().run(BashParams(command=command, **kwargs), ctx)


def gone(pid: int) -> bool:
    """The process no longer runs (a zombie waiting for a reaper counts as gone)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return True
    return state in ("Z", "X")


async def wait_gone(pid: int, within: float = 1.0) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if gone(pid):
            return True
        await asyncio.sleep(0.02)
    return gone(pid)


async def test_output_and_exit_code(ctx: ToolContext) -> None:
    result = await bash(ctx, "echo hello; echo oops >&2", description="Say hello")
    assert result.output == "hello\noops\n"
    assert result.metadata["exit"] == 0
    assert result.title == "Say hello"

    failed = await bash(ctx, "echo partial; exit 3")
    assert failed.output.startswith("partial\n")
    assert failed.output.endswith("(exit code 3)")
    assert failed.metadata["exit"] == 3


async def test_no_output_is_said_plainly(ctx: ToolContext) -> None:
    assert (await bash(ctx, "true")).output == "(no output)"


async def test_stdin_is_closed(ctx: ToolContext) -> None:
    started = time.monotonic()
    result = await bash(ctx, "read x; echo got:$x")
    assert result.output.strip().startswith("got:")
    assert time.monotonic() - started < 2


async def test_runs_in_the_working_directory_or_workdir(ctx: ToolContext, project: Path) -> None:
    (project / "sub").mkdir()
    assert (await bash(ctx, "pwd")).output.strip() == str(project)
    assert (await bash(ctx, "pwd", workdir="sub")).output.strip() == str(project / "sub")
    with pytest.raises(ToolError, match="does not exist"):
        await bash(ctx, "pwd", workdir="missing")


async def test_timeout_kills_the_whole_process_group(ctx: ToolContext) -> None:
    started = time.monotonic()
    result = await bash(ctx, "sleep 30 & echo $!; wait", timeout=300)
    elapsed = time.monotonic() - started
    assert elapsed < 1.5
    assert "command timed out after 300 ms" in result.output
    assert result.metadata["timedOut"] is True
    child = int(result.output.split()[0])
    assert await wait_gone(child)


async def test_a_command_ignoring_sigterm_is_killed_too(ctx: ToolContext) -> None:
    started = time.monotonic()
    result = await bash(ctx, "trap '' TERM; sleep 30 & echo $!; wait; wait", timeout=200)
    assert time.monotonic() - started < 2
    assert "timed out" in result.output
    assert await wait_gone(int(result.output.split()[0]))


async def test_abort_stops_the_command(ctx: ToolContext) -> None:
    asyncio.get_running_loop().call_later(0.2, ctx.abort.set)
    started = time.monotonic()
    result = await bash(ctx, "echo begun; sleep 30 & echo $!; wait")
    assert time.monotonic() - started < 1.5
    assert result.output.startswith("begun\n")
    assert "aborted" in result.output
    assert result.metadata["aborted"] is True
    assert await wait_gone(int(result.output.split()[1]))


async def test_an_already_aborted_run_does_not_start(ctx: ToolContext, project: Path) -> None:
    ctx.abort.set()
    with pytest.raises(Aborted):
        await bash(ctx, "touch should-not-exist")
    assert not (project / "should-not-exist").exists()


async def test_output_streams_to_the_metadata_callback(ctx: ToolContext) -> None:
    updates: list[str] = []
    ctx.on_metadata = lambda title, meta: updates.append(meta["output"])
    result = await bash(ctx, "echo first; sleep 0.5; echo second")
    assert result.output == "first\nsecond\n"
    assert updates[0] == ""
    # "first" alone was published while the command was still sleeping.
    assert "first\n" in updates


async def test_long_output_keeps_the_end_and_saves_the_rest(ctx: ToolContext, tmp_path: Path) -> None:
    result = await bash(ctx, "seq 1 30000; exit 4")
    assert result.metadata["truncated"] is True
    assert result.output.startswith("[Output truncated: showing the last")
    assert result.output.endswith("30000\n\n(exit code 4)")
    saved = Path(result.metadata["outputPath"])
    assert saved.parent == tmp_path / "data" / "tool-output"
    assert saved.read_text().startswith("1\n2\n3\n")
    assert len(result.output.encode()) <= 50 * 1024
