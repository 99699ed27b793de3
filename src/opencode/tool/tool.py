"""The tool framework: what a tool is, what it gets to work with, and what it gives back.

A tool is a name, a description for the model (a `.txt` file next to its module), a pydantic
parameter model (its JSON schema is what the model sees) and `async run(params, ctx)`. The
context is a tool's only door to the outside: the project root and working directory, the
session and agent, the abort signal, the permission asker and a way to publish progress. Tools
never print; they return text for the model plus metadata for the faces (a diff, a file list).

Errors the model can act on are raised as `ToolError(message)`; the registry turns them (and
argument validation failures) into a tool-error result. Output is capped in one place
(`opencode.tool.truncate`).
"""

from __future__ import annotations

import abc
import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Literal, TypeVar

from pydantic import BaseModel

from opencode.tool.filetimes import FileTimes

if TYPE_CHECKING:
    from opencode.bus import QuestionInfo
    from opencode.lsp.manager import LspManager
    from opencode.session.model import Todo

Params = TypeVar("Params", bound=BaseModel)


class ToolError(Exception):
    """A failure the model should hear about: the message is what it reads."""


class Aborted(Exception):
    """The run was cancelled (Ctrl-C, the API); the tool stopped early."""


@dataclass
class Attachment:
    """A file a tool hands back to the model (e.g. an image `read` opened)."""

    mime: str
    data: bytes
    filename: str | None = None


@dataclass
class ToolResult:
    output: str
    title: str = ""
    metadata: dict[str, Any] = field(default_factory=dict)
    attachments: list[Attachment] = field(default_factory=list)


@dataclass
class PermissionRequest:
    """What a tool asks approval for. `patterns` are matched against the rules (issue: permissions):
    a bash command, a file path. `always` are the patterns an "always allow" answer would add."""

    permission: str
    patterns: list[str]
    title: str
    metadata: dict[str, Any] = field(default_factory=dict)
    always: list[str] = field(default_factory=list)


@dataclass
class SubagentCall:
    agent: str
    prompt: str
    description: str


@dataclass
class SubagentResult:
    session_id: str
    text: str
    error: str | None = None
    cost: float = 0.0
    """Dollars the child session spent (its own subagents included)."""


@dataclass
class SubagentStatus:
    """Where a background subagent run stands (the `task` tool's status, wait and cancel actions)."""

    session_id: str
    agent: str
    description: str
    status: Literal["running", "completed", "error", "cancelled"]
    text: str = ""
    """The final answer, once completed."""
    error: str | None = None
    cost: float = 0.0
    elapsed: float = 0.0
    """Seconds since it started."""


Ask = Callable[[PermissionRequest], Awaitable[None]]
"""Returns when allowed; raises `ToolError` (rejected) otherwise."""


async def allow_all(request: PermissionRequest) -> None:
    return None


@dataclass
class ToolContext:
    session_id: str
    message_id: str
    call_id: str
    agent: str
    root: Path
    """The project root (git root, or the working directory outside git)."""
    cwd: Path
    abort: asyncio.Event = field(default_factory=asyncio.Event)
    ask: Ask = allow_all
    file_times: FileTimes = field(default_factory=FileTimes)
    """What this session read, for read-before-write checks."""
    on_metadata: Callable[[str | None, dict[str, Any]], None] | None = None
    data_dir: Path | None = None
    """Where to save full outputs that were cut (defaults to the XDG data dir)."""
    run_subagent: Callable[[SubagentCall], Awaitable[SubagentResult]] | None = None
    """Runs a subagent in a child session (the `task` tool); the engine provides it."""
    start_subagent: Callable[[SubagentCall], Awaitable[str]] | None = None
    """Starts a subagent in the background and returns its child session id (`task` with `background`)."""
    subagent_status: Callable[[str, bool], Awaitable[SubagentStatus]] | None = None
    """(task id, wait): a background run's status; with wait, once it has finished. Raises ToolError."""
    cancel_subagent: Callable[[str], Awaitable[SubagentStatus]] | None = None
    """Aborts a background run (its running tools are stopped) and returns its final status."""
    read_todos: Callable[[], list[Todo]] | None = None
    write_todos: Callable[[list[Todo]], None] | None = None
    """The session's todo list: stored and published by the engine (`todowrite`, `todoread`)."""
    ask_question: Callable[[list[QuestionInfo]], Awaitable[list[list[str]]]] | None = None
    """Asks the user through the face and waits: one list of chosen labels per question. Raises
    ToolError when nobody can answer (no face) or the user dismissed the question."""
    switch_agent: Callable[[str], Awaitable[None]] | None = None
    """Runs the session as another primary agent from the next step on (plan_enter, plan_exit)."""
    previous_agent: Callable[[], str] | None = None
    """The agent the session ran as before it entered plan mode (plan_exit switches back to it)."""
    run_tool: Callable[[int, str, dict[str, Any]], Awaitable[ToolResult]] | None = None
    """(index, tool, arguments): one call of a `batch`, through the engine's normal path (tool set,
    permission asks, doom-loop check, snapshot); raises ToolError or Aborted as a call would."""
    lsp: LspManager | None = None
    """The project's language servers (the `lsp` tool); None when config `lsp` is false."""

    def metadata(self, title: str | None = None, **metadata: Any) -> None:
        """Publish progress for the faces (e.g. bash output so far); not seen by the model."""
        if self.on_metadata is not None:
            self.on_metadata(title, metadata)

    def resolve(self, path: str) -> Path:
        """A path from the model, relative to the working directory, `~` expanded, normalised."""
        candidate = Path(path).expanduser()
        if not candidate.is_absolute():
            candidate = self.cwd / candidate
        return Path(*candidate.parts).resolve(strict=False)

    def check_abort(self) -> None:
        if self.abort.is_set():
            raise Aborted("aborted")


class Tool(abc.ABC, Generic[Params]):
    name: ClassVar[str]
    params: ClassVar[type[BaseModel]]
    description_file: ClassVar[str | None] = None
    """Name of a `.txt` in opencode.tool.prompts holding the description; else the class docstring."""
    caps_output: ClassVar[bool] = False
    """True when the tool pages its own output and says how to go on (read); the registry then
    leaves the output as it is instead of capping it with `opencode.tool.truncate`."""

    @property
    def description(self) -> str:
        if self.description_file:
            return resources.files("opencode.tool.prompts").joinpath(self.description_file).read_text("utf-8").strip()
        return (type(self).__doc__ or self.name).strip()

    def schema(self) -> dict[str, Any]:
        schema = self.params.model_json_schema()
        _drop_titles(schema)
        return schema

    @abc.abstractmethod
    async def run(self, params: Params, ctx: ToolContext) -> ToolResult:
        """Do the work; raise `ToolError` for failures the model should read."""


def _drop_titles(node: Any) -> None:
    """Remove pydantic's generated `title`s from a schema, nested models included (they cost
    request size and tell the model nothing). Only schema keywords are walked, so a property
    named "title" and data such as defaults stay as they are."""
    if isinstance(node, list):
        for item in node:
            _drop_titles(item)
        return
    if not isinstance(node, dict):
        return
    if isinstance(node.get("title"), str):
        del node["title"]
    for key in ("properties", "$defs", "definitions"):
        for sub in (node.get(key) or {}).values():
            _drop_titles(sub)
    for key in ("items", "additionalProperties", "anyOf", "oneOf", "allOf", "prefixItems", "not"):
        if key in node:
            _drop_titles(node[key])
