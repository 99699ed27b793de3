"""Soak: one long session in this process, checked for memory growth, leaked fds and children, idle CPU.

One session of N steps (default 1,000) through `Engine.prompt` with a real SQLite store and real
tools in a temporary project, against the scripted model server (OpenAI-compatible chat, a thread
of this process; it keeps only its last few requests, so its log does not grow). Each step the
model calls one tool, in rotation `bash` (`echo`), `read` of a small file, `write` of a new small
file; the last step answers with text.

After a warm-up of 100 steps the resident set (/proc/self/statm, after a `gc.collect()`) is
sampled every 100 steps, then sampled again after glibc's `malloc_trim(0)` hands free heap pages
back, beside the counts of gc-tracked objects and allocated blocks: growth that survives the trim
and shows in those counts is memory kept alive; growth that does not is the allocator's high-water
mark. Reported: RSS growth (untrimmed) from the warm-up sample to the end (goal < 20 MiB),
open file descriptors before and after the session (no growth beyond a small constant), child
processes left behind (scanning /proc for our pid as parent), and idle CPU: with the session done
and the model server stopped, the event loop sleeps 3 s and this process's CPU time over that
window is measured (goal ~0: < 0.05 s). Step times of the first and last 100 steps are shown too,
to make per-step cost that grows with the history visible. Exit 1 on a clear failure: growth over
20 MiB, leaked children or fds.

    .venv/bin/python bench/soak.py [--steps 1000]
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import ctypes
import gc
import itertools
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from common import isolate, scripted_engine

GROWTH_GOAL_MIB = 20.0
FD_SLACK = 4
IDLE_GOAL_S = 0.05
IDLE_WINDOW_S = 3.0
TOOLS = ("bash", "read", "write")
PAGE = os.sysconf("SC_PAGE_SIZE")


def _malloc_trim() -> Any:
    try:
        return ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError):  # not glibc
        return None


TRIM = _malloc_trim()


def rss_mib() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * PAGE / 2**20


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def children() -> list[str]:
    """'pid state command' of every process whose parent is this one (zombies included)."""
    me, found = os.getpid(), []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        comm = stat[stat.index("(") + 1 : stat.rindex(")")]
        state, ppid = stat[stat.rindex(")") + 2 :].split()[:2]
        if int(ppid) == me:
            found.append(f"{entry} {state} {comm}")
    return found


def make_project(root: Path) -> Path:
    (root / ".git").mkdir(parents=True)
    (root / "out").mkdir()
    (root / "notes.txt").write_text("".join(f"line {i}: some notes about the project\n" for i in range(20)))
    return root


def replies(steps: int) -> list[Any]:
    from opencode.testing.model_server import Reply, Text, ToolCall

    scripted = []
    for step in range(steps - 1):
        kind, call_id = TOOLS[step % len(TOOLS)], f"call_{step}"
        if kind == "bash":
            call = ToolCall("bash", {"command": f"echo step {step}", "description": "Echo the step"}, id=call_id)
        elif kind == "read":
            call = ToolCall("read", {"filePath": "notes.txt"}, id=call_id)
        else:  # a new file each time: overwriting one would need a read first
            call = ToolCall("write", {"filePath": f"out/{step}.txt", "content": f"step {step}\n"}, id=call_id)
        scripted.append(Reply([call]))
    return [*scripted, Reply([Text("Done: echoed, read and wrote.")])]


class Sampler:
    """Counts finished steps on the bus; samples RSS and Python objects every `every` steps."""

    def __init__(self, engine: Any, warmup: int, every: int) -> None:
        from opencode.bus import PartUpdated

        self.warmup, self.every = warmup, every
        self.marks: list[float] = []
        self.samples: list[tuple[int, float, float, int, int, int]] = []
        """(step, RSS MiB, RSS MiB after malloc_trim, fds, gc-tracked objects, allocated blocks)"""
        self.tool_errors: list[str] = []

        def on_event(event: Any) -> None:
            if not isinstance(event, PartUpdated):
                return
            part = event.part
            if part.type == "tool" and part.state.status == "error":
                self.tool_errors.append(f"{part.tool}: {part.state.error}")
            if part.type != "step-finish":
                return
            self.marks.append(time.perf_counter())
            step = len(self.marks)
            if step >= warmup and (step - warmup) % every == 0:
                self.sample(step)

        engine.bus.on(on_event)

    def sample(self, step: int) -> None:
        gc.collect()
        rss = rss_mib()
        trimmed = float("nan")
        if TRIM is not None:
            TRIM(0)
            trimmed = rss_mib()
        self.samples.append((step, rss, trimmed, open_fds(), len(gc.get_objects()), sys.getallocatedblocks()))


async def soak(steps: int, warmup: int, every: int, tmp: Path) -> int:
    from opencode.testing.model_server import ScriptedModelServer

    isolate(tmp / "home")
    project = make_project(tmp / "project")
    server = ScriptedModelServer().start()
    server.requests = collections.deque(maxlen=4)  # type: ignore[assignment]  # keep the log from growing
    try:
        engine, model = scripted_engine(project, server)
        sampler = Sampler(engine, warmup, every)
        server.push(*replies(steps))
        session = engine.create_session(title="bench soak")
        gc.collect()
        fds_before, rss_before = open_fds(), rss_mib()
        start = time.perf_counter()
        result = await engine.prompt(session.id, "echo, read and write, over and over", model=model)
        took = time.perf_counter() - start
        await engine.drain()
        if sampler.samples[-1][0] != len(sampler.marks):
            sampler.sample(len(sampler.marks))
        fds_after = open_fds()
        left = children()
    finally:
        server.stop()
    ok_session = result.steps == steps and result.message.error is None and not server.pending

    # Idle: nothing should run now; sleep in the event loop, so leftover tasks and timers would show.
    cpu_start = time.process_time()
    await asyncio.sleep(IDLE_WINDOW_S)
    idle_cpu = time.process_time() - cpu_start
    tasks_left = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    engine.store.close()

    step_times = [b - a for a, b in itertools.pairwise([start, *sampler.marks])]
    window = min(100, max(1, steps // 4))
    first_ms = 1000 * statistics.median(step_times[:window])
    last_ms = 1000 * statistics.median(step_times[-window:])
    print(f"{result.steps} steps in {took:.1f} s, one session, tools in rotation {'/'.join(TOOLS)}, last step text")
    print(f"step time median: first {window} steps {first_ms:.1f} ms, last {window} steps {last_ms:.1f} ms")
    print(f"RSS before the session {rss_before:.1f} MiB; samples every {every} steps after a gc.collect():")
    print(f"  {'step':>6} {'RSS':>9} {'trimmed':>9} {'fds':>4} {'gc objects':>10} {'blocks':>9}")
    for step, rss, trimmed, fds, objects, blocks in sampler.samples:
        print(f"  {step:>6} {rss:5.1f} MiB {trimmed:5.1f} MiB {fds:4d} {objects:10,d} {blocks:9,d}")
    growth = sampler.samples[-1][1] - sampler.samples[0][1]
    trimmed_growth = sampler.samples[-1][2] - sampler.samples[0][2]
    fd_growth = fds_after - fds_before
    print(
        f"RSS growth from step {sampler.samples[0][0]} to the end: {growth:+.1f} MiB (goal < {GROWTH_GOAL_MIB:.0f}); "
        f"after malloc_trim {trimmed_growth:+.1f} MiB"
    )
    print(f"open fds: {fds_before} before, {fds_after} after ({fd_growth:+d}, allowed +{FD_SLACK})")
    print(f"child processes left: {len(left)}{': ' + '; '.join(left) if left else ''}")
    names = "; ".join(repr(t.get_coro()) for t in tasks_left[:3])
    print(f"asyncio tasks left after the idle window: {len(tasks_left)}{': ' + names if names else ''}")
    print(f"idle CPU over {IDLE_WINDOW_S:.0f} s after the session: {idle_cpu:.3f} s (goal < {IDLE_GOAL_S})")
    if sampler.tool_errors:
        print(f"tool errors: {len(sampler.tool_errors)}, first: {sampler.tool_errors[0]}")
    failures = []
    if not ok_session:
        failures.append(f"session went wrong ({result.steps} of {steps} steps, error {result.message.error})")
    if growth > GROWTH_GOAL_MIB:
        failures.append(f"RSS grew {growth:.1f} MiB")
    if fd_growth > FD_SLACK:
        failures.append(f"{fd_growth} fds leaked")
    if left:
        failures.append(f"{len(left)} child processes left")
    warnings = []
    if idle_cpu >= IDLE_GOAL_S:
        warnings.append(f"idle CPU {idle_cpu:.3f} s")
    if tasks_left:
        warnings.append(f"{len(tasks_left)} asyncio tasks left")
    verdict = (
        "FAIL: " + ", ".join(failures) if failures else ("over goal: " + ", ".join(warnings) if warnings else "ok")
    )
    print(f"verdict: {verdict}")
    return 1 if failures else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=1000, help="steps in the session (default 1000)")
    parser.add_argument("--warmup", type=int, default=100, help="steps before the first RSS sample (default 100)")
    parser.add_argument("--every", type=int, default=100, help="steps between RSS samples (default 100)")
    args = parser.parse_args()
    if args.steps < 2 or args.warmup < 1 or args.every < 1:
        parser.error("--steps must be >= 2, --warmup and --every >= 1")
    if args.warmup >= args.steps:
        args.warmup = max(1, args.steps // 10)
    with tempfile.TemporaryDirectory(prefix="bench-soak-") as tmp:
        from opencode import aio

        return aio.run(soak(args.steps, args.warmup, args.every, Path(tmp)))


if __name__ == "__main__":
    sys.exit(main())
