"""`opencode` in a real terminal (tmux): type a prompt, read the answer and a rendered diff off the screen."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from opencode.testing.model_server import Reply, ScriptedModelServer, Text, ToolCall

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="needs tmux")


@pytest.fixture
def tmux(tmp_path: Path) -> Iterator[list[str]]:
    """A private tmux server (its own socket), killed after the test."""
    base = ["tmux", "-S", str(tmp_path / "tmux.sock")]
    yield base
    subprocess.run([*base, "kill-server"], capture_output=True, check=False)


def screen(tmux: list[str], name: str) -> str:
    return subprocess.run([*tmux, "capture-pane", "-p", "-t", name], capture_output=True, text=True).stdout


def wait_for_screen(tmux: list[str], name: str, text: str, timeout: float = 20) -> str:
    deadline = time.monotonic() + timeout
    shown = ""
    while time.monotonic() < deadline:
        shown = screen(tmux, name)
        if text in shown:
            return shown
        time.sleep(0.2)
    raise AssertionError(f"{text!r} never showed; the screen:\n{shown}")


def test_opencode_in_a_terminal_answers_and_shows_the_diff(
    tmp_path: Path, isolated_env: Path, model_server: ScriptedModelServer, tmux: list[str]
) -> None:
    project = tmp_path / "project"
    (project / ".git").mkdir(parents=True)
    (project / "notes.txt").write_text("old line\n")
    config = {
        "model": "mine/test-model",
        "provider": {
            "mine": {
                "npm": "@ai-sdk/openai-compatible",
                "options": {"baseURL": model_server.base_url("openai-chat"), "apiKey": model_server.api_key},
                "models": {"test-model": {"tool_call": True}},
            }
        },
    }
    model_server.push(
        Reply([ToolCall("read", {"filePath": "notes.txt"})]),
        Reply([ToolCall("write", {"filePath": "notes.txt", "content": "brand new line\n"})]),
        Reply([Text("I rewrote notes.txt for you.")]),
    )
    # COLUMNS and LINES (xdist's workers set them) would pin the app to 80x24 inside the window.
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST") and k not in ("COLUMNS", "LINES")}
    env.update(OPENCODE_CONFIG_CONTENT=json.dumps(config), TERM="xterm-256color")
    name = f"oc-{uuid.uuid4().hex[:8]}"
    command = [sys.executable, "-m", "opencode"]
    subprocess.run(
        [*tmux, "new-session", "-d", "-s", name, "-x", "100", "-y", "40", "-c", str(project), *command],
        env=env,
        check=True,
    )
    wait_for_screen(tmux, name, "mine/test-model")
    subprocess.run([*tmux, "send-keys", "-t", name, "-l", "please rewrite the notes"], check=True)
    # On a loaded machine the prompt box may take a moment to take the keys: send Enter once they show.
    wait_for_screen(tmux, name, "please rewrite the notes")
    subprocess.run([*tmux, "send-keys", "-t", name, "Enter"], check=True)
    shown = wait_for_screen(tmux, name, "I rewrote notes.txt for you.")
    assert "please rewrite the notes" in shown
    assert "✓ write" in shown
    assert "-old line" in shown and "+brand new line" in shown
    assert (project / "notes.txt").read_text() == "brand new line\n"
    subprocess.run([*tmux, "send-keys", "-t", name, "-l", "/exit"], check=True)
    wait_for_screen(tmux, name, "/exit")
    subprocess.run([*tmux, "send-keys", "-t", name, "Enter"], check=True)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        alive = subprocess.run([*tmux, "has-session", "-t", name], capture_output=True).returncode == 0
        if not alive:
            break
        time.sleep(0.2)
    assert not alive, "opencode did not exit on /exit"
