"""The `grep` tool against raw `rg` on the same query, over a large generated tree.

The tree: N files (default 20,000) in a temporary directory, 200 folders of 100 source-like files
of 1-3 KB each, plus a `.gitignore` and an ignored folder both searches skip. Queries, each run
both ways:

- rare:   a word in 1 file of 100 (about 200 matches: the tool shows 100 and counts the rest)
- common: a word on several lines of every file (about 100,000 matches)
- none:   a word no file holds (the cost of walking and reading the whole tree)

"raw rg" is `rg -n PATTERN` run in the tree root as a subprocess, output read to the end (what a
shell user would type). "grep tool" is `GrepTool.run` with the same pattern, the way the engine
calls it: its rg run (`--json`), parsing, ordering by modification time and formatting. Each is
run once to warm the page cache, then R times (default 15) alternately; the figure is the median
wall time of each, and the ratio tool / raw. Goal: <= 1.2x on every query; over 2x fails (exit 1).

    .venv/bin/python bench/grep.py [--files 20000] [--runs 15]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

GOAL = 1.2
HARD_STOP = 2.0
QUERIES = {"rare": "needle_rare", "common": "common_word", "none": "absent_everywhere"}


def make_tree(root: Path, files: int) -> None:
    rng = random.Random(7)
    words = ["alpha", "beta", "gamma", "delta", "value", "result", "config", "return", "self", "items"]
    per_dir = 100
    for index in range(files):
        folder = root / f"pkg{index // per_dir:03}"
        if index % per_dir == 0:
            folder.mkdir(parents=True, exist_ok=True)
        lines = []
        for line_no in range(rng.randint(30, 90)):
            text = " ".join(rng.choice(words) for _ in range(rng.randint(3, 8)))
            if line_no % 10 == 3:
                text += " common_word"
            lines.append(f"    {text}")
        if index % 100 == 42:
            lines.insert(5, "    needle_rare = 1")
            lines.insert(20, "    needle_rare += 1")
        (folder / f"mod{index % per_dir:03}.py").write_text("def f():\n" + "\n".join(lines) + "\n")
    (root / ".gitignore").write_text("ignored/\n")
    (root / "ignored").mkdir()
    (root / "ignored" / "skip.py").write_text("needle_rare common_word\n" * 50)


def raw_rg(rg: str, root: Path, pattern: str) -> float:
    start = time.perf_counter()
    subprocess.run(
        [rg, "-n", pattern], cwd=root, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
    )
    return time.perf_counter() - start


async def tool_grep(root: Path, pattern: str, data_dir: Path) -> tuple[float, str]:
    from opencode.tool.grep import GrepParams, GrepTool
    from opencode.tool.tool import ToolContext

    ctx = ToolContext("ses_bench", "msg_bench", "call_bench", "build", root, root, data_dir=data_dir)
    start = time.perf_counter()
    result = await GrepTool().run(GrepParams(pattern=pattern), ctx)
    return time.perf_counter() - start, result.output.splitlines()[0]


async def bench(files: int, runs: int, tmp: Path) -> int:
    from opencode.tool.ripgrep import rg_path

    rg = rg_path()
    root = tmp / "tree"
    started = time.perf_counter()
    make_tree(root, files)
    print(f"tree: {files:,} files in {root} ({time.perf_counter() - started:.1f} s to make)")
    print(f"{'query':<8}{'raw rg':>10}{'grep tool':>12}{'ratio':>8}  tool's first line")
    worst = 0.0
    for label, pattern in QUERIES.items():
        raw_rg(rg, root, pattern)
        _, first = await tool_grep(root, pattern, tmp / "data")
        raw_times: list[float] = []
        tool_times: list[float] = []
        for _ in range(runs):
            raw_times.append(raw_rg(rg, root, pattern))
            took, first = await tool_grep(root, pattern, tmp / "data")
            tool_times.append(took)
        raw, tool = statistics.median(raw_times), statistics.median(tool_times)
        ratio = tool / raw
        worst = max(worst, ratio)
        print(f"{label:<8}{raw * 1000:8.1f}ms{tool * 1000:10.1f}ms{ratio:7.2f}x  {first}")
    verdict = "ok" if worst <= GOAL else ("over goal" if worst <= HARD_STOP else "FAIL")
    print(f"worst ratio {worst:.2f}x (goal <= {GOAL}x, hard stop {HARD_STOP}x): {verdict}")
    return 0 if worst <= HARD_STOP else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=20_000, help="files in the generated tree (default 20000)")
    parser.add_argument("--runs", type=int, default=15, help="measured runs of each side per query (default 15)")
    args = parser.parse_args()
    if args.files < 100 or args.runs < 1:
        parser.error("--files must be >= 100 and --runs >= 1")
    with tempfile.TemporaryDirectory(prefix="bench-grep-") as tmp:
        return asyncio.run(bench(args.files, args.runs, Path(tmp)))


if __name__ == "__main__":
    sys.exit(main())
