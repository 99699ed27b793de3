"""Health, the event streams and the server's log endpoint (opencode's `global` and `event` groups)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel
from starlette.responses import JSONResponse

from opencode import __version__
from opencode.server.errors import read_body
from opencode.server.events import event_stream, global_event_stream
from opencode.server.openapi import api, document

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.responses import Response


class Health(BaseModel):
    healthy: bool
    version: str


async def health(request: Request) -> Response:
    """Whether the server is up, and its version."""
    return JSONResponse({"healthy": True, "version": __version__})


async def doc(request: Request) -> Response:
    """This server's OpenAPI 3.1 document."""
    return JSONResponse(document(__version__))


class LogBody(BaseModel):
    service: str
    level: Literal["debug", "info", "error", "warn"]
    message: str
    extra: dict[str, object] | None = None


LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warn": logging.WARNING, "error": logging.ERROR}


async def write_log(request: Request) -> Response:
    """POST /log: a client's log line, written to the server's log under `opencode.client.<service>`."""
    body = await read_body(request, LogBody)
    extra = f" {body.extra}" if body.extra else ""
    logging.getLogger(f"opencode.client.{body.service}").log(LEVELS[body.level], "%s%s", body.message, extra)
    return JSONResponse(True)


routes = [
    api("GET", "/global/health", health, "global.health", response=Health),
    api("GET", "/doc", doc, "app.doc", response=dict[str, object]),
    api("GET", "/event", event_stream, "event.subscribe", response="text/event-stream", summary="Bus events (SSE)"),
    api(
        "GET",
        "/global/event",
        global_event_stream,
        "global.event",
        response="text/event-stream",
        summary="Bus events with their directory (SSE)",
    ),
    api("POST", "/log", write_log, "app.log", body=LogBody, response=bool),
]
