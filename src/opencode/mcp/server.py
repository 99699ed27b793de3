"""`opencode mcp serve`: this agent for other MCP clients, on the official `mcp` SDK's low-level server.

    served = AgentServer(engine, agent="build")
    await served.serve_stdio()                       # stdin/stdout carry the protocol
    app = served.http_app(options)                   # Streamable HTTP at /mcp, behind our Guard

Tools offered:

- read, list, glob, grep, edit, write, bash: our own tools with the JSON schemas the model sees,
  run through `Engine.run_tool_call` (the path a model's call takes: argument checks, the
  permission rules, snapshots) in one session per process, created at the first call, so undo
  covers what a client changed. The engine is not interactive: a rule that says "ask" refuses
  the call, and the error names the rule and the config that would allow it.
- run_agent {prompt, agent?, model?, sessionID?}: one full turn of the agent loop (a new session,
  or the one named), answered with the final text and the session id (text and structured
  content). Asks inside the turn are refused the same way.

Every failure a client can cause (bad arguments, a denied permission, an unknown session or
model) comes back as a tool result with `isError` and a one-line message; nothing here raises
into the SDK. What it leaves out: resources, prompts, progress notifications.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import mcp_types as types
    from mcp.server import Server, ServerRequestContext
    from starlette.applications import Starlette

    from opencode.agent.engine import Engine
    from opencode.server.options import ServerOptions
    from opencode.session.model import ToolPart

log = logging.getLogger("opencode.mcp.server")

SERVED_TOOLS = ("read", "list", "glob", "grep", "edit", "write", "bash")
"""Our tools offered to MCP clients (those the agent has: a read-only agent offers no edit or write)."""
READ_ONLY = frozenset({"read", "list", "glob", "grep"})
RUN_AGENT = "run_agent"
MCP_PATH = "/mcp"
SESSION_TITLE = "MCP client (opencode mcp serve)"
SESSION_META = "opencode/sessionID"
"""`_meta` key of every tool result: the session that recorded the call (for undo, `opencode -s ID`)."""

RUN_AGENT_DESCRIPTION = (
    "Run the opencode agent on a task in this project: it reads, searches, edits and runs commands as "
    "needed, then answers. Returns the final answer and the session id; pass that id as sessionID to "
    "continue the same conversation. Actions its permission rules would ask about are refused."
)
RUN_AGENT_INPUT: dict[str, Any] = {
    "type": "object",
    "properties": {
        "prompt": {"type": "string", "description": "The task or question for the agent"},
        "agent": {"type": "string", "description": "A primary agent to run as (default: the server's)"},
        "model": {"type": "string", "description": "provider/model to use (default: the agent's or config's)"},
        "sessionID": {"type": "string", "description": "Continue this session (from an earlier run_agent)"},
    },
    "required": ["prompt"],
    "additionalProperties": False,
}
RUN_AGENT_OUTPUT: dict[str, Any] = {
    "type": "object",
    "properties": {
        "text": {"type": "string", "description": "The agent's final answer"},
        "sessionID": {"type": "string", "description": "The session the turn ran in"},
    },
    "required": ["text", "sessionID"],
}


class AgentServer:
    """The MCP face of one engine: the tool list, the calls, and the two transports."""

    def __init__(self, engine: Engine, *, agent: str, model: str | None = None, version: str = "") -> None:
        self.engine = engine
        self.agent = agent
        self.model = model
        self.version = version
        self.session_id: str | None = None
        """The session of the clients' tool calls (None until the first one)."""
        self._changes: asyncio.Lock | None = None

    # --- what is offered ---------------------------------------------------------------------

    def tool_names(self) -> list[str]:
        agent = self.engine.agent(self.agent)
        defaults = dict(self.engine.config.tools or {})
        return [name for name in SERVED_TOOLS if self.engine.tools.has(name) and agent.tool_enabled(name, defaults)]

    def tools(self) -> list[types.Tool]:
        import mcp_types as types

        names = self.tool_names()
        specs = {spec.name: spec for spec in self.engine.tools.specs(lambda name: name in names)}
        tools = [
            types.Tool(
                name=name,
                description=specs[name].description,
                input_schema=specs[name].parameters,
                annotations=types.ToolAnnotations(read_only_hint=name in READ_ONLY),
            )
            for name in names
        ]
        tools.append(
            types.Tool(
                name=RUN_AGENT,
                description=RUN_AGENT_DESCRIPTION,
                input_schema=RUN_AGENT_INPUT,
                output_schema=RUN_AGENT_OUTPUT,
            )
        )
        return tools

    # --- calls ---------------------------------------------------------------------------------

    async def call(self, name: str, arguments: dict[str, Any] | None) -> types.CallToolResult:
        """One `tools/call`: never raises (a cancelled request aside); failures are `isError` results."""
        try:
            if name == RUN_AGENT:
                return await self.run_agent(arguments or {})
            if name not in self.tool_names():
                offered = ", ".join([*self.tool_names(), RUN_AGENT])
                return error_result(f"unknown tool '{name}'; this server offers: {offered}")
            return await self.run_tool(name, arguments)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            return error_result(describe_error(exc))

    async def run_tool(self, name: str, arguments: dict[str, Any] | None) -> types.CallToolResult:
        session_id = self.tool_session()
        note = f"An MCP client called the {name} tool with {json.dumps(arguments or {}, ensure_ascii=False)}"
        if name in READ_ONLY:
            part = await self.engine.run_tool_call(session_id, name, arguments, agent=self.agent, note=note)
        else:
            # One change at a time: each gets a snapshot of its own, so undo can take back exactly it.
            if self._changes is None:
                self._changes = asyncio.Lock()
            async with self._changes:
                part = await self.engine.run_tool_call(session_id, name, arguments, agent=self.agent, note=note)
        return part_result(part, session_id)

    def tool_session(self) -> str:
        if self.session_id is None:
            self.session_id = self.engine.create_session(title=SESSION_TITLE).id
            log.info("MCP tool calls go to session %s", self.session_id)
        return self.session_id

    async def run_agent(self, arguments: dict[str, Any]) -> types.CallToolResult:
        import mcp_types as types

        from opencode.agent.agents import check_primary

        prompt = arguments.get("prompt")
        if not isinstance(prompt, str) or not prompt.strip():
            return error_result("invalid arguments for tool 'run_agent': prompt: required, a non-empty string")
        for key in ("agent", "model", "sessionID"):
            value = arguments.get(key)
            if value is not None and not isinstance(value, str):
                return error_result(f"invalid arguments for tool 'run_agent': {key}: expected a string")
        unknown = sorted(set(arguments) - set(RUN_AGENT_INPUT["properties"]))
        if unknown:
            return error_result(f"invalid arguments for tool 'run_agent': {', '.join(unknown)}: not a parameter")
        agent = check_primary(self.engine.agents, arguments.get("agent") or self.agent).name
        model = arguments.get("model") or self.model
        self.engine.resolve_model(model, agent)  # an unknown model or a missing key: no empty session left behind
        session_id = arguments.get("sessionID")
        if session_id:
            from opencode.session.store import NotFound

            try:
                self.engine.store.get_session(session_id)
            except NotFound:
                return error_result(f"sessionID {session_id}: no such session; leave it out to start a new one")
        else:
            session_id = self.engine.create_session().id
            log.info("run_agent: new session %s", session_id)
        result = await self.engine.prompt(session_id, prompt, model=model, agent=agent)
        error = result.message.error
        if error is not None:
            return error_result(f"the agent's turn failed: {error.message} (session {session_id})", session_id)
        text = result.text or "(the agent gave no answer)"
        return types.CallToolResult(
            content=[
                types.TextContent(text=text),
                types.TextContent(text=f"sessionID: {session_id} (pass it to run_agent to continue)"),
            ],
            structured_content={"text": result.text, "sessionID": session_id},
            meta={SESSION_META: session_id},
        )

    # --- the SDK's server and the transports ---------------------------------------------------

    def build(self) -> Server[Any]:
        import mcp_types as types
        from mcp.server import Server

        async def list_tools(
            ctx: ServerRequestContext[Any], params: types.PaginatedRequestParams | None
        ) -> types.ListToolsResult:
            return types.ListToolsResult(tools=self.tools())

        async def call_tool(
            ctx: ServerRequestContext[Any], params: types.CallToolRequestParams
        ) -> types.CallToolResult:
            return await self.call(params.name, params.arguments)

        from opencode import __version__

        return Server(
            "opencode",
            version=self.version or __version__,
            title="OpenCode",
            instructions="An AI coding agent's tools for this project, and run_agent to hand it a whole task.",
            on_list_tools=list_tools,
            on_call_tool=call_tool,
        )

    async def serve_stdio(self) -> None:
        """Serve one client over stdin/stdout until stdin closes (the SDK points fd 1 at stderr meanwhile)."""
        from mcp.server.stdio import stdio_server

        server = self.build()
        async with stdio_server() as (read_stream, write_stream):
            await server.run(read_stream, write_stream, server.create_initialization_options())

    def http_app(self, options: ServerOptions) -> Any:
        """Streamable HTTP at /mcp, wrapped in our Guard (Host and Origin checks, the password, body cap)."""
        from mcp.server.transport_security import TransportSecuritySettings

        from opencode.server.guard import Guard

        app: Starlette = self.build().streamable_http_app(
            streamable_http_path=MCP_PATH,
            # The Guard checks Host and Origin for every request, as for `opencode serve`.
            transport_security=TransportSecuritySettings(enable_dns_rebinding_protection=False),
            host=options.hostname,
        )
        return Guard(app, options)


# --- results -----------------------------------------------------------------------------------


def error_result(message: str, session_id: str | None = None) -> types.CallToolResult:
    import mcp_types as types

    return types.CallToolResult(
        content=[types.TextContent(text=message)],
        is_error=True,
        meta={SESSION_META: session_id} if session_id else None,
    )


def part_result(part: ToolPart, session_id: str) -> types.CallToolResult:
    """A finished tool part as an MCP result: the output (or the error) and its attachments."""
    import mcp_types as types

    from opencode.session.model import ToolStateCompleted, ToolStateError

    state = part.state
    if isinstance(state, ToolStateError):
        return error_result(state.error, session_id)
    if not isinstance(state, ToolStateCompleted):
        return error_result(f"the {part.tool} call did not finish", session_id)
    content: list[types.ContentBlock] = [types.TextContent(text=state.output or "(no output)")]
    for attachment in state.attachments or []:
        mime, data = split_data_url(attachment.url)
        if mime.startswith("image/"):
            content.append(types.ImageContent(data=data, mime_type=mime))
        else:
            uri = f"file://{attachment.filename}" if attachment.filename else "file:///attachment"
            content.append(
                types.EmbeddedResource(resource=types.BlobResourceContents(uri=uri, mime_type=mime, blob=data))
            )
    return types.CallToolResult(content=content, meta={SESSION_META: session_id})


def split_data_url(url: str) -> tuple[str, str]:
    """`data:<mime>;base64,<data>` -> (mime, base64 data); other data URLs are encoded here."""
    head, _, body = url.partition(",")
    mime = head.removeprefix("data:").split(";")[0] or "application/octet-stream"
    if head.endswith(";base64"):
        return mime, body
    from urllib.parse import unquote_to_bytes

    return mime, base64.b64encode(unquote_to_bytes(body)).decode()


def describe_error(exc: Exception) -> str:
    """One line for the client: the message of errors meant for a user, else the type and message (logged)."""
    from opencode.agent.agents import AgentError
    from opencode.agent.engine import SessionBusy

    known: tuple[type[Exception], ...] = (AgentError, SessionBusy)
    for module, name in (
        ("opencode.provider.errors", "ProviderError"),
        ("opencode.provider.registry", "ModelNotFound"),
        ("opencode.provider.registry", "NoCredentials"),
        ("opencode.session.store", "NotFound"),
        ("opencode.tool.tool", "ToolError"),
    ):
        loaded = __import__(module, fromlist=[name])
        known += (getattr(loaded, name),)
    if isinstance(exc, known):
        return " ".join(str(exc).split("\n"))
    log.exception("MCP tool call failed")
    return f"the call failed: {type(exc).__name__}: {exc}"
