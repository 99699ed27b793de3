"""Sessions (list, create, get, update, delete, children, status, todos, diffs), what is done to one (abort,
revert, unrevert, summarize, init, fork), and the answers a running turn waits for: permissions and questions.

    GET  /session?roots=true&search=fix&limit=20    newest updated first, this project's sessions
    POST /session/{sessionID}/abort                 stops the running turn (any face's)
    POST /permission/{requestID}/reply              {"reply": "once" | "always" | "reject", "message"?}
    POST /question/{requestID}/reply                {"answers": [["Postgres"], ["tests", "docs"]]}

Prompts, commands, `!shell` and the stored messages are in `routes/message.py`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, Field
from starlette.responses import JSONResponse

from opencode.bus import PermissionAsked, QuestionAsked
from opencode.server.app import engine_of
from opencode.server.errors import bad_request, conflict, not_found, query_model, read_body
from opencode.server.openapi import api
from opencode.server.routes.message import (
    Input,
    agent_for,
    check_model,
    session_or_404,
    start_job,
    wait_job,
    wire,
)
from opencode.session.model import Session, Todo

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.responses import Response


# --- sessions -------------------------------------------------------------------------------------


class ListQuery(Input):
    directory: str | None = None
    roots: bool | None = None
    start: int | None = None
    """Only sessions updated at or after this time (epoch milliseconds)."""
    search: str | None = None
    """Only sessions whose title contains this (case-insensitive)."""
    limit: int | None = Field(default=None, ge=0)


async def list_sessions(request: Request) -> Response:
    """This project's sessions, most recently updated first."""
    engine = engine_of(request)
    query = query_model(request, ListQuery)
    found = engine.store.list_sessions(directory=query.directory, roots=bool(query.roots))
    needle = (query.search or "").casefold()
    sessions = [
        s
        for s in found
        if s.projectID == engine.project_id
        and (query.start is None or s.time.updated >= query.start)
        and needle in s.title.casefold()
    ]
    if query.limit:
        sessions = sessions[: query.limit]
    return wire(sessions)


class CreateBody(Input):
    parentID: str | None = None
    title: str | None = None


async def create_session(request: Request) -> Response:
    """A new session (a child of `parentID` when given)."""
    engine = engine_of(request)
    body = await read_body(request, CreateBody, empty_ok=True)
    if body.parentID is not None:
        from opencode.session.store import NotFound

        try:
            engine.store.get_session(body.parentID)
        except NotFound:
            raise bad_request(f"parentID: no session {body.parentID}", field="parentID") from None
    title = " ".join((body.title or "").split()) or None
    return wire(engine.create_session(title=title, parent_id=body.parentID))


class StatusInfo(BaseModel):
    type: Literal["idle", "busy", "retry"]


async def session_status(request: Request) -> Response:
    """The status of each session running a turn: busy, or retry while a request waits to be tried
    again (sessions left out are idle)."""
    from opencode.agent.actions import session_statuses

    return JSONResponse(session_statuses(engine_of(request)))


async def get_session(request: Request) -> Response:
    """One session."""
    return wire(session_or_404(engine_of(request), request.path_params["sessionID"]))


class ArchiveTime(Input):
    archived: int | None = None


class UpdateBody(Input):
    title: str | None = None
    time: ArchiveTime | None = None


async def update_session(request: Request) -> Response:
    """Rename a session, or archive it (`time.archived`, epoch ms)."""
    from opencode.agent.actions import rename_session, set_archived

    engine = engine_of(request)
    session_id = request.path_params["sessionID"]
    body = await read_body(request, UpdateBody, empty_ok=True)
    session = session_or_404(engine, session_id)
    if body.title is not None:
        session = rename_session(engine, session_id, body.title)
    if body.time is not None and "archived" in body.time.model_fields_set:
        session = set_archived(engine, session_id, body.time.archived)
    return wire(session)


async def delete_session(request: Request) -> Response:
    """Delete a session with its messages and its subagents' sessions."""
    from opencode.agent.actions import delete_session

    engine = engine_of(request)
    session_id = request.path_params["sessionID"]
    session_or_404(engine, session_id)
    if engine.jobs.busy(session_id):
        raise conflict(f"session {session_id} is busy with a turn: abort it before deleting it")
    delete_session(engine, session_id)
    return JSONResponse(True)


async def children(request: Request) -> Response:
    """The sessions subagents ran in for this one."""
    engine = engine_of(request)
    session_id = request.path_params["sessionID"]
    session_or_404(engine, session_id)
    return wire(engine.store.list_sessions(parent_id=session_id))


async def todos(request: Request) -> Response:
    """The session's todo list (the `todowrite` tool's)."""
    engine = engine_of(request)
    session_id = request.path_params["sessionID"]
    session_or_404(engine, session_id)
    return wire(engine.todos(session_id))


class FileDiff(BaseModel):
    file: str
    before: str
    after: str
    additions: int
    deletions: int


class DiffQuery(Input):
    messageID: str | None = None
    """Only the files the turn answering this user message changed."""


async def diff(request: Request) -> Response:
    """Each file the session changed: its text before the session's first change and now, lines added and removed."""
    from opencode.agent.actions import message_diffs, session_diffs

    engine = engine_of(request)
    session_id = request.path_params["sessionID"]
    query = query_model(request, DiffQuery)
    session_or_404(engine, session_id)
    if query.messageID:
        found = await message_diffs(engine, session_id, query.messageID)
    else:
        found = await session_diffs(engine, session_id)
    return JSONResponse(
        [
            FileDiff(
                file=d.file, before=d.before, after=d.after, additions=d.additions, deletions=d.deletions
            ).model_dump()
            for d in found
        ]
    )


# --- what is done to a session -----------------------------------------------------------------------


async def abort(request: Request) -> Response:
    """Stop the turn running in the session (true also when none was running)."""
    engine = engine_of(request)
    session_id = request.path_params["sessionID"]
    session_or_404(engine, session_id)
    engine.jobs.abort(session_id)
    return JSONResponse(True)


class RevertBody(Input):
    messageID: str
    partID: str | None = None
    """Revert from this part of the message on (its earlier parts stay); the whole message without it."""


async def revert(request: Request) -> Response:
    """Undo a message and what followed it: files restored, the messages hidden until a new prompt."""
    from opencode.session.revert import RevertError

    engine = engine_of(request)
    session_id = request.path_params["sessionID"]
    body = await read_body(request, RevertBody)
    session_or_404(engine, session_id)
    if engine.jobs.busy(session_id):
        raise conflict(f"session {session_id} is busy with a turn: abort it before reverting")
    try:
        return wire(await engine.revert(session_id, body.messageID, body.partID))
    except RevertError as exc:
        field = "partID" if str(exc).startswith("part ") else "messageID"
        raise bad_request(str(exc), field=field) from None


async def unrevert(request: Request) -> Response:
    """Bring back what the last revert undid."""
    from opencode.session.revert import RevertError

    engine = engine_of(request)
    session_id = request.path_params["sessionID"]
    session_or_404(engine, session_id)
    if engine.jobs.busy(session_id):
        raise conflict(f"session {session_id} is busy with a turn: abort it before unreverting")
    try:
        return wire(await engine.unrevert(session_id))
    except RevertError as exc:
        raise bad_request(str(exc)) from None


class SummarizeBody(Input):
    providerID: str
    modelID: str
    auto: bool = False


async def summarize(request: Request) -> Response:
    """Compact the conversation now: later turns go on from a summary of it."""
    from opencode.agent.actions import ActionError, summarize

    engine = engine_of(request)
    session_id = request.path_params["sessionID"]
    body = await read_body(request, SummarizeBody)
    session_or_404(engine, session_id)
    agent = agent_for(engine, session_id, None)
    model = f"{body.providerID}/{body.modelID}"
    check_model(engine, model, agent, field="modelID")

    def work(_abort: asyncio.Event) -> Coroutine[Any, Any, None]:
        return summarize(engine, session_id, agent=agent, model=model)

    aborted, _ = await wait_job(start_job(engine, session_id, work))
    if aborted:
        raise ActionError("the compaction was aborted")
    return JSONResponse(True)


class InitBody(Input):
    providerID: str
    modelID: str
    messageID: str | None = None


async def init(request: Request) -> Response:
    """Explore the project and write or improve its AGENTS.md (the built-in `init` command), waiting for the turn."""
    from opencode.agent.actions import ActionError, command_turn

    engine = engine_of(request)
    session_id = request.path_params["sessionID"]
    body = await read_body(request, InitBody)
    session_or_404(engine, session_id)
    agent = agent_for(engine, session_id, None)
    model = f"{body.providerID}/{body.modelID}"
    check_model(engine, model, agent, field="modelID")

    def work(abort: asyncio.Event) -> Coroutine[Any, Any, Any]:
        return command_turn(engine, session_id, "init", "", agent=agent, model=model, abort=abort)

    aborted, _ = await wait_job(start_job(engine, session_id, work))
    if aborted:
        raise ActionError("interrupted")
    return JSONResponse(True)


class ForkBody(Input):
    messageID: str | None = None


async def fork(request: Request) -> Response:
    """A new session with this one's messages before `messageID` (all of them without it)."""
    from opencode.agent.actions import fork_session

    engine = engine_of(request)
    session_id = request.path_params["sessionID"]
    body = await read_body(request, ForkBody, empty_ok=True)
    session_or_404(engine, session_id)
    return wire(fork_session(engine, session_id, body.messageID))


# --- permissions and questions ---------------------------------------------------------------------


class RespondBody(Input):
    response: Literal["once", "always", "reject"]


async def respond_permission(request: Request) -> Response:
    """Answer a permission request of the session (opencode's older route; /permission/{id}/reply is the same)."""
    engine = engine_of(request)
    session_id, permission_id = request.path_params["sessionID"], request.path_params["permissionID"]
    body = await read_body(request, RespondBody)
    session_or_404(engine, session_id)
    if not engine.permissions.reply(permission_id, body.response):
        raise not_found(f"no pending permission request {permission_id}")
    return JSONResponse(True)


async def list_permissions(request: Request) -> Response:
    """Permission requests waiting for an answer, in every session."""
    return wire(engine_of(request).permissions.pending())


class ReplyBody(Input):
    reply: Literal["once", "always", "reject"]
    message: str | None = None
    """With `reject`: what to tell the model instead."""


async def reply_permission(request: Request) -> Response:
    """Answer a permission request: once, always (this session, these patterns), or reject."""
    engine = engine_of(request)
    request_id = request.path_params["requestID"]
    body = await read_body(request, ReplyBody)
    if not engine.permissions.reply(request_id, body.reply, body.message):
        raise not_found(f"no pending permission request {request_id}")
    return JSONResponse(True)


async def list_questions(request: Request) -> Response:
    """Questions waiting for the user's answer, in every session."""
    return wire(engine_of(request).questions.pending())


class AnswersBody(Input):
    answers: list[list[str]]
    """One list of chosen labels (or typed text) per question, in order."""


async def reply_question(request: Request) -> Response:
    """Answer a pending question."""
    engine = engine_of(request)
    request_id = request.path_params["requestID"]
    body = await read_body(request, AnswersBody)
    if not engine.reply_question(request_id, body.answers):
        raise not_found(f"no pending question {request_id}")
    return JSONResponse(True)


async def reject_question(request: Request) -> Response:
    """Dismiss a pending question (the model is told the user did not answer)."""
    engine = engine_of(request)
    request_id = request.path_params["requestID"]
    if not engine.reject_question(request_id):
        raise not_found(f"no pending question {request_id}")
    return JSONResponse(True)


S = "/session/{sessionID}"
routes = [
    api("GET", "/session", list_sessions, "session.list", query=ListQuery, response=list[Session]),
    api("POST", "/session", create_session, "session.create", body=CreateBody, response=Session),
    api("GET", "/session/status", session_status, "session.status", response=dict[str, StatusInfo]),
    api("GET", S, get_session, "session.get", response=Session),
    api("PATCH", S, update_session, "session.update", body=UpdateBody, response=Session),
    api("DELETE", S, delete_session, "session.delete", response=bool),
    api("GET", f"{S}/children", children, "session.children", response=list[Session]),
    api("GET", f"{S}/todo", todos, "session.todo", response=list[Todo]),
    api("GET", f"{S}/diff", diff, "session.diff", query=DiffQuery, response=list[FileDiff]),
    api("POST", f"{S}/abort", abort, "session.abort", response=bool),
    api("POST", f"{S}/revert", revert, "session.revert", body=RevertBody, response=Session),
    api("POST", f"{S}/unrevert", unrevert, "session.unrevert", response=Session),
    api("POST", f"{S}/summarize", summarize, "session.summarize", body=SummarizeBody, response=bool),
    api("POST", f"{S}/init", init, "session.init", body=InitBody, response=bool),
    api("POST", f"{S}/fork", fork, "session.fork", body=ForkBody, response=Session),
    api(
        "POST",
        f"{S}/permissions/{{permissionID}}",
        respond_permission,
        "permission.respond",
        body=RespondBody,
        response=bool,
    ),
    api("GET", "/permission", list_permissions, "permission.list", response=list[PermissionAsked]),
    api("POST", "/permission/{requestID}/reply", reply_permission, "permission.reply", body=ReplyBody, response=bool),
    api("GET", "/question", list_questions, "question.list", response=list[QuestionAsked]),
    api("POST", "/question/{requestID}/reply", reply_question, "question.reply", body=AnswersBody, response=bool),
    api("POST", "/question/{requestID}/reject", reject_question, "question.reject", response=bool),
]
