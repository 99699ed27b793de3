"""`opencode mcp list` and `opencode mcp add`, run as the user runs them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.mcp.conftest import EVERYTHING, FLAKY, node


def opencode(cwd: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "opencode", *args],
        cwd=cwd,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2] / "src")},
    )


def test_list_shows_each_server_with_status_tools_and_size(project: Path) -> None:
    config = {
        "mcp": {
            "everything": {"type": "local", "command": [node(), str(EVERYTHING), "stdio"]},
            "flaky": {"type": "local", "command": [sys.executable, str(FLAKY)]},
            "broken": {"type": "local", "command": ["/no/such/server"]},
            "off": {"type": "remote", "url": "http://127.0.0.1:9/mcp", "enabled": False},
        }
    }
    (project / "opencode.json").write_text(json.dumps(config))
    done = opencode(project, "mcp", "list")
    assert done.returncode == 0, done.stderr
    lines = {line.split()[0]: line for line in done.stdout.splitlines()}
    assert set(lines) == {"everything", "flaky", "broken", "off"}
    assert "connected" in lines["flaky"] and "stdio, 7 tools" in lines["flaky"]
    assert "chars of tool definitions" in lines["flaky"]
    size = int(lines["flaky"].split(" tools, ")[1].split(" chars")[0].replace(",", ""))
    assert 300 < size < 3000
    assert "connected" in lines["everything"]
    assert "failed" in lines["broken"] and "/no/such/server" in lines["broken"]
    assert "disabled" in lines["off"]


def test_list_without_servers(project: Path) -> None:
    done = opencode(project, "mcp", "list")
    assert done.returncode == 0 and "no MCP servers configured" in done.stdout


def test_add_local_and_remote_with_flags(project: Path) -> None:
    done = opencode(
        project, "mcp", "add", "files", "--command", "npx -y some-server --root '/a b'", "--env", "K={env:X}"
    )
    assert done.returncode == 0, done.stderr
    done = opencode(
        project, "mcp", "add", "web", "--url", "https://example.com/mcp", "--header", "Authorization=Bearer t"
    )
    assert done.returncode == 0, done.stderr
    written = json.loads((project / "opencode.json").read_text())
    assert written["mcp"]["files"] == {
        "type": "local",
        "command": ["npx", "-y", "some-server", "--root", "/a b"],
        "environment": {"K": "{env:X}"},
    }
    assert written["mcp"]["web"] == {
        "type": "remote",
        "url": "https://example.com/mcp",
        "headers": {"Authorization": "Bearer t"},
    }
    again = opencode(project, "mcp", "add", "web", "--url", "https://example.com/other")
    assert again.returncode == 1 and "already" in again.stderr and len(again.stderr.strip().splitlines()) == 1


def test_add_global_and_bad_input(project: Path, isolated_env: Path) -> None:
    done = opencode(project, "mcp", "add", "g", "--url", "http://127.0.0.1:1/mcp", "--global")
    assert done.returncode == 0, done.stderr
    global_file = isolated_env / "config" / "opencode" / "opencode.json"
    assert json.loads(global_file.read_text())["mcp"]["g"]["url"] == "http://127.0.0.1:1/mcp"
    assert not (project / "opencode.json").exists()
    bad = opencode(project, "mcp", "add", "x", "--url", "ftp://nope")
    assert bad.returncode == 2 and "http://" in bad.stderr
    missing = opencode(project, "mcp", "add", "x")
    assert missing.returncode == 2 and "--command or --url" in missing.stderr
    both = opencode(project, "mcp", "add", "x", "--url", "http://a", "--command", "b")
    assert both.returncode == 2 and "not both" in both.stderr
    (project / "opencode.jsonc").write_text('{\n  // mine\n  "mcp": {}\n}\n')
    commented = opencode(project, "mcp", "add", "x", "--command", "b")
    assert commented.returncode == 1 and "comments" in commented.stderr


def test_add_asks_on_a_terminal(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import argparse

    from opencode.cli import mcp

    answers = iter(["asked", "local", "node server.js --flag"])
    monkeypatch.setattr("sys.stdin.isatty", lambda: True)
    monkeypatch.setattr("builtins.input", lambda prompt="": next(answers))
    monkeypatch.chdir(project)
    args: Any = argparse.Namespace(name=None, server_command=None, url=None, header=[], env=[], global_=False)
    assert mcp.add_main(args) == 0
    written = json.loads((project / "opencode.json").read_text())
    assert written["mcp"]["asked"] == {"type": "local", "command": ["node", "server.js", "--flag"]}
