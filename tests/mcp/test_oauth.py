"""OAuth for remote MCP servers, end to end against an OAuth-protected MCP server built on the SDK's
server-side auth (tests/mcp/oauth_server.py): discovery, dynamic registration (kept and reused),
PKCE, the loopback redirect (the browser step done by an HTTP client), tokens 0600 under the data
dir, refresh before expiry under a lock two processes share, re-auth on a revoked token."""

from __future__ import annotations

import json
import os
import socket
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from opencode.cli.main import main
from opencode.config.schema import McpOAuthConfig
from opencode.mcp import oauth
from opencode.mcp.oauth import McpAuthStore, NeedsAuth, authenticate, find_needs_auth

from .oauth_client import call_add
from .oauth_server import OAuthServers, oauth_servers

CLIENT = Path(__file__).with_name("oauth_client.py")


class Browser:
    """Stands in for `webbrowser.open`: follows the authorization URL to the loopback redirect."""

    def __init__(self) -> None:
        self.opened: list[str] = []
        self.landed: list[httpx.Response] = []

    def __call__(self, url: str, *args: Any, **kwargs: Any) -> bool:
        self.opened.append(url)
        self.landed.append(httpx.get(url, follow_redirects=True, timeout=10))
        return True


@pytest.fixture
def browser(monkeypatch: pytest.MonkeyPatch) -> Browser:
    fake = Browser()
    monkeypatch.setattr("webbrowser.open", fake)
    # opencode's default port, one per test: tests running in parallel never race for 19876
    monkeypatch.setattr(oauth, "CALLBACK_PORT", oauth._free_port())
    return fake


@pytest.fixture
def writes(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Every write of mcp-auth.json, checked as it happens: mode 0600 and valid JSON."""
    seen: list[dict[str, Any]] = []
    original = McpAuthStore.write

    def checked(self: McpAuthStore, data: dict[str, dict[str, Any]]) -> None:
        original(self, data)
        assert stat.S_IMODE(self.path.stat().st_mode) == 0o600
        seen.append(json.loads(self.path.read_text()))

    monkeypatch.setattr(McpAuthStore, "write", checked)
    return seen


@pytest.fixture
def servers() -> Iterator[OAuthServers]:
    with oauth_servers() as found:
        yield found


def stored(name: str = "docs") -> dict[str, Any]:
    entry: dict[str, Any] = json.loads(oauth.auth_file().read_text())[name]
    return entry


async def test_whole_flow_ends_with_a_tool_call(
    servers: OAuthServers, browser: Browser, writes: list[dict[str, Any]], capsys: pytest.CaptureFixture[str]
) -> None:
    assert await call_add("docs", servers.url, interactive=True) == "5"

    provider = servers.provider
    assert (provider.registrations, provider.authorizations, provider.grants) == (1, 1, ["authorization_code"])
    [url] = browser.opened
    assert url.startswith(f"{servers.auth.url}/authorize?")
    assert "code_challenge_method=S256" in url and "state=" in url
    assert browser.landed[0].status_code == 200 and "Signed in" in browser.landed[0].text
    assert url in capsys.readouterr().err  # printed too, for SSH

    entry = stored()
    assert entry["serverUrl"] == servers.url
    assert entry["tokens"]["accessToken"] in provider.access
    assert entry["tokens"]["refreshToken"] in provider.refresh
    assert entry["tokens"]["expiresAt"] > time.time() + 3000
    client = entry["clientInfo"]
    assert client["clientId"] in provider.clients and client["tokenEndpointAuthMethod"] == "none"
    [redirect] = client["redirectUris"]
    assert redirect.startswith("http://127.0.0.1:") and redirect.endswith("/mcp/oauth/callback")
    assert entry["discovery"]["authorizationServer"]["token_endpoint"] == f"{servers.auth.url}/token"
    assert writes and all(w["docs"]["serverUrl"] == servers.url for w in writes)

    # A session afterwards: the stored token, no browser, no new registration or sign-in.
    assert await call_add("docs", servers.url) == "5"
    assert len(browser.opened) == 1
    assert (provider.registrations, provider.authorizations) == (1, 1)


async def test_registration_is_stored_and_reused(
    servers: OAuthServers, browser: Browser, writes: list[dict[str, Any]]
) -> None:
    await authenticate("docs", servers.url, None)
    first = stored()
    await authenticate("docs", servers.url, None)  # signs in again even with tokens stored
    second = stored()

    provider = servers.provider
    assert provider.registrations == 1
    assert provider.authorizations == 2 and provider.grants == ["authorization_code"] * 2
    assert second["clientInfo"] == first["clientInfo"]
    assert second["tokens"]["accessToken"] != first["tokens"]["accessToken"]
    assert len(writes) == 3  # the client once, then the tokens of each sign-in


async def test_configured_client_and_callback_port(servers: OAuthServers, browser: Browser) -> None:
    provider = servers.provider
    port = oauth._free_port()
    redirect = f"http://127.0.0.1:{port}/mcp/oauth/callback"
    from mcp.shared.auth import OAuthClientInformationFull
    from pydantic import AnyUrl

    provider.clients["preset"] = OAuthClientInformationFull(
        client_id="preset",
        client_secret="s3cret",
        token_endpoint_auth_method="client_secret_post",
        redirect_uris=[AnyUrl(redirect)],
        scope="mcp",
    )
    config = McpOAuthConfig(clientId="preset", clientSecret="s3cret", callbackPort=port, scope="mcp")
    await authenticate("docs", servers.url, config)

    assert provider.registrations == 0  # the configured client, not a registered one
    assert f"redirect_uri=http%3A%2F%2F127.0.0.1%3A{port}%2Fmcp%2Foauth%2Fcallback" in browser.opened[0]
    assert "client_id=preset" in browser.opened[0]
    assert "clientInfo" not in stored()
    assert stored()["tokens"]["accessToken"] in provider.access


async def test_expired_token_is_refreshed_before_use(servers: OAuthServers, browser: Browser) -> None:
    await authenticate("docs", servers.url, None)
    provider = servers.provider
    provider.expire_access_tokens()
    data = json.loads(oauth.auth_file().read_text())
    old = data["docs"]["tokens"]
    data["docs"]["tokens"]["expiresAt"] = time.time() - 5
    McpAuthStore().write(data)
    rejected = servers.unauthorized

    assert await call_add("docs", servers.url) == "5"
    assert provider.grants == ["authorization_code", "refresh_token"]
    assert servers.unauthorized == rejected  # refreshed before use: the server never saw the old token fail
    tokens = stored()["tokens"]
    assert tokens["accessToken"] != old["accessToken"] and tokens["refreshToken"] != old["refreshToken"]
    assert tokens["expiresAt"] > time.time() + 3000
    assert provider.reused == []


async def test_a_session_refreshes_while_the_callback_port_is_taken(servers: OAuthServers, browser: Browser) -> None:
    await authenticate("docs", servers.url, None)
    port = urlsplit(stored()["clientInfo"]["redirectUris"][0]).port
    servers.provider.expire_access_tokens()
    data = json.loads(oauth.auth_file().read_text())
    data["docs"]["tokens"]["expiresAt"] = time.time() - 5
    McpAuthStore().write(data)
    with socket.socket() as busy:  # another program on the redirect port: no matter for a refresh
        busy.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        busy.bind(("127.0.0.1", port or 0))
        busy.listen()
        assert await call_add("docs", servers.url) == "5"
    assert servers.provider.grants == ["authorization_code", "refresh_token"]
    assert servers.provider.registrations == 1


def test_two_processes_refresh_once(servers: OAuthServers, browser: Browser) -> None:
    import anyio

    anyio.run(authenticate, "docs", servers.url, None)
    provider = servers.provider
    provider.expire_access_tokens()
    provider.refresh_delay = 0.5  # the first refresh is still going when the second process wants one
    data = json.loads(oauth.auth_file().read_text())
    data["docs"]["tokens"]["expiresAt"] = time.time() - 5
    McpAuthStore().write(data)

    procs = [
        subprocess.Popen(
            [sys.executable, str(CLIENT), "docs", servers.url],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=os.environ.copy(),
        )
        for _ in range(2)
    ]
    results = [p.communicate(timeout=90) for p in procs]
    for proc, (out, err) in zip(procs, results, strict=True):
        assert proc.returncode == 0, err
        assert out.strip() == "5"
    assert provider.grants == ["authorization_code", "refresh_token"]  # one refresh, not two
    assert provider.reused == []  # nobody presented the rotated-out refresh token
    assert stored()["tokens"]["accessToken"] in provider.access


async def test_revoked_access_token_is_refreshed_after_401(servers: OAuthServers, browser: Browser) -> None:
    await authenticate("docs", servers.url, None)
    provider = servers.provider
    provider.revoke_access_tokens()  # the refresh token still works

    assert await call_add("docs", servers.url) == "5"
    assert provider.grants == ["authorization_code", "refresh_token"]
    assert provider.authorizations == 1
    assert stored()["tokens"]["accessToken"] in provider.access


async def test_revoked_tokens_need_auth_in_a_session(servers: OAuthServers, browser: Browser) -> None:
    await authenticate("docs", servers.url, None)
    servers.provider.revoke_all()

    with pytest.raises(BaseException) as caught:
        await call_add("docs", servers.url)
    found = find_needs_auth(caught.value)
    assert isinstance(found, NeedsAuth)
    assert str(found) == "MCP server docs needs authorization: run `opencode mcp auth docs`"
    assert len(browser.opened) == 1  # a session never opens the browser
    assert "tokens" not in stored() and "clientInfo" in stored()  # the dead tokens are gone, the client kept


async def test_revoked_tokens_sign_in_again_when_interactive(servers: OAuthServers, browser: Browser) -> None:
    await authenticate("docs", servers.url, None)
    provider = servers.provider
    provider.revoke_all()

    assert await call_add("docs", servers.url, interactive=True) == "5"
    assert len(browser.opened) == 2
    assert provider.authorizations == 2 and provider.registrations == 1
    assert stored()["tokens"]["accessToken"] in provider.access


async def test_no_tokens_needs_auth_without_registering(servers: OAuthServers, browser: Browser) -> None:
    with pytest.raises(BaseException) as caught:
        await call_add("docs", servers.url)
    assert isinstance(find_needs_auth(caught.value), NeedsAuth)
    assert servers.provider.registrations == 0 and browser.opened == []
    assert not oauth.auth_file().exists()


def test_callback_listener_checks_state() -> None:
    port = oauth._free_port()
    redirect = f"http://127.0.0.1:{port}/mcp/oauth/callback"
    listener = oauth._CallbackListener(redirect, "right")
    try:
        assert httpx.get(f"{redirect}?code=abc&state=wrong").status_code == 400
        assert httpx.get(f"http://127.0.0.1:{port}/other?code=abc&state=right").status_code == 404
        assert not listener.done.is_set()
        assert httpx.get(f"{redirect}?code=abc&state=right").status_code == 200
        assert listener.result == {"code": "abc", "state": "right"}
    finally:
        listener.close()


def test_tokens_of_another_url_are_not_used(servers: OAuthServers) -> None:
    McpAuthStore().write({"docs": {"serverUrl": "http://127.0.0.1:1/mcp", "tokens": {"accessToken": "at-old"}}})
    assert not oauth.has_tokens("docs", servers.url)
    assert oauth.has_tokens("docs", "http://127.0.0.1:1/mcp")


# --- the CLI ---------------------------------------------------------------------------------


def write_config(isolated_env: Path, mcp: dict[str, Any]) -> None:
    path = isolated_env / "config" / "opencode" / "opencode.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"mcp": mcp}))


def test_cli_auth_and_logout(
    servers: OAuthServers,
    browser: Browser,
    isolated_env: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(isolated_env)
    write_config(isolated_env, {"docs": {"type": "remote", "url": servers.url}})
    McpAuthStore().write({"other": {"serverUrl": "http://127.0.0.1:1/mcp", "tokens": {"accessToken": "keep"}}})

    assert main(["mcp", "auth", "docs"]) == 0
    assert capsys.readouterr().out == "Signed in to MCP server docs\n"
    assert stored()["tokens"]["accessToken"] in servers.provider.access

    assert main(["mcp", "logout", "docs"]) == 0
    assert capsys.readouterr().out == "Removed the stored credentials for MCP server docs\n"
    data = json.loads(oauth.auth_file().read_text())
    assert list(data) == ["other"] and data["other"]["tokens"]["accessToken"] == "keep"
    assert stat.S_IMODE(oauth.auth_file().stat().st_mode) == 0o600

    assert main(["mcp", "logout", "docs"]) == 1
    assert "no stored credentials for MCP server 'docs'" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("nope", "error: unknown MCP server 'nope'; `opencode mcp list` shows the servers\n"),
        ("docz", "error: unknown MCP server 'docz' (did you mean docs?)\n"),
        ("local", "error: MCP server local is a local server: OAuth is only for remote servers\n"),
        ("plain", 'error: MCP server plain has OAuth turned off ("oauth": false in its config)\n'),
    ],
)
def test_cli_auth_refuses(
    name: str, message: str, isolated_env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(isolated_env)
    write_config(
        isolated_env,
        {
            "docs": {"type": "remote", "url": "http://127.0.0.1:1/mcp"},
            "local": {"type": "local", "command": ["true"]},
            "plain": {"type": "remote", "url": "http://127.0.0.1:1/mcp", "oauth": False},
        },
    )
    assert main(["mcp", "auth", name]) == 1
    assert capsys.readouterr().err == message


def test_cli_auth_server_without_oauth(
    isolated_env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from starlette.applications import Starlette
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    from opencode.server.runner import ServerThread

    async def endpoint(request: Any) -> JSONResponse:
        return JSONResponse({"jsonrpc": "2.0", "id": 0, "result": {}})

    with ServerThread(Starlette(routes=[Route("/mcp", endpoint, methods=["POST"])])) as open_server:
        monkeypatch.chdir(isolated_env)
        write_config(isolated_env, {"open": {"type": "remote", "url": f"{open_server.url}/mcp"}})
        assert main(["mcp", "auth", "open"]) == 1
    assert capsys.readouterr().err == "error: MCP server open did not ask for authorization; nothing to sign in to\n"


async def test_manager_needs_auth_then_connects(servers: OAuthServers, browser: Browser, tmp_path: Path) -> None:
    from opencode.config.schema import Config
    from opencode.mcp.manager import McpManager

    config = Config.model_validate({"mcp": {"docs": {"type": "remote", "url": servers.url}}})

    async def status() -> Any:
        manager = McpManager(config, cwd=tmp_path)
        manager.start()
        try:
            await manager.wait_ready()
            return manager.status()["docs"]
        finally:
            await manager.close()

    before = await status()
    assert before.status == "needs_auth" and "opencode mcp auth docs" in (before.error or ""), before
    assert browser.opened == [] and servers.provider.registrations == 0

    await authenticate("docs", servers.url, None)
    after = await status()
    assert after.status == "connected" and after.tools == 1
