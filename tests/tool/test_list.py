"""list: opencode's default ignores on top of .gitignore, `ignore` globs, a tree that folds when cut."""

from __future__ import annotations

from pathlib import Path

import pytest

from opencode.tool.ls import LIMIT, ListParams, ListTool
from opencode.tool.registry import ToolRegistry
from opencode.tool.tool import ToolContext, ToolError


def put(root: Path, *names: str) -> None:
    for name in names:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("x\n")


async def test_default_ignores_leave_out_bulky_and_generated_directories(ctx: ToolContext, project: Path) -> None:
    put(project, "src/app.py", "README.md")
    bulky = [
        "node_modules/x/index.js",
        ".git/config",
        "dist/app.js",
        "build/lib/app.py",
        "src/__pycache__/app.cpython-311.pyc",
        ".venv/bin/python",
        "venv/lib/site.py",
        "target/debug/app",
        ".idea/workspace.xml",
        ".vscode/settings.json",
        "coverage/index.html",
        ".cache/thing",
        "tmp/scratch.txt",
        "temp/scratch.txt",
        "logs/today.log",
        ".pytest_cache/v/cache",
        "pkg.egg-info/PKG-INFO",
    ]
    put(project, *bulky)
    result = await ListTool().run(ListParams(), ctx)
    assert result.output == f"{project}/\n  src/\n    app.py\n  README.md\n"
    assert result.metadata == {"count": 2, "truncated": False}


async def test_gitignore_and_ignore_globs_combine(ctx: ToolContext, project: Path) -> None:
    (project / ".gitignore").write_text("secret/\n*.bak\n")
    put(project, "secret/key.txt", "a.bak", "a.py", "fixtures/big.json", "notes.log", "deep/x/trace.log")
    result = await ListTool().run(ListParams(ignore=["fixtures/", "*.log", "  "]), ctx)
    assert result.output == f"{project}/\n  .gitignore\n  a.py\n"


async def test_a_cut_keeps_an_overview_with_folded_directories(ctx: ToolContext, project: Path) -> None:
    put(project, "README.md", "pyproject.toml")
    put(project, *(f"src/pkg/mod{i:03}.py" for i in range(150)))
    put(project, *(f"tests/test_{i:03}.py" for i in range(40)))
    put(project, *(f"docs/guide/page{i}.md" for i in range(5)))
    result = await ListTool().run(ListParams(), ctx)
    lines = result.output.splitlines()
    assert lines[0] == f"{project}/"
    # Shallowest first: both top-level files and all of tests/ (depth 1) fit; src/pkg and docs/guide
    # (depth 2) get the rest of the 100 in path order: docs/guide/ in full, then src/pkg/ partly.
    assert "  README.md" in lines and "  pyproject.toml" in lines
    assert "  tests/" in lines and "    test_039.py" in lines
    assert "    guide/" in lines and "      page4.md" in lines
    shown = sum(1 for line in lines if line.strip().endswith((".py", ".md", ".toml")) and "..." not in line)
    assert shown == LIMIT == result.metadata["count"]
    assert f"      ... {150 - (LIMIT - 2 - 40 - 5)} more files" in lines
    assert result.metadata["truncated"] is True
    assert lines[-1].startswith(f"(Showing {LIMIT} of 197 files. The list stops at {LIMIT};")


async def test_directories_that_do_not_fit_show_their_file_count(ctx: ToolContext, project: Path) -> None:
    put(project, *(f"top{i:03}.txt" for i in range(LIMIT)))
    put(project, *(f"big/part{i}/file.txt" for i in range(7)), "small/one.txt")
    result = await ListTool().run(ListParams(), ctx)
    lines = result.output.splitlines()
    assert lines[1:3] == ["  big/ (7 files)", "  small/ (1 file)"]
    assert lines[3] == "  top000.txt"


async def test_bad_arguments_are_clear_errors(ctx: ToolContext, project: Path) -> None:
    put(project, "a.txt")
    with pytest.raises(ToolError, match="Search path not found"):
        await ListTool().run(ListParams(path="missing"), ctx)
    with pytest.raises(ToolError, match="is a file, not a directory"):
        await ListTool().run(ListParams(path="a.txt"), ctx)
    registry = ToolRegistry([ListTool()])
    with pytest.raises(ToolError, match="ignore: expected an array"):
        await registry.execute("list", {"ignore": "*.log"}, ctx)
