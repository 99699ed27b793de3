"""`opencode [project]`: the main job: the terminal UI, or a line-mode chat on the engine.

With no provider connected it prints the one-screen guide. With stdin and stdout on a terminal
and no `--prompt`, it starts the terminal UI (`opencode.tui`). Otherwise it starts a session and
reads a message per line (or `--prompt`, or the whole of stdin when piped), running the agent
on each and streaming the reply. `/exit` or Ctrl-D ends it; Ctrl-C stops the current turn.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from opencode.cli.runtime import CliError

if TYPE_CHECKING:
    from opencode.agent.engine import Engine
    from opencode.cli.splash import Splash


def main(args: argparse.Namespace) -> int:
    if args.project:
        project = Path(args.project).expanduser()
        if not project.is_dir():
            raise CliError(f"{args.project}: not a directory")
        os.chdir(project)
    tui = sys.stdin.isatty() and sys.stdout.isatty() and not args.prompt
    if not tui:
        return _chat(args, None)
    from opencode.cli.splash import Splash

    splash = Splash.start()  # the first frame, while config, the engine and Textual load
    try:
        return _chat(args, splash)
    finally:
        if splash is not None:
            splash.close()


def _chat(args: argparse.Namespace, splash: Splash | None) -> int:
    from opencode import aio
    from opencode.cli.context import load_context
    from opencode.cli.guide import guide_text
    from opencode.cli.run import Printer, make_engine, pick_agent

    tui = splash is not None or (sys.stdin.isatty() and sys.stdout.isatty() and not args.prompt)
    with splash.holding_stderr() if splash is not None else contextlib.nullcontext():
        ctx = load_context(args)
        if not args.model and not ctx.loaded.config.model and not ctx.registry.connected():
            # Nothing configured: a local server (ollama, LM Studio, llama.cpp) may still be running.
            aio.run(ctx.registry.refresh_local_models())
        ready = bool(args.model or ctx.loaded.config.model or ctx.registry.connected())
        if ready:
            engine = make_engine(ctx, interactive=sys.stdin.isatty() and not tui)
            agent = pick_agent(engine, args.agent)
            model = engine.resolve_model(args.model, agent)
    if not ready:
        if splash is not None:
            splash.close()
        sys.stdout.write(guide_text(ctx.registry))
        return 0
    if tui:
        return _run_tui(engine, args.model, agent if args.agent else None, splash)
    session = engine.create_session()
    printer = Printer(sys.stdout, sys.stderr, fmt="default", thinking=False, session_id=session.id)
    engine.bus.on(printer.handle)
    interactive = sys.stdin.isatty()
    pending = [args.prompt] if args.prompt else []
    if not interactive and not pending:
        pending = [sys.stdin.read()]
    if interactive:
        sys.stderr.write(f"opencode {model.ref} in {ctx.cwd} (Ctrl-D or /exit to quit)\n")
    try:
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
            try:
                # A plan_enter or plan_exit on one line holds for the next: the session knows its current agent.
                current = engine.current_agent(session.id) or agent
                result = aio.run(engine.prompt(session.id, line, model=model.ref, agent=current))
            except KeyboardInterrupt:
                sys.stderr.write("\n(interrupted)\n")
                continue
            printer.end()
            if result.message.error is not None:
                sys.stderr.write(f"error: {result.message.error.message}\n")
    finally:
        engine.store.close()


def _run_tui(engine: Engine, model: str | None, agent: str | None, splash: Splash | None) -> int:
    """The terminal UI on this engine: its dialogs answer permission asks and questions."""
    from opencode.tui import run_tui
    from opencode.tui.client import EngineClient

    engine.permissions.interactive = True
    engine.questions.interactive = True
    try:
        client = EngineClient(engine, model=model, agent=agent)
        if splash is None:
            return run_tui(client)
        code = run_tui(client, before_run=splash.release, not_started=splash.close)
        splash.handed_over()
        return code
    finally:
        engine.store.close()
