"""A session's MCP client in its own process, for the refresh-lock test.

`python oauth_client.py NAME URL` calls the `add` tool on the server with the stored tokens
(non-interactive) and prints the result, or `needs-auth` when signing in is needed.
"""

from __future__ import annotations

import sys

import anyio
import httpx2
from mcp.client.session import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp.types import TextContent

from opencode.mcp.oauth import auth_for, find_needs_auth


async def call_add(name: str, url: str, *, interactive: bool = False) -> str:
    """`add(2, 3)` on the server through `auth_for`'s auth; the text of the result."""
    auth = auth_for(name, url, None, interactive=interactive)
    with anyio.fail_after(60):
        async with (
            httpx2.AsyncClient(auth=auth) as http,
            streamable_http_client(url, http_client=http) as (read, write),
            ClientSession(read, write) as session,
        ):
            await session.initialize()
            result = await session.call_tool("add", {"a": 2, "b": 3})
            assert not result.is_error, result
            first = result.content[0]
            assert isinstance(first, TextContent)
            return first.text


def main() -> int:
    name, url = sys.argv[1], sys.argv[2]
    try:
        print(anyio.run(call_add, name, url))
    except BaseException as exc:
        if find_needs_auth(exc) is not None:
            print("needs-auth")
            return 2
        raise
    return 0


if __name__ == "__main__":
    sys.exit(main())
