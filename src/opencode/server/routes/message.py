"""What goes into a session: prompts (waited for, or `prompt_async`), commands, `!shell`, and the stored messages.

    POST /session/{sessionID}/message        {"parts": [{"type": "text", "text": "hi"}]} -> the answer {info, parts}
    POST /session/{sessionID}/prompt_async   the same body; 204 at once, the turn goes on (POST .../abort stops it)
    GET  /session/{sessionID}/message        every message with its parts, oldest first (`limit`: the last N)

A turn runs as the session's engine job (`engine.jobs`), so an abort from any face stops it and a
second prompt into a busy session is refused with 409. Parts arrive in opencode's input shapes:
text, file (a `data:` URL, or `file://` inside the project) and agent (asks for that subagent).
"""

from __future__ import annotations

import asyncio
import base64
import logging
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal
from urllib.parse import unquote, unquote_to_bytes, urlparse

from pydantic import BaseModel, ConfigDict, Field, RootModel
from starlette.responses import JSONResponse, Response

from opencode.server.app import engine_of
from opencode.server.errors import bad_request, conflict, not_found, query_model, read_body
from opencode.server.openapi import api
from opencode.session.model import AssistantMessage, MessageWithParts, Part, Session

if TYPE_CHECKING:
    from starlette.requests import Request

    from opencode.agent.engine import Engine
    from opencode.tool.tool import Attachment

log = logging.getLogger("opencode.server")


class Input(BaseModel):
    model_config = ConfigDict(extra="ignore")


# --- shared by the session routes -----------------------------------------------------------------


def session_or_404(engine: Engine, session_id: str) -> Session:
    from opencode.session.store import NotFound

    try:
        return engine.store.get_session(session_id)
    except NotFound:
        raise not_found(f"no session {session_id}") from None


def wire(value: BaseModel | list[Any]) -> Response:
    """A model (or a list of them) as opencode's JSON: its field names, unset fields left out."""
    if isinstance(value, list):
        return JSONResponse([item.model_dump(mode="json", exclude_none=True) for item in value])
    return JSONResponse(value.model_dump(mode="json", exclude_none=True))


def agent_for(engine: Engine, session_id: str, name: str | None) -> str:
    """The agent a turn runs as: the one asked for (400 naming `agent` if unknown), else the session's own."""
    from opencode.agent.agents import AgentError

    if name is None:
        return engine.current_agent(session_id) or engine.default_agent()
    try:
        return engine.agent(name).name
    except AgentError as exc:
        raise bad_request(str(exc), field="agent") from None


def check_model(engine: Engine, model: str | None, agent: str, *, field: str = "model") -> None:
    try:
        engine.resolve_model(model, agent)
    except Exception as exc:  # unknown model, a provider without a key: one line naming the field
        raise bad_request(f"{field}: {exc}", field=field) from None


Work = Callable[[asyncio.Event], Coroutine[Any, Any, Any]]


def start_job(engine: Engine, session_id: str, work: Work) -> asyncio.Task[Any]:
    """Start the session's job; 409 while one (or the engine's own turn) runs in it."""
    if engine.jobs.busy(session_id):
        raise conflict(f"session {session_id} is busy with a turn: wait for it to end, or POST .../abort")
    return engine.jobs.start(session_id, work)


async def wait_job(task: asyncio.Task[Any]) -> tuple[bool, Any]:
    """(aborted, result) of a job started by this request; if the request itself is cancelled, so is the job."""
    try:
        return False, await asyncio.shield(task)
    except asyncio.CancelledError:
        if not task.done():
            task.cancel()
            raise
        if task.cancelled():
            return True, None
        raise


async def answer_of_turn(engine: Engine, session_id: str, work: Work) -> Response:
    """Run a turn as the session's job and answer with its last assistant message (aborted ones too)."""
    before = {m.info.id for m in engine.store.list_messages(session_id)}
    task = start_job(engine, session_id, work)
    aborted, result = await wait_job(task)
    if not aborted:
        return wire(engine.store.get_message(session_id, result.message.id))
    answers = [
        m
        for m in engine.store.list_messages(session_id)
        if m.info.id not in before and isinstance(m.info, AssistantMessage)
    ]
    if not answers:
        from opencode.agent.actions import ActionError

        raise ActionError("the turn was aborted before the model answered")
    return wire(answers[-1])


# --- the prompt's body ---------------------------------------------------------------------------


class ModelChoice(Input):
    providerID: str
    modelID: str

    @property
    def ref(self) -> str:
        return f"{self.providerID}/{self.modelID}"


class TextPartInput(Input):
    id: str | None = None
    type: Literal["text"]
    text: str
    synthetic: bool | None = None
    ignored: bool | None = None


class FilePartInput(Input):
    id: str | None = None
    type: Literal["file"]
    mime: str
    url: str
    filename: str | None = None


class AgentPartInput(Input):
    id: str | None = None
    type: Literal["agent"]
    name: str


class SubtaskPartInput(Input):
    id: str | None = None
    type: Literal["subtask"]
    prompt: str
    description: str
    agent: str


PartInput = Annotated[TextPartInput | FilePartInput | AgentPartInput | SubtaskPartInput, Field(discriminator="type")]


class PromptBody(Input):
    messageID: Annotated[str, Field(pattern=r"^msg_[A-Za-z0-9]{8,64}$")] | None = None
    """The user message's id, chosen by the client (opencode's do); a new one when left out."""
    model: ModelChoice | None = None
    agent: str | None = None
    noReply: bool | None = None
    system: str | None = None
    tools: dict[str, bool] | None = None
    parts: list[PartInput]


SUBAGENT_NOTE = "Use the message above and its context to write a prompt, then call the task tool with subagent: {name}"


def prompt_content(engine: Engine, parts: list[Any]) -> tuple[list[str], list[Attachment]]:
    """The texts (one per text part, files inlined after them) and attachments a prompt's parts make
    (400 naming the part that cannot be used)."""
    texts: list[str] = []
    files: list[Attachment] = []
    notes: list[str] = []
    for index, part in enumerate(parts):
        where = f"parts.{index}"
        if isinstance(part, TextPartInput):
            if not part.ignored and part.text:
                texts.append(part.text)
        elif isinstance(part, FilePartInput):
            attached, inline = file_content(engine, part, where)
            files += attached
            texts += inline
        elif isinstance(part, AgentPartInput):
            found = engine.agents.get(part.name)
            if found is None or not found.subagent:
                from opencode.agent.agents import subagents

                known = ", ".join(a.name for a in subagents(engine.agents))
                raise bad_request(f"{where}.name: no subagent {part.name!r} (known: {known})", field=f"{where}.name")
            notes.append(SUBAGENT_NOTE.format(name=found.name))
        else:
            found = engine.agents.get(part.agent)
            if found is None or not found.subagent:
                from opencode.agent.agents import subagents

                known = ", ".join(a.name for a in subagents(engine.agents))
                raise bad_request(f"{where}.agent: no subagent {part.agent!r} (known: {known})", field=f"{where}.agent")
            if len(subtasks := [p for p in parts if isinstance(p, SubtaskPartInput)]) > 1:
                raise bad_request(f"{where}: one subtask part per prompt (got {len(subtasks)})", field=where)
            if not texts:
                texts.append(part.description)
    text = [*texts, *notes]
    if not "".join(text).strip() and not files:
        raise bad_request("parts: nothing to send (no text and no file)", field="parts")
    return text, files


def file_content(engine: Engine, part: FilePartInput, where: str) -> tuple[list[Attachment], list[str]]:
    """A file part as attachments (images, PDFs) and inlined text blocks (text files)."""
    from opencode.agent.actions import ActionError, attach_files

    if part.url.startswith("data:"):
        attachment, inline = data_url_file(part, where)
        return ([attachment] if attachment is not None else []), ([inline] if inline is not None else [])
    path = project_file(engine, part.url, where)
    try:
        return attach_files(engine, [str(path)])
    except ActionError as exc:
        raise bad_request(f"{where}.url: {exc}", field=f"{where}.url") from None


def data_url_file(part: FilePartInput, where: str) -> tuple[Attachment | None, str | None]:
    """A `data:` URL's bytes: images and PDFs attached, text inlined as a <file> block."""
    from opencode.cli.run import BINARY_TYPES, MAX_TEXT_ATTACHMENT
    from opencode.tool.tool import Attachment

    header, comma, payload = part.url[len("data:") :].partition(",")
    if not comma:
        raise bad_request(f"{where}.url: a data: URL needs a comma before its data", field=f"{where}.url")
    try:
        data = base64.b64decode(payload, validate=True) if header.endswith(";base64") else unquote_to_bytes(payload)
    except ValueError as exc:
        raise bad_request(f"{where}.url: the data is not valid base64 ({exc})", field=f"{where}.url") from None
    mime = part.mime or header.split(";")[0] or "text/plain"
    if mime in BINARY_TYPES:
        return Attachment(mime, data, part.filename), None
    if b"\0" in data[:8192]:
        raise bad_request(f"{where}: binary data of type {mime}; attach images, PDFs or text", field=f"{where}.mime")
    text = data[:MAX_TEXT_ATTACHMENT].decode("utf-8", "replace")
    return None, f'<file path="{part.filename or "attachment"}">\n{text}\n</file>'


def project_file(engine: Engine, url: str, where: str) -> Path:
    """A `file://` URL (or a plain path) naming a file inside the project."""
    parsed = urlparse(url)
    if parsed.scheme not in ("file", ""):
        raise bad_request(
            f"{where}.url: {parsed.scheme}: URLs are not fetched; send a data: or file:// URL", field=f"{where}.url"
        )
    raw = Path(unquote(parsed.path))
    path = (raw if raw.is_absolute() else engine.cwd / raw).resolve()
    if not path.is_relative_to(engine.root):
        raise bad_request(f"{where}.url: {path} is outside the project", field=f"{where}.url")
    if not path.is_file():
        raise bad_request(f"{where}.url: no such file {path}", field=f"{where}.url")
    return path


# --- routes ---------------------------------------------------------------------------------------


class MessagesQuery(Input):
    limit: int | None = Field(default=None, ge=0)
    before: str | None = None
    """A message id: only the messages before it (a page further back)."""


async def list_messages(request: Request) -> Response:
    """The session's messages with their parts, oldest first; `limit`: only the last N (of those
    `before` a message id, when given)."""
    engine = engine_of(request)
    session_id = request.path_params["sessionID"]
    query = query_model(request, MessagesQuery)
    session_or_404(engine, session_id)
    messages = engine.store.list_messages(session_id)
    if query.before is not None:
        cut = next((i for i, m in enumerate(messages) if m.info.id == query.before), None)
        if cut is None:
            raise bad_request(f"before: no message {query.before} in session {session_id}", field="before")
        messages = messages[:cut]
    if query.limit:
        messages = messages[-query.limit :]
    return wire(messages)


async def get_message(request: Request) -> Response:
    """One message with its parts."""
    from opencode.session.store import NotFound

    engine = engine_of(request)
    session_id, message_id = request.path_params["sessionID"], request.path_params["messageID"]
    session_or_404(engine, session_id)
    try:
        return wire(engine.store.get_message(session_id, message_id))
    except NotFound:
        raise not_found(f"no message {message_id} in session {session_id}") from None


async def delete_message(request: Request) -> Response:
    """Remove a message and its parts (file changes it made stay)."""
    from opencode.agent.actions import delete_message

    engine = engine_of(request)
    session_id, message_id = request.path_params["sessionID"], request.path_params["messageID"]
    session_or_404(engine, session_id)
    if engine.jobs.busy(session_id):
        raise conflict(f"session {session_id} is busy with a turn: abort it first")
    delete_message(engine, session_id, message_id)
    return JSONResponse(True)


async def delete_part(request: Request) -> Response:
    """Remove one part of a message."""
    from opencode.agent.actions import delete_part

    engine = engine_of(request)
    params = request.path_params
    session_or_404(engine, params["sessionID"])
    delete_part(engine, params["sessionID"], params["messageID"], params["partID"])
    return JSONResponse(True)


class PartBody(RootModel[Part]):
    """A whole part, as opencode's part.update takes it."""


async def update_part(request: Request) -> Response:
    """Replace a part with the one sent (its ids must match the path)."""
    from opencode.agent.actions import update_part

    engine = engine_of(request)
    params = request.path_params
    part = (await read_body(request, PartBody)).root
    session_or_404(engine, params["sessionID"])
    expected = (params["partID"], params["messageID"], params["sessionID"])
    if (part.id, part.messageID, part.sessionID) != expected:
        raise bad_request("the part's id, messageID and sessionID must match the path", field="id")
    return wire(update_part(engine, part))


async def prepare_prompt(
    request: Request,
) -> tuple[Engine, str, PromptBody, str, str | None, list[str], list[Attachment]]:
    engine = engine_of(request)
    session_id = request.path_params["sessionID"]
    body = await read_body(request, PromptBody)
    session_or_404(engine, session_id)
    agent = agent_for(engine, session_id, body.agent)
    model = body.model.ref if body.model is not None else None
    check_model(engine, model, agent)
    text, files = prompt_content(engine, body.parts)
    if body.messageID is not None and any(m.info.id == body.messageID for m in engine.store.list_messages(session_id)):
        raise bad_request(f"messageID: {body.messageID} is taken in this session; send a new id", field="messageID")
    if engine.jobs.busy(session_id):
        raise conflict(f"session {session_id} is busy with a turn: wait for it to end, or POST .../abort")
    return engine, session_id, body, agent, model, text, files


def turn_of(
    engine: Engine,
    session_id: str,
    body: PromptBody,
    agent: str,
    model: str | None,
    text: list[str],
    files: list[Attachment],
) -> Work:
    """The job a prompt body starts: a turn (with its `system` and `tools`), or, with a subtask part, the
    task run in a child session at once and then the turn that summarizes it."""
    from opencode.tool.tool import SubagentCall

    subtask = next((p for p in body.parts if isinstance(p, SubtaskPartInput)), None)

    def work(abort: asyncio.Event) -> Coroutine[Any, Any, Any]:
        if subtask is not None:
            call = SubagentCall(agent=subtask.agent, prompt=subtask.prompt, description=subtask.description)
            return engine.subtask(session_id, "\n\n".join(text), call, model=model, agent=agent, abort=abort)
        return engine.prompt(
            session_id,
            text,
            files=files,
            model=model,
            agent=agent,
            abort=abort,
            system=body.system,
            tools=body.tools,
            message_id=body.messageID,
        )

    return work


async def prompt(request: Request) -> Response:
    """Send a message and wait for the turn: the answer (the last assistant message) with its parts."""
    from opencode.agent.actions import add_message

    engine, session_id, body, agent, model, text, files = await prepare_prompt(request)
    if body.noReply:
        return wire(add_message(engine, session_id, text, files, agent=agent, model=model))

    return await answer_of_turn(engine, session_id, turn_of(engine, session_id, body, agent, model, text, files))


async def prompt_async(request: Request) -> Response:
    """Send a message and return at once (204); the turn runs on, its events on /event."""
    from opencode.agent.actions import add_message

    engine, session_id, body, agent, model, text, files = await prepare_prompt(request)
    if body.noReply:
        add_message(engine, session_id, text, files, agent=agent, model=model)
        return Response(status_code=204)

    task = start_job(engine, session_id, turn_of(engine, session_id, body, agent, model, text, files))
    task.add_done_callback(lambda done: report_failure(engine, session_id, done))
    return Response(status_code=204)


def report_failure(engine: Engine, session_id: str, task: asyncio.Task[Any]) -> None:
    """A background turn that failed outside the model's answer (which the message records): `session.error`."""
    from opencode.bus import SessionError
    from opencode.session.model import MessageError

    if task.cancelled() or task.exception() is None:
        return
    error = task.exception()
    log.warning("prompt_async in %s failed: %s", session_id, error)
    engine.bus.publish(
        SessionError(sessionID=session_id, error=MessageError(name="UnknownError", data={"message": str(error)}))
    )


class CommandBody(Input):
    messageID: str | None = None
    agent: str | None = None
    model: str | None = None
    """`provider/model`, as opencode's command route takes it."""
    arguments: str = ""
    command: str
    parts: list[FilePartInput] | None = None
    """Files to send with the command's prompt."""


async def command(request: Request) -> Response:
    """Run a custom command (`/name arguments`, or the built-in `init`): its template becomes the prompt."""
    from opencode.agent.actions import command_turn

    engine = engine_of(request)
    session_id = request.path_params["sessionID"]
    body = await read_body(request, CommandBody)
    session_or_404(engine, session_id)
    agent = agent_for(engine, session_id, body.agent)
    if body.model:
        check_model(engine, body.model, agent)
    name = body.command.strip().removeprefix("/")
    if not name:
        raise bad_request("command: name the command to run", field="command")
    files: list[Attachment] = []
    inline: list[str] = []
    for index, part in enumerate(body.parts or []):
        attached, texts = file_content(engine, part, f"parts.{index}")
        files += attached
        inline += texts

    def work(abort: asyncio.Event) -> Coroutine[Any, Any, Any]:
        return command_turn(
            engine,
            session_id,
            name,
            body.arguments,
            agent=agent,
            model=body.model,
            abort=abort,
            files=files,
            inline=inline,
        )

    return await answer_of_turn(engine, session_id, work)


class ShellBody(Input):
    agent: str
    model: ModelChoice | None = None
    command: str


async def shell(request: Request) -> Response:
    """Run a shell command in the project; its output becomes a user message (returned with its parts)."""
    from opencode.agent.actions import shell

    engine = engine_of(request)
    session_id = request.path_params["sessionID"]
    body = await read_body(request, ShellBody)
    session_or_404(engine, session_id)
    agent = agent_for(engine, session_id, body.agent)
    model = body.model.ref if body.model is not None else None
    check_model(engine, model, agent)
    if not body.command.strip():
        raise bad_request("command: no shell command given", field="command")

    def work(_abort: asyncio.Event) -> Coroutine[Any, Any, str]:
        return shell(engine, session_id, body.command, agent=agent, model=model)

    aborted, _ = await wait_job(start_job(engine, session_id, work))
    if aborted:
        from opencode.agent.actions import ActionError

        raise ActionError("the shell command was aborted")
    return wire(engine.store.list_messages(session_id)[-1])


S = "/session/{sessionID}"
routes = [
    api("GET", f"{S}/message", list_messages, "session.messages", query=MessagesQuery, response=list[MessageWithParts]),
    api("POST", f"{S}/message", prompt, "session.prompt", body=PromptBody, response=MessageWithParts),
    api("GET", f"{S}/message/{{messageID}}", get_message, "session.message", response=MessageWithParts),
    api("DELETE", f"{S}/message/{{messageID}}", delete_message, "session.deleteMessage", response=bool),
    api("DELETE", f"{S}/message/{{messageID}}/part/{{partID}}", delete_part, "part.delete", response=bool),
    api("PATCH", f"{S}/message/{{messageID}}/part/{{partID}}", update_part, "part.update", response=Part),
    api("POST", f"{S}/prompt_async", prompt_async, "session.prompt_async", body=PromptBody, response=None),
    api("POST", f"{S}/command", command, "session.command", body=CommandBody, response=MessageWithParts),
    api("POST", f"{S}/shell", shell, "session.shell", body=ShellBody, response=MessageWithParts),
]
