"""The typed schema of `opencode.json`, key for key with opencode's own (its zod / Effect schema).

Field names are the JSON keys (camelCase where opencode uses it); only `$schema` needs an alias.
Every field is optional and defaults to None, so `Config.model_dump(by_alias=True,
exclude_none=True)` gives back the JSON that was read. Validation is strict, as JSON is: "0.5" is
not a number and 1 is not true.

Objects are closed or open. A closed object (the top level, providers, MCP servers, ...) drops
keys it does not know; the loader reports them as warnings. An open object (agents, provider
options, variants, the TUI block) keeps them, because opencode passes them on.

A union is told apart by the JSON type of the value (string, object, boolean...) or, for MCP
servers, by `type`, so a wrong value gets one error from the branch it was meant for.
`problems()` adds the checks a field type cannot express (action-only permissions, custom LSP
servers without a command).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Discriminator, Field, Tag
from pydantic_core import PydanticCustomError

__all__ = [
    "AgentConfig",
    "AttachmentConfig",
    "CommandConfig",
    "CompactionConfig",
    "Config",
    "EnterpriseConfig",
    "ExperimentalConfig",
    "ExperimentalPolicy",
    "FormatterConfig",
    "ImageAttachmentConfig",
    "LogLevel",
    "LspServerConfig",
    "McpConfig",
    "McpLocalConfig",
    "McpOAuthConfig",
    "McpRemoteConfig",
    "McpToggleConfig",
    "ModelConfig",
    "ModelCost",
    "ModelLimit",
    "ModelModalities",
    "PermissionAction",
    "PermissionConfig",
    "PermissionRule",
    "ProviderConfig",
    "ProviderOptions",
    "ReferenceGit",
    "ReferenceLocal",
    "ServerConfig",
    "SkillsConfig",
    "ToolOutputConfig",
    "TuiConfig",
    "VariantConfig",
    "WatcherConfig",
    "WebSearchBackendConfig",
    "problems",
]

SCHEMA_URL = "https://opencode.ai/config.json"


class _Closed(BaseModel):
    model_config = ConfigDict(
        extra="ignore",
        strict=True,
        validate_by_name=True,
        validate_by_alias=True,
        serialize_by_alias=True,
        protected_namespaces=(),
    )


class _Open(BaseModel):
    model_config = ConfigDict(
        extra="allow",
        strict=True,
        validate_by_name=True,
        validate_by_alias=True,
        serialize_by_alias=True,
        protected_namespaces=(),
    )


# --- building blocks -----------------------------------------------------------------------


def _kind(value: Any) -> str | None:
    """The JSON type of a value, the tag of by-type unions (a parsed object counts as an object when dumping)."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "str"
    if isinstance(value, dict | BaseModel):
        return "dict"
    if isinstance(value, list):
        return "list"
    return None


def _by_type(message: str) -> Discriminator:
    """Pick a union branch by the value's JSON type; any other type gets `message` (which starts "expected")."""
    return Discriminator(_kind, custom_error_type="type_mismatch", custom_error_message=message)


def _only(value: bool, message: str) -> AfterValidator:
    """A boolean that may only be `value` (opencode's `z.literal(false)`); 0 and 1 are not booleans here."""

    def check(v: bool) -> bool:
        if v is not value:
            raise PydanticCustomError("type_mismatch", message)
        return v

    return AfterValidator(check)


PositiveInt = Annotated[int, Field(gt=0)]
NonNegativeInt = Annotated[int, Field(ge=0)]
LogLevel = Literal["DEBUG", "INFO", "WARN", "ERROR"]
PermissionAction = Literal["allow", "ask", "deny"]

TimeoutMs = Annotated[
    Annotated[PositiveInt, Tag("int")] | Annotated[bool, _only(False, "expected milliseconds or false"), Tag("bool")],
    _by_type("expected milliseconds (a whole number) or false"),
]

# A rule for one tool: an action for everything, or glob pattern -> action (later patterns win).
PermissionRule = Annotated[
    Annotated[PermissionAction, Tag("str")] | Annotated[dict[str, PermissionAction], Tag("dict")],
    _by_type("expected one of allow, ask, deny, or an object of pattern -> action"),
]
# One action for every tool, or tool -> rule. A dict keeps the user's key order, which decides precedence.
PermissionConfig = Annotated[
    Annotated[PermissionAction, Tag("str")] | Annotated[dict[str, PermissionRule], Tag("dict")],
    _by_type("expected one of allow, ask, deny, or an object of tool -> rule"),
]
# Tools whose permission is a single action, never a pattern map (opencode types them so).
ACTION_ONLY_PERMISSIONS = frozenset(
    {"todowrite", "todoread", "question", "webfetch", "websearch", "codesearch", "doom_loop"}
)

_THEME_COLORS = ("primary", "secondary", "accent", "success", "warning", "error", "info")


def _check_color(value: str) -> str:
    if value in _THEME_COLORS:
        return value
    if len(value) == 7 and value[0] == "#" and all(c in "0123456789abcdefABCDEF" for c in value[1:]):
        return value
    raise PydanticCustomError(
        "type_mismatch", "expected a hex color such as #FF5733 or one of " + ", ".join(_THEME_COLORS)
    )


Color = Annotated[str, AfterValidator(_check_color)]


def _check_plugin_pair(value: list[Any]) -> list[Any]:
    if len(value) != 2 or not isinstance(value[0], str) or not isinstance(value[1], dict):
        raise PydanticCustomError("type_mismatch", 'expected ["package", {options}]')
    return value


PluginSpec = Annotated[
    Annotated[str, Tag("str")] | Annotated[list[Any], AfterValidator(_check_plugin_pair), Tag("list")],
    _by_type('expected a package name or ["package", {options}]'),
]


# --- agents and commands -------------------------------------------------------------------


class AgentConfig(_Open):
    """An agent (or a deprecated `mode`). Unknown keys are kept: opencode hands them to the model as options."""

    model: str | None = None
    variant: str | None = None
    temperature: float | None = None
    top_p: float | None = None
    prompt: str | None = None
    tools: dict[str, bool] | None = None  # deprecated in opencode in favour of `permission`
    disable: bool | None = None
    description: str | None = None
    mode: Literal["subagent", "primary", "all"] | None = None
    hidden: bool | None = None
    options: dict[str, Any] | None = None
    color: Color | None = None
    steps: PositiveInt | None = None
    maxSteps: PositiveInt | None = None  # deprecated alias of `steps`
    permission: PermissionConfig | None = None

    def merged_options(self) -> dict[str, Any]:
        """`options` plus the unknown keys, as opencode merges them for the model call."""
        return {**(self.options or {}), **(self.model_extra or {})}

    def max_steps(self) -> int | None:
        return self.steps if self.steps is not None else self.maxSteps


class CommandConfig(_Closed):
    template: str
    description: str | None = None
    agent: str | None = None
    model: str | None = None
    subtask: bool | None = None


# --- providers and models ------------------------------------------------------------------


class ModelCostTier(_Closed):
    input: float
    output: float
    cache_read: float | None = None
    cache_write: float | None = None


class ModelCost(ModelCostTier):
    """Dollars per million tokens."""

    context_over_200k: ModelCostTier | None = None


class ModelLimit(_Closed):
    context: int
    input: int | None = None
    output: int


Modality = Literal["text", "audio", "image", "video", "pdf"]


class ModelModalities(_Closed):
    input: list[Modality] | None = None
    output: list[Modality] | None = None


class InterleavedField(_Closed):
    field: Literal["reasoning", "reasoning_content", "reasoning_details"]


class ModelProviderOverride(_Closed):
    npm: str | None = None
    api: str | None = None


class VariantConfig(_Open):
    """A named variant of a model (e.g. "high" reasoning); any other key is a model option."""

    disabled: bool | None = None


class ModelConfig(_Closed):
    """A model entry under `provider.<id>.models`, laid over the catalog's entry of the same id."""

    id: str | None = None
    name: str | None = None
    family: str | None = None
    release_date: str | None = None
    last_updated: str | None = None
    knowledge: str | None = None
    open_weights: bool | None = None
    attachment: bool | None = None
    reasoning: bool | None = None
    temperature: bool | None = None
    tool_call: bool | None = None
    interleaved: (
        Annotated[
            Annotated[bool, _only(True, "expected true or an object with field"), Tag("bool")]
            | Annotated[InterleavedField, Tag("dict")],
            _by_type("expected true or an object with field"),
        ]
        | None
    ) = None
    cost: ModelCost | None = None
    limit: ModelLimit | None = None
    modalities: ModelModalities | None = None
    experimental: bool | None = None
    status: Literal["alpha", "beta", "deprecated", "active"] | None = None
    provider: ModelProviderOverride | None = None
    options: dict[str, Any] | None = None
    headers: dict[str, str] | None = None
    variants: dict[str, VariantConfig] | None = None


class ProviderOptions(_Open):
    """Options for a provider's client. Vendor-specific keys (apiVersion, resourceName, region...) are kept."""

    apiKey: str | None = None
    baseURL: str | None = None
    headers: dict[str, str] | None = None
    enterpriseUrl: str | None = None
    setCacheKey: bool | None = None
    timeout: TimeoutMs | None = None
    headerTimeout: TimeoutMs | None = None
    chunkTimeout: PositiveInt | None = None


class ProviderConfig(_Closed):
    api: str | None = None
    name: str | None = None
    env: list[str] | None = None
    id: str | None = None
    npm: str | None = None
    whitelist: list[str] | None = None
    blacklist: list[str] | None = None
    options: ProviderOptions | None = None
    models: dict[str, ModelConfig] | None = None


# --- MCP servers ---------------------------------------------------------------------------


class McpOAuthConfig(_Closed):
    clientId: str | None = None
    clientSecret: str | None = None
    scope: str | None = None
    callbackPort: Annotated[int, Field(ge=1, le=65535)] | None = None
    redirectUri: str | None = None


class McpLocalConfig(_Closed):
    type: Literal["local"]
    command: list[str]
    cwd: str | None = None
    environment: dict[str, str] | None = None
    enabled: bool | None = None
    timeout: PositiveInt | None = None  # ms for requests to the server; opencode's default is 5000


class McpRemoteConfig(_Closed):
    type: Literal["remote"]
    url: str
    enabled: bool | None = None
    headers: dict[str, str] | None = None
    oauth: (
        Annotated[
            Annotated[McpOAuthConfig, Tag("dict")]
            | Annotated[bool, _only(False, "expected an object or false"), Tag("bool")],
            _by_type("expected an object or false"),
        ]
        | None
    ) = None
    timeout: PositiveInt | None = None


class McpToggleConfig(_Closed):
    """Just `{"enabled": false}`: turns off a server defined in a lower layer."""

    enabled: bool


def _mcp_kind(value: Any) -> str | None:
    if isinstance(value, BaseModel):  # dumping: the parsed model says which it is
        return "toggle" if isinstance(value, McpToggleConfig) else str(getattr(value, "type", ""))
    if not isinstance(value, dict):
        return None
    if "type" not in value:
        return "toggle"
    return value["type"] if value["type"] in ("local", "remote") else None


McpConfig = Annotated[
    Annotated[McpLocalConfig, Tag("local")]
    | Annotated[McpRemoteConfig, Tag("remote")]
    | Annotated[McpToggleConfig, Tag("toggle")],
    Discriminator(
        _mcp_kind,
        custom_error_type="type_mismatch",
        custom_error_message='expected an object with "type": "local" or "remote"',
    ),
]


# --- tools around the agent ----------------------------------------------------------------


class LspServerConfig(_Closed):
    """A language server: a built-in one to tune or turn off, or a custom one (command and extensions)."""

    command: list[str] | None = None
    extensions: list[str] | None = None
    disabled: bool | None = None
    env: dict[str, str] | None = None
    initialization: dict[str, Any] | None = None


class FormatterEntry(_Closed):
    disabled: bool | None = None
    command: list[str] | None = None
    environment: dict[str, str] | None = None
    extensions: list[str] | None = None


LspConfig = Annotated[
    Annotated[bool, Tag("bool")] | Annotated[dict[str, LspServerConfig], Tag("dict")],
    _by_type("expected false, true or an object of server name -> settings"),
]
FormatterConfig = Annotated[
    Annotated[bool, Tag("bool")] | Annotated[dict[str, FormatterEntry], Tag("dict")],
    _by_type("expected false, true or an object of formatter name -> settings"),
]

# Language servers opencode ships; any other name needs `command` and `extensions`.
_BUILTIN_LSP = """deno typescript vue eslint oxlint biome gopls ruby-lsp ty pyright elixir-ls zls csharp razor fsharp
    sourcekit-lsp rust clangd svelte astro jdtls kotlin-ls yaml-ls lua-ls prisma dart ocaml-lsp bash terraform
    texlab dockerfile gleam clojure-lsp nixd tinymist haskell-language-server julials"""
BUILTIN_LSP_SERVERS = frozenset([*_BUILTIN_LSP.split(), "php intelephense"])


class ServerConfig(_Closed):
    port: PositiveInt | None = None
    hostname: str | None = None
    mdns: bool | None = None
    mdnsDomain: str | None = None
    cors: list[str] | None = None


class CompactionConfig(_Closed):
    auto: bool | None = None
    prune: bool | None = None
    tail_turns: NonNegativeInt | None = None
    preserve_recent_tokens: NonNegativeInt | None = None
    reserved: NonNegativeInt | None = None


class WatcherConfig(_Closed):
    ignore: list[str] | None = None


class EnterpriseConfig(_Closed):
    url: str | None = None


class ToolOutputConfig(_Closed):
    max_lines: PositiveInt | None = None
    max_bytes: PositiveInt | None = None


class ImageAttachmentConfig(_Closed):
    auto_resize: bool | None = None
    max_width: PositiveInt | None = None
    max_height: PositiveInt | None = None
    max_base64_bytes: PositiveInt | None = None


class AttachmentConfig(_Closed):
    image: ImageAttachmentConfig | None = None


class SkillsConfig(_Closed):
    paths: list[str] | None = None
    urls: list[str] | None = None


class WebSearchBackendConfig(_Closed):
    """Which service the `websearch` tool asks. Ours: opencode's own `websearch` key configures MCP
    search providers instead, so this lives under a key of its own (`websearch_backend`)."""

    type: Literal["searxng", "brave", "tavily", "exa"]
    """The API keys come from the environment: BRAVE_API_KEY, TAVILY_API_KEY or EXA_API_KEY (SearXNG needs none)."""
    url: str | None = None
    """Base URL: required for searxng (the instance, e.g. https://searx.example.org); for the others it
    replaces the public API's address (a proxy, a test server)."""


class ReferenceGit(_Closed):
    repository: str
    branch: str | None = None
    description: str | None = None
    hidden: bool | None = None


class ReferenceLocal(_Closed):
    path: str
    description: str | None = None
    hidden: bool | None = None


def _reference_kind(value: Any) -> str | None:
    if isinstance(value, ReferenceGit | ReferenceLocal):
        return "git" if isinstance(value, ReferenceGit) else "local"
    if isinstance(value, str):
        return "str"
    if isinstance(value, dict):
        if "repository" in value:
            return "git"
        if "path" in value:
            return "local"
    return None


ReferenceEntry = Annotated[
    Annotated[str, Tag("str")] | Annotated[ReferenceGit, Tag("git")] | Annotated[ReferenceLocal, Tag("local")],
    Discriminator(
        _reference_kind,
        custom_error_type="type_mismatch",
        custom_error_message='expected a string or an object with "repository" or "path"',
    ),
]


class HookCommand(_Closed):
    command: list[str]
    environment: dict[str, str] | None = None


class ExperimentalHooks(_Closed):
    file_edited: dict[str, list[HookCommand]] | None = None
    session_completed: list[HookCommand] | None = None


class ExperimentalPolicy(_Closed):
    action: str
    effect: str | None = None
    resource: str | None = None


class ExperimentalConfig(_Closed):
    hook: ExperimentalHooks | None = None
    chatMaxRetries: NonNegativeInt | None = None
    disable_paste_summary: bool | None = None
    batch_tool: bool | None = None
    openTelemetry: bool | None = None
    primary_tools: list[str] | None = None
    continue_loop_on_deny: bool | None = None
    mcp_timeout: PositiveInt | None = None
    policies: list[ExperimentalPolicy] | None = None


class ScrollAcceleration(_Closed):
    enabled: bool


class TuiConfig(_Open):
    """Terminal UI settings; opencode's TUI grows keys often, so unknown ones are kept."""

    scroll_speed: Annotated[float, Field(ge=0.001)] | None = None
    scroll_acceleration: ScrollAcceleration | None = None
    diff_style: Literal["auto", "stacked"] | None = None


# --- the whole file ------------------------------------------------------------------------


class Config(_Closed):
    """`opencode.json`: every key of opencode's Config, plus the TUI's theme, keybinds and tui."""

    schema_: str | None = Field(default=None, alias="$schema")
    theme: str | None = None
    keybinds: dict[str, str] | None = None
    tui: TuiConfig | None = None
    logLevel: LogLevel | None = None
    shell: str | None = None
    username: str | None = None
    model: str | None = None  # "provider/model"
    small_model: str | None = None  # for titles and summaries
    default_agent: str | None = None
    subagent_depth: NonNegativeInt | None = None
    agent: dict[str, AgentConfig] | None = None
    mode: dict[str, AgentConfig] | None = None  # deprecated in opencode in favour of `agent`
    command: dict[str, CommandConfig] | None = None
    provider: dict[str, ProviderConfig] | None = None
    enabled_providers: list[str] | None = None  # when set, only these
    disabled_providers: list[str] | None = None
    mcp: dict[str, McpConfig] | None = None
    permission: PermissionConfig | None = None
    tools: dict[str, bool] | None = None  # deprecated in opencode in favour of `permission`
    instructions: list[str] | None = None  # extra instruction files or globs
    plugin: list[PluginSpec] | None = None
    lsp: LspConfig | None = None
    formatter: FormatterConfig | None = None
    server: ServerConfig | None = None
    share: Literal["manual", "auto", "disabled"] | None = None
    autoshare: bool | None = None  # deprecated: true means share "auto"
    autoupdate: bool | Literal["notify"] | None = None
    snapshot: bool | None = None
    compaction: CompactionConfig | None = None
    watcher: WatcherConfig | None = None
    enterprise: EnterpriseConfig | None = None
    tool_output: ToolOutputConfig | None = None
    attachment: AttachmentConfig | None = None
    skills: SkillsConfig | None = None
    references: dict[str, ReferenceEntry] | None = None
    reference: dict[str, ReferenceEntry] | None = None  # deprecated spelling of `references`
    layout: Literal["auto", "stretch"] | None = None  # deprecated in opencode
    experimental: ExperimentalConfig | None = None
    websearch_backend: WebSearchBackendConfig | None = None  # ours, not opencode's: the websearch tool's service


# --- checks beyond field types -------------------------------------------------------------


def _permission_problems(value: Any, at: list[str | int]) -> list[tuple[list[str | int], str]]:
    if not isinstance(value, dict):
        return []
    return [
        ([*at, tool], "expected one of allow, ask, deny (this permission takes no patterns), got an object")
        for tool, rule in value.items()
        if tool in ACTION_ONLY_PERMISSIONS and isinstance(rule, dict)
    ]


def problems(config: Config) -> list[tuple[list[str | int], str]]:
    """What a valid-typed config still gets wrong, as (path, message)."""
    found = _permission_problems(config.permission, ["permission"])
    for group in ("agent", "mode"):
        for name, agent in (getattr(config, group) or {}).items():
            found += _permission_problems(agent.permission, [group, name, "permission"])
    if isinstance(config.lsp, dict):
        for name, server in config.lsp.items():
            if server.disabled or name in BUILTIN_LSP_SERVERS:
                continue
            if not server.command or not server.extensions:
                found.append((["lsp", name], "a custom language server needs both 'command' and 'extensions'"))
    return found
