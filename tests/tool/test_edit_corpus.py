"""The edit corpus through the real edit tool: never a wrong edit, and >= 95% of the edits a careful human makes.

Each case is one test that fails only when the edit went in wrong (other bytes than expected, or a
change where the case expects a refusal). A refusal of an edit that should go in is a miss: the
aggregate test allows at most 5% of them. See tests/tool/edit_corpus/cases.py for how the cases
are made, and bench/edits.py for the figures per failure kind.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from tests.tool.edit_corpus.cases import all_cases
from tests.tool.edit_corpus.runner import run_all, run_case

CASES = all_cases()


def test_the_corpus_is_large_and_varied() -> None:
    kinds = Counter(case.kind for case in CASES)
    assert len(CASES) >= 200
    assert len(kinds) >= 30
    assert sum(case.expected is None for case in CASES) >= 50, "enough cases a careful human would refuse"
    for kind in ("indent-less", "tabs-as-spaces", "crlf-file", "trailing-spaces-in-file", "escaped-newlines",
                 "smart-quotes-in-file", "partial-first-line", "duplicate-tolerant", "stale-changed-line",
                 "line-numbers", "missing-blank-line", "extra-blank-line", "already-applied"):  # fmt: skip
        assert kinds[kind] >= 3, kind


@pytest.mark.parametrize("number", range(len(CASES)), ids=[case.id for case in CASES])
async def test_case_is_never_applied_wrongly(number: int, tmp_path: Path) -> None:
    case = CASES[number]
    result = await run_case(case, tmp_path, number)
    if case.expected is None:
        assert result.outcome == "refused", f"applied although a careful human would refuse: {result.got!r}"
    else:
        assert result.outcome != "wrong", f"expected {case.expected!r}\n     got {result.got!r}"


async def test_at_least_95_percent_of_the_edits_to_make_are_made(tmp_path: Path) -> None:
    tally = await run_all(CASES, tmp_path)
    assert tally.wrong == []
    missed = [r.case.id for r in tally.should_apply if r.outcome != "applied"]
    assert tally.applied_share >= 0.95, f"missed {len(missed)}: {missed}"
