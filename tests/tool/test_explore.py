"""explore: tree with sizes, languages, entry points, tests and git activity, fast on a big tree."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pytest

from opencode.tool.explore import ExploreParams, ExploreTool
from opencode.tool.registry import ToolRegistry
from opencode.tool.tool import PermissionRequest, ToolContext, ToolError


def put(root: Path, name: str, text: str = "x\n") -> Path:
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def git(root: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=Ada", "-c", "user.email=ada@example.com", "-c", "commit.gpgsign=false", *args],
        cwd=root,
        check=True,
        capture_output=True,
    )


@pytest.fixture
def sample(project: Path) -> Path:
    put(
        project,
        "pyproject.toml",
        '[project]\nname = "shop"\n[project.scripts]\nshop = "shop.cli:main"\n'
        '[tool.pytest.ini_options]\ntestpaths = ["tests"]\n',
    )
    put(
        project,
        "package.json",
        json.dumps(
            {
                "name": "shop-web",
                "main": "web/index.js",
                "bin": {"shopctl": "bin/shopctl.js"},
                "scripts": {"build": "vite build", "test": "vitest run"},
                "devDependencies": {"vitest": "^1.0.0"},
            }
        ),
    )
    put(project, "Makefile", ".PHONY: test\nbuild:\n\tgo build ./...\ntest: build\n\tpytest\nCC := gcc\n")
    put(project, "Dockerfile", "FROM python:3.12\n")
    put(project, "manage.py", "print('django')\n")
    put(project, "src/shop/__init__.py", "")
    put(project, "src/shop/__main__.py", "from shop.cli import main\nmain()\n")
    put(project, "src/shop/cli.py", "def main():\n    pass\n" * 10)
    put(project, "web/index.js", "console.log('hi')\n")
    put(project, "web/cart.test.js", "test('x', () => {})\n")
    put(project, "tests/conftest.py", "")
    put(project, "tests/test_cart.py", "def test_cart():\n    assert True\n")
    put(project, "tests/test_pay.py", "def test_pay():\n    assert True\n")
    put(project, "cmd/server/main.go", "package main\n")
    put(project, ".github/workflows/ci.yml", "on: push\n")
    put(project, "data/big.bin", "0" * 5000)
    put(project, ".gitignore", "secret/\n")
    put(project, "secret/key.txt", "hidden from the listing\n")
    put(project, "node_modules/left-pad/index.js", "module.exports = 1\n")
    return project


async def test_overview_of_a_small_project(ctx: ToolContext, sample: Path) -> None:
    asked: list[PermissionRequest] = []

    async def ask(request: PermissionRequest) -> None:
        asked.append(request)

    ctx.ask = ask
    result = await ExploreTool().run(ExploreParams(), ctx)
    out = result.output
    # 17 files: secret/ (gitignored) and node_modules (a default ignore) are not counted.
    assert out.startswith(f"{sample}/: 17 files, ")
    assert result.metadata["files"] == 17 and result.metadata["git"] is False
    assert "  data/  1 file, 4.9 KB" in out
    assert "  src/  3 files, " in out and "    shop/  3 files, " in out
    assert "secret" not in out and "left-pad" not in out
    assert "  Python: 7 files, " in out and "  JavaScript: 2 files, " in out and "  Go: 1 file, " in out
    assert "  pyproject.toml scripts: shop = shop.cli:main" in out
    assert "  package.json: package shop-web; main web/index.js; bin shopctl -> bin/shopctl.js" in out
    assert "    scripts: build: vite build; test: vitest run" in out
    assert "  go.mod" not in out and "  Go main packages: cmd/server/main.go" in out
    assert "manage.py" in out and "src/shop/__main__.py" in out
    assert "  containers: Dockerfile" in out
    assert "  Makefile targets: build, test" in out
    assert "  directories: tests/ (3 files)" in out
    assert "pytest/unittest style: 2" in out and "JS/TS *.test / *.spec: 1" in out
    assert "  frameworks: pytest, vitest" in out
    assert "  run with: npm test (vitest run), make test" in out
    assert "  CI: ci.yml" in out
    assert "Git" not in out  # not a repository: skipped quietly
    assert [(r.permission, r.patterns) for r in asked] == [("explore", [str(sample)])]


async def test_recent_git_activity(ctx: ToolContext, sample: Path) -> None:
    git(sample, "init", "-q", "-b", "main")
    git(sample, "add", ".")
    git(sample, "commit", "-q", "-m", "First import")
    for n in range(3):
        put(sample, "src/shop/cli.py", f"def main():\n    return {n}\n")
        git(sample, "commit", "-q", "-am", f"Tweak the CLI, round {n}")
    result = await ExploreTool().run(ExploreParams(), ctx)
    out = result.output
    assert "Git (branch main):" in out
    recent = out[out.index("  recent commits:") :].splitlines()[1:5]
    assert [line.split(maxsplit=3)[3] for line in recent] == [
        "Tweak the CLI, round 2",
        "Tweak the CLI, round 1",
        "Tweak the CLI, round 0",
        "First import",
    ]
    assert "Ada" in recent[0]
    assert "most changed files (last 4 commits): src/shop/cli.py (4)," in out
    assert result.metadata["git"] is True


async def test_a_subdirectory_and_bad_arguments(ctx: ToolContext, sample: Path) -> None:
    result = await ExploreTool().run(ExploreParams(path="tests"), ctx)
    assert result.output.startswith(f"{sample / 'tests'}/: 3 files")
    assert "Entry points: none recognised" in result.output
    with pytest.raises(ToolError, match="Search path not found"):
        await ExploreTool().run(ExploreParams(path="nowhere"), ctx)
    with pytest.raises(ToolError, match="is a file, not a directory"):
        await ExploreTool().run(ExploreParams(path="manage.py"), ctx)
    with pytest.raises(ToolError, match="path: expected a string"):
        await ToolRegistry([ExploreTool()]).execute("explore", {"path": 3}, ctx)


async def test_a_large_tree_is_fast_and_counted_right(ctx: ToolContext, project: Path) -> None:
    # 20,000 files: 20 packages x 10 modules x 100 files, sizes known exactly.
    expected_bytes = 0
    for p in range(20):
        for m in range(10):
            directory = project / f"pkg{p:02}" / f"mod{m}"
            directory.mkdir(parents=True)
            for f in range(100):
                ext = (".py", ".ts", ".go", ".md")[f % 4]
                data = b"y" * (f + 1)
                (directory / f"f{f:03}{ext}").write_bytes(data)
                expected_bytes += len(data)
    put(project, "node_modules/dep/index.js")  # ignored by default
    start = time.perf_counter()
    result = await ExploreTool().run(ExploreParams(), ctx)
    took = time.perf_counter() - start
    assert result.metadata == {"files": 20_000, "bytes": expected_bytes, "truncated": False, "git": False}
    out = result.output
    assert out.startswith(f"{project}/: 20,000 files, ")
    assert "  pkg00/  1,000 files, " in out and "  pkg19/  1,000 files, " in out
    for language in ("Python", "TypeScript", "Go", "Markdown"):
        assert f"  {language}: 5,000 files, " in out
    assert len(out) < 4000
    assert took < 10, f"explore took {took:.1f} s on 20k files"
