"""`opencode debug lsp diagnostics FILE` and `opencode debug lsp symbols QUERY`: what the servers say.

The same language servers the agent uses (config `lsp`), started for this command and shut down
after it. Diagnostics are the file's as it is on disk now; symbols come from the servers of the
project's languages (one file of each language found in the project starts its server).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from opencode.cli.runtime import CliError

if TYPE_CHECKING:
    from collections.abc import Mapping

    from opencode.config.schema import LspServerConfig
    from opencode.lsp.manager import LspManager

    LspConfig = bool | Mapping[str, LspServerConfig] | None

MAX_SCANNED = 5000
SKIPPED = {"node_modules", ".git", ".venv", "venv", "__pycache__", "dist", "build", "target", ".cache"}


def main(args: argparse.Namespace) -> int:
    from opencode.cli.context import load_context

    ctx = load_context(args)
    if ctx.loaded.config.lsp is False:
        raise CliError("language servers are turned off (config lsp: false)")
    if args.lsp_action == "diagnostics":
        path = (ctx.cwd / args.file).resolve()
        if not path.is_file():
            raise CliError(f"no such file: {args.file}")
        return asyncio.run(_diagnostics(ctx.cwd, ctx.loaded.config.lsp, path))
    return asyncio.run(_symbols(ctx.cwd, ctx.loaded.config.lsp, args.query))


async def _diagnostics(cwd: Path, config: LspConfig, path: Path) -> int:
    from opencode.agent.engine import project_root
    from opencode.lsp.manager import LspManager, one_line, position
    from opencode.tool.lsp import SEVERITY
    from opencode.tool.read import relative

    root = project_root(cwd)
    manager = LspManager(root, config)
    try:
        got = await manager.diagnostics(path)
        if not got.servers:
            reason = (
                manager.unavailable(path) if not manager.busy(path) else "the language server did not answer in time"
            )
            raise CliError(f"no diagnostics for {relative(path, root)}: {reason}")
        label = relative(path, root)
        for item in sorted(got.items, key=lambda d: ((d.get("range") or {}).get("start") or {}).get("line", 0)):
            severity = SEVERITY.get(item.get("severity", 1), "error")
            sys.stdout.write(f"{label}:{position(item)}: {severity}: {one_line(item)}\n")
        errors = len(got.errors())
        sys.stderr.write(f"{errors} error(s), {len(got.items) - errors} other(s) from {', '.join(got.servers)}\n")
        return 0
    finally:
        await manager.close()


async def _symbols(cwd: Path, config: LspConfig, query: str) -> int:
    from opencode.agent.engine import project_root
    from opencode.lsp.manager import LspManager
    from opencode.tool.lsp import describe_symbol

    root = project_root(cwd)
    manager = LspManager(root, config)
    try:
        samples = _one_file_per_server(manager, root)
        for path in samples:
            await manager.diagnostics(path)  # its server started and done with a first look at the project
        if not manager.clients:
            problems = "; ".join(manager.missing.values()) or "no source file of a known language found"
            raise CliError(f"no language server is running: {problems}")
        symbols = await manager.workspace_symbols(query)
        for symbol in symbols:
            sys.stdout.write(describe_symbol(symbol, root) + "\n")
        sys.stderr.write(f"{len(symbols)} symbol(s)\n")
        return 0
    finally:
        await manager.close()


def _one_file_per_server(manager: LspManager, root: Path) -> list[Path]:
    wanted = {server.id: server for server in manager.servers}
    found: dict[str, Path] = {}
    scanned = 0
    for directory, folders, files in os.walk(root):
        folders[:] = sorted(f for f in folders if f not in SKIPPED and not f.startswith("."))
        for name in sorted(files):
            scanned += 1
            path = Path(directory) / name
            for server_id, server in wanted.items():
                if server_id not in found and server.handles(path):
                    found[server_id] = path
            if scanned >= MAX_SCANNED or len(found) == len(wanted):
                return list(found.values())
    return list(found.values())
