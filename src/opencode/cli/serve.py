"""`opencode serve` and `opencode web`: the HTTP server (and the browser UI it serves) over one engine."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from opencode.cli.runtime import CliError

PREFERRED_PORT = 4096


def main(args: argparse.Namespace) -> int:
    return _serve(args, open_browser=False)


def web_main(args: argparse.Namespace) -> int:
    return _serve(args, open_browser=True)


def _serve(args: argparse.Namespace, *, open_browser: bool) -> int:
    from opencode import aio
    from opencode.cli.context import load_context
    from opencode.cli.run import make_engine
    from opencode.server import credentials
    from opencode.server.app import create_app
    from opencode.server.options import ServerOptions, ServerOptionsError
    from opencode.server.runner import bind, uvicorn_server

    try:
        options = ServerOptions.build(
            hostname=args.hostname, port=args.port or 0, cors=args.cors or [], environ=os.environ
        )
    except ServerOptionsError as exc:
        raise CliError(str(exc)) from None
    sock = _socket(options.hostname, args.port, bind)
    port = sock.getsockname()[1]
    options = ServerOptions(**{**options.__dict__, "port": port})
    ctx = load_context(args)
    engine = make_engine(ctx)
    app = create_app(engine, options)
    url = options.url(port)
    credentials.write(
        credentials.Credentials(
            url=url, username=options.username, password=options.password, pid=os.getpid(), directory=str(engine.cwd)
        ),
        port,
    )
    sys.stdout.write(f"opencode server listening on {url}\n")
    if not options.loopback:
        sys.stdout.write(f"  password required (user {options.username}); reachable on {options.hostname}\n")
    sys.stdout.flush()
    if open_browser:
        _open(url + "/")
    server = uvicorn_server(app, log_level="warning")
    try:
        aio.run(server.serve(sockets=[sock]))
    except KeyboardInterrupt:
        pass
    finally:
        credentials.remove(port)
        sock.close()
    return 0


def _socket(host: str, port: int | None, bind: Any) -> Any:
    """`--port N`: exactly N. No --port: 4096 when free, else any free port (as opencode does)."""
    import errno

    tries = [port] if port is not None else [PREFERRED_PORT, 0]
    for number in tries:
        try:
            return bind(host, number)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE and number == PREFERRED_PORT and port is None:
                continue
            if exc.errno == errno.EADDRINUSE:
                raise CliError(f"--port {number}: already in use; pick another, or --port 0 for any free one") from None
            raise CliError(f"--hostname {host}: cannot listen there: {exc.strerror}") from None
    raise CliError("no port to listen on")


def _open(url: str) -> None:
    import webbrowser

    try:
        opened = webbrowser.open(url)
    except Exception:
        opened = False
    if not opened:
        sys.stdout.write(f"open {url} in your browser\n")
