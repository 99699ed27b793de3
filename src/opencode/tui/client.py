"""What the terminal UI needs from an engine, as one interface: `Client`.

    client = EngineClient(engine, model="anthropic/claude-sonnet-4-5", agent="build")
    remove = client.subscribe(handler)        # every bus event, called inline: keep it cheap
    session = client.create_session()
    await client.prompt(session.id, "fix the tests")   # returns when the turn ends or is aborted
    client.abort(session.id)

`EngineClient` runs the engine in this process. A client for `opencode attach <url>` implements
the same methods over HTTP (the server's SSE stream feeds `subscribe`), so the app never knows
which one it talks to. No widget calls the engine directly.

This module imports no Textual: the engine side of the TUI can be tested and reused without it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, Protocol

from opencode.agent.actions import ActionError

if TYPE_CHECKING:
    from collections.abc import Coroutine

    from opencode.agent.engine import Engine
    from opencode.bus import BusEvent
    from opencode.config.schema import Config
    from opencode.provider.catalog import ModelInfo
    from opencode.session.model import MessageWithParts, Session, Todo

PermissionReply = Literal["once", "always", "reject"]


@dataclass(frozen=True)
class Usage:
    """A session's tokens (the last step's context: input, output and cache) and dollars spent."""

    tokens: int
    cost: float


ClientError = ActionError
"""Something the user asked for cannot be done (nothing to undo, the session is busy); one line. The
engine's `ActionError`: the same class, whether the engine said it here or a server said it over HTTP."""


class Client(Protocol):
    """The engine API the TUI uses; implemented in-process (`EngineClient`) and, later, over HTTP."""

    @property
    def directory(self) -> str: ...

    def subscribe(self, handler: Callable[[BusEvent], None]) -> Callable[[], None]:
        """Call `handler` with every event (in the app's event loop); returns the function that stops it."""
        ...

    def create_session(self) -> Session: ...

    def list_sessions(self, limit: int = 50) -> list[Session]: ...

    def get_session(self, session_id: str) -> Session: ...

    def messages(self, session_id: str) -> list[MessageWithParts]:
        """The session's visible messages (those an undo hides left out), oldest first."""
        ...

    def model_ref(self, session_id: str | None = None) -> str:
        """`provider/model` the next prompt uses."""
        ...

    def agent_name(self, session_id: str | None = None) -> str:
        """The agent the next prompt runs as."""
        ...

    def usage(self, session_id: str) -> Usage: ...

    def busy(self, session_id: str) -> bool: ...

    async def prompt(
        self, session_id: str, text: str, *, files: list[str] | None = None, command: str | None = None
    ) -> None:
        """One turn; returns when it ends, fails (the error is on the message) or is aborted.

        `files`: paths (relative to `directory`) attached as `opencode run -f` attaches them; those
        that are not files are skipped (an `@name` in prose). `command`: run the custom command of
        that name with `text` as its arguments (its template expanded; its agent and model apply)."""
        ...

    def abort(self, session_id: str) -> bool:
        """Stop the running turn; False when none is running."""
        ...

    def reply_permission(self, request_id: str, reply: PermissionReply, message: str | None = None) -> bool: ...

    def reply_question(self, request_id: str, answers: list[list[str]]) -> bool: ...

    def reject_question(self, request_id: str) -> bool: ...

    async def undo(self, session_id: str) -> Session:
        """Revert the last visible user message and what followed it (files and messages)."""
        ...

    async def redo(self, session_id: str) -> Session:
        """Bring back what the last undo hid."""
        ...

    async def close(self) -> None: ...

    # --- pickers (/sessions, /models, /agents, Tab) ---

    def rename_session(self, session_id: str, title: str) -> Session:
        """Give the session a new title (stored, and published as session.updated)."""
        ...

    def delete_session(self, session_id: str) -> None:
        """Delete the session, its messages and its subagent sessions; refused while a turn runs in it."""
        ...

    def models(self) -> list[ModelChoice]:
        """The models of the connected providers, with context window and prices."""
        ...

    def recent_models(self, limit: int = 10) -> list[str]:
        """`provider/model` refs used in stored sessions, most recently used first."""
        ...

    def set_model(self, ref: str) -> None:
        """Use `provider/model` for the next prompts; ClientError when it cannot be used."""
        ...

    def agents(self) -> list[AgentChoice]:
        """The primary agents the user can talk to, in the order Tab cycles them."""
        ...

    def set_agent(self, session_id: str, name: str) -> None:
        """Run the session's next prompt as `name` (a primary agent); ClientError when there is none by that name."""
        ...

    # --- the prompt box: @files, /commands, !shell, /compact, /export ---

    async def project_files(self, *, refresh: bool = False) -> list[str]:
        """The project's files relative to `directory`, as ripgrep lists them (ignore files honoured,
        hidden files in, `.git` out), sorted; listed once and cached until `refresh`. Connected MCP
        servers' resources follow, as `server:uri` (an `@` mention of one attaches it)."""
        ...

    def commands(self) -> list[CommandInfo]:
        """The commands `/name` runs through `prompt(command=name)`: built-in `init` and the user's own."""
        ...

    async def shell(self, session_id: str, command: str) -> str:
        """Run `command` in the project directory (bash, timed out, output capped) and add a user
        message saying what ran and what it printed, for the model to see on the next turn; returns that text."""
        ...

    async def compact(self, session_id: str) -> None:
        """Summarise the conversation so far (the engine's compaction); ClientError when it fails."""
        ...

    def export_session(self, session_id: str) -> dict[str, object]:
        """The session with every message and part, as `opencode export` writes it (JSON-ready)."""
        ...

    # --- the side panel, themes and keybinds ---

    def get_config(self) -> Config:
        """The merged configuration (the TUI reads `theme`, `keybinds` and `tui` from it)."""
        ...

    def model_info(self, session_id: str | None = None) -> ModelInfo | None:
        """The catalog's facts (context window, prices) on the model the next prompt uses; None when unresolved."""
        ...

    def todos(self, session_id: str) -> list[Todo]:
        """The session's todo list, as the `todowrite` tool left it."""
        ...

    def modified_files(self, session_id: str) -> list[str]:
        """Files the session's visible steps changed (any tool, bash included), relative to `directory`,
        in the order they were first changed."""
        ...

    async def file_diff(self, session_id: str, file: str) -> str:
        """Unified diff of `file` from before the session first changed it to after its last step;
        ClientError when snapshots are off or gone."""
        ...

    # --- sub-agent sessions ---

    def child_sessions(self, session_id: str) -> list[Session]:
        """The sessions sub-agents ran in for `session_id` (its `task` calls), newest first."""
        ...

    # --- services ---

    def services(self) -> list[ServiceStatus]:
        """The MCP servers and language servers with their state (none when none is configured or started).
        May wait for servers still connecting (over HTTP): call it off the UI's thread."""
        ...

    def warm_up(self) -> None:
        """Start in the background what the first prompt would wait for (the MCP servers); returns at once.
        Called on the event loop's thread when the app starts."""
        ...


class EngineClient:
    """`Client` over an `Engine` in this process (built with `interactive=True`, so asks wait for replies)."""

    def __init__(self, engine: Engine, *, model: str | None = None, agent: str | None = None) -> None:
        self.engine = engine
        self.model = model
        self.agent = agent
        self._picked: dict[str, str] = {}
        """Session -> the agent picked for its next prompt (`set_agent`); dropped once a prompt ran as it."""
        self._files: list[str] | None = None
        """The project's file list for `@` completion (`project_files`), once listed."""

    @property
    def directory(self) -> str:
        return str(self.engine.cwd)

    def subscribe(self, handler: Callable[[BusEvent], None]) -> Callable[[], None]:
        return self.engine.bus.on(handler)

    def create_session(self) -> Session:
        return self.engine.create_session()

    def list_sessions(self, limit: int = 50) -> list[Session]:
        return self.engine.store.list_sessions(limit=limit, directory=str(self.engine.cwd), roots=True)

    def get_session(self, session_id: str) -> Session:
        return self.engine.store.get_session(session_id)

    def messages(self, session_id: str) -> list[MessageWithParts]:
        from opencode.agent.actions import visible

        return visible(self.engine, session_id)

    def agent_name(self, session_id: str | None = None) -> str:
        picked = self._picked.get(session_id) if session_id else None
        if picked:
            return picked
        if self.agent:
            return self.agent
        current = self.engine.current_agent(session_id) if session_id else None
        return current or self.engine.default_agent()

    def model_ref(self, session_id: str | None = None) -> str:
        try:
            return self.engine.resolve_model(self.model, self.agent_name(session_id)).ref
        except Exception as exc:  # no model configured: say so on the status line rather than fail
            return f"(no model: {exc})"

    def usage(self, session_id: str) -> Usage:
        from opencode.session.model import AssistantMessage

        tokens = 0
        for item in reversed(self.engine.store.list_messages(session_id)):
            info = item.info
            if isinstance(info, AssistantMessage) and info.tokens.total:
                tokens = info.tokens.total  # the last step's request covers the whole context so far
                break
        return Usage(tokens=tokens, cost=self.engine.session_cost(session_id))

    def busy(self, session_id: str) -> bool:
        """A job of a face runs in the session, or the engine runs a turn (a sub-agent's, started by its task)."""
        return self.engine.jobs.busy(session_id)

    async def prompt(
        self, session_id: str, text: str, *, files: list[str] | None = None, command: str | None = None
    ) -> None:
        agent = self.agent_name(session_id)

        async def turn(abort: asyncio.Event) -> object:
            return await self._turn(session_id, text, agent, abort, files=files or [], command=command)

        failed = True
        try:
            await self.engine.jobs.run(session_id, turn)
            failed = False
        except ClientError as exc:
            if str(exc) != "interrupted":
                raise
            failed = False  # aborted by the user: the engine marked the message aborted
        finally:
            self._prompted_as(session_id, agent, failed=failed)

    def abort(self, session_id: str) -> bool:
        return self.engine.jobs.abort(session_id)

    def reply_permission(self, request_id: str, reply: PermissionReply, message: str | None = None) -> bool:
        return self.engine.permissions.reply(request_id, reply, message)

    def reply_question(self, request_id: str, answers: list[list[str]]) -> bool:
        return self.engine.reply_question(request_id, answers)

    def reject_question(self, request_id: str) -> bool:
        return self.engine.reject_question(request_id)

    async def undo(self, session_id: str) -> Session:
        from opencode.agent.actions import undo

        return await undo(self.engine, session_id)

    async def redo(self, session_id: str) -> Session:
        from opencode.agent.actions import redo

        return await redo(self.engine, session_id)

    async def close(self) -> None:
        await self.engine.jobs.close()
        await self.engine.drain()

    # --- pickers (/sessions, /models, /agents, Tab) ---

    def rename_session(self, session_id: str, title: str) -> Session:
        from opencode.agent.actions import rename_session

        return rename_session(self.engine, session_id, title)

    def delete_session(self, session_id: str) -> None:
        from opencode.agent.actions import delete_session

        delete_session(self.engine, session_id)
        self._picked.pop(session_id, None)

    def models(self) -> list[ModelChoice]:
        choices: list[ModelChoice] = []
        for provider in self.engine.registry.connected():
            for info in provider.models.values():
                choices.append(ModelChoice.of(provider.id, provider.name, info))
        return choices

    def recent_models(self, limit: int = 10) -> list[str]:
        last_used: dict[str, int] = {}
        rows = getattr(self.engine.store, "usage_rows", None)
        if rows is not None:  # the SQLite store: one light query over every assistant message
            for provider_id, model_id, created, _tokens, _cost in rows():
                if provider_id and model_id:
                    last_used[f"{provider_id}/{model_id}"] = created
        else:
            for rank, session in enumerate(self.engine.store.list_sessions(limit=limit)):
                ref = self.engine.last_model(session)
                if ref and ref not in last_used:
                    last_used[ref] = -rank
        return sorted(last_used, key=lambda ref: last_used[ref], reverse=True)[:limit]

    def set_model(self, ref: str) -> None:
        try:
            self.engine.registry.resolve(ref)
        except Exception as exc:  # unknown model, or a provider without a key: one line for the user
            raise ClientError(str(exc)) from None
        self.model = ref

    def agents(self) -> list[AgentChoice]:
        from opencode.agent.agents import primary_agents

        return [
            AgentChoice(name=agent.name, description=agent.description, model=agent.model)
            for agent in primary_agents(self.engine.agents)
            if not agent.hidden
        ]

    def set_agent(self, session_id: str, name: str) -> None:
        from opencode.agent.agents import AgentError, check_primary

        try:
            check_primary(self.engine.agents, name)
        except AgentError as exc:
            raise ClientError(str(exc)) from None
        self._picked[session_id] = name
        self.agent = None  # a pick from the UI outranks --agent from here on: the history says what runs next

    def _prompted_as(self, session_id: str, agent: str, *, failed: bool) -> None:
        """A prompt ended: the picked agent is in the stored user message now, unless the prompt failed to start."""
        if self._picked.get(session_id) == agent and not failed:
            del self._picked[session_id]

    # --- the prompt box: @files, /commands, !shell, /compact, /export ---

    async def _turn(
        self, session_id: str, text: str, agent: str, abort: asyncio.Event, *, files: list[str], command: str | None
    ) -> object:
        """What `prompt` runs: the command's template expanded, the files attached, then the engine's turn."""
        from opencode.agent.actions import attach_files, command_turn, with_inlined

        attached, inline = attach_files(self.engine, files)
        if command is not None:
            return await command_turn(
                self.engine,
                session_id,
                command,
                text,
                agent=agent,
                model=self.model,
                abort=abort,
                files=attached,
                inline=inline,
            )
        text = with_inlined(text, inline)
        return await self.engine.prompt(session_id, text, files=attached, model=self.model, agent=agent, abort=abort)

    async def project_files(self, *, refresh: bool = False) -> list[str]:
        from opencode.tool.ripgrep import run_rg
        from opencode.tool.tool import ToolContext, ToolError

        if self._files is not None and not refresh:
            return self._files
        engine = self.engine
        ctx = ToolContext(session_id="", message_id="", call_id="", agent="", root=engine.root, cwd=engine.cwd)
        flags = ["--files", "--no-require-git", "--no-messages", "--hidden", "--glob", "!.git/"]
        try:
            result = await run_rg(flags, cwd=engine.cwd, ctx=ctx, max_output=FILE_LIST_CAP)
        except ToolError as exc:
            raise ClientError(str(exc)) from None
        self._files = sorted(result.lines())
        mcp = engine.mcp
        if mcp is not None:
            self._files += [resource.reference for resource in mcp.resources()]
        return self._files

    def commands(self) -> list[CommandInfo]:
        from opencode.agent.agents import AgentError
        from opencode.agent.commands import load_commands

        try:
            found = load_commands(self.engine.config, self.engine.cwd, self.engine.root)
        except AgentError as exc:
            raise ClientError(f"a command file is broken: {exc}") from None
        from opencode.agent.commands import mcp_commands

        found = {**mcp_commands(self.engine), **found}  # the MCP servers' prompts, `/server:prompt`
        ordered = sorted(found.values(), key=lambda c: c.name)
        return [CommandInfo(c.name, c.description or "", c.source) for c in ordered]

    async def shell(self, session_id: str, command: str) -> str:
        from opencode.agent.actions import shell

        agent = self.agent_name(session_id)

        def work(_abort: asyncio.Event) -> Coroutine[object, object, str]:
            return shell(self.engine, session_id, command, agent=agent, model=self.model)

        return str(await self.engine.jobs.run(session_id, work))

    async def compact(self, session_id: str) -> None:
        from opencode.agent.actions import summarize

        agent = self.agent_name(session_id)

        def work(_abort: asyncio.Event) -> Coroutine[object, object, None]:
            return summarize(self.engine, session_id, agent=agent, model=self.model)

        await self.engine.jobs.run(session_id, work)

    def export_session(self, session_id: str) -> dict[str, object]:
        from opencode.agent.actions import export_session

        return export_session(self.engine, session_id)

    def get_config(self) -> Config:
        return self.engine.config

    def model_info(self, session_id: str | None = None) -> ModelInfo | None:
        try:
            return self.engine.resolve_model(self.model, self.agent_name(session_id)).info
        except Exception:  # no model configured: the panel shows tokens without a percentage
            return None

    def todos(self, session_id: str) -> list[Todo]:
        return self.engine.store.get_todos(session_id)

    def modified_files(self, session_id: str) -> list[str]:
        from opencode.agent.actions import changed_files

        return changed_files(self.engine, session_id)

    async def file_diff(self, session_id: str, file: str) -> str:
        from opencode.agent.actions import file_diff

        return await file_diff(self.engine, session_id, file)

    def child_sessions(self, session_id: str) -> list[Session]:
        return self.engine.store.list_sessions(parent_id=session_id)

    def warm_up(self) -> None:
        mcp = self.engine.mcp
        if mcp is not None:
            mcp.start()

    def services(self) -> list[ServiceStatus]:
        found: list[ServiceStatus] = []
        mcp = self.engine.mcp
        if mcp is not None:
            for server in mcp.status().values():
                detail = server.error or (f"{server.tools} tools" if server.status == "connected" else "")
                found.append(ServiceStatus("mcp", server.name, server.status, detail))
        lsp = self.engine.lsp
        if lsp is not None:
            for entry in lsp.status():
                detail = str(entry.get("error") or "")
                found.append(ServiceStatus("lsp", str(entry.get("name", "")), str(entry.get("status", "")), detail))
        return found


@dataclass(frozen=True)
class ServiceStatus:
    """An MCP server or a language server, as the side panel lists it."""

    kind: Literal["mcp", "lsp"]
    name: str
    state: str
    """connected, connecting, failed, needs_auth, disabled (MCP); connected, error (LSP)."""
    detail: str = ""
    """The error, or what it offers ("12 tools")."""


@dataclass(frozen=True)
class ModelChoice:
    """One model the user can pick: prices are dollars per million tokens; context 0 when the catalog has none."""

    ref: str
    provider: str
    provider_name: str
    name: str
    context: int
    input_price: float
    output_price: float

    @classmethod
    def of(cls, provider: str, provider_name: str, info: ModelInfo) -> ModelChoice:
        return cls(
            ref=f"{provider}/{info.id}",
            provider=provider,
            provider_name=provider_name,
            name=info.name,
            context=info.context,
            input_price=info.cost.input,
            output_price=info.cost.output,
        )


@dataclass(frozen=True)
class AgentChoice:
    name: str
    description: str
    model: str | None = None


@dataclass(frozen=True)
class CommandInfo:
    """A command the prompt box offers after `/`; `source` is where it was defined (a file, config, built-in)."""

    name: str
    description: str
    source: str


FILE_LIST_CAP = 8 * 1024 * 1024
"""Bytes of ripgrep's file listing read for `@` completion (a huge tree is listed in part)."""
