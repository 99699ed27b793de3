"""The configured MCP servers of one engine: started in parallel in the background, their status, tools,
prompts and resources.

    manager = McpManager(config, cwd=cwd, bus=bus)
    manager.start()                                   # each enabled server connects in its own task
    await manager.wait_ready()                        # at most the start-up timeout, for those still connecting
    specs = manager.tool_specs(session_id, allowed)   # connected servers' tools (or `mcp_search`)
    result = await manager.execute(name, arguments, ctx)

Transports: `type: local` runs `command` over stdio (in `cwd`, with our environment plus `environment`);
`type: remote` speaks Streamable HTTP to `url` with `headers`, falling back to the older SSE transport
when the server does not speak Streamable HTTP. `{env:VAR}` in commands, environments and headers is
the variable's value ("" when unset).

Timeouts, as opencode has them: a server's `timeout` (ms) bounds its start-up (spawn or connect,
initialize, list tools; default `STARTUP_TIMEOUT`, larger than opencode's 5 s because we bound the
spawn too and an `npx` server may download first); past it the server is failed and the others go
on. Each request after that (a tool call, a prompt, a resource) gets `experimental.mcp_timeout` (ms),
else `DEFAULT_CALL_TIMEOUT` (the SDK's 60 s opencode uses). A server that dies during a call fails the
call (the model reads a tool error), is restarted once, and is reported failed if it dies again.

Remote servers with `oauth` not false get their `httpx2.Auth` from `opencode.mcp.oauth.auth_for`; a 401
without usable tokens leaves the server `needs_auth` (`opencode mcp auth NAME`).

Status per server (`status()`, and `mcp.status` on the bus at each change): connecting, connected,
failed (with the reason), needs_auth, disabled.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from opencode.mcp.tools import (
    SEARCH_TOOL,
    McpTool,
    convert_content,
    embedded,
    from_mcp,
    run_search,
    search_spec,
    to_result,
    tool_budget,
)
from opencode.tool.tool import Attachment, ToolError, ToolResult

if TYPE_CHECKING:
    from opencode.bus import Bus
    from opencode.config.schema import Config, McpLocalConfig, McpRemoteConfig
    from opencode.provider.types import ToolSpec
    from opencode.tool.tool import ToolContext

__all__ = [
    "DEFAULT_CALL_TIMEOUT",
    "STARTUP_TIMEOUT",
    "STEP_WAIT",
    "McpManager",
    "PromptInfo",
    "ResourceInfo",
    "ServerStatus",
    "enabled_servers",
    "substitute_env",
]

log = logging.getLogger("opencode.mcp")

STARTUP_TIMEOUT = 30.0
"""Seconds a server has to start, initialize and list its tools (an `npx` server may download first)."""
DEFAULT_CALL_TIMEOUT = 60.0
"""Seconds a request (a tool call, a prompt) may take when config sets no `timeout`."""
STEP_WAIT = 10.0
"""Seconds the first step of a turn waits for servers still connecting before it goes on without them."""
STDERR_TAIL = 400
"""Characters of a failed local server's stderr quoted in its status."""

State = Literal["connecting", "connected", "failed", "needs_auth", "disabled"]
_ENV = re.compile(r"\{env:([^}]+)\}")
_MENTION = re.compile(r"(?<![\w`@])@([^\s`'\"()\[\]{}<>,;!?]+)")


HEALTH_INTERVAL = 15.0
"""Seconds between pings of a connected server."""
HEALTH_TIMEOUT = 10.0
"""Seconds a ping may take before it counts as unanswered."""


class NeedsAuth(Exception):
    """The remote server answered 401 and we hold no usable tokens."""


@dataclass
class ServerStatus:
    name: str
    status: State
    error: str | None = None
    tools: int = 0
    size: int = 0
    """Characters of JSON the server's tool definitions take in a request."""
    transport: str | None = None
    """stdio, streamable-http or sse, once connected."""


@dataclass
class PromptInfo:
    """An MCP prompt, run as the slash command `/server:prompt args` (arguments in declared order)."""

    server: str
    name: str
    description: str | None
    arguments: list[tuple[str, bool]]
    """(name, required) in the order the server declares them."""

    @property
    def command(self) -> str:
        return f"{self.server}:{self.name}"


@dataclass
class ResourceInfo:
    """An MCP resource; attach it with `@server:uri` (or `@uri` when one server has it)."""

    server: str
    uri: str
    name: str
    description: str | None
    mime: str | None

    @property
    def reference(self) -> str:
        return f"{self.server}:{self.uri}"


@dataclass
class _Server:
    name: str
    config: McpLocalConfig | McpRemoteConfig
    state: State = "connecting"
    error: str | None = None
    session: Any = None
    transport: str | None = None
    tools: list[McpTool] = field(default_factory=list)
    prompts: list[PromptInfo] = field(default_factory=list)
    resources: list[ResourceInfo] = field(default_factory=list)
    task: asyncio.Task[None] | None = None
    ready: asyncio.Event = field(default_factory=asyncio.Event)
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    restarts: int = 0
    stderr: Any = None
    relisting: asyncio.Task[None] | None = None
    """The listing a `list_changed` notification started (a call waits for it, so the next step sees the list)."""


def substitute_env(value: str, environ: Mapping[str, str] | None = None) -> str:
    """`{env:VAR}` replaced by the variable's value ("" when unset), as config files have it."""
    env = os.environ if environ is None else environ
    return _ENV.sub(lambda match: env.get(match.group(1).strip(), ""), value)


def enabled_servers(config: Config) -> dict[str, McpLocalConfig | McpRemoteConfig]:
    """The servers config `mcp` defines and does not turn off (`enabled: false`), by name."""
    from opencode.config.schema import McpLocalConfig, McpRemoteConfig

    found: dict[str, McpLocalConfig | McpRemoteConfig] = {}
    for name, conf in (config.mcp or {}).items():
        if isinstance(conf, McpLocalConfig | McpRemoteConfig) and conf.enabled is not False:
            found[name] = conf
    return found


class McpManager:
    def __init__(
        self,
        config: Config,
        *,
        cwd: Path,
        bus: Bus | None = None,
        environ: Mapping[str, str] | None = None,
        startup_timeout: float | None = None,
    ) -> None:
        from opencode.config.schema import McpToggleConfig

        self.config = config
        self.cwd = cwd
        self.bus = bus
        self.environ = dict(os.environ if environ is None else environ)
        self.startup_timeout = STARTUP_TIMEOUT if startup_timeout is None else startup_timeout
        self.health_interval = HEALTH_INTERVAL
        """Seconds between pings of each connected server (a server that died while idle is noticed)."""
        self.health_timeout = HEALTH_TIMEOUT
        self.servers: dict[str, _Server] = {}
        self.disabled: list[str] = []
        for name, conf in (config.mcp or {}).items():
            if isinstance(conf, McpToggleConfig) or conf.enabled is False:
                self.disabled.append(name)
            else:
                self.servers[name] = _Server(name, conf)
        self._by_tool: dict[str, McpTool] = {}
        self._known: set[str] = set()
        """Every tool name a server listed: a call of one while its server restarts waits for it."""
        self._loaded: dict[str, set[str]] = {}
        """Per session: the tools `mcp_search` loaded (past the budget)."""
        self._started = False
        self._background: set[asyncio.Task[Any]] = set()

    # --- lifecycle ---------------------------------------------------------------------------

    def start(self) -> None:
        """Start every enabled server in its own task (once); returns at once."""
        if self._started:
            return
        self._started = True
        for server in self.servers.values():
            self._launch(server)

    def _launch(self, server: _Server) -> None:
        if server.ready.is_set():
            server.ready = asyncio.Event()
        server.stop = asyncio.Event()
        server.state, server.error = "connecting", None
        self._publish(server)
        server.task = asyncio.create_task(self._run(server), name=f"mcp:{server.name}")
        watchdog = asyncio.create_task(self._watch_startup(server, server.task))
        self._background.add(watchdog)
        watchdog.add_done_callback(self._background.discard)

    async def wait_ready(self, timeout: float | None = None) -> None:
        """Wait until no server is still connecting, at most `timeout` seconds (default: the start-up timeout)."""
        self.start()
        connecting = [s for s in self.servers.values() if s.state == "connecting"]
        if connecting:
            # A little past the start-up timeouts, so the servers that missed theirs are reported failed by then.
            longest = max(self.startup_timeout_of(s) for s in connecting) + 0.25
            waits = [asyncio.ensure_future(s.ready.wait()) for s in connecting]
            try:
                await asyncio.wait(waits, timeout=longest if timeout is None else timeout)
            finally:
                for wait in waits:
                    wait.cancel()

    async def ready_for_step(self) -> None:
        """What a step waits before it builds its request: the servers still connecting, at most
        `STEP_WAIT` seconds; one that takes longer joins from a later step (each step reads the tools anew)."""
        await self.wait_ready(
            min(STEP_WAIT, max((self.startup_timeout_of(s) for s in self.servers.values()), default=0) + 0.25)
        )

    async def close(self) -> None:
        """Stop every server (their processes end, HTTP sessions are closed)."""
        tasks = []
        for server in self.servers.values():
            server.stop.set()
            if server.task is not None and not server.task.done():
                tasks.append(server.task)
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=5.0)
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.wait(pending, timeout=2.0)
        for task in list(self._background):
            task.cancel()

    async def _watch_startup(self, server: _Server, task: asyncio.Task[None]) -> None:
        ready = asyncio.ensure_future(server.ready.wait())
        try:
            await asyncio.wait(
                {ready, task}, timeout=self.startup_timeout_of(server), return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            ready.cancel()
        if not server.ready.is_set() and not task.done():
            limit = self.startup_timeout_of(server)
            self._set(server, "failed", f"did not start within {limit:g} s{self._stderr_tail(server)}")
            task.cancel()  # its process is stopped in the background
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self, server: _Server) -> None:
        """The server's connection, held open in this task until `stop` (or until it breaks)."""
        try:
            async with contextlib.AsyncExitStack() as stack:
                session = await self._connect(server, stack)
                await self._refresh(server, session)
                server.session = session
                self._set(server, "connected")
                await self._watch(server, session)
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if current is None or current.cancelling():
                raise
            # The transport cancelled us without saying why (its connection ended).
            if server.state == "connecting":
                self._set(server, "failed", "the connection closed while starting" + self._stderr_tail(server))
        except NeedsAuth:
            self._set(server, "needs_auth", f"sign in with `opencode mcp auth {server.name}`")
        except (Exception, BaseExceptionGroup) as exc:  # the SDK wraps failures in exception groups
            if server.task is not asyncio.current_task():
                log.info("MCP server %s: an earlier connection ended: %s", server.name, _reason(exc))
            elif server.state == "connected" or server.stop.is_set():
                log.info("MCP server %s closed: %s", server.name, _reason(exc))
            else:
                self._set(server, "failed", _reason(exc) + self._stderr_tail(server))
        finally:
            if server.task is asyncio.current_task():  # not a connection a restart has replaced
                server.session = None
                if server.state != "connecting":  # a restart's waiters wait for the new connection
                    server.ready.set()
                if server.stderr is not None:
                    server.stderr.close()
                    server.stderr = None

    async def _watch(self, server: _Server, session: Any) -> None:
        """Held while connected: a ping every `health_interval` seconds notices a server that died
        while idle (restarted once, as after a crash in a call). A ping that goes unanswered twice in
        a row counts as dead too; one slow answer does not."""
        misses = 0
        while not server.stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(server.stop.wait(), self.health_interval)
                return
            if server.session is not session:
                return  # a call saw it die first and a restart is under way
            try:
                await asyncio.wait_for(session.send_ping(), self.health_timeout)
                misses = 0
                continue
            except TimeoutError:
                misses += 1
                if misses < 2:
                    continue
                reason = "did not answer two pings"
            except Exception as exc:
                reason = _reason(exc)
            if server.session is session and not server.stop.is_set():
                log.info("MCP server %s stopped while idle: %s", server.name, reason)
                self._server_died(server)
            return

    def _set(self, server: _Server, state: State, error: str | None = None) -> None:
        server.state, server.error = state, error
        if state != "connected":
            server.tools = []
        if state != "connecting":
            server.ready.set()
        self._reindex()
        self._publish(server)

    def _publish(self, server: _Server) -> None:
        if self.bus is None:
            return
        from opencode.bus import McpStatus

        self.bus.publish(McpStatus(server=server.name, status=server.state, error=server.error))

    def _stderr_tail(self, server: _Server) -> str:
        handle = server.stderr
        if handle is None:
            return ""
        try:
            handle.flush()
            text = Path(handle.name).read_text("utf-8", errors="replace").strip()
        except (OSError, ValueError):
            return ""
        if not text:
            return ""
        return f"; stderr: {text[-STDERR_TAIL:]}"

    # --- transports --------------------------------------------------------------------------

    def startup_timeout_of(self, server: _Server) -> float:
        """Seconds to start, initialize and list tools: the server's `timeout` (ms), else `STARTUP_TIMEOUT`."""
        ms = server.config.timeout
        return ms / 1000 if ms else self.startup_timeout

    def call_timeout(self, server: _Server) -> float:
        """Seconds a request may take: `experimental.mcp_timeout` (ms), else `DEFAULT_CALL_TIMEOUT`."""
        ms = self.config.experimental.mcp_timeout if self.config.experimental is not None else None
        return ms / 1000 if ms else DEFAULT_CALL_TIMEOUT

    async def _connect(self, server: _Server, stack: contextlib.AsyncExitStack) -> Any:
        from opencode.config.schema import McpLocalConfig

        if isinstance(server.config, McpLocalConfig):
            return await self._connect_stdio(server, server.config, stack)
        return await self._connect_remote(server, server.config, stack)

    async def _session(self, server: _Server, streams: Any, stack: contextlib.AsyncExitStack) -> Any:
        from mcp.client.session import ClientSession

        async def on_message(message: Any) -> None:
            self._on_message(server, message)

        session = await stack.enter_async_context(
            # No session-wide read timeout: start-up has its own (the watchdog), calls theirs (`call_timeout`).
            ClientSession(streams[0], streams[1], message_handler=on_message)
        )
        await session.initialize()
        return session

    async def _connect_stdio(self, server: _Server, conf: McpLocalConfig, stack: contextlib.AsyncExitStack) -> Any:
        from mcp.client.stdio import StdioServerParameters, stdio_client

        command = [substitute_env(part, self.environ) for part in conf.command]
        if not command or not command[0]:
            raise ValueError("`command` is empty: give the program to run and its arguments")
        env = {**self.environ, **{k: substitute_env(v, self.environ) for k, v in (conf.environment or {}).items()}}
        cwd = Path(substitute_env(conf.cwd, self.environ)) if conf.cwd else self.cwd
        if not cwd.is_absolute():
            cwd = self.cwd / cwd
        server.stderr = tempfile.NamedTemporaryFile(  # noqa: SIM115 (closed when `_run` ends)
            "w+", prefix=f"mcp-{_safe(server.name)}-", suffix=".log", encoding="utf-8"
        )
        params = StdioServerParameters(command=command[0], args=command[1:], env=env, cwd=cwd)
        try:
            streams = await stack.enter_async_context(stdio_client(params, errlog=server.stderr))
        except OSError as exc:
            raise ValueError(f"cannot run {command[0]!r}: {exc.strerror or exc}") from None
        server.transport = "stdio"
        return await self._session(server, streams, stack)

    async def _connect_remote(self, server: _Server, conf: McpRemoteConfig, stack: contextlib.AsyncExitStack) -> Any:
        import httpx2
        from mcp.client.sse import sse_client
        from mcp.client.streamable_http import streamable_http_client
        from mcp.shared._httpx_utils import create_mcp_http_client

        url = substitute_env(conf.url, self.environ)
        headers = {k: substitute_env(v, self.environ) for k, v in (conf.headers or {}).items()}
        auth = self._auth(server.name, url, conf)
        timeout = httpx2.Timeout(self.call_timeout(server), read=300.0)
        attempt = contextlib.AsyncExitStack()
        seen: list[int] = []  # the HTTP statuses the Streamable HTTP attempt got (the SDK hides them in errors)

        async def record(response: httpx2.Response) -> None:
            seen.append(response.status_code)

        try:
            client = await attempt.enter_async_context(create_mcp_http_client(headers, timeout, auth))
            client.event_hooks["response"].append(record)
            streams = await attempt.enter_async_context(streamable_http_client(url, http_client=client))
            session = await self._session(server, streams, attempt)
        except BaseException as caught:
            exc: BaseException = caught
            try:
                await attempt.aclose()
            except BaseException as closing:  # the transport's own error, which cancelled the request
                exc = closing
            current = asyncio.current_task()
            if isinstance(exc, asyncio.CancelledError) and current is not None and current.cancelling():
                raise exc from None  # we were cancelled (the start-up timeout, a close)
            status = _http_status(exc)
            if status == 401 or 401 in seen or _needs_auth(exc):
                raise self._unauthorized(conf) from None
            if not ({400, 404, 405} & {*seen, status or 0}):
                raise exc from None
            log.info("MCP server %s: no Streamable HTTP (%s); trying SSE", server.name, seen)
        else:
            stack.push_async_exit(attempt)
            server.transport = "streamable-http"
            return session
        try:
            streams = await stack.enter_async_context(sse_client(url, headers=headers, auth=auth))
            session = await self._session(server, streams, stack)
        except BaseException as exc:
            if _http_status(exc) == 401 or _needs_auth(exc):
                raise self._unauthorized(conf) from None
            raise
        server.transport = "sse"
        return session

    def _unauthorized(self, conf: McpRemoteConfig) -> Exception:
        if conf.oauth is False:  # no OAuth: the headers carry the credentials
            return PermissionError("the server answered 401 Unauthorized: check the headers (an API key?)")
        return NeedsAuth()

    def _auth(self, name: str, url: str, conf: McpRemoteConfig) -> Any:
        if conf.oauth is False:
            return None
        try:
            from opencode.mcp.oauth import auth_for  # type: ignore[attr-defined, unused-ignore]
        except ImportError:
            return None
        try:
            return auth_for(name, url, conf.oauth or None, interactive=False)
        except Exception as exc:  # tokens unreadable, a broken store: connect without and let the server say
            log.warning("MCP server %s: OAuth unavailable: %s", name, exc)
            return None

    # --- lists -------------------------------------------------------------------------------

    async def _refresh(
        self, server: _Server, session: Any, *, what: tuple[str, ...] = ("tools", "prompts", "resources")
    ) -> None:
        caps = session.server_capabilities
        if "tools" in what:
            tools: list[McpTool] = []
            if caps is None or caps.tools is not None:
                cursor = None
                while True:
                    listed = await session.list_tools(params=_page(cursor))
                    tools += [from_mcp(server.name, tool) for tool in listed.tools]
                    cursor = listed.next_cursor
                    if not cursor:
                        break
            server.tools = tools
        if "prompts" in what and caps is not None and caps.prompts is not None:
            listed_prompts = await session.list_prompts()
            server.prompts = [
                PromptInfo(
                    server.name,
                    p.name,
                    p.description,
                    [(a.name, bool(a.required)) for a in p.arguments or []],
                )
                for p in listed_prompts.prompts
            ]
        if "resources" in what and caps is not None and caps.resources is not None:
            listed_resources = await session.list_resources()
            server.resources = [
                ResourceInfo(server.name, str(r.uri), r.name, r.description, r.mime_type)
                for r in listed_resources.resources
            ]
        self._reindex()

    def _on_message(self, server: _Server, message: Any) -> None:
        import mcp.types as types

        kinds = {
            types.ToolListChangedNotification: "tools",
            types.PromptListChangedNotification: "prompts",
            types.ResourceListChangedNotification: "resources",
        }
        what = next((kind for cls, kind in kinds.items() if isinstance(message, cls)), None)
        if what is None or server.session is None:
            return
        # Not here: the handler runs on the connection's read loop, which the listing needs.
        task = asyncio.create_task(self._relist(server, what))
        server.relisting = task
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _relist(self, server: _Server, what: str) -> None:
        session = server.session
        if session is None:
            return
        try:
            await asyncio.wait_for(self._refresh(server, session, what=(what,)), self.call_timeout(server))
        except Exception as exc:
            log.warning("MCP server %s: listing %s again failed: %s", server.name, what, exc)
            return
        if what == "tools" and self.bus is not None:
            from opencode.bus import McpToolsChanged

            self.bus.publish(McpToolsChanged(server=server.name))
            self._publish(server)

    def _reindex(self) -> None:
        self._by_tool = {tool.name: tool for s in self.servers.values() if s.state == "connected" for tool in s.tools}
        self._known.update(self._by_tool)

    # --- what faces and the engine read ---------------------------------------------------------

    def status(self) -> dict[str, ServerStatus]:
        found = {
            name: ServerStatus(
                name,
                s.state,
                s.error,
                tools=len(s.tools),
                size=sum(t.size for t in s.tools),
                transport=s.transport if s.state == "connected" else None,
            )
            for name, s in self.servers.items()
        }
        for name in self.disabled:
            found[name] = ServerStatus(name, "disabled")
        return found

    def tools(self) -> list[McpTool]:
        """Every tool of the connected servers."""
        return list(self._by_tool.values())

    def owns(self, name: str) -> bool:
        """Whether `name` is an MCP tool (or `mcp_search`) this manager runs."""
        return name in self._by_tool or name in self._known or (name == SEARCH_TOOL and bool(self._by_tool))

    def read_only(self, name: str) -> bool:
        tool = self._by_tool.get(name)
        return name == SEARCH_TOOL or (tool is not None and tool.read_only)

    def tool_specs(self, session_id: str, allowed: Callable[[str], bool] | None = None) -> list[ToolSpec]:
        """The connected servers' tools `allowed` accepts; past the tool budget, `mcp_search` and the
        tools it loaded for this session instead."""
        tools = [t for t in self._by_tool.values() if allowed is None or allowed(t.name)]
        if not tools:
            return []
        if sum(t.size for t in tools) <= tool_budget():
            return [t.spec() for t in tools]
        loaded = self._loaded.get(session_id, set())
        servers = sorted({t.server for t in tools})
        return [search_spec(servers, len(tools)), *(t.spec() for t in tools if t.name in loaded)]

    def prompts(self) -> list[PromptInfo]:
        return [p for s in self.servers.values() if s.state == "connected" for p in s.prompts]

    def resources(self) -> list[ResourceInfo]:
        return [r for s in self.servers.values() if s.state == "connected" for r in s.resources]

    # --- calls -----------------------------------------------------------------------------

    async def execute(
        self,
        name: str,
        arguments: dict[str, Any] | None,
        ctx: ToolContext,
        *,
        parse_error: str | None = None,
        allowed: Callable[[str], bool] | None = None,
    ) -> ToolResult:
        """Run an MCP tool (or `mcp_search`) for the model: permission asked (key: the tool's name),
        errors as `ToolError`."""
        from opencode.tool.tool import PermissionRequest

        if parse_error is not None:
            raise ToolError(f"the arguments of tool '{name}' were not valid JSON: {parse_error}. Send a JSON object.")
        received: object = arguments
        if received is not None and not isinstance(received, dict):
            raise ToolError(
                f"invalid arguments for tool '{name}': expected a JSON object, got {type(received).__name__}"
            )
        if name == SEARCH_TOOL:
            tools = [t for t in self._by_tool.values() if allowed is None or allowed(t.name)]
            return run_search(tools, self._loaded.setdefault(ctx.session_id, set()), arguments or {})
        tool = self._by_tool.get(name)
        if tool is None and any(s.state == "connecting" for s in self.servers.values()):
            await self.wait_ready()  # a server restarting after a crash
            tool = self._by_tool.get(name)
        if tool is None:
            raise ToolError(f"the MCP tool '{name}' is not available now (its server is not connected)")
        await ctx.ask(
            PermissionRequest(
                permission=name,
                patterns=["*"],
                title=f"{tool.server}: {tool.remote_name}",
                metadata={"input": arguments or {}},
                always=["*"],
            )
        )
        server = self.servers[tool.server]
        session = server.session
        if session is None:
            raise ToolError(f"the MCP server '{tool.server}' is not connected ({server.state})")
        ctx.check_abort()
        call = asyncio.ensure_future(
            session.call_tool(tool.remote_name, arguments or {}, read_timeout_seconds=self.call_timeout(server))
        )
        aborted = asyncio.ensure_future(ctx.abort.wait())
        try:
            await asyncio.wait({call, aborted}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            aborted.cancel()
        if not call.done():
            call.cancel()
            with contextlib.suppress(BaseException):
                await call
            from opencode.tool.tool import Aborted

            raise Aborted("aborted")
        try:
            result = call.result()
        except Exception as exc:
            raise self._call_failed(server, tool, exc) from None
        relisting = server.relisting
        if relisting is not None and not relisting.done():
            await asyncio.wait([relisting], timeout=self.call_timeout(server))
        converted = to_result(result, f"{tool.server}: {tool.remote_name}")
        from opencode.tool.truncate import default_save_dir, truncate

        capped = truncate(converted.output, save_dir=default_save_dir(ctx.data_dir))  # as the registry caps ours
        if capped.truncated:
            converted.output = capped.text
            converted.metadata.update(truncated=True, outputPath=str(capped.saved) if capped.saved else None)
        return converted

    def _call_failed(self, server: _Server, tool: McpTool, exc: Exception) -> ToolError:
        from mcp.shared.exceptions import MCPError
        from mcp.types import CONNECTION_CLOSED, REQUEST_TIMEOUT

        if isinstance(exc, MCPError) and exc.code == REQUEST_TIMEOUT:
            return ToolError(
                f"the MCP tool '{tool.name}' did not answer within {self.call_timeout(server):g} s "
                "(config `experimental.mcp_timeout`, in ms, allows more)"
            )
        if isinstance(exc, MCPError) and exc.code != CONNECTION_CLOSED:
            return ToolError(f"the MCP server '{server.name}' answered with an error: {exc.error.message}")
        # The connection is gone: restart once, then report the server failed.
        self._server_died(server)
        again = "it is restarting" if server.state == "connecting" else "it stopped again and is not restarted"
        return ToolError(f"the MCP server '{server.name}' stopped during the call to {tool.remote_name} ({again})")

    def _server_died(self, server: _Server) -> None:
        if server.state == "connecting":
            return  # another call saw it die first: the restart is under way
        server.stop.set()
        server.session = None
        if server.restarts >= 1:
            self._set(server, "failed", f"stopped again after a restart{self._stderr_tail(server)}")
            return
        server.restarts += 1
        server.ready = asyncio.Event()  # waiters (the next call, the next step) wait for the restart
        self._set(server, "connecting")
        old = server.task

        async def restart() -> None:
            if old is not None:
                with contextlib.suppress(BaseException):
                    await asyncio.wait_for(asyncio.shield(old), timeout=5.0)
            self._launch(server)

        task = asyncio.create_task(restart())
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def get_prompt(self, command: str, arguments: list[str]) -> str:
        """The text of the prompt `server:prompt` with `arguments` given to its declared arguments in order."""
        prompt = next((p for p in self.prompts() if p.command == command), None)
        if prompt is None:
            raise ToolError(f"no MCP prompt {command}")
        server = self.servers[prompt.server]
        given = dict(zip((a for a, _ in prompt.arguments), arguments, strict=False))
        if len(arguments) > len(prompt.arguments) and prompt.arguments:
            given[prompt.arguments[-1][0]] = " ".join(arguments[len(prompt.arguments) - 1 :])
        missing = [name for name, required in prompt.arguments if required and name not in given]
        if missing:
            usage = " ".join(f"<{n}>" if r else f"[{n}]" for n, r in prompt.arguments)
            raise ToolError(f"/{command} needs {', '.join(missing)}: /{command} {usage}")
        if server.session is None:
            raise ToolError(f"the MCP server '{server.name}' is not connected")
        result = await asyncio.wait_for(server.session.get_prompt(prompt.name, given), self.call_timeout(server))
        texts, _ = convert_content([message.content for message in result.messages])
        return "\n\n".join(t for t in texts if t)

    async def expand_mentions(self, text: str, files: list[Attachment]) -> tuple[str, list[Attachment]]:
        """`@server:uri` (or `@uri`) mentions of MCP resources in a prompt: their text added after the
        prompt's, their images and PDFs attached; a mention that names no resource stays as typed."""
        wanted = [m for m in dict.fromkeys(_MENTION.findall(text)) if "://" in m]
        if not wanted:
            return text, files
        await self.wait_ready()
        blocks: list[str] = []
        attached = list(files)
        for mention in wanted:
            reference = mention.rstrip(".:")
            if self.find_resource(reference) is None:
                continue
            try:
                body, extra = await self.read_resource(reference)
            except Exception as exc:  # a server error: the prompt goes on, saying so
                log.warning("MCP resource %s unreadable: %s", reference, exc)
                blocks.append(f"(MCP resource {reference} could not be read: {exc})")
                continue
            blocks.append(body)
            attached += extra
        return "\n\n".join([text, *blocks]) if blocks else text, attached

    def find_resource(self, reference: str) -> ResourceInfo | None:
        """The resource `server:uri`, or `uri` when a connected server lists it."""
        for resource in self.resources():
            if reference in (resource.reference, resource.uri):
                return resource
        return None

    async def read_resource(self, reference: str) -> tuple[str, list[Attachment]]:
        """A resource's text (with a header naming it) and its binary contents as attachments."""
        resource = self.find_resource(reference)
        if resource is None:
            raise ToolError(f"no MCP resource {reference}")
        server = self.servers[resource.server]
        if server.session is None:
            raise ToolError(f"the MCP server '{server.name}' is not connected")
        result = await asyncio.wait_for(server.session.read_resource(resource.uri), self.call_timeout(server))
        texts: list[str] = []
        attachments: list[Attachment] = []
        for contents in result.contents:
            embedded(contents, texts, attachments)
        return "\n\n".join(texts), attachments


def _page(cursor: str | None) -> Any:
    if not cursor:
        return None
    from mcp.types import PaginatedRequestParams

    return PaginatedRequestParams(cursor=cursor)


def _safe(name: str) -> str:
    return re.sub(r"[^a-zA-Z0-9_-]", "_", name)[:32]


def _leaves(exc: BaseException) -> list[BaseException]:
    if isinstance(exc, BaseExceptionGroup):
        return [leaf for inner in exc.exceptions for leaf in _leaves(inner)]
    found = [exc]
    if exc.__cause__ is not None:
        found += _leaves(exc.__cause__)
    return found


def _needs_auth(exc: BaseException) -> bool:
    """Whether the OAuth helper's `NeedsAuth` is inside `exc` (no usable tokens for a 401)."""
    try:
        from opencode.mcp.oauth import find_needs_auth  # type: ignore[attr-defined, unused-ignore]
    except ImportError:
        return False
    return find_needs_auth(exc) is not None


def _http_status(exc: BaseException) -> int | None:
    for leaf in _leaves(exc):
        response = getattr(leaf, "response", None)
        code = getattr(response, "status_code", None)
        if isinstance(code, int):
            return code
    return None


def _reason(exc: BaseException) -> str:
    """One line saying why a connection failed, from the innermost errors of an exception group."""
    leaves = [leaf for leaf in _leaves(exc) if not isinstance(leaf, asyncio.CancelledError)] or [exc]
    parts: list[str] = []
    for leaf in leaves:
        said = str(leaf).strip()
        text = said.splitlines()[0] if said else type(leaf).__name__
        # Our own errors say it all; others get their type (an httpx ConnectError, an MCPError).
        line = text if isinstance(leaf, ValueError | PermissionError) or not said else f"{type(leaf).__name__}: {text}"
        if line not in parts:
            parts.append(line)
    return "; ".join(parts)[:300] or repr(exc)
