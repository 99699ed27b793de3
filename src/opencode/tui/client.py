"""What the terminal UI needs from an engine, as one interface: `Client`.

    client = EngineClient(engine, model="anthropic/claude-sonnet-4-5", agent="build")
    remove = client.subscribe(handler)        # every bus event, called inline: keep it cheap
    session = client.create_session()
    await client.prompt(session.id, "fix the tests")   # returns when the turn ends or is aborted
    client.abort(session.id)

`EngineClient` runs the engine in this process. A client for `opencode attach <url>` implements
the same methods over HTTP (the server's SSE stream feeds `subscribe`), so the app never knows
which one it talks to. No widget calls the engine directly.

This module imports no Textual: the engine side of the TUI can be tested and reused without it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, Protocol

if TYPE_CHECKING:
    from opencode.agent.engine import Engine
    from opencode.bus import BusEvent
    from opencode.session.model import MessageWithParts, Session

PermissionReply = Literal["once", "always", "reject"]


@dataclass(frozen=True)
class Usage:
    """A session's tokens (the last step's context: input, output and cache) and dollars spent."""

    tokens: int
    cost: float


class ClientError(Exception):
    """Something the user asked for cannot be done (nothing to undo, the session is busy); one line."""


class Client(Protocol):
    """The engine API the TUI uses; implemented in-process (`EngineClient`) and, later, over HTTP."""

    @property
    def directory(self) -> str: ...

    def subscribe(self, handler: Callable[[BusEvent], None]) -> Callable[[], None]:
        """Call `handler` with every event (in the app's event loop); returns the function that stops it."""
        ...

    def create_session(self) -> Session: ...

    def list_sessions(self, limit: int = 50) -> list[Session]: ...

    def get_session(self, session_id: str) -> Session: ...

    def messages(self, session_id: str) -> list[MessageWithParts]:
        """The session's visible messages (those an undo hides left out), oldest first."""
        ...

    def model_ref(self, session_id: str | None = None) -> str:
        """`provider/model` the next prompt uses."""
        ...

    def agent_name(self, session_id: str | None = None) -> str:
        """The agent the next prompt runs as."""
        ...

    def usage(self, session_id: str) -> Usage: ...

    def busy(self, session_id: str) -> bool: ...

    async def prompt(self, session_id: str, text: str) -> None:
        """One turn; returns when it ends, fails (the error is on the message) or is aborted."""
        ...

    def abort(self, session_id: str) -> bool:
        """Stop the running turn; False when none is running."""
        ...

    def reply_permission(self, request_id: str, reply: PermissionReply, message: str | None = None) -> bool: ...

    def reply_question(self, request_id: str, answers: list[list[str]]) -> bool: ...

    def reject_question(self, request_id: str) -> bool: ...

    async def undo(self, session_id: str) -> Session:
        """Revert the last visible user message and what followed it (files and messages)."""
        ...

    async def redo(self, session_id: str) -> Session:
        """Bring back what the last undo hid."""
        ...

    async def close(self) -> None: ...


class EngineClient:
    """`Client` over an `Engine` in this process (built with `interactive=True`, so asks wait for replies)."""

    def __init__(self, engine: Engine, *, model: str | None = None, agent: str | None = None) -> None:
        self.engine = engine
        self.model = model
        self.agent = agent
        self._runs: dict[str, asyncio.Task[object]] = {}
        self._aborts: dict[str, asyncio.Event] = {}

    @property
    def directory(self) -> str:
        return str(self.engine.cwd)

    def subscribe(self, handler: Callable[[BusEvent], None]) -> Callable[[], None]:
        return self.engine.bus.on(handler)

    def create_session(self) -> Session:
        return self.engine.create_session()

    def list_sessions(self, limit: int = 50) -> list[Session]:
        return self.engine.store.list_sessions(limit=limit, directory=str(self.engine.cwd), roots=True)

    def get_session(self, session_id: str) -> Session:
        return self.engine.store.get_session(session_id)

    def messages(self, session_id: str) -> list[MessageWithParts]:
        from opencode.session.revert import visible_messages

        return visible_messages(self.engine.store, self.engine.store.get_session(session_id))

    def agent_name(self, session_id: str | None = None) -> str:
        if self.agent:
            return self.agent
        current = self.engine.current_agent(session_id) if session_id else None
        return current or self.engine.default_agent()

    def model_ref(self, session_id: str | None = None) -> str:
        try:
            return self.engine.resolve_model(self.model, self.agent_name(session_id)).ref
        except Exception as exc:  # no model configured: say so on the status line rather than fail
            return f"(no model: {exc})"

    def usage(self, session_id: str) -> Usage:
        from opencode.session.model import AssistantMessage

        tokens = 0
        for item in reversed(self.engine.store.list_messages(session_id)):
            info = item.info
            if isinstance(info, AssistantMessage) and info.tokens.total:
                tokens = info.tokens.total  # the last step's request covers the whole context so far
                break
        return Usage(tokens=tokens, cost=self.engine.session_cost(session_id))

    def busy(self, session_id: str) -> bool:
        run = self._runs.get(session_id)
        return run is not None and not run.done()

    async def prompt(self, session_id: str, text: str) -> None:
        if self.busy(session_id):
            raise ClientError("a turn is already running in this session: wait, or press Esc to stop it")
        abort = asyncio.Event()
        agent = self.agent_name(session_id)
        run = asyncio.ensure_future(self.engine.prompt(session_id, text, model=self.model, agent=agent, abort=abort))
        self._runs[session_id] = run
        self._aborts[session_id] = abort
        try:
            await asyncio.shield(run)
        except asyncio.CancelledError:
            if not run.done():  # the caller was cancelled (the app is closing): stop the turn with it
                run.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await run
                raise
            if not run.cancelled():
                raise
            # Aborted by the user: the engine marked the message aborted.
        finally:
            if self._runs.get(session_id) is run:
                del self._runs[session_id]
                del self._aborts[session_id]

    def abort(self, session_id: str) -> bool:
        run = self._runs.get(session_id)
        if run is None or run.done():
            return False
        # The event stops running tools (bash kills its process group); the cancel ends a stalled stream.
        self._aborts[session_id].set()
        run.cancel()
        return True

    def reply_permission(self, request_id: str, reply: PermissionReply, message: str | None = None) -> bool:
        return self.engine.permissions.reply(request_id, reply, message)

    def reply_question(self, request_id: str, answers: list[list[str]]) -> bool:
        return self.engine.reply_question(request_id, answers)

    def reject_question(self, request_id: str) -> bool:
        return self.engine.reject_question(request_id)

    async def undo(self, session_id: str) -> Session:
        from opencode.session.model import TextPart, UserMessage
        from opencode.session.revert import RevertError

        if self.busy(session_id):
            raise ClientError("cannot undo while a turn is running: press Esc to stop it first")
        users = [
            m
            for m in self.messages(session_id)
            if isinstance(m.info, UserMessage) and not all(isinstance(p, TextPart) and p.synthetic for p in m.parts)
        ]
        if not users:
            raise ClientError("nothing to undo")
        try:
            return await self.engine.revert(session_id, users[-1].info.id)
        except RevertError as exc:
            raise ClientError(str(exc)) from None

    async def redo(self, session_id: str) -> Session:
        from opencode.session.revert import RevertError

        if self.busy(session_id):
            raise ClientError("cannot redo while a turn is running")
        if self.get_session(session_id).revert is None:
            raise ClientError("nothing to redo")
        try:
            return await self.engine.unrevert(session_id)
        except RevertError as exc:
            raise ClientError(str(exc)) from None

    async def close(self) -> None:
        for session_id in list(self._runs):
            self.abort(session_id)
        runs = [run for run in self._runs.values() if not run.done()]
        if runs:
            await asyncio.wait(runs, timeout=3)
        await self.engine.drain()
