"""An OAuth-protected MCP server for the tests, on the `mcp` SDK's server-side auth.

Two servers on loopback, as in a real deployment: an authorization server (`create_auth_routes`:
metadata, dynamic registration, /authorize, /token, /revoke) backed by `Provider`, an in-memory
store that counts registrations and grants, rotates refresh tokens and rejects a spent one; and a
resource server (an `MCPServer` with one tool, `add`) that checks bearer tokens against that
provider and publishes its protected-resource metadata.
"""

from __future__ import annotations

import asyncio
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from mcp.server.auth.provider import (
    AccessToken,
    AuthorizationCode,
    AuthorizationParams,
    RefreshToken,
    TokenError,
    construct_redirect_uri,
)
from mcp.server.auth.routes import create_auth_routes
from mcp.server.auth.settings import AuthSettings, ClientRegistrationOptions, RevocationOptions
from mcp.server.mcpserver import MCPServer
from mcp.shared.auth import OAuthClientInformationFull, OAuthToken
from pydantic import AnyHttpUrl
from starlette.applications import Starlette

from opencode.server.runner import ServerThread

LIFETIME = 3600


@dataclass
class Provider:
    """The authorization server's state; every method may be called from the server's thread."""

    refresh_delay: float = 0.0  # seconds a refresh takes (to make two processes overlap)
    clients: dict[str, OAuthClientInformationFull] = field(default_factory=dict)
    codes: dict[str, AuthorizationCode] = field(default_factory=dict)
    access: dict[str, AccessToken] = field(default_factory=dict)
    refresh: dict[str, RefreshToken] = field(default_factory=dict)
    spent: set[str] = field(default_factory=set)
    registrations: int = 0
    authorizations: int = 0
    grants: list[str] = field(default_factory=list)  # "authorization_code" / "refresh_token", in order
    reused: list[str] = field(default_factory=list)  # spent refresh tokens presented again
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def get_client(self, client_id: str) -> OAuthClientInformationFull | None:
        return self.clients.get(client_id)

    async def register_client(self, client_info: OAuthClientInformationFull) -> None:
        with self.lock:
            self.registrations += 1
            self.clients[client_info.client_id] = client_info

    async def authorize(self, client: OAuthClientInformationFull, params: AuthorizationParams) -> str:
        # The user says yes at once: the code goes straight back to the client's redirect URI.
        code = AuthorizationCode(
            code=secrets.token_urlsafe(24),
            scopes=params.scopes or [],
            expires_at=time.time() + 300,
            client_id=client.client_id,
            code_challenge=params.code_challenge,
            redirect_uri=params.redirect_uri,
            redirect_uri_provided_explicitly=params.redirect_uri_provided_explicitly,
            resource=params.resource,
        )
        with self.lock:
            self.authorizations += 1
            self.codes[code.code] = code
        return construct_redirect_uri(str(params.redirect_uri), code=code.code, state=params.state)

    async def load_authorization_code(
        self, client: OAuthClientInformationFull, authorization_code: str
    ) -> AuthorizationCode | None:
        return self.codes.get(authorization_code)

    def _issue(self, client_id: str, scopes: list[str], resource: str | None) -> OAuthToken:
        access, refresh = f"at-{secrets.token_hex(8)}", f"rt-{secrets.token_hex(8)}"
        self.access[access] = AccessToken(
            token=access, client_id=client_id, scopes=scopes, expires_at=int(time.time()) + LIFETIME, resource=resource
        )
        self.refresh[refresh] = RefreshToken(token=refresh, client_id=client_id, scopes=scopes, resource=resource)
        return OAuthToken(
            access_token=access, refresh_token=refresh, expires_in=LIFETIME, scope=" ".join(scopes) or None
        )

    async def exchange_authorization_code(
        self, client: OAuthClientInformationFull, authorization_code: AuthorizationCode
    ) -> OAuthToken:
        with self.lock:
            self.codes.pop(authorization_code.code, None)
            self.grants.append("authorization_code")
            return self._issue(client.client_id, authorization_code.scopes, authorization_code.resource)

    async def load_refresh_token(self, client: OAuthClientInformationFull, refresh_token: str) -> RefreshToken | None:
        with self.lock:
            if refresh_token in self.spent:
                self.reused.append(refresh_token)
            found = self.refresh.get(refresh_token)
            return found if found is not None and found.client_id == client.client_id else None

    async def exchange_refresh_token(
        self, client: OAuthClientInformationFull, refresh_token: RefreshToken, scopes: list[str]
    ) -> OAuthToken:
        await asyncio.sleep(self.refresh_delay)
        with self.lock:
            if self.refresh.pop(refresh_token.token, None) is None:  # rotated meanwhile
                self.reused.append(refresh_token.token)
                raise TokenError(error="invalid_grant", error_description="refresh token already used")
            self.spent.add(refresh_token.token)
            self.grants.append("refresh_token")
            return self._issue(client.client_id, scopes or refresh_token.scopes, refresh_token.resource)

    async def load_access_token(self, token: str) -> AccessToken | None:
        found = self.access.get(token)
        if found is None or (found.expires_at is not None and found.expires_at < time.time()):
            return None
        return found

    async def revoke_token(self, token: AccessToken | RefreshToken) -> None:
        self.revoke_all()

    async def exchange_identity_assertion(self, client: OAuthClientInformationFull, params: Any) -> OAuthToken:
        raise TokenError(error="unsupported_grant_type", error_description="not here")

    # -- for the tests --------------------------------------------------------------------

    def expire_access_tokens(self) -> None:
        with self.lock:
            for token in self.access.values():
                token.expires_at = int(time.time()) - 1

    def revoke_access_tokens(self) -> None:
        with self.lock:
            self.access.clear()

    def revoke_all(self) -> None:
        with self.lock:
            self.access.clear()
            self.refresh.clear()


class _Verifier:
    def __init__(self, provider: Provider) -> None:
        self.provider = provider

    async def verify_token(self, token: str) -> AccessToken | None:
        return await self.provider.load_access_token(token)


class _Late:
    """An ASGI app set after its port is known; counts the 401s it answers."""

    def __init__(self) -> None:
        self.app: Any = None
        self.unauthorized = 0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        async def counting(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start" and message["status"] == 401:
                self.unauthorized += 1
            await send(message)

        await self.app(scope, receive, counting if scope["type"] == "http" else send)


@dataclass
class OAuthServers:
    provider: Provider
    auth: ServerThread
    resource: ServerThread
    resource_app: _Late

    @property
    def url(self) -> str:
        """The MCP endpoint."""
        return f"{self.resource.url}/mcp"

    @property
    def unauthorized(self) -> int:
        """How many 401s the resource server has answered."""
        return self.resource_app.unauthorized


@contextmanager
def oauth_servers(provider: Provider | None = None) -> Iterator[OAuthServers]:
    provider = provider or Provider()
    auth_app = Starlette()
    auth = ServerThread(auth_app, name="oauth-as")
    auth_app.router.routes.extend(
        create_auth_routes(
            provider,
            issuer_url=AnyHttpUrl(auth.url),
            client_registration_options=ClientRegistrationOptions(enabled=True, valid_scopes=["mcp"]),
            revocation_options=RevocationOptions(enabled=True),
        )
    )
    late = _Late()
    resource = ServerThread(late, name="oauth-rs")
    mcp = MCPServer(
        "protected",
        token_verifier=_Verifier(provider),
        auth=AuthSettings(
            issuer_url=AnyHttpUrl(auth.url),
            resource_server_url=AnyHttpUrl(f"{resource.url}/mcp"),
            validate_token_resource=True,
            required_scopes=["mcp"],
        ),
    )

    @mcp.tool(description="Adds two numbers.")
    def add(a: int, b: int) -> str:
        return str(a + b)

    late.app = mcp.streamable_http_app()
    auth.start()
    resource.start()
    try:
        yield OAuthServers(provider, auth, resource, late)
    finally:
        resource.stop()
        auth.stop()
