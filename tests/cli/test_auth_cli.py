"""`opencode auth login|list|logout`: keys stored 0600 in auth.json, listed masked with their source."""

from __future__ import annotations

import io
import json
import stat
from pathlib import Path

import pytest

from opencode.cli.main import main


def feed_stdin(monkeypatch: pytest.MonkeyPatch, text: str) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(text))


def test_login_stores_key_with_mode_0600(
    isolated_env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    feed_stdin(monkeypatch, "sk-ant-test-key-0001\n")
    assert main(["auth", "login", "anthropic"]) == 0
    path = isolated_env / "data" / "opencode" / "auth.json"
    assert json.loads(path.read_text()) == {"anthropic": {"type": "api", "key": "sk-ant-test-key-0001"}}
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    out = capsys.readouterr().out
    assert "sk-ant-test-key-0001" not in out
    assert "sk-a...0001" in out


def test_providers_alias_and_list_sources(
    isolated_env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    feed_stdin(monkeypatch, "gsk-groq-key-9999\n")
    assert main(["providers", "login", "--provider", "groq"]) == 0
    monkeypatch.setenv("OPENAI_API_KEY", "sk-openai-env-5678")
    capsys.readouterr()
    assert main(["auth", "list"]) == 0
    out = capsys.readouterr().out
    lines = {line.split()[0]: line for line in out.splitlines()[1:]}
    assert "gsk-...9999" in lines["groq"] and "auth.json" in lines["groq"]
    assert "sk-o...5678" in lines["openai"] and "env OPENAI_API_KEY" in lines["openai"]
    assert "gsk-groq-key-9999" not in out and "sk-openai-env-5678" not in out


def test_logout_removes_only_that_provider(
    isolated_env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for provider, key in (("anthropic", "sk-ant-aaaa-1111"), ("openai", "sk-oai-bbbb-2222")):
        feed_stdin(monkeypatch, key + "\n")
        assert main(["auth", "login", provider]) == 0
    assert main(["auth", "logout", "anthropic"]) == 0
    path = isolated_env / "data" / "opencode" / "auth.json"
    assert json.loads(path.read_text()) == {"openai": {"type": "api", "key": "sk-oai-bbbb-2222"}}


def test_login_unknown_provider_suggests(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    feed_stdin(monkeypatch, "key\n")
    assert main(["auth", "login", "antropic"]) == 1
    err = capsys.readouterr().err.strip()
    assert err == "error: unknown provider 'antropic' (did you mean anthropic?)"


def test_login_with_empty_key_stores_nothing(
    isolated_env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    feed_stdin(monkeypatch, "\n")
    assert main(["auth", "login", "openai"]) == 1
    assert not (isolated_env / "data" / "opencode" / "auth.json").exists()
    assert "no key given" in capsys.readouterr().err


def test_corrupt_auth_file_is_a_one_line_error(isolated_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = isolated_env / "data" / "opencode" / "auth.json"
    path.parent.mkdir(parents=True)
    path.write_text("{not json")
    assert main(["auth", "list"]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"error: {path}: not valid JSON")
    assert path.read_text() == "{not json"  # never overwritten behind the user's back
