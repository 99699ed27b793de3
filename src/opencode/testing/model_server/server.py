"""A real HTTP server on 127.0.0.1 that speaks the model vendors' wire protocols, for tests.

    with ScriptedModelServer() as server:
        server.push(Reply([Text("hello")]))
        ... point a provider at server.base_url("anthropic") with key server.api_key ...
        server.requests[-1].json  # what went over the wire

Replies are consumed in order by whichever protocol endpoint is called. Each protocol handler
(one module per protocol, beside this one) validates requests as the real service does and
answers errors in the vendor's own shapes. With no reply queued, an endpoint answers 500 with a
message saying so, so a test never passes on a default answer by accident.

The server runs uvicorn in a background thread with its own event loop, so both sync and async
tests can use it.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections import deque
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from opencode.testing.model_server.script import ErrorReply, Reply, Script

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.responses import Response


@dataclass
class RecordedRequest:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    client: str = ""
    """The caller's address as host:port: one port for several requests means one reused connection."""

    @property
    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


class Handler(Protocol):
    """One wire protocol. `match` claims a request; `handle` answers it."""

    name: str

    def match(self, method: str, path: str) -> bool: ...

    async def handle(self, server: ScriptedModelServer, request: RecordedRequest) -> Response: ...


class BrokenStream(Exception):
    """Raised inside a streaming body to drop the connection mid-way (uvicorn then aborts it)."""


@dataclass
class LocalModels:
    """Models a local server (ollama, LM Studio, llama.cpp) lists from its model endpoints."""

    ids: list[str] = field(default_factory=list)


class ScriptedModelServer:
    api_key = "test-key"
    """The key every protocol accepts (Bedrock: the secret for `aws_access_key_id`)."""
    aws_access_key_id = "AKIDSCRIPTED"
    aws_region = "us-east-1"

    def __init__(self, handlers: Iterable[Handler] | None = None) -> None:
        self._lock = threading.Lock()
        self._queue: deque[Script] = deque()
        self.requests: list[RecordedRequest] = []
        self.local_models = LocalModels()
        self.handlers: list[Handler] = list(handlers) if handlers is not None else default_handlers()
        self._thread: threading.Thread | None = None
        self._server: Any = None
        self._socket: socket.socket | None = None
        self.port = 0

    # --- scripting ------------------------------------------------------------------------

    def push(self, *scripts: Script) -> None:
        with self._lock:
            self._queue.extend(scripts)

    def reset(self) -> None:
        with self._lock:
            self._queue.clear()
            self.requests.clear()
            self.local_models.ids.clear()

    def pop(self) -> Script | None:
        with self._lock:
            return self._queue.popleft() if self._queue else None

    @property
    def pending(self) -> int:
        with self._lock:
            return len(self._queue)

    # --- addresses ------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def base_url(self, protocol: str) -> str:
        """The base URL a provider of `protocol` should be configured with."""
        suffix = {
            "openai-chat": "/v1",
            "openai-responses": "/v1",
            "anthropic": "/v1",
            "gemini": "/v1beta",
            "cohere": "/v2",
            "azure": "/openai",
            "bedrock": "",
            "ollama": "/v1",
        }.get(protocol, "/v1")
        return self.url + suffix

    # --- lifecycle ------------------------------------------------------------------------

    def start(self) -> ScriptedModelServer:
        import uvicorn
        from starlette.applications import Starlette
        from starlette.routing import Route

        app = Starlette(routes=[Route("/{path:path}", self._dispatch, methods=["GET", "POST", "DELETE", "PUT"])])
        # IPPROTO_TCP named explicitly: asyncio sets TCP_NODELAY only on sockets whose proto says TCP, and
        # without it each response pays the client's delayed ACK (about 40 ms) on a reused connection.
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        self._socket = sock
        config = uvicorn.Config(app, log_level="critical", access_log=False, lifespan="off", timeout_keep_alive=30)
        server = uvicorn.Server(config)
        self._server = server

        def serve() -> None:
            asyncio.run(server.serve(sockets=[sock]))

        self._thread = threading.Thread(target=serve, name="scripted-model-server", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("scripted model server did not start within 10 s")
            time.sleep(0.005)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
            self._server.force_exit = True
        if self._thread is not None:
            self._thread.join(10)
        if self._socket is not None:
            self._socket.close()
        self._thread = self._server = self._socket = None

    def __enter__(self) -> ScriptedModelServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- dispatch -------------------------------------------------------------------------

    async def _dispatch(self, request: Request) -> Response:
        from starlette.responses import JSONResponse

        recorded = RecordedRequest(
            method=request.method,
            path=request.url.path,
            query=dict(request.query_params),
            headers={k.lower(): v for k, v in request.headers.items()},
            body=await request.body(),
            client=f"{request.client.host}:{request.client.port}" if request.client else "",
        )
        with self._lock:
            self.requests.append(recorded)
        for handler in self.handlers:
            if handler.match(recorded.method, recorded.path):
                return await handler.handle(self, recorded)
        return JSONResponse({"error": {"message": f"no scripted endpoint for {recorded.path}"}}, status_code=404)

    def next_script(self) -> Script:
        """The next queued reply, or a 500 error saying nothing was queued."""
        script = self.pop()
        if script is None:
            return ErrorReply(500, "scripted model server: no reply queued for this request", kind="server")
        return script


async def wait_before_headers(reply: Script) -> None:
    if isinstance(reply, Reply) and reply.delay:
        await asyncio.sleep(reply.delay)


def stream_response(reply: Reply, chunks: list[bytes], media_type: str, headers: dict[str, str] | None = None) -> Any:
    """A streaming response that sends `chunks`, honouring the reply's stall and break controls."""
    from starlette.responses import StreamingResponse

    async def body() -> AsyncIterator[bytes]:
        for index, chunk in enumerate(chunks):
            if reply.break_after is not None and index >= reply.break_after:
                raise BrokenStream("scripted break")
            if reply.stall_after is not None and index == reply.stall_after:
                await asyncio.sleep(reply.stall_seconds)
            yield chunk
            await asyncio.sleep(0)

    return StreamingResponse(body(), media_type=media_type, headers=headers)


def sse(data: Any, event: str | None = None) -> bytes:
    """One server-sent event; `data` is JSON-encoded unless it is already a str."""
    text = data if isinstance(data, str) else json.dumps(data, separators=(",", ":"))
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {text}\n\n".encode()


def default_handlers() -> list[Handler]:
    """Every protocol this package speaks, in match order."""
    from opencode.testing.model_server import protocols

    return protocols.all_handlers()
