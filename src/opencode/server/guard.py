"""The server's front door, as one ASGI middleware: Host check, CORS, password, body cap.

In order, for HTTP and WebSocket alike:
1. `Host` must name this server (a loopback name, the bound address): a page on a hostile domain
   that resolves to 127.0.0.1 (DNS rebinding) gets 403.
2. `Origin`, when a browser sends one, must be the server's own or a `--cors` origin: anything else
   gets 403 (not merely a response the page cannot read: the request itself is refused, so a
   foreign page cannot start a prompt). Preflights (OPTIONS) from allowed origins are answered here.
3. With a password set, `Authorization` must carry it (basic or bearer; `?auth_token=` for an
   EventSource or WebSocket, which cannot set headers).
4. A body over the cap gets 413, whether announced by Content-Length or streamed.

Pure ASGI (no BaseHTTPMiddleware), so SSE and WebSocket streams pass through untouched.
"""

from __future__ import annotations

import base64
import hmac
import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import parse_qs

from opencode.server.options import ServerOptions

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

ALLOW_METHODS = "GET, POST, PUT, PATCH, DELETE, OPTIONS"
ALLOW_HEADERS = (
    "authorization, content-type, x-opencode-directory, accept, last-event-id, mcp-session-id, mcp-protocol-version"
)
EXPOSE_HEADERS = b"mcp-session-id, x-opencode-restart-needed"
"""Response headers a page may read (MCP's session id over Streamable HTTP; PATCH /config's restart note)."""


class BodyTooLarge(Exception):
    pass


def error_body(status: int, name: str, message: str) -> bytes:
    return json.dumps({"name": name, "data": {"message": message}}).encode()


class Guard:
    def __init__(self, app: ASGIApp, options: ServerOptions) -> None:
        self.app = app
        self.options = options

    def own_origins(self, scope: Scope) -> set[str]:
        """Pages served by this server itself (the web UI), on any of its names, and the `--cors` ones."""
        server = scope.get("server") or (None, self.options.port)
        port = server[1]
        names = self.options.host_names()
        return {f"http://{name}:{port}" for name in names} | set(self.options.cors)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        problem = self._host_problem(headers.get("host", ""), scope)
        if problem:
            await self._refuse(scope, send, 403, "Forbidden", problem)
            return
        origin = headers.get("origin")
        if origin is not None and not self._origin_allowed(origin.rstrip("/"), headers.get("host", ""), scope):
            message = f"origin {origin} may not call this server (start it with --cors {origin})"
            await self._refuse(scope, send, 403, "Forbidden", message)
            return
        if scope["type"] == "http" and scope["method"] == "OPTIONS" and origin is not None:
            await self._preflight(send, origin)
            return
        if self.options.password is not None and not self._authorized(headers, scope):
            await self._refuse(
                scope,
                send,
                401,
                "Unauthorized",
                "this server needs its password: HTTP basic auth or `Authorization: Bearer <password>`",
                extra=[(b"www-authenticate", b'Basic realm="opencode"')],
            )
            return
        if scope["type"] == "websocket":
            await self.app(scope, receive, send)
            return
        length = headers.get("content-length")
        if length is not None and length.isdigit() and int(length) > self.options.max_body:
            await self._refuse(scope, send, 413, "PayloadTooLarge", self._too_large())
            return
        await self.app(scope, self._capped(receive), self._with_cors(send, origin))

    # --- the checks ------------------------------------------------------------------------

    def _origin_allowed(self, origin: str, host: str, scope: Scope) -> bool:
        """The server's own pages (on whatever name the Host check let through: a LAN address when bound
        to every interface, where the password guards it) and the `--cors` origins."""
        if origin in self.own_origins(scope):
            return True
        scheme = "https" if scope.get("scheme") in ("https", "wss") else "http"
        return bool(host) and origin.lower() == f"{scheme}://{host.lower()}"

    def _host_problem(self, host: str, scope: Scope) -> str | None:
        if self.options.any_host():
            return None
        name = host.lower()
        if name.startswith("["):
            name = name[: name.find("]") + 1]
        elif ":" in name:
            name = name.rsplit(":", 1)[0]
        if name in self.options.host_names():
            return None
        port = (scope.get("server") or (None, self.options.port))[1]
        shown = host or "(none)"
        return f"Host {shown} is not this server's name (DNS rebinding guard); call it as {self.options.url(port)}"

    def _authorized(self, headers: dict[str, str], scope: Scope) -> bool:
        password = self.options.password
        assert password is not None
        given = headers.get("authorization", "")
        scheme, _, value = given.partition(" ")
        if scheme.lower() == "bearer":
            return hmac.compare_digest(value.strip().encode(), password.encode())
        if scheme.lower() == "basic":
            try:
                user, _, secret = base64.b64decode(value.strip()).decode().partition(":")
            except (ValueError, UnicodeDecodeError):
                return False
            return hmac.compare_digest(user.encode(), self.options.username.encode()) and hmac.compare_digest(
                secret.encode(), password.encode()
            )
        token = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("auth_token", [""])[0]
        return bool(token) and hmac.compare_digest(token.encode(), password.encode())

    def _too_large(self) -> str:
        return f"request body over {self.options.max_body // (1024 * 1024)} MiB; send less (attach big files by path)"

    # --- responses -------------------------------------------------------------------------

    async def _refuse(
        self,
        scope: Scope,
        send: Send,
        status: int,
        name: str,
        message: str,
        extra: list[tuple[bytes, bytes]] = (),  # type: ignore[assignment]
    ) -> None:
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008, "reason": message[:120]})
            return
        body = error_body(status, name, message)
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()), *extra]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async def _preflight(self, send: Send, origin: str) -> None:
        headers = [
            (b"access-control-allow-origin", origin.encode("latin-1")),
            (b"access-control-allow-methods", ALLOW_METHODS.encode()),
            (b"access-control-allow-headers", ALLOW_HEADERS.encode()),
            (b"access-control-allow-credentials", b"true"),
            (b"access-control-max-age", b"600"),
            (b"vary", b"Origin"),
            (b"content-length", b"0"),
        ]
        await send({"type": "http.response.start", "status": 204, "headers": headers})
        await send({"type": "http.response.body", "body": b""})

    def _with_cors(self, send: Send, origin: str | None) -> Send:
        if origin is None:
            return send

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers.append((b"access-control-allow-origin", origin.encode("latin-1")))
                headers.append((b"access-control-allow-credentials", b"true"))
                headers.append((b"access-control-expose-headers", EXPOSE_HEADERS))
                headers.append((b"vary", b"Origin"))
                message["headers"] = headers
            await send(message)

        return sending

    def _capped(self, receive: Receive) -> Receive:
        seen = 0
        cap = self.options.max_body

        async def receiving() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > cap:
                    raise BodyTooLarge(self._too_large())
            return message

        return receiving
