"""Agents as data: the built-ins, markdown and config agents layered field by field, and choosing one."""

from __future__ import annotations

from pathlib import Path

import pytest

from opencode.agent.agents import (
    Agent,
    AgentError,
    builtin_agents,
    check_primary,
    default_agent,
    describe_subagents,
    load_agents,
    merge_permission,
    primary_agents,
    subagents,
)
from opencode.config.errors import ConfigError
from opencode.config.paths import paths
from opencode.config.schema import Config


@pytest.fixture
def root(tmp_path: Path) -> Path:
    project = tmp_path / "project"
    (project / ".git").mkdir(parents=True)
    return project.resolve()


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def config(**data: object) -> Config:
    return Config.model_validate(data)


def load(root: Path, cwd: Path | None = None, **data: object) -> dict[str, Agent]:
    return load_agents(config(**data), cwd or root, root)


# --- built-ins -----------------------------------------------------------------------------


def test_builtins_have_their_modes() -> None:
    agents = builtin_agents()
    modes = {name: agent.mode for name, agent in agents.items()}
    assert modes == {
        "build": "primary",
        "plan": "primary",
        "general": "subagent",
        "explore": "subagent",
        "architect": "primary",
        "ask": "primary",
        "code": "primary",
        "debug": "primary",
        "orchestrator": "primary",
        "review": "primary",
    }
    assert all(agent.builtin and agent.source == "built-in" and agent.description for agent in agents.values())


def test_build_uses_the_family_prompt_and_every_other_builtin_has_its_own() -> None:
    agents = builtin_agents()
    assert agents["build"].prompt is None
    assert agents["build"].tools == {"plan_exit": False} and agents["build"].permission == {}
    for name in ("plan", "general", "explore", "architect", "ask", "code", "debug", "orchestrator", "review"):
        prompt = agents[name].prompt
        assert prompt is not None and len(prompt) > 500, name
        assert "# Safety" in prompt, name  # the shared guidance follows each role text
    assert "Reproduce" in (agents["debug"].prompt or "")
    assert "task tool" in (agents["orchestrator"].prompt or "")
    assert "Critical" in (agents["review"].prompt or "")


def test_read_only_builtins_deny_edits() -> None:
    agents = builtin_agents()
    for name in ("plan", "ask", "review"):
        assert agents[name].permission["edit"] == "deny", name
        assert not agents[name].tool_enabled("write") and not agents[name].tool_enabled("edit"), name
    assert agents["plan"].permission["bash"] == "ask"
    assert agents["orchestrator"].permission["edit"] == "deny"
    assert agents["explore"].permission == {"edit": "deny", "bash": "ask"}


def test_architect_may_edit_only_markdown_without_asking() -> None:
    architect = builtin_agents()["architect"]
    assert architect.permission["edit"] == {"*": "ask", "*.md": "allow"}
    assert architect.tool_enabled("write") and architect.tool_enabled("edit")


def test_review_runs_read_only_git_commands_and_asks_for_the_rest() -> None:
    bash = builtin_agents()["review"].permission["bash"]
    assert bash["*"] == "ask"
    for command in ("git diff*", "git log*", "git show*", "git status*"):
        assert bash[command] == "allow"


def test_tool_sets_of_explore_orchestrator_and_general() -> None:
    agents = builtin_agents()
    explore = [
        t
        for t in ("read", "glob", "grep", "list", "bash", "write", "edit", "task")
        if agents["explore"].tool_enabled(t)
    ]
    assert explore == ["read", "glob", "grep", "list", "bash"]
    assert not agents["explore"].tool_enabled("some_mcp_tool")
    orchestrator = [
        t
        for t in ("task", "read", "glob", "grep", "list", "bash", "write", "edit")
        if agents["orchestrator"].tool_enabled(t)
    ]
    assert orchestrator == ["task", "read", "glob", "grep", "list"]
    assert not agents["general"].tool_enabled("todowrite") and agents["general"].tool_enabled("edit")


def test_tool_enabled_agent_rules_before_config_defaults() -> None:
    agent = Agent("x", tools={"mcp_*": False, "mcp_search": True})
    assert agent.tool_enabled("mcp_search") and not agent.tool_enabled("mcp_fetch")
    assert not agent.tool_enabled("webfetch", {"webfetch": False})
    assert Agent("y", tools={"webfetch": True}).tool_enabled("webfetch", {"webfetch": False})
    assert agent.tool_enabled("read", {"*": True})


# --- markdown and config layers ------------------------------------------------------------


AGENT_MD = """---
description: Reviews database migrations
mode: subagent
model: anthropic/claude-sonnet-4-5
temperature: 0.2
tools:
  write: false
permission:
  bash:
    "psql *": deny
steps: 7
---

You review SQL migrations for locking problems.
"""


def test_project_markdown_agent(root: Path) -> None:
    path = write(root / ".opencode" / "agent" / "migrations.md", AGENT_MD)
    agent = load(root)["migrations"]
    assert agent.mode == "subagent"
    assert agent.description == "Reviews database migrations"
    assert agent.prompt == "You review SQL migrations for locking problems."
    assert agent.model == "anthropic/claude-sonnet-4-5"
    assert agent.temperature == 0.2
    assert agent.steps == 7
    assert agent.tools == {"write": False}
    assert agent.permission == {"bash": {"psql *": "deny"}}
    assert agent.source == str(path)
    assert not agent.builtin


def test_global_markdown_agent_and_project_overrides_field_by_field(root: Path) -> None:
    write(
        paths().config / "agent" / "helper.md", "---\ndescription: global helper\nmodel: a/one\n---\nGlobal prompt.\n"
    )
    assert load(root)["helper"].prompt == "Global prompt."
    write(root / ".opencode" / "agent" / "helper.md", "---\nmodel: b/two\n---\n")
    helper = load(root)["helper"]
    assert helper.model == "b/two"
    assert helper.description == "global helper"
    assert helper.prompt == "Global prompt."  # an empty body changes nothing
    assert helper.source.endswith(".opencode/agent/helper.md")


def test_config_agent_overrides_markdown_field_by_field(root: Path) -> None:
    write(root / ".opencode" / "agent" / "migrations.md", AGENT_MD)
    agents = load(
        root,
        agent={
            "migrations": {"model": "openai/gpt-5", "permission": {"bash": {"git *": "allow"}, "edit": "deny"}},
            "docs": {"prompt": "You write docs.", "description": "Docs writer", "tools": {"bash": False}},
        },
    )
    migrations = agents["migrations"]
    assert migrations.model == "openai/gpt-5"
    assert migrations.prompt == "You review SQL migrations for locking problems."
    assert migrations.temperature == 0.2
    assert migrations.permission == {"bash": {"psql *": "deny", "git *": "allow"}, "edit": "deny"}
    assert migrations.source == "config: agent.migrations"
    docs = agents["docs"]
    assert (docs.mode, docs.prompt, docs.tools) == ("all", "You write docs.", {"bash": False})


def test_config_entry_for_a_builtin_changes_only_what_it_sets(root: Path) -> None:
    plan = load(root, agent={"plan": {"model": "openai/gpt-5", "permission": {"bash": {"ls *": "allow"}}}})["plan"]
    original = builtin_agents()["plan"]
    assert plan.model == "openai/gpt-5"
    assert plan.prompt == original.prompt and plan.tools == original.tools
    assert plan.permission == {"edit": "deny", "bash": {"ls *": "allow"}}
    assert plan.builtin and plan.source == "config: agent.plan"


def test_options_and_unknown_keys_become_model_options(root: Path) -> None:
    write(root / ".opencode" / "agent" / "x.md", "---\nreasoningEffort: high\nname: ignored\n---\nHi.\n")
    agent = load(root, agent={"x": {"options": {"store": False}}})["x"]
    assert agent.options == {"reasoningEffort": "high", "store": False}


def test_mode_folder_and_mode_key_default_to_primary(root: Path) -> None:
    write(root / ".opencode" / "mode" / "focus.md", "---\ndescription: Focus mode\n---\nStay focused.\n")
    write(root / ".opencode" / "agent" / "anywhere.md", "Body only, no front matter.\n")
    agents = load(root, mode={"legacy": {"prompt": "Old style."}})
    assert agents["focus"].mode == "primary"
    assert agents["legacy"].mode == "primary"
    assert agents["anywhere"].mode == "all"
    assert agents["anywhere"].prompt == "Body only, no front matter."


def test_nested_project_dirs_from_root_down_to_cwd(root: Path) -> None:
    sub = root / "packages" / "web"
    sub.mkdir(parents=True)
    write(root / ".opencode" / "agent" / "helper.md", "---\ndescription: root\nmodel: a/root\n---\nRoot.\n")
    write(sub / ".opencode" / "agent" / "helper.md", "---\nmodel: a/web\n---\n")
    write(root / ".opencode" / "agents" / "team" / "writer.md", "---\ndescription: nested name\n---\nWrite.\n")
    agents = load(root, cwd=sub)
    assert agents["helper"].model == "a/web" and agents["helper"].description == "root"
    assert agents["team/writer"].description == "nested name"
    assert load(root)["helper"].model == "a/root"  # from the root, the deeper folder does not count


def test_disable_removes_and_a_later_layer_brings_back(root: Path) -> None:
    write(paths().config / "agent" / "debug.md", "---\ndisable: true\n---\n")
    assert "debug" not in load(root)
    assert "debug" in load(root, agent={"debug": {"disable": False}})
    assert "general" not in load(root, agent={"general": {"disable": True}})


def test_project_config_can_be_switched_off(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(root / ".opencode" / "agent" / "mine.md", "Mine.\n")
    monkeypatch.setenv("OPENCODE_DISABLE_PROJECT_CONFIG", "1")
    assert "mine" not in load(root)


def test_claude_style_front_matter_with_colons_loads(root: Path) -> None:
    write(
        root / ".opencode" / "agent" / "claude.md",
        "---\nname: claude\ndescription: Use this agent when: the user asks for tests\nmodel: a/b\n---\nPrompt.\n",
    )
    assert load(root)["claude"].description == "Use this agent when: the user asks for tests"


# --- bad files -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("---\ndescription: [unclosed\n---\nBody\n", "front matter is not valid YAML"),
        ("---\ntemperature: hot\n---\nBody\n", "temperature: expected a number"),
        ("---\nmode: boss\n---\nBody\n", "mode: expected one of"),
        ("---\ntools:\n  write: maybe\n---\nBody\n", "tools.write: expected true or false"),
        (
            "---\npermission:\n  webfetch:\n    '*': allow\n---\n",
            "permission.webfetch: expected one of allow, ask, deny",
        ),
        ("---\n- a\n- b\n---\nBody\n", "front matter must be YAML fields"),
        ("---\ndescription: x\nBody without an end\n", "no closing ---"),
        ("---\nsteps: 0\n---\n", "steps: expected a number greater than 0"),
    ],
)
def test_bad_front_matter_is_one_line_naming_the_file_and_field(root: Path, text: str, expected: str) -> None:
    path = write(root / ".opencode" / "agent" / "broken.md", text)
    with pytest.raises(AgentError) as caught:
        load(root)
    message = str(caught.value)
    assert isinstance(caught.value, ConfigError)
    assert "\n" not in message
    assert message.startswith(f"{path}: ")
    assert expected in message


# --- choosing an agent ---------------------------------------------------------------------


def test_default_agent_is_build_unless_configured(root: Path) -> None:
    agents = load(root)
    assert default_agent(agents, config()).name == "build"
    assert default_agent(agents, config(default_agent="plan")).name == "plan"


def test_default_agent_must_be_a_primary_agent(root: Path) -> None:
    agents = load(root)
    with pytest.raises(AgentError, match=r"^default_agent: explore is a subagent; primary agents: build, plan, "):
        default_agent(agents, config(default_agent="explore"))
    with pytest.raises(AgentError, match=r"^default_agent: unknown agent 'nope'; primary agents: build"):
        default_agent(agents, config(default_agent="nope"))


def test_default_agent_falls_back_when_build_is_disabled(root: Path) -> None:
    agents = load(root, agent={"build": {"disable": True}})
    assert default_agent(agents, config()).name == "plan"
    only_sub = {"explore": builtin_agents()["explore"]}
    with pytest.raises(AgentError, match="no primary agent"):
        default_agent(only_sub, config())


def test_check_primary_refuses_subagents_and_unknown_names(root: Path) -> None:
    agents = load(root)
    assert check_primary(agents, "review").name == "review"
    with pytest.raises(AgentError) as caught:
        check_primary(agents, "explore")
    assert str(caught.value) == (
        "explore is a subagent; primary agents: build, plan, architect, ask, code, debug, orchestrator, review"
    )
    with pytest.raises(AgentError, match="unknown agent 'bild'; primary agents: build"):
        check_primary(agents, "bild")


def test_primary_and_subagent_lists_and_the_task_description(root: Path) -> None:
    write(root / ".opencode" / "agent" / "both.md", "---\ndescription: Works either way\n---\nBoth.\n")
    write(root / ".opencode" / "agent" / "quiet.md", "---\nmode: subagent\n---\nQuiet.\n")
    agents = load(root)
    assert "both" in [a.name for a in primary_agents(agents)] and "both" in [a.name for a in subagents(agents)]
    assert "explore" not in [a.name for a in primary_agents(agents)]
    text = describe_subagents(agents)
    assert text.startswith("Available subagents")
    assert "- general: General-purpose" in text and "- explore: Fast read-only" in text
    assert "- both: Works either way" in text
    assert "- quiet: No description given" in text
    assert "- build:" not in text and "- plan:" not in text
    assert describe_subagents([builtin_agents()["build"]]) == "No subagents are available."


def test_merge_permission_later_wins_and_moves_to_the_end() -> None:
    base = {"edit": "deny", "bash": {"*": "ask", "git *": "allow"}}
    merged = merge_permission(base, {"bash": {"*": "deny", "ls *": "allow"}, "edit": "ask"})
    assert merged == {"bash": {"git *": "allow", "*": "deny", "ls *": "allow"}, "edit": "ask"}
    assert list(merged["bash"]) == ["git *", "*", "ls *"]
    assert base["bash"] == {"*": "ask", "git *": "allow"}  # the input is left alone
    assert merge_permission({"edit": "deny"}, "allow") == {"edit": "deny", "*": "allow"}
    assert merge_permission({"bash": "ask"}, {"bash": {"ls": "allow"}}) == {"bash": {"ls": "allow"}}


def test_windows_line_endings_and_a_byte_order_mark(root: Path) -> None:
    path = root / ".opencode" / "agent" / "crlf.md"
    path.parent.mkdir(parents=True)
    path.write_bytes(b"\xef\xbb\xbf---\r\ndescription: From Windows\r\nmode: primary\r\n---\r\nLine one.\r\n")
    agent = load(root)["crlf"]
    assert (agent.description, agent.mode, agent.prompt) == ("From Windows", "primary", "Line one.")


def test_config_dir_argument_and_opencode_config_dir(
    root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    custom = tmp_path / "custom-global"
    write(custom / "agent" / "g.md", "---\ndescription: from the given dir\n---\nG.\n")
    assert load_agents(Config(), root, root, config_dir=custom)["g"].description == "from the given dir"
    assert "g" not in load(root)
    extra = tmp_path / "extra"
    write(extra / "agent" / "g.md", "---\ndescription: from OPENCODE_CONFIG_DIR\n---\n")
    write(root / ".opencode" / "agent" / "g.md", "---\ndescription: from the project\n---\nP.\n")
    monkeypatch.setenv("OPENCODE_CONFIG_DIR", str(extra))
    agent = load(root)["g"]
    assert (agent.description, agent.prompt) == ("from OPENCODE_CONFIG_DIR", "P.")
