"""`opencode agent list` and `opencode agent create`."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from opencode.agent.agents import load_agents, parse_markdown
from opencode.cli.main import main
from opencode.config.schema import Config


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "project"
    (root / ".git").mkdir(parents=True)
    monkeypatch.chdir(root)
    monkeypatch.setattr("sys.stdin", io.StringIO())  # not a terminal
    return root.resolve()


def test_list_shows_builtins_and_custom_agents(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    agent_file = project / ".opencode" / "agent" / "docs.md"
    agent_file.parent.mkdir(parents=True)
    agent_file.write_text("---\ndescription: Writes the docs\nmode: subagent\n---\nWrite docs.\n")
    assert main(["agent", "list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    rows = {line.split()[0]: line for line in lines}
    assert len(lines) == 11
    assert lines[0].startswith("build (default)")
    assert "primary" in rows["plan"] and "built-in" in rows["plan"]
    assert "subagent" in rows["explore"] and "built-in" in rows["explore"]
    assert (
        "subagent" in rows["docs"] and ".opencode/agent/docs.md" in rows["docs"] and "Writes the docs" in rows["docs"]
    )
    assert "built-in" not in rows["docs"]


def test_list_marks_a_builtin_changed_by_config(
    project: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENCODE_CONFIG_CONTENT", '{"agent": {"plan": {"model": "a/b"}}, "default_agent": "plan"}')
    assert main(["agent", "list"]) == 0
    out = capsys.readouterr().out
    assert "plan (default)" in out and "built-in, changed in config: agent.plan" in out


def test_list_reports_a_broken_agent_file_in_one_line(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    broken = project / ".opencode" / "agent" / "broken.md"
    broken.parent.mkdir(parents=True)
    broken.write_text("---\ntemperature: hot\n---\n")
    assert main(["agent", "list"]) == 1
    err = capsys.readouterr().err
    assert err == f'error: {broken}: temperature: expected a number, got "hot"\n'


def test_create_writes_a_markdown_agent_that_loads_back(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["agent", "create", "--name", "sql-review", "--description", "Reviews SQL migrations", "--mode", "subagent"]
    assert main([*argv, "-m", "anthropic/claude-sonnet-4-5", "--tools", "read,grep", "--prompt", "Check locks."]) == 0
    target = project / ".opencode" / "agent" / "sql-review.md"
    assert capsys.readouterr().out == f"created {target}\n"
    front, body = parse_markdown(target)
    assert front["description"] == "Reviews SQL migrations" and front["mode"] == "subagent"
    assert front["model"] == "anthropic/claude-sonnet-4-5"
    assert front["tools"]["read"] is True and front["tools"]["grep"] is True and front["tools"]["write"] is False
    assert body.strip() == "Check locks."
    agent = load_agents(Config(), project, project)["sql-review"]
    assert (agent.mode, agent.model, agent.prompt) == ("subagent", "anthropic/claude-sonnet-4-5", "Check locks.")
    assert agent.tool_enabled("grep") and not agent.tool_enabled("bash")


def test_create_derives_a_prompt_and_honours_path(project: Path) -> None:
    assert main(["agent", "create", "--name", "helper", "--description", "Helps with chores", "--path", "agents"]) == 0
    front, body = parse_markdown(project / "agents" / "helper.md")
    assert front == {"description": "Helps with chores", "mode": "all"}
    assert "helper" in body and "Helps with chores" in body


def test_create_refuses_to_overwrite(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = project / ".opencode" / "agent" / "mine.md"
    target.parent.mkdir(parents=True)
    target.write_text("keep me\n")
    assert main(["agent", "create", "--name", "mine", "--description", "x"]) == 1
    assert "already exists" in capsys.readouterr().err
    assert target.read_text() == "keep me\n"


@pytest.mark.parametrize(
    ("argv", "flag"),
    [(["--description", "x"], "--name"), (["--name", "abc"], "--description")],
)
def test_missing_flags_without_a_terminal(
    project: Path, capsys: pytest.CaptureFixture[str], argv: list[str], flag: str
) -> None:
    assert main(["agent", "create", *argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: missing {flag}") and err.count("\n") == 1
    assert not (project / ".opencode").exists()


def test_invalid_name(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["agent", "create", "--name", "Bad Name", "--description", "x"]) == 1
    assert "not a valid agent name" in capsys.readouterr().err


def test_create_asks_on_a_terminal(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdin", _Tty())
    answers = iter(["asker", "Answers from the terminal", "nonsense", "primary"])
    monkeypatch.setattr("builtins.input", lambda prompt="": next(answers))
    assert main(["agent", "create"]) == 0
    front, _ = parse_markdown(project / ".opencode" / "agent" / "asker.md")
    assert front == {"description": "Answers from the terminal", "mode": "primary"}
