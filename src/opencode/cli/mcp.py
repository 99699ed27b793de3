"""`opencode mcp list|add`: the configured MCP servers and their state, or a new one in the config.

`list` connects to every configured server at once (each within the start-up timeout) and prints
one line per server: name, status (connected, failed, needs auth, disabled), transport, tool count,
the size of its tool definitions in characters of JSON (what it costs in every request), and the
reason of a failure.

`add NAME --command "CMD ARGS" [--env K=V]...` adds a local server, `add NAME --url URL
[--header K=V]...` a remote one; on a terminal it asks for what the flags leave out. It writes the
project's `opencode.jsonc` / `opencode.json` (or, with --global, the global config file), checked
against the config schema first; a name already configured and a file with comments (rewriting it
would lose them) are one-line errors.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shlex
import sys
from pathlib import Path
from typing import Any

from opencode.cli.runtime import CliError

NAME_HINT = "letters, digits, '-' and '_'"


def list_main(args: argparse.Namespace) -> int:
    from opencode.config import load_config

    cwd = Path.cwd().resolve()
    loaded = load_config(cwd)
    for warning in loaded.warnings:
        sys.stderr.write(f"warning: {warning}\n")
    if not loaded.config.mcp:
        print("no MCP servers configured (add one with `opencode mcp add`)")
        return 0
    for line in asyncio.run(_status_lines(loaded.config, cwd)):
        print(line)
    return 0


async def _status_lines(config: Any, cwd: Path) -> list[str]:
    from opencode.mcp.manager import McpManager

    manager = McpManager(config, cwd=cwd)
    manager.start()
    try:
        await manager.wait_ready()
        found = manager.status()
    finally:
        await manager.close()
    width = max(len(name) for name in found)
    lines = []
    for name in sorted(found):
        status = found[name]
        shown = status.status.replace("_", " ")
        if status.status == "connected":
            detail = f"{status.transport}, {status.tools} tools, {status.size:,} chars of tool definitions"
        elif status.status == "disabled":
            detail = "enabled: false"
        else:
            detail = status.error or ""
        lines.append(f"{name:<{width}}  {shown:<10}  {detail}".rstrip())
    return lines


def add_main(args: argparse.Namespace) -> int:
    interactive = sys.stdin.isatty()
    name = args.name or _ask(interactive, "NAME", "Server name: ")
    if not name.replace("-", "").replace("_", "").isalnum():
        raise CliError(f"bad server name {name!r}: use {NAME_HINT}", code=2)
    if args.server_command and args.url:
        raise CliError("give --command (a local server) or --url (a remote one), not both", code=2)
    command, url = args.server_command, args.url
    if not command and not url:
        if not interactive:
            raise CliError("missing --command or --url (stdin is not a terminal, so it cannot be asked for)", code=2)
        kind = _choose("Local (runs a command) or remote (a URL)? [local/remote] ", ("local", "remote"))
        if kind == "local":
            command = _ask(True, "--command", "Command to run (e.g. npx -y @modelcontextprotocol/server-everything): ")
        else:
            url = _ask(True, "--url", "URL: ")
    entry: dict[str, Any]
    if command:
        if args.header:
            raise CliError("--header is for remote servers (--url); a local server takes --env", code=2)
        try:
            words = shlex.split(command)
        except ValueError as exc:
            raise CliError(f"--command cannot be split into words: {exc}", code=2) from None
        if not words:
            raise CliError("--command is empty", code=2)
        entry = {"type": "local", "command": words}
        if args.env:
            entry["environment"] = _pairs(args.env, "--env")
    else:
        if args.env:
            raise CliError("--env is for local servers (--command); a remote server takes --header", code=2)
        if not str(url).startswith(("http://", "https://")):
            raise CliError(f"--url must start with http:// or https:// (got {url!r})", code=2)
        entry = {"type": "remote", "url": url}
        if args.header:
            entry["headers"] = _pairs(args.header, "--header")
    target = _global_file() if args.global_ else _project_file(Path.cwd().resolve())
    write_server(target, name, entry)
    print(f"added MCP server {name} to {target}")
    return 0


def write_server(target: Path, name: str, entry: dict[str, Any]) -> None:
    """Add `mcp.<name>` to the config file `target`, checked against the schema; CliError otherwise."""
    from opencode.agent.settings import SettingsError, _write_atomic, check_config
    from opencode.config import jsonc
    from opencode.config.errors import ConfigError
    from opencode.config.load import parse_layer

    try:
        text = target.read_text(encoding="utf-8") if target.exists() else ""
        if jsonc.comment_spans(text):
            raise CliError(f"{target} has comments, which rewriting it would lose; add the server there by hand")
        current = jsonc.loads(text, str(target)) if text.strip() else {}
    except ConfigError as exc:
        raise CliError(f"{target} cannot be read: {exc}; fix it first") from None
    except OSError as exc:
        raise CliError(f"{target} cannot be read: {exc.strerror}") from None
    if not isinstance(current, dict):
        raise CliError(f"{target} does not hold a JSON object; fix it first")
    servers = current.setdefault("mcp", {})
    if not isinstance(servers, dict):
        raise CliError(f"{target}: `mcp` is not an object; fix it first")
    if name in servers:
        raise CliError(f"{target} has an MCP server named {name} already; pick another name or edit the file")
    servers[name] = entry
    current.setdefault("$schema", "https://opencode.ai/config.json")
    new_text = json.dumps(current, indent=2, ensure_ascii=False) + "\n"
    try:
        check_config(parse_layer(new_text, str(target), target.parent, os.environ), str(target))
    except (SettingsError, ConfigError) as exc:
        raise CliError(str(exc)) from None
    _write_atomic(target, new_text)


def _project_file(cwd: Path) -> Path:
    for name in ("opencode.jsonc", "opencode.json"):
        if (cwd / name).is_file():
            return cwd / name
    return cwd / "opencode.json"


def _global_file() -> Path:
    from opencode.config.paths import paths

    base = paths().config
    for name in ("opencode.jsonc", "opencode.json", "config.json"):
        if (base / name).is_file():
            return base / name
    return base / "opencode.json"


def _pairs(items: list[str], flag: str) -> dict[str, str]:
    found: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise CliError(f"{flag} {item!r}: expected NAME=VALUE", code=2)
        found[key.strip()] = value
    return found


def _ask(interactive: bool, flag: str, question: str) -> str:
    if not interactive:
        raise CliError(f"missing {flag} (stdin is not a terminal, so it cannot be asked for)", code=2)
    while True:
        try:
            answer = input(question).strip()
        except EOFError:
            raise CliError(f"missing {flag}", code=2) from None
        if answer:
            return answer


def _choose(question: str, choices: tuple[str, ...]) -> str:
    while True:
        try:
            answer = input(question).strip().lower()
        except EOFError:
            raise CliError("no answer given", code=2) from None
        for choice in choices:
            if answer and choice.startswith(answer):
                return choice
        sys.stderr.write(f"please answer {' or '.join(choices)}\n")
