"""`opencode run` answering the model's questions at the terminal, and plan mode across runs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from opencode.bus import QuestionInfo, QuestionOption
from opencode.cli.main import main
from opencode.cli.run import parse_answer
from opencode.testing.model_server import Reply, ScriptedModelServer, Text, ToolCall
from tests.cli.test_run_and_models import _Tty, custom_provider, use_config
from tests.cli.test_sessions_cli import export

QUESTION = {
    "questions": [
        {
            "question": "Which database?",
            "header": "Storage",
            "options": [
                {"label": "SQLite", "description": "one file"},
                {"label": "Postgres", "description": "a server"},
            ],
        }
    ]
}


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, model_server: ScriptedModelServer) -> Path:
    root = tmp_path / "project"
    (root / ".git").mkdir(parents=True)
    monkeypatch.chdir(root)
    monkeypatch.setattr("sys.stdin", _Tty())
    use_config(monkeypatch, custom_provider(model_server))
    return root


def tool_state(document: dict[str, Any], index: int = 0) -> dict[str, Any]:
    tools = [p for m in document["messages"] for p in m["parts"] if p["type"] == "tool"]
    return tools[index]["state"]


@pytest.mark.parametrize(
    ("typed", "answer"),
    [("2\n", "Postgres"), ("7\n1\n", "SQLite"), ("\nMySQL, please\n", "MySQL, please")],
    ids=["number", "out-of-range-then-number", "own-answer"],
)
def test_run_asks_the_question_at_the_terminal(
    typed: str,
    answer: str,
    project: Path,
    model_server: ScriptedModelServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr("sys.stdin", _Tty(typed))
    model_server.push(Reply([ToolCall("question", QUESTION)]), Reply([Text("noted")]))
    assert main(["run", "-m", "mine/my-model", "set up storage"]) == 0
    err = capsys.readouterr().err
    assert "question: Storage\n  Which database?\n  1. SQLite - one file\n  2. Postgres - a server\n" in err
    assert "Choose with its number, or type your own answer." in err
    state = tool_state(export(capsys))
    assert state["status"] == "completed" and state["metadata"]["answers"] == [[answer]]
    told = [m["content"] for m in model_server.requests[-1].json["messages"] if m["role"] == "tool"]
    assert f'"Which database?" = "{answer}"' in told[0]


def test_end_of_input_dismisses_the_question(
    project: Path,
    model_server: ScriptedModelServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr("sys.stdin", _Tty(""))
    model_server.push(Reply([ToolCall("question", QUESTION)]), Reply([Text("ok")]))
    assert main(["run", "-m", "mine/my-model", "set up storage"]) == 0
    assert "(no answer: the question was dismissed)" in capsys.readouterr().err
    state = tool_state(export(capsys))
    assert state["status"] == "error" and "dismissed the question" in state["error"]


def test_without_a_terminal_the_model_decides(
    project: Path, model_server: ScriptedModelServer, capsys: pytest.CaptureFixture[str]
) -> None:
    model_server.push(Reply([ToolCall("question", QUESTION)]), Reply([Text("I picked SQLite")]))
    assert main(["run", "-m", "mine/my-model", "--format", "json", "set up storage"]) == 0
    assert "question:" not in capsys.readouterr().err
    state = tool_state(export(capsys))
    assert state["status"] == "error" and "decide yourself" in state["error"]


def test_plan_mode_carries_over_to_run_continue_and_approval_at_the_terminal(
    project: Path,
    model_server: ScriptedModelServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    model_server.push(Reply([ToolCall("plan_enter", {})]), Reply([Text("Planning first.")]))
    assert main(["run", "-m", "mine/my-model", "refactor the cache"]) == 0
    assert "plan mode" in json.dumps(model_server.requests[1].json["messages"][0])

    # The next run of the session is still in plan mode; the plan is approved at the terminal.
    monkeypatch.setattr("sys.stdin", _Tty("1\n"))
    model_server.push(
        Reply([ToolCall("plan_exit", {"plan": "1. Write cache.txt"})]),
        Reply([ToolCall("write", {"filePath": "cache.txt", "content": "done\n"})]),
        Reply([Text("implemented")]),
    )
    assert main(["run", "-m", "mine/my-model", "-c", "looks good, go"]) == 0
    err = capsys.readouterr().err
    assert "question: Plan\n  1. Write cache.txt\n" in err and "1. Approve - Switch to build" in err
    first, second = model_server.requests[2], model_server.requests[3]
    assert "You are OpenCode in plan mode" in json.dumps(first.json["messages"][0])
    assert "write" in [t["function"]["name"] for t in second.json["tools"]]
    assert (project / "cache.txt").read_text() == "done\n"


def test_parse_answer() -> None:
    pick = QuestionInfo(question="q", options=[QuestionOption(label="a"), QuestionOption(label="b")])
    many = pick.model_copy(update={"multiple": True})
    fixed = pick.model_copy(update={"custom": False})
    assert parse_answer(pick, "2") == ["b"]
    assert parse_answer(pick, "1, 2") is None  # one only
    assert parse_answer(many, "2, 1, 2") == ["b", "a"]
    assert parse_answer(pick, "0") is None
    assert parse_answer(pick, "") is None
    assert parse_answer(pick, "neither") == ["neither"]
    assert parse_answer(fixed, "neither") is None
    assert parse_answer(QuestionInfo(question="How many?"), "3") == ["3"]
