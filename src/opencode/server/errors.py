"""Errors as opencode's server sends them, `{"name": ..., "data": {"message": ...}}`, and body parsing.

    payload = await read_body(request, PromptBody)   # ApiError(400) naming the field that was wrong
    raise not_found(f"no session {session_id}")

No handler lets a traceback out: a user error is 400/404/409 with one line, a bug is 500 with one
line (the traceback goes to the log).
"""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from pydantic import BaseModel
    from starlette.requests import Request
    from starlette.responses import Response

log = logging.getLogger("opencode.server")

M = TypeVar("M", bound="BaseModel")


class ApiError(Exception):
    def __init__(self, status: int, name: str, message: str, **data: Any) -> None:
        super().__init__(message)
        self.status = status
        self.name = name
        self.data = {"message": message, **data}


def bad_request(message: str, **data: Any) -> ApiError:
    return ApiError(400, "BadRequest", message, **data)


def not_found(message: str) -> ApiError:
    return ApiError(404, "NotFoundError", message)


def conflict(message: str) -> ApiError:
    return ApiError(409, "Conflict", message)


def describe(error: Any) -> tuple[str, str]:
    """A pydantic ValidationError as (field path, one line)."""
    first = error.errors()[0]
    where = ".".join(str(p) for p in first.get("loc", ())) or "(body)"
    return where, f"{where}: {first.get('msg', 'invalid')}"


async def read_body(request: Request, model: type[M], *, empty_ok: bool = False) -> M:
    """The JSON body validated as `model`; 400 naming the field on anything wrong."""
    from pydantic import ValidationError

    from opencode.server.guard import BodyTooLarge

    try:
        raw = await request.body()
    except BodyTooLarge as exc:
        raise ApiError(413, "PayloadTooLarge", str(exc)) from None
    if not raw.strip():
        if empty_ok:
            raw = b"{}"
        else:
            raise bad_request("the request needs a JSON body")
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise bad_request(f"the body is not valid JSON: {exc}") from None
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        field, line = describe(exc)
        raise bad_request(line, field=field) from None


def query_model(request: Request, model: type[M]) -> M:
    """Query parameters validated as `model` (400 naming the parameter)."""
    from pydantic import ValidationError

    try:
        return model.model_validate(dict(request.query_params))
    except ValidationError as exc:
        field, line = describe(exc)
        raise bad_request(line, field=field) from None


def error_response(error: ApiError) -> Response:
    from starlette.responses import JSONResponse

    return JSONResponse({"name": error.name, "data": error.data}, status_code=error.status)


async def handle_api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return error_response(exc)


async def handle_http_exception(request: Request, exc: Exception) -> Response:
    from starlette.exceptions import HTTPException

    assert isinstance(exc, HTTPException)
    names = {404: "NotFoundError", 405: "MethodNotAllowed"}
    message = exc.detail if exc.status_code != 404 else f"no route {request.method} {request.url.path} (see GET /doc)"
    return error_response(ApiError(exc.status_code, names.get(exc.status_code, "HTTPError"), str(message)))


async def handle_bug(request: Request, exc: Exception) -> Response:
    from opencode.agent.actions import ActionError
    from opencode.server.guard import BodyTooLarge

    if isinstance(exc, ActionError):
        return error_response(bad_request(str(exc)))
    if isinstance(exc, BodyTooLarge):
        return error_response(ApiError(413, "PayloadTooLarge", str(exc)))
    log.exception("%s %s failed", request.method, request.url.path)
    return error_response(ApiError(500, "UnknownError", f"{type(exc).__name__}: {exc}"))
