"""One step of the loop: stream a model reply into stored parts and run the tools it asks for.

The processor owns one assistant message. It turns the provider's stream events into parts
(text, reasoning, tool) and stores each as it completes; streamed text and reasoning are flushed
to the store at least once a second, so a crash loses at most a second of text. Tool calls start
as soon as their arguments are complete and run concurrently; their results are stored on the
tool part and reach the model in call order through the stored history.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Callable, Coroutine
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from opencode import id as ids
from opencode.bus import Bus, PartUpdated, SessionStatus, SessionStatusInfo
from opencode.provider import types as pt
from opencode.provider.errors import AuthError, ProviderError
from opencode.session.model import (
    AssistantMessage,
    FilePart,
    MessageError,
    Part,
    PartTime,
    ReasoningPart,
    StepFinishPart,
    StepStartPart,
    TextPart,
    Tokens,
    ToolPart,
    ToolStateCompleted,
    ToolStateError,
    ToolStatePending,
    ToolStateRunning,
    ToolTimeRange,
    now_ms,
)
from opencode.session.model import CacheTokens as CacheTokensModel
from opencode.tool.tool import Aborted, ToolError, ToolResult

if TYPE_CHECKING:
    from opencode.session.store import Store

log = logging.getLogger("opencode.agent")

FLUSH_SECONDS = 1.0


@dataclass
class ToolCall:
    part: ToolPart
    arguments: dict[str, Any] | None
    parse_error: str | None


ToolRunner = Callable[[ToolCall], "asyncio.Future[ToolResult] | Any"]


@dataclass
class StepOutcome:
    finish: str
    tool_calls: int
    tokens: Tokens
    cost: float
    error: MessageError | None = None
    text: str = ""


@dataclass
class StepProcessor:
    store: Store
    bus: Bus
    message: AssistantMessage
    run_tool: Callable[[ToolCall], Any]
    """Coroutine function: runs one call and returns a ToolResult, raising ToolError / Aborted."""
    abort: asyncio.Event
    take_snapshot: Callable[[], Coroutine[Any, Any, str | None]] | None = None
    """Snapshots the work tree; called once, before the first tool of the step that may change files."""
    snapshot: str | None = None
    """The work tree's snapshot before this step's first change (undo goes back to it)."""
    snapshot_task: asyncio.Task[str | None] | None = None
    step_start: StepStartPart | None = None
    text_part: TextPart | None = None
    reasoning_part: ReasoningPart | None = None
    tool_parts: dict[str, ToolPart] = field(default_factory=dict)
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)
    dirty: dict[str, TextPart | ReasoningPart] = field(default_factory=dict)
    """Streamed parts changed since they were last stored; the flusher stores them every second."""

    # --- parts ----------------------------------------------------------------------------

    def new_part_id(self) -> str:
        return ids.ascending("prt")

    def save(self, part: Part, delta: str | None = None, *, store: bool = True) -> None:
        if store:
            self.store.put_part(part)
            self.dirty.pop(part.id, None)
        self.bus.publish(PartUpdated(part=part, delta=delta))

    def close_text(self) -> None:
        for part in (self.text_part, self.reasoning_part):
            if part is not None and part.time is not None:
                part.time.end = now_ms()
                self.save(part)
        self.text_part = self.reasoning_part = None

    def _stream_into(self, part: TextPart | ReasoningPart, delta: str) -> None:
        part.text += delta
        self.dirty[part.id] = part
        self.save(part, delta, store=False)

    def flush(self) -> None:
        for part in list(self.dirty.values()):
            self.store.put_part(part)
        self.dirty.clear()

    async def flusher(self) -> None:
        """Store streamed text once a second, even while the stream is silent (a crash loses <= 1 s)."""
        while True:
            await asyncio.sleep(FLUSH_SECONDS)
            self.flush()

    # --- the stream -----------------------------------------------------------------------

    async def process(self, events: AsyncIterator[pt.StreamEvent]) -> StepOutcome:
        finish = "stop"
        tokens, cost = Tokens(), 0.0
        error: MessageError | None = None
        self.save(
            StepStartPart(
                id=self.new_part_id(),
                sessionID=self.message.sessionID,
                messageID=self.message.id,
                snapshot=self.snapshot,
            )
        )
        flusher = asyncio.create_task(self.flusher())
        try:
            async for event in events:
                if self.abort.is_set():
                    raise asyncio.CancelledError
                if isinstance(event, pt.TextDelta):
                    if self.reasoning_part is not None:
                        self.close_text()
                    if self.text_part is None:
                        self.text_part = TextPart(
                            id=self.new_part_id(),
                            sessionID=self.message.sessionID,
                            messageID=self.message.id,
                            time=PartTime(),
                        )
                    self.texts.append(event.text)
                    self._stream_into(self.text_part, event.text)
                elif isinstance(event, pt.ReasoningDelta):
                    if self.reasoning_part is None:
                        self.close_text()
                        self.reasoning_part = ReasoningPart(
                            id=self.new_part_id(), sessionID=self.message.sessionID, messageID=self.message.id
                        )
                    self._stream_into(self.reasoning_part, event.text)
                elif isinstance(event, pt.ReasoningEnd):
                    part = self.reasoning_part or ReasoningPart(
                        id=self.new_part_id(), sessionID=self.message.sessionID, messageID=self.message.id
                    )
                    meta = {k: v for k, v in (("signature", event.signature), ("redacted", event.redacted)) if v}
                    part.metadata = meta or None
                    part.time.end = now_ms()
                    self.save(part)
                    self.reasoning_part = None
                elif isinstance(event, pt.ToolCallStart):
                    self.close_text()
                    self.tool_part(event.id, event.name)
                elif isinstance(event, pt.ToolCallDelta):
                    pending = self.tool_parts.get(event.id)
                    if pending is not None and isinstance(pending.state, ToolStatePending):
                        pending.state.raw += event.arguments_delta
                        self.save(pending, event.arguments_delta, store=False)
                elif isinstance(event, pt.ToolCallEnd):
                    self.close_text()
                    self.start_tool(event)
                elif isinstance(event, pt.Retrying):
                    self.publish_retry(event)
                elif isinstance(event, pt.Finish):
                    finish = event.reason
                    tokens = tokens_of(event.usage)
                    cost = event.cost
                elif isinstance(event, pt.StreamFailed):
                    error = message_error(event.error)
                    finish = "error"
        except asyncio.CancelledError:
            self.abort.set()
            self.flush()
            await self.finish_tools()
            raise
        finally:
            flusher.cancel()
        self.close_text()
        await self.finish_tools()
        if self.tool_parts and finish == "stop":
            finish = "tool_calls"  # some vendors say "stop" after tool calls
        return StepOutcome(finish, len(self.tool_parts), tokens, cost, error, "".join(self.texts))

    def publish_retry(self, event: pt.Retrying) -> None:
        message = str(event.error.summary()) if isinstance(event.error, ProviderError) else str(event.error)
        status = SessionStatusInfo(
            type="retry", attempt=event.attempt + 1, message=message, next=now_ms() + int(event.delay * 1000)
        )
        self.bus.publish(SessionStatus(sessionID=self.message.sessionID, status=status))

    # --- tools ----------------------------------------------------------------------------

    def tool_part(self, call_id: str, name: str) -> ToolPart:
        part = self.tool_parts.get(call_id)
        if part is None:
            part = ToolPart(
                id=self.new_part_id(),
                sessionID=self.message.sessionID,
                messageID=self.message.id,
                callID=call_id,
                tool=name,
            )
            self.tool_parts[call_id] = part
            self.save(part)
        return part

    def start_tool(self, event: pt.ToolCallEnd) -> None:
        part = self.tool_part(event.id, event.name)
        arguments = event.arguments
        part.state = ToolStateRunning(input=arguments if arguments is not None else {"raw": event.raw})
        self.save(part)
        call = ToolCall(part, arguments, event.error)
        self.tasks.append(asyncio.create_task(self._execute(call)))

    async def _execute(self, call: ToolCall) -> None:
        part = call.part
        running = part.state
        started = running.time.start if isinstance(running, ToolStateRunning) else now_ms()
        try:
            result: ToolResult = await self.run_tool(call)
        except Aborted:
            part.state = ToolStateError(
                input=part.state.input, error="aborted", time=ToolTimeRange(start=started, end=now_ms())
            )
        except asyncio.CancelledError:
            part.state = ToolStateError(
                input=part.state.input, error="aborted", time=ToolTimeRange(start=started, end=now_ms())
            )
            self.save(part)
            raise
        except ToolError as exc:
            part.state = ToolStateError(
                input=part.state.input, error=str(exc), time=ToolTimeRange(start=started, end=now_ms())
            )
        except Exception as exc:  # a bug in a tool must not take the session down
            log.exception("tool %s crashed", part.tool)
            part.state = ToolStateError(
                input=part.state.input,
                error=f"tool '{part.tool}' failed: {type(exc).__name__}: {exc}",
                time=ToolTimeRange(start=started, end=now_ms()),
            )
        else:
            if self.abort.is_set():
                # The tool saw the abort and stopped early (bash killed its process group): what it
                # returned is partial, and the model must not take it for a finished run.
                part.state = ToolStateError(
                    input=part.state.input,
                    error=f"aborted by the user\n{result.output}".strip(),
                    metadata=result.metadata or None,
                    time=ToolTimeRange(start=started, end=now_ms()),
                )
                self.save(part)
                return
            attachments = [
                FilePart(
                    id=self.new_part_id(),
                    sessionID=part.sessionID,
                    messageID=part.messageID,
                    mime=a.mime,
                    url=_data_url(a.mime, a.data),
                    filename=a.filename,
                )
                for a in result.attachments
            ]
            part.state = ToolStateCompleted(
                input=part.state.input,
                output=result.output,
                title=result.title,
                metadata=result.metadata,
                time=ToolTimeRange(start=started, end=now_ms()),
                attachments=attachments or None,
            )
        self.save(part)

    async def finish_tools(self) -> None:
        """Wait for the running tools; on abort they see the signal and stop (bash kills its group)."""
        if self.tasks:
            await asyncio.gather(*self.tasks, return_exceptions=True)
            self.tasks.clear()

    async def ensure_snapshot(self) -> None:
        """Snapshot before the first change of this step; concurrent callers share the one snapshot.

        Steps that only read (or only talk) cost no snapshot at all."""
        if self.take_snapshot is None:
            return
        if self.snapshot_task is None:
            self.snapshot_task = asyncio.create_task(self.take_snapshot())
        taken = await asyncio.shield(self.snapshot_task)
        if taken is not None and self.snapshot is None:
            self.snapshot = taken
            if self.step_start is not None:
                self.step_start.snapshot = taken
                self.save(self.step_start)

    async def settled_snapshot(self) -> str | None:
        """The step's snapshot once any snapshot in flight has finished (None if none was taken)."""
        if self.snapshot_task is not None:
            await self.ensure_snapshot()
        return self.snapshot

    def finalize(self, outcome: StepOutcome, *, snapshot: str | None = None) -> StepFinishPart:
        part = StepFinishPart(
            id=self.new_part_id(),
            sessionID=self.message.sessionID,
            messageID=self.message.id,
            snapshot=snapshot,
            reason=outcome.finish,
            cost=outcome.cost,
            tokens=outcome.tokens,
        )
        self.save(part)
        return part


def tokens_of(usage: pt.Usage) -> Tokens:
    return Tokens(
        input=usage.input,
        output=usage.output,
        reasoning=usage.reasoning,
        cache=CacheTokensModel(read=usage.cache_read, write=usage.cache_write),
    )


def message_error(error: Exception) -> MessageError:
    """opencode's error names, so its clients recognise them."""
    text = str(error)
    if isinstance(error, AuthError):
        return MessageError(name="ProviderAuthError", data={"providerID": error.provider, "message": text})
    if isinstance(error, ProviderError):
        data: dict[str, Any] = {"message": text, "isRetryable": error.retryable}
        if error.status is not None:
            data["statusCode"] = error.status
        return MessageError(name="APIError", data=data)
    return MessageError(name="UnknownError", data={"message": text})


def _data_url(mime: str, data: bytes) -> str:
    from opencode.session.convert import data_url

    return data_url(mime, data)


def call_signature(part: ToolPart) -> str:
    return part.tool + ":" + json.dumps(part.state.input, sort_keys=True)
