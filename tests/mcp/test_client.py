"""The MCP client through the agent loop: server-everything over stdio and Streamable HTTP, and the
flaky test server (crash mid-call, list_changed, read-only hints)."""

from __future__ import annotations

import asyncio
import base64
import json
from pathlib import Path
from typing import Any

import pytest

from opencode.bus import BusEvent, McpStatus, McpToolsChanged
from opencode.session.model import ToolPart, ToolStateCompleted, ToolStateError
from opencode.testing.model_server import Reply, ScriptedModelServer, Text, ToolCall
from tests.mcp.conftest import make_engine


def tool_parts(engine: Any, session_id: str) -> list[ToolPart]:
    return [p for m in engine.store.list_messages(session_id) for p in m.parts if isinstance(p, ToolPart)]


def sent_tools(request: Any) -> dict[str, Any]:
    return {t["function"]["name"]: t["function"] for t in request.json.get("tools", [])}


@pytest.mark.parametrize("transport", ["stdio", "http"])
async def test_everything_tools_through_the_loop(
    transport: str,
    project: Path,
    model_server: ScriptedModelServer,
    everything_stdio: dict[str, Any],
    request: pytest.FixtureRequest,
) -> None:
    conf = (
        everything_stdio
        if transport == "stdio"
        else {"type": "remote", "url": request.getfixturevalue("everything_http"), "oauth": False}
    )
    engine = make_engine(project, model_server, {"everything": conf})
    events: list[BusEvent] = []
    engine.bus.on(events.append)
    model_server.push(
        Reply(
            [
                ToolCall("everything_echo", {"message": "hello mcp"}, id="c1"),
                ToolCall("everything_get-sum", {"a": 2, "b": 40}, id="c2"),
            ]
        ),
        Reply([Text("done")]),
    )
    session = engine.create_session()
    try:
        result = await engine.prompt(session.id, "use the tools")
        status = engine.mcp.status()["everything"] if engine.mcp else None
    finally:
        await engine.drain()
    assert result.text == "done"
    first = sent_tools(model_server.requests[0])
    assert "everything_echo" in first and "everything_get-sum" in first
    assert first["everything_echo"]["parameters"]["properties"]["message"]["type"] == "string"
    assert "$schema" not in first["everything_echo"]["parameters"]
    parts = {p.callID: p for p in tool_parts(engine, session.id)}
    assert isinstance(parts["c1"].state, ToolStateCompleted) and parts["c1"].state.output == "Echo: hello mcp"
    assert isinstance(parts["c2"].state, ToolStateCompleted) and "42" in parts["c2"].state.output
    tool_messages = [m for m in model_server.requests[1].json["messages"] if m["role"] == "tool"]
    assert any("Echo: hello mcp" in json.dumps(m) for m in tool_messages)
    assert status is not None and status.status == "connected"
    assert status.transport == ("stdio" if transport == "stdio" else "streamable-http")
    assert status.tools >= 10 and status.size > 1000
    assert [e.status for e in events if isinstance(e, McpStatus)][:2] == ["connecting", "connected"]


async def test_image_result_reaches_the_next_request_as_an_attachment(
    project: Path, model_server: ScriptedModelServer, everything_stdio: dict[str, Any]
) -> None:
    engine = make_engine(project, model_server, {"everything": everything_stdio})
    model_server.push(Reply([ToolCall("everything_get-tiny-image", {}, id="img")]), Reply([Text("a logo")]))
    session = engine.create_session()
    try:
        await engine.prompt(session.id, "show me the image")
    finally:
        await engine.drain()
    part = tool_parts(engine, session.id)[0]
    assert isinstance(part.state, ToolStateCompleted)
    assert part.state.attachments and part.state.attachments[0].mime == "image/png"
    second = json.dumps(model_server.requests[1].json)
    png = base64.b64encode(b"\x89PNG\r\n\x1a\n").decode()[:10]
    assert "data:image/png;base64," + png in second


async def test_prompt_runs_as_a_command_with_its_arguments(
    project: Path, model_server: ScriptedModelServer, everything_stdio: dict[str, Any]
) -> None:
    import asyncio

    from opencode.agent.actions import ActionError, command_turn
    from opencode.agent.commands import mcp_commands

    engine = make_engine(project, model_server, {"everything": everything_stdio})
    model_server.push(Reply([Text("sunny")]))
    session = engine.create_session()
    try:
        result = await command_turn(
            engine,
            session.id,
            "everything:args-prompt",
            "Paris France",
            agent="build",
            model=None,
            abort=asyncio.Event(),
        )
        listed = mcp_commands(engine)
        with pytest.raises(ActionError, match="needs city"):
            await command_turn(
                engine, session.id, "everything:args-prompt", "", agent="build", model=None, abort=asyncio.Event()
            )
    finally:
        await engine.drain()
    assert result.text == "sunny"
    user = model_server.requests[0].json["messages"][-1]
    assert "What's weather in Paris, France?" in json.dumps(user)
    assert listed["everything:args-prompt"].source == "mcp:everything"
    assert "<city> [state]" in (listed["everything:args-prompt"].description or "")


async def test_resource_mention_is_attached(
    project: Path, model_server: ScriptedModelServer, everything_stdio: dict[str, Any]
) -> None:
    from tests.mcp.conftest import EVERYTHING

    engine = make_engine(project, model_server, {"everything": everything_stdio})
    model_server.push(Reply([Text("read it")]))
    session = engine.create_session()
    uri = "demo://resource/static/document/features.md"
    try:
        await engine.prompt(session.id, f"summarize @everything:{uri} please")
        resources = engine.mcp.resources() if engine.mcp else []
    finally:
        await engine.drain()
    assert any(r.uri == uri for r in resources)
    doc = (EVERYTHING.parent / "docs" / "features.md").read_text()
    first_line = next(line for line in doc.splitlines() if line.strip())
    sent = json.dumps(model_server.requests[0].json["messages"][-1])
    assert json.dumps(first_line)[1:-1] in sent
    assert "summarize @everything:" in sent


async def test_server_crashing_mid_call_errors_restarts_once_then_fails(
    project: Path, model_server: ScriptedModelServer, flaky: dict[str, Any], tmp_path: Path
) -> None:
    engine = make_engine(project, model_server, {"flaky": flaky})
    model_server.push(
        Reply([ToolCall("flaky_crash", {}, id="boom")]),
        Reply([ToolCall("flaky_ping", {"word": "again"}, id="ping")]),
        Reply([Text("still here")]),
        Reply([ToolCall("flaky_crash", {}, id="boom2")]),
        Reply([Text("gone")]),
    )
    session = engine.create_session()
    try:
        first = await engine.prompt(session.id, "crash it")
        second = await engine.prompt(session.id, "crash it again")
        status = engine.mcp.status()["flaky"] if engine.mcp else None
    finally:
        await engine.drain()
    parts = {p.callID: p for p in tool_parts(engine, session.id)}
    assert isinstance(parts["boom"].state, ToolStateError)
    assert "stopped during the call" in parts["boom"].state.error and "restarting" in parts["boom"].state.error
    assert isinstance(parts["ping"].state, ToolStateCompleted) and parts["ping"].state.output == "pong again"
    assert first.text == "still here" and second.text == "gone"
    assert isinstance(parts["boom2"].state, ToolStateError) and "not restarted" in parts["boom2"].state.error
    assert status is not None and status.status == "failed" and "again after a restart" in (status.error or "")
    assert (tmp_path / "flaky-starts.txt").read_text().count("start") == 2


async def test_tool_list_changed_is_picked_up(
    project: Path, model_server: ScriptedModelServer, flaky: dict[str, Any]
) -> None:
    engine = make_engine(project, model_server, {"flaky": flaky})
    events: list[BusEvent] = []
    engine.bus.on(events.append)
    model_server.push(
        Reply([ToolCall("flaky_grow", {}, id="grow")]),
        Reply([ToolCall("flaky_extra", {"n": 21}, id="extra")]),
        Reply([Text("done")]),
    )
    session = engine.create_session()
    try:
        await engine.prompt(session.id, "grow")
    finally:
        await engine.drain()
    assert "flaky_extra" not in sent_tools(model_server.requests[0])
    assert "flaky_extra" in sent_tools(model_server.requests[1])
    parts = {p.callID: p for p in tool_parts(engine, session.id)}
    assert isinstance(parts["extra"].state, ToolStateCompleted) and parts["extra"].state.output == "42"
    assert any(isinstance(e, McpToolsChanged) and e.server == "flaky" for e in events)


async def test_error_result_read_only_hint_and_env_substitution(
    project: Path,
    model_server: ScriptedModelServer,
    flaky: dict[str, Any],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MY_WORD", "substituted")
    monkeypatch.setenv("FLAKY_SCRIPT", flaky["command"][1])
    flaky = {**flaky, "command": [flaky["command"][0], "{env:FLAKY_SCRIPT}"]}
    flaky["environment"] = {**flaky["environment"], "FLAKY_WORD": "{env:MY_WORD}"}
    engine = make_engine(project, model_server, {"flaky": flaky})
    model_server.push(
        Reply([ToolCall("flaky_fail", {}, id="f"), ToolCall("flaky_look", {}, id="l")]), Reply([Text("ok")])
    )
    session = engine.create_session()
    try:
        await engine.prompt(session.id, "go")
        manager = engine.mcp
        assert manager is not None
        assert manager.read_only("flaky_look") and not manager.read_only("flaky_ping")
    finally:
        await engine.drain()
    parts = {p.callID: p for p in tool_parts(engine, session.id)}
    assert isinstance(parts["f"].state, ToolStateError) and "fail" in parts["f"].state.error
    assert isinstance(parts["l"].state, ToolStateCompleted) and parts["l"].state.output == "looked"
    assert (tmp_path / "flaky-starts.txt").read_text().startswith("start substituted pid=")


async def test_broken_and_slow_servers_do_not_block_a_prompt(
    project: Path, model_server: ScriptedModelServer, flaky: dict[str, Any]
) -> None:
    import sys
    import time

    servers = {
        "flaky": flaky,
        "broken": {"type": "local", "command": [str(project / "no-such-program")]},
        "slow": {"type": "local", "command": [sys.executable, "-c", "import time; time.sleep(30)"], "timeout": 1500},
        "off": {"type": "local", "command": ["x"], "enabled": False},
    }
    engine = make_engine(project, model_server, servers)
    model_server.push(Reply([ToolCall("flaky_ping", {}, id="p")]), Reply([Text("fine")]))
    session = engine.create_session()
    started = time.monotonic()
    try:
        result = await engine.prompt(session.id, "go")
        elapsed = time.monotonic() - started
        status = engine.mcp.status() if engine.mcp else {}
    finally:
        await engine.drain()
    assert result.text == "fine" and elapsed < 8
    assert status["flaky"].status == "connected"
    assert status["broken"].status == "failed" and "no-such-program" in (status["broken"].error or "")
    assert status["slow"].status == "failed" and "did not start within 1.5 s" in (status["slow"].error or "")
    assert status["off"].status == "disabled"
    assert "flaky_ping" in sent_tools(model_server.requests[0])


async def test_tools_config_globs_and_permissions_apply(
    project: Path, model_server: ScriptedModelServer, everything_stdio: dict[str, Any]
) -> None:
    extra = {"tools": {"everything_get-*": False}, "permission": {"everything_echo": "deny"}}
    engine = make_engine(project, model_server, {"everything": everything_stdio}, extra)
    model_server.push(
        Reply(
            [
                ToolCall("everything_echo", {"message": "x"}, id="e"),
                ToolCall("everything_get-sum", {"a": 1, "b": 2}, id="s"),
            ]
        ),
        Reply([Text("ok")]),
    )
    session = engine.create_session()
    try:
        await engine.prompt(session.id, "go")
    finally:
        await engine.drain()
    tools = sent_tools(model_server.requests[0])
    assert "everything_echo" in tools and "everything_get-sum" not in tools and "everything_get-env" not in tools
    parts = {p.callID: p for p in tool_parts(engine, session.id)}
    assert (
        isinstance(parts["e"].state, ToolStateError)
        and "blocked by permission rule permission.everything_echo" in parts["e"].state.error.lower()
    )
    assert isinstance(parts["s"].state, ToolStateError) and "disabled" in parts["s"].state.error


async def test_past_the_budget_mcp_search_loads_tools_on_demand(
    project: Path, model_server: ScriptedModelServer, everything_stdio: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENCODE_MCP_TOOL_BUDGET", "500")
    engine = make_engine(project, model_server, {"everything": everything_stdio})
    model_server.push(
        Reply([ToolCall("mcp_search", {"query": "echo", "load": ["everything_echo"]}, id="q")]),
        Reply([ToolCall("everything_echo", {"message": "loaded"}, id="e")]),
        Reply([Text("ok")]),
    )
    session = engine.create_session()
    try:
        await engine.prompt(session.id, "go")
    finally:
        await engine.drain()
    first, second = sent_tools(model_server.requests[0]), sent_tools(model_server.requests[1])
    assert "mcp_search" in first and not any(name.startswith("everything_") for name in first)
    assert "everything_echo" in second and "everything_get-sum" not in second
    parts = {p.callID: p for p in tool_parts(engine, session.id)}
    assert isinstance(parts["q"].state, ToolStateCompleted)
    assert "everything_echo" in parts["q"].state.output and "Echoes back" in parts["q"].state.output
    assert isinstance(parts["e"].state, ToolStateCompleted) and parts["e"].state.output == "Echo: loaded"


async def test_call_timeout_and_long_output_are_capped(
    project: Path, model_server: ScriptedModelServer, flaky: dict[str, Any]
) -> None:
    engine = make_engine(project, model_server, {"flaky": flaky}, {"experimental": {"mcp_timeout": 500}})
    model_server.push(
        Reply([ToolCall("flaky_nap", {"seconds": 5}, id="nap"), ToolCall("flaky_chatty", {"lines": 5000}, id="long")]),
        Reply([ToolCall("flaky_ping", {}, id="after")]),
        Reply([Text("ok")]),
    )
    session = engine.create_session()
    try:
        await engine.prompt(session.id, "go")
    finally:
        await engine.drain()
    parts = {p.callID: p for p in tool_parts(engine, session.id)}
    assert isinstance(parts["nap"].state, ToolStateError)
    assert "did not answer within 0.5 s" in parts["nap"].state.error
    long = parts["long"].state
    assert isinstance(long, ToolStateCompleted) and long.metadata.get("truncated") is True
    assert "line 0" in long.output and "line 4999" not in long.output
    assert Path(long.metadata["outputPath"]).read_text().count("\n") == 4999
    assert isinstance(parts["after"].state, ToolStateCompleted) and parts["after"].state.output == "pong"


async def test_a_server_slower_than_the_step_wait_joins_a_later_step(
    project: Path, model_server: ScriptedModelServer, flaky: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    import sys

    monkeypatch.setattr("opencode.mcp.manager.STEP_WAIT", 0.3)
    script = flaky["command"][1]
    late = (
        "import runpy, sys, time; time.sleep(1.5); sys.argv = [sys.argv[1]]; "
        "runpy.run_path(sys.argv[0], run_name='__main__')"
    )
    engine = make_engine(project, model_server, {"late": {**flaky, "command": [sys.executable, "-c", late, script]}})
    model_server.push(
        Reply([ToolCall("todoread", {}, id="wait")], delay=5),
        Reply([ToolCall("late_ping", {"word": "joined"}, id="ping")]),
        Reply([Text("ok")]),
    )
    session = engine.create_session()
    try:
        await engine.prompt(session.id, "go")
    finally:
        await engine.drain()
    assert "late_ping" not in sent_tools(model_server.requests[0])
    assert "late_ping" in sent_tools(model_server.requests[1])
    parts = {p.callID: p for p in tool_parts(engine, session.id)}
    assert isinstance(parts["ping"].state, ToolStateCompleted) and parts["ping"].state.output == "pong joined"


async def test_a_server_that_dies_while_idle_is_noticed_and_restarted_once(
    project: Path, model_server: ScriptedModelServer, flaky: dict[str, Any], tmp_path: Path
) -> None:
    import os
    import signal

    engine = make_engine(project, model_server, {"flaky": flaky})
    manager = engine.mcp
    assert manager is not None
    manager.health_interval, manager.health_timeout = 0.2, 2.0
    marks = tmp_path / "flaky-starts.txt"

    def pids() -> list[int]:
        return [int(line.rsplit("pid=", 1)[1]) for line in marks.read_text().splitlines()] if marks.exists() else []

    async def until(condition: Any, timeout: float = 20.0) -> None:
        deadline = asyncio.get_running_loop().time() + timeout
        while not condition():
            assert asyncio.get_running_loop().time() < deadline, manager.status()
            await asyncio.sleep(0.05)

    try:
        manager.start()
        await manager.wait_ready(30)
        assert manager.status()["flaky"].status == "connected"
        os.kill(pids()[0], signal.SIGKILL)  # dies with no call in flight
        await until(lambda: len(pids()) == 2 and manager.status()["flaky"].status == "connected")
        os.kill(pids()[1], signal.SIGKILL)
        await until(lambda: manager.status()["flaky"].status == "failed")
    finally:
        await engine.drain()
    assert "again after a restart" in (manager.status()["flaky"].error or "")
    assert len(pids()) == 2  # restarted once, then reported
