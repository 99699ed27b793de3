"""grep's streaming parser: odd paths, odd bytes, chunk boundaries, the order cap and the output cap."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from opencode.tool import grep
from opencode.tool.grep import Collector, GrepParams, GrepTool
from opencode.tool.tool import ToolContext


def put(root: Path, name: str, data: bytes, mtime: int) -> Path:
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    os.utime(path, (mtime, mtime))
    return path


async def test_a_path_with_a_newline_and_bytes_that_are_not_utf8(ctx: ToolContext, project: Path) -> None:
    put(project, "odd\nname.txt", b"hit one\n", 2_000_000)
    put(project, "latin.txt", b"caf\xe9 hit\r\n", 1_000_000)
    result = await GrepTool().run(GrepParams(pattern="hit"), ctx)
    assert result.output.splitlines() == [
        "Found 2 matches",
        f"{project}/odd",
        "name.txt:",
        "  Line 1: hit one",
        "",
        f"{project}/latin.txt:",
        "  Line 1: caf\ufffd hit",
    ]


def test_lines_split_across_chunks_are_joined(project: Path) -> None:
    put(project, "a.py", b"", 1)
    put(project, "b.py", b"", 2)
    output = b"a.py\x001:first\na.py\x003:second\nb.py\x007:third\n"
    collector = Collector(project)
    for index in range(0, len(output), 5):
        collector.feed(output[index : index + 5])
    collector.finish(drop_last=False)
    assert collector.counts == {b"a.py": 2, b"b.py": 1}
    assert collector.newest_first() == [b"b.py", b"a.py"]
    assert collector.lines(b"a.py", 10) == [b"1:first", b"3:second"]
    assert collector.lines(b"a.py", 1) == [b"1:first"]


def test_a_last_line_cut_by_the_cap_is_dropped(project: Path) -> None:
    collector = Collector(project)
    collector.feed(b"a.py\x001:whole\na.py\x002:cut in the mid")
    collector.finish(drop_last=True)
    assert collector.counts == {b"a.py": 1}


async def test_past_the_order_cap_the_note_says_so(
    ctx: ToolContext, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(grep, "MAX_ORDERED", 3)
    for index in range(8):
        put(project, f"f{index}.txt", b"hit\nhit\nhit\nhit\nhit\nhit\nhit\nhit\nhit\nhit\nhit\nhit\nhit\nhit\n", index)
    result = await GrepTool().run(GrepParams(pattern="hit"), ctx)
    lines = result.output.splitlines()
    assert lines[0] == "Found 112 matches, showing the first 100"
    assert "8 files matched and only the first 3 found were ordered by modification time" in lines[-1]
    assert result.metadata["files"] == 8


async def test_the_output_cap_stops_rg_and_counts_with_a_plus(
    ctx: ToolContext, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(grep, "MAX_RG_OUTPUT", 4096)
    put(project, "big.txt", b"".join(b"hit %d\n" % i for i in range(5000)), 1)
    result = await GrepTool().run(GrepParams(pattern="hit"), ctx)
    first = result.output.splitlines()[0]
    assert first.startswith("Found ") and first.endswith("+ matches, showing the first 100")
    assert int(first.split()[1].rstrip("+")) < 5000
    assert result.metadata["truncated"] is True
