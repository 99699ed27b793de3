"""`opencode run [message..]`: one turn of the agent, streamed to the terminal or as JSON events.

Text streams to stdout as it arrives; each tool call is one line on stderr (tool, title,
ok/error); retries are announced on stderr. Exit 0 on success, 1 with a one-line error, 130 on
Ctrl-C (the session is left consistent: running tools are stopped and marked aborted).
`--format json` prints one JSON object per line in opencode's `run` event shapes.
`-c` continues the last session of this directory, `-s ID` a given one, as the agent it runs as
now (unless `--agent` says otherwise). With a terminal on stdin, permission asks and the model's
questions (`question`, `plan_exit`) are answered there; without one they are refused at once.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import mimetypes
import os
import sys
import weakref
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from opencode import aio
from opencode.cli.runtime import CliError

if TYPE_CHECKING:
    from opencode.agent.engine import Engine
    from opencode.bus import BusEvent, QuestionAsked, QuestionInfo
    from opencode.cli.context import Context
    from opencode.session.model import Session
    from opencode.tool.tool import Attachment

BINARY_TYPES = ("image/png", "image/jpeg", "image/gif", "image/webp", "application/pdf")
MAX_TEXT_ATTACHMENT = 256 * 1024


def main(args: argparse.Namespace) -> int:
    from opencode.cli.context import load_context

    if args.dir:
        target = Path(args.dir).expanduser()
        if not target.is_dir():
            raise CliError(f"--dir {args.dir}: not a directory")
        os.chdir(target)
    if args.cont and args.session:
        raise CliError("use either -c/--continue or -s/--session, not both", code=2)
    message = " ".join(args.message).strip()
    if not sys.stdin.isatty():
        piped = sys.stdin.read()
        message = f"{message}\n\n{piped}".strip() if message else piped.strip()
    if not message and not args.file and not args.command:
        raise CliError('no message: pass it as arguments (opencode run "fix the tests") or on stdin', code=2)
    files, inline = attachments(args.file)
    ctx = load_context(args)
    engine = make_engine(ctx, interactive=sys.stdin.isatty() and args.format != "json")
    agent_name = pick_agent(engine, args.agent)
    model = args.model
    if args.command:
        from opencode.agent.actions import ActionError, find_command

        try:
            find_command(engine, args.command)
        except ActionError as exc:
            raise CliError(
                f"--command {args.command}: {str(exc).replace(f'no command /{args.command}', 'no such command')}"
            ) from None
    elif inline:
        message = "\n\n".join([*inline, message]) if message else "\n\n".join(inline)
    session = pick_session(engine, args)
    if not args.agent and not args.command and (args.cont or args.session):
        # A continued session goes on as the agent it runs as now (plan mode survives between runs).
        agent_name = engine.current_agent(session.id) or agent_name
    if args.title:
        session.title = args.title
        engine.touch(session)
    printer = Printer(sys.stdout, sys.stderr, fmt=args.format, thinking=args.thinking, session_id=session.id)
    remove = engine.bus.on(printer.handle)
    try:
        if args.command:
            result = aio.run(_command(engine, session.id, args.command, message, files, inline, model, agent_name))
        else:
            result = aio.run(_prompt(engine, session.id, message, files, model, agent_name))
    finally:
        remove()
        engine.store.close()
    printer.end()
    if result.message.error is not None:
        if args.format == "json":
            return 1
        raise CliError(result.message.error.message)
    return 0


async def _prompt(
    engine: Engine, session_id: str, text: str, files: list[Attachment], model: str | None, agent: str
) -> Any:
    try:
        return await engine.prompt(session_id, text, files=files, model=model, agent=agent)
    finally:
        await engine.drain()


async def _command(
    engine: Engine,
    session_id: str,
    name: str,
    arguments: str,
    files: list[Attachment],
    inline: list[str],
    model: str | None,
    agent: str,
) -> Any:
    """`--command NAME`: the command's template with the message as its arguments (a `subtask: true`
    command runs in a child session); its agent and model apply."""
    from opencode.agent.actions import command_turn

    try:
        return await command_turn(
            engine,
            session_id,
            name,
            arguments,
            agent=agent,
            model=model,
            abort=asyncio.Event(),
            files=files,
            inline=inline,
        )
    finally:
        await engine.drain()


def make_engine(ctx: Context, *, interactive: bool = False) -> Engine:
    """The engine for a terminal face: permission asks and questions are answered at the terminal when there is one."""
    from opencode.agent.engine import Engine

    engine = Engine(
        cwd=ctx.cwd,
        config=ctx.loaded.config,
        registry=ctx.registry,
        prompt_permission=ask_at_terminal if interactive else None,
        prompt_question=ask_question_at_terminal if interactive else None,
    )
    recover = getattr(engine.store, "recover_interrupted", None)
    if recover is not None:
        from opencode.session.model import now_ms

        # Messages left unfinished by a process that died; the age guard keeps a live run's alone.
        recover(now_ms(), older_than_ms=15 * 60 * 1000)
    return engine


def pick_session(engine: Engine, args: argparse.Namespace) -> Session:
    from opencode.session.store import NotFound

    if args.session:
        try:
            return engine.store.get_session(args.session)
        except NotFound:
            raise CliError(f"-s {args.session}: no such session (`opencode session list` shows them)") from None
    if args.cont:
        last = engine.last_session()
        if last is not None:
            return last
    return engine.create_session()


def pick_agent(engine: Engine, name: str | None) -> str:
    """--agent must name a primary agent; without it, config `default_agent` or build."""
    from opencode.agent.agents import check_primary, default_agent

    if name:
        return check_primary(engine.agents, name).name
    return default_agent(engine.agents, engine.config).name


_terminal_locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = weakref.WeakKeyDictionary()


def terminal_lock() -> asyncio.Lock:
    """One prompt on the terminal at a time (permission asks and questions), per event loop."""
    loop = asyncio.get_running_loop()
    lock = _terminal_locks.get(loop)
    if lock is None:
        lock = _terminal_locks[loop] = asyncio.Lock()
    return lock


async def ask_at_terminal(asked: Any) -> Any:
    """Answer a permission ask on the terminal: once, always (this session) or reject."""
    from opencode.permission.service import Answer

    async with terminal_lock():
        sys.stderr.write(f"\npermission: {asked.permission} {', '.join(asked.patterns)}\n")
        title = asked.metadata.get("title") if isinstance(asked.metadata, dict) else None
        if title:
            sys.stderr.write(f"  {title}\n")
        while True:
            sys.stderr.write("allow [o]nce, [a]lways for this session, or [r]eject? ")
            sys.stderr.flush()
            line = await asyncio.to_thread(sys.stdin.readline)
            choice = line.strip().lower()
            if not line or choice in ("r", "reject", "n", "no"):
                return Answer("reject")
            if choice in ("o", "once", "y", "yes"):
                return Answer("once")
            if choice in ("a", "always"):
                return Answer("always")


async def ask_question_at_terminal(asked: QuestionAsked) -> list[list[str]] | None:
    """Answer the `question` tool on the terminal: an option's number (several, comma-separated, where
    more than one may be chosen) or an answer typed in. End of input dismisses the questions (None)."""
    answers: list[list[str]] = []
    async with terminal_lock():
        for question in asked.questions:
            _show_question(question)
            while True:
                sys.stderr.write("answer> ")
                sys.stderr.flush()
                line = await asyncio.to_thread(sys.stdin.readline)
                if not line:
                    sys.stderr.write("\n(no answer: the question was dismissed)\n")
                    return None
                answer = parse_answer(question, line.strip())
                if answer is not None:
                    answers.append(answer)
                    break
    return answers


def _show_question(question: QuestionInfo) -> None:
    head = f"question: {question.header}" if question.header else "question:"
    lines = [f"\n{head}", *(f"  {text}" for text in question.question.splitlines())]
    for number, option in enumerate(question.options, start=1):
        detail = f" - {option.description}" if option.description else ""
        lines.append(f"  {number}. {option.label}{detail}")
    custom = question.custom is not False
    if question.options:
        how = "numbers separated by commas" if question.multiple else "its number"
        lines.append(f"  Choose with {how}" + (", or type your own answer." if custom else "."))
    sys.stderr.write("\n".join(lines) + "\n")


def parse_answer(question: QuestionInfo, text: str) -> list[str] | None:
    """The chosen labels (or the typed answer) for `text`; None when it does not answer the question."""
    if not text:
        return None
    tokens = [t.strip() for t in text.split(",")]
    if question.options and all(t.isdigit() for t in tokens):
        numbers = [int(t) for t in tokens]
        if all(1 <= n <= len(question.options) for n in numbers) and (question.multiple or len(numbers) == 1):
            return list(dict.fromkeys(question.options[n - 1].label for n in numbers))
        sys.stderr.write(
            f"  pick {'numbers' if question.multiple else 'one number'} from 1 to {len(question.options)}\n"
        )
        return None
    if question.custom is False:
        sys.stderr.write(f"  pick a number from 1 to {len(question.options)}\n")
        return None
    return [text]


def attachments(paths: list[str]) -> tuple[list[Attachment], list[str]]:
    """Images and PDFs become attachments; text files are inlined into the message."""
    from opencode.tool.tool import Attachment

    files: list[Attachment] = []
    inline: list[str] = []
    for raw in paths:
        path = Path(raw).expanduser()
        if not path.is_file():
            raise CliError(f"-f {raw}: no such file")
        media_type = mimetypes.guess_type(path.name)[0] or "text/plain"
        data = path.read_bytes()
        if media_type in BINARY_TYPES:
            files.append(Attachment(media_type, data, path.name))
            continue
        if b"\0" in data[:8192]:
            raise CliError(f"-f {raw}: binary file of type {media_type}; attach images, PDFs or text")
        text = data[:MAX_TEXT_ATTACHMENT].decode("utf-8", "replace")
        note = f"\n[truncated at {MAX_TEXT_ATTACHMENT} bytes of {len(data)}]" if len(data) > MAX_TEXT_ATTACHMENT else ""
        inline.append(f'<file path="{path}">\n{text}{note}\n</file>')
    return files, inline


class Printer:
    """Renders bus events for the terminal (default) or as opencode's `run --format json` lines."""

    def __init__(self, out: IO[str], err: IO[str], *, fmt: str, thinking: bool, session_id: str) -> None:
        self.out, self.err, self.fmt, self.thinking, self.session_id = out, err, fmt, thinking, session_id
        self.at_line_start = True
        self.done_tools: set[str] = set()
        self.children: set[str] = set()
        """Subagent sessions started from this one: their tool lines are shown too, indented."""

    def handle(self, event: BusEvent) -> None:
        from opencode.bus import PartUpdated, SessionCreated, SessionError, SessionStatus

        if isinstance(event, SessionCreated) and event.info.parentID in (self.session_id, *self.children):
            self.children.add(event.info.id)
            return
        if isinstance(event, PartUpdated) and event.part.sessionID in self.children and self.fmt != "json":
            part = event.part
            if part.type == "tool" and part.state.status in ("completed", "error") and part.id not in self.done_tools:
                self.done_tools.add(part.id)
                verdict = "ok" if part.state.status == "completed" else "error"
                self.line(self.err, f"  | {part.tool:<6} {getattr(part.state, 'title', '') or ''}  {verdict}")
            return

        if isinstance(event, SessionStatus) and event.status.type == "retry":
            wait = max(0, round(((event.status.next or 0) - _now_ms()) / 1000))
            self.line(self.err, f"{event.status.message}; retrying in {wait} s (try {event.status.attempt})")
            if self.fmt == "json":
                self.emit("retry", attempt=event.status.attempt, message=event.status.message)
            return
        if isinstance(event, SessionError):
            if self.fmt == "json":
                self.emit("error", error=event.error.model_dump(mode="json", exclude_none=True))
            return
        if isinstance(event, PartUpdated) and event.part.sessionID == self.session_id:
            if self.fmt == "json":
                self.json_part(event)
            else:
                self.text_part(event)

    # --- default format ---------------------------------------------------------------------

    def text_part(self, event: Any) -> None:
        part = event.part
        if part.type == "text" and event.delta:
            self.out.write(event.delta)
            self.out.flush()
            self.at_line_start = event.delta.endswith("\n")
        elif part.type == "reasoning" and event.delta and self.thinking:
            self.err.write(event.delta)
            self.err.flush()
        elif part.type == "tool" and part.state.status in ("completed", "error") and part.id not in self.done_tools:
            self.done_tools.add(part.id)
            if not self.at_line_start:
                self.out.write("\n")
                self.at_line_start = True
            state = part.state
            if state.status == "completed":
                self.line(self.err, f"| {part.tool:<6} {state.title or ''}".rstrip() + "  ok")
            else:
                self.line(self.err, f"| {part.tool:<6} error: {_first_line(state.error)}")

    def line(self, stream: IO[str], text: str) -> None:
        stream.write(text + "\n")
        stream.flush()

    def end(self) -> None:
        if self.fmt != "json" and not self.at_line_start:
            self.out.write("\n")
            self.out.flush()

    # --- json format ------------------------------------------------------------------------

    def json_part(self, event: Any) -> None:
        part = event.part
        if event.delta is not None:
            return  # full-state updates only: one line per finished part
        kinds = {"step-start": "step_start", "step-finish": "step_finish", "text": "text", "reasoning": "reasoning"}
        if part.type == "tool":
            if part.state.status not in ("completed", "error") or part.id in self.done_tools:
                return
            self.done_tools.add(part.id)
            self.emit("tool_use", part=part.model_dump(mode="json", exclude_none=True))
        elif part.type in kinds:
            if part.type in ("text", "reasoning") and (part.time is None or part.time.end is None):
                return
            self.emit(kinds[part.type], part=part.model_dump(mode="json", exclude_none=True))

    def emit(self, kind: str, **data: Any) -> None:
        self.out.write(json.dumps({"type": kind, "timestamp": _now_ms(), "sessionID": self.session_id, **data}) + "\n")
        self.out.flush()


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else ""


def _now_ms() -> int:
    from opencode.session.model import now_ms

    return now_ms()
