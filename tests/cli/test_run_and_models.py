"""`opencode run` and `opencode models` end to end, against the scripted model server."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from opencode.cli.main import main
from opencode.provider.catalog import load_catalog
from opencode.testing.model_server import (
    ErrorReply,
    Reasoning,
    Reply,
    ScriptedModelServer,
    ScriptUsage,
    Text,
    ToolCall,
)


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "project"
    (root / ".git").mkdir(parents=True)
    monkeypatch.chdir(root)
    monkeypatch.setattr("sys.stdin", _Tty())
    return root


class _Tty(io.StringIO):
    """stdin that looks like a terminal, so `run` does not wait for piped input."""

    def isatty(self) -> bool:
        return True


def use_config(monkeypatch: pytest.MonkeyPatch, config: dict[str, object]) -> None:
    monkeypatch.setenv("OPENCODE_CONFIG_CONTENT", json.dumps(config))


def custom_provider(server: ScriptedModelServer) -> dict[str, object]:
    return {
        "provider": {
            "mine": {
                "npm": "@ai-sdk/openai-compatible",
                "name": "My server",
                "options": {"baseURL": server.base_url("openai-chat"), "apiKey": server.api_key},
                "models": {"my-model": {"name": "My Model"}, "other-model": {}},
            }
        }
    }


def anthropic_via(server: ScriptedModelServer) -> dict[str, object]:
    return {"provider": {"anthropic": {"options": {"baseURL": server.base_url("anthropic"), "apiKey": server.api_key}}}}


def anthropic_model() -> str:
    models = load_catalog()["anthropic"].models
    return next(m.id for m in models.values() if m.cost.input > 0)


def test_models_lists_at_least_15_providers_and_a_custom_one(
    project: Path,
    model_server: ScriptedModelServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    use_config(monkeypatch, custom_provider(model_server))
    assert main(["models"]) == 0
    lines = capsys.readouterr().out.splitlines()
    providers = {line.split("/", 1)[0] for line in lines}
    assert len(providers) >= 15
    assert "mine/my-model" in lines and "mine/other-model" in lines
    assert all("/" in line for line in lines)


def test_models_for_one_provider_verbose(
    project: Path,
    model_server: ScriptedModelServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    use_config(monkeypatch, custom_provider(model_server))
    assert main(["models", "mine", "--verbose"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("mine/my-model\n{")
    assert '"name": "My Model"' in out


def test_models_unknown_provider(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["models", "anthropik"]) == 1
    assert capsys.readouterr().err.strip() == "error: unknown provider 'anthropik' (did you mean anthropic?)"


def test_models_lists_a_running_local_server(
    project: Path,
    model_server: ScriptedModelServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    model_server.local_models.ids.extend(["qwen3-coder:30b", "llama3.2:3b"])
    use_config(monkeypatch, {"provider": {"ollama": {"options": {"baseURL": model_server.base_url("ollama")}}}})
    assert main(["models", "ollama"]) == 0
    assert capsys.readouterr().out.splitlines() == ["ollama/llama3.2:3b", "ollama/qwen3-coder:30b"]


def test_run_streams_the_reply_from_a_custom_provider(
    project: Path,
    model_server: ScriptedModelServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    use_config(monkeypatch, custom_provider(model_server))
    model_server.push(Reply([Text("Hello from the scripted model.")]))
    assert main(["run", "-m", "mine/my-model", "say", "hello"]) == 0
    assert capsys.readouterr().out == "Hello from the scripted model.\n"
    sent = model_server.requests[-1]
    assert sent.path == "/v1/chat/completions"
    assert sent.headers["authorization"] == f"Bearer {model_server.api_key}"
    body = sent.json
    assert body["model"] == "my-model"
    assert body["messages"][0]["role"] == "system"
    assert body["messages"][-1]["role"] == "user"
    assert "say hello" in json.dumps(body["messages"][-1]["content"])


def test_run_json_format_reports_usage_and_cost(
    project: Path,
    model_server: ScriptedModelServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    model_id = anthropic_model()
    use_config(monkeypatch, anthropic_via(model_server))
    usage = ScriptUsage(input=1000, output=200, cache_read=500, cache_write=100)
    model_server.push(Reply([Reasoning("thinking it over"), Text("Done.")], usage=usage))
    assert main(["run", "--format", "json", "-m", f"anthropic/{model_id}", "hi"]) == 0
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    types = [e["type"] for e in events]
    assert types == ["step_start", "reasoning", "text", "step_finish"]
    assert all(e["sessionID"].startswith("ses_") for e in events)
    assert events[1]["part"]["text"] == "thinking it over"
    assert events[2]["part"]["text"] == "Done."
    finish = events[-1]["part"]
    assert finish["reason"] == "stop"
    assert finish["tokens"] == {"input": 1000, "output": 200, "reasoning": 0, "cache": {"read": 500, "write": 100}}
    cost = load_catalog()["anthropic"].models[model_id].cost
    expected = (
        1000 * cost.input
        + 200 * cost.output
        + 500 * (cost.cache_read or cost.input)
        + 100 * (cost.cache_write or cost.input)
    ) / 1e6
    assert finish["cost"] == pytest.approx(expected)
    assert finish["cost"] > 0


def test_run_final_error_is_one_line_and_nonzero(
    project: Path,
    model_server: ScriptedModelServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    use_config(monkeypatch, anthropic_via(model_server))
    model_server.push(ErrorReply(401, "invalid x-api-key", kind="auth"))
    assert main(["run", "-m", f"anthropic/{anthropic_model()}", "hi"]) == 1
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("error: anthropic: authentication failed (401): invalid x-api-key")
    assert "opencode auth login anthropic" in line


def test_run_does_not_retry_an_exhausted_quota(
    project: Path,
    model_server: ScriptedModelServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    use_config(monkeypatch, custom_provider(model_server))
    model_server.push(ErrorReply(429, "You exceeded your current quota", kind="quota"), Reply([Text("never sent")]))
    assert main(["run", "-m", "mine/my-model", "hi"]) == 1
    assert len(model_server.requests) == 1
    assert "quota or credit exhausted" in capsys.readouterr().err


def test_run_retries_a_rate_limit_and_says_so(
    project: Path,
    model_server: ScriptedModelServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    use_config(monkeypatch, custom_provider(model_server))
    model_server.push(
        ErrorReply(429, "slow down", kind="rate_limit", headers={"retry-after": "0"}), Reply([Text("ok")])
    )
    assert main(["run", "-m", "mine/my-model", "hi"]) == 0
    captured = capsys.readouterr()
    assert captured.out == "ok\n"
    assert "rate limited (429): slow down" in captured.err and "retrying in 0 s (try 2)" in captured.err
    assert len(model_server.requests) == 2


def test_run_retries_exhausted_exit_nonzero(
    project: Path,
    model_server: ScriptedModelServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    config = custom_provider(model_server)
    config["provider"]["mine"]["options"]["maxRetries"] = 2  # type: ignore[index]
    use_config(monkeypatch, config)
    busy = ErrorReply(503, "overloaded", kind="overloaded", headers={"retry-after": "0"})
    model_server.push(busy, busy, busy, Reply([Text("too late")]))
    assert main(["run", "-m", "mine/my-model", "hi"]) == 1
    assert len(model_server.requests) == 3
    assert capsys.readouterr().err.strip().splitlines()[-1].startswith("error: mine: overloaded (503)")


def test_run_attaches_files(
    project: Path,
    model_server: ScriptedModelServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    use_config(monkeypatch, custom_provider(model_server))
    (project / "notes.txt").write_text("the answer is 42\n")
    (project / "pixel.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 16)
    model_server.push(Reply([Text("seen")]))
    assert main(["run", "-m", "mine/my-model", "-f", "notes.txt", "-f", "pixel.png", "what is it?"]) == 0
    content = model_server.requests[-1].json["messages"][-1]["content"]
    flat = json.dumps(content)
    assert "the answer is 42" in flat
    assert "data:image/png;base64," in flat
    assert "what is it?" in flat


def test_run_missing_attachment(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "-f", "nope.txt", "hi"]) == 1
    assert capsys.readouterr().err.strip() == "error: -f nope.txt: no such file"


def test_run_reads_the_message_from_stdin(
    project: Path,
    model_server: ScriptedModelServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    use_config(monkeypatch, custom_provider(model_server))
    monkeypatch.setattr("sys.stdin", io.StringIO("piped question"))
    model_server.push(Reply([Text("piped answer")]))
    assert main(["run", "-m", "mine/my-model"]) == 0
    assert capsys.readouterr().out == "piped answer\n"
    assert "piped question" in json.dumps(model_server.requests[-1].json["messages"][-1])


def test_run_uses_the_agent_from_config(
    project: Path,
    model_server: ScriptedModelServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    config = custom_provider(model_server)
    config["agent"] = {"reviewer": {"model": "mine/other-model", "prompt": "Review strictly.", "temperature": 0.1}}
    use_config(monkeypatch, config)
    model_server.push(Reply([Text("LGTM")]))
    assert main(["run", "--agent", "reviewer", "check this"]) == 0
    body = model_server.requests[-1].json
    assert body["model"] == "other-model"
    assert body["temperature"] == 0.1
    assert "Review strictly." in json.dumps(body["messages"][0])


def test_run_unknown_agent_and_model(
    project: Path,
    model_server: ScriptedModelServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    use_config(monkeypatch, custom_provider(model_server))
    assert main(["run", "--agent", "nobody", "-m", "mine/my-model", "hi"]) == 1
    assert "unknown agent 'nobody'; primary agents: build, plan" in capsys.readouterr().err
    assert main(["run", "-m", "anthropic/claude-sonet", "hi"]) == 1
    assert "unknown model 'claude-sonet' for provider anthropic" in capsys.readouterr().err
    assert main(["run", "-m", "justamodel", "hi"]) == 1
    assert "must be written provider/model" in capsys.readouterr().err


def test_run_without_credentials_says_how_to_add_them(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "-m", f"anthropic/{anthropic_model()}", "hi"]) == 1
    err = capsys.readouterr().err.strip()
    assert err == "error: anthropic: no API key. Run `opencode auth login anthropic` or set ANTHROPIC_API_KEY"


def test_default_command_chats_over_stdin(
    project: Path,
    model_server: ScriptedModelServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    config = custom_provider(model_server)
    config["model"] = "mine/my-model"
    use_config(monkeypatch, config)
    monkeypatch.setattr("sys.stdin", io.StringIO("first question"))
    model_server.push(Reply([Text("first answer")]))
    assert main([]) == 0
    assert capsys.readouterr().out == "first answer\n"


def test_models_refresh_without_network_keeps_the_shipped_catalog(
    project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import socket

    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()
    monkeypatch.setenv("OPENCODE_MODELS_URL", f"http://127.0.0.1:{port}/api.json")
    assert main(["models", "--refresh", "anthropic"]) == 0
    captured = capsys.readouterr()
    assert "could not refresh the model catalog" in captured.err
    assert captured.out.startswith("anthropic/")


def test_models_refresh_replaces_the_catalog(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import http.server
    import threading

    catalog = {
        "anthropic": {
            "id": "anthropic",
            "name": "Anthropic",
            "env": ["ANTHROPIC_API_KEY"],
            "npm": "@ai-sdk/anthropic",
            "doc": "https://docs.anthropic.com",
            "models": {
                "claude-from-the-future": {
                    "id": "claude-from-the-future",
                    "name": "Claude From The Future",
                    "attachment": True,
                    "reasoning": True,
                    "tool_call": True,
                    "temperature": True,
                    "release_date": "2030-01-01",
                    "last_updated": "2030-01-01",
                    "modalities": {"input": ["text"], "output": ["text"]},
                    "open_weights": False,
                    "cost": {"input": 1, "output": 2},
                    "limit": {"context": 1000000, "output": 64000},
                }
            },
        }
    }
    body = json.dumps(catalog).encode()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        monkeypatch.setenv("OPENCODE_MODELS_URL", f"http://127.0.0.1:{server.server_address[1]}/api.json")
        assert main(["models", "--refresh", "anthropic"]) == 0
    finally:
        server.shutdown()
        server.server_close()
    captured = capsys.readouterr()
    assert "model catalog refreshed" in captured.err
    assert captured.out.splitlines() == ["anthropic/claude-from-the-future"]


def test_chat_keeps_the_agent_a_tool_switched_to(
    project: Path,
    model_server: ScriptedModelServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    config = custom_provider(model_server)
    config["model"] = "mine/my-model"
    use_config(monkeypatch, config)
    monkeypatch.setattr("sys.stdin", _Tty("let us plan\nwhat next?\n"))
    monkeypatch.setattr("builtins.input", lambda prompt="": _read_line())
    model_server.push(Reply([ToolCall("plan_enter", {})]), Reply([Text("planning")]), Reply([Text("still planning")]))
    assert main([]) == 0
    last = model_server.requests[-1].json
    offered = {tool["function"]["name"] for tool in last["tools"]}
    assert "plan_exit" in offered and "edit" not in offered and "write" not in offered
    assert "still planning" in capsys.readouterr().out


def _read_line() -> str:
    import sys

    line = sys.stdin.readline()
    if not line:
        raise EOFError
    return line.rstrip("\n")
