"""Config `tools` (global and per agent, names and globs) through the loop: not offered, and refused if called."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from opencode.config.schema import Config
from opencode.session.model import ToolPart
from opencode.testing.model_server import Reply, ScriptedModelServer, Text, ToolCall
from opencode.tool.registry import ToolRegistry
from opencode.tool.tool import Tool, ToolContext, ToolResult


class Query(BaseModel):
    q: str = ""


class FakeMcpTool(Tool[Query]):
    """A stand-in for an MCP server's tool."""

    params = Query

    def __init__(self, name: str) -> None:
        self.name = name  # type: ignore[misc]
        self.calls = 0

    async def run(self, params: Query, ctx: ToolContext) -> ToolResult:
        self.calls += 1
        return ToolResult(f"{self.name} ran")


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    (root / ".git").mkdir(parents=True)
    return root.resolve()


def make_engine(project: Path, server: ScriptedModelServer, extra: dict[str, Any]) -> tuple[Any, str, ToolRegistry]:
    from opencode.agent.engine import Engine
    from opencode.provider.registry import Registry
    from opencode.session.sqlite import SQLiteStore

    entry = {
        "npm": "@ai-sdk/openai-compatible",
        "options": {"baseURL": server.base_url("openai-chat"), "apiKey": server.api_key, "maxRetries": 0},
        "models": {"test-model": {"tool_call": True}},
    }
    conf = Config.model_validate({"provider": {"mine": entry}, **extra})
    tools = ToolRegistry.builtin()
    for name in ("mymcp_search", "mymcp_fetch", "mymcp_keep"):
        tools.add(FakeMcpTool(name))
    registry = Registry.load(conf, environ={}, credentials={})
    store = SQLiteStore(project.parent / "store.db")
    engine = Engine(cwd=project, config=conf, registry=registry, store=store, tools=tools)
    return engine, "mine/test-model", tools


def offered(request: Any) -> set[str]:
    return {tool["function"]["name"] for tool in request.json.get("tools", [])}


async def test_disabled_tools_are_not_offered_and_a_call_is_refused(
    repo: Path, model_server: ScriptedModelServer
) -> None:
    extra = {
        "tools": {"write": False, "mymcp_*": False, "mymcp_keep": True, "grep": False},
        "agent": {"build": {"tools": {"bash": False, "grep": True}}},
    }
    engine, model, tools = make_engine(repo, model_server, extra)
    model_server.push(
        Reply(
            [
                ToolCall("write", {"filePath": "x.txt", "content": "no\n"}, id="w"),
                ToolCall("mymcp_search", {"q": "x"}, id="m"),
                ToolCall("mymcp_keep", {"q": "x"}, id="k"),
            ]
        ),
        Reply([Text("ok")]),
    )
    session = engine.create_session()
    await engine.prompt(session.id, "try everything", model=model)
    names = offered(model_server.requests[0])
    assert {"write", "bash", "mymcp_search", "mymcp_fetch"}.isdisjoint(names)
    assert {"read", "edit", "grep", "mymcp_keep"} <= names
    parts = {p.callID: p for m in engine.store.list_messages(session.id) for p in m.parts if isinstance(p, ToolPart)}
    assert parts["w"].state.status == "error" and "tool 'write' is disabled" in parts["w"].state.error  # type: ignore[union-attr]
    assert parts["m"].state.status == "error" and "disabled" in parts["m"].state.error  # type: ignore[union-attr]
    assert parts["k"].state.status == "completed"
    assert not (repo / "x.txt").exists()
    search = tools.get("mymcp_search")
    keep = tools.get("mymcp_keep")
    assert isinstance(search, FakeMcpTool) and isinstance(keep, FakeMcpTool)
    assert (search.calls, keep.calls) == (0, 1)


async def test_read_only_agents_get_no_rm(repo: Path, model_server: ScriptedModelServer) -> None:
    (repo / "keep.txt").write_text("keep\n")
    engine, model, _ = make_engine(repo, model_server, {})
    model_server.push(Reply([ToolCall("rm", {"path": "keep.txt"}, id="r")]), Reply([Text("ok")]))
    session = engine.create_session()
    await engine.prompt(session.id, "delete it", model=model, agent="plan")
    assert "rm" not in offered(model_server.requests[0]) and "explore" in offered(model_server.requests[0])
    assert (repo / "keep.txt").read_text() == "keep\n"
