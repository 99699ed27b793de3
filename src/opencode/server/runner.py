"""Run an ASGI app on uvicorn: in the foreground (`opencode serve`) or on a background thread (tests, benches).

    with ServerThread(app) as running:         # 127.0.0.1, a free port
        httpx.get(running.url + "/global/health")

The socket is bound here, before uvicorn starts, so port 0 picks a free port whose number is known
at once; it is made with IPPROTO_TCP so that asyncio sets TCP_NODELAY on its connections (without
it a response on a kept-alive connection can wait for the client's delayed ACK, about 40 ms).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
from typing import Any


def bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host.strip("[]"), port))
    # Listening from here on: a client that read the printed URL may connect before uvicorn runs (it
    # waits in the backlog) instead of being refused.
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def end_streams(app: Any) -> None:
    """End the app's event streams (SSE, WebSocket), which would otherwise hold uvicorn's shutdown open."""
    hub = getattr(getattr(app, "state", None), "hub", None)
    if hub is not None:
        hub.stop()


def uvicorn_server(app: Any, **options: Any) -> Any:
    import uvicorn

    class Server(uvicorn.Server):
        def handle_exit(self, sig: int, frame: Any) -> None:  # Ctrl+C: streams end, so the first one stops it
            super().handle_exit(sig, frame)
            end_streams(app)

    settings: dict[str, Any] = {
        "log_level": "warning",
        "access_log": False,
        "timeout_keep_alive": 30,
        "ws": "auto",
        "timeout_graceful_shutdown": 3,
    }
    settings.update(options)
    return Server(uvicorn.Config(app, **settings))


class ServerThread:
    """uvicorn serving `app` on its own thread and event loop; `stop()` (or leaving the `with`) ends it."""

    def __init__(
        self, app: Any, *, host: str = "127.0.0.1", port: int = 0, name: str = "server", **options: Any
    ) -> None:
        self.app = app
        self.host = host
        self.sock = bind(host, port)
        self.port: int = self.sock.getsockname()[1]
        self.server = uvicorn_server(app, **{"log_level": "critical", **options})
        self.loop: asyncio.AbstractEventLoop | None = None
        self._thread = threading.Thread(target=self._serve, name=name, daemon=True)

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def _serve(self) -> None:
        async def main() -> None:
            self.loop = asyncio.get_running_loop()
            await self.server.serve(sockets=[self.sock])

        asyncio.run(main())

    def start(self, timeout: float = 10.0) -> ServerThread:
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the server did not start within {timeout:g} s")
            time.sleep(0.005)
        return self

    def call(self, work: Any, timeout: float = 30.0) -> Any:
        """Run coroutine `work` on the server's loop and return its result (for tests)."""
        assert self.loop is not None
        return asyncio.run_coroutine_threadsafe(work, self.loop).result(timeout)

    def stop(self, timeout: float = 10.0) -> None:
        if self.loop is not None and self._thread.is_alive():
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile: nothing left to end
                self.loop.call_soon_threadsafe(end_streams, self.app)
        self.server.should_exit = True
        if self._thread.is_alive():
            self._thread.join(timeout)
        if self._thread.is_alive():
            self.server.force_exit = True
            self._thread.join(timeout)
        self.sock.close()

    def __enter__(self) -> ServerThread:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
