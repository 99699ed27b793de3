"""Agents as data: the built-in agents and modes, and the user's own from markdown files and config.

An agent is a prompt, an optional model and sampling settings, a tool set, permission rules and a
mode: `primary` (the user talks to it), `subagent` (other agents start it with the `task` tool)
or `all` (both).

    agents = load_agents(config, cwd, root)
    agent = check_primary(agents, args.agent) if args.agent else default_agent(agents, config)

Layers, lowest first; a later layer changes only the fields it sets (a config entry for `build`
that sets `model` keeps build's prompt and permissions):

1. built-ins: build, plan, general, explore and the modes architect, ask, code, debug,
   orchestrator, review
2. `$XDG_CONFIG_HOME/opencode/{agent,agents}/**/*.md`, then `{mode,modes}/*.md`
3. each project `.opencode/` from the git root down to the working directory, same folders
   (skipped when OPENCODE_DISABLE_PROJECT_CONFIG is set), then `$OPENCODE_CONFIG_DIR` if set
4. config `mode` entries, then config `agent` entries (the newer key wins over the deprecated one)

Merging: `tools` and `options` merge key by key; `permission` merges per tool, and a pattern map
merges pattern by pattern, an overridden key moving to the end so that opencode's "later rule
wins" reading still holds. `disable: true` removes the agent (a later `disable: false` brings it
back). A markdown file's name is the agent's name (`agent/docs/writer.md` is `docs/writer`); its
YAML front matter holds the fields and its body is the prompt. New agents are `all` unless they
say otherwise, or `primary` when they come from a `mode/` folder or the config `mode` key.

Permissions are kept raw, in opencode's config shape; the permission service lays them over the
global rules. Left out: opencode's hidden internal agents (compaction, title, summary), which the
engine runs with its own prompts.
"""

from __future__ import annotations

import copy
import os
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any, Literal

from pydantic import ValidationError

from opencode.agent import prompts
from opencode.config.errors import ConfigError, ConfigFileError, describe_issues, render_path
from opencode.config.load import project_dirs
from opencode.config.paths import paths
from opencode.config.schema import AgentConfig, Config, problems

__all__ = [
    "Agent",
    "AgentError",
    "Mode",
    "builtin_agents",
    "check_primary",
    "config_dirs",
    "default_agent",
    "describe_subagents",
    "load_agents",
    "merge_permission",
    "parse_markdown",
    "primary_agents",
    "subagents",
]

Mode = Literal["primary", "subagent", "all"]
BUILTIN_SOURCE = "built-in"
DEFAULT_AGENT = "build"
NO_DESCRIPTION = "No description given; start it only when the user asks for it by name."


class AgentError(ConfigError):
    """An agent that cannot be loaded or used as asked: one line, naming the file or the agent."""


@dataclass
class Agent:
    name: str
    description: str = ""
    mode: Mode = "all"
    prompt: str | None = None
    """The system prompt; None means the model family's prompt (`opencode.agent.system`)."""
    model: str | None = None
    """As "provider/model"; None means the session's model."""
    temperature: float | None = None
    top_p: float | None = None
    tools: dict[str, bool] = field(default_factory=dict)
    """Tool name or glob pattern -> enabled; a tool no key matches is enabled."""
    permission: dict[str, Any] = field(default_factory=dict)
    """opencode's shape: tool -> action, or tool -> {pattern: action}; laid over the global rules."""
    steps: int | None = None
    color: str | None = None
    hidden: bool = False
    builtin: bool = False
    source: str = BUILTIN_SOURCE
    """Where the last layer that changed it came from: "built-in", a markdown file, "config: agent.NAME"."""
    options: dict[str, Any] = field(default_factory=dict)
    """Extra model options (config `options` plus unknown keys), passed to the provider."""
    variant: str | None = None

    @property
    def primary(self) -> bool:
        return self.mode != "subagent"

    @property
    def subagent(self) -> bool:
        return self.mode != "primary"

    def tool_enabled(self, name: str, defaults: Mapping[str, bool] | None = None) -> bool:
        """Whether the model gets tool `name`: this agent's rules, then `defaults` (the config's `tools`), else on.

        Within one set of rules an exact key wins over patterns, and among patterns the last match wins."""
        for rules in (self.tools, defaults or {}):
            decided = _tool_rule(rules, name)
            if decided is not None:
                return decided
        return True


def _tool_rule(rules: Mapping[str, bool], name: str) -> bool | None:
    if name in rules:
        return rules[name]
    found: bool | None = None
    for pattern, enabled in rules.items():
        if fnmatchcase(name, pattern):
            found = enabled
    return found


# --- built-ins -----------------------------------------------------------------------------

READ_ONLY_TOOLS = {"write": False, "edit": False, "multiedit": False, "apply_patch": False, "rm": False}
NO_PLAN_EXIT = {"plan_exit": False}
"""plan_exit leaves plan mode, so only the plan agent has it (plan has no plan_enter instead)."""
UNATTENDED = {"question": False, "plan_enter": False, "plan_exit": False}
"""Subagents run without a user to ask and keep the agent they were started as."""
# Read-only git commands a reviewer may run without asking; "*" first so opencode's "later rule
# wins" reading and a "more specific pattern wins" reading give the same answers.
GIT_READ_ONLY = {"*": "ask", "git diff*": "allow", "git log*": "allow", "git show*": "allow", "git status*": "allow"}


def _prompt(name: str) -> str:
    """A built-in agent's prompt: its own role text, then the guidance every mode shares."""
    return prompts.load(f"agents/{name}") + "\n\n" + prompts.load("agents/common")


def builtin_agents() -> dict[str, Agent]:
    """The agents and modes OpenCode ships, in the order lists show them."""
    specs: list[dict[str, Any]] = [
        {
            "name": "build",
            "mode": "primary",
            "description": "The default agent: plans, edits and runs commands within the configured permissions.",
            "tools": dict(NO_PLAN_EXIT),
        },
        {
            "name": "plan",
            "mode": "primary",
            "description": "Plans without changing anything: file edits are denied and every shell command is asked.",
            "prompt": _prompt("plan"),
            "tools": {**READ_ONLY_TOOLS, "plan_enter": False},
            "permission": {"edit": "deny", "bash": "ask"},
        },
        {
            "name": "general",
            "mode": "subagent",
            "description": "General-purpose agent for research and multi-step tasks, including edits; give it one "
            "self-contained task. Start several at once for independent pieces of work.",
            "prompt": _prompt("general"),
            "tools": {"todowrite": False, "todoread": False, **UNATTENDED},
        },
        {
            "name": "explore",
            "mode": "subagent",
            "description": "Fast read-only agent for finding things in the codebase: files by pattern, code by "
            'keyword, or how something works. Say how thorough to be: "quick", "medium" or "very thorough".',
            "prompt": _prompt("explore"),
            "tools": {
                "*": False,
                "read": True,
                "glob": True,
                "grep": True,
                "list": True,
                "explore": True,
                "bash": True,
                "batch": True,
            },
            "permission": {"edit": "deny", "bash": "ask"},
        },
        {
            "name": "architect",
            "mode": "primary",
            "description": "Designs solutions and writes plans as markdown documents; makes no code changes.",
            "prompt": _prompt("architect"),
            "tools": dict(NO_PLAN_EXIT),
            # A deny would win over the *.md allow (denies always win), so other files are asked about:
            # the user decides, and a run without a terminal refuses them.
            "permission": {"edit": {"*": "ask", "*.md": "allow"}, "bash": "ask"},
        },
        {
            "name": "ask",
            "mode": "primary",
            "description": "Answers questions about the code without changing anything.",
            "prompt": _prompt("ask"),
            "tools": {**READ_ONLY_TOOLS, **NO_PLAN_EXIT},
            "permission": {"edit": "deny", "bash": "ask"},
        },
        {
            "name": "code",
            "mode": "primary",
            "description": "Implements changes: writes the code and its tests, then runs them.",
            "prompt": _prompt("code"),
            "tools": dict(NO_PLAN_EXIT),
        },
        {
            "name": "debug",
            "mode": "primary",
            "description": "Finds and fixes bugs: reproduce, isolate, fix, verify.",
            "prompt": _prompt("debug"),
            "tools": dict(NO_PLAN_EXIT),
        },
        {
            "name": "orchestrator",
            "mode": "primary",
            "description": "Breaks a large task into subtasks, delegates them to subagents and combines the results.",
            "prompt": _prompt("orchestrator"),
            "tools": {
                "*": False,
                "task": True,
                "read": True,
                "glob": True,
                "grep": True,
                "list": True,
                "todowrite": True,
                "todoread": True,
                "question": True,
            },
            "permission": {"edit": "deny"},
        },
        {
            "name": "review",
            "mode": "primary",
            "description": "Reviews the working tree's changes or a commit range and reports findings by severity; "
            "changes nothing.",
            "prompt": _prompt("review"),
            "tools": {**READ_ONLY_TOOLS, **NO_PLAN_EXIT},
            "permission": {"edit": "deny", "bash": dict(GIT_READ_ONLY)},
        },
    ]
    return {spec["name"]: Agent(**spec, builtin=True, source=BUILTIN_SOURCE) for spec in specs}


# --- markdown files ------------------------------------------------------------------------

_FENCE = re.compile(r"^---[ \t]*\r?\n")
_FENCE_END = re.compile(r"^(?:---|\.\.\.)[ \t]*\r?$", re.MULTILINE)
_KEY_VALUE = re.compile(r"^([A-Za-z_][\w-]*)[ \t]*:[ \t]*(.*)$")


def parse_markdown(path: Path) -> tuple[dict[str, Any], str]:
    """A markdown file's YAML front matter and its body. Raises AgentError (one line naming the file)."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise AgentError(f"{path}: is not UTF-8 text") from None
    except OSError as exc:
        raise ConfigFileError(str(path), exc.strerror or str(exc)) from None
    start = _FENCE.match(text)
    if start is None:
        return {}, text
    end = _FENCE_END.search(text, start.end())
    if end is None:
        raise AgentError(f"{path}: front matter starts with --- but has no closing --- line")
    raw = text[start.end() : end.start()]
    body = text[end.end() :].lstrip("\r\n")
    import yaml  # only when a file has front matter: it costs start-up ~20 ms

    try:
        data = yaml.safe_load(raw)
    except yaml.YAMLError as first:
        # Other tools' files (Claude Code's agents) often hold unquoted values with colons, which
        # YAML rejects; retry with such values as literal blocks before giving up.
        try:
            data = yaml.safe_load(_quote_colon_values(raw))
        except yaml.YAMLError:
            raise AgentError(f"{path}: front matter is not valid YAML: {_yaml_problem(first)}") from None
    if data is None:
        return {}, body
    if not isinstance(data, dict):
        raise AgentError(f"{path}: front matter must be YAML fields (name: value), got {type(data).__name__}")
    return data, body


def _quote_colon_values(raw: str) -> str:
    lines: list[str] = []
    for line in raw.splitlines():
        match = _KEY_VALUE.match(line)
        value = match.group(2).strip() if match else ""
        if match and ":" in value and value[:1] not in ("'", '"', "|", ">", "{", "["):
            lines += [f"{match.group(1)}: |-", f"  {value}"]
        else:
            lines.append(line)
    return "\n".join(lines)


def _yaml_problem(error: Exception) -> str:
    problem = getattr(error, "problem", None) or str(error).splitlines()[0]
    mark = getattr(error, "problem_mark", None)
    # +2: the mark counts from 0 and the front matter starts on the file's second line.
    return f"{problem} (line {mark.line + 2})" if mark is not None else str(problem)


def _agent_config(path: Path, name: str, data: dict[str, Any]) -> AgentConfig:
    """Front matter checked as config `agent.<name>` would be; problems name the file and the field."""
    data = {key: value for key, value in data.items() if key != "name"}  # the file name is the name
    try:
        config = Config.model_validate({"agent": {name: data}})
    except ValidationError as exc:
        issues = describe_issues(exc.errors(), {"agent": {name: data}})
        raise AgentError(
            [f"{path}: {render_path(at[2:]) or 'front matter'}: {message}" for at, message in issues]
        ) from None
    found = problems(config)
    if found:
        raise AgentError([f"{path}: {render_path(at[2:])}: {message}" for at, message in found])
    assert config.agent is not None
    return config.agent[name]


def _markdown_files(directory: Path, folders: tuple[str, ...], *, recursive: bool) -> Iterator[tuple[str, Path]]:
    """(name, path) of each `*.md` under `directory/<folder>`, in a stable order."""
    for folder in folders:
        base = directory / folder
        if not base.is_dir():
            continue
        found = base.rglob("*.md") if recursive else base.glob("*.md")
        for path in sorted(p for p in found if p.is_file()):
            yield path.relative_to(base).with_suffix("").as_posix(), path


def config_dirs(cwd: Path, root: Path, config_dir: Path | None = None) -> list[Path]:
    """Directories holding agent/, mode/ and command/ folders, lowest precedence first, without repeats."""
    dirs = [config_dir if config_dir is not None else paths().config]
    if os.environ.get("OPENCODE_DISABLE_PROJECT_CONFIG", "").lower() not in ("1", "true"):
        cwd, root = cwd.resolve(), root.resolve()
        chain = [cwd, *cwd.parents]
        within = chain[: chain.index(root) + 1][::-1] if root in chain else project_dirs(cwd)
        dirs += [directory / ".opencode" for directory in within]
    extra = os.environ.get("OPENCODE_CONFIG_DIR")
    if extra:
        dirs.append(Path(extra).expanduser())
    unique: list[Path] = []
    for directory in dirs:
        if directory.resolve() not in {d.resolve() for d in unique}:
            unique.append(directory)
    return unique


# --- layering ------------------------------------------------------------------------------


@dataclass
class _Layer:
    name: str
    config: AgentConfig
    source: str
    default_mode: Mode


# Markdown folders in each config directory: (folder names, whether to look in subfolders, mode of a new agent).
_FOLDERS: tuple[tuple[tuple[str, ...], bool, Mode], ...] = (
    (("agent", "agents"), True, "all"),
    (("mode", "modes"), False, "primary"),
)
# Config keys, lowest first, with the mode of a new agent.
_CONFIG_KEYS: tuple[tuple[Literal["mode", "agent"], Mode], ...] = (("mode", "primary"), ("agent", "all"))


def _layers(config: Config, cwd: Path, root: Path, config_dir: Path | None) -> Iterator[_Layer]:
    for directory in config_dirs(cwd, root, config_dir):
        for folders, recursive, mode in _FOLDERS:
            for name, path in _markdown_files(directory, folders, recursive=recursive):
                data, body = parse_markdown(path)
                if body.strip():
                    data = {**data, "prompt": body.strip()}
                yield _Layer(name, _agent_config(path, name, data), str(path), mode)
    for key, mode in _CONFIG_KEYS:
        for name, entry in (getattr(config, key) or {}).items():
            yield _Layer(name, entry, f"config: {key}.{name}", mode)


def _apply(agent: Agent, conf: AgentConfig, source: str) -> None:
    """Lay one layer over `agent`: only what the layer sets changes."""
    for name in ("description", "mode", "prompt", "model", "temperature", "top_p", "color", "hidden", "variant"):
        value = getattr(conf, name)
        if value is not None:
            setattr(agent, name, value)
    steps = conf.max_steps()
    if steps is not None:
        agent.steps = steps
    if conf.tools:
        agent.tools = {**agent.tools, **conf.tools}
    if conf.permission is not None:
        agent.permission = merge_permission(agent.permission, conf.permission)
    options = conf.merged_options()
    if options:
        agent.options = _deep_merge(agent.options, options)
    agent.source = source


def merge_permission(base: Mapping[str, Any], over: str | Mapping[str, Any]) -> dict[str, Any]:
    """`over` laid on `base` (opencode's permission shape); a plain action stands for {"*": action}.

    An overridden key moves to the end, so "the later rule wins" stays true of the result."""
    layer: Mapping[str, Any] = {"*": over} if isinstance(over, str) else over
    result = copy.deepcopy(dict(base))
    for tool, rule in layer.items():
        previous = result.pop(tool, None)
        if isinstance(rule, Mapping) and isinstance(previous, dict):
            for pattern, action in rule.items():
                previous.pop(pattern, None)
                previous[pattern] = action
            result[tool] = previous
        else:
            result[tool] = copy.deepcopy(dict(rule)) if isinstance(rule, Mapping) else rule
    return result


def _deep_merge(base: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    result = copy.deepcopy(dict(base))
    for key, value in over.items():
        if isinstance(value, Mapping) and isinstance(result.get(key), dict):
            result[key] = _deep_merge(result[key], value)
        else:
            result[key] = copy.deepcopy(value)
    return result


def load_agents(config: Config, cwd: Path, root: Path, *, config_dir: Path | None = None) -> dict[str, Agent]:
    """Every agent for a session in `cwd` (project root `root`); see the module docstring for the layers.

    Raises AgentError (a ConfigError) for a markdown file that cannot be read, with the file and field."""
    agents = builtin_agents()
    disabled: set[str] = set()
    for layer in _layers(config, cwd, root, config_dir):
        if layer.config.disable:
            disabled.add(layer.name)
        elif layer.config.disable is not None:
            disabled.discard(layer.name)
        agent = agents.get(layer.name)
        if agent is None:
            agent = agents[layer.name] = Agent(name=layer.name, mode=layer.default_mode, source=layer.source)
        _apply(agent, layer.config, layer.source)
    return {name: agent for name, agent in agents.items() if name not in disabled}


# --- choosing ------------------------------------------------------------------------------


def primary_agents(agents: Mapping[str, Agent]) -> list[Agent]:
    """Agents the user can talk to (mode primary or all), hidden ones included."""
    return [agent for agent in agents.values() if agent.primary]


def subagents(agents: Mapping[str, Agent]) -> list[Agent]:
    """Agents the `task` tool can start (mode subagent or all), hidden ones included."""
    return [agent for agent in agents.values() if agent.subagent]


def _primary_list(agents: Mapping[str, Agent]) -> str:
    names = [agent.name for agent in primary_agents(agents) if not agent.hidden]
    return ", ".join(names) if names else "(none)"


def check_primary(agents: Mapping[str, Agent], name: str) -> Agent:
    """The agent `name`, if the user may talk to it; else AgentError listing the primary agents."""
    agent = agents.get(name)
    if agent is None:
        raise AgentError(f"unknown agent {name!r}; primary agents: {_primary_list(agents)}")
    if not agent.primary:
        raise AgentError(f"{name} is a subagent; primary agents: {_primary_list(agents)}")
    return agent


def default_agent(agents: Mapping[str, Agent], config: Config) -> Agent:
    """Config `default_agent` (a visible primary agent), else build, else the first visible primary agent."""
    name = config.default_agent
    if name:
        agent = agents.get(name)
        if agent is None:
            problem = f"unknown agent {name!r}"
        elif not agent.primary:
            problem = f"{name} is a subagent"
        elif agent.hidden:
            problem = f"{name} is hidden"
        else:
            return agent
        raise AgentError(f"default_agent: {problem}; primary agents: {_primary_list(agents)}")
    fallback = agents.get(DEFAULT_AGENT)
    if fallback is not None and fallback.primary and not fallback.hidden:
        return fallback
    for agent in primary_agents(agents):
        if not agent.hidden:
            return agent
    raise AgentError("no primary agent left: every agent is disabled, hidden or a subagent")


def describe_subagents(agents: Mapping[str, Agent] | Iterable[Agent]) -> str:
    """The subagent list appended to the `task` tool's description: one line per subagent."""
    pool = agents.values() if isinstance(agents, Mapping) else agents
    lines = [f"- {agent.name}: {agent.description or NO_DESCRIPTION}" for agent in pool if agent.subagent]
    if not lines:
        return "No subagents are available."
    return "Available subagents (subagent_type: when to use it):\n" + "\n".join(lines)
