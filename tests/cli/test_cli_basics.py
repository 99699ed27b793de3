"""The command line's shape: help, version, flag errors, start-up imports, debug verbs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from opencode import __version__
from opencode.cli.main import main

HEAVY = ("httpx", "pydantic", "textual", "fastapi", "starlette", "uvicorn", "anthropic", "openai", "rich", "litellm")


def run_cli(*args: str, stdin: str | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "opencode", *args],
        input=stdin if stdin is not None else "",
        capture_output=True,
        text=True,
        cwd=cwd,
        env=os.environ.copy(),
        timeout=60,
    )


@pytest.mark.parametrize("argv", [["--help"], ["run", "--help"], ["models", "--help"], ["auth", "--help"]])
def test_help_imports_nothing_heavy(argv: list[str]) -> None:
    code = (
        "import contextlib, io, sys\nfrom opencode.cli.main import main\n"
        "try:\n    with contextlib.redirect_stdout(io.StringIO()):\n"
        f"        main({argv!r})\nexcept SystemExit:\n    pass\n"
        "print(','.join(sorted(m for m, mod in sys.modules.items() if mod is not None and m.split('.')[0] in "
        + repr(HEAVY)
        + ")))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    loaded = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else ""
    assert loaded == "", f"--help imported {loaded}"


def test_the_run_path_leaves_out_what_it_does_not_use() -> None:
    # The engine with its tools, and httpx: no YAML (only agent files with front matter need it),
    # no httpx command-line client (click, pygments), and no tool module until a tool is called.
    code = (
        "import sys\nfrom opencode.agent.engine import Engine\nimport httpx, opencode.agent.agents\n"
        "from opencode.tool.registry import ToolRegistry\nToolRegistry.builtin()\n"
        "print(','.join(sorted(m for m in sys.modules if m.split('.')[0] in ('yaml', 'click', 'pygments')"
        " or m in ('opencode.tool.edit', 'opencode.tool.webfetch'))))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == ""


def test_help_lists_the_verbs(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    for verb in ("run", "models", "auth", "debug"):
        assert verb in out


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--version"])
    assert capsys.readouterr().out.strip() == __version__


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["run", "--format", "yaml", "hi"], "opencode run: --format: invalid choice yaml (choose from default, json)"),
        (["--log-level", "LOUD", "models"], "--log-level: invalid choice LOUD"),
        (["models", "--bogus"], "unrecognized arguments: --bogus"),
        (["auth", "frobnicate"], "opencode auth: <action>: invalid choice frobnicate"),
        (["run", "-m"], "-m/--model: expected one argument"),
    ],
)
def test_bad_flags_are_one_line_and_exit_2(argv: list[str], expected: str) -> None:
    result = run_cli(*argv)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert expected in lines[0]
    assert "Traceback" not in result.stderr


def test_run_without_message_is_a_usage_error() -> None:
    result = run_cli("run")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        'error: no message: pass it as arguments (opencode run "fix the tests") or on stdin'
    ]


def test_debug_paths_honour_xdg(isolated_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["debug", "paths"]) == 0
    out = dict(line.split(None, 1) for line in capsys.readouterr().out.strip().splitlines())
    assert out["config"] == str(isolated_env / "config" / "opencode")
    assert out["data"] == str(isolated_env / "data" / "opencode")
    assert out["cache"] == str(isolated_env / "cache" / "opencode")
    assert out["state"] == str(isolated_env / "state" / "opencode")


def test_debug_config_masks_secrets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".git").mkdir()
    (tmp_path / "opencode.json").write_text(
        json.dumps(
            {
                "model": "anthropic/claude-sonnet-4-5",
                "provider": {"anthropic": {"options": {"apiKey": "sk-ant-secret-1234567890"}}},
            }
        )
    )
    assert main(["debug", "config"]) == 0
    out = capsys.readouterr().out
    data = json.loads(out)
    assert data["model"] == "anthropic/claude-sonnet-4-5"
    assert "sk-ant-secret-1234567890" not in out
    assert data["provider"]["anthropic"]["options"]["apiKey"] != "sk-ant-secret-1234567890"


def test_bad_config_is_one_line_no_traceback(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / "opencode.json").write_text('{"agent": {"build": {"temperature": "hot"}}}')
    result = run_cli("models", cwd=tmp_path)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines() == [
        f'error: {tmp_path / "opencode.json"}: agent.build.temperature: expected a number, got "hot"'
    ]


def test_broken_json_names_file_line_and_column(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / "opencode.json").write_text('{\n  "model": "a/b"\n  "theme": "x"\n}')
    result = run_cli("debug", "config", cwd=tmp_path)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith(f"error: {tmp_path / 'opencode.json'}:3:")


def test_project_argument_must_be_a_directory(tmp_path: Path) -> None:
    result = run_cli(str(tmp_path / "missing"))
    assert result.returncode == 1
    assert result.stderr.strip() == f"error: {tmp_path / 'missing'}: not a directory"


def test_default_command_shows_the_guide_when_nothing_is_connected(tmp_path: Path) -> None:
    result = run_cli(cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "OpenCode needs a model provider" in result.stdout
    assert "opencode auth login anthropic" in result.stdout
    assert "ANTHROPIC_API_KEY" in result.stdout


def test_the_command_exits_with_the_verb_s_code_and_all_its_output(capsys: pytest.CaptureFixture[str]) -> None:
    # `entry` leaves without Python's teardown: the code and every byte written must survive it.
    listed = run_cli("models", "--verbose")
    assert listed.returncode == 0, listed.stderr
    assert main(["models", "--verbose"]) == 0
    assert listed.stdout == capsys.readouterr().out
    assert len(listed.stdout) > 8192  # more than one buffer's worth
    bad = run_cli("run", "--format", "yaml", "hi")
    assert bad.returncode == 2
    assert "--format" in bad.stderr and "Traceback" not in bad.stderr
    assert run_cli("--version").stdout.strip().endswith(__version__)
