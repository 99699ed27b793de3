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
    from opencode.agent.commands import Command
    from opencode.agent.engine import Engine
    from opencode.session.model import MessageWithParts, Part, Session
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


def find_command(engine: Engine, name: str) -> Command:
    """The custom (or built-in) command `name`; ActionError naming the known ones when there is none."""
    from opencode.agent.agents import AgentError
    from opencode.agent.commands import load_commands

    try:
        commands = load_commands(engine.config, engine.cwd, engine.root)
    except AgentError as exc:
        raise ActionError(f"a command file is broken: {exc}") from None
    found = commands.get(name)
    if found is None and ":" in name:  # `/server:prompt`: an MCP server's prompt
        from opencode.agent.commands import mcp_commands

        found = mcp_commands(engine).get(name)
    if found is None:
        known = ", ".join(sorted(commands)) or "none; they live in .opencode/command/NAME.md"
        raise ActionError(f"no command /{name} (known: {known})")
    return found


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
        session = engine.clear_revert(session.id)
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


# --- what the server's session routes share with other faces ------------------------------------


def busy_sessions(engine: Engine) -> list[str]:
    """Sessions running a turn now: a face's job, or the engine's own (a subagent's child session)."""
    candidates = dict.fromkeys([*engine.jobs.running(), *engine.sessions])
    return [session_id for session_id in candidates if engine.jobs.busy(session_id)]


def session_statuses(engine: Engine) -> dict[str, dict[str, Any]]:
    """Each running session's status as opencode's `SessionStatus`: busy, or retry (attempt, message,
    next) while a rate-limited or failed request waits for its next try; idle sessions left out."""
    from opencode.session.model import now_ms

    out: dict[str, dict[str, Any]] = {}
    for session_id in busy_sessions(engine):
        status = engine.statuses.get(session_id)
        if status is not None and status.type == "retry" and (status.next or 0) > now_ms():
            out[session_id] = status.model_dump(exclude_none=True)
        else:
            out[session_id] = {"type": "busy"}
    return out


async def command_turn(
    engine: Engine,
    session_id: str,
    name: str,
    arguments: str,
    *,
    agent: str,
    model: str | None,
    abort: asyncio.Event,
    files: list[Attachment] | None = None,
    inline: list[str] | None = None,
) -> Any:
    """`/name arguments`: the custom command's template expanded (its agent and model apply), then one turn
    with `files` attached and `inline` (text files' contents) after the text.

    The built-in `init` writes or improves AGENTS.md (the TUI's `/init`, POST /session/{id}/init)."""
    from opencode.agent.commands import expand
    from opencode.tool.tool import SubagentCall

    if ":" in name and engine.mcp is not None:
        await engine.mcp.wait_ready()  # the MCP servers' prompts are commands once they are connected
    found = find_command(engine, name)
    if found.source.startswith("mcp:"):
        text = with_inlined(await mcp_prompt(engine, name, arguments), inline or [])
    else:
        text = with_inlined(await expand(found, arguments, cwd=engine.cwd), inline or [])
    if found.runs_as_subtask(engine.agents.get(found.agent) if found.agent else None):
        # `subtask: true` (or a subagent's command): the task runs in a child session, the parent summarizes.
        call = SubagentCall(agent=found.agent or "general", prompt=text, description=found.description or f"/{name}")
        shown = f"/{name} {arguments}".strip()
        return await engine.subtask(session_id, shown, call, model=model, agent=agent, abort=abort)
    return await engine.prompt(
        session_id, text, files=files, model=found.model or model, agent=found.agent or agent, abort=abort
    )


async def mcp_prompt(engine: Engine, name: str, arguments: str) -> str:
    """The text of the MCP prompt `server:prompt`, its arguments split as a command's are."""
    from opencode.agent.commands import split_arguments
    from opencode.tool.tool import ToolError

    if engine.mcp is None:
        raise ActionError(f"no MCP server is configured for /{name}")
    try:
        return await engine.mcp.get_prompt(name, split_arguments(arguments))
    except ToolError as exc:
        raise ActionError(str(exc)) from None
    except Exception as exc:  # the server's error
        raise ActionError(f"/{name} failed: {exc}") from None


def add_message(
    engine: Engine, session_id: str, text: str | list[str], files: list[Attachment], *, agent: str, model: str | None
) -> MessageWithParts:
    """A user message stored without a turn (opencode's `noReply`): the model sees it with the next prompt."""

    if engine.jobs.busy(session_id):
        raise ActionError("a turn is running in this session: wait for it, or abort it")
    try:
        resolved = engine.resolve_model(model, agent)
    except Exception as exc:  # the message records a model; without one there is no conversation to add to
        raise ActionError(str(exc)) from None
    session = get_session(engine, session_id)
    if session.revert is not None:
        session = engine.clear_revert(session.id)
    message = engine.add_user_message(session, text, files, resolved, agent)
    engine.touch(session)
    return engine.store.get_message(session_id, message.id)


def set_archived(engine: Engine, session_id: str, archived: int | None) -> Session:
    """Archive a session at `archived` (epoch ms), or bring it back with None."""
    session = get_session(engine, session_id)
    session.time.archived = archived or None
    engine.touch(session)
    return session


def fork_session(engine: Engine, session_id: str, message_id: str | None = None) -> Session:
    """A new session with a copy of this one's messages before `message_id` (all of them without one)."""
    from opencode import id as ids
    from opencode.bus import MessageUpdated
    from opencode.session.model import AssistantMessage

    source = get_session(engine, session_id)
    messages = visible(engine, session_id)
    if message_id is not None and all(m.info.id != message_id for m in messages):
        raise ActionError(f"message {message_id} is not in session {session_id}")
    forks = sum(1 for s in engine.store.list_sessions(directory=source.directory) if s.title.startswith(source.title))
    session = engine.create_session(title=f"{source.title} (fork #{forks})", parent_id=None)
    renamed: dict[str, str] = {}
    for message in messages:
        if message.info.id == message_id:
            break
        new_id = ids.ascending("msg")
        renamed[message.info.id] = new_id
        update: dict[str, object] = {"id": new_id, "sessionID": session.id}
        if isinstance(message.info, AssistantMessage):
            update["parentID"] = renamed.get(message.info.parentID, message.info.parentID)
        info = message.info.model_copy(update=update, deep=True)
        engine.store.put_message(info)
        for part in message.parts:
            engine.store.put_part(
                part.model_copy(
                    update={"id": ids.ascending("prt"), "sessionID": session.id, "messageID": new_id}, deep=True
                )
            )
        engine.bus.publish(MessageUpdated(info=info))
    return session


def delete_message(engine: Engine, session_id: str, message_id: str) -> None:
    """Remove one message and its parts (its file changes stay); published as `message.removed`."""
    from opencode.bus import MessageRemoved
    from opencode.session.store import NotFound

    if engine.jobs.busy(session_id):
        raise ActionError("a turn is running in this session: abort it before deleting messages")
    try:
        engine.store.get_message(session_id, message_id)
    except NotFound:
        raise ActionError(f"no message {message_id} in session {session_id}") from None
    engine.store.delete_message(session_id, message_id)
    engine.bus.publish(MessageRemoved(sessionID=session_id, messageID=message_id))


def delete_part(engine: Engine, session_id: str, message_id: str, part_id: str) -> None:
    from opencode.bus import PartRemoved
    from opencode.session.store import NotFound

    try:
        message = engine.store.get_message(session_id, message_id)
    except NotFound:
        raise ActionError(f"no message {message_id} in session {session_id}") from None
    if all(part.id != part_id for part in message.parts):
        raise ActionError(f"no part {part_id} in message {message_id}")
    engine.store.delete_part(session_id, message_id, part_id)
    engine.bus.publish(PartRemoved(sessionID=session_id, messageID=message_id, partID=part_id))


def update_part(engine: Engine, part: Part) -> Part:
    """Replace a stored part with `part` (same id, message and session); published as `message.part.updated`."""
    from opencode.bus import PartUpdated
    from opencode.session.store import NotFound

    try:
        message = engine.store.get_message(part.sessionID, part.messageID)
    except NotFound:
        raise ActionError(f"no message {part.messageID} in session {part.sessionID}") from None
    if all(existing.id != part.id for existing in message.parts):
        raise ActionError(f"no part {part.id} in message {part.messageID}")
    engine.store.put_part(part)
    engine.bus.publish(PartUpdated(part=part))
    return part


async def message_diffs(engine: Engine, session_id: str, message_id: str) -> list[FileDiff]:
    """The files the turn answering user message `message_id` changed: each before the turn's first change
    to it and at the turn's end (GET /session/{id}/diff?messageID=...)."""
    from opencode.session.model import AssistantMessage, PatchPart, StepFinishPart
    from opencode.snapshot import SnapshotError

    messages = visible(engine, session_id)
    if all(m.info.id != message_id for m in messages):
        raise ActionError(f"message {message_id} is not in session {session_id}")
    first: dict[str, str] = {}
    end: str | None = None
    for message in messages:
        if not isinstance(message.info, AssistantMessage) or message.info.parentID != message_id:
            continue
        for part in message.parts:
            if isinstance(part, PatchPart):
                for file in part.files:
                    first.setdefault(file, part.hash)
            elif isinstance(part, StepFinishPart) and part.snapshot:
                end = part.snapshot
    if first and engine.snapshots is None:
        raise ActionError("snapshots are off (`snapshot: false` in config), so there is no diff to show")
    diffs: list[FileDiff] = []
    for file, start in first.items():
        assert engine.snapshots is not None
        try:
            patch = file_section(await engine.snapshots.diff(start, end), file)
        except SnapshotError as exc:
            raise ActionError(f"cannot compute the diff of {file}: {exc}") from None
        before = await _file_at(engine, start, file)
        if end is not None:
            after = await _file_at(engine, end, file)
        else:
            path = engine.root / file
            after = path.read_text(errors="replace") if path.is_file() else ""
        lines = patch.splitlines()
        added = sum(1 for line in lines if line.startswith("+") and not line.startswith("+++"))
        removed = sum(1 for line in lines if line.startswith("-") and not line.startswith("---"))
        diffs.append(FileDiff(file=file, before=before, after=after, additions=added, deletions=removed, patch=patch))
    return diffs
