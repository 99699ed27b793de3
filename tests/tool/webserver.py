"""A small HTTP server on 127.0.0.1 for the web tools' tests: it records every request it gets and
answers with whatever the test's handler returns (a body, a redirect, an endless stream, a stall)."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class Received:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Reply:
    status: int = 200
    body: bytes | str = b""
    content_type: str | None = "text/html; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)
    stream: Iterable[bytes] | None = None
    """Chunks written one after another, without a Content-Length (the body ends when the connection does)."""
    stall: bool = False
    """Never answer (until the server stops)."""


def json_reply(data: Any, status: int = 200) -> Reply:
    return Reply(status, json.dumps(data), "application/json")


class WebServer:
    def __init__(self, handler: Callable[[Received], Reply]) -> None:
        self.handler = handler
        self.requests: list[Received] = []
        self.stopping = threading.Event()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self._serve()

            def do_POST(self) -> None:
                self._serve()

            def _serve(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else b""
                received = Received(
                    self.command,
                    parts.path,
                    parse_qs(parts.query),
                    {key.lower(): value for key, value in self.headers.items()},
                    body,
                )
                outer.requests.append(received)
                reply = outer.handler(received)
                if reply.stall:
                    outer.stopping.wait(30)
                    return
                data = reply.body.encode() if isinstance(reply.body, str) else reply.body
                self.send_response(reply.status)
                if reply.content_type is not None:
                    self.send_header("Content-Type", reply.content_type)
                for key, value in reply.headers.items():
                    self.send_header(key, value)
                if reply.stream is None:
                    self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                try:
                    if reply.stream is None:
                        self.wfile.write(data)
                        return
                    for chunk in reply.stream:
                        if outer.stopping.is_set():
                            return
                        self.wfile.write(chunk)
                except (BrokenPipeError, ConnectionResetError):
                    return  # the client stopped reading, as it should past its cap

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.02,), daemon=True)

    def __enter__(self) -> WebServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopping.set()
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)
