"""`opencode attach <url>`: the terminal UI against a running `opencode serve`, here or elsewhere.

The password comes from `--password`, else `OPENCODE_SERVER_PASSWORD`, else the credentials file
a local server left (`opencode.server.credentials`), so attaching to your own server needs no
flags. The server is checked (`GET /global/health`) before the screen is taken over: an
unreachable server or a refused password is one line and exit code 1.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from opencode.cli.runtime import CliError

if TYPE_CHECKING:
    from opencode.tui.http_client import HttpClient


def server_url(text: str) -> str:
    """`host:port` or a full URL, as the user typed it, as a URL."""
    text = text.strip().rstrip("/")
    if "://" not in text:
        text = "http://" + text
    if not text.startswith(("http://", "https://")):
        raise CliError(f"{text}: the server's URL starts with http:// or https://")
    return text


def main(args: argparse.Namespace) -> int:
    from opencode.server import credentials
    from opencode.tui import run_tui
    from opencode.tui.client import ClientError
    from opencode.tui.http_client import HttpClient

    url = server_url(args.url)
    found = credentials.find(url)
    password = args.password or os.environ.get("OPENCODE_SERVER_PASSWORD") or (found.password if found else None)
    username = (
        args.username or os.environ.get("OPENCODE_SERVER_USERNAME") or (found.username if found else None) or "opencode"
    )
    directory: str | None = None
    if args.dir:
        local = Path(args.dir).expanduser()
        if local.is_dir():
            os.chdir(local)
            directory = str(local.resolve())
        else:
            directory = args.dir  # a directory on the server's machine: passed through as given
    client = HttpClient(url, password=password, username=username, directory=directory)
    try:
        client.health()
        session_id = _session(client, args)
    except ClientError as exc:
        client.http.close()
        raise CliError(" ".join(str(exc).split())) from None
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        client.http.close()
        raise CliError("opencode attach runs the terminal UI: run it in a terminal")
    return run_tui(client, session_id=session_id)


def _session(client: HttpClient, args: argparse.Namespace) -> str | None:
    """`--session ID` (checked on the server), `--continue` (the latest session), or None for a new one."""
    from opencode.tui.client import ClientError

    if args.session:
        try:
            return client.get_session(args.session).id
        except ClientError as exc:
            raise ClientError(f"--session {args.session}: {exc}") from None
    if args.cont:
        sessions = client.list_sessions(limit=1)
        return sessions[0].id if sessions else None
    return None
