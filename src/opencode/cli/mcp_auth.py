"""`opencode mcp auth [NAME]` and `opencode mcp logout [NAME]`: sign in to a remote MCP server.

`auth` runs the OAuth flow in the browser for a configured remote server (the URL is printed
too, for SSH) and keeps the tokens and the registered client in `<data>/mcp-auth.json`
(mode 0600); `logout` forgets one server's entry and keeps the others. The name is asked for
when left out and stdin is a terminal.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from opencode.cli.runtime import CliError

if TYPE_CHECKING:
    from opencode.config.schema import McpRemoteConfig


def _servers() -> dict[str, object]:
    from opencode.config import load_config

    return dict(load_config().config.mcp or {})


def _ask(what: str, names: list[str], empty: str) -> str:
    if not names:
        raise CliError(f"mcp {what}: {empty}")
    if not sys.stdin.isatty():
        raise CliError(f"mcp {what}: name the server, one of: " + ", ".join(names))
    sys.stderr.write("Servers: " + ", ".join(names) + "\n")
    return input("Server: ").strip()


def _remote(name: str, servers: dict[str, object]) -> McpRemoteConfig:
    import difflib

    from opencode.config.schema import McpRemoteConfig

    server = servers.get(name)
    if server is None:
        close = difflib.get_close_matches(name, list(servers), n=3)
        hint = f" (did you mean {', '.join(close)}?)" if close else "; `opencode mcp list` shows the servers"
        raise CliError(f"unknown MCP server {name!r}{hint}")
    if not isinstance(server, McpRemoteConfig):
        raise CliError(f"MCP server {name} is a local server: OAuth is only for remote servers")
    if server.oauth is False:
        raise CliError(f'MCP server {name} has OAuth turned off ("oauth": false in its config)')
    return server


def auth_main(args: argparse.Namespace) -> int:
    import anyio
    from mcp.client.auth import OAuthFlowError

    from opencode.config.schema import McpOAuthConfig, McpRemoteConfig
    from opencode.mcp.oauth import McpAuthError, authenticate

    servers = _servers()
    remote = sorted(n for n, s in servers.items() if isinstance(s, McpRemoteConfig))
    name = args.name or _ask("auth", remote, "no remote MCP server is configured")
    server = _remote(name, servers)
    oauth = server.oauth if isinstance(server.oauth, McpOAuthConfig) else None
    try:
        anyio.run(lambda: authenticate(name, server.url, oauth, headers=server.headers))
    except (McpAuthError, OAuthFlowError) as exc:
        raise CliError(str(exc) or f"signing in to {name} failed") from None
    sys.stdout.write(f"Signed in to MCP server {name}\n")
    return 0


def logout_main(args: argparse.Namespace) -> int:
    from opencode.mcp.oauth import McpAuthError, McpAuthStore

    store = McpAuthStore()
    try:
        stored = sorted(store.read())
        name = args.name or _ask("logout", stored, f"no stored MCP credentials in {store.path}")
        removed = store.remove(name)
    except McpAuthError as exc:
        raise CliError(str(exc)) from None
    if not removed:
        raise CliError(f"no stored credentials for MCP server {name!r} in {store.path}")
    sys.stdout.write(f"Removed the stored credentials for MCP server {name}\n")
    return 0
