"""`opencode run` with sessions, `session list|delete`, `export`, `import`, `stats`; crash safety."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from opencode.cli.main import main
from opencode.testing.model_server import Reply, ScriptedModelServer, Text, ToolCall
from tests.cli.test_run_and_models import _Tty, custom_provider, use_config


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, model_server: ScriptedModelServer) -> Path:
    root = tmp_path / "project"
    (root / ".git").mkdir(parents=True)
    monkeypatch.chdir(root)
    monkeypatch.setattr("sys.stdin", _Tty())
    use_config(monkeypatch, custom_provider(model_server))
    return root


def sessions(capsys: pytest.CaptureFixture[str]) -> list[dict[str, object]]:
    capsys.readouterr()
    assert main(["session", "list", "--format", "json"]) == 0
    return json.loads(capsys.readouterr().out)


def export(capsys: pytest.CaptureFixture[str], session_id: str | None = None) -> dict:
    capsys.readouterr()
    assert main(["export", *([session_id] if session_id else [])]) == 0
    return json.loads(capsys.readouterr().out)


def test_run_creates_a_session_and_continue_reuses_it(
    project: Path, model_server: ScriptedModelServer, capsys: pytest.CaptureFixture[str]
) -> None:
    model_server.push(Reply([Text("first")]), Reply([Text("second")]), Reply([Text("third")]))
    assert main(["run", "-m", "mine/my-model", "--title", "My task", "hello"]) == 0
    (first,) = sessions(capsys)
    assert first["title"] == "My task"
    assert main(["run", "-m", "mine/my-model", "-c", "and again"]) == 0
    assert len(sessions(capsys)) == 1
    sent = model_server.requests[-1].json["messages"]
    assert [m["role"] for m in sent] == ["system", "user", "assistant", "user"]
    assert main(["run", "-m", "mine/my-model", "-s", str(first["id"]), "third"]) == 0
    document = export(capsys, str(first["id"]))
    texts = [p["text"] for m in document["messages"] for p in m["parts"] if p["type"] == "text"]
    assert texts == ["hello", "first", "and again", "second", "third", "third"]


def test_run_unknown_session_and_conflicting_flags(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "-m", "mine/my-model", "-s", "ses_nope", "hi"]) == 1
    assert "-s ses_nope: no such session" in capsys.readouterr().err
    assert main(["run", "-m", "mine/my-model", "-s", "ses_x", "-c", "hi"]) == 2
    assert "either -c/--continue or -s/--session" in capsys.readouterr().err


def test_tool_calls_are_one_line_each_on_stderr(
    project: Path, model_server: ScriptedModelServer, capsys: pytest.CaptureFixture[str]
) -> None:
    model_server.push(
        Reply([Text("Let me write it."), ToolCall("write", {"filePath": "out.txt", "content": "data\n"})]),
        Reply([ToolCall("read", {"filePath": "missing.txt"})]),
        Reply([Text("Done.")]),
    )
    assert main(["run", "-m", "mine/my-model", "write out.txt"]) == 0
    captured = capsys.readouterr()
    assert captured.out == "Let me write it.\nDone.\n"
    lines = captured.err.strip().splitlines()
    assert lines[0].startswith("| write") and lines[0].endswith("ok")
    assert lines[1].startswith("| read   error:")
    assert (project / "out.txt").read_text() == "data\n"


def test_session_list_table_and_delete(
    project: Path, model_server: ScriptedModelServer, capsys: pytest.CaptureFixture[str]
) -> None:
    model_server.push(Reply([Text("a")]), Reply([Text("b")]))
    assert main(["run", "-m", "mine/my-model", "first session"]) == 0
    assert main(["run", "-m", "mine/my-model", "second session"]) == 0
    capsys.readouterr()
    assert main(["session", "list", "-n", "1"]) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].split() == ["ID", "UPDATED", "TITLE"]
    assert len(table) == 2 and table[1].endswith("second session")
    doomed = sessions(capsys)[0]["id"]
    assert main(["session", "delete", str(doomed)]) == 0
    assert [s["title"] for s in sessions(capsys)] == ["first session"]
    assert main(["session", "delete", "ses_missing"]) == 1
    assert "no session 'ses_missing'" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_info:
        main(["session", "list", "-n", "0"])
    assert exit_info.value.code == 2
    assert "-n/--max-count: expected a number above 0, got 0" in capsys.readouterr().err


def test_export_import_round_trip(
    project: Path,
    model_server: ScriptedModelServer,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    model_server.push(Reply([ToolCall("list", {"path": "."})]), Reply([Text("listed")]))
    assert main(["run", "-m", "mine/my-model", "list files"]) == 0
    original = export(capsys)
    path = tmp_path / "export.json"
    path.write_text(json.dumps(original))
    # A fresh data directory: import, then export again gives the same document.
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "other-data"))
    assert main(["import", str(path)]) == 0
    assert "imported session" in capsys.readouterr().out
    assert export(capsys, original["info"]["id"]) == original
    sanitized = (capsys.readouterr(), main(["export", "--sanitize", original["info"]["id"]]))[1]
    assert sanitized == 0
    assert "list files" not in capsys.readouterr().out


def test_import_rejects_a_bad_file(project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"info": {"id": 3}}')
    assert main(["import", str(bad)]) == 1
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith(f"error: {bad}: not an opencode session export")


def test_stats_sums_tokens_and_cost(
    project: Path, model_server: ScriptedModelServer, capsys: pytest.CaptureFixture[str]
) -> None:
    from opencode.testing.model_server import ScriptUsage

    model_server.push(
        Reply([Text("a")], usage=ScriptUsage(input=100, output=10)),
        Reply([Text("b")], usage=ScriptUsage(input=50, output=5)),
    )
    assert main(["run", "-m", "mine/my-model", "one"]) == 0
    assert main(["run", "-m", "mine/my-model", "two"]) == 0
    capsys.readouterr()
    assert main(["stats", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    model = data["models"]["mine/my-model"]
    assert (model["messages"], model["input"], model["output"]) == (2, 150, 15)
    assert main(["stats"]) == 0
    assert "mine/my-model" in capsys.readouterr().out


def _spawn_run(project: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "opencode", "run", "-m", "mine/my-model", *args],
        cwd=project,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=os.environ.copy(),
    )


def _close(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        proc.kill()
        proc.wait(10)
    for stream in (proc.stdout, proc.stderr):
        if stream is not None:
            stream.close()


def _wait_for_output(proc: subprocess.Popen[str], needle: str, timeout: float = 20) -> str:
    import select

    assert proc.stdout is not None
    fd = proc.stdout.fileno()
    seen = b""
    deadline = time.monotonic() + timeout
    while needle.encode() not in seen:
        remaining = deadline - time.monotonic()
        assert remaining > 0, (
            f"no {needle!r} in {seen!r}; stderr: {proc.stderr.read() if proc.poll() is not None else ''}"
        )
        ready, _, _ = select.select([fd], [], [], min(remaining, 0.2))
        if ready:
            chunk = os.read(fd, 65536)
            assert chunk or proc.poll() is None, f"exited {proc.returncode} before {needle!r}"
            seen += chunk
    return seen.decode()


def test_kill_9_while_streaming_loses_nothing_older_than_a_second(
    project: Path, model_server: ScriptedModelServer, capsys: pytest.CaptureFixture[str]
) -> None:
    model_server.push(Reply([Text("streamed before the kill. " * 4)], chunk_size=200, stall_after=3, stall_seconds=60))
    proc = _spawn_run(project, "--title", "crash test", "please stream")
    try:
        _wait_for_output(proc, "streamed before the kill.")
        time.sleep(1.5)  # the flusher stores streamed text once a second
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    finally:
        _close(proc)
    (listed,) = sessions(capsys)
    assert listed["title"] == "crash test"
    document = export(capsys, str(listed["id"]))
    user, assistant = document["messages"]
    assert [p["text"] for p in user["parts"] if p["type"] == "text"] == ["please stream"]
    text = "".join(p["text"] for p in assistant["parts"] if p["type"] == "text")
    assert text.startswith("streamed before the kill.")
    # The session stays usable: the next run continues it.
    model_server.reset()
    model_server.push(Reply([Text("recovered")]))
    assert main(["run", "-m", "mine/my-model", "-c", "still there?"]) == 0
    assert capsys.readouterr().out == "recovered\n"


def test_ctrl_c_exits_130_and_marks_the_message_aborted(
    project: Path, model_server: ScriptedModelServer, capsys: pytest.CaptureFixture[str]
) -> None:
    model_server.push(Reply([Text("partial answer ")], chunk_size=200, stall_after=3, stall_seconds=60))
    proc = _spawn_run(project, "talk to me")
    try:
        _wait_for_output(proc, "partial answer")
        proc.send_signal(signal.SIGINT)
        assert proc.wait(10) == 130
    finally:
        _close(proc)
    (listed,) = sessions(capsys)
    document = export(capsys, str(listed["id"]))
    assistant = document["messages"][-1]["info"]
    assert assistant["error"]["name"] == "MessageAbortedError"
    assert assistant["time"]["completed"] > 0


def test_piped_stdin_message(
    project: Path,
    model_server: ScriptedModelServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("from a pipe"))
    model_server.push(Reply([Text("piped ok")]))
    assert main(["run", "-m", "mine/my-model"]) == 0
    assert capsys.readouterr().out == "piped ok\n"


def test_run_refuses_a_subagent(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "-m", "mine/my-model", "--agent", "explore", "hi"]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: explore is a subagent; primary agents: build, plan")


def test_run_command_expands_its_template(
    project: Path, model_server: ScriptedModelServer, capsys: pytest.CaptureFixture[str]
) -> None:
    commands = project / ".opencode" / "command"
    commands.mkdir(parents=True)
    (commands / "greet.md").write_text("---\ndescription: greet\n---\nSay hello to $1 and mention !`echo shell-ran`.\n")
    model_server.push(Reply([Text("hello")]))
    assert main(["run", "-m", "mine/my-model", "--command", "greet", "Ada"]) == 0
    sent = json.dumps(model_server.requests[-1].json["messages"][-1])
    assert "Say hello to Ada" in sent and "shell-ran" in sent
    assert main(["run", "-m", "mine/my-model", "--command", "nope"]) == 1
    assert "--command nope: no such command" in capsys.readouterr().err


@pytest.mark.parametrize(("answer", "status"), [("o\n", "completed"), ("r\n", "error"), ("", "error")])
def test_run_asks_at_the_terminal(
    answer: str,
    status: str,
    project: Path,
    model_server: ScriptedModelServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    config = custom_provider(model_server)
    config["permission"] = {"bash": "ask"}
    use_config(monkeypatch, config)
    monkeypatch.setattr("sys.stdin", _Tty(answer))
    model_server.push(
        Reply([ToolCall("bash", {"command": "echo asked-and-ran", "description": "x"})]), Reply([Text("ok")])
    )
    assert main(["run", "-m", "mine/my-model", "go"]) == 0
    err = capsys.readouterr().err
    assert "permission: bash echo asked-and-ran" in err
    assert "allow [o]nce, [a]lways for this session, or [r]eject?" in err
    document = export(capsys)
    tool = next(p for m in document["messages"] for p in m["parts"] if p["type"] == "tool")
    assert tool["state"]["status"] == status
    if status == "completed":
        assert "asked-and-ran" in tool["state"]["output"]
