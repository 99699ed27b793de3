"""Background subagent runs: `task` with `background: true`, then its status, wait and cancel actions.

A background run is a child session whose prompt runs as an asyncio task beside the parent's
loop, with its own abort signal. Its events reach the faces on the same bus and its cost counts
in the parent's (`Engine.session_cost` walks child sessions), exactly as for a subagent the
parent waits for.

Lifetime: a background run belongs to the parent's turn. When the parent's `prompt` ends (final
answer, step limit, error or abort), the runs it started that are still going are cancelled
through the engine's abort path (their running tools are stopped, the child's message is marked
aborted) and their status becomes "cancelled"; nothing outlives the turn silently. The model is
told this in the tool's description, so it collects results (`wait`) before it answers.

Records of finished runs stay in memory for status queries; after a restart, the status of a
child session is read back from the store.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from opencode.session.model import AssistantMessage, TextPart
from opencode.tool.tool import Aborted, SubagentStatus, ToolError

if TYPE_CHECKING:
    from opencode.session.store import Store

log = logging.getLogger("opencode.agent")

STOP_GRACE_S = 0.5
"""How long a cancelled run may take to stop on its abort signal before its task is cancelled."""
STOP_TIMEOUT_S = 10.0
TURN_ENDED = "cancelled: the parent's turn ended before it finished"


@dataclass
class BackgroundRun:
    session_id: str
    parent_id: str
    agent: str
    description: str
    abort: asyncio.Event
    task: asyncio.Task[Any]
    started: float
    cancelled: str | None = None
    """Why it was cancelled, if it was."""


class BackgroundRuns:
    def __init__(self, store: Store, cost: Callable[[str], float]) -> None:
        self.store = store
        self.cost = cost
        self.runs: dict[str, BackgroundRun] = {}

    def start(
        self,
        *,
        parent_id: str,
        session_id: str,
        agent: str,
        description: str,
        run: Callable[[asyncio.Event], Coroutine[Any, Any, Any]],
    ) -> BackgroundRun:
        """Start `run(abort)` (the child's prompt) as a task; returns its record at once."""
        abort = asyncio.Event()
        task = asyncio.create_task(run(abort), name=f"background {agent} {session_id}")
        record = BackgroundRun(session_id, parent_id, agent, description, abort, task, time.monotonic())
        self.runs[session_id] = record
        task.add_done_callback(_log_failure)
        return record

    def find(self, parent_id: str, task_id: str) -> BackgroundRun | None:
        record = self.runs.get(task_id.strip())
        return record if record is not None and record.parent_id == parent_id else None

    def status(self, record: BackgroundRun) -> SubagentStatus:
        now = SubagentStatus(
            session_id=record.session_id,
            agent=record.agent,
            description=record.description,
            status="running",
            cost=self.cost(record.session_id),
            elapsed=time.monotonic() - record.started,
        )
        task = record.task
        if not task.done():
            return now
        if record.cancelled is not None or task.cancelled():
            return replace(now, status="cancelled", error=record.cancelled or "cancelled")
        failure = task.exception()
        if failure is not None:
            return replace(now, status="error", error=f"{type(failure).__name__}: {failure}")
        result = task.result()
        if result.message.error is not None:
            return replace(now, status="error", error=result.message.error.message)
        return replace(now, status="completed", text=result.text)

    async def lookup(self, parent_id: str, task_id: str, *, wait: bool, abort: asyncio.Event) -> SubagentStatus:
        """A run's status; with `wait`, once it has finished (or `abort` is set: raises Aborted)."""
        record = self.find(parent_id, task_id)
        if record is None:
            return self.stored(parent_id, task_id)
        if wait and not record.task.done():
            aborted = asyncio.ensure_future(abort.wait())
            try:
                await asyncio.wait({record.task, aborted}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                aborted.cancel()
            if not record.task.done():
                raise Aborted("aborted while waiting for the background task")
        return self.status(record)

    async def cancel(self, record: BackgroundRun, reason: str = "cancelled by the model") -> SubagentStatus:
        """Abort the run the way a user's abort does, and wait (bounded) until it has stopped."""
        if not record.task.done():
            record.cancelled = reason
            record.abort.set()  # tools (bash) see it and stop their processes
            await asyncio.wait({record.task}, timeout=STOP_GRACE_S)
            if not record.task.done():
                record.task.cancel()  # a request still waiting for the model's first byte
                await asyncio.wait({record.task}, timeout=STOP_TIMEOUT_S)
        return self.status(record)

    async def end_turn(self, parent_id: str) -> list[str]:
        """Cancel the parent's runs that are still going (its turn ended); returns their session ids."""
        running = [r for r in self.runs.values() if r.parent_id == parent_id and not r.task.done()]
        if running:
            log.info("cancelling %d background task(s) of %s: its turn ended", len(running), parent_id)
            await asyncio.gather(*(self.cancel(r, TURN_ENDED) for r in running))
        return [r.session_id for r in running]

    def stored(self, parent_id: str, task_id: str) -> SubagentStatus:
        """A child session this process did not start (or no longer holds): its status from the store."""
        from opencode.session.store import NotFound

        try:
            session = self.store.get_session(task_id.strip())
        except NotFound:
            session = None
        if session is None or session.parentID != parent_id:
            raise ToolError(
                f"no background task {task_id!r} in this session; use the session_id that task returned when it started"
            )
        last = next(
            (m for m in reversed(self.store.list_messages(session.id)) if isinstance(m.info, AssistantMessage)), None
        )
        found = SubagentStatus(
            session_id=session.id, agent="", description=session.title, status="error", cost=self.cost(session.id)
        )
        if last is None or not isinstance(last.info, AssistantMessage) or last.info.time.completed is None:
            return replace(found, error="it did not finish (interrupted)")
        found.agent = last.info.agent
        if last.info.error is not None:
            if last.info.error.name == "MessageAbortedError":
                return replace(found, status="cancelled", error=last.info.error.message)
            return replace(found, error=last.info.error.message)
        text = "".join(p.text for p in last.parts if isinstance(p, TextPart) and not p.synthetic)
        return replace(found, status="completed", text=text)


def _log_failure(task: asyncio.Task[Any]) -> None:
    with contextlib.suppress(asyncio.CancelledError):
        failure = task.exception()
        if failure is not None:
            log.warning("background task %s failed: %s", task.get_name(), failure)
