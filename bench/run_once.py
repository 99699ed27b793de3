"""Wall time and peak memory of a one-shot `opencode run "hi"` against `python -c pass`.

The scripted model server (OpenAI-compatible chat) runs in this process and answers each run with
a short text. Each child gets `OPENCODE_CONFIG_CONTENT` naming a custom provider that points at
it, its own XDG_* directories and HOME in a temporary directory, and an empty stdin. Wall time runs
from spawning the child to reaping it; peak memory is the child's own max RSS, from `os.wait4` on
its pid. Both commands use the venv's interpreter; one unmeasured run of each warms the bytecode
caches and creates the session database, then each runs N times (default 7) and the median is
reported, with the ratios to the baseline measured in the same run.
Goal: under 0.5 s and 120 MiB; over 1 s or 200 MiB fails (exit 1).

    .venv/bin/python bench/run_once.py [-n 7]
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from common import isolated_env

GOAL_S, HARD_STOP_S = 0.5, 1.0
GOAL_MIB, HARD_STOP_MIB = 120.0, 200.0
ANSWER = "hello from the scripted model"


def child_env(tmp: Path, server: Any) -> dict[str, str]:
    env = isolated_env(tmp / "home")
    env["PYTHONDONTWRITEBYTECODE"] = "0"  # as an installed copy runs: the warm-up run writes the bytecode caches
    provider = {
        "npm": "@ai-sdk/openai-compatible",
        "options": {"baseURL": server.base_url("openai-chat"), "apiKey": server.api_key},
        "models": {"test-model": {"tool_call": True}},
    }
    env["OPENCODE_CONFIG_CONTENT"] = json.dumps({"provider": {"mine": provider}, "model": "mine/test-model"})
    return env


# Run by `python -S -I`: fork, exec the command, reap it with wait4, write (wall s, max RSS KiB, own RSS KiB).
# A child's ru_maxrss starts from the RSS of the process that forked it (Linux keeps the pre-exec high-water
# mark), so the bench, with the server and opencode imported, must not fork the children itself.
LAUNCHER = """
import os, sys, time
report, cmd = sys.argv[1], sys.argv[2:]
with open("/proc/self/statm") as f:
    own = int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024
start = time.perf_counter()
pid = os.fork()
if pid == 0:
    try:
        os.execv(cmd[0], cmd)
    finally:
        os._exit(127)
_, status, usage = os.wait4(pid, 0)
took = time.perf_counter() - start
with open(report, "w") as f:
    f.write(f"{took} {usage.ru_maxrss} {own}")
sys.exit(os.waitstatus_to_exitcode(status))
"""


def measure(cmd: list[str], cwd: Path, env: dict[str, str], tmp: Path) -> tuple[float, float, float]:
    """(wall seconds, max RSS MiB, launcher's RSS MiB at the fork) of one run of `cmd`, which must exit 0."""
    out, report = tmp / "output.txt", tmp / "report.txt"
    with out.open("wb") as sink:
        launcher = [sys.executable, "-S", "-I", "-c", LAUNCHER, str(report), *cmd]
        code = subprocess.run(launcher, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=sink, stderr=sink).returncode
    if code != 0:
        raise SystemExit(f"{' '.join(cmd)} exited {code}:\n{out.read_text(errors='replace')[-2000:]}")
    took, rss_kib, own_kib = (float(v) for v in report.read_text().split())
    return took, rss_kib / 1024, own_kib / 1024  # ru_maxrss is in KiB on Linux


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--runs", type=int, default=7, help="measured runs per command (median kept)")
    args = parser.parse_args()
    if args.runs < 1:
        parser.error("--runs must be >= 1")
    logging.disable(logging.CRITICAL)
    from opencode.testing.model_server import Reply, ScriptedModelServer, Text

    python = sys.executable
    script = Path(python).with_name("opencode")
    entry = [str(script)] if script.exists() else [python, "-m", "opencode"]
    opencode_cmd = [*entry, "run", "hi"]
    baseline_cmd = [python, "-c", "pass"]

    with tempfile.TemporaryDirectory(prefix="bench-run-once-") as tmp_name, ScriptedModelServer() as server:
        tmp = Path(tmp_name)
        project = tmp / "project"
        (project / ".git").mkdir(parents=True)
        env = child_env(tmp, server)
        out = tmp / "output.txt"

        def run_opencode() -> tuple[float, float, float]:
            server.push(Reply([Text(ANSWER)]))
            result = measure(opencode_cmd, project, env, tmp)
            if ANSWER not in out.read_text(errors="replace") or server.pending:
                raise SystemExit(f"opencode run did not print the scripted answer:\n{out.read_text()[-2000:]}")
            return result

        measure(baseline_cmd, project, env, tmp)
        run_opencode()
        base = [measure(baseline_cmd, project, env, tmp) for _ in range(args.runs)]
        runs = [run_opencode() for _ in range(args.runs)]
        requests = len(server.requests)

    base_s, base_mib, _ = (statistics.median(v) for v in zip(*base, strict=True))
    run_s, run_mib, floor = (statistics.median(v) for v in zip(*runs, strict=True))
    best_s = min(t for t, _, _ in runs)
    print(f"median of {args.runs} runs each ({requests} model requests in all, warm-up included)")
    print(f"{'':<28}{'wall':>10}{'max RSS':>12}")
    print(f"{'baseline  python -c pass':<28}{base_s * 1000:7.1f} ms{base_mib:7.1f} MiB")
    label = 'opencode run "hi"'
    print(f"{label:<28}{run_s * 1000:7.1f} ms{run_mib:7.1f} MiB")
    print(f"{'ratio to baseline':<28}{run_s / base_s:8.2f}x{run_mib / base_mib:10.2f}x")
    low, high = min(m for _, m, _ in runs), max(m for _, m, _ in runs)
    print(f"opencode run best wall {best_s * 1000:.1f} ms, max RSS range {low:.1f}-{high:.1f} MiB")
    print(f"(max RSS floor: the launcher that forks each child has {floor:.1f} MiB resident at the fork)")
    over_hard = run_s > HARD_STOP_S or run_mib > HARD_STOP_MIB
    verdict = "ok" if run_s < GOAL_S and run_mib < GOAL_MIB else ("FAIL" if over_hard else "over goal")
    print(
        f"wall {run_s:.3f} s (goal < {GOAL_S} s, hard stop {HARD_STOP_S} s), "
        f"peak RSS {run_mib:.1f} MiB (goal < {GOAL_MIB:.0f} MiB, hard stop {HARD_STOP_MIB:.0f} MiB): {verdict}"
    )
    return 1 if over_hard else 0


if __name__ == "__main__":
    sys.exit(main())
