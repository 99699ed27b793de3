"""Remote servers: the SSE fallback, 401 answers (needs auth, or failed when OAuth is off), headers."""

from __future__ import annotations

import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from opencode.config.schema import Config
from opencode.mcp.manager import McpManager
from tests.mcp.conftest import EVERYTHING, free_port, node


@pytest.fixture
def everything_sse(tmp_path: Path) -> Iterator[str]:
    """server-everything in its old SSE mode; yields its /sse URL."""
    import socket
    import time

    port = free_port()
    process = subprocess.Popen(
        [node(), str(EVERYTHING), "sse"],
        env={**__import__("os").environ, "PORT": str(port)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                assert process.poll() is None and time.monotonic() < deadline, "the SSE server did not start"
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}/sse"
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
def unauthorized() -> Iterator[tuple[str, list[dict[str, str]]]]:
    """A server answering 401 to everything; yields its URL and the headers of each request it got."""
    seen: list[dict[str, str]] = []

    class Handler(BaseHTTPRequestHandler):
        def _deny(self) -> None:
            seen.append(dict(self.headers.items()))
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(length)
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Bearer error="invalid_token"')
            self.send_header("Content-Length", "0")
            self.end_headers()

        do_GET = do_POST = do_DELETE = _deny

        def log_message(self, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/mcp", seen
    finally:
        server.shutdown()
        server.server_close()


async def connect(servers: dict[str, Any], tmp_path: Path) -> McpManager:
    manager = McpManager(Config.model_validate({"mcp": servers}), cwd=tmp_path, startup_timeout=15)
    manager.start()
    await manager.wait_ready()
    return manager


async def test_sse_fallback(everything_sse: str, tmp_path: Path) -> None:
    manager = await connect({"old": {"type": "remote", "url": everything_sse, "oauth": False}}, tmp_path)
    try:
        status = manager.status()["old"]
        assert status.status == "connected" and status.transport == "sse"
        echo = next(t for t in manager.tools() if t.name == "old_echo")
        from opencode.tool.tool import ToolContext

        ctx = ToolContext(session_id="s", message_id="m", call_id="c", agent="build", root=tmp_path, cwd=tmp_path)
        result = await manager.execute(echo.name, {"message": "over sse"}, ctx)
        assert result.output == "Echo: over sse"
    finally:
        await manager.close()


async def test_401_is_needs_auth_with_oauth_and_failed_without(
    unauthorized: tuple[str, list[dict[str, str]]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url, seen = unauthorized
    monkeypatch.setenv("MY_TOKEN", "s3cret")
    servers = {
        "signin": {"type": "remote", "url": url},
        "keyed": {"type": "remote", "url": url, "oauth": False, "headers": {"Authorization": "Bearer {env:MY_TOKEN}"}},
    }
    manager = await connect(servers, tmp_path)
    try:
        status = manager.status()
    finally:
        await manager.close()
    assert status["signin"].status == "needs_auth"
    assert "opencode mcp auth signin" in (status["signin"].error or "")
    assert status["keyed"].status == "failed" and "401" in (status["keyed"].error or "")
    assert {"Bearer s3cret"} <= {h.get("Authorization", "") for h in seen}
