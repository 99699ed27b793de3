"""Running corpus cases through the real `edit` tool, on files in a directory.

Each case: write the file, read it with the read tool (as the model must), call edit, compare
the bytes on disk. Outcomes:

    applied    the file is exactly the expected bytes
    refused    the tool refused (a ToolError) and the file is unchanged
    wrong      anything else: other bytes, or a change where a careful human would refuse
"""

from __future__ import annotations

import asyncio
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from opencode.tool.edit import EditParams, EditTool
from opencode.tool.read import ReadParams, ReadTool
from opencode.tool.tool import ToolContext, ToolError
from tests.tool.edit_corpus.cases import Case

Outcome = Literal["applied", "refused", "wrong"]


@dataclass
class Result:
    case: Case
    outcome: Outcome
    matcher: str = ""
    similarity: float = 0.0
    message: str = ""
    got: bytes = b""


@dataclass
class Tally:
    results: list[Result] = field(default_factory=list)

    @property
    def should_apply(self) -> list[Result]:
        return [r for r in self.results if r.case.expected is not None]

    @property
    def should_refuse(self) -> list[Result]:
        return [r for r in self.results if r.case.expected is None]

    @property
    def wrong(self) -> list[Result]:
        return [r for r in self.results if r.outcome == "wrong"]

    @property
    def applied_share(self) -> float:
        should = self.should_apply
        return sum(r.outcome == "applied" for r in should) / len(should) if should else 1.0

    def by_kind(self) -> dict[str, Counter[str]]:
        kinds: dict[str, Counter[str]] = defaultdict(Counter)
        for r in self.results:
            label = r.outcome
            if r.outcome == "refused" and r.case.expected is not None:
                label = "missed"
            kinds[r.case.kind][label] += 1
        return dict(sorted(kinds.items()))


async def run_case(case: Case, directory: Path, number: int) -> Result:
    root = directory / f"case{number:04d}"
    root.mkdir(parents=True)
    ctx = ToolContext(
        session_id="ses_corpus",
        message_id="msg_corpus",
        call_id=f"call_{number}",
        agent="build",
        root=root,
        cwd=root,
        data_dir=directory / "data",
    )
    path = root / case.name
    path.write_bytes(case.file)
    await ReadTool().run(ReadParams(filePath=case.name), ctx)
    params = EditParams(filePath=case.name, oldString=case.old, newString=case.new, replaceAll=case.replace_all)
    try:
        result = await EditTool().run(params, ctx)
    except ToolError as exc:
        got = path.read_bytes()
        outcome: Outcome = "refused" if got == case.file else "wrong"
        return Result(case, outcome, message=str(exc), got=got)
    got = path.read_bytes()
    outcome = "applied" if case.expected is not None and got == case.expected else "wrong"
    return Result(case, outcome, result.metadata.get("matcher", ""), result.metadata.get("similarity", 0.0), got=got)


async def run_all(cases: list[Case], directory: Path) -> Tally:
    tally = Tally()
    for number, case in enumerate(cases):
        tally.results.append(await run_case(case, directory, number))
    return tally


def run(cases: list[Case], directory: Path) -> Tally:
    return asyncio.run(run_all(cases, directory))
