"""The engine: sessions, and the loop that turns a user's message into model and tool calls.

    engine = Engine(cwd=..., config=..., registry=...)
    session = engine.create_session()
    result = await engine.prompt(session.id, "fix the failing test")

Each step reads the conversation back from the store (the source of truth, so a restarted
process picks up where the last one stopped), builds the request (system prompt, history, tools),
streams the reply into parts (`opencode.agent.step`) and runs the tool calls. The loop stops on a
final answer, the agent's step limit (the last step is told to answer without tools), abort, or
an error that retries could not fix (recorded on the message). Faces watch `engine.bus`.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from opencode import __version__
from opencode import id as ids
from opencode.bus import (
    Bus,
    MessageUpdated,
    PartUpdated,
    SessionCreated,
    SessionError,
    SessionIdle,
    SessionStatus,
    SessionStatusInfo,
    SessionUpdated,
)
from opencode.session.convert import Converted, data_url, to_provider_messages
from opencode.session.model import (
    AssistantMessage,
    AssistantPath,
    FilePart,
    MessageError,
    ModelRef,
    Session,
    TextPart,
    UserMessage,
    now_ms,
)
from opencode.tool.filetimes import FileTimes
from opencode.tool.tool import (
    Attachment,
    PermissionRequest,
    SubagentCall,
    SubagentResult,
    SubagentStatus,
    ToolContext,
    ToolError,
)

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from opencode.agent.agents import Agent
    from opencode.agent.questions import QuestionPrompt
    from opencode.bus import QuestionInfo
    from opencode.config.schema import Config
    from opencode.lsp.manager import LspManager
    from opencode.mcp.manager import McpManager
    from opencode.permission.rules import Ruleset
    from opencode.permission.service import Prompt
    from opencode.provider.registry import Registry, ResolvedModel
    from opencode.provider.types import ModelRequest
    from opencode.session.model import Todo
    from opencode.session.store import Store
    from opencode.snapshot import Snapshots
    from opencode.tool.registry import ToolRegistry

log = logging.getLogger("opencode.agent")

DOOM_LOOP = 3
READ_ONLY_TOOLS = frozenset(
    {
        *("read", "glob", "grep", "list", "webfetch", "websearch", "youtube"),
        *("todoread", "todowrite", "question", "plan_enter", "plan_exit"),
        *("explore", "skill", "lsp"),
    }
)
"""Tools that never change files: a step that runs only these needs no snapshot."""
LAST_STEP_NOTE = (
    "You have reached the maximum number of steps for this task. Do not call any more tools: answer now with "
    "what you have done, what is left, and what the user should do next."
)
DEFAULT_TITLE_PREFIX = "New session - "


class SessionBusy(Exception):
    """A turn was asked of a session that is running one already; the message says what to do."""


@dataclass
class PromptResult:
    message: AssistantMessage
    text: str
    steps: int


@dataclass
class SessionState:
    """What the engine keeps in memory per session (the rest is in the store)."""

    file_times: FileTimes = field(default_factory=FileTimes)
    recent_calls: list[str] = field(default_factory=list)
    nested: Any = None
    agent_switched: bool = False
    """A tool (plan_enter, plan_exit) switched the agent: the next step reads the new one back."""
    converted: Converted = field(default_factory=Converted)
    """The history as provider messages, reused across steps while unchanged."""
    prompt_tools: dict[str, bool] | None = None
    """The `tools` of the turn's user message (on or off by name), read back with each request."""


def project_root(cwd: Path) -> Path:
    for directory in (cwd, *cwd.parents):
        if (directory / ".git").exists():
            return directory
    return cwd


class Engine:
    def __init__(
        self,
        *,
        cwd: Path,
        config: Config,
        registry: Registry,
        store: Store | None = None,
        bus: Bus | None = None,
        tools: ToolRegistry | None = None,
        prompt_permission: Prompt | None = None,
        prompt_question: QuestionPrompt | None = None,
        interactive: bool = False,
    ) -> None:
        from opencode.agent.agents import load_agents
        from opencode.agent.background import BackgroundRuns
        from opencode.agent.questions import QuestionService
        from opencode.permission.service import PermissionService
        from opencode.tool.registry import ToolRegistry
        from opencode.tool.truncate import default_save_dir

        self.cwd = cwd.resolve()
        self.root = project_root(self.cwd)
        self.project_id = hashlib.sha1(str(self.root).encode()).hexdigest()[:16]
        self.config = config
        self.registry = registry
        if store is None:
            from opencode.session.sqlite import SQLiteStore

            store = SQLiteStore()
        self.store = store
        self.bus = bus or Bus()
        self.tools = tools or ToolRegistry.builtin()
        self.agents = load_agents(config, self.cwd, self.root)
        self.permissions = PermissionService(
            self.bus,
            self.root,
            prompt=prompt_permission,
            interactive=interactive,
            safe_dirs=[default_save_dir()],
        )
        self.questions = QuestionService(self.bus, prompt=prompt_question, interactive=interactive)
        """Questions for the user (`question`, `plan_exit`); faces answer with `reply_question`."""
        self.background_runs = BackgroundRuns(self.store, self.session_cost)
        self.snapshots: Snapshots | None = None
        if config.snapshot is not False:
            from opencode.snapshot import Snapshots

            self.snapshots = Snapshots(self.root)
        self.sessions: dict[str, SessionState] = {}
        self._rulesets: dict[str, tuple[Any, Any, Ruleset]] = {}
        self._running: set[str] = set()
        self.background: set[asyncio.Task[Any]] = set()
        from opencode.agent.actions import Jobs

        self.jobs = Jobs(self.is_busy)
        self.statuses: dict[str, SessionStatusInfo] = {}
        """The last `session.status` of each session not idle (retry details for GET /session/status)."""
        self.bus.on(self._keep_status)
        """The job each face started in a session (a turn, a `!command`, a compaction), to abort or wait for."""
        self._mcp: McpManager | None = None
        self._lsp: LspManager | None = None

    @property
    def mcp(self) -> McpManager | None:
        """The MCP servers of config `mcp` (made on first use; None when no server is enabled)."""
        if self._mcp is None:
            from opencode.mcp.manager import McpManager, enabled_servers

            if not enabled_servers(self.config):
                return None
            self._mcp = McpManager(self.config, cwd=self.cwd, bus=self.bus)
        return self._mcp

    @property
    def lsp(self) -> LspManager | None:
        """The language servers (started per file type on first use); None when config `lsp` is false."""
        if self._lsp is None and self.config.lsp is not False:
            from opencode.lsp.manager import LspManager

            self._lsp = LspManager(self.root, self.config.lsp, bus=self.bus)
        return self._lsp

    # --- sessions -------------------------------------------------------------------------

    def create_session(self, *, title: str | None = None, parent_id: str | None = None) -> Session:
        session = Session(
            id=ids.ascending("ses"),
            projectID=self.project_id,
            directory=str(self.cwd),
            title=title or DEFAULT_TITLE_PREFIX + _iso_now(),
            version=__version__,
            parentID=parent_id,
        )
        self.store.put_session(session)
        self.bus.publish(SessionCreated(info=session))
        return session

    def last_session(self) -> Session | None:
        """The most recently updated top-level session of this directory (for `run -c`)."""
        found = self.store.list_sessions(limit=1, directory=str(self.cwd), roots=True)
        return found[0] if found else None

    def state(self, session_id: str) -> SessionState:
        return self.sessions.setdefault(session_id, SessionState())

    def touch(self, session: Session) -> None:
        session.time.updated = now_ms()
        self.store.put_session(session)
        self.bus.publish(SessionUpdated(info=session))

    # --- the loop -------------------------------------------------------------------------

    async def prompt(
        self,
        session_id: str,
        text: str | list[str],
        *,
        files: list[Attachment] | None = None,
        model: str | None = None,
        agent: str | None = None,
        abort: asyncio.Event | None = None,
        system: str | None = None,
        tools: dict[str, bool] | None = None,
        message_id: str | None = None,
    ) -> PromptResult:
        """One turn. `text` a list: one text part per item in the user message (as a client sent them).
        `agent` None: the agent the session runs as now (`current_agent`), else the default one.
        `system` adds to the system prompt and `tools` turns tools on or off (by name) for this turn (both
        kept on the user message, as opencode's prompt body has them); `message_id` is the user message's
        id when the face chose it (opencode's clients do, to show the message before the server has it).

        Background subagents started during the turn and still running when it ends are cancelled.
        Raises `SessionBusy` while this engine runs a turn of the same session (two turns at once would
        interleave their messages)."""
        return await self._turn(
            session_id,
            text,
            files or [],
            model=model,
            agent=agent,
            abort=abort,
            body=self.loop,
            system=system,
            tools=tools,
            message_id=message_id,
        )

    async def subtask(
        self,
        session_id: str,
        shown: str,
        call: SubagentCall,
        *,
        model: str | None = None,
        agent: str | None = None,
        abort: asyncio.Event | None = None,
    ) -> PromptResult:
        """A command with `subtask: true` (opencode's subtask part): `shown` (what the user typed) becomes the
        user message, the `task` tool runs `call` in a child session at once (no model picks it), and then
        the session's agent, told to summarize the task's output, takes its turn as after any tool call."""

        async def body(
            session: Session, user: UserMessage, resolved: ResolvedModel, agent: str, abort: asyncio.Event
        ) -> PromptResult:
            follow = await self._run_subtask(session, user, resolved, agent, call, abort)
            return await self.loop(session, follow, resolved, agent, abort)

        return await self._turn(session_id, shown, [], model=model, agent=agent, abort=abort, body=body)

    async def _run_subtask(
        self,
        session: Session,
        user: UserMessage,
        resolved: ResolvedModel,
        agent: str,
        call: SubagentCall,
        abort: asyncio.Event,
    ) -> UserMessage:
        """The subtask's `task` call, in an assistant message of its own; returns the synthetic user message
        that asks the agent to summarize it."""
        from opencode.session.model import ToolPart, ToolStateCompleted, ToolStateError, ToolStateRunning, ToolTimeRange

        message = self.new_assistant_message(session, user, resolved, agent)
        arguments = {"description": call.description, "prompt": call.prompt, "subagent_type": call.agent}
        part = ToolPart(
            id=ids.ascending("prt"),
            sessionID=session.id,
            messageID=message.id,
            callID=ids.ascending("tool"),
            tool="task",
            state=ToolStateRunning(input=arguments),
        )
        self.store.put_part(part)
        self.bus.publish(PartUpdated(part=part))
        started = now_ms()
        try:
            result = await self.call_tool(session, message, agent, part, arguments, abort=abort)
            part.state = ToolStateCompleted(
                input=arguments,
                output=result.output,
                title=result.title,
                metadata=result.metadata,
                time=ToolTimeRange(start=started, end=now_ms()),
            )
        except (ToolError, asyncio.CancelledError) as exc:
            error = "aborted" if isinstance(exc, asyncio.CancelledError) else str(exc)
            part.state = ToolStateError(input=arguments, error=error, time=ToolTimeRange(start=started, end=now_ms()))
            if isinstance(exc, asyncio.CancelledError):
                raise
        finally:
            self.store.put_part(part)
            self.bus.publish(PartUpdated(part=part))
            self.finish_message(message)
        follow = UserMessage(id=ids.ascending("msg"), sessionID=session.id, agent=agent, model=user.model)
        self.store.put_message(follow)
        self.bus.publish(MessageUpdated(info=follow))
        summarize = TextPart(
            id=ids.ascending("prt"),
            sessionID=session.id,
            messageID=follow.id,
            text="Summarize the task tool output above and continue with your task.",
            synthetic=True,
        )
        self.store.put_part(summarize)
        self.bus.publish(PartUpdated(part=summarize))
        return follow

    def _keep_status(self, event: Any) -> None:
        if isinstance(event, SessionStatus):
            if event.status.type == "idle":
                self.statuses.pop(event.sessionID, None)
            else:
                self.statuses[event.sessionID] = event.status

    def clear_revert(self, session_id: str) -> Session:
        """A new message after an undo: the undone messages are deleted for good (`message.removed` each)."""
        from opencode.bus import MessageRemoved
        from opencode.session.revert import cleanup_revert

        def removed(message_id: str) -> None:
            self.bus.publish(MessageRemoved(sessionID=session_id, messageID=message_id))

        return cleanup_revert(self.store, session_id, removed)

    def is_busy(self, session_id: str) -> bool:
        """Whether this engine is running a turn of the session (a subagent's child session included)."""
        return session_id in self._running

    async def _turn(
        self,
        session_id: str,
        text: str | list[str],
        files: list[Attachment],
        *,
        model: str | None,
        agent: str | None,
        abort: asyncio.Event | None,
        body: Callable[[Session, UserMessage, ResolvedModel, str, asyncio.Event], Awaitable[PromptResult]],
        system: str | None = None,
        tools: dict[str, bool] | None = None,
        message_id: str | None = None,
    ) -> PromptResult:
        """What every turn shares: one at a time per session, an undo made final, the user message, the
        title, busy then idle; `body` does the turn's work (the loop, or a subtask and then the loop)."""
        if session_id in self._running:
            raise SessionBusy(f"session {session_id} is running a turn already: wait for it to end, or abort it")
        self._running.add(session_id)
        try:
            session = self.store.get_session(session_id)
            if session.revert is not None:
                # A new message after an undo makes the undone messages permanent history no more.
                session = self.clear_revert(session.id)
            agent = agent or self.current_agent(session.id) or self.default_agent()
            abort = abort or asyncio.Event()
            resolved = self.resolve_model(model, agent)
            pieces = [text] if isinstance(text, str) else list(text)
            if self.mcp is not None and any("@" in piece for piece in pieces):  # `@server:uri`: an MCP resource
                for index, piece in enumerate(pieces):
                    if "@" in piece:
                        pieces[index], files = await self.mcp.expand_mentions(piece, files)
                text = pieces[0] if isinstance(text, str) else pieces
            user = self.add_user_message(
                session, text, files, resolved, agent, system=system, tools=tools, message_id=message_id
            )
            if session.title.startswith(DEFAULT_TITLE_PREFIX):
                self.start_title(session, text if isinstance(text, str) else "\n\n".join(text))
            self.bus.publish(SessionStatus(sessionID=session.id, status=SessionStatusInfo(type="busy")))
            try:
                async with resolved.connected():  # one connection to the provider for every step
                    return await body(session, user, resolved, agent, abort)
            finally:
                await self.background_runs.end_turn(session.id)
                self.touch(session)
                self.bus.publish(SessionStatus(sessionID=session.id, status=SessionStatusInfo(type="idle")))
                self.bus.publish(SessionIdle(sessionID=session.id))
        finally:
            self._running.discard(session_id)

    def agent(self, name: str) -> Agent:
        from opencode.agent.agents import AgentError

        found = self.agents.get(name)
        if found is None:
            known = ", ".join(sorted(self.agents))
            raise AgentError(f"no agent named {name!r} (known: {known})")
        return found

    def ruleset(self, agent: str) -> Ruleset:
        """The agent's permission rules; parsed once while the config and the agent are the same objects
        (asked for several times a step)."""
        from opencode.permission.rules import Ruleset

        found = self.agent(agent)
        cached = self._rulesets.get(agent)
        if cached is not None and cached[0] is self.config.permission and cached[1] is found.permission:
            return cached[2]
        ruleset = Ruleset.from_config(self.config.permission, found.permission, agent=agent)
        self._rulesets[agent] = (self.config.permission, found.permission, ruleset)
        return ruleset

    def resolve_model(self, model: str | None, agent: str) -> ResolvedModel:
        ref = model or self.agent(agent).model or self.config.model or self.registry.default_model()
        if not ref:
            from opencode.provider.registry import ModelNotFound

            raise ModelNotFound("no model configured and no provider connected: run `opencode auth login`")
        return self.registry.resolve(ref)

    def add_user_message(
        self,
        session: Session,
        text: str | list[str],
        files: list[Attachment],
        model: ResolvedModel,
        agent: str,
        *,
        system: str | None = None,
        tools: dict[str, bool] | None = None,
        message_id: str | None = None,
    ) -> UserMessage:
        message = UserMessage(
            id=message_id or ids.ascending("msg"),
            sessionID=session.id,
            agent=agent,
            model=ModelRef(providerID=model.provider.id, modelID=model.info.id),
            system=system or None,
            tools=tools or None,
        )
        self.store.put_message(message)
        self.bus.publish(MessageUpdated(info=message))
        for attachment in files:
            part = FilePart(
                id=ids.ascending("prt"),
                sessionID=session.id,
                messageID=message.id,
                mime=attachment.mime,
                url=data_url(attachment.mime, attachment.data),
                filename=attachment.filename,
            )
            self.store.put_part(part)
            self.bus.publish(PartUpdated(part=part))
        for piece in [text] if isinstance(text, str) else text:  # a list: one text part each, as sent
            if piece:
                part_text = TextPart(id=ids.ascending("prt"), sessionID=session.id, messageID=message.id, text=piece)
                self.store.put_part(part_text)
                self.bus.publish(PartUpdated(part=part_text))
        return message

    async def loop(
        self, session: Session, user: UserMessage, model: ResolvedModel, agent: str, abort: asyncio.Event
    ) -> PromptResult:
        from opencode.agent.step import StepProcessor

        state = self.state(session.id)
        state.agent_switched = False
        max_steps = self.step_limit(agent)
        step = 0
        last: AssistantMessage | None = None
        text = ""
        if self.mcp is not None:
            await self.mcp.ready_for_step()  # servers start in the background; a slow one joins later
        while True:
            step += 1
            if state.agent_switched:
                # plan_enter / plan_exit ran in the last step: from this one on the session runs as the new agent.
                state.agent_switched = False
                agent = self.current_agent(session.id) or agent
                max_steps = self.step_limit(agent)
            final_step = max_steps is not None and step >= max_steps
            await self.maybe_compact(session, model, last)
            request = self.build_request(session, model, agent, final_step=final_step)
            message = self.new_assistant_message(session, user, model, agent)
            processor = StepProcessor(
                store=self.store,
                bus=self.bus,
                message=message,
                run_tool=_unset,
                abort=abort,
                take_snapshot=self.track,
            )
            processor.run_tool = functools.partial(
                self.run_tool, session, message, agent, abort=abort, processor=processor
            )
            try:
                outcome = await processor.process(model.stream(request))
            except asyncio.CancelledError:
                self.permissions.reject_session(session.id)
                await asyncio.shield(self.record_patch(processor))
                self.finish_message(
                    message,
                    error=MessageError(name="MessageAbortedError", data={"message": "aborted by the user"}),
                )
                raise
            end = await self.record_patch(processor)
            processor.finalize(outcome, snapshot=end)
            message.tokens = outcome.tokens
            message.cost = outcome.cost
            message.finish = outcome.finish
            self.finish_message(message, error=outcome.error)
            last, text = message, outcome.text or text
            if outcome.error is not None:
                self.bus.publish(SessionError(sessionID=session.id, error=outcome.error))
                break
            if abort.is_set():
                break
            if outcome.tool_calls == 0 or final_step:
                break
        self.prune(session)
        return PromptResult(last, text, step)

    def step_limit(self, agent: str) -> int | None:
        return self.agent(agent).steps or None

    # --- snapshots, undo and redo --------------------------------------------------------------

    async def track(self) -> str | None:
        """Snapshot the work tree before a step; None when snapshots are off or failed (logged)."""
        if self.snapshots is None:
            return None
        from opencode.snapshot import SnapshotError

        try:
            return await self.snapshots.track()
        except SnapshotError as exc:
            log.warning("snapshot failed, undo will not cover this step: %s", exc)
            return None

    async def record_patch(self, processor: Any) -> str | None:
        """After a step: a patch part listing the files it changed (by any tool, bash included)."""
        start = await processor.settled_snapshot()
        if self.snapshots is None or start is None:
            return None
        from opencode.session.model import PatchPart
        from opencode.session.revert import record_step
        from opencode.snapshot import SnapshotError

        try:
            end, files = await record_step(self.snapshots, start)
        except SnapshotError as exc:
            log.warning("snapshot failed after a step: %s", exc)
            return None
        if files:
            message = processor.message
            processor.save(
                PatchPart(
                    id=ids.ascending("prt"), sessionID=message.sessionID, messageID=message.id, hash=start, files=files
                )
            )
        return end

    def require_snapshots(self) -> Snapshots:
        if self.snapshots is None:
            from opencode.session.revert import RevertError

            raise RevertError("snapshots are off (`snapshot: false` in config), so there is nothing to undo")
        return self.snapshots

    async def revert(self, session_id: str, message_id: str, part_id: str | None = None) -> Session:
        """Undo: files back to how they were before `message_id` (or its part `part_id`), later
        messages (and parts) hidden."""
        from opencode.session.revert import revert

        session = await revert(self.store, self.require_snapshots(), session_id, message_id, part_id)
        self.bus.publish(SessionUpdated(info=session))
        return session

    async def unrevert(self, session_id: str) -> Session:
        """Redo: the undone files and messages back, until a new message is sent."""
        from opencode.session.revert import unrevert

        session = await unrevert(self.store, self.require_snapshots(), session_id)
        self.bus.publish(SessionUpdated(info=session))
        return session

    def new_assistant_message(
        self, session: Session, user: UserMessage, model: ResolvedModel, agent: str
    ) -> AssistantMessage:
        message = AssistantMessage(
            id=ids.ascending("msg"),
            sessionID=session.id,
            parentID=user.id,
            modelID=model.info.id,
            providerID=model.provider.id,
            mode=agent,
            agent=agent,
            path=AssistantPath(cwd=str(self.cwd), root=str(self.root)),
        )
        self.store.put_message(message)
        self.bus.publish(MessageUpdated(info=message))
        return message

    def finish_message(self, message: AssistantMessage, *, error: MessageError | None = None) -> None:
        message.time.completed = now_ms()
        if error is not None:
            message.error = error
        self.store.put_message(message)
        self.bus.publish(MessageUpdated(info=message))

    # --- the request ----------------------------------------------------------------------

    def build_request(self, session: Session, model: ResolvedModel, agent: str, *, final_step: bool) -> ModelRequest:
        from opencode.agent.instructions import NestedInstructions, find_instructions, loaded_from
        from opencode.agent.system import build_system
        from opencode.provider.types import ModelRequest, TextPart, UserMessage
        from opencode.session.revert import visible_messages

        agent_def = self.agent(agent)
        state = self.state(session.id)
        instructions = find_instructions(self.cwd, self.root, list(self.config.instructions or []))
        history = visible_messages(self.store, self.store.get_session(session.id))
        if state.nested is None:
            state.nested = NestedInstructions(self.root, loaded=[*instructions, *loaded_from(history)])
        system = build_system(
            agent_prompt=agent_def.prompt,
            provider_id=model.provider.id,
            model_id=model.info.id,
            cwd=self.cwd,
            root=self.root,
            instructions=instructions,
        )
        from opencode.session.model import UserMessage as StoredUser

        last_user = next((m.info for m in reversed(history) if isinstance(m.info, StoredUser)), None)
        state.prompt_tools = last_user.tools if last_user is not None else None
        if last_user is not None and last_user.system:
            system.append(last_user.system)
        messages = to_provider_messages(history, state.converted)
        tools = [] if final_step else self.tool_specs(session, agent_def)
        if final_step:
            messages.append(UserMessage([TextPart(LAST_STEP_NOTE)]))
        options = model.request_options()
        options.update(agent_def.options)
        return ModelRequest(
            model=model.info.id,
            messages=messages,
            system=system,
            tools=tools if model.info.tool_call or not model.info.context else [],
            max_tokens=min(model.info.output, 32_000) if model.info.output else None,
            temperature=agent_def.temperature if model.info.temperature else None,
            top_p=agent_def.top_p,
            options=options,
        )

    def tool_specs(self, session: Session, agent: Agent) -> list[Any]:
        """The tools this agent may use; `task` lists the subagents its `task` permission allows."""
        from opencode.agent.agents import describe_subagents, subagents

        specs = self.tools.specs(lambda name: self.tool_enabled(session, agent, name))
        if self._mcp is not None:
            specs += self._mcp.tool_specs(session.id, lambda name: self.tool_enabled(session, agent, name))
        ruleset = self.ruleset(agent.name)
        allowed = [a for a in subagents(self.agents) if ruleset.evaluate("task", a.name).action != "deny"]
        skills: str | None = ""
        for spec in specs:
            if spec.name == "task":
                spec.description = f"{spec.description}\n\n{describe_subagents(allowed)}"
            elif spec.name == "skill":
                skills = self.skill_description(spec.description, ruleset)
                spec.description = skills or spec.description
        return [s for s in specs if (s.name != "task" or allowed) and (s.name != "skill" or skills)]

    def tool_enabled(self, session: Session, agent: Agent, name: str) -> bool:
        """Config `tools` and the agent's `tools` (names or globs); subagents get no task, question or plan tools."""
        defaults = dict(self.config.tools or {})
        prompt_tools = self.state(session.id).prompt_tools
        if prompt_tools and name in prompt_tools:
            return prompt_tools[name]  # the prompt's own `tools` decide for this turn
        if session.parentID:
            # Subagents start no subagents of their own, run unattended, and stay the agent they were started as.
            for unattended in ("task", "question", "plan_enter", "plan_exit"):
                defaults.setdefault(unattended, False)
        return agent.tool_enabled(name, defaults)

    def skill_description(self, description: str, ruleset: Ruleset) -> str | None:
        """The `skill` tool's description with the skills the agent's `skill` permission allows; None if none."""
        from opencode.tool.skill import SkillTool

        tool = self.tools.get("skill")
        if not isinstance(tool, SkillTool):
            return description  # a plugin's own skill tool describes itself
        catalog = tool.catalog(self.cwd, self.root, self.config.skills)
        skills = catalog.available(lambda name: ruleset.evaluate("skill", name).action != "deny")
        return tool.describe(skills) if skills else None

    def instruction_files(self, session_id: str | None = None) -> list[str]:
        """Every instruction file the model has been given, one line each (for a `/context` view)."""
        from opencode.agent.instructions import describe, find_instructions

        files = find_instructions(self.cwd, self.root, list(self.config.instructions or []))
        lines = describe(files)
        state = self.sessions.get(session_id or "")
        if state is not None and state.nested is not None:
            known = {f.path.resolve() for f in files}
            lines += [f"{'nested':<7}  {path}" for path in sorted(state.nested.loaded - known)]
        return lines

    # --- tools ----------------------------------------------------------------------------

    async def run_tool(
        self,
        session: Session,
        message: AssistantMessage,
        agent: str,
        call: Any,
        *,
        abort: asyncio.Event,
        processor: Any = None,
    ) -> Any:
        part = call.part
        mcp_tool = self._mcp is not None and self._mcp.owns(part.tool)
        if (self.tools.has(part.tool) or mcp_tool) and not self.tool_enabled(session, self.agent(agent), part.tool):
            raise ToolError(
                f"tool '{part.tool}' is disabled for the {agent} agent (config `tools` or the agent's tool set); "
                "use the tools you were given"
            )
        return await self.call_tool(
            session,
            message,
            agent,
            part,
            call.arguments,
            abort=abort,
            processor=processor,
            parse_error=call.parse_error,
            progress=lambda title, meta: self.tool_progress(part, title, meta),
        )

    async def run_tool_call(
        self,
        session_id: str,
        tool: str,
        arguments: dict[str, Any] | None,
        *,
        agent: str,
        note: str,
        abort: asyncio.Event | None = None,
    ) -> Any:
        """One tool call outside a model turn (an MCP client's), on the same path as a model's: stored as a
        user message (`note`) and an assistant message with the tool part, snapshotted and patched like a
        step, so undo covers it. Returns the finished `ToolPart` (completed, or error with the message)."""
        import json

        from opencode.agent.step import StepProcessor
        from opencode.provider.types import ToolCallEnd

        session = self.store.get_session(session_id)
        if session.revert is not None:
            session = self.clear_revert(session.id)
        try:
            resolved = self.resolve_model(None, agent)
            ref = ModelRef(providerID=resolved.provider.id, modelID=resolved.info.id)
        except Exception:  # serving tools needs no model; the messages record a stand-in
            ref = ModelRef(providerID="mcp", modelID="client")
        user = UserMessage(id=ids.ascending("msg"), sessionID=session.id, agent=agent, model=ref)
        self.store.put_message(user)
        self.bus.publish(MessageUpdated(info=user))
        text = TextPart(id=ids.ascending("prt"), sessionID=session.id, messageID=user.id, text=note)
        self.store.put_part(text)
        self.bus.publish(PartUpdated(part=text))
        path = AssistantPath(cwd=str(self.cwd), root=str(self.root))
        message = AssistantMessage(
            id=ids.ascending("msg"),
            sessionID=session.id,
            parentID=user.id,
            modelID=ref.modelID,
            providerID=ref.providerID,
            mode=agent,
            agent=agent,
            path=path,
            finish="tool_calls",
        )
        self.store.put_message(message)
        self.bus.publish(MessageUpdated(info=message))
        abort = abort or asyncio.Event()
        processor = StepProcessor(
            store=self.store, bus=self.bus, message=message, run_tool=_unset, abort=abort, take_snapshot=self.track
        )
        processor.run_tool = functools.partial(self.run_tool, session, message, agent, abort=abort, processor=processor)
        self.state(session.id).recent_calls.clear()  # a client repeating a call is no model stuck in a loop
        part = processor.tool_part(ids.ascending("tool"), tool)
        processor.start_tool(ToolCallEnd(part.callID, tool, arguments, json.dumps(arguments or {})))
        try:
            await processor.finish_tools()
        except asyncio.CancelledError:
            abort.set()
            self.permissions.reject_session(session.id)
            raise
        finally:
            await asyncio.shield(self.record_patch(processor))
            self.finish_message(message)
            self.touch(session)
        return part

    async def call_tool(
        self,
        session: Session,
        message: AssistantMessage,
        agent: str,
        part: Any,
        arguments: dict[str, Any] | None,
        *,
        abort: asyncio.Event,
        processor: Any = None,
        parse_error: str | None = None,
        progress: Any = None,
        in_batch: bool = False,
    ) -> Any:
        """One tool call: the doom-loop check, the snapshot, the context with the engine's hooks, then the tool.

        `part` names the tool and the call: the step's tool part, or a stand-in for one call of a `batch`."""
        state = self.state(session.id)
        await self.check_doom_loop(session, message, agent, state, part)
        mcp = self._mcp if self._mcp is not None and self._mcp.owns(part.tool) else None
        read_only = part.tool in READ_ONLY_TOOLS or (mcp is not None and mcp.read_only(part.tool))
        if part.tool == "lsp" and (arguments or {}).get("operation") in ("rename", "format"):
            read_only = False  # these two change files
        if processor is not None and not read_only and part.tool != "batch":
            await processor.ensure_snapshot()  # a batch snapshots before the first of its calls that may change files
        child = session.parentID is not None
        ctx = ToolContext(
            session_id=session.id,
            message_id=message.id,
            call_id=part.callID,
            agent=agent,
            root=self.root,
            cwd=self.cwd,
            abort=abort,
            file_times=state.file_times,
            ask=self.permissions.asker(
                self.ruleset(agent), session_id=session.id, message_id=message.id, call_id=part.callID
            ),
            on_metadata=progress,
            run_subagent=functools.partial(self.run_subagent, session, abort=abort),
            start_subagent=None if child else functools.partial(self.start_subagent, session),
            subagent_status=functools.partial(self.subagent_status, session, abort=abort),
            cancel_subagent=functools.partial(self.cancel_subagent, session),
            read_todos=functools.partial(self.todos, session.id),
            write_todos=functools.partial(self.set_todos, session.id),
            # Subagents run unattended: they decide for themselves instead of asking.
            ask_question=None
            if child or not self.questions.answerable
            else functools.partial(self.ask_question, session.id, message.id, part.callID, abort),
            switch_agent=None if child else functools.partial(self.switch_agent, session.id),
            previous_agent=functools.partial(self.previous_agent, session.id),
            run_tool=None
            if in_batch
            else functools.partial(
                self.run_batch_call, session, message, agent, part, abort=abort, processor=processor
            ),
            lsp=self.lsp,
        )
        if mcp is not None:
            enabled = functools.partial(self.tool_enabled, session, self.agent(agent))
            result = await mcp.execute(part.tool, arguments, ctx, parse_error=parse_error, allowed=enabled)
        else:
            result = await self.tools.execute(part.tool, arguments, ctx, parse_error=parse_error)
        from opencode.tool.formatter import FORMATTED_TOOLS

        if part.tool in FORMATTED_TOOLS and self.config.formatter is not False:
            from opencode.tool.formatter import apply_formatters

            # The project's formatter (ruff, prettier, config `formatter`...) on the changed files.
            await apply_formatters(result, self.root, self.config.formatter, state.file_times)
        if part.tool == "bash" and self._lsp is not None:
            await self._lsp.resync_open()  # a command may have changed open files: the servers see the new text
        if part.tool in FORMATTED_TOOLS and self.lsp is not None:
            await self.lsp.after_edit(result)  # the changed files' errors, fresh from the language servers
        if part.tool in ("write", "edit") and arguments and arguments.get("filePath"):
            from opencode.bus import FileEdited

            self.bus.publish(FileEdited(file=str(ctx.resolve(str(arguments["filePath"])))))
        if part.tool == "read" and state.nested is not None and arguments:
            # A subfolder's AGENTS.md reaches the model the first time it reads a file below it.
            extra = state.nested.for_file(ctx.resolve(str(arguments.get("filePath", ""))))
            for found in extra:
                result.output += (
                    f"\n\n<system-reminder>Instructions from: {found.path}\n{found.content}</system-reminder>"
                )
            if extra:
                from opencode.agent.instructions import LOADED_KEY

                result.metadata[LOADED_KEY] = [str(found.path) for found in extra]
        return result

    async def check_doom_loop(
        self, session: Session, message: AssistantMessage, agent: str, state: SessionState, part: Any
    ) -> None:
        """The same call with the same arguments three times in a row (successes count too): permission `doom_loop`."""
        from opencode.agent.step import call_signature

        signature = call_signature(part)
        state.recent_calls.append(signature)
        del state.recent_calls[:-DOOM_LOOP]
        if len(state.recent_calls) < DOOM_LOOP or len(set(state.recent_calls)) != 1:
            return
        ruleset = self.ruleset(agent)
        verdict = ruleset.evaluate("doom_loop", part.tool)
        if verdict.action == "allow":
            return
        repeated = (
            f"You called '{part.tool}' {DOOM_LOOP} times in a row with the same arguments. It was not run again: "
            "change your approach, or explain to the user what is blocking you."
        )
        state.recent_calls.clear()
        if verdict.action == "deny":
            raise ToolError(repeated)
        request = PermissionRequest(
            permission="doom_loop",
            patterns=[part.tool],
            title=f"{part.tool} was called {DOOM_LOOP} times in a row with the same arguments; run it again?",
            metadata={"input": part.state.input},
        )
        try:
            await self.permissions.ask(
                request, ruleset=ruleset, session_id=session.id, message_id=message.id, call_id=part.callID
            )
        except ToolError as exc:
            raise ToolError(f"{repeated} ({exc})") from None

    async def run_subagent(self, parent: Session, call: SubagentCall, *, abort: asyncio.Event) -> SubagentResult:
        """The `task` tool: run `call.agent` in a child session; its events reach the faces on the same bus."""
        agent = self.agents.get(call.agent)
        if agent is None or not agent.subagent:
            from opencode.agent.agents import subagents

            names = ", ".join(a.name for a in subagents(self.agents))
            return SubagentResult("", "", error=f"unknown subagent {call.agent!r}; available: {names}")
        parent_model = self.last_model(parent)
        child = self.create_session(title=f"{call.description} (@{agent.name} subagent)", parent_id=parent.id)
        result = await self.prompt(
            child.id, call.prompt, model=agent.model or parent_model, agent=agent.name, abort=abort
        )
        error = result.message.error.message if result.message.error is not None else None
        return SubagentResult(child.id, result.text, error=error, cost=self.session_cost(child.id))

    def session_cost(self, session_id: str) -> float:
        """Dollars spent in a session, its subagents' child sessions included."""
        total = sum(m.info.cost for m in self.store.list_messages(session_id) if isinstance(m.info, AssistantMessage))
        for child in self.store.list_sessions(parent_id=session_id):
            total += self.session_cost(child.id)
        return total

    def last_model(self, session: Session) -> str | None:
        for item in reversed(self.store.list_messages(session.id)):
            if isinstance(item.info, AssistantMessage):
                return f"{item.info.providerID}/{item.info.modelID}"
        return None

    def tool_progress(self, part: Any, title: str | None, meta: dict[str, Any]) -> None:
        from opencode.session.model import ToolStateRunning

        if isinstance(part.state, ToolStateRunning):
            if title:
                part.state.title = title
            part.state.metadata = {**(part.state.metadata or {}), **meta}
            self.bus.publish(PartUpdated(part=part))

    # --- the session tools: batch, questions, agent switches, todos, background subagents ------

    async def run_batch_call(
        self,
        session: Session,
        message: AssistantMessage,
        agent: str,
        batch_part: Any,
        index: int,
        name: str,
        arguments: dict[str, Any],
        *,
        abort: asyncio.Event,
        processor: Any = None,
    ) -> Any:
        """One call of a `batch`: only a tool this agent is offered, then the same path as a call of its own."""
        from opencode.session.model import ToolPart, ToolStateRunning

        if name == "batch":
            raise ToolError("batch cannot run inside batch; list the calls in one batch")
        offered = [spec.name for spec in self.tool_specs(session, self.agent(agent))]
        if name not in offered:
            if not self.tools.has(name):
                raise ToolError(f"unknown tool '{name}'; available: {', '.join(n for n in offered if n != 'batch')}")
            raise ToolError(f"tool '{name}' is not available to the {agent} agent")
        stand_in = ToolPart(
            id=batch_part.id,
            sessionID=session.id,
            messageID=message.id,
            callID=batch_part.callID,
            tool=name,
            state=ToolStateRunning(input=arguments),
        )

        def progress(title: str | None, meta: dict[str, Any]) -> None:
            # The batch's part shows each call's progress under metadata.calls["<index>"].
            calls = dict((getattr(batch_part.state, "metadata", None) or {}).get("calls") or {})
            entry = {**calls.get(str(index), {}), "tool": name, **meta}
            if title:
                entry["title"] = title
            calls[str(index)] = entry
            self.tool_progress(batch_part, None, {"calls": calls})

        return await self.call_tool(
            session,
            message,
            agent,
            stand_in,
            arguments,
            abort=abort,
            processor=processor,
            progress=progress,
            in_batch=True,
        )

    async def ask_question(
        self, session_id: str, message_id: str, call_id: str, abort: asyncio.Event, questions: list[QuestionInfo]
    ) -> list[list[str]]:
        """The `question` hook: ask through the face; an abort withdraws the question (`question.rejected`)."""
        from opencode.agent.questions import Dismissed, NoAnswer
        from opencode.bus import ToolRef
        from opencode.tool.question import NO_FACE
        from opencode.tool.tool import Aborted

        asking = asyncio.ensure_future(
            self.questions.ask(session_id, questions, tool=ToolRef(messageID=message_id, callID=call_id))
        )
        aborted = asyncio.ensure_future(abort.wait())
        try:
            await asyncio.wait({asking, aborted}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            aborted.cancel()
            if not asking.done():
                asking.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await asking
        if asking.cancelled():
            raise Aborted("aborted while waiting for the user's answer")
        try:
            return asking.result()
        except NoAnswer:
            raise ToolError(NO_FACE) from None
        except Dismissed:
            raise ToolError(
                "The user dismissed the question without answering. Do not ask the same again: go on with what "
                "you know, or stop and say what you need from them."
            ) from None

    def reply_question(self, request_id: str, answers: list[list[str]]) -> bool:
        """A face's answers to a pending question (one list of labels or typed text per question)."""
        return self.questions.reply(request_id, answers)

    def reject_question(self, request_id: str) -> bool:
        """The user dismissed a pending question."""
        return self.questions.reject(request_id)

    async def switch_agent(self, session_id: str, name: str) -> None:
        """The plan tools' hook: from the next step the session runs as `name` (a primary agent).

        The tool records the switch in its result's metadata, which `current_agent` reads back."""
        target = self.agents.get(name)
        if target is None or not target.primary:
            raise ToolError(f"cannot switch to {name!r}: it is not a primary agent of this project")
        self.state(session_id).agent_switched = True

    def agent_history(self, session_id: str) -> list[str]:
        """The primary agents the session ran as, newest first: user messages' agents and the plan tools' switches."""
        from opencode.session.model import ToolPart, ToolStateCompleted
        from opencode.session.revert import visible_messages
        from opencode.tool.plan import SWITCH_KEY

        names: list[str] = []

        def add(name: object) -> None:
            agent = self.agents.get(name) if isinstance(name, str) else None
            if agent is not None and agent.primary:
                names.append(agent.name)

        for item in reversed(visible_messages(self.store, self.store.get_session(session_id))):
            if isinstance(item.info, AssistantMessage):
                for part in reversed(item.parts):
                    if isinstance(part, ToolPart) and isinstance(part.state, ToolStateCompleted):
                        add(part.state.metadata.get(SWITCH_KEY))
                if not item.info.summary:
                    add(item.info.agent)
            else:
                add(item.info.agent)
        return names

    def current_agent(self, session_id: str) -> str | None:
        """The agent the session runs as now (survives a restart: read from the stored messages), or None."""
        history = self.agent_history(session_id)
        return history[0] if history else None

    def previous_agent(self, session_id: str) -> str:
        """The agent the session ran as before plan mode (plan_exit returns to it), else the default one."""
        from opencode.tool.plan import PLAN_AGENT

        return next((name for name in self.agent_history(session_id) if name != PLAN_AGENT), self.default_agent())

    def default_agent(self) -> str:
        from opencode.agent.agents import AgentError, default_agent

        try:
            return default_agent(self.agents, self.config).name
        except AgentError:
            return "build"

    def todos(self, session_id: str) -> list[Todo]:
        """The session's todo list (the `todowrite` tool), from the store."""
        return self.store.get_todos(session_id)

    def set_todos(self, session_id: str, todos: list[Todo]) -> None:
        """Replace the session's todo list in the store and publish `todo.updated`."""
        from opencode.bus import TodoUpdated

        self.store.put_todos(session_id, todos)
        self.bus.publish(TodoUpdated(sessionID=session_id, todos=[t.model_dump(mode="json") for t in todos]))

    async def start_subagent(self, parent: Session, call: SubagentCall) -> str:
        """`task` with `background`: start the child session's run as a task; returns its session id at once."""
        agent = self.agents.get(call.agent)
        if agent is None or not agent.subagent:
            from opencode.agent.agents import subagents

            names = ", ".join(a.name for a in subagents(self.agents))
            raise ToolError(f"unknown subagent {call.agent!r}; available: {names}")
        model = agent.model or self.last_model(parent)
        child = self.create_session(title=f"{call.description} (@{agent.name} subagent)", parent_id=parent.id)

        async def run(abort: asyncio.Event) -> PromptResult:
            return await self.prompt(child.id, call.prompt, model=model, agent=agent.name, abort=abort)

        self.background_runs.start(
            parent_id=parent.id, session_id=child.id, agent=agent.name, description=call.description, run=run
        )
        return child.id

    async def subagent_status(
        self, parent: Session, task_id: str, wait: bool, *, abort: asyncio.Event
    ) -> SubagentStatus:
        return await self.background_runs.lookup(parent.id, task_id, wait=wait, abort=abort)

    async def cancel_subagent(self, parent: Session, task_id: str) -> SubagentStatus:
        record = self.background_runs.find(parent.id, task_id)
        if record is None:
            return self.background_runs.stored(parent.id, task_id)
        return await self.background_runs.cancel(record)

    # --- compaction and titles --------------------------------------------------------------

    def compaction_auto(self) -> bool:
        conf = self.config.compaction
        return not (conf is not None and conf.auto is False)

    async def maybe_compact(self, session: Session, model: ResolvedModel, last: AssistantMessage | None) -> None:
        from opencode.agent.compaction import should_compact

        if last is None or not should_compact(
            last.tokens, model.info.context, model.info.output, auto=self.compaction_auto()
        ):
            return
        await self.compact(session, model, auto=True)

    async def compact(self, session: Session, model: ResolvedModel, *, auto: bool) -> None:
        """Prune old tool output, then summarise the conversation so far into a summary message."""
        from opencode.agent.compaction import summarize
        from opencode.bus import SessionCompacted
        from opencode.session.model import CompactionPart

        self.prune(session, force=True)
        history = self.store.list_messages(session.id)
        summary_model = self.small_model(model)
        user = UserMessage(
            id=ids.ascending("msg"),
            sessionID=session.id,
            agent="compaction",
            model=ModelRef(providerID=model.provider.id, modelID=model.info.id),
        )
        self.store.put_message(user)
        self.store.put_part(CompactionPart(id=ids.ascending("prt"), sessionID=session.id, messageID=user.id, auto=auto))
        message = self.new_assistant_message(session, user, summary_model, "compaction")
        message.summary = True
        try:
            text = await summarize(summary_model, history, model_id=summary_model.info.id)
        except Exception as exc:
            from opencode.agent.step import message_error

            log.warning("compaction failed: %s", exc)
            self.finish_message(message, error=message_error(exc))
            return
        part = TextPart(id=ids.ascending("prt"), sessionID=session.id, messageID=message.id, text=text)
        self.store.put_part(part)
        self.finish_message(message)
        cont = UserMessage(id=ids.ascending("msg"), sessionID=session.id, agent=user.agent, model=user.model)
        self.store.put_message(cont)
        self.store.put_part(
            TextPart(
                id=ids.ascending("prt"),
                sessionID=session.id,
                messageID=cont.id,
                text="Continue with the task if there are next steps; otherwise say that you are done.",
                synthetic=True,
            )
        )
        self.bus.publish(SessionCompacted(sessionID=session.id))

    def prune(self, session: Session, *, force: bool = False) -> None:
        from opencode.agent.compaction import prune_tool_outputs

        conf = self.config.compaction
        if not force and conf is not None and conf.prune is False:
            return
        for part in prune_tool_outputs(self.store.list_messages(session.id)):
            self.store.put_part(part)

    def small_model(self, fallback: ResolvedModel) -> ResolvedModel:
        ref = self.config.small_model
        if ref:
            try:
                return self.registry.resolve(ref)
            except Exception as exc:
                log.warning("small_model %s unusable (%s); using %s", ref, exc, fallback.ref)
        return fallback

    def start_title(self, session: Session, text: str) -> None:
        """Name the session from its first message without holding up the answer."""
        from opencode.agent.title import fallback_title, generate_title

        session.title = fallback_title(text)
        self.touch(session)
        if not self.config.small_model:
            return  # no small model configured: the first line stays the title, no extra request
        try:
            resolved = self.registry.resolve(self.config.small_model)
        except Exception as exc:
            log.warning("small_model %s unusable for titles: %s", self.config.small_model, exc)
            return

        async def name_it() -> None:
            title = await generate_title(resolved, text)
            if title:
                current = self.store.get_session(session.id)
                current.title = title
                self.touch(current)

        task = asyncio.create_task(name_it())
        self.background.add(task)
        task.add_done_callback(self.background.discard)

    async def drain(self, timeout: float = 3.0) -> None:
        """Let background work (titles) finish, within `timeout` seconds; then stop the MCP servers."""
        if self.background:
            await asyncio.wait(list(self.background), timeout=timeout)
        if self._mcp is not None:
            mcp, self._mcp = self._mcp, None
            await mcp.close()
        if self._lsp is not None:
            lsp, self._lsp = self._lsp, None
            await lsp.close()  # shutdown and exit, then the processes are killed if they linger


async def _unset(call: Any) -> Any:
    raise RuntimeError("the step's tool runner was not set")


def _iso_now() -> str:
    from datetime import UTC, datetime

    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
