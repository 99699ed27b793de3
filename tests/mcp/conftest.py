"""Fixtures for the MCP client tests: the reference server (`@modelcontextprotocol/server-everything`,
installed by scripts/setup-mcp) over stdio and Streamable HTTP, our flaky test server, and an engine
on the scripted model server."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from opencode.agent.engine import Engine
from opencode.config.schema import Config
from opencode.provider.registry import Registry
from opencode.session.sqlite import SQLiteStore
from opencode.testing.model_server import ScriptedModelServer

REPO = Path(__file__).resolve().parents[2]
EVERYTHING = REPO / ".cache/mcp/node_modules/@modelcontextprotocol/server-everything/dist/index.js"
FLAKY = Path(__file__).with_name("flaky_server.py")
MODEL = "mine/test-model"


def node() -> str:
    found = shutil.which("node")
    if found is None:
        pytest.skip("node is not installed (scripts/setup-mcp installs it when run as root)")
    if not EVERYTHING.is_file():
        pytest.fail("the MCP reference server is missing: run scripts/setup-mcp")
    return found


@pytest.fixture
def everything_stdio() -> dict[str, Any]:
    """Config for server-everything over stdio."""
    return {"type": "local", "command": [node(), str(EVERYTHING), "stdio"]}


@pytest.fixture
def flaky(tmp_path: Path) -> dict[str, Any]:
    """Config for tests/mcp/flaky_server.py; each start appends a line to `FLAKY_MARK`."""
    mark = tmp_path / "flaky-starts.txt"
    return {"type": "local", "command": [sys.executable, str(FLAKY)], "environment": {"FLAKY_MARK": str(mark)}}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def everything_http(tmp_path: Path) -> Iterator[str]:
    """server-everything in its Streamable HTTP mode on a free loopback port; yields its /mcp URL."""
    port = free_port()
    log = (tmp_path / "everything-http.log").open("w")
    process = subprocess.Popen(
        [node(), str(EVERYTHING), "streamableHttp"],
        env={**os.environ, "PORT": str(port)},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError((tmp_path / "everything-http.log").read_text()) from None
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    (root / ".git").mkdir(parents=True)
    return root


def make_engine(
    project: Path, server: ScriptedModelServer, mcp: dict[str, Any], extra: dict[str, Any] | None = None
) -> Engine:
    options = {"baseURL": server.base_url("openai-chat"), "apiKey": server.api_key, "maxRetries": 0}
    provider = {"npm": "@ai-sdk/openai-compatible", "options": options, "models": {"test-model": {"tool_call": True}}}
    config = Config.model_validate({"provider": {"mine": provider}, "model": MODEL, "mcp": mcp, **(extra or {})})
    registry = Registry.load(config, environ={}, credentials={})
    return Engine(cwd=project, config=config, registry=registry, store=SQLiteStore(project.parent / "store.db"))
