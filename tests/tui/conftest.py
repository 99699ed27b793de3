"""The TUI against a real engine: the scripted model server, a real SQLite store, a project on disk."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from opencode.agent.engine import Engine
from opencode.session.model import ToolPart
from opencode.testing.model_server import ScriptedModelServer
from opencode.tui.app import OpencodeApp
from opencode.tui.client import EngineClient

MODEL = "mine/test-model"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    (root / ".git").mkdir(parents=True)
    return root


def make_client(project: Path, server: ScriptedModelServer, extra: dict[str, Any] | None = None) -> EngineClient:
    from tests.server.conftest import make_engine

    return EngineClient(make_engine(project, server, extra))


@pytest.fixture
def make_app(project: Path, model_server: ScriptedModelServer) -> Callable[..., OpencodeApp]:
    def build(extra: dict[str, Any] | None = None) -> OpencodeApp:
        return OpencodeApp(make_client(project, model_server, extra))

    return build


async def wait_until(pilot: Any, condition: Callable[[], object], timeout: float = 30.0) -> None:
    """Let the app run until `condition()` holds (fails the test after `timeout` seconds)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {getattr(condition, '__name__', condition)}")
        await pilot.pause(0.05)


def engine_of(app: OpencodeApp) -> Engine:
    client = app.client
    assert isinstance(client, EngineClient)
    return client.engine


def tool_parts(app: OpencodeApp) -> list[ToolPart]:
    engine = engine_of(app)
    return [p for m in engine.store.list_messages(app.session_id) for p in m.parts if isinstance(p, ToolPart)]


async def type_text(pilot: Any, text: str) -> None:
    await pilot.press(*[("space" if c == " " else c) for c in text])
