"""`/ws`: the event stream over a WebSocket, with prompts and aborts going the other way.

    ws://127.0.0.1:4096/ws                      every event of this instance
    ws://127.0.0.1:4096/ws?sessionID=ses_...    only that session's events
    ...&auth_token=PASSWORD                     when the server has a password (a browser cannot set headers)

Server to client, one JSON object per text frame:
- every bus event exactly as `GET /event` sends it (`{"id", "type", "properties"}`), the first one
  `server.connected`; streamed text as `message.part.delta`;
- replies to the client's messages, in order with the events: `{"type": "prompt.accepted",
  "sessionID"}` once a turn started (its events follow), `{"type": "abort.accepted", "sessionID",
  "aborted": bool}`, and `{"type": "error", "message", "sessionID"?}` for a message that could not be
  used, or a turn that failed outside the model's answer. A client's `requestID`, if it sent one,
  comes back in the reply.

Client to server, one JSON object per text frame:
- `{"type": "prompt", "sessionID", "parts": [{"type": "text", "text"}, ...], "model"?, "agent"?}`
  starts a turn, as `POST /session/{id}/prompt_async` does (the same parts: text, file, agent;
  `model` is opencode's `{"providerID", "modelID"}` or "provider/model");
- `{"type": "abort", "sessionID"}` aborts the session's turn.

A bad frame (not JSON, binary, an unknown type, a missing field, a busy session) gets an error
frame and the socket stays open. A client that stops reading is dropped like an SSE one (closed
with code 1008). Host, Origin and the password are checked by the Guard before this runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket

from opencode.server.errors import ApiError, describe
from opencode.server.events import Hub, Listener, Wire, connected
from opencode.server.openapi import api
from opencode.server.routes.message import (
    PartInput,
    PromptBody,
    agent_for,
    check_model,
    prompt_content,
    report_failure,
    session_or_404,
    start_job,
    turn_of,
)

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.responses import Response

    from opencode.agent.engine import Engine

log = logging.getLogger("opencode.server")

MAX_FRAME = 4 * 1024 * 1024
"""Largest client message read (a prompt with inlined files); bigger ones get an error frame."""


class _In(BaseModel):
    model_config = ConfigDict(extra="ignore")
    requestID: str | None = None


class ModelRef(BaseModel):
    providerID: str
    modelID: str


class PromptMessage(_In):
    type: Literal["prompt"]
    sessionID: str
    parts: list[PartInput] = Field(min_length=1)
    model: ModelRef | str | None = None
    agent: str | None = None


class AbortMessage(_In):
    type: Literal["abort"]
    sessionID: str


ClientMessage: TypeAdapter[PromptMessage | AbortMessage] = TypeAdapter(
    Annotated[PromptMessage | AbortMessage, Field(discriminator="type")]
)
KNOWN = "prompt, abort"


def reply(kind: str, request_id: str | None = None, **fields: Any) -> Wire:
    data: dict[str, Any] = {"type": kind, **{k: v for k, v in fields.items() if v is not None}}
    if request_id is not None:
        data["requestID"] = request_id
    return Wire(data)


def error(message: str, request_id: str | None = None, session_id: str | None = None) -> Wire:
    return reply("error", request_id, message=message, sessionID=session_id)


def parse(raw: str) -> PromptMessage | AbortMessage:
    """A client message, or ValueError with one line saying what is wrong."""
    try:
        data = json.loads(raw)
    except ValueError as exc:
        raise ValueError(f"the frame is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ValueError('a message is a JSON object: {"type": "prompt" | "abort", ...}')
    if data.get("type") not in ("prompt", "abort"):
        raise ValueError(f"unknown message type {data.get('type')!r} (known: {KNOWN})")
    try:
        return ClientMessage.validate_python(data)
    except ValidationError as exc:
        _, line = describe(exc)
        raise ValueError(line.removeprefix(f"{data['type']}.")) from None


def start_prompt(engine: Engine, message: PromptMessage, listener: Listener) -> None:
    """Start the turn as the session's job (as prompt_async does); ApiError / ActionError on bad input."""
    session_id = message.sessionID
    session_or_404(engine, session_id)
    agent = agent_for(engine, session_id, message.agent)
    choice = message.model
    model = f"{choice.providerID}/{choice.modelID}" if isinstance(choice, ModelRef) else choice
    check_model(engine, model, agent)
    text, files = prompt_content(engine, message.parts)
    body = PromptBody.model_construct(parts=message.parts, system=None, tools=None)
    task = start_job(engine, session_id, turn_of(engine, session_id, body, agent, model, text, files))
    listener.reply(reply("prompt.accepted", message.requestID, sessionID=session_id))

    def ended(done: asyncio.Task[Any]) -> None:
        report_failure(engine, session_id, done)  # session.error for every client
        if not done.cancelled() and done.exception() is not None:
            listener.reply(error(f"the turn failed: {done.exception()}", message.requestID, session_id))

    task.add_done_callback(ended)


def handle(engine: Engine, raw: str, listener: Listener) -> None:
    """One client message: its reply (or error) goes into this client's queue, after the events so far."""
    from opencode.agent.actions import ActionError

    try:
        message = parse(raw)
    except ValueError as exc:
        listener.reply(error(str(exc)))
        return
    try:
        if isinstance(message, PromptMessage):
            start_prompt(engine, message, listener)
        else:
            aborted = engine.jobs.abort(message.sessionID)
            listener.reply(reply("abort.accepted", message.requestID, sessionID=message.sessionID, aborted=aborted))
    except (ApiError, ActionError) as exc:
        listener.reply(error(str(exc), message.requestID, message.sessionID))
    except Exception as exc:  # a bug: one line for the client, the traceback for the log
        log.exception("/ws message failed")
        listener.reply(error(f"{type(exc).__name__}: {exc}", message.requestID, message.sessionID))


async def _write(websocket: WebSocket, listener: Listener) -> None:
    await websocket.send_text(connected().text)
    while True:
        batch = await listener.take()  # no heartbeat of ours: uvicorn pings the socket every 20 s
        if batch is None:
            return
        for item in batch:
            await websocket.send_text(item.text)


async def _read(websocket: WebSocket, engine: Engine, listener: Listener) -> None:
    while True:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            return
        text = message.get("text")
        if text is None:
            listener.reply(error("binary frames are not understood; send JSON in text frames"))
        elif len(text) > MAX_FRAME:
            listener.reply(error(f"a message may be at most {MAX_FRAME // (1024 * 1024)} MiB"))
        else:
            handle(engine, text, listener)


async def websocket_endpoint(websocket: WebSocket) -> None:
    """/ws: events out, prompts and aborts in."""
    hub: Hub = websocket.app.state.hub
    engine: Engine = websocket.app.state.engine
    session_id = websocket.query_params.get("sessionID") or None
    await websocket.accept()
    with hub.listen(session_id=session_id) as listener:
        writer = asyncio.ensure_future(_write(websocket, listener))
        listener.on_drop = writer.cancel
        reader = asyncio.ensure_future(_read(websocket, engine, listener))
        try:
            await asyncio.wait({writer, reader}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            writer.cancel()
            reader.cancel()
            await asyncio.gather(writer, reader, return_exceptions=True)
        if not (listener.dropped or hub.stopped):
            return  # the client went away
        code, why = (1008, "too far behind: read faster") if listener.dropped else (1001, "server shutting down")
        with contextlib.suppress(Exception):
            await asyncio.wait_for(websocket.close(code=code, reason=why), 1.0)


async def upgrade_required(request: Request) -> Response:
    """/ws is a WebSocket: connect with one (JSON text frames; see opencode.server.routes.ws)."""
    from starlette.responses import JSONResponse

    message = "GET /ws needs a WebSocket upgrade: connect with ws://.../ws (events out, prompts and aborts in)"
    return JSONResponse({"name": "UpgradeRequired", "data": {"message": message}}, status_code=426)


routes = [
    api(
        "GET",
        "/ws",
        upgrade_required,
        "event.websocket",
        response=dict[str, object],
        summary="Bus events over a WebSocket (JSON text frames), prompts and aborts from the client",
    ),
    WebSocketRoute("/ws", websocket_endpoint),
]
