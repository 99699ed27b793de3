"""A real `opencode serve` app on uvicorn (a free loopback port, its own thread) over a real engine:
the scripted model server, a SQLite store, a git project on disk."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from opencode.agent.engine import Engine
from opencode.config.schema import Config
from opencode.provider.registry import Registry
from opencode.server.app import create_app
from opencode.server.options import ServerOptions
from opencode.server.runner import ServerThread
from opencode.session.sqlite import SQLiteStore
from opencode.testing.model_server import ScriptedModelServer

MODEL = "mine/test-model"


@dataclass
class Live:
    """A running server: its URL, the engine behind it, an httpx client for it, and the model server."""

    url: str
    engine: Engine
    http: httpx.Client
    models: ScriptedModelServer
    thread: ServerThread
    project: Path


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    (root / ".git").mkdir(parents=True)
    (root / "README.md").write_text("# demo\n")
    return root


def make_engine(project: Path, models: ScriptedModelServer, extra: dict[str, Any] | None = None) -> Engine:
    options = {"baseURL": models.base_url("openai-chat"), "apiKey": models.api_key, "maxRetries": 2}
    entry = {
        "npm": "@ai-sdk/openai-compatible",
        "options": options,
        "models": {"test-model": {"tool_call": True, "cost": {"input": 3.0, "output": 15.0}}},
    }
    config = Config.model_validate({"provider": {"mine": entry}, "model": MODEL, **(extra or {})})
    registry = Registry.load(config, environ={}, credentials={})
    store = SQLiteStore(project.parent / "store.db")
    return Engine(cwd=project, config=config, registry=registry, store=store, interactive=True)


@pytest.fixture
def start_server(project: Path, model_server: ScriptedModelServer) -> Iterator[Callable[..., Live]]:
    """Start a server: `start_server(extra_config=None, options=None, environ=None)`; stopped after the test."""
    running: list[Live] = []

    def start(
        extra: dict[str, Any] | None = None,
        *,
        hostname: str = "127.0.0.1",
        cors: list[str] | None = None,
        environ: dict[str, str] | None = None,
        max_body: int | None = None,
    ) -> Live:
        engine = make_engine(project, model_server, extra)
        kwargs: dict[str, Any] = {"hostname": hostname, "port": 0, "cors": cors or [], "environ": environ or {}}
        if max_body is not None:
            kwargs["max_body"] = max_body
        options = ServerOptions.build(**kwargs)
        thread = ServerThread(create_app(engine, options), host=hostname).start()
        http = httpx.Client(base_url=thread.url, timeout=30)
        live = Live(url=thread.url, engine=engine, http=http, models=model_server, thread=thread, project=project)
        running.append(live)
        return live

    yield start
    for live in running:
        live.http.close()
        live.thread.stop()
        live.engine.store.close()


@pytest.fixture
def live(start_server: Callable[..., Live]) -> Live:
    """The server with default options (loopback, no password)."""
    return start_server()
