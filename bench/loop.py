"""Engine overhead per step of the agent loop, against a zero-latency scripted model.

One session of N steps (default 200) through `Engine.prompt`, with a real SQLite store, real tools
in a temporary project and the scripted model server (OpenAI-compatible chat, in this process).
Each step the model answers with one tool call, in rotation `read` of a small file, `list`,
`glob`, `write` of a small file; the last step answers with text. A step's wall time is the time
between successive `step-finish` parts on the bus (the first counted from the prompt's start):
request building, the HTTP round trip, stream processing, the tool and the store writes, nothing
subtracted.

Baseline, measured in the same run: the very requests the engine built, streamed again through
the provider layer alone (`ResolvedModel.stream`, no engine) against the same scripted replies,
i.e. the bare HTTP round trip of one streamed chat completion, on one reused connection as in the
engine's loop. The engine's own overhead is each
step's time minus its baseline and minus the time spent inside the tool's own `run` (reading the
file, ripgrep's process, writing the file: the tool's work, not the engine's; validation, the
permission check, output capping, the store writes and the snapshots before a change all stay
in). The figure reported is the median of those differences (p90 beside it), with the median
of step minus baseline (tools included) beside it. Goal: < 5 ms median; over 20 ms fails
(exit 1). Tool and request-building times are shown too, to tell where the time goes.

    .venv/bin/python bench/loop.py [--steps 200] [--warmup 8]
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from common import isolate, scripted_engine

GOAL_MS = 5.0
HARD_STOP_MS = 20.0
TOOLS = ("read", "list", "glob", "write")


def make_project(root: Path) -> Path:
    (root / ".git").mkdir(parents=True)
    (root / "src").mkdir()
    (root / "out").mkdir()
    (root / "notes.txt").write_text("".join(f"line {i}: some notes about the project\n" for i in range(20)))
    for name in ("app.py", "util.py", "test_app.py"):
        (root / "src" / name).write_text(f"# {name}\n\ndef main() -> None:\n    print('hi')\n")
    return root


def tool_call(step: int, tag: str) -> Any:
    """The scripted tool call for step `step` (0-based): a rotation of cheap, real tools.

    Writes go to new files (`tag` keeps sessions apart): overwriting would need a read first."""
    from opencode.testing.model_server import ToolCall

    kind = TOOLS[step % len(TOOLS)]
    call_id = f"call_{step}"
    if kind == "read":
        return ToolCall("read", {"filePath": "notes.txt"}, id=call_id)
    if kind == "list":
        return ToolCall("list", {"path": "src"}, id=call_id)
    if kind == "glob":
        return ToolCall("glob", {"pattern": "src/**/*.py"}, id=call_id)
    return ToolCall("write", {"filePath": f"out/{tag}-{step}.txt", "content": f"written at step {step}\n"}, id=call_id)


def replies(steps: int, tag: str) -> list[Any]:
    from opencode.testing.model_server import Reply, Text

    return [Reply([tool_call(i, tag)]) for i in range(steps - 1)] + [Reply([Text("All done: read, listed and wrote.")])]


class Probe:
    """Hooks on one engine: step boundaries from the bus, built requests, tool and build times."""

    def __init__(self, engine: Any) -> None:
        from opencode.bus import PartUpdated

        self.finishes: list[float] = []
        self.requests: list[Any] = []
        self.build_times: list[float] = []
        self.tool_times: list[float] = []
        self.own_times: list[float] = []
        """Time inside each call's `Tool.run`, in call order (one call per step)."""
        self.errors: list[str] = []

        def on_event(event: Any) -> None:
            if isinstance(event, PartUpdated):
                part = event.part
                if part.type == "step-finish":
                    self.finishes.append(time.perf_counter())
                elif part.type == "tool" and part.state.status == "error":
                    self.errors.append(f"{part.tool}: {part.state.error}")

        engine.bus.on(on_event)
        build = engine.build_request

        def build_request(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            request = build(*args, **kwargs)
            self.build_times.append(time.perf_counter() - start)
            self.requests.append(request)
            return request

        engine.build_request = build_request
        execute = engine.tools.execute

        async def run_tool(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return await execute(*args, **kwargs)
            finally:
                self.tool_times.append(time.perf_counter() - start)

        engine.tools.execute = run_tool
        for name in TOOLS:
            tool = engine.tools.get(name)
            tool.run = self.timed(tool.run)

    def timed(self, run: Any) -> Any:
        async def timed_run(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return await run(*args, **kwargs)
            finally:
                self.own_times.append(time.perf_counter() - start)

        return timed_run

    def reset(self) -> None:
        for record in (self.finishes, self.requests, self.build_times, self.tool_times, self.own_times, self.errors):
            record.clear()


async def run_session(engine: Any, server: Any, model: str, probe: Probe, steps: int, tag: str) -> list[float]:
    """Step wall times (seconds) of one session of `steps` steps."""
    probe.reset()
    server.push(*replies(steps, tag))
    session = engine.create_session(title="bench loop")
    start = time.perf_counter()
    result = await engine.prompt(session.id, "read, list and write some files", model=model)
    if result.steps != steps or result.message.error is not None or server.pending:
        raise SystemExit(f"session went wrong: {result.steps} steps of {steps}, error {result.message.error}")
    if len(probe.finishes) != steps:
        raise SystemExit(f"saw {len(probe.finishes)} step-finish parts for {steps} steps")
    return [b - a for a, b in itertools.pairwise([start, *probe.finishes])]


async def baseline(resolved: Any, server: Any, requests: list[Any], tag: str) -> list[float]:
    """Each request streamed once through the provider layer alone, with the reply its step got."""
    times = []
    scripted = replies(len(requests), tag)
    async with resolved.connected():  # one connection for all, as the engine's loop has
        for request, reply in zip(requests, scripted, strict=True):
            server.push(reply)
            start = time.perf_counter()
            async for _ in resolved.stream(request):
                pass
            times.append(time.perf_counter() - start)
    if server.pending:
        raise SystemExit("baseline did not consume its replies")
    return times


async def client_setup(runs: int = 10) -> list[float]:
    """What each model call pays to make its HTTP client (`provider.http.make_client`), timed on its own."""
    from opencode.provider.http import make_client

    times = []
    for _ in range(runs):
        start = time.perf_counter()
        client = make_client()
        times.append(time.perf_counter() - start)
        await client.aclose()
    return times


def ms(values: list[float], q: float = 0.5) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return 1000 * (statistics.median(ordered) if q == 0.5 else ordered[index])


async def bench(steps: int, warmup: int, tmp: Path) -> int:
    from opencode.testing.model_server import ScriptedModelServer

    isolate(tmp / "home")
    project = make_project(tmp / "project")
    server = ScriptedModelServer().start()
    try:
        engine, model = scripted_engine(project, server)
        resolved = engine.resolve_model(model, "build")
        probe = Probe(engine)
        # Warm imports, the tools' first runs and the connection code, on a session of its own.
        await run_session(engine, server, model, probe, warmup, "warm")
        await baseline(resolved, server, probe.requests, "warm")
        server.requests.clear()

        step_times = await run_session(engine, server, model, probe, steps, "main")
        requests, build_times, tool_times, own_times, errors = (
            list(probe.requests),
            list(probe.build_times),
            list(probe.tool_times),
            list(probe.own_times),
            list(probe.errors),
        )
        server.requests.clear()
        base_times = await baseline(resolved, server, requests, "main")
        engine.store.close()
        setup_times = await client_setup()
    finally:
        server.stop()

    with_tools = [s - b for s, b in zip(step_times, base_times, strict=True)]
    # The last step answers with text: no tool ran in it.
    overhead = [w - t for w, t in zip(with_tools, [*own_times, 0.0], strict=True)]
    print(f"{steps} steps, one session, tools in rotation {'/'.join(TOOLS)}, last step text")
    print(f"{'':<40}{'median':>9}{'p90':>9}")
    rows = (
        ("step (engine, wall)", step_times),
        ("baseline (provider stream alone)", base_times),
        ("step - baseline (tools included)", with_tools),
        ("  the tools' own run", own_times),
        ("engine overhead (step - baseline - tool)", overhead),
        ("  within it: tool call, registry to result", tool_times),
        ("  within it: build_request", build_times),
        ("in both: HTTP client set-up", setup_times),
    )
    for label, values in rows:
        print(f"{label:<40}{ms(values):7.2f}ms{ms(values, 0.9):7.2f}ms")
    by_tool: dict[str, list[float]] = {}
    for index, value in enumerate(overhead[:-1]):
        by_tool.setdefault(TOOLS[index % len(TOOLS)], []).append(value)
    print("overhead by tool (median): " + ", ".join(f"{k} {ms(v):.2f} ms" for k, v in by_tool.items()))
    quarter = max(1, steps // 4)
    print(
        f"overhead first {quarter} steps {ms(overhead[:quarter]):.2f} ms, "
        f"last {quarter} steps {ms(overhead[-quarter:]):.2f} ms (median)"
    )
    if errors:
        print(f"tool errors: {len(errors)}, first: {errors[0]}")
    median = ms(overhead)
    verdict = "ok" if median < GOAL_MS else ("over goal" if median <= HARD_STOP_MS else "FAIL")
    limits = f"goal < {GOAL_MS:.0f} ms, hard stop {HARD_STOP_MS:.0f} ms"
    print(
        f"engine overhead {median:.2f} ms median, {ms(with_tools):.2f} ms with the tools' own work "
        f"({limits}): {verdict}"
    )
    return 0 if median <= HARD_STOP_MS else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=200, help="steps in the measured session (default 200)")
    parser.add_argument("--warmup", type=int, default=8, help="steps in the unmeasured warm-up session (default 8)")
    args = parser.parse_args()
    if args.steps < 2 or args.warmup < 1:
        parser.error("--steps must be >= 2 and --warmup >= 1")
    with tempfile.TemporaryDirectory(prefix="bench-loop-") as tmp:
        from opencode import aio

        return aio.run(bench(args.steps, args.warmup, Path(tmp)))


if __name__ == "__main__":
    sys.exit(main())
