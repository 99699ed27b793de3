"""`opencode [project]`: the main job. Until the terminal UI lands, a line-mode chat.

With no provider connected it prints the one-screen guide. Otherwise it reads a message per
line (or `--prompt`, or the whole of stdin when piped), streams each reply and keeps the
conversation in memory for the next turn. `/exit` or Ctrl-D ends it.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path

from opencode.cli.runtime import CliError


def main(args: argparse.Namespace) -> int:
    from opencode.cli.context import load_context
    from opencode.cli.guide import guide_text
    from opencode.cli.run import build_request, pick_model, stream_turn, text_part
    from opencode.provider.types import AssistantMessage, Message, TextPart, UserMessage

    if args.project:
        project = Path(args.project).expanduser()
        if not project.is_dir():
            raise CliError(f"{args.project}: not a directory")
        os.chdir(project)
    ctx = load_context(args)
    if not args.model and not ctx.loaded.config.model and not ctx.registry.connected():
        # Nothing configured: a local server (ollama, LM Studio, llama.cpp) may still be running.
        asyncio.run(ctx.registry.refresh_local_models())
        if not ctx.registry.connected():
            sys.stdout.write(guide_text(ctx.registry))
            return 0
    model = pick_model(ctx, args)
    interactive = sys.stdin.isatty()
    history: list[Message] = []
    pending = [args.prompt] if args.prompt else []
    if not interactive and not pending:
        pending = [sys.stdin.read()]
    if interactive:
        sys.stderr.write(f"opencode {model.ref} in {ctx.cwd} (Ctrl-D or /exit to quit)\n")
    while True:
        if pending:
            line = pending.pop(0)
        elif interactive:
            try:
                line = input("> ")
            except EOFError:
                sys.stderr.write("\n")
                return 0
        else:
            return 0
        line = line.strip()
        if not line:
            continue
        if line in ("/exit", "/quit"):
            return 0
        history.append(UserMessage([text_part(line)]))
        request = build_request(ctx, model, list(history), args.agent)
        try:
            result = asyncio.run(stream_turn(model, request, sys.stdout))
        except KeyboardInterrupt:
            sys.stderr.write("\n(interrupted)\n")
            history.pop()
            continue
        history.append(AssistantMessage([TextPart(result.text)]))
