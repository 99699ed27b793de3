"""`opencode mcp serve`: this agent's tools and a `run_agent` tool for other MCP clients.

stdio (the default) speaks the protocol on stdin/stdout, so nothing else is ever written to stdout
(warnings go to stderr, logs to the log file). http serves Streamable HTTP at /mcp on 127.0.0.1;
any other address needs OPENCODE_SERVER_PASSWORD, as `opencode serve` does, and the URL is printed
on stderr.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import TYPE_CHECKING

from opencode.cli.runtime import CliError

if TYPE_CHECKING:
    import socket
    from collections.abc import Callable, Coroutine
    from typing import Any

    from opencode.agent.engine import Engine
    from opencode.mcp.server import AgentServer


def main(args: argparse.Namespace) -> int:
    from opencode import aio
    from opencode.server.options import ServerOptions, ServerOptionsError
    from opencode.server.runner import bind, uvicorn_server

    options = None
    sock = None
    if args.transport == "http":
        try:  # refuse a bad address before loading anything
            options = ServerOptions.build(hostname=args.hostname, port=args.port or 0, environ=os.environ)
        except ServerOptionsError as exc:
            raise CliError(str(exc)) from None
        sock = _bind(bind, options.hostname, options.port)
    try:
        engine = _engine(args)
        served = _served(engine, args)
        if options is None or sock is None:
            aio.run(_until_done(served.serve_stdio(), engine))
            return 0
        port = sock.getsockname()[1]
        options = ServerOptions(**{**options.__dict__, "port": port})
        app = served.http_app(options)
        url = options.url(port) + "/mcp"
        sys.stderr.write(f"opencode MCP server listening on {url}\n")
        if not options.loopback:
            sys.stderr.write(f"  password required (user {options.username}, or as a bearer token)\n")
        sys.stderr.flush()
        aio.run(_until_done(uvicorn_server(app, log_level="warning").serve(sockets=[sock]), engine))
    except KeyboardInterrupt:
        pass
    finally:
        if sock is not None:
            sock.close()
    return 0


def _bind(bind: Callable[[str, int], socket.socket], host: str, port: int) -> socket.socket:
    import errno

    try:
        return bind(host, port)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise CliError(f"--port {port}: already in use; pick another, or leave --port out for a free one") from None
        raise CliError(f"--hostname {host}: cannot listen there: {exc.strerror}") from None


def _engine(args: argparse.Namespace) -> Engine:
    from opencode.cli.context import load_context
    from opencode.cli.run import make_engine

    return make_engine(load_context(args))  # not interactive: a rule that asks refuses


def _served(engine: Engine, args: argparse.Namespace) -> AgentServer:
    from opencode.agent.agents import AgentError
    from opencode.cli.run import pick_agent
    from opencode.mcp.server import AgentServer

    try:
        agent = pick_agent(engine, args.agent)
    except AgentError as exc:
        raise CliError(f"--agent: {exc}") from None
    return AgentServer(engine, agent=agent, model=args.model)


async def _until_done(serving: Coroutine[Any, Any, None], engine: Engine) -> None:
    """Serve until the client leaves (stdio) or a signal (http); then stop the turns, titles, MCP and LSP servers."""
    try:
        await serving
    finally:
        await engine.jobs.close()
        await engine.drain()
