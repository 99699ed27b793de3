"""The terminal UI's latencies: start to first paint, a streamed delta to its paint, a keystroke to its echo.

First paint: `opencode` is spawned on a pseudo-terminal (120x40, TERM=xterm-256color), in a
fresh project with an isolated home and a config pointing at the scripted model server. Two clocks
stop: at the first frame (the layout drawn by cli/splash.py before config, the engine and Textual
load: the prompt box and a status line saying "starting"; keys typed from then on wait for the
app), and at the app's own first frame (the bytes written to the terminal contain the status
line's model name). A pty measures what a user sees, everything between pressing Enter in a shell
and the screen being drawn (interpreter start, imports, config and engine set-up, Textual's start,
layout, the first frame's bytes), which a headless `App.run_test` inside an already warm process
would leave out; reading the pty directly (not polling tmux's capture-pane) keeps the clock's
resolution at the read, not at a polling interval. The terminal's own drawing of those bytes is
not ours and is not counted. Baseline, in the same run: `opencode --help` spawned the same way
(to its exit, on a pipe). Figures: the ratios of the medians; the goal (< 2x; over 3x fails) is
checked on the first frame, and the app's frame is printed beside it.

Delta to paint: the app runs headless (`App.run_test`) over an in-process engine on the same kind
of store; text deltas of one assistant part are published on the engine's bus, as the engine
publishes a stream's deltas, on a fixed schedule of one every `--interval` seconds (20 ms: 50
deltas a second, a fast model), each carrying a unique word. The app's
`_display` (where the compositor hands each frame to the terminal driver) is wrapped: every
frame is rendered to the bytes a terminal would get, and a delta counts as painted at the first
frame that shows its word. This covers the app's whole path (the event queue, the 30 Hz flush,
the markdown append, layout, the compositor) and leaves out only the write to the terminal.
Figure: the median (p90 beside it). Goal < 50 ms; over 100 ms fails.

Keystroke to echo: the same headless app on a stored session of `--history` messages (2,000),
keys pressed through Textual's pilot; a key counts as echoed at the first frame that shows the
text typed so far. Goal < 16 ms median; over 50 ms fails.

    .venv/bin/python bench/tui.py [-n 5] [--deltas 200] [--interval 0.02] [--history 2000]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import pty
import re
import select
import signal
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import time
from fcntl import ioctl
from pathlib import Path
from typing import Any

from common import isolate, isolated_env

from opencode.testing.paint import PaintProbe

SPLASH = "opencode  starting"
"""What the first frame (cli/splash.py) shows on its status line."""
FIRST_PAINT_GOAL = 2.0
FIRST_PAINT_HARD_STOP = 3.0
DELTA_GOAL_MS = 50.0
DELTA_HARD_STOP_MS = 100.0
ECHO_GOAL_MS = 16.0
ECHO_HARD_STOP_MS = 50.0
MODEL = "mine/test-model"
_ANSI = re.compile(rb"\x1b\[[0-9;?<>=$]*[A-Za-z~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[()][0-9A-Za-z]|\x1b[=>78]")


def median_ms(values: list[float]) -> float:
    return statistics.median(values) * 1000


def p90_ms(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.9))] * 1000


# --- first paint ---------------------------------------------------------------------------------


def child_env(home: Path, server: Any) -> dict[str, str]:
    env = isolated_env(home)
    provider = {
        "npm": "@ai-sdk/openai-compatible",
        "options": {"baseURL": server.base_url("openai-chat"), "apiKey": server.api_key},
        "models": {"test-model": {"tool_call": True}},
    }
    env["OPENCODE_CONFIG_CONTENT"] = json.dumps({"provider": {"mine": provider}, "model": MODEL})
    env["TERM"] = "xterm-256color"
    env["PYTHONDONTWRITEBYTECODE"] = "0"
    return env


def first_paint(cmd: list[str], cwd: Path, env: dict[str, str], timeout: float = 30.0) -> tuple[float, float]:
    """Seconds from spawning `cmd` on a 120x40 pty to the first frame (the splash's layout: prompt box and
    status line) and to the app's first frame (the status line showing the model)."""
    master, slave = pty.openpty()
    ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    start = time.perf_counter()
    process = subprocess.Popen(
        cmd, cwd=cwd, env=env, stdin=slave, stdout=slave, stderr=slave, start_new_session=True, close_fds=True
    )
    os.close(slave)
    seen = b""
    splash: float | None = None
    try:
        while True:
            left = timeout - (time.perf_counter() - start)
            if left <= 0:
                raise SystemExit(f"no first paint within {timeout} s; the terminal got:\n{seen[-2000:]!r}")
            ready, _, _ = select.select([master], [], [], left)
            if not ready:
                continue
            try:
                chunk = os.read(master, 65536)
            except OSError:  # the child closed the terminal
                raise SystemExit(f"opencode exited before painting:\n{seen[-2000:]!r}") from None
            seen += chunk
            plain = _ANSI.sub(b"", seen)
            if splash is None and SPLASH.encode() in plain:
                splash = time.perf_counter() - start
            if MODEL.encode() in plain:
                full = time.perf_counter() - start
                return (splash if splash is not None else full), full
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        os.close(master)


def help_time(cmd: list[str], cwd: Path, env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, check=True)
    return time.perf_counter() - start


# --- in-process: delta to paint, keystroke to echo -------------------------------------------------


async def wait_paint(probe: PaintProbe, start: float, text: str, timeout: float = 5.0) -> float:
    deadline = time.perf_counter() + timeout
    while True:
        painted = probe.first_after(start, text)
        if painted is not None:
            return painted - start
        if time.perf_counter() > deadline:
            raise SystemExit(f"{text!r} was never painted")
        await asyncio.sleep(0.001)


def store_session(engine: Any, count: int) -> str:
    """A stored session of `count` messages, user and assistant in turn, one text part each."""
    from opencode.testing.sessions import stored_session

    return stored_session(engine, count)


async def deltas_to_paint(engine: Any, deltas: int, interval: float) -> list[float]:
    from opencode import id as ids
    from opencode.bus import PartUpdated
    from opencode.session.model import TextPart, UserMessage
    from opencode.tui.app import OpencodeApp
    from opencode.tui.client import EngineClient

    session = engine.create_session()
    user = UserMessage(id=ids.ascending("msg"), sessionID=session.id)
    engine.store.put_message(user)
    resolved = engine.resolve_model(MODEL, "build")
    message = engine.new_assistant_message(session, user, resolved, "build")
    app = OpencodeApp(EngineClient(engine, model=MODEL), session_id=session.id)
    took: list[float] = []
    async with app.run_test(size=(120, 40)) as pilot:
        probe = PaintProbe(app)
        await pilot.pause(0.3)
        part = TextPart(id="prt_bench_stream", sessionID=session.id, messageID=message.id, text="")
        sent: list[tuple[float, str]] = []
        begin = time.perf_counter()
        for index in range(deltas):  # on a fixed schedule, as a stream arrives, whatever the paints do
            await asyncio.sleep(max(0.0, begin + index * interval - time.perf_counter()))
            word = f"d{index}x "
            part.text += word
            sent.append((time.perf_counter(), word.strip()))
            engine.bus.publish(PartUpdated(part=part.model_copy(), delta=word))
        for start, word in sent:
            took.append(await wait_paint(probe, start, word))
    return took


async def keystrokes_to_echo(
    engine: Any, history: int, keys: int, *, scrolled: bool = False
) -> tuple[list[float], int]:
    """Keys typed into a session of `history` messages; `scrolled`: after scrolling up through all of it
    first (every message mounted), the worst case for layout."""
    from opencode.tui.app import OpencodeApp
    from opencode.tui.client import EngineClient

    session_id = store_session(engine, history)
    app = OpencodeApp(EngineClient(engine, model=MODEL), session_id=session_id)
    took: list[float] = []
    async with app.run_test(size=(120, 40)) as pilot:
        probe = PaintProbe(app)
        await pilot.pause(0.5)
        while scrolled and await app.history.mount_older():
            await pilot.pause(0.01)
        if scrolled:
            app.chat.scroll_home(animate=False)
            await pilot.pause(0.3)
        mounted = len(app.query("UserMessageView, AssistantMessageView"))
        typed = ""
        for index in range(keys):
            char = "zqxj"[index % 4]
            typed += char
            start = time.perf_counter()
            await pilot.press(char)
            took.append(await wait_paint(probe, start, typed[-8:]))
            await asyncio.sleep(0.02)
    return took, mounted


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--runs", type=int, default=5, help="spawns of each command (median kept)")
    parser.add_argument("--deltas", type=int, default=200, help="streamed deltas timed")
    parser.add_argument("--interval", type=float, default=0.02, help="seconds between deltas")
    parser.add_argument("--history", type=int, default=2000, help="messages in the session typed into")
    parser.add_argument("--keys", type=int, default=40, help="keystrokes timed")
    args = parser.parse_args()
    if min(args.runs, args.deltas, args.keys) < 1 or args.history < 0:
        parser.error("counts must be >= 1")
    from opencode.testing.model_server import ScriptedModelServer

    python = sys.executable
    script = Path(python).with_name("opencode")
    entry = [str(script)] if script.exists() else [python, "-m", "opencode"]
    with tempfile.TemporaryDirectory(prefix="bench-tui-") as tmp_name, ScriptedModelServer() as server:
        tmp = Path(tmp_name)
        project = tmp / "project"
        (project / ".git").mkdir(parents=True)
        env = child_env(tmp / "home", server)
        help_time([*entry, "--help"], project, env)  # warm the bytecode caches
        first_paint(entry, project, env)
        helps = [help_time([*entry, "--help"], project, env) for _ in range(args.runs)]
        both = [first_paint(entry, project, env) for _ in range(args.runs)]
        paints, fulls = [b[0] for b in both], [b[1] for b in both]

        isolate(tmp / "inproc")
        from common import scripted_engine

        work = tmp / "inproc-project"
        (work / ".git").mkdir(parents=True)
        engine, _ = scripted_engine(work, server)
        deltas = asyncio.run(deltas_to_paint(engine, args.deltas, args.interval))
        echoes, mounted = asyncio.run(keystrokes_to_echo(engine, args.history, args.keys))
        scrolled, all_mounted = asyncio.run(keystrokes_to_echo(engine, args.history, args.keys, scrolled=True))

    ratio = statistics.median(paints) / statistics.median(helps)
    delta_ms, echo_ms = median_ms(deltas), median_ms(echoes)
    print(f"opencode --help                 median {median_ms(helps):7.1f} ms  ({args.runs} runs)")
    full_ratio = statistics.median(fulls) / statistics.median(helps)
    print(f"opencode, start to first paint  median {median_ms(paints):7.1f} ms  {ratio:4.2f}x --help  (the layout)")
    print(f"opencode, start to the app      median {median_ms(fulls):7.1f} ms  {full_ratio:4.2f}x --help  (the app)")
    print(
        f"delta to paint                  median {delta_ms:7.1f} ms  p90 {p90_ms(deltas):6.1f} ms"
        f"  ({args.deltas} deltas)"
    )
    print(
        f"keystroke to echo               median {echo_ms:7.1f} ms  p90 {p90_ms(echoes):6.1f} ms"
        f"  ({args.keys} keys, {args.history} messages stored, {mounted} mounted)"
    )
    print(
        f"  after scrolling to the top      median {median_ms(scrolled):7.1f} ms  p90 {p90_ms(scrolled):6.1f} ms"
        f"  ({all_mounted} mounted)"
    )
    checks = (
        ("first paint", ratio, FIRST_PAINT_GOAL, FIRST_PAINT_HARD_STOP, "x --help"),
        ("delta to paint", delta_ms, DELTA_GOAL_MS, DELTA_HARD_STOP_MS, " ms"),
        ("keystroke to echo", echo_ms, ECHO_GOAL_MS, ECHO_HARD_STOP_MS, " ms"),
    )
    failed = False
    for label, value, goal, stop, unit in checks:
        verdict = "ok" if value < goal else ("over goal" if value <= stop else "FAIL")
        failed = failed or value > stop
        print(f"{label}: {value:.2f}{unit} (goal < {goal}{unit}, hard stop {stop}{unit}): {verdict}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
