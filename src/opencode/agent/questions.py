"""Questions for the user (the `question` and `plan_exit` tools): ask through a face and wait.

    service = QuestionService(bus, interactive=True)       # a face will call reply() / reject()
    answers = await service.ask(session_id, questions)       # [["Postgres"], ["tests", "docs"]]

The flow mirrors the permission service's: `ask` publishes `question.asked` and waits for
`reply(request_id, answers)` (publishes `question.replied`) or `reject(request_id)` (publishes
`question.rejected`) from a face, or for the `prompt` callback (the CLI's terminal prompt). With
neither, nobody can answer and `ask` raises `NoAnswer` at once, publishing nothing. A run that is
aborted rejects the session's pending questions (`reject_session`); a waiting `ask` that is
cancelled withdraws its question the same way.

    QuestionError
     +-- NoAnswer     nobody can answer questions in this session
     +-- Dismissed    the user (or an abort) rejected the question
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from opencode import id as ids
from opencode.bus import Bus, QuestionAsked, QuestionInfo, QuestionRejected, QuestionReplied, ToolRef

QuestionPrompt = Callable[[QuestionAsked], Awaitable["list[list[str]] | None"]]
"""Answers a question at the terminal: the answers, or None when the user dismissed it."""


class QuestionError(Exception):
    pass


class NoAnswer(QuestionError):
    """No face and no prompt: the question cannot be put to anyone."""


class Dismissed(QuestionError):
    """The user rejected the question, or the run was aborted while it waited."""


@dataclass
class _Pending:
    info: QuestionAsked
    future: asyncio.Future[list[list[str]] | None]


class QuestionService:
    def __init__(self, bus: Bus, *, prompt: QuestionPrompt | None = None, interactive: bool = False) -> None:
        self.bus = bus
        self.prompt = prompt
        self.interactive = interactive
        """True when a face will answer with `reply()` / `reject()`."""
        self._pending: dict[str, _Pending] = {}

    @property
    def answerable(self) -> bool:
        return self.prompt is not None or self.interactive

    async def ask(
        self, session_id: str, questions: list[QuestionInfo], *, tool: ToolRef | None = None
    ) -> list[list[str]]:
        """The answers, one list per question; raises NoAnswer or Dismissed."""
        if not self.answerable:
            raise NoAnswer("nobody can answer questions in this session")
        info = QuestionAsked(id=ids.ascending("que"), sessionID=session_id, questions=questions, tool=tool)
        future: asyncio.Future[list[list[str]] | None] = asyncio.get_running_loop().create_future()
        self._pending[info.id] = _Pending(info, future)
        try:
            self.bus.publish(info)
            if self.prompt is not None:
                try:
                    answers = await self.prompt(info)
                except EOFError:
                    answers = None
                if answers is None:
                    self.reject(info.id)
                else:
                    self.reply(info.id, answers)
            answered = await future
        finally:
            if self._pending.pop(info.id, None) is not None:
                # Cancelled while waiting: tell the faces the question is gone.
                self.bus.publish(QuestionRejected(sessionID=session_id, requestID=info.id))
        if answered is None:
            raise Dismissed("the user dismissed the question")
        return answered

    def reply(self, request_id: str, answers: list[list[str]]) -> bool:
        """A face's answers to a pending question; False when no such question is pending."""
        pending = self._pending.pop(request_id, None)
        if pending is None:
            return False
        # One answer per question, in order; a missing answer is an empty one.
        count = len(pending.info.questions)
        answers = [list(a) for a in answers[:count]] + [[] for _ in range(count - len(answers))]
        self.bus.publish(QuestionReplied(sessionID=pending.info.sessionID, requestID=request_id, answers=answers))
        if not pending.future.done():
            pending.future.set_result(answers)
        return True

    def reject(self, request_id: str) -> bool:
        """The user dismissed the question; False when no such question is pending."""
        pending = self._pending.pop(request_id, None)
        if pending is None:
            return False
        self.bus.publish(QuestionRejected(sessionID=pending.info.sessionID, requestID=request_id))
        if not pending.future.done():
            pending.future.set_result(None)
        return True

    def pending(self, session_id: str | None = None) -> list[QuestionAsked]:
        return [p.info for p in self._pending.values() if session_id is None or p.info.sessionID == session_id]

    def reject_session(self, session_id: str) -> int:
        """Reject every pending question of the session (the run was aborted); returns how many."""
        waiting = [p.info.id for p in self._pending.values() if p.info.sessionID == session_id]
        for request_id in waiting:
            self.reject(request_id)
        return len(waiting)
