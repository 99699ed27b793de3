"""What a face can ask of a session besides a prompt, in one place for the TUI, the server and the CLI.

    job = engine.jobs.start(session_id, lambda abort: engine.prompt(session_id, text, abort=abort))
    engine.jobs.abort(session_id)                  # Esc in the TUI, POST /session/{id}/abort
    session = await undo(engine, session_id)       # revert the last user message (and its file changes)
    text = await shell(engine, session_id, "ls")   # `!ls`: the output becomes a user message
    diffs = await session_diffs(engine, session_id)

Every user error is an `ActionError` whose message is one line meant for the user (the TUI shows it
on the status line, the server answers 400 with it).
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from opencode.agent.engine import Engine
    from opencode.session.model import MessageWithParts, Session
    from opencode.tool.tool import Attachment

SHELL_TIMEOUT = 60.0
"""Seconds a `!command` may run before it is killed."""
SHELL_OUTPUT_CAP = 32 * 1024
"""Bytes of a `!command`'s output kept (the rest is cut, with a note)."""


class ActionError(Exception):
    """Something a face asked for cannot be done (nothing to undo, the session is busy); one line."""


class Jobs:
    """The job running in each session (a prompt's turn, a `!command`, a compaction): one at a time, abortable.

    `start` runs `work(abort)` as a task; `abort` sets the event (tools stop: bash kills its process
    group) and cancels the task (a stalled stream ends). The engine's own turns count as busy too."""

    def __init__(self, engine_busy: Callable[[str], bool]) -> None:
        self._engine_busy = engine_busy
        self._runs: dict[str, tuple[asyncio.Task[Any], asyncio.Event]] = {}

    def busy(self, session_id: str) -> bool:
        run = self._runs.get(session_id)
        return (run is not None and not run[0].done()) or self._engine_busy(session_id)

    def running(self) -> list[str]:
        return [session_id for session_id, (task, _) in self._runs.items() if not task.done()]

    def start(self, session_id: str, work: Callable[[asyncio.Event], Coroutine[Any, Any, Any]]) -> asyncio.Task[Any]:
        if self.busy(session_id):
            raise ActionError("a turn is already running in this session: wait for it, or abort it")
        abort = asyncio.Event()
        task: asyncio.Task[Any] = asyncio.ensure_future(work(abort))
        self._runs[session_id] = (task, abort)
        task.add_done_callback(lambda done: self._ended(session_id, done))
        return task

    def _ended(self, session_id: str, task: asyncio.Task[Any]) -> None:
        if self._runs.get(session_id, (None,))[0] is task:
            del self._runs[session_id]
        if not task.cancelled() and task.exception() is not None:
            task.exception()  # retrieved: whoever awaits the task sees it; nobody awaiting is logged by them

    def abort(self, session_id: str) -> bool:
        run = self._runs.get(session_id)
        if run is None or run[0].done():
            return False
        run[1].set()
        run[0].cancel()
        return True

    async def run(self, session_id: str, work: Callable[[asyncio.Event], Coroutine[Any, Any, Any]]) -> Any:
        """`start`, then wait for the end. Aborted: raises `ActionError("interrupted")`. If the caller is
        cancelled (the app closes), the job is cancelled with it."""
        task = self.start(session_id, work)
        try:
            return await asyncio.shield(task)
        except asyncio.CancelledError:
            if not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
                raise
            if task.cancelled():
                raise ActionError("interrupted") from None
            raise

    async def close(self, timeout: float = 3.0) -> None:
        for session_id in self.running():
            self.abort(session_id)
        tasks = [task for task, _ in self._runs.values() if not task.done()]
        if tasks:
            await asyncio.wait(tasks, timeout=timeout)


# --- undo and redo ---------------------------------------------------------------------------


async def undo(engine: Engine, session_id: str) -> Session:
    """Revert the last user message that is not synthetic: its messages hidden, its files restored."""
    from opencode.session.model import TextPart, UserMessage
    from opencode.session.revert import RevertError

    if engine.jobs.busy(session_id):
        raise ActionError("cannot undo while a turn is running: abort it first")
    users = [
        m
        for m in visible(engine, session_id)
        if isinstance(m.info, UserMessage) and not all(isinstance(p, TextPart) and p.synthetic for p in m.parts)
    ]
    if not users:
        raise ActionError("nothing to undo")
    try:
        return await engine.revert(session_id, users[-1].info.id)
    except RevertError as exc:
        raise ActionError(str(exc)) from None


async def redo(engine: Engine, session_id: str) -> Session:
    from opencode.session.revert import RevertError

    if engine.jobs.busy(session_id):
        raise ActionError("cannot redo while a turn is running")
    if get_session(engine, session_id).revert is None:
        raise ActionError("nothing to redo")
    try:
        return await engine.unrevert(session_id)
    except RevertError as exc:
        raise ActionError(str(exc)) from None


def visible(engine: Engine, session_id: str) -> list[MessageWithParts]:
    """The session's messages as a face shows them (those undone by a revert left out)."""
    from opencode.session.revert import visible_messages

    return visible_messages(engine.store, get_session(engine, session_id))


def get_session(engine: Engine, session_id: str) -> Session:
    from opencode.session.store import NotFound

    try:
        return engine.store.get_session(session_id)
    except NotFound:
        raise ActionError(f"no session {session_id} (deleted, or never made here)") from None


# --- sessions ---------------------------------------------------------------------------------


def rename_session(engine: Engine, session_id: str, title: str) -> Session:
    title = " ".join(title.split())
    if not title:
        raise ActionError("a session title cannot be empty")
    session = get_session(engine, session_id)
    session.title = title
    engine.touch(session)
    return session


def delete_session(engine: Engine, session_id: str) -> Session:
    """Delete a session with its messages, parts and child sessions; published as `session.deleted`."""
    from opencode.bus import SessionDeleted
    from opencode.session.store import NotFound

    if engine.jobs.busy(session_id):
        raise ActionError("a turn is running in that session: abort it before deleting it")
    session = get_session(engine, session_id)
    for child in engine.store.list_sessions(parent_id=session_id):
        with contextlib.suppress(ActionError):
            delete_session(engine, child.id)
    try:
        engine.store.delete_session(session_id)
    except NotFound:
        raise ActionError(f"no session {session_id} (deleted elsewhere?)") from None
    engine.sessions.pop(session_id, None)
    engine.bus.publish(SessionDeleted(info=session))
    return session


def export_session(engine: Engine, session_id: str) -> dict[str, object]:
    """The session as `opencode export` writes it: info, messages with parts, todos."""
    from opencode.session.model import SessionExport

    store = engine.store
    get_session(engine, session_id)
    export = getattr(store, "export_session", None)  # the SQLite store has it; any other is read part by part
    if export is not None:
        document: SessionExport = export(session_id)
    else:
        todos = store.get_todos(session_id) or None
        document = SessionExport(
            info=store.get_session(session_id), messages=store.list_messages(session_id), todos=todos
        )
    data: dict[str, object] = document.model_dump(mode="json", exclude_none=True)
    return data


# --- what goes into a prompt: commands and files ---------------------------------------------


async def expand_command(
    engine: Engine, name: str, arguments: str, agent: str, model: str | None
) -> tuple[str, str, str | None]:
    """A custom command's template with `arguments` filled in, and the agent and model it asks for."""
    from opencode.agent.agents import AgentError
    from opencode.agent.commands import expand, load_commands

    try:
        commands = load_commands(engine.config, engine.cwd, engine.root)
    except AgentError as exc:
        raise ActionError(f"a command file is broken: {exc}") from None
    found = commands.get(name)
    if found is None:
        known = ", ".join(sorted(commands)) or "none; they live in .opencode/command/NAME.md"
        raise ActionError(f"no command /{name} (known: {known})")
    text = await expand(found, arguments, cwd=engine.cwd)
    return text, found.agent or agent, found.model or model


def attach_files(engine: Engine, paths: list[str]) -> tuple[list[Attachment], list[str]]:
    """Files named relative to the project: images and PDFs attached, text files inlined (missing ones skipped)."""
    from opencode.cli.run import attachments
    from opencode.cli.runtime import CliError

    wanted = [engine.cwd / Path(p).expanduser() for p in dict.fromkeys(paths)]
    found = [str(path) for path in wanted if path.is_file()]
    try:
        return attachments(found)
    except CliError as exc:  # a binary file that is no image or PDF
        raise ActionError(str(exc).removeprefix("-f ")) from None


def with_inlined(text: str, inline: list[str]) -> str:
    """The user's words first, then the inlined files, so the chat shows what was asked."""
    if not inline:
        return text
    return "\n\n".join([text, *inline]) if text.strip() else "\n\n".join(inline)


# --- !shell and /compact ------------------------------------------------------------------------


async def shell(engine: Engine, session_id: str, command: str, *, agent: str, model: str | None) -> str:
    """Run `command` in the project directory; its output becomes a user message (returned)."""
    from opencode.agent.commands import run_shell
    from opencode.session.revert import cleanup_revert

    command = command.strip()
    if not command:
        raise ActionError("no shell command given: `!ls`, for one")
    try:
        resolved = engine.resolve_model(model, agent)
    except Exception as exc:  # the message records a model; without one there is no conversation to add to
        raise ActionError(f"cannot add the output to the conversation: {exc}") from None
    output = await run_shell(command, engine.cwd, timeout=SHELL_TIMEOUT, cap=SHELL_OUTPUT_CAP)
    session = get_session(engine, session_id)
    if session.revert is not None:  # as a prompt does: a new message makes the undone ones permanent history
        session = cleanup_revert(engine.store, session.id)
    text = shell_message(command, output)
    engine.add_user_message(session, text, [], resolved, agent)
    engine.touch(session)
    return text


def shell_message(command: str, output: str) -> str:
    """The user message a `!command` adds: the command, then its output in a fence no output can close."""
    longest = max((len(run) for run in re.findall(r"`+", output)), default=0)
    fence = "`" * max(3, longest + 1)
    shown = output or "(no output)"
    return f"I ran this shell command in the project directory:\n$ {command}\n\nIts output:\n{fence}\n{shown}\n{fence}"


async def summarize(engine: Engine, session_id: str, *, agent: str, model: str | None) -> None:
    """Compact the session now (`/compact`, POST /session/{id}/summarize)."""
    from opencode.session.model import AssistantMessage

    session = get_session(engine, session_id)
    if not visible(engine, session_id):
        raise ActionError("nothing to compact yet")
    try:
        resolved = engine.resolve_model(model, agent)
    except Exception as exc:
        raise ActionError(str(exc)) from None
    async with resolved.connected():
        await engine.compact(session, resolved, auto=False)
    summaries = [
        m.info
        for m in engine.store.list_messages(session_id)
        if isinstance(m.info, AssistantMessage) and m.info.summary
    ]
    if summaries and summaries[-1].error is not None:
        raise ActionError(f"compaction failed: {summaries[-1].error.message}")


# --- the files a session changed ----------------------------------------------------------------


@dataclass(frozen=True)
class FileDiff:
    """One file the session changed, as opencode's `FileDiff`: before and after text, lines added and removed."""

    file: str
    before: str
    after: str
    additions: int
    deletions: int
    patch: str


def _patches(engine: Engine, session_id: str) -> tuple[dict[str, str], str | None]:
    """Each changed file with the snapshot from before its first change, and the last step's end snapshot."""
    from opencode.session.model import PatchPart, StepFinishPart

    first: dict[str, str] = {}
    end: str | None = None
    for message in visible(engine, session_id):
        for part in message.parts:
            if isinstance(part, PatchPart):
                for file in part.files:
                    first.setdefault(file, part.hash)
            elif isinstance(part, StepFinishPart) and part.snapshot:
                end = part.snapshot
    return first, end


def changed_files(engine: Engine, session_id: str) -> list[str]:
    """Files the session's tools changed (relative to the project root), in the order first changed."""
    return list(_patches(engine, session_id)[0])


async def file_diff(engine: Engine, session_id: str, file: str) -> str:
    """The unified diff of `file` from before the session first changed it to now."""
    from opencode.snapshot import SnapshotError

    first, end = _patches(engine, session_id)
    if file not in first:
        raise ActionError(f"{file} was not changed in this session")
    if engine.snapshots is None:
        raise ActionError("snapshots are off (`snapshot: false` in config), so there is no diff to show")
    try:
        whole = await engine.snapshots.diff(first[file], end)
    except SnapshotError as exc:
        raise ActionError(f"cannot compute the diff of {file}: {exc}") from None
    return file_section(whole, file)


async def session_diffs(engine: Engine, session_id: str) -> list[FileDiff]:
    """Every file the session changed, with its text before and after (GET /session/{id}/diff)."""
    first, _end = _patches(engine, session_id)
    diffs: list[FileDiff] = []
    for file in first:
        patch = await file_diff(engine, session_id, file)
        before = await _file_at(engine, first[file], file)
        path = engine.root / file
        after = path.read_text(errors="replace") if path.is_file() else ""
        added = sum(1 for line in patch.splitlines() if line.startswith("+") and not line.startswith("+++"))
        removed = sum(1 for line in patch.splitlines() if line.startswith("-") and not line.startswith("---"))
        diffs.append(FileDiff(file=file, before=before, after=after, additions=added, deletions=removed, patch=patch))
    return diffs


async def _file_at(engine: Engine, snapshot: str, file: str) -> str:
    """The file's text in a snapshot ("" where it did not exist then)."""
    from opencode.snapshot import SnapshotError

    assert engine.snapshots is not None  # file_diff said so first
    try:
        data = await engine.snapshots.show(snapshot, file)
    except SnapshotError:
        return ""
    return data.decode("utf-8", "replace") if data is not None else ""


def file_section(diff: str, file: str) -> str:
    """The part of a multi-file `git diff` about `file` (from its `diff --git` line to the next one)."""
    plain, quoted = f"diff --git a/{file} b/{file}", f'diff --git "a/{file}" "b/{file}"'
    out: list[str] = []
    taking = False
    for line in diff.splitlines(keepends=True):
        if line.startswith("diff --git "):
            taking = line.rstrip("\n") in (plain, quoted)
        if taking:
            out.append(line)
    return "".join(out)
