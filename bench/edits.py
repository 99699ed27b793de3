"""The edit corpus through the real `edit` tool: applied correctly, refused, applied wrongly.

Every case of tests/tool/edit_corpus runs on a file in a temporary directory (written, read with
the read tool, then edited). Figures for the whole corpus and per failure kind; the goal is
>= 95% of the cases a careful human would apply applied, and 0 applied wrongly, ever.
Exit status 1 when any case was applied wrongly (or the share is under the goal).

    .venv/bin/python bench/edits.py [-v]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.tool.edit_corpus.cases import all_cases
from tests.tool.edit_corpus.runner import Tally, run

GOAL = 0.95


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-v", "--verbose", action="store_true", help="list every miss and wrong edit")
    args = parser.parse_args()
    cases = all_cases()
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="opencode-edits-") as directory:
        tally = run(cases, Path(directory))
    took = time.perf_counter() - start
    report(tally, args.verbose)
    print(f"({len(cases)} cases in {took:.2f} s)")
    return 0 if not tally.wrong and tally.applied_share >= GOAL else 1


def report(tally: Tally, verbose: bool) -> None:
    should = tally.should_apply
    applied = sum(r.outcome == "applied" for r in tally.results)
    refused = sum(r.outcome == "refused" for r in tally.results)
    refused_right = sum(r.outcome == "refused" for r in tally.should_refuse)
    print(f"cases              {len(tally.results):5d}  ({len(should)} to apply, {len(tally.should_refuse)} to refuse)")
    print(f"applied correctly  {applied:5d}  ({tally.applied_share:.1%} of the cases to apply; goal >= {GOAL:.0%})")
    print(f"refused            {refused:5d}  ({refused_right} rightly, {refused - refused_right} missed)")
    print(f"applied wrongly    {len(tally.wrong):5d}  (goal 0)")
    print()
    print(f"{'failure kind':34} {'cases':>5} {'applied':>8} {'refused':>8} {'missed':>7} {'wrong':>6}")
    for kind, counts in tally.by_kind().items():
        total = sum(counts.values())
        print(
            f"{kind:34} {total:5d} {counts['applied']:8d} {counts['refused']:8d} {counts['missed']:7d} "
            f"{counts['wrong']:6d}"
        )
    matchers: dict[str, int] = {}
    for r in tally.results:
        if r.outcome == "applied":
            matchers[r.matcher] = matchers.get(r.matcher, 0) + 1
    print()
    print("applied by matcher: " + ", ".join(f"{m} {n}" for m, n in sorted(matchers.items(), key=lambda x: -x[1])))
    if verbose:
        for r in tally.results:
            if r.outcome == "wrong" or (r.outcome == "refused" and r.case.expected is not None):
                print(f"\n{r.outcome.upper()} {r.case.id}\n  old: {r.case.old!r}\n  new: {r.case.new!r}")
                print(f"  got: {r.got!r}\n  expected: {r.case.expected!r}\n  message: {r.message[:400]}")


if __name__ == "__main__":
    raise SystemExit(main())
