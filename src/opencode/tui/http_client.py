"""`HttpClient`: the TUI's `Client` over a running `opencode serve` (`opencode attach <url>`).

    client = HttpClient("http://127.0.0.1:4096", password=None)
    remove = client.subscribe(handler)     # fed from GET /event (SSE), in the app's event loop
    await client.prompt(session_id, "fix the tests")    # POST /session/{id}/message, waits for the turn

Every method maps onto opencode's HTTP API (its paths and JSON shapes), so the same TUI runs on
the engine in this process (`EngineClient`) or on a server here or elsewhere. Quick calls use a
synchronous httpx client (the server is usually on loopback: a call is a millisecond or two);
prompts, commands and the event stream use an async one in the app's loop.

What the TUI asks often (is the session busy, its tokens and cost, its title, the agent it runs
as) is kept here from the event stream, seeded once from the server, so a repaint makes no
request. When the stream drops (the server restarted, the network blinked) it is reopened, and the
messages the app showed are read again and replayed as events, so the view catches up.

The server's failures come back as `ClientError` with its one-line message (`{"data":
{"message"}}`, opencode's error shape); an unreachable server or a refused password too.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import mimetypes
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import httpx
from pydantic import TypeAdapter, ValidationError

from opencode.bus import (
    REGISTRY,
    BusEvent,
    MessageUpdated,
    PartUpdated,
    SessionCreated,
    SessionDeleted,
    SessionIdle,
    SessionStatus,
    SessionUpdated,
)
from opencode.session.model import (
    AssistantMessage,
    MessageWithParts,
    Part,
    Session,
    SessionExport,
    TextPart,
    Todo,
    ToolPart,
    ToolStateCompleted,
    UserMessage,
)
from opencode.tui.client import (
    AgentChoice,
    ClientError,
    CommandInfo,
    ModelChoice,
    PermissionReply,
    ServiceStatus,
    Usage,
)

if TYPE_CHECKING:
    from opencode.config.schema import Config
    from opencode.provider.catalog import ModelInfo

log = logging.getLogger("opencode.tui")

TIMEOUT = 30.0
"""Seconds a quick call may take (a prompt waits as long as its turn runs)."""
RECONNECT = (0.5, 1.0, 2.0, 5.0)
"""Seconds between tries to reopen a dropped event stream (the last one repeats)."""
CONNECT_WAIT = 10.0
"""Seconds a prompt waits for the event stream to open, so the start of its answer is not missed."""
FILE_LIST_MAX = 50_000
"""Files listed for `@` completion at most (a huge tree is listed in part)."""
DIRECTORY_MAX = 5_000
"""Directories listed (`GET /file?path=`, one request each) for `@` completion at most."""
WALK_BATCH = 16
"""Directory listings asked for at once."""
FIND_FILE_CAP = 200
"""opencode's cap on `GET /find/file?limit=`: the fallback listing when the tree cannot be walked."""
SWITCH_KEY = "agentSwitch"
"""Tool metadata key the plan tools set when they switch the session's agent (opencode.tool.plan)."""

_messages = TypeAdapter(list[MessageWithParts])
_sessions = TypeAdapter(list[Session])
_todos = TypeAdapter(list[Todo])


class HttpClient:
    """`Client` over opencode's HTTP API at `url`; `password` (with `username`) as HTTP basic auth."""

    def __init__(
        self,
        url: str,
        *,
        password: str | None = None,
        username: str = "opencode",
        directory: str | None = None,
        model: str | None = None,
        agent: str | None = None,
        timeout: float = TIMEOUT,
    ) -> None:
        self.url = url.rstrip("/")
        self.model = model
        self.agent = agent
        self.timeout = timeout
        self._auth = httpx.BasicAuth(username, password) if password else None
        self._headers = {"x-opencode-directory": quote(directory)} if directory else {}
        self._directory = directory
        self.http = httpx.Client(base_url=self.url, auth=self._auth, headers=self._headers, timeout=timeout)
        self._async: httpx.AsyncClient | None = None
        self._handlers: list[Callable[[BusEvent], None]] = []
        self._reader: asyncio.Task[None] | None = None
        self._connected: asyncio.Event | None = None
        self._reconnected = False
        """The stream opened before: a new `server.connected` means events were missed (see `_resync`)."""
        self._resyncing: asyncio.Task[None] | None = None
        self._watched: dict[str, str] = {}
        """Session the app showed -> the newest message id seen in it (what `_resync` catches up from)."""
        self._closed = False
        self._running: set[str] = set()
        """Sessions a prompt, `!command` or compaction of this client runs in now."""
        self._status: dict[str, str] | None = None
        """Session -> "busy" / "retry" (idle ones left out): seeded from GET /session/status, then from events."""
        self._picked: dict[str, str] = {}
        self._agent_of: dict[str, str] = {}
        """Session -> the agent it runs as now, as its messages say (seeded by `messages`, kept by events)."""
        self._ledgers: dict[str, Ledger] = {}
        self._sessions: dict[str, Session] = {}
        """Sessions as last read or announced (session.created / updated events): read anew unless `_live`."""
        self._parent: dict[str, str] = {}
        """Child session -> its parent, for the sessions whose ledger is kept."""
        self._parts: dict[str, Part] = {}
        """The latest full state of streamed parts (for opencode's `message.part.delta` events)."""
        self._config: Config | None = None
        self._agents: list[dict[str, Any]] | None = None
        self._providers: dict[str, Any] | None = None
        self._files: list[str] | None = None

    # --- plumbing -----------------------------------------------------------------------------

    def _async_client(self) -> httpx.AsyncClient:
        if self._async is None:
            self._async = httpx.AsyncClient(
                base_url=self.url, auth=self._auth, headers=self._headers, timeout=self.timeout
            )
        return self._async

    def _call(self, method: str, path: str, *, body: Any = None, params: dict[str, Any] | None = None) -> Any:
        try:
            response = self.http.request(method, path, json=body, params=params)
        except httpx.HTTPError as exc:
            raise ClientError(unreachable(self.url, exc)) from None
        return answer(response)

    async def _acall(self, method: str, path: str, *, body: Any = None, timeout: Any = httpx.USE_CLIENT_DEFAULT) -> Any:
        """`timeout=None`: wait as long as it takes (a turn)."""
        try:
            response = await self._async_client().request(method, path, json=body, timeout=timeout)
        except httpx.HTTPError as exc:
            raise ClientError(unreachable(self.url, exc)) from None
        return answer(response)

    def health(self) -> dict[str, Any]:
        """GET /global/health: `{"healthy": true, "version": ...}`; ClientError when unreachable or refused."""
        data = self._call("GET", "/global/health")
        if not isinstance(data, dict) or not data.get("healthy"):
            raise ClientError(f"{self.url} does not look like an opencode server (GET /global/health said {data!r})")
        return data

    @property
    def directory(self) -> str:
        if self._directory is None:
            try:
                self._directory = str(self._call("GET", "/path")["directory"])
            except (ClientError, KeyError, TypeError):
                self._directory = str(Path.cwd())
        return self._directory

    # --- events -------------------------------------------------------------------------------

    def subscribe(self, handler: Callable[[BusEvent], None]) -> Callable[[], None]:
        self._handlers.append(handler)
        if self._reader is None or self._reader.done():
            loop = asyncio.get_running_loop()  # the app's: handlers are called in it
            self._connected = asyncio.Event()
            self._reader = loop.create_task(self._read_events(), name="opencode-attach-events")

        def remove() -> None:
            if handler in self._handlers:
                self._handlers.remove(handler)

        return remove

    async def _read_events(self) -> None:
        tries = 0
        while True:
            try:
                async with self._async_client().stream(
                    "GET", "/event", timeout=httpx.Timeout(self.timeout, read=None)
                ) as response:
                    if response.status_code != 200:
                        await response.aread()
                        answer(response)  # raises ClientError with the server's reason
                    tries = 0
                    await self._pump(response)
            except asyncio.CancelledError:
                raise
            except (httpx.HTTPError, ClientError) as exc:
                log.info("event stream from %s broke: %s", self.url, exc)
            if self._closed:
                return
            self._status = None  # missed events: ask again
            if self._connected is not None:
                self._connected.clear()
            await asyncio.sleep(RECONNECT[min(tries, len(RECONNECT) - 1)])
            tries += 1

    async def _pump(self, response: httpx.Response) -> None:
        data: list[str] = []
        async for line in response.aiter_lines():
            if line.startswith("data:"):
                data.append(line[5:].lstrip(" "))
            elif not line and data:
                raw, data = "\n".join(data), []
                self._dispatch(raw)

    def _dispatch(self, raw: str) -> None:
        try:
            item = json.loads(raw)
            kind, properties = item["type"], item.get("properties") or {}
        except (ValueError, KeyError, TypeError):
            log.warning("unreadable event from %s: %.200s", self.url, raw)
            return
        if kind == "server.connected":
            if self._connected is not None:
                self._connected.set()
            if self._reconnected:
                self._resyncing = asyncio.ensure_future(self._resync())
            self._reconnected = True
            return
        event = self._event(kind, properties)
        if event is not None:
            self._emit(event)

    def _emit(self, event: BusEvent) -> None:
        self._observe(event)
        for handler in list(self._handlers):
            try:
                handler(event)
            except Exception:
                log.exception("event handler failed on %s", event.type)

    async def _resync(self) -> None:
        """The stream reopened (the server restarted, the network dropped): what the missed events would
        have said about the sessions the app showed, as events: their newer messages and parts, their status."""
        from opencode.bus import SessionStatusInfo

        try:
            statuses = await self._acall("GET", "/session/status")
            for session_id, newest in list(self._watched.items()):
                session = Session.model_validate(await self._acall("GET", f"/session/{session_id}"))
                items = _messages.validate_python(await self._acall("GET", f"/session/{session_id}/message"))
                for item in visible(session, items):
                    if item.info.id >= newest:
                        self._emit(MessageUpdated(info=item.info))
                        for part in item.parts:
                            self._emit(PartUpdated(part=part))
                status = statuses.get(session_id) if isinstance(statuses, dict) else None
                kind = status.get("type") if isinstance(status, dict) else "idle"
                self._emit(SessionStatus(sessionID=session_id, status=SessionStatusInfo(type=kind or "idle")))
        except (ClientError, ValidationError) as exc:
            log.warning("could not catch up with %s after the event stream reopened: %s", self.url, exc)

    def _event(self, kind: str, properties: dict[str, Any]) -> BusEvent | None:
        """The bus event for a wire event; None for types this client does not know."""
        if kind == "message.part.delta":  # opencode 1.18 streams text as deltas on the last full part
            return self._delta(properties)
        cls = REGISTRY.get(kind)
        if cls is None:
            return None
        try:
            return cls.model_validate(properties)
        except ValidationError as exc:
            log.warning("event %s from %s does not parse: %s", kind, self.url, exc)
            return None

    def _delta(self, properties: dict[str, Any]) -> BusEvent | None:
        part = self._parts.get(str(properties.get("partID")))
        field, delta = properties.get("field", "text"), properties.get("delta")
        if part is None or not isinstance(delta, str) or not isinstance(getattr(part, str(field), None), str):
            return None
        part = part.model_copy(update={str(field): getattr(part, str(field)) + delta})
        return PartUpdated(part=part, delta=delta)

    def _observe(self, event: BusEvent) -> None:
        """Keep what `busy`, `usage` and `agent_name` answer from, before the app sees the event."""
        if isinstance(event, SessionStatus):
            if self._status is not None:
                if event.status.type == "idle":
                    self._status.pop(event.sessionID, None)
                else:
                    self._status[event.sessionID] = event.status.type
        elif isinstance(event, SessionIdle):
            if self._status is not None:
                self._status.pop(event.sessionID, None)
        elif isinstance(event, MessageUpdated):
            info = event.info
            if info.sessionID in self._watched and info.id > self._watched[info.sessionID]:
                self._watched[info.sessionID] = info.id
            ledger = self._ledgers.get(info.sessionID)
            if ledger is not None and isinstance(info, AssistantMessage):
                ledger.add(info)
            if info.sessionID in self._agent_of and not (isinstance(info, AssistantMessage) and info.summary):
                self._switch(info.sessionID, info.agent)
        elif isinstance(event, PartUpdated):
            part = event.part
            if part.type in ("text", "reasoning"):
                self._parts[part.id] = part
                if len(self._parts) > 256:
                    del self._parts[next(iter(self._parts))]
            if isinstance(part, ToolPart) and isinstance(part.state, ToolStateCompleted):
                switched = part.state.metadata.get(SWITCH_KEY)
                if isinstance(switched, str) and part.sessionID in self._agent_of:
                    self._switch(part.sessionID, switched)
        elif isinstance(event, SessionUpdated):
            if event.info.id in self._sessions:
                self._sessions[event.info.id] = event.info
        elif isinstance(event, SessionDeleted):
            self._sessions.pop(event.info.id, None)
        if isinstance(event, SessionCreated):
            parent = event.info.parentID
            if parent is not None and parent in self._ledgers:
                self._ledgers[event.info.id] = Ledger()
                self._parent[event.info.id] = parent

    def _switch(self, session_id: str, name: str) -> None:
        if name in self._primary_names():
            self._agent_of[session_id] = name

    async def _wait_connected(self) -> None:
        if self._connected is None or self._connected.is_set():
            return
        await self._acall("GET", "/global/health")  # a server that is down says so now, not after the wait
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._connected.wait(), CONNECT_WAIT)

    # --- sessions -----------------------------------------------------------------------------

    def create_session(self) -> Session:
        return self._keep(Session.model_validate(self._call("POST", "/session", body={})))

    def _keep(self, session: Session) -> Session:
        self._sessions[session.id] = session
        return session

    def list_sessions(self, limit: int = 50) -> list[Session]:
        return _sessions.validate_python(self._call("GET", "/session", params={"roots": "true", "limit": limit}))

    def get_session(self, session_id: str) -> Session:
        kept = self._sessions.get(session_id)
        if kept is not None and self._live():
            return kept
        return self._read_session(session_id)

    def _read_session(self, session_id: str) -> Session:
        return self._keep(Session.model_validate(self._call("GET", f"/session/{session_id}")))

    def _all_messages(self, session_id: str) -> list[MessageWithParts]:
        return _messages.validate_python(self._call("GET", f"/session/{session_id}/message"))

    def messages(self, session_id: str) -> list[MessageWithParts]:
        items = visible(self._read_session(session_id), self._all_messages(session_id))
        self._watched[session_id] = items[-1].info.id if items else ""
        self._agent_of.pop(session_id, None)
        current = self._current_agent(items)
        if current is not None:
            self._agent_of[session_id] = current
        return items

    def _current_agent(self, items: list[MessageWithParts]) -> str | None:
        """The agent the messages say the session runs as now: the newest user or assistant agent, or plan switch."""
        primary = self._primary_names()
        for item in reversed(items):
            if isinstance(item.info, AssistantMessage):
                for part in reversed(item.parts):
                    if isinstance(part, ToolPart) and isinstance(part.state, ToolStateCompleted):
                        switched = part.state.metadata.get(SWITCH_KEY)
                        if switched in primary:
                            return str(switched)
                if item.info.summary:
                    continue
            if item.info.agent in primary:
                return item.info.agent
        return None

    def child_sessions(self, session_id: str) -> list[Session]:
        children = _sessions.validate_python(self._call("GET", f"/session/{session_id}/children"))
        return sorted(children, key=lambda s: s.time.created, reverse=True)

    def warm_up(self) -> None:
        """The server starts its own MCP servers; nothing to do here."""

    def services(self) -> list[ServiceStatus]:
        found: list[ServiceStatus] = []
        try:
            mcp = self._call("GET", "/mcp")  # the server waits for servers still connecting, as a step does
        except ClientError:
            mcp = {}
        for name, state in (mcp or {}).items() if isinstance(mcp, dict) else ():
            if isinstance(state, dict):
                detail = str(state.get("error") or "")
                found.append(ServiceStatus("mcp", str(name), str(state.get("status", "")), detail))
        try:
            lsp = self._call("GET", "/lsp")
        except ClientError:
            lsp = []
        for entry in lsp if isinstance(lsp, list) else ():
            if isinstance(entry, dict):
                detail = str(entry.get("error") or "")
                found.append(ServiceStatus("lsp", str(entry.get("name", "")), str(entry.get("status", "")), detail))
        return found

    def rename_session(self, session_id: str, title: str) -> Session:
        return self._keep(Session.model_validate(self._call("PATCH", f"/session/{session_id}", body={"title": title})))

    def delete_session(self, session_id: str) -> None:
        self._call("DELETE", f"/session/{session_id}")
        self._picked.pop(session_id, None)
        self._sessions.pop(session_id, None)
        self._ledgers.pop(session_id, None)

    def export_session(self, session_id: str) -> dict[str, object]:
        todos = self.todos(session_id) or None
        document = SessionExport(
            info=self.get_session(session_id), messages=self._all_messages(session_id), todos=todos
        )
        data: dict[str, object] = document.model_dump(mode="json", exclude_none=True)
        return data

    def todos(self, session_id: str) -> list[Todo]:
        return _todos.validate_python(self._call("GET", f"/session/{session_id}/todo"))

    # --- what the status line and side panel show ----------------------------------------------

    def _live(self) -> bool:
        """The event stream is open: what is kept from it is current (otherwise each answer is asked anew)."""
        return (
            self._reader is not None
            and not self._reader.done()
            and self._connected is not None
            and self._connected.is_set()
        )

    def busy(self, session_id: str) -> bool:
        if session_id in self._running:
            return True
        try:
            return self._busy(session_id)
        except ClientError as exc:  # the server went away: the status line says idle rather than the app failing
            log.warning("cannot ask %s whether %s is busy: %s", self.url, session_id, exc)
            return False

    def _busy(self, session_id: str) -> bool:
        if self._status is None or not self._live():
            statuses = self._call("GET", "/session/status")
            self._status = {
                str(sid): str(value.get("type"))
                for sid, value in (statuses.items() if isinstance(statuses, dict) else ())
                if isinstance(value, dict) and value.get("type") != "idle"
            }
        return session_id in self._status

    def usage(self, session_id: str) -> Usage:
        if session_id not in self._ledgers or not self._live():
            try:
                self._seed_ledger(session_id)
            except ClientError as exc:  # the server went away: nothing to show rather than the app failing
                log.warning("cannot read the usage of %s from %s: %s", session_id, self.url, exc)
                return Usage(tokens=0, cost=0.0)
        ledger = self._ledgers[session_id]
        cost = sum(self._ledgers[sid].cost for sid in self._family(session_id))
        return Usage(tokens=ledger.tokens, cost=cost)

    def _seed_ledger(self, session_id: str) -> None:
        ledger = Ledger()
        for item in self._all_messages(session_id):
            if isinstance(item.info, AssistantMessage):
                ledger.add(item.info)
        self._ledgers[session_id] = ledger
        for child in self.child_sessions(session_id):
            self._parent[child.id] = session_id
            self._seed_ledger(child.id)

    def _family(self, session_id: str) -> list[str]:
        found = [session_id]
        for sid in found:
            found.extend(child for child, parent in self._parent.items() if parent == sid and child not in found)
        return found

    def modified_files(self, session_id: str) -> list[str]:
        return [str(d["file"]) for d in self._diffs(session_id) if d.get("file")]

    async def file_diff(self, session_id: str, file: str) -> str:
        for diff in self._diffs(session_id):
            if diff.get("file") == file:
                patch = diff.get("patch")
                if isinstance(patch, str):
                    return patch
                return unified(file, str(diff.get("before", "")), str(diff.get("after", "")))
        raise ClientError(f"{file} was not changed in this session")

    def _diffs(self, session_id: str) -> list[dict[str, Any]]:
        data = self._call("GET", f"/session/{session_id}/diff")
        return [d for d in data if isinstance(d, dict)] if isinstance(data, list) else []

    def get_config(self) -> Config:
        from opencode.config.schema import Config

        if self._config is None:
            try:
                self._config = Config.model_validate(self._call("GET", "/config"))
            except ValidationError as exc:
                log.warning("the server's config does not parse here, defaults used: %s", exc)
                self._config = Config()
        return self._config

    # --- models and agents ---------------------------------------------------------------------

    def _provider_list(self, *, refresh: bool = False) -> dict[str, Any]:
        if self._providers is None or refresh:
            data = self._call("GET", "/config/providers")
            self._providers = data if isinstance(data, dict) else {}
        return self._providers

    def models(self) -> list[ModelChoice]:
        choices: list[ModelChoice] = []
        for provider in self._provider_list(refresh=True).get("providers") or []:
            for model_id, data in (provider.get("models") or {}).items():
                info = model_info_of(str(provider["id"]), str(model_id), data)
                name = str(provider.get("name") or provider["id"])
                choices.append(ModelChoice.of(str(provider["id"]), name, info))
        return choices

    def recent_models(self, limit: int = 10) -> list[str]:
        """Models of the latest assistant message of recent sessions, most recent first."""
        seen: dict[str, int] = {}
        for session in self.list_sessions(limit=limit):
            try:
                items = _messages.validate_python(
                    self._call("GET", f"/session/{session.id}/message", params={"limit": 4})
                )
            except ClientError:
                continue
            for item in items:
                if isinstance(item.info, AssistantMessage):
                    ref = f"{item.info.providerID}/{item.info.modelID}"
                    seen[ref] = max(seen.get(ref, 0), item.info.time.created)
        return sorted(seen, key=lambda ref: seen[ref], reverse=True)[:limit]

    def set_model(self, ref: str) -> None:
        if "/" not in ref:
            raise ClientError(f"{ref}: a model is provider/model")
        if ref not in {choice.ref for choice in self.models()}:
            raise ClientError(f"{ref}: the server has no such model (see /models)")
        self.model = ref

    def model_ref(self, session_id: str | None = None) -> str:
        try:
            return self._resolve(session_id)
        except ClientError as exc:
            return f"(no model: {exc})"

    def _resolve(self, session_id: str | None) -> str:
        if self.model:
            return self.model
        agent = self._agent(self.agent_name(session_id))
        model = agent.get("model") if agent else None
        if isinstance(model, dict) and model.get("providerID") and model.get("modelID"):
            return f"{model['providerID']}/{model['modelID']}"
        if self.get_config().model:
            return str(self.get_config().model)
        listing = self._provider_list()
        defaults = listing.get("default") or {}
        for provider in listing.get("providers") or []:
            if provider.get("id") in defaults:
                return f"{provider['id']}/{defaults[provider['id']]}"
        raise ClientError("the server has no model configured and no provider connected")

    def model_info(self, session_id: str | None = None) -> ModelInfo | None:
        try:
            provider_id, model_id = self._resolve(session_id).split("/", 1)
        except (ClientError, ValueError):
            return None
        for provider in self._provider_list().get("providers") or []:
            if provider.get("id") == provider_id:
                data = (provider.get("models") or {}).get(model_id)
                if data is not None:
                    return model_info_of(provider_id, model_id, data)
        return None

    def _agent_list(self) -> list[dict[str, Any]]:
        if self._agents is None:
            data = self._call("GET", "/agent")
            self._agents = [a for a in data if isinstance(a, dict) and a.get("name")] if isinstance(data, list) else []
        return self._agents

    def _agent(self, name: str) -> dict[str, Any] | None:
        return next((a for a in self._agent_list() if a["name"] == name), None)

    def _primary_names(self) -> set[str]:
        try:
            return {str(a["name"]) for a in self._agent_list() if a.get("mode") in ("primary", "all")}
        except ClientError:
            return set()

    def agents(self) -> list[AgentChoice]:
        choices: list[AgentChoice] = []
        for agent in self._agent_list():
            if agent.get("mode") not in ("primary", "all") or agent.get("hidden"):
                continue
            model = agent.get("model")
            ref = f"{model['providerID']}/{model['modelID']}" if isinstance(model, dict) else None
            choices.append(
                AgentChoice(name=str(agent["name"]), description=str(agent.get("description") or ""), model=ref)
            )
        return choices

    def agent_name(self, session_id: str | None = None) -> str:
        picked = self._picked.get(session_id) if session_id else None
        if picked:
            return picked
        if self.agent:
            return self.agent
        current = self._agent_of.get(session_id) if session_id else None
        return current or self._default_agent()

    def _default_agent(self) -> str:
        """Config `default_agent` when it is a visible primary agent, else build, else the first visible one."""
        try:
            names = [choice.name for choice in self.agents()]
            wanted = self.get_config().default_agent
        except ClientError:
            return "build"
        for name in (wanted, "build"):
            if name and name in names:
                return name
        return names[0] if names else "build"

    def set_agent(self, session_id: str, name: str) -> None:
        names = [choice.name for choice in self.agents()]
        if name not in names:
            raise ClientError(f"unknown agent {name!r}; primary agents: {', '.join(names) or '(none)'}")
        self._picked[session_id] = name
        self.agent = None

    # --- turns --------------------------------------------------------------------------------

    async def prompt(
        self, session_id: str, text: str, *, files: list[str] | None = None, command: str | None = None
    ) -> None:
        await self._wait_connected()
        agent = self.agent_name(session_id)
        attached = self._file_parts(files or [])
        if command is not None:
            path = f"/session/{session_id}/command"
            body: dict[str, Any] = {"command": command, "arguments": text, "agent": agent}
            if self.model:
                body["model"] = self.model
            if attached:
                body["parts"] = attached
        else:
            path = f"/session/{session_id}/message"
            body = {"parts": [{"type": "text", "text": text}, *attached], "agent": agent}
            if self.model:
                provider_id, model_id = self.model.split("/", 1)
                body["model"] = {"providerID": provider_id, "modelID": model_id}
        self._running.add(session_id)
        try:
            await self._acall("POST", path, body=body, timeout=None)
        except ClientError as exc:
            if str(exc) != "interrupted":  # aborted: the message says so; the turn just ended
                raise
        finally:
            self._running.discard(session_id)
            if self._status is not None:
                self._status.pop(session_id, None)
        if self._picked.get(session_id) == agent:
            del self._picked[session_id]  # the stored user message says which agent runs from now on
            self._agent_of[session_id] = agent

    def _file_parts(self, files: list[str]) -> list[dict[str, Any]]:
        """opencode's file part inputs (`file://` URLs) for the paths; on a local server those that are
        not files are left out (an `@name` in prose), as the in-process client does."""
        root = Path(self.directory)
        local = root.is_dir()
        parts: list[dict[str, Any]] = []
        for name in files:
            path = root / name
            if local and not path.is_file():
                continue
            mime = mimetypes.guess_type(name)[0] or "text/plain"
            parts.append({"type": "file", "mime": mime, "filename": name, "url": path.as_uri()})
        return parts

    def abort(self, session_id: str) -> bool:
        if not self.busy(session_id):  # opencode's server says true either way; the app tells the two apart
            return False
        self._call("POST", f"/session/{session_id}/abort")
        return True

    def reply_permission(self, request_id: str, reply: PermissionReply, message: str | None = None) -> bool:
        body: dict[str, Any] = {"reply": reply}
        if message:
            body["message"] = message
        return bool(self._call("POST", f"/permission/{request_id}/reply", body=body))

    def reply_question(self, request_id: str, answers: list[list[str]]) -> bool:
        return bool(self._call("POST", f"/question/{request_id}/reply", body={"answers": answers}))

    def reject_question(self, request_id: str) -> bool:
        return bool(self._call("POST", f"/question/{request_id}/reject"))

    async def undo(self, session_id: str) -> Session:
        if self.busy(session_id):
            raise ClientError("cannot undo while a turn is running: abort it first")
        users = [
            m
            for m in self.messages(session_id)
            if isinstance(m.info, UserMessage) and not all(isinstance(p, TextPart) and p.synthetic for p in m.parts)
        ]
        if not users:
            raise ClientError("nothing to undo")
        data = await self._acall("POST", f"/session/{session_id}/revert", body={"messageID": users[-1].info.id})
        return self._keep(Session.model_validate(data))

    async def redo(self, session_id: str) -> Session:
        if self.busy(session_id):
            raise ClientError("cannot redo while a turn is running")
        if self._read_session(session_id).revert is None:
            raise ClientError("nothing to redo")
        return self._keep(Session.model_validate(await self._acall("POST", f"/session/{session_id}/unrevert")))

    async def shell(self, session_id: str, command: str) -> str:
        body: dict[str, Any] = {"agent": self.agent_name(session_id), "command": command}
        if self.model:
            provider_id, model_id = self.model.split("/", 1)
            body["model"] = {"providerID": provider_id, "modelID": model_id}
        self._running.add(session_id)
        try:
            data = await self._acall("POST", f"/session/{session_id}/shell", body=body, timeout=None)
        finally:
            self._running.discard(session_id)
        parts = data.get("parts") if isinstance(data, dict) else None
        texts = [p.get("text", "") for p in parts or [] if isinstance(p, dict) and p.get("type") == "text"]
        return "\n".join(t for t in texts if isinstance(t, str))

    async def compact(self, session_id: str) -> None:
        provider_id, _, model_id = self._resolve(session_id).partition("/")
        self._running.add(session_id)
        try:
            await self._acall(
                "POST",
                f"/session/{session_id}/summarize",
                body={"providerID": provider_id, "modelID": model_id},
                timeout=None,
            )
        finally:
            self._running.discard(session_id)

    # --- the prompt box -----------------------------------------------------------------------

    async def project_files(self, *, refresh: bool = False) -> list[str]:
        """The project's files, walked directory by directory (`GET /file?path=`, ignored entries left
        out, as ripgrep leaves them out): opencode's API has no call for the whole list, and its
        `GET /find/file` stops at 200 paths, which is what is used when the walk cannot be done."""
        if self._files is not None and not refresh:
            return self._files
        try:
            files = await self._walk()
        except ClientError as exc:
            log.info("cannot walk the project's directories on %s (%s): using GET /find/file", self.url, exc)
            found = await self._aget("/find/file", {"query": "", "dirs": "false", "limit": str(FIND_FILE_CAP)})
            files = [p for p in found if isinstance(p, str) and not p.endswith("/")]
        self._files = sorted(files)
        return self._files

    async def _walk(self) -> list[str]:
        files: list[str] = []
        pending, seen, listed = ["."], {"."}, 0
        while pending and len(files) < FILE_LIST_MAX and listed < DIRECTORY_MAX:
            batch, pending = pending[:WALK_BATCH], pending[WALK_BATCH:]
            results = await asyncio.gather(
                *(self._aget("/file", {"path": path}) for path in batch), return_exceptions=True
            )
            listed += len(batch)
            for path, nodes in zip(batch, results, strict=True):
                if isinstance(nodes, BaseException):
                    if path == "." or not isinstance(nodes, ClientError):
                        raise nodes
                    continue  # a directory gone since its parent was listed
                for node in nodes:
                    if not isinstance(node, dict) or node.get("ignored") or not isinstance(node.get("path"), str):
                        continue
                    name = node["path"]
                    if node.get("type") == "directory" and name not in seen and name.count("/") < 64:
                        seen.add(name)
                        pending.append(name)
                    elif node.get("type") == "file":
                        files.append(name)
        return files[:FILE_LIST_MAX]

    async def _aget(self, path: str, params: dict[str, str]) -> Any:
        try:
            response = await self._async_client().get(path, params=params)
        except httpx.HTTPError as exc:
            raise ClientError(unreachable(self.url, exc)) from None
        data = answer(response)
        return data if isinstance(data, list) else []

    def commands(self) -> list[CommandInfo]:
        data = self._call("GET", "/command")
        found = [c for c in data if isinstance(c, dict) and c.get("name")] if isinstance(data, list) else []
        return [
            CommandInfo(str(c["name"]), str(c.get("description") or ""), str(c.get("source") or "server"))
            for c in sorted(found, key=lambda c: str(c["name"]))
        ]

    async def close(self) -> None:
        self._closed = True
        for task in (self._reader, self._resyncing):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        if self._async is not None:
            await self._async.aclose()
        self.http.close()


def visible(session: Session, items: list[MessageWithParts]) -> list[MessageWithParts]:
    """The messages without those an undo hid (from `revert.messageID` on), as opencode's own TUI shows them."""
    if session.revert is None:
        return items
    cut = next((i for i, m in enumerate(items) if m.info.id == session.revert.messageID), None)
    return items if cut is None else items[:cut]


class Ledger:
    """One session's cost (every assistant message) and context tokens (its newest step that counted any)."""

    def __init__(self) -> None:
        self.costs: dict[str, float] = {}
        self.latest: tuple[str, int] = ("", 0)

    def add(self, info: AssistantMessage) -> None:
        self.costs[info.id] = info.cost
        if info.tokens.total and info.id >= self.latest[0]:
            self.latest = (info.id, info.tokens.total)

    @property
    def cost(self) -> float:
        return sum(self.costs.values())

    @property
    def tokens(self) -> int:
        return self.latest[1]


def answer(response: httpx.Response) -> Any:
    """The JSON of a 2xx response; otherwise ClientError with the server's one-line reason."""
    if response.status_code < 300:
        if response.status_code == 204 or not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            raise ClientError(f"{response.request.url.path}: the server's answer is not JSON") from None
    if response.status_code == 401:
        raise ClientError(
            "the server wants a password: pass --password (or set OPENCODE_SERVER_PASSWORD), "
            "and --username if it is not opencode"
        )
    message = f"HTTP {response.status_code}"
    with contextlib.suppress(ValueError, AttributeError, TypeError):
        data = response.json()
        message = str((data.get("data") or {}).get("message") or data.get("message") or data.get("name") or message)
    raise ClientError(message)


def unreachable(url: str, exc: Exception) -> str:
    reason = str(exc) or type(exc).__name__
    return f"cannot reach the opencode server at {url}: {reason}"


def unified(file: str, before: str, after: str) -> str:
    import difflib

    lines = difflib.unified_diff(
        before.splitlines(keepends=True), after.splitlines(keepends=True), f"a/{file}", f"b/{file}"
    )
    return f"diff --git a/{file} b/{file}\n" + "".join(line if line.endswith("\n") else line + "\n" for line in lines)


def model_info_of(provider_id: str, model_id: str, data: Any) -> ModelInfo:
    """A catalog `ModelInfo` from a model as `GET /config/providers` lists it (opencode's shape, or models.dev's)."""
    from dataclasses import replace

    from opencode.provider.catalog import Cost, ModelInfo

    info = ModelInfo.from_dict(provider_id, model_id, data)
    if not isinstance(data, dict):
        return info
    cost, limit, caps = data.get("cost"), data.get("limit"), data.get("capabilities")
    if isinstance(cost, dict) and isinstance(cost.get("cache"), dict):
        cache = cost["cache"]
        info = replace(
            info,
            cost=Cost(
                input=info.cost.input,
                output=info.cost.output,
                cache_read=_number(cache.get("read")),
                cache_write=_number(cache.get("write")),
            ),
        )
    if isinstance(caps, dict):
        info = replace(
            info,
            tool_call=bool(caps.get("toolcall", info.tool_call)),
            reasoning=bool(caps.get("reasoning", info.reasoning)),
            attachment=bool(caps.get("attachment", info.attachment)),
            temperature=bool(caps.get("temperature", info.temperature)),
        )
    if isinstance(limit, dict) and not info.context:
        info = replace(info, context=int(_number(limit.get("context")) or 0))
    return info


def _number(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None
