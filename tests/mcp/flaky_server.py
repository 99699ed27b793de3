"""A small MCP server for the tests (stdio): `ping`, `crash` (the process exits mid-call), `grow`
(adds a tool and says the list changed), `look` (marked read-only), `nap` (sleeps), `chatty` (long
output), `fail` (isError). `FLAKY_MARK` names a file each start appends a line to, so a test can
count restarts."""

from __future__ import annotations

import os
import sys

from mcp.server.mcpserver import Context, MCPServer
from mcp.types import ToolAnnotations

server = MCPServer("flaky")


@server.tool(description="Answers pong and the given word.")
def ping(word: str = "") -> str:
    return f"pong {word}".strip()


@server.tool(description="Exits the server process in the middle of the call.")
def crash() -> str:
    sys.stdout.flush()
    os._exit(3)


@server.tool(description="Adds the tool `extra` and tells the client the tool list changed.")
async def grow(ctx: Context) -> str:
    def extra(n: int) -> str:
        """Doubles n."""
        return str(n * 2)

    server.add_tool(extra, name="extra", description="Doubles n.")
    await ctx.session.send_tool_list_changed()
    return "grown"


@server.tool(description="Looks without changing anything.", annotations=ToolAnnotations(readOnlyHint=True))
def look() -> str:
    return "looked"


@server.tool(description="Sleeps for the given seconds, then answers.")
async def nap(seconds: float) -> str:
    import anyio

    await anyio.sleep(seconds)
    return "rested"


@server.tool(description="Answers with `lines` lines of text.")
def chatty(lines: int) -> str:
    return "\n".join(f"line {i}" for i in range(lines))


@server.tool(description="Always fails.")
def fail() -> str:
    raise ValueError("this tool always fails")


if __name__ == "__main__":
    mark = os.environ.get("FLAKY_MARK")
    if mark:
        with open(mark, "a") as handle:
            handle.write(f"start {os.environ.get('FLAKY_WORD', '')} pid={os.getpid()}\n")
    server.run("stdio")
