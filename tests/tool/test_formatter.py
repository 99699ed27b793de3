"""Formatters after file tools: real formatter processes, config shapes, failures, the diff and read records."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

from opencode.config.schema import Config
from opencode.session.model import ToolPart
from opencode.testing.model_server import Reply, ScriptedModelServer, Text, ToolCall
from opencode.tool.filetimes import FileTimes
from opencode.tool.formatter import (
    BUILTINS,
    Outcome,
    apply_formatters,
    format_files,
    formatters,
    original_text,
    refresh_diff,
)
from opencode.tool.tool import ToolResult
from opencode.tool.write import unified_diff

TIDY = """\
import sys
from pathlib import Path

path = Path(sys.argv[1])
text = path.read_text()
lines = [line.replace("\\t", "    ").rstrip() for line in text.splitlines()]
path.write_text("\\n".join(lines) + "\\n")
"""
FAILING = "import sys\nsys.stderr.write('cannot parse line 3\\nmore detail\\n')\nsys.exit(2)\n"
SLOW = "import time\ntime.sleep(30)\n"


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    (root / ".git").mkdir(parents=True)
    return root.resolve()


def script(tmp_path: Path, name: str, text: str) -> list[str]:
    path = tmp_path / name
    path.write_text(text)
    return [sys.executable, str(path), "$FILE"]


def config(**formatter: Any) -> Any:
    return Config.model_validate({"formatter": formatter}).formatter


def make_engine(project: Path, server: ScriptedModelServer, extra: dict[str, Any]) -> tuple[Any, str]:
    from opencode.agent.engine import Engine
    from opencode.provider.registry import Registry
    from opencode.session.sqlite import SQLiteStore

    entry = {
        "npm": "@ai-sdk/openai-compatible",
        "options": {"baseURL": server.base_url("openai-chat"), "apiKey": server.api_key, "maxRetries": 0},
        "models": {"test-model": {"tool_call": True}},
    }
    conf = Config.model_validate({"provider": {"mine": entry}, **extra})
    registry = Registry.load(conf, environ={}, credentials={})
    store = SQLiteStore(project.parent / "store.db")
    return Engine(cwd=project, config=conf, registry=registry, store=store), "mine/test-model"


def tool_parts(engine: Any, session_id: str) -> list[ToolPart]:
    return [p for m in engine.store.list_messages(session_id) for p in m.parts if isinstance(p, ToolPart)]


async def test_the_loop_formats_after_write_and_the_next_edit_is_not_stale(
    repo: Path, tmp_path: Path, model_server: ScriptedModelServer
) -> None:
    tidy = {"command": script(tmp_path, "tidy.py", TIDY), "extensions": [".txt"]}
    engine, model = make_engine(repo, model_server, {"formatter": {"tidy": tidy}})
    model_server.push(
        Reply([ToolCall("write", {"filePath": "notes.txt", "content": "alpha\t\nbeta   \n"}, id="w")]),
        # No read in between: the formatted text is what the session knows now.
        Reply([ToolCall("edit", {"filePath": "notes.txt", "oldString": "beta", "newString": "gamma\t"}, id="e")]),
        Reply([Text("done")]),
    )
    session = engine.create_session()
    await engine.prompt(session.id, "write notes", model=model)
    assert (repo / "notes.txt").read_bytes() == b"alpha\ngamma\n"
    write, edit = tool_parts(engine, session.id)
    assert write.state.status == "completed" and edit.state.status == "completed", edit.state
    assert "notes.txt was reformatted by tidy" in write.state.output  # type: ignore[union-attr]
    meta = write.state.metadata  # type: ignore[union-attr]
    assert meta["formatted"] == ["notes.txt"]
    assert meta["diff"] == unified_diff("", "alpha\nbeta\n", "notes.txt")
    assert (meta["additions"], meta["deletions"]) == (2, 0)
    # The model heard about it in the tool result.
    tool_messages = [m for m in model_server.requests[1].json["messages"] if m["role"] == "tool"]
    assert "reformatted by tidy" in tool_messages[0]["content"]


async def test_a_failing_formatter_is_a_note_not_a_failure(repo: Path, tmp_path: Path) -> None:
    target = repo / "a.txt"
    target.write_text("x  \n")
    result = ToolResult("Wrote a.txt.", metadata={"filePath": str(target), "diff": ""})
    broken = {"command": script(tmp_path, "broken.py", FAILING), "extensions": [".txt"]}
    outcomes = await apply_formatters(result, repo, config(broken=broken))
    assert target.read_text() == "x  \n"
    assert outcomes[0].errors and not outcomes[0].changed
    assert result.output == (
        "Wrote a.txt.\n\nNote: formatter broken exited with code 2: cannot parse line 3 more detail on a.txt; "
        "the file was left as written."
    )


async def test_a_formatter_that_hangs_is_stopped(repo: Path, tmp_path: Path) -> None:
    target = repo / "slow.txt"
    target.write_text("x\n")
    result = ToolResult("ok", metadata={"filePath": str(target)})
    slow = {"command": script(tmp_path, "slow.py", SLOW), "extensions": [".txt"]}
    await apply_formatters(result, repo, config(slow=slow), timeout_s=0.5)
    assert "Note: formatter slow timed out after" in result.output
    assert target.read_text() == "x\n"


async def test_only_files_inside_the_project_and_only_matching_extensions(repo: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside.txt"
    outside.write_text("keep\t \n")
    inside_md = repo / "doc.md"
    inside_md.write_text("keep\t \n")
    inside = repo / "sub/in.txt"
    inside.parent.mkdir()
    inside.write_text("fix\t \n")
    tidy = {"command": script(tmp_path, "tidy.py", TIDY), "extensions": [".txt"]}
    outcomes = await format_files([outside, inside_md, inside, repo / "missing.txt"], repo, config(tidy=tidy))
    assert [o.path for o in outcomes] == [inside]
    assert inside.read_text() == "fix\n"
    assert outside.read_text() == "keep\t \n" and inside_md.read_text() == "keep\t \n"


async def test_files_metadata_and_read_records(repo: Path, tmp_path: Path) -> None:
    one, two = repo / "one.txt", repo / "two.txt"
    one.write_text("a\t\n")
    two.write_text("b\n")
    times = FileTimes()
    times.record(one, b"a\t\n")
    result = ToolResult("Patched.", metadata={"files": [str(one), {"filePath": str(two)}]})
    tidy = {"command": script(tmp_path, "tidy.py", TIDY), "extensions": [".txt"]}
    await apply_formatters(result, repo, config(tidy=tidy), times)
    record = times.get(one)
    assert record is not None and record.content == b"a\n"
    assert times.get(two) is None  # unchanged by the formatter: nothing to record
    assert result.metadata["formatted"] == ["one.txt"]
    assert result.output.count("reformatted") == 1


def test_config_shapes() -> None:
    names = [f.name for f in formatters(None)]
    assert names == [f.name for f in BUILTINS] and "ruff" in names and "prettier" in names
    assert formatters(False) == []
    assert formatters(True) == formatters(None)
    tweaked = formatters(config(prettier={"disabled": True}, ruff={"extensions": [".py"]}, mine={"extensions": [".x"]}))
    tweaked_names = [f.name for f in tweaked]
    assert "prettier" not in tweaked_names and "mine" not in tweaked_names  # no command: nothing to run
    replaced = {f.name: f for f in formatters(config(ruff={"command": ["black", "$FILE"]}))}
    assert replaced["ruff"].extensions == (".py", ".pyi")
    assert replaced["ruff"].detect(Path("/x/a.py"), Path("/x")) == ["black", "$FILE"]


async def test_formatter_false_runs_nothing(repo: Path, tmp_path: Path) -> None:
    target = repo / "a.txt"
    target.write_text("x\t\n")
    result = ToolResult("ok", metadata={"filePath": str(target)})
    assert await apply_formatters(result, repo, False) == []
    assert target.read_text() == "x\t\n" and result.output == "ok"


@pytest.mark.skipif(not (Path(sys.executable).parent / "ruff").exists(), reason="ruff is not in the venv")
async def test_ruff_formats_python_in_a_project_that_uses_it(repo: Path) -> None:
    (repo / "pyproject.toml").write_text('[project]\nname = "demo"\n\n[tool.ruff]\nline-length = 100\n')
    (repo / ".venv/bin").mkdir(parents=True)
    (repo / ".venv/bin/ruff").symlink_to(Path(sys.executable).parent / "ruff")
    target = repo / "pkg/mod.py"
    target.parent.mkdir()
    target.write_text("x = {'a':1,  'b' : 2}\ndef f( y ):\n  return y\n")
    result = ToolResult("Wrote pkg/mod.py.", metadata={"filePath": str(target)})
    outcomes = await apply_formatters(result, repo, None)
    assert target.read_text() == 'x = {"a": 1, "b": 2}\n\n\ndef f(y):\n    return y\n'
    assert [o.formatters for o in outcomes] == [["ruff"]]
    assert "pkg/mod.py was reformatted by ruff" in result.output


async def test_ruff_is_not_used_without_a_sign_the_project_uses_it(repo: Path) -> None:
    if not (Path(sys.executable).parent / "ruff").exists():
        pytest.skip("ruff is not in the venv")
    (repo / "pyproject.toml").write_text('[project]\nname = "demo"\n')
    (repo / ".venv/bin").mkdir(parents=True)
    (repo / ".venv/bin/ruff").symlink_to(Path(sys.executable).parent / "ruff")
    target = repo / "mod.py"
    target.write_text("x = {'a':1}\n")
    assert await format_files([target], repo, None) == []
    assert target.read_text() == "x = {'a':1}\n"


def test_the_diff_is_rebuilt_from_old_to_formatted() -> None:
    old = "".join(f"line {i}\n" for i in range(30))
    written = old.replace("line 3\n", "line  3 \n").replace("line 25\n", "line 25\nextra\t\n")
    formatted = written.replace("line  3 \n", "line 3\n").replace("extra\t\n", "extra\n")
    diff = unified_diff(old, written, "f.txt")
    assert original_text(written, diff.split("\n")) == old
    meta: dict[str, Any] = {"diff": diff, "additions": 2, "deletions": 1}
    outcome = Outcome(Path("/p/f.txt"), True, ["tidy"], [], written.encode(), formatted.encode())
    refresh_diff(meta, "f.txt", outcome)
    assert meta["diff"] == unified_diff(old, formatted, "f.txt")
    assert (meta["additions"], meta["deletions"]) == (1, 0)

    # No final newline on either side, and a diff that does not fit is left alone.
    assert original_text("b", unified_diff("a", "b", "x").split("\n")) == "a"
    assert original_text("something else\n", diff.split("\n")) is None


def test_two_file_diffs_keep_the_other_file() -> None:
    first = unified_diff("a\n", "a \n", "one.txt")
    second = unified_diff("x\n", "y\n", "two.txt")
    meta: dict[str, Any] = {"diff": first + second}
    refresh_diff(meta, "one.txt", Outcome(Path("/p/one.txt"), True, ["t"], [], b"a \n", b"a\n"))
    assert meta["diff"] == second
