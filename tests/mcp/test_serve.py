"""`opencode mcp serve` driven by the official `mcp` client, over stdio and Streamable HTTP.

Each test spawns `python -m opencode mcp serve` in a project directory, with a config whose model
is the scripted model server, and checks real outcomes: files on disk, the request the model got,
the session in the SQLite store, undo putting a file back.
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import mcp_types as types
import pytest
from mcp.client.session import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client

from opencode.session.model import PatchPart, TextPart, ToolPart, UserMessage
from opencode.session.sqlite import SQLiteStore
from opencode.testing.model_server import Reply, ScriptedModelServer, Text, ToolCall

SERVED = {"read", "list", "glob", "grep", "edit", "write", "bash", "run_agent"}
PASSWORD = "s3cret-for-tests"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    (root / ".git").mkdir(parents=True)
    (root / "notes.txt").write_text("first line\nsecond line\n")
    return root


def environment(model_server: ScriptedModelServer, **config: Any) -> dict[str, str]:
    """The test's environment (its own XDG dirs) with a config whose model is the scripted server."""
    content = {
        "model": "mine/test-model",
        "provider": {
            "mine": {
                "npm": "@ai-sdk/openai-compatible",
                "options": {"baseURL": model_server.base_url("openai-chat"), "apiKey": model_server.api_key},
                "models": {"test-model": {"tool_call": True}},
            }
        },
        **config,
    }
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    env["OPENCODE_CONFIG_CONTENT"] = json.dumps(content)
    return env


@asynccontextmanager
async def over_stdio(project: Path, env: dict[str, str], *extra: str) -> AsyncIterator[ClientSession]:
    params = StdioServerParameters(
        command=sys.executable, args=["-m", "opencode", "mcp", "serve", *extra], env=env, cwd=project
    )
    async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        yield session


class HttpServer:
    """`opencode mcp serve --transport http` in a child process; `url` is the one it printed on stderr."""

    def __init__(self, project: Path, env: dict[str, str], *extra: str) -> None:
        command = [sys.executable, "-m", "opencode", "mcp", "serve", "--transport", "http", *extra]
        self.process = subprocess.Popen(
            command, cwd=project, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.lines: queue.Queue[str] = queue.Queue()
        self.stderr: list[str] = []
        self.reader.start()

    def _read(self) -> None:
        assert self.process.stderr is not None
        for raw in self.process.stderr:
            line = raw.decode(errors="replace")
            self.stderr.append(line)
            self.lines.put(line)

    def url(self) -> str:
        return self.wait_for("listening on").rsplit(" ", 1)[1].strip()

    def wait_for(self, needle: str, timeout: float = 30) -> str:
        """The first line of stderr (from the start, or after the last one waited for) containing `needle`."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.2)
            except queue.Empty:
                if self.process.poll() is not None:
                    break
                continue
            if needle in line:
                return line
        raise AssertionError(f"{needle!r} never came on stderr; it said: {''.join(self.stderr)}")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)
        self.reader.join(10)
        if self.process.stderr is not None:
            self.process.stderr.close()


@pytest.fixture
def http_servers() -> Iterator[list[HttpServer]]:
    started: list[HttpServer] = []
    yield started
    for server in started:
        server.stop()


@asynccontextmanager
async def over_http(url: str, headers: dict[str, str] | None = None) -> AsyncIterator[ClientSession]:
    import httpx2
    from mcp.client.streamable_http import streamable_http_client

    async with (
        httpx2.AsyncClient(headers=headers or {}, timeout=httpx2.Timeout(30, read=120)) as client,
        streamable_http_client(url, http_client=client) as (read, write),
        ClientSession(read, write) as session,
    ):
        await session.initialize()
        yield session


def text_of(result: types.CallToolResult) -> str:
    return "\n".join(block.text for block in result.content if isinstance(block, types.TextContent))


def session_of(result: types.CallToolResult) -> str:
    assert result.meta is not None
    session_id = result.meta["opencode/sessionID"]
    assert isinstance(session_id, str)
    return session_id


# --- stdio ---------------------------------------------------------------------------------------


async def test_stdio_lists_our_tools_with_their_schemas(project: Path, model_server: ScriptedModelServer) -> None:
    async with over_stdio(project, environment(model_server)) as client:
        listed = await client.list_tools()
    tools = {tool.name: tool for tool in listed.tools}
    assert set(tools) == SERVED
    read = tools["read"].input_schema
    assert read["type"] == "object" and "filePath" in read["properties"] and read["required"] == ["filePath"]
    assert set(tools["edit"].input_schema["properties"]) >= {"filePath", "oldString", "newString"}
    assert "command" in tools["bash"].input_schema["properties"]
    assert tools["read"].annotations is not None and tools["read"].annotations.read_only_hint is True
    assert tools["run_agent"].input_schema["required"] == ["prompt"]
    assert tools["run_agent"].output_schema is not None
    assert tools["read"].description and "line" in tools["read"].description


async def test_stdio_read_write_and_undo(project: Path, model_server: ScriptedModelServer) -> None:
    outside = project.parent / "outside.txt"
    async with over_stdio(project, environment(model_server)) as client:
        read = await client.call_tool("read", {"filePath": "notes.txt"})
        assert not read.is_error, text_of(read)
        assert "first line" in text_of(read) and "second line" in text_of(read)

        written = await client.call_tool("write", {"filePath": "src/new.py", "content": "print('hi')\n"})
        assert not written.is_error, text_of(written)

        refused = await client.call_tool("write", {"filePath": str(outside), "content": "no\n"})
        bad = await client.call_tool("read", {"filePath": 12})
        missing = await client.call_tool("read", {})
        unknown = await client.call_tool("rm", {"path": "notes.txt"})
        listed = await client.call_tool("list", {})
        found = await client.call_tool("grep", {"pattern": "second"})
    assert (project / "src" / "new.py").read_text() == "print('hi')\n"

    assert refused.is_error and not outside.exists()
    assert "outside" in text_of(refused) or "external_directory" in text_of(refused)
    assert bad.is_error and "filePath" in text_of(bad) and "expected a string" in text_of(bad)
    assert missing.is_error and "filePath: required" in text_of(missing)
    assert unknown.is_error and "unknown tool 'rm'" in text_of(unknown)
    assert "notes.txt" in text_of(listed) and "src/" in text_of(listed)
    assert "notes.txt" in text_of(found)

    # The calls went to one session in the store; the write's patch lets undo take it back.
    session_id = session_of(written)
    assert session_of(read) == session_id == session_of(refused)
    store = SQLiteStore()
    messages = store.list_messages(session_id)
    tools = [p.tool for m in messages for p in m.parts if isinstance(p, ToolPart)]
    assert tools[:3] == ["read", "write", "write"]
    patched = [m for m in messages if any(isinstance(p, PatchPart) for p in m.parts)]
    assert len(patched) == 1
    write_user = next(m for m in messages if m.info.id == patched[0].info.parentID)  # type: ignore[union-attr]
    assert isinstance(write_user.info, UserMessage)
    assert any(isinstance(p, TextPart) and "write" in p.text for p in write_user.parts)

    from opencode.session.revert import revert
    from opencode.snapshot import Snapshots

    await revert(store, Snapshots(project), session_id, write_user.info.id)
    assert not (project / "src" / "new.py").exists()
    assert (project / "notes.txt").read_text() == "first line\nsecond line\n"


async def test_stdio_bash_ask_becomes_a_denial(project: Path, model_server: ScriptedModelServer) -> None:
    env = environment(model_server, permission={"bash": "ask"})
    model_server.push(
        Reply([ToolCall("bash", {"command": "touch made-by-agent", "description": "make a file"})]),
        Reply([Text("I could not run it.")]),
    )
    async with over_stdio(project, env) as client:
        denied = await client.call_tool("bash", {"command": "touch made-by-client", "description": "make a file"})
        agent = await client.call_tool("run_agent", {"prompt": "make a file please"})
        allowed = await client.call_tool("read", {"filePath": "notes.txt"})
    assert denied.is_error
    message = text_of(denied)
    assert "needs approval" in message and "opencode.json" in message and '"bash"' in message
    assert "\n" not in message
    assert not (project / "made-by-client").exists()
    assert not allowed.is_error

    # Inside run_agent the ask is refused the same way, and the model reads why.
    assert not agent.is_error, text_of(agent)
    assert agent.structured_content is not None and agent.structured_content["text"] == "I could not run it."
    assert not (project / "made-by-agent").exists()
    tool_result = json.dumps(model_server.requests[-1].json["messages"][-1])
    assert "needs approval" in tool_result


async def test_stdio_run_agent_answers_and_continues_a_session(
    project: Path, model_server: ScriptedModelServer
) -> None:
    model_server.push(
        Reply([ToolCall("read", {"filePath": "notes.txt"})]),
        Reply([Text("The notes have two lines.")]),
        Reply([Text("Still two lines.")]),
    )
    env = environment(model_server, model="mine/other-model")
    async with over_stdio(project, env, "-m", "mine/test-model", "--agent", "build") as client:
        first = await client.call_tool("run_agent", {"prompt": "how many lines in notes.txt?"})
        assert not first.is_error, text_of(first)
        assert first.structured_content is not None
        session_id = first.structured_content["sessionID"]
        second = await client.call_tool("run_agent", {"prompt": "and now?", "sessionID": session_id})
        history = json.dumps(model_server.requests[-1].json["messages"])
        unknown = await client.call_tool("run_agent", {"prompt": "hi", "sessionID": "ses_nope"})
        no_prompt = await client.call_tool("run_agent", {"agent": "build"})
        bad_agent = await client.call_tool("run_agent", {"prompt": "hi", "agent": "nobody"})
        bad_model = await client.call_tool("run_agent", {"prompt": "hi", "model": "nowhere/nothing"})
        wrong_type = await client.call_tool("run_agent", {"prompt": "hi", "sessionID": 7})
    assert first.structured_content["text"] == "The notes have two lines."
    assert "The notes have two lines." in text_of(first) and session_id in text_of(first)
    assert second.structured_content == {"text": "Still two lines.", "sessionID": session_id}
    # The second turn's request carries the first one's conversation.
    assert "how many lines in notes.txt?" in history and "and now?" in history and "second line" in history

    stored = SQLiteStore().get_session(session_id)
    assert stored.directory == str(project)
    users = [m for m in SQLiteStore().list_messages(session_id) if isinstance(m.info, UserMessage)]
    assert len(users) == 2

    assert unknown.is_error and "no such session" in text_of(unknown)
    assert no_prompt.is_error and "prompt" in text_of(no_prompt)
    assert bad_agent.is_error and "nobody" in text_of(bad_agent)
    assert bad_model.is_error and "nowhere" in text_of(bad_model)
    assert wrong_type.is_error and "sessionID: expected a string" in text_of(wrong_type)
    # -m chose the model; the failed calls left no empty sessions behind.
    assert {r.json["model"] for r in model_server.requests} == {"test-model"}
    assert [s.id for s in SQLiteStore().list_sessions(directory=str(project))] == [session_id]


async def test_stdio_a_cancelled_call_stops_its_command(project: Path, model_server: ScriptedModelServer) -> None:
    from mcp.shared.exceptions import MCPError

    command = "echo $$ > shell.pid; sleep 30; touch late.txt"
    async with over_stdio(project, environment(model_server)) as client:
        with pytest.raises(MCPError, match="timed out"):
            await client.call_tool("bash", {"command": command, "description": "wait"}, read_timeout_seconds=2)
        after = await client.call_tool("read", {"filePath": "notes.txt"})
        assert not after.is_error  # the server goes on
        session_id = session_of(after)
        pid = int((project / "shell.pid").read_text())
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and _alive(pid):
            time.sleep(0.1)
        assert not _alive(pid), "the command's shell outlived the cancelled call"
    parts = [p for m in SQLiteStore().list_messages(session_id) for p in m.parts if isinstance(p, ToolPart)]
    assert parts[0].tool == "bash" and parts[0].state.status == "error"
    assert not (project / "late.txt").exists()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


# --- Streamable HTTP ----------------------------------------------------------------------------


async def test_http_on_loopback_serves_tools(
    project: Path, model_server: ScriptedModelServer, http_servers: list[HttpServer]
) -> None:
    server = HttpServer(project, environment(model_server))
    http_servers.append(server)
    url = server.url()
    assert url.startswith("http://127.0.0.1:") and url.endswith("/mcp")
    model_server.push(Reply([Text("Hello over HTTP.")]))
    async with over_http(url) as client:
        listed = await client.list_tools()
        read = await client.call_tool("read", {"filePath": "notes.txt"})
        agent = await client.call_tool("run_agent", {"prompt": "say hello"})
    assert {tool.name for tool in listed.tools} == SERVED
    assert "second line" in text_of(read)
    assert agent.structured_content is not None and agent.structured_content["text"] == "Hello over HTTP."
    SQLiteStore().get_session(agent.structured_content["sessionID"])
    # A page on another origin (or a rebinding host name) is refused before the MCP app sees it.
    refused = httpx.post(url, json={}, headers={"Origin": "https://evil.example"})
    assert refused.status_code == 403
    assert server.process.poll() is None


async def test_http_with_a_password_needs_it(
    project: Path, model_server: ScriptedModelServer, http_servers: list[HttpServer]
) -> None:
    env = environment(model_server)
    env["OPENCODE_SERVER_PASSWORD"] = PASSWORD
    server = HttpServer(project, env, "--hostname", "0.0.0.0")
    http_servers.append(server)
    url = server.url()
    assert "user opencode" in server.wait_for("password required")
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}
    anonymous = httpx.post(url, json=body, headers={"Accept": "application/json, text/event-stream"})
    assert anonymous.status_code == 401
    assert "password" in anonymous.json()["data"]["message"]
    wrong = httpx.post(url, json=body, headers={"Authorization": "Bearer wrong"})
    assert wrong.status_code == 401
    async with over_http(url, {"Authorization": f"Bearer {PASSWORD}"}) as client:
        listed = await client.list_tools()
        written = await client.call_tool("write", {"filePath": "out.txt", "content": "over http\n"})
    assert {tool.name for tool in listed.tools} == SERVED
    assert not written.is_error, text_of(written)
    assert (project / "out.txt").read_text() == "over http\n"


def test_http_refuses_an_open_address_without_a_password(project: Path, model_server: ScriptedModelServer) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "opencode", "mcp", "serve", "--transport", "http", "--hostname", "0.0.0.0"],
        cwd=project,
        env=environment(model_server),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "OPENCODE_SERVER_PASSWORD" in lines[0]
