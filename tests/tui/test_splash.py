"""The first frame (cli/splash.py): drawn before the app loads; keys typed meanwhile reach the prompt box;
on paths that do not reach the app (the guide, an error) the terminal is left as it was."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

from opencode.cli.splash import ENTER, LEAVE, frame
from opencode.testing.model_server import ScriptedModelServer
from tests.tui.test_e2e import screen, tmux, wait_for_screen

__all__ = ["tmux"]  # the fixture, used by name


def test_the_frame_draws_the_prompt_box_and_status_line_at_the_bottom() -> None:
    drawn = frame(80, 24, status="starting")
    assert "\x1b[21;1H┌" in drawn and "\x1b[23;1H└" in drawn  # box on rows 21-23
    assert "\x1b[24;1H" in drawn and "opencode  starting…" in drawn
    assert "Ask anything" in drawn
    assert all(len(line) <= 80 for line in ["┌" + "─" * 78 + "┐"])


def _env(config: dict[str, object] | None) -> dict[str, str]:
    # COLUMNS and LINES (xdist's workers set them) would pin the app to 80x24 inside a 100x30 window.
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST") and k not in ("COLUMNS", "LINES")}
    env["TERM"] = "xterm-256color"
    if config is not None:
        env["OPENCODE_CONFIG_CONTENT"] = json.dumps(config)
    return env


def test_keys_typed_before_the_app_is_up_land_in_the_prompt_box(
    tmp_path: Path, isolated_env: Path, model_server: ScriptedModelServer, tmux: list[str]
) -> None:
    project = tmp_path / "project"
    (project / ".git").mkdir(parents=True)
    config = {
        "model": "mine/test-model",
        "provider": {
            "mine": {
                "npm": "@ai-sdk/openai-compatible",
                "options": {"baseURL": model_server.base_url("openai-chat"), "apiKey": model_server.api_key},
                "models": {"test-model": {}},
            }
        },
    }
    name = f"oc-{uuid.uuid4().hex[:8]}"
    subprocess.run(
        [
            *tmux,
            "new-session",
            "-d",
            "-s",
            name,
            "-x",
            "100",
            "-y",
            "30",
            "-c",
            str(project),
            sys.executable,
            "-m",
            "opencode",
        ],
        env=_env(config),
        check=True,
    )
    wait_for_screen(tmux, name, "opencode  starting")  # the splash: the app is still loading
    subprocess.run([*tmux, "send-keys", "-t", name, "-l", "typed early"], check=True)
    wait_for_screen(tmux, name, "mine/test-model")
    deadline = time.monotonic() + 20
    shown = screen(tmux, name)
    while time.monotonic() < deadline and ("typed early" not in shown or "opencode  starting" in shown):
        time.sleep(0.2)
        shown = screen(tmux, name)
    assert "typed early" in shown, shown  # the keys reached the prompt box
    assert "opencode  starting" not in shown, shown  # and the app drew over the whole frame


def test_without_a_provider_the_guide_prints_on_the_normal_screen(tmp_path: Path, isolated_env: Path) -> None:
    import pty
    import termios

    project = tmp_path / "project"
    (project / ".git").mkdir(parents=True)
    master, slave = pty.openpty()
    before = termios.tcgetattr(slave)
    done = subprocess.run(
        [sys.executable, "-m", "opencode"],
        cwd=project,
        env=_env(None),
        stdin=slave,
        stdout=slave,
        stderr=slave,
        timeout=60,
    )
    after = termios.tcgetattr(slave)
    os.close(slave)
    out = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
        if len(chunk) < 65536:
            break
    os.close(master)
    text = out.decode(errors="replace")
    assert done.returncode == 0
    assert ENTER in text and LEAVE in text
    assert text.index(LEAVE) < text.index("opencode auth login"), text  # the guide comes after the frame left
    assert after[3] & termios.ECHO and after[3] == before[3]  # echo and line mode as they were
