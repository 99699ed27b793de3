"""OAuth for remote MCP servers (the MCP authorization spec), on the `mcp` SDK's client auth.

`auth_for(name, url, oauth, interactive=...)` gives the `httpx2.Auth` to put on the
`httpx2.AsyncClient` that the SDK's `streamable_http_client` (or `sse_client`, via `auth=`) uses.
The SDK's `OAuthClientProvider` does the protocol: protected-resource metadata (RFC 9728, from
the 401's `WWW-Authenticate` or the well-known URL), authorization-server metadata (RFC 8414 /
OIDC), dynamic client registration (RFC 7591), PKCE (S256), the state check and the code
exchange. This module adds what a CLI needs around it:

- Storage in `<data>/mcp-auth.json`, opencode's layout (one entry per server, bound to its URL):

      {"NAME": {"serverUrl": ..., "tokens": {"accessToken", "refreshToken", "expiresAt", "scope"},
                "clientInfo": {"clientId", "clientSecret", "clientIdIssuedAt", "clientSecretExpiresAt",
                               "redirectUris", "tokenEndpointAuthMethod", "issuer"},
                "discovery": {"protectedResource": {...}, "authorizationServer": {...}}}}

  mode 0600, replaced atomically (a temporary file, then `os.replace`), every read-modify-write
  under `fcntl.flock` on `mcp-auth.json.lock`. The registered client is kept and reused; the
  discovered metadata is kept so that a later session refreshes without discovering again.
- Refresh before expiry (30 s ahead) under that lock, re-reading the file inside it: when another
  process has already rotated the refresh token, its new tokens are used and no second refresh
  is sent with the spent one.
- A token the server rejects (401): the stored tokens are re-read (another process may hold
  newer ones), else refreshed; when that fails too, `NeedsAuth` (sessions) or the browser flow
  again (`opencode mcp auth`).
- The browser step: a listener on 127.0.0.1 (config `redirectUri`, else `callbackPort`, else the
  port of the stored registration, else opencode's 19876, else any free port; path
  `/mcp/oauth/callback`), the URL opened with `webbrowser` and printed (for SSH), callbacks with
  another state refused.

Imports the SDK: import this module only when a remote server is configured.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import logging
import os
import socket
import sys
import threading
import time
import webbrowser
from collections.abc import AsyncGenerator, AsyncIterator, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import anyio
import anyio.to_thread
import httpx2
from mcp.client.auth import OAuthClientProvider, OAuthFlowError
from mcp.client.auth.utils import (
    build_oauth_authorization_server_metadata_discovery_urls,
    build_protected_resource_metadata_discovery_urls,
    create_oauth_metadata_request,
    extract_field_from_www_auth,
    extract_resource_metadata_from_www_auth,
    handle_auth_metadata_response,
    handle_protected_resource_response,
)
from mcp.shared.auth import (
    AuthorizationCodeResult,
    OAuthClientInformationFull,
    OAuthClientMetadata,
    OAuthMetadata,
    OAuthToken,
    ProtectedResourceMetadata,
)
from mcp.shared.inbound import MCP_PROTOCOL_VERSION_HEADER
from pydantic import AnyUrl, ValidationError

from opencode.config.paths import paths
from opencode.config.schema import McpOAuthConfig

log = logging.getLogger("opencode.mcp.oauth")

CALLBACK_HOST = "127.0.0.1"
CALLBACK_PORT = 19876  # opencode's
CALLBACK_PATH = "/mcp/oauth/callback"
CALLBACK_TIMEOUT = 300.0  # seconds to finish signing in, as opencode
REFRESH_MARGIN = 30.0  # refresh a token this many seconds before it expires
LOCK_TIMEOUT = 60.0


class McpAuthError(Exception):
    """Signing in cannot go on; the message says why, in one line."""


class NeedsAuth(McpAuthError):
    """The server wants a token and none that works is stored (sessions never open a browser).

    `response` is the server's answer that asked for it (401, or 403 for more scope).
    """

    def __init__(self, name: str, reason: str = "", response: httpx2.Response | None = None) -> None:
        self.name = name
        self.response = response
        why = f" ({reason})" if reason else ""
        super().__init__(f"MCP server {name} needs authorization{why}: run `opencode mcp auth {name}`")


def find_needs_auth(exc: BaseException | None) -> NeedsAuth | None:
    """The `NeedsAuth` inside `exc`: itself, in an exception group, or as a cause or context.

    The SDK's transports run requests in task groups, so an error from the auth flow usually
    arrives wrapped in an `ExceptionGroup`.
    """
    seen: set[int] = set()
    todo: list[BaseException] = [exc] if exc is not None else []
    while todo:
        item = todo.pop()
        if id(item) in seen:
            continue
        seen.add(id(item))
        if isinstance(item, NeedsAuth):
            return item
        if isinstance(item, BaseExceptionGroup):
            todo.extend(item.exceptions)
        todo.extend(e for e in (item.__cause__, item.__context__) if e is not None)
    return None


# --- storage ---------------------------------------------------------------------------------


def auth_file() -> Path:
    return paths().data / "mcp-auth.json"


class Locked:
    """The store's contents while its lock is held; `put` and `delete` write the file at once."""

    def __init__(self, store: McpAuthStore) -> None:
        self.store = store
        self.data = store.read()

    def get(self, name: str, url: str) -> dict[str, Any] | None:
        entry = self.data.get(name)
        if entry is None or entry.get("serverUrl") != url:
            return None  # none, or written for another URL: not this server's
        return entry

    def put(self, name: str, url: str, **fields: Any) -> None:
        """Set (or, with None, remove) `fields` of the entry for `name` at `url`."""
        entry = dict(self.get(name, url) or {"serverUrl": url})
        for key, value in fields.items():
            if value is None:
                entry.pop(key, None)
            else:
                entry[key] = value
        self.data[name] = entry
        self.store.write(self.data)

    def delete(self, name: str) -> bool:
        if name not in self.data:
            return False
        del self.data[name]
        self.store.write(self.data)
        return True


class McpAuthStore:
    """`mcp-auth.json`: read freely (writes are atomic), changed only under the lock."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or auth_file()

    @property
    def lock_path(self) -> Path:
        return self.path.with_name(self.path.name + ".lock")

    def read(self) -> dict[str, dict[str, Any]]:
        from opencode.util.secretfile import read_object

        return read_object(self.path, McpAuthError)

    def entry(self, name: str, url: str) -> dict[str, Any] | None:
        entry = self.read().get(name)
        return entry if entry is not None and entry.get("serverUrl") == url else None

    def write(self, data: dict[str, dict[str, Any]]) -> None:
        from opencode.util.secretfile import write_private

        write_private(self.path, data)

    def _open_lock(self) -> int:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        return os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o600)

    def _try_lock(self, fd: int) -> bool:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno in (errno.EAGAIN, errno.EACCES):
                return False
            raise
        return True

    def _timed_out(self) -> McpAuthError:
        return McpAuthError(f"{self.lock_path}: still locked by another process after {LOCK_TIMEOUT:g} s")

    @contextlib.contextmanager
    def locked(self) -> Iterator[Locked]:
        fd = self._open_lock()
        try:
            deadline = time.monotonic() + LOCK_TIMEOUT
            while not self._try_lock(fd):
                if time.monotonic() > deadline:
                    raise self._timed_out()
                time.sleep(0.02)
            yield Locked(self)
        finally:
            os.close(fd)  # closing the descriptor releases the lock

    @contextlib.asynccontextmanager
    async def alocked(self) -> AsyncIterator[Locked]:
        """`locked()` for async code: waits without blocking the event loop."""
        fd = self._open_lock()
        try:
            deadline = time.monotonic() + LOCK_TIMEOUT
            while not self._try_lock(fd):
                if time.monotonic() > deadline:
                    raise self._timed_out()
                await anyio.sleep(0.02)
            yield Locked(self)
        finally:
            os.close(fd)

    def remove(self, name: str) -> bool:
        with self.locked() as tx:
            return tx.delete(name)


def _tokens_to_entry(token: OAuthToken) -> dict[str, Any]:
    entry: dict[str, Any] = {"accessToken": token.access_token}
    if token.refresh_token:
        entry["refreshToken"] = token.refresh_token
    if token.expires_in is not None:
        entry["expiresAt"] = time.time() + token.expires_in
    if token.scope:
        entry["scope"] = token.scope
    return entry


def _tokens_from_entry(entry: dict[str, Any]) -> tuple[OAuthToken, float | None] | None:
    raw = entry.get("tokens")
    if not isinstance(raw, dict) or not isinstance(raw.get("accessToken"), str):
        return None
    expires_at = raw.get("expiresAt")
    expires_at = float(expires_at) if isinstance(expires_at, (int, float)) else None
    token = OAuthToken(
        access_token=raw["accessToken"],
        refresh_token=raw.get("refreshToken") if isinstance(raw.get("refreshToken"), str) else None,
        scope=raw.get("scope") if isinstance(raw.get("scope"), str) else None,
        expires_in=max(0, int(expires_at - time.time())) if expires_at is not None else None,
    )
    return token, expires_at


def _client_to_entry(info: OAuthClientInformationFull) -> dict[str, Any]:
    entry = {
        "clientId": info.client_id,
        "clientSecret": info.client_secret,
        "clientIdIssuedAt": info.client_id_issued_at,
        "clientSecretExpiresAt": info.client_secret_expires_at,
        "redirectUris": [str(u) for u in info.redirect_uris or []] or None,
        "tokenEndpointAuthMethod": info.token_endpoint_auth_method,
        "issuer": info.issuer,
    }
    return {k: v for k, v in entry.items() if v is not None}


def _client_from_entry(entry: dict[str, Any]) -> OAuthClientInformationFull | None:
    raw = entry.get("clientInfo")
    if not isinstance(raw, dict) or not isinstance(raw.get("clientId"), str):
        return None
    expires = raw.get("clientSecretExpiresAt")
    if isinstance(expires, (int, float)) and expires and expires < time.time():
        log.info("the registered client's secret has expired: registering again")
        return None
    secret = raw.get("clientSecret")
    try:
        return OAuthClientInformationFull(
            client_id=raw["clientId"],
            client_secret=secret,
            client_id_issued_at=raw.get("clientIdIssuedAt"),
            client_secret_expires_at=expires,
            redirect_uris=raw.get("redirectUris"),
            # opencode's entries carry no method: a public client unless it holds a secret
            token_endpoint_auth_method=raw.get("tokenEndpointAuthMethod")
            or ("client_secret_post" if secret else "none"),
            issuer=raw.get("issuer"),
        )
    except ValidationError:
        return None


# --- the browser step ------------------------------------------------------------------------


def redirect_uri_for(
    oauth: McpOAuthConfig | None, stored: OAuthClientInformationFull | None = None, *, probe: bool = True
) -> str:
    """Where the authorization server sends the browser back: config, else the stored
    registration's loopback address (so it stays valid), else opencode's port, else a free one.
    `probe=False` (no browser step coming) checks no port."""
    if oauth is not None and oauth.redirectUri:
        return oauth.redirectUri
    if oauth is not None and oauth.callbackPort:
        return f"http://{CALLBACK_HOST}:{oauth.callbackPort}{CALLBACK_PATH}"
    if stored is not None and stored.redirect_uris:
        previous = urlsplit(str(stored.redirect_uris[0]))
        if not probe or (
            previous.hostname in (CALLBACK_HOST, "localhost") and previous.port and _port_free(previous.port)
        ):
            return str(stored.redirect_uris[0])
    port = CALLBACK_PORT if not probe or _port_free(CALLBACK_PORT) else _free_port()
    return f"http://{CALLBACK_HOST}:{port}{CALLBACK_PATH}"


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the listener binds: TIME_WAIT is fine
        try:
            sock.bind((CALLBACK_HOST, port))
        except OSError:
            return False
    return True


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((CALLBACK_HOST, 0))
        return int(sock.getsockname()[1])


_PAGE = (
    "<!doctype html><meta charset=utf-8><title>OpenCode</title>"
    "<body style='font-family:sans-serif;margin:3em'><h2>{title}</h2><p>{detail}</p></body>"
)


class _CallbackListener:
    """One sign-in's redirect listener: a small HTTP server on its own thread."""

    def __init__(self, redirect_uri: str, state: str | None) -> None:
        parts = urlsplit(redirect_uri)
        self.port = parts.port or 80
        self.path = parts.path or CALLBACK_PATH
        self.state = state
        self.result: dict[str, str] | None = None
        self.done = threading.Event()
        listener = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                listener.handle(self)

            def log_message(self, format: str, *args: Any) -> None:
                log.debug("callback listener: " + format, *args)

        try:
            self.server = ThreadingHTTPServer((CALLBACK_HOST, self.port), Handler)
        except OSError as exc:
            raise McpAuthError(
                f"cannot listen on {CALLBACK_HOST}:{self.port} for the sign-in redirect ({exc.strerror}); "
                'set "callbackPort" in the server\'s oauth options'
            ) from None
        self.thread = threading.Thread(target=self.server.serve_forever, name="mcp-oauth-callback", daemon=True)
        self.thread.start()

    def handle(self, request: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(request.path)
        if parts.path != self.path:
            self._reply(request, 404, "Not found", "")
            return
        query = {k: v[0] for k, v in parse_qs(parts.query).items() if v}
        if self.done.is_set():
            self._reply(request, 400, "Already signed in", "This sign-in is over; you can close this tab.")
        elif self.state is not None and query.get("state") != self.state:
            self._reply(request, 400, "Sign-in refused", "The state does not match this sign-in.")
        elif "error" in query or "code" in query:
            self.result = query
            self.done.set()
            if "error" in query:
                self._reply(request, 200, "Sign-in failed", query.get("error_description") or query["error"])
            else:
                self._reply(request, 200, "Signed in", "You can close this tab and go back to OpenCode.")
        else:
            self._reply(request, 400, "Sign-in failed", "No authorization code in the redirect.")

    @staticmethod
    def _reply(request: BaseHTTPRequestHandler, status: int, title: str, detail: str) -> None:
        body = _PAGE.format(title=title, detail=detail.replace("<", "&lt;")).encode()
        request.send_response(status)
        request.send_header("Content-Type", "text/html; charset=utf-8")
        request.send_header("Content-Length", str(len(body)))
        request.end_headers()
        request.wfile.write(body)

    async def wait(self, timeout: float) -> dict[str, str]:
        deadline = time.monotonic() + timeout
        while not self.done.is_set():
            if time.monotonic() > deadline:
                raise McpAuthError(
                    f"no sign-in redirect within {timeout:g} s; if port {self.port} belongs to another program, "
                    'set "callbackPort" in the server\'s oauth options'
                )
            await anyio.sleep(0.05)
        assert self.result is not None
        return self.result

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


# --- the provider ----------------------------------------------------------------------------


class McpOAuth(OAuthClientProvider):
    """The SDK's OAuth provider with opencode's storage, a shared refresh lock and re-auth on 401.

    `interactive=False` (sessions) never opens a browser: `NeedsAuth` instead. `force=True`
    (`opencode mcp auth`) ignores the stored tokens once and signs in again.
    """

    def __init__(
        self,
        name: str,
        url: str,
        oauth: McpOAuthConfig | None = None,
        *,
        interactive: bool,
        force: bool = False,
        store: McpAuthStore | None = None,
        callback_timeout: float = CALLBACK_TIMEOUT,
    ) -> None:
        self.name = name
        self.url = url
        self.oauth = oauth
        self.interactive = interactive
        self.store = store or McpAuthStore()
        self.callback_timeout = callback_timeout
        self.signed_in = False  # set once the browser flow got tokens
        self._force = force
        self._listener: _CallbackListener | None = None
        self._preset = self._configured_client()
        stored = self._preset or self._stored_client(self.store.entry(name, url) or {})
        self.redirect_uri = redirect_uri_for(oauth, stored, probe=interactive)
        if self._preset is not None and not self._preset.redirect_uris:
            self._preset.redirect_uris = [AnyUrl(self.redirect_uri)]
        metadata = OAuthClientMetadata(
            redirect_uris=[AnyUrl(self.redirect_uri)],
            client_name="OpenCode",
            client_uri=AnyUrl("https://opencode.ai"),
            grant_types=["authorization_code", "refresh_token"],
            response_types=["code"],
            token_endpoint_auth_method="client_secret_post" if oauth and oauth.clientSecret else "none",
            scope=oauth.scope if oauth else None,
        )
        super().__init__(
            url,
            metadata,
            _Storage(self),
            redirect_handler=self._open_browser,
            callback_handler=self._wait_for_callback,
        )

    # -- stored state ---------------------------------------------------------------------

    def _configured_client(self) -> OAuthClientInformationFull | None:
        if self.oauth is None or not self.oauth.clientId:
            return None
        secret = self.oauth.clientSecret
        return OAuthClientInformationFull(
            client_id=self.oauth.clientId,
            client_secret=secret,
            token_endpoint_auth_method="client_secret_post" if secret else "none",
            redirect_uris=[AnyUrl(self.oauth.redirectUri)] if self.oauth.redirectUri else None,
        )

    def _stored_client(self, entry: dict[str, Any]) -> OAuthClientInformationFull | None:
        """The stored registration; for a sign-in, only when it allows this redirect URI (a refresh
        does not care)."""
        client = _client_from_entry(entry)
        redirect = getattr(self, "redirect_uri", None) if self.interactive else None
        registered = {str(u) for u in client.redirect_uris or []} if client is not None else set()
        if registered and redirect is not None and str(AnyUrl(redirect)) not in registered:
            log.info("%s: the stored client was registered for another redirect URI: registering again", self.name)
            return None
        return client

    def _load(self, entry: dict[str, Any] | None) -> None:
        """Take tokens, client and discovered metadata from the stored entry."""
        entry = entry or {}
        self.context.client_info = self._preset or self._stored_client(entry)
        loaded = _tokens_from_entry(entry)
        if loaded is None:
            self.context.clear_tokens()
        else:
            self.context.current_tokens, expires_at = loaded
            self.context.token_expiry_time = expires_at - REFRESH_MARGIN if expires_at is not None else None
        discovery = entry.get("discovery")
        if isinstance(discovery, dict) and self.context.oauth_metadata is None:
            with contextlib.suppress(ValidationError, TypeError):
                prm = discovery.get("protectedResource")
                if isinstance(prm, dict):
                    self.context.protected_resource_metadata = ProtectedResourceMetadata.model_validate(prm)
                    if self.context.protected_resource_metadata.authorization_servers:
                        self.context.auth_server_url = str(
                            self.context.protected_resource_metadata.authorization_servers[0]
                        )
                asm = discovery.get("authorizationServer")
                if isinstance(asm, dict):
                    self.context.oauth_metadata = OAuthMetadata.model_validate(asm)
        self._initialized = True

    def _discovery_entry(self) -> dict[str, Any] | None:
        found: dict[str, Any] = {}
        if self.context.protected_resource_metadata is not None:
            found["protectedResource"] = self.context.protected_resource_metadata.model_dump(
                mode="json", exclude_none=True
            )
        if self.context.oauth_metadata is not None:
            found["authorizationServer"] = self.context.oauth_metadata.model_dump(mode="json", exclude_none=True)
        return found or None

    def _set_tokens(self, token: OAuthToken) -> None:
        self.context.current_tokens = token
        self.context.token_expiry_time = (
            time.time() + token.expires_in - REFRESH_MARGIN if token.expires_in is not None else None
        )

    async def _initialize(self) -> None:
        self._load(self.store.entry(self.name, self.url))

    # -- the flow -------------------------------------------------------------------------

    def _bearer(self) -> str | None:
        tokens = self.context.current_tokens
        return f"Bearer {tokens.access_token}" if tokens else None

    async def _discover(self) -> AsyncGenerator[httpx2.Request, httpx2.Response]:
        """Protected-resource and authorization-server metadata, when none is known (for a refresh)."""
        hint: str | None = None
        for url in build_protected_resource_metadata_discovery_urls(hint, self.context.server_url):
            response = yield create_oauth_metadata_request(url)
            prm = await handle_protected_resource_response(response)
            if prm is not None:
                self.context.protected_resource_metadata = prm
                self.context.auth_server_url = str(prm.authorization_servers[0])
                break
        urls = build_oauth_authorization_server_metadata_discovery_urls(
            self.context.auth_server_url, self.context.server_url
        )
        for url in urls:
            response = yield create_oauth_metadata_request(url)
            ok, asm = await handle_auth_metadata_response(response)
            if not ok:
                break
            if asm is not None:
                self.context.oauth_metadata = asm
                break

    async def _refresh_locked(self, tx: Locked) -> AsyncGenerator[httpx2.Request, httpx2.Response]:
        """Refresh with the stored refresh token and store the result; the lock is held by the caller."""
        if self.context.oauth_metadata is None:
            async with contextlib.aclosing(self._discover()) as discover:
                try:
                    outgoing = await discover.__anext__()
                    while True:
                        outgoing = await discover.asend((yield outgoing))
                except StopAsyncIteration:
                    pass
        spent = self.context.current_tokens
        response = yield await self._refresh_token()
        body = await response.aread()
        if response.status_code != 200:
            log.info("%s: token refresh refused (HTTP %s): %s", self.name, response.status_code, body[:200])
            if response.status_code in (400, 401):  # invalid_grant: the refresh token is dead
                self.context.clear_tokens()
                tx.put(self.name, self.url, tokens=None)
            return
        try:
            token = OAuthToken.model_validate_json(body)
        except ValidationError:
            log.warning("%s: the token endpoint answered a refresh with something else", self.name)
            return
        if spent is not None:  # RFC 6749 §6: omitted means unchanged
            token.refresh_token = token.refresh_token or spent.refresh_token
            token.scope = token.scope or spent.scope
        self._set_tokens(token)
        tx.put(self.name, self.url, tokens=_tokens_to_entry(token), discovery=self._discovery_entry())
        log.info("%s: refreshed the access token", self.name)

    async def _under_lock(self, rejected: str | None) -> AsyncGenerator[httpx2.Request, httpx2.Response]:
        """Under the shared lock: the newest stored tokens, refreshed when they are expiring or
        were `rejected` by the server (unless another process has replaced them meanwhile)."""
        async with self.store.alocked() as tx:
            self._load(tx.get(self.name, self.url))
            fresh = self.context.is_token_valid() and self._bearer() != rejected
            if not fresh and self.context.can_refresh_token():
                async with contextlib.aclosing(self._refresh_locked(tx)) as refresh:
                    try:
                        outgoing = await refresh.__anext__()
                        while True:
                            outgoing = await refresh.asend((yield outgoing))
                    except StopAsyncIteration:
                        pass
            elif not fresh:
                self.context.clear_tokens()

    async def _auth_flow(self, request: httpx2.Request) -> AsyncGenerator[httpx2.Request, httpx2.Response]:
        async with self.context.lock:
            if not self._initialized:
                await self._initialize()
            self.context.protocol_version = request.headers.get(MCP_PROTOCOL_VERSION_HEADER)
            if self._force:
                self.context.clear_tokens()
            elif self.context.current_tokens is not None and not self.context.is_token_valid():
                async with contextlib.aclosing(self._under_lock(None)) as step:
                    try:
                        outgoing = await step.__anext__()
                        while True:
                            outgoing = await step.asend((yield outgoing))
                    except StopAsyncIteration:
                        pass
            if self.context.is_token_valid():
                self._add_auth_header(request)
            sent = request.headers.get("Authorization")

        response = yield request
        step_up = response.status_code == 403 and extract_field_from_www_auth(response, "error") == "insufficient_scope"
        if response.status_code != 401 and not step_up:
            return

        if response.status_code == 401 and not self._force:
            # Rejected: newer tokens from another process, or a refresh, before signing in again.
            async with self.context.lock:
                async with contextlib.aclosing(self._under_lock(sent)) as step:
                    try:
                        outgoing = await step.__anext__()
                        while True:
                            outgoing = await step.asend((yield outgoing))
                    except StopAsyncIteration:
                        pass
                retry = self.context.is_token_valid() and self._bearer() != sent
                if retry:
                    self._add_auth_header(request)
            if retry:
                response = yield request
                if response.status_code != 401:
                    return

        if not self.interactive:
            if step_up:
                raise NeedsAuth(self.name, "the server asks for more permissions", response)
            hint = extract_resource_metadata_from_www_auth(response)
            log.info("%s: needs authorization (resource metadata: %s)", self.name, hint)
            raise NeedsAuth(self.name, response=response)

        # The browser flow, as the SDK does it (discovery, registration unless stored, PKCE).
        self._force = False
        if response.status_code == 401:
            self.context.clear_tokens()
            request.headers.pop("Authorization", None)
        async with contextlib.aclosing(super()._auth_flow(request)) as flow:
            try:
                outgoing = await flow.__anext__()
                while True:
                    outgoing = await flow.asend((yield outgoing))
            except StopAsyncIteration:
                pass

    async def _perform_authorization(self) -> httpx2.Request:
        if self.oauth is not None and self.oauth.scope:
            self.context.client_metadata.scope = self.oauth.scope  # config wins over discovery
        return await super()._perform_authorization()

    async def _handle_token_response(self, response: httpx2.Response) -> None:
        await super()._handle_token_response(response)
        self.signed_in = True

    # -- the browser ----------------------------------------------------------------------

    async def _open_browser(self, url: str) -> None:
        state = parse_qs(urlsplit(url).query).get("state", [None])[0]
        if self._listener is not None:
            self._listener.close()
        self._listener = _CallbackListener(self.redirect_uri, state)
        sys.stderr.write(f"Sign in to MCP server {self.name} in your browser; if it does not open, visit:\n  {url}\n")
        sys.stderr.flush()
        try:
            await anyio.to_thread.run_sync(webbrowser.open, url)
        except Exception as exc:  # no browser (SSH): the printed URL does
            log.info("could not open a browser: %s", exc)

    async def _wait_for_callback(self) -> AuthorizationCodeResult:
        listener = self._listener
        if listener is None:
            raise OAuthFlowError("the sign-in redirect listener is not running")
        try:
            result = await listener.wait(self.callback_timeout)
        finally:
            listener.close()
            self._listener = None
        if "error" in result:
            detail = result.get("error_description") or result["error"]
            raise McpAuthError(f"MCP server {self.name}: authorization refused: {detail}")
        return AuthorizationCodeResult(code=result["code"], state=result.get("state"), iss=result.get("iss"))


class _Storage:
    """The SDK's `TokenStorage` over the store, for what the SDK's own flow writes."""

    def __init__(self, owner: McpOAuth) -> None:
        self.owner = owner

    async def get_tokens(self) -> OAuthToken | None:
        loaded = _tokens_from_entry(self.owner.store.entry(self.owner.name, self.owner.url) or {})
        return loaded[0] if loaded else None

    async def set_tokens(self, tokens: OAuthToken) -> None:
        owner = self.owner
        async with owner.store.alocked() as tx:
            tx.put(owner.name, owner.url, tokens=_tokens_to_entry(tokens), discovery=owner._discovery_entry())
        owner._set_tokens(tokens)

    async def get_client_info(self) -> OAuthClientInformationFull | None:
        owner = self.owner
        return owner._preset or owner._stored_client(owner.store.entry(owner.name, owner.url) or {})

    async def set_client_info(self, client_info: OAuthClientInformationFull) -> None:
        owner = self.owner
        if owner._preset is not None:
            return  # configured in opencode.json: nothing to keep
        async with owner.store.alocked() as tx:
            tx.put(owner.name, owner.url, clientInfo=_client_to_entry(client_info))


# --- entry points ----------------------------------------------------------------------------


def auth_for(name: str, url: str, oauth: McpOAuthConfig | bool | None, *, interactive: bool) -> httpx2.Auth | None:
    """The auth for remote server `name` at `url`: an `httpx2.Auth` (httpx2 is the HTTP client
    the `mcp` SDK 2.x uses) to pass as `httpx2.AsyncClient(auth=...)` to `streamable_http_client`,
    or as `sse_client(..., auth=...)`. `oauth` is the server's config `oauth` as parsed (an
    object, False, or None/True for discovery with the defaults); None comes back for False.

    A server that asks for nothing gets nothing: tokens are sent only once stored. With
    `interactive=False` (sessions), a 401 that neither the stored tokens nor a refresh can
    answer raises `NeedsAuth` out of the request (wrapped in the transport's exception group:
    see `find_needs_auth`); `interactive=True` runs the browser flow then.
    """
    if oauth is False:
        return None
    return McpOAuth(name, url, oauth if isinstance(oauth, McpOAuthConfig) else None, interactive=interactive)


def has_tokens(name: str, url: str) -> bool:
    """Whether tokens are stored for `name` at `url` (valid or not)."""
    return _tokens_from_entry(McpAuthStore().entry(name, url) or {}) is not None


async def authenticate(
    name: str,
    url: str,
    oauth: McpOAuthConfig | None,
    *,
    headers: dict[str, str] | None = None,
    timeout: float = 30.0,
    store: McpAuthStore | None = None,
) -> None:
    """Sign in to `name` in the browser now (`opencode mcp auth`), even when tokens are stored.

    Raises McpAuthError (or the SDK's OAuthFlowError) with a one-line reason.
    """
    provider = McpOAuth(name, url, oauth, interactive=True, force=True, store=store)
    initialize = {
        "jsonrpc": "2.0",
        "id": 0,
        "method": "initialize",
        "params": {
            "protocolVersion": "2025-06-18",
            "capabilities": {},
            "clientInfo": {"name": "opencode", "version": "0"},
        },
    }
    accept = {"Accept": "application/json, text/event-stream", "Mcp-Protocol-Version": "2025-06-18"}
    async with httpx2.AsyncClient(auth=provider, headers=headers, timeout=httpx2.Timeout(timeout)) as client:
        try:
            async with client.stream("POST", url, json=initialize, headers=accept) as response:
                status = response.status_code
                session = response.headers.get("mcp-session-id")
            if status in (404, 405) and not provider.signed_in:  # an SSE-only server: its stream asks
                async with client.stream("GET", url, headers={"Accept": "text/event-stream"}) as response:
                    status = response.status_code
                session = None
        except httpx2.HTTPError as exc:
            raise McpAuthError(f"MCP server {name} at {url}: {exc}") from None
        if session:
            with contextlib.suppress(httpx2.HTTPError):
                await client.delete(url, headers={"Mcp-Session-Id": session})
    if not provider.signed_in:
        if status < 400:
            raise McpAuthError(f"MCP server {name} did not ask for authorization; nothing to sign in to")
        raise McpAuthError(f"MCP server {name} answered HTTP {status} without asking for authorization")
    if status in (401, 403):
        raise McpAuthError(f"MCP server {name} still refuses the new token (HTTP {status})")


def logout(name: str, store: McpAuthStore | None = None) -> bool:
    """Forget `name`'s tokens and client registration; other servers' entries stay."""
    return (store or McpAuthStore()).remove(name)
