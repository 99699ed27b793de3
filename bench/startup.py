"""Start-up time of `opencode --help` and `opencode run --help` against `python -c pass`.

All three run with the same interpreter (the venv's) in the same run; the figure reported is
each command's best-of-N wall time divided by the baseline's. Goal: <= 3x; over 4x fails.

    .venv/bin/python bench/startup.py [-n 20]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

GOAL = 3.0
HARD_STOP = 4.0


def best_of(cmd: list[str], runs: int) -> float:
    best = float("inf")
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "0"}
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True, env=env)
        best = min(best, time.perf_counter() - start)
    return best


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--runs", type=int, default=20, help="runs per command (best is kept)")
    args = parser.parse_args()
    python = sys.executable
    entry = [python, "-m", "opencode"]
    script = Path(python).with_name("opencode")
    if script.exists():
        entry = [str(script)]
    # Warm the bytecode caches once so the first run does not count compilation.
    for cmd in ([*entry, "--help"], [*entry, "run", "--help"]):
        subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    base = best_of([python, "-c", "pass"], args.runs)
    worst = 0.0
    print(f"baseline  python -c pass          {base * 1000:7.1f} ms")
    for label, cmd in (("opencode --help", [*entry, "--help"]), ("opencode run --help", [*entry, "run", "--help"])):
        took = best_of(cmd, args.runs)
        ratio = took / base
        worst = max(worst, ratio)
        print(f"{label:<32}  {took * 1000:7.1f} ms  {ratio:4.2f}x")
    verdict = "ok" if worst <= GOAL else ("over goal" if worst <= HARD_STOP else "FAIL")
    print(f"worst ratio {worst:.2f}x (goal <= {GOAL}x, hard stop {HARD_STOP}x): {verdict}")
    return 0 if worst <= HARD_STOP else 1


if __name__ == "__main__":
    raise SystemExit(main())
