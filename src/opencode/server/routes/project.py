"""The project around the engine: paths, project and VCS info, config, providers and stored keys,
agents, commands, skills, and the status of language servers, MCP servers and formatters
(opencode's `path`, `project`, `vcs`, `config`, `provider`, `auth`, `app` and status groups).

    GET /path  /project  /project/current  /vcs  /vcs/status  /vcs/diff?mode=git
    GET /config            PATCH /config (the project's opencode.json; see opencode.agent.settings)
    GET /config/providers  GET /provider   PUT|DELETE /auth/{providerID}
    GET /agent  /command  /skill  /lsp  /mcp  /formatter  /experimental/tool/ids  /experimental/tool

What does not exist yet says so plainly: `/lsp` is [] (no language servers run). `/mcp` gives each
configured server's status from the engine's MCP servers (`opencode.mcp.manager`).
"""

from __future__ import annotations

import re
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, Field, RootModel
from starlette.responses import JSONResponse

from opencode.server.app import engine_of
from opencode.server.errors import ApiError, bad_request, query_model, read_body
from opencode.server.openapi import api

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.responses import Response

    from opencode.agent.engine import Engine
    from opencode.provider.catalog import ModelInfo
    from opencode.provider.registry import ProviderEntry

RESTART_HEADER = "x-opencode-restart-needed"
"""On `PATCH /config`: the keys written that the running server applies only after a restart."""
PROVIDER_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


# --- /path, /project, /vcs -----------------------------------------------------------------------


class PathInfo(BaseModel):
    home: str
    state: str
    config: str
    worktree: str
    directory: str


async def get_path(request: Request) -> Response:
    """Where things are: home, OpenCode's state and config directories, the project root, the working directory."""
    from opencode.config.paths import paths

    engine = engine_of(request)
    where = paths()
    info = PathInfo(
        home=str(Path.home()),
        state=str(where.state),
        config=str(where.config),
        worktree=str(engine.root),
        directory=str(engine.cwd),
    )
    return JSONResponse(info.model_dump())


class ProjectTime(BaseModel):
    created: int
    updated: int


class Project(BaseModel):
    id: str
    worktree: str
    vcs: Literal["git"] | None = None
    name: str | None = None
    time: ProjectTime
    sandboxes: list[str] = Field(default_factory=list)


def project_info(engine: Engine) -> dict[str, Any]:
    """The one project this server serves. Times: the root directory's (no project table is kept)."""
    try:
        stat = engine.root.stat()
        created, updated = int(stat.st_ctime * 1000), int(stat.st_mtime * 1000)
    except OSError:
        created = updated = 0
    project = Project(
        id=engine.project_id,
        worktree=str(engine.root),
        vcs="git" if (engine.root / ".git").exists() else None,
        name=engine.root.name or None,
        time=ProjectTime(created=created, updated=max(created, updated)),
    )
    return project.model_dump(exclude_none=True)


async def list_projects(request: Request) -> Response:
    """The projects this server knows: the one it serves."""
    return JSONResponse([project_info(engine_of(request))])


async def current_project(request: Request) -> Response:
    """The project this server serves."""
    return JSONResponse(project_info(engine_of(request)))


class VcsInfo(BaseModel):
    branch: str | None = None
    default_branch: str | None = None


async def get_vcs(request: Request) -> Response:
    """The git branch checked out ("HEAD" when detached) and the default branch; {} outside git."""
    from opencode.util import vcs

    root = engine_of(request).root
    if not await vcs.is_repo(root):
        return JSONResponse({})
    info = VcsInfo(branch=await vcs.branch(root), default_branch=await vcs.default_branch(root))
    return JSONResponse(info.model_dump(exclude_none=True))


class VcsFileStatus(BaseModel):
    file: str
    additions: int
    deletions: int
    status: Literal["added", "deleted", "modified"]


async def vcs_status(request: Request) -> Response:
    """Changed files against HEAD (staged or not, untracked included), paths from the project root."""
    from opencode.util import vcs

    found = await vcs.changes(engine_of(request).root)
    return JSONResponse([VcsFileStatus.model_validate(asdict(change)).model_dump() for change in found])


class VcsDiffQuery(BaseModel):
    mode: Literal["git", "branch"]
    context: int | None = Field(default=None, ge=0, le=10_000)
    directory: str | None = None


class VcsFileDiff(BaseModel):
    file: str
    patch: str | None = None
    additions: int
    deletions: int
    status: Literal["added", "deleted", "modified"] | None = None


MAX_DIFF_FILES = 300
"""`GET /vcs/diff` sends patches for this many files at most (counts for all)."""


async def vcs_diff(request: Request) -> Response:
    """Each changed file's patch: against HEAD (`mode=git`) or where HEAD left the default branch (`mode=branch`)."""
    import asyncio

    from opencode.util import vcs

    root = engine_of(request).root
    query = query_model(request, VcsDiffQuery)
    if not await vcs.is_repo(root):
        return JSONResponse([])
    base = await vcs.base_of(root, query.mode)
    if base is None:
        raise bad_request(
            "mode: branch needs a default branch (origin/HEAD, main or master) and a commit", field="mode"
        )
    found = await vcs.changes(root, base)
    gate = asyncio.Semaphore(4)

    async def one(change: vcs.Change, with_patch: bool) -> dict[str, Any]:
        patch = None
        if with_patch:
            async with gate:
                patch = await vcs.file_diff(
                    root, change.file, base, context=3 if query.context is None else query.context
                )
        item = VcsFileDiff(
            file=change.file, patch=patch, additions=change.additions, deletions=change.deletions, status=change.status
        )
        return item.model_dump(exclude_none=True)

    diffs = await asyncio.gather(*(one(change, index < MAX_DIFF_FILES) for index, change in enumerate(found)))
    return JSONResponse(list(diffs))


# --- /config -------------------------------------------------------------------------------------


class ConfigPatch(RootModel[dict[str, Any]]):
    """A JSON merge patch for opencode.json: objects merge key by key, null removes a key."""


def config_json(engine: Engine) -> dict[str, Any]:
    return engine.config.model_dump(mode="json", by_alias=True, exclude_none=True)


async def get_config(request: Request) -> Response:
    """The configuration the engine runs with (every layer merged)."""
    return JSONResponse(config_json(engine_of(request)))


async def update_config(request: Request) -> Response:
    """Change the project's opencode.json (created if missing) and the running engine's config.

    The reply is the new merged config; keys that take effect only after a restart are named in the
    `x-opencode-restart-needed` header."""
    from opencode.agent.settings import SettingsError, update_config

    engine = engine_of(request)
    patch = await read_body(request, ConfigPatch)
    try:
        update = update_config(engine, patch.root)
    except SettingsError as exc:
        if exc.key is not None:
            raise bad_request(str(exc), field=exc.key) from None
        raise
    headers = {RESTART_HEADER: ", ".join(update.restart)} if update.restart else None
    return JSONResponse(config_json(engine), headers=headers)


# --- providers -----------------------------------------------------------------------------------


class Model(BaseModel):
    id: str
    providerID: str
    api: dict[str, str]
    name: str
    capabilities: dict[str, Any]
    cost: dict[str, Any]
    limit: dict[str, int]
    status: Literal["alpha", "beta", "deprecated", "active"]
    options: dict[str, Any]
    headers: dict[str, str]
    release_date: str


class Provider(BaseModel):
    id: str
    name: str
    source: Literal["env", "config", "custom", "api"]
    env: list[str]
    options: dict[str, Any]
    models: dict[str, Model]


class ProviderList(BaseModel):
    all: list[Provider]
    default: dict[str, str]
    connected: list[str]


class ConfigProviders(BaseModel):
    providers: list[Provider]
    default: dict[str, str]


MEDIA = ("text", "audio", "image", "video", "pdf")


def _npm(engine: Engine, entry: ProviderEntry) -> str:
    from opencode.provider.vendors import VENDORS

    configured = (engine.config.provider or {}).get(entry.id)
    if configured is not None and configured.npm:
        return configured.npm
    vendor = VENDORS.get(entry.id)
    return vendor.npm if vendor is not None else ""


def model_json(engine: Engine, entry: ProviderEntry, info: ModelInfo) -> dict[str, Any]:
    """A model in opencode's `Model` shape (what the catalog does not know is left neutral)."""
    status = info.status if info.status in ("alpha", "beta", "deprecated") else "active"
    model = Model(
        id=info.id,
        providerID=entry.id,
        api={"id": info.id, "url": entry.base_url, "npm": _npm(engine, entry)},
        name=info.name,
        capabilities={
            "temperature": info.temperature,
            "reasoning": info.reasoning,
            "attachment": info.attachment,
            "toolcall": info.tool_call,
            "input": {kind: kind in info.input_modalities for kind in MEDIA},
            "output": {kind: kind == "text" for kind in MEDIA},
            "interleaved": False,
        },
        cost={
            "input": info.cost.input,
            "output": info.cost.output,
            "cache": {
                "read": info.cost.cache_read if info.cost.cache_read is not None else info.cost.input,
                "write": info.cost.cache_write if info.cost.cache_write is not None else info.cost.input,
            },
        },
        limit={"context": info.context, "output": info.output},
        status=status,
        options=dict(entry.model_options.get(info.id, {})),
        headers={},
        release_date=info.release_date or "",
    )
    return model.model_dump()


def provider_json(engine: Engine, entry: ProviderEntry) -> dict[str, Any]:
    """A provider in opencode's `Provider` shape; its key is never sent, only where it came from."""
    configured = entry.id in (engine.config.provider or {})
    source = (entry.key_source or "").split(" ")[0]
    kind = (
        "custom"
        if entry.custom
        else {"config": "config", "auth.json": "api", "env": "env"}.get(source, "config" if configured else "env")
    )
    return {
        "id": entry.id,
        "name": entry.name,
        "source": kind,
        "env": list(entry.env),
        "options": {k: v for k, v in entry.options.items() if not _secret(k)},
        "models": {model_id: model_json(engine, entry, info) for model_id, info in entry.models.items()},
    }


def _secret(name: str) -> bool:
    lowered = name.lower()
    return any(word in lowered for word in ("key", "token", "secret", "password"))


def default_models(entries: list[ProviderEntry]) -> dict[str, str]:
    """Each provider's default model: its newest tool-calling one that is not deprecated."""
    from opencode.provider.registry import _best_model

    found = {entry.id: _best_model(entry) for entry in entries}
    return {pid: model for pid, model in found.items() if model}


async def config_providers(request: Request) -> Response:
    """The providers that can be used now (a key, or none needed) with their models, and each one's default model."""
    engine = engine_of(request)
    connected = engine.registry.connected()
    body = {"providers": [provider_json(engine, p) for p in connected], "default": default_models(connected)}
    return JSONResponse(body)


async def list_providers(request: Request) -> Response:
    """Every provider known (catalog, vendors, config), each one's default model, and the connected ones."""
    engine = engine_of(request)
    entries = list(engine.registry.providers.values())
    connected = [p.id for p in engine.registry.connected()]
    body = {
        "all": [provider_json(engine, p) for p in entries],
        "default": default_models(entries),
        "connected": connected,
    }
    return JSONResponse(body)


class ApiAuth(BaseModel):
    """What `PUT /auth/{providerID}` stores: an API key (OAuth logins are not supported here)."""

    type: Literal["api"]
    key: str = Field(min_length=1)


def _provider_id(request: Request) -> str:
    provider_id = str(request.path_params["providerID"])
    if not PROVIDER_ID.match(provider_id):
        raise bad_request(
            f"providerID: {provider_id[:80]!r} is not a provider id (letters, digits, . _ -)", field="providerID"
        )
    return provider_id


async def set_auth(request: Request) -> Response:
    """Store an API key for a provider in auth.json (the running server uses it at once)."""
    from opencode.agent.settings import store_api_key

    provider_id = _provider_id(request)
    body = await read_body(request, ApiAuth)
    store_api_key(engine_of(request), provider_id, body.key)
    return JSONResponse(True)


async def remove_auth(request: Request) -> Response:
    """Remove a provider's stored key from auth.json (true also when there was none, as opencode answers)."""
    from opencode.agent.settings import forget_api_key

    forget_api_key(engine_of(request), _provider_id(request))
    return JSONResponse(True)


# --- agents, commands, skills ------------------------------------------------------------------


class PermissionRule(BaseModel):
    permission: str
    pattern: str
    action: Literal["allow", "deny", "ask"]


class ModelRef(BaseModel):
    modelID: str
    providerID: str


class Agent(BaseModel):
    name: str
    description: str | None = None
    mode: Literal["subagent", "primary", "all"]
    native: bool
    hidden: bool
    topP: float | None = None
    temperature: float | None = None
    color: str | None = None
    permission: list[PermissionRule]
    model: ModelRef | None = None
    variant: str | None = None
    prompt: str | None = None
    options: dict[str, Any]
    steps: int | None = None


async def list_agents(request: Request) -> Response:
    """The agents (built-in and the user's), with their permission rules as the engine applies them."""
    engine = engine_of(request)
    out: list[dict[str, Any]] = []
    for agent in engine.agents.values():
        ruleset = engine.ruleset(agent.name)
        provider, sep, model = (agent.model or "").partition("/")
        item = Agent(
            name=agent.name,
            description=agent.description or None,
            mode=agent.mode,
            native=agent.builtin,
            hidden=agent.hidden,
            topP=agent.top_p,
            temperature=agent.temperature,
            color=agent.color,
            permission=[
                PermissionRule(permission=r.permission, pattern=r.pattern, action=r.action)
                for r in [*ruleset.defaults, *ruleset.rules]
            ],
            model=ModelRef(modelID=model, providerID=provider) if sep else None,
            variant=agent.variant,
            prompt=agent.prompt,
            options=dict(agent.options),
            steps=agent.steps,
        )
        out.append(item.model_dump(exclude_none=True))
    return JSONResponse(out)


class Command(BaseModel):
    name: str
    description: str | None = None
    agent: str | None = None
    model: str | None = None
    source: Literal["command", "mcp", "skill"] = "command"
    template: str
    subtask: bool | None = None
    hints: list[str]


def hints(template: str) -> list[str]:
    """The argument markers a command's template takes (`$1`, `$2`, ..., `$ARGUMENTS`), in order."""
    numbered = sorted({int(n) for n in re.findall(r"\$([1-9]\d*)", template)})
    found = [f"${n}" for n in numbered]
    return [*found, "$ARGUMENTS"] if "$ARGUMENTS" in template else found


async def list_commands(request: Request) -> Response:
    """The commands a prompt can run (`/name`): the built-in `init` and the user's own."""
    from opencode.agent.agents import AgentError
    from opencode.agent.commands import load_commands

    engine = engine_of(request)
    try:
        found = load_commands(engine.config, engine.cwd, engine.root)
    except AgentError as exc:
        raise ApiError(400, "BadRequest", f"a command file is broken: {exc}") from None
    from opencode.agent.commands import mcp_commands

    found = {**mcp_commands(engine), **found}  # the MCP servers' prompts, `/server:prompt`
    out = [
        Command(
            name=c.name,
            description=c.description,
            agent=c.agent,
            model=c.model,
            template=c.template,
            subtask=c.subtask,
            source="mcp" if c.source.startswith("mcp:") else "command",
            hints=hints(c.template),
        ).model_dump(exclude_none=True)
        for c in sorted(found.values(), key=lambda c: c.name)
    ]
    return JSONResponse(out)


class Skill(BaseModel):
    name: str
    description: str
    location: str
    content: str


async def list_skills(request: Request) -> Response:
    """The skills found for this project (SKILL.md files), with their instructions."""
    from opencode.tool.skill import SkillTool

    engine = engine_of(request)
    tool = engine.tools.get("skill")
    if not isinstance(tool, SkillTool):
        return JSONResponse([])
    catalog = tool.catalog(engine.cwd, engine.root, engine.config.skills)
    skills = [
        Skill(name=s.name, description=s.description, location=str(s.location), content=s.content).model_dump()
        for s in catalog.available()
    ]
    return JSONResponse(skills)


# --- status of services --------------------------------------------------------------------------


class LspStatus(BaseModel):
    id: str
    name: str
    root: str
    status: Literal["connected", "error"]


async def lsp_status(request: Request) -> Response:
    """The language servers started or tried (they start per file type when a file is first edited or
    looked up): id, name, root, status ("connected" or "error", with the error)."""
    lsp = engine_of(request).lsp
    return JSONResponse(lsp.status() if lsp is not None else [])


class McpStatus(BaseModel):
    status: Literal["connected", "disabled", "failed", "needs_auth", "needs_client_registration"]
    error: str | None = None


async def mcp_status(request: Request) -> Response:
    """Each configured MCP server's status (the engine's MCP servers start on first use; this waits
    for them as a step does, and a server still connecting then reads "failed" with that said)."""
    engine = engine_of(request)
    out: dict[str, dict[str, Any]] = {}
    for name, server in (engine.config.mcp or {}).items():
        if getattr(server, "enabled", None) is False:
            out[name] = McpStatus(status="disabled").model_dump(exclude_none=True)
    manager = engine.mcp
    if manager is not None:
        await manager.ready_for_step()
        for name, found in manager.status().items():
            if found.status == "connecting":
                out[name] = McpStatus(status="failed", error="still connecting").model_dump(exclude_none=True)
            else:
                out[name] = McpStatus(status=found.status, error=found.error).model_dump(exclude_none=True)
    return JSONResponse(out)


class FormatterStatus(BaseModel):
    name: str
    extensions: list[str]
    enabled: bool


async def formatter_status(request: Request) -> Response:
    """The formatters the config leaves and whether this project has each one (its tool found, its config present)."""
    from opencode.tool.formatter import formatters

    engine = engine_of(request)
    out: list[dict[str, Any]] = []
    for formatter in formatters(engine.config.formatter):
        probe = engine.root / f"probe{formatter.extensions[0]}" if formatter.extensions else None
        try:
            enabled = probe is not None and formatter.detect(probe, engine.root) is not None
        except OSError:
            enabled = False
        item = FormatterStatus(name=formatter.name, extensions=list(formatter.extensions), enabled=enabled)
        out.append(item.model_dump())
    return JSONResponse(out)


# --- tools ---------------------------------------------------------------------------------------


class ToolListQuery(BaseModel):
    provider: str = Field(min_length=1)
    model: str = Field(min_length=1)
    directory: str | None = None


class ToolListItem(BaseModel):
    id: str
    description: str
    parameters: dict[str, Any]


async def tool_ids(request: Request) -> Response:
    """The ids of every tool the engine has."""
    return JSONResponse(engine_of(request).tools.names())


async def tool_list(request: Request) -> Response:
    """Every tool with its description and JSON schema (the same for every model here; `provider` and
    `model` are required as in opencode)."""
    engine = engine_of(request)
    query_model(request, ToolListQuery)
    specs = engine.tools.specs()
    return JSONResponse(
        [ToolListItem(id=s.name, description=s.description, parameters=s.parameters).model_dump() for s in specs]
    )


routes = [
    api("GET", "/path", get_path, "path.get", response=PathInfo),
    api("GET", "/project", list_projects, "project.list", response=list[Project]),
    api("GET", "/project/current", current_project, "project.current", response=Project),
    api("GET", "/vcs", get_vcs, "vcs.get", response=VcsInfo),
    api("GET", "/vcs/status", vcs_status, "vcs.status", response=list[VcsFileStatus]),
    api("GET", "/vcs/diff", vcs_diff, "vcs.diff", query=VcsDiffQuery, response=list[VcsFileDiff]),
    api("GET", "/config", get_config, "config.get", response=dict[str, Any]),
    api("PATCH", "/config", update_config, "config.update", body=ConfigPatch, response=dict[str, Any]),
    api("GET", "/config/providers", config_providers, "config.providers", response=ConfigProviders),
    api("GET", "/provider", list_providers, "provider.list", response=ProviderList),
    api("PUT", "/auth/{providerID}", set_auth, "auth.set", body=ApiAuth, response=bool),
    api("DELETE", "/auth/{providerID}", remove_auth, "auth.remove", response=bool),
    api("GET", "/agent", list_agents, "app.agents", response=list[Agent]),
    api("GET", "/command", list_commands, "command.list", response=list[Command]),
    api("GET", "/skill", list_skills, "app.skills", response=list[Skill]),
    api("GET", "/lsp", lsp_status, "lsp.status", response=list[LspStatus]),
    api("GET", "/mcp", mcp_status, "mcp.status", response=dict[str, McpStatus]),
    api("GET", "/formatter", formatter_status, "formatter.status", response=list[FormatterStatus]),
    api("GET", "/experimental/tool/ids", tool_ids, "tool.ids", response=list[str]),
    api("GET", "/experimental/tool", tool_list, "tool.list", query=ToolListQuery, response=list[ToolListItem]),
]
