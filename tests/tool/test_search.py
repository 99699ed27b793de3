"""glob, grep and list on a real tree: ignore files, hidden files, newest-first order, caps."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from opencode.tool import ripgrep
from opencode.tool.glob import GlobParams, GlobTool
from opencode.tool.grep import GrepParams, GrepTool
from opencode.tool.ls import ListParams, ListTool
from opencode.tool.tool import ToolContext, ToolError


def put(root: Path, name: str, text: str, mtime: int) -> Path:
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    os.utime(path, (mtime, mtime))
    return path


@pytest.fixture
def tree(project: Path) -> Path:
    put(project, ".gitignore", "generated.py\nlogs/\n", 1_000)
    put(project, "old.py", "needle = 'old'\n", 1_000_000)
    put(project, "src/new.py", "x = 1\nneedle = 'new'\n", 3_000_000)
    put(project, "src/mid.py", "needle = 'mid'\n", 2_000_000)
    put(project, "src/readme.txt", "a needle in text\n", 1_500_000)
    put(project, "generated.py", "needle = 'ignored'\n", 4_000_000)
    put(project, "logs/run.py", "needle = 'ignored log'\n", 4_000_000)
    put(project, "node_modules/dep/index.py", "needle = 'dep'\n", 4_000_000)
    put(project, ".github/ci.py", "needle = 'hidden'\n", 500_000)
    return project


async def test_glob_lists_matches_newest_first_and_respects_gitignore(ctx: ToolContext, tree: Path) -> None:
    result = await GlobTool().run(GlobParams(pattern="**/*.py"), ctx)
    lines = result.output.splitlines()
    # node_modules is not gitignored here, so glob finds it (list leaves it out by default).
    assert lines == [
        str(tree / "node_modules/dep/index.py"),
        str(tree / "src/new.py"),
        str(tree / "src/mid.py"),
        str(tree / "old.py"),
    ]
    assert result.metadata == {"count": 4, "truncated": False}


async def test_glob_finds_hidden_files_when_the_pattern_names_them(ctx: ToolContext, tree: Path) -> None:
    result = await GlobTool().run(GlobParams(pattern=".github/**"), ctx)
    assert result.output.splitlines() == [str(tree / ".github/ci.py")]


async def test_glob_in_a_subdirectory_and_with_no_match(ctx: ToolContext, tree: Path) -> None:
    sub = await GlobTool().run(GlobParams(pattern="*.txt", path="src"), ctx)
    assert sub.output == str(tree / "src/readme.txt")
    none = await GlobTool().run(GlobParams(pattern="*.rs"), ctx)
    assert none.output == "No files found"
    with pytest.raises(ToolError, match="Search path not found"):
        await GlobTool().run(GlobParams(pattern="*", path="nowhere"), ctx)


async def test_glob_caps_at_100_files_with_a_note(ctx: ToolContext, project: Path) -> None:
    for i in range(130):
        put(project, f"f{i:03}.txt", "", 1_000_000 + i)
    result = await GlobTool().run(GlobParams(pattern="*.txt"), ctx)
    lines = result.output.splitlines()
    assert lines[0] == str(project / "f129.txt")
    assert lines[99] == str(project / "f030.txt")
    assert "Showing the 100 most recently modified of 130 files" in lines[-1]
    assert result.metadata == {"count": 100, "truncated": True}


async def test_grep_groups_by_file_newest_first(ctx: ToolContext, tree: Path) -> None:
    result = await GrepTool().run(GrepParams(pattern=r"needle = '\w+'"), ctx)
    assert result.output.splitlines() == [
        "Found 5 matches",
        f"{tree / 'node_modules/dep/index.py'}:",
        "  Line 1: needle = 'dep'",
        "",
        f"{tree / 'src/new.py'}:",
        "  Line 2: needle = 'new'",
        "",
        f"{tree / 'src/mid.py'}:",
        "  Line 1: needle = 'mid'",
        "",
        f"{tree / 'old.py'}:",
        "  Line 1: needle = 'old'",
        "",
        f"{tree / '.github/ci.py'}:",
        "  Line 1: needle = 'hidden'",
    ]
    assert result.metadata["matches"] == 5


async def test_grep_include_path_and_no_match(ctx: ToolContext, tree: Path) -> None:
    txt = await GrepTool().run(GrepParams(pattern="needle", include="*.txt"), ctx)
    assert txt.output.splitlines()[1:] == [f"{tree / 'src/readme.txt'}:", "  Line 1: a needle in text"]
    # An including glob overrides .gitignore inside rg; the tool still leaves ignored files out.
    py = await GrepTool().run(GrepParams(pattern="needle", include="*.py"), ctx)
    assert py.metadata["matches"] == 5
    assert "generated.py" not in py.output
    one_file = await GrepTool().run(GrepParams(pattern="x", path="src/new.py"), ctx)
    assert one_file.output.splitlines()[1:] == [f"{tree / 'src/new.py'}:", "  Line 1: x = 1"]
    nothing = await GrepTool().run(GrepParams(pattern="haystack"), ctx)
    assert nothing.output == "No files found"


async def test_grep_reports_an_invalid_regex_in_rg_words(ctx: ToolContext, tree: Path) -> None:
    with pytest.raises(ToolError, match="regex parse error") as caught:
        await GrepTool().run(GrepParams(pattern="needle("), ctx)
    assert "unclosed group" in str(caught.value)


async def test_grep_caps_at_100_matches(ctx: ToolContext, project: Path) -> None:
    put(project, "many.txt", "hit\n" * 150, 1_000_000)
    result = await GrepTool().run(GrepParams(pattern="hit"), ctx)
    lines = result.output.splitlines()
    assert lines[0] == "Found 150 matches, showing the first 100"
    assert sum(1 for line in lines if line.startswith("  Line ")) == 100
    assert "Results truncated" in lines[-1]
    assert result.metadata["truncated"] is True


async def test_list_draws_a_tree_without_ignored_or_bulky_directories(ctx: ToolContext, tree: Path) -> None:
    result = await ListTool().run(ListParams(), ctx)
    assert result.output == (
        f"{tree}/\n  .github/\n    ci.py\n  src/\n    mid.py\n    new.py\n    readme.txt\n  .gitignore\n  old.py\n"
    )
    assert result.metadata == {"count": 6, "truncated": False}

    narrowed = await ListTool().run(ListParams(path="src", ignore=["*.txt"]), ctx)
    assert narrowed.output == f"{tree / 'src'}/\n  mid.py\n  new.py\n"


async def test_list_caps_at_100_files(ctx: ToolContext, project: Path) -> None:
    for i in range(120):
        put(project, f"d/f{i:03}.txt", "", 1_000_000)
    result = await ListTool().run(ListParams(), ctx)
    assert result.metadata == {"count": 100, "truncated": True}
    assert "(Showing 100 of 120 files." in result.output


async def test_a_missing_rg_is_a_clear_error(ctx: ToolContext, tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ripgrep, "find_rg", lambda: None)
    with pytest.raises(ToolError, match="ripgrep \\(rg\\) is not installed"):
        await GlobTool().run(GlobParams(pattern="*"), ctx)
