"""The typed schema: what parses into which model, how bad values are worded, and the JSON round trip."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from opencode.config import (
    AgentConfig,
    Config,
    ConfigError,
    McpLocalConfig,
    McpOAuthConfig,
    McpRemoteConfig,
    McpToggleConfig,
    ProviderOptions,
    load_config,
)

# A config in opencode's shape, touching most keys; dumping what was parsed must give it back.
FULL: dict[str, Any] = {
    "$schema": "https://opencode.ai/config.json",
    "theme": "opencode",
    "keybinds": {"leader": "ctrl+x", "session_new": "<leader>n"},
    "tui": {"scroll_speed": 3, "scroll_acceleration": {"enabled": True}, "diff_style": "stacked", "future": 1},
    "logLevel": "WARN",
    "shell": "/bin/zsh",
    "username": "ada",
    "model": "anthropic/claude-sonnet-4-5",
    "small_model": "anthropic/claude-haiku-4-5",
    "default_agent": "build",
    "subagent_depth": 2,
    "agent": {
        "build": {"model": "openai/gpt-5", "temperature": 0.3, "steps": 40, "reasoningEffort": "high"},
        "review": {
            "description": "Reviews code",
            "mode": "subagent",
            "prompt": "You review.",
            "color": "#FF5733",
            "tools": {"write": False},
            "permission": {"edit": "deny", "bash": {"*": "ask", "git diff*": "allow"}, "webfetch": "allow"},
            "options": {"store": False},
        },
    },
    "mode": {"plan": {"temperature": 0.1}},
    "command": {"test": {"template": "Run the tests: $ARGUMENTS", "description": "tests", "subtask": True}},
    "provider": {
        "azure": {
            "npm": "@ai-sdk/azure",
            "options": {"apiKey": "k", "resourceName": "res", "apiVersion": "2024-10-21", "timeout": False},
            "models": {
                "gpt-4.1": {
                    "name": "GPT 4.1",
                    "limit": {"context": 1047576, "output": 32768},
                    "cost": {"input": 2.5, "output": 10, "cache_read": 1.25},
                    "modalities": {"input": ["text", "image"], "output": ["text"]},
                    "interleaved": {"field": "reasoning_content"},
                    "variants": {"high": {"reasoningEffort": "high"}, "low": {"disabled": True}},
                    "options": {"store": False},
                    "headers": {"X-Trace": "1"},
                }
            },
            "whitelist": ["gpt-4.1"],
        },
        "local": {"api": "http://127.0.0.1:8080/v1", "env": ["LOCAL_KEY"], "options": {"headerTimeout": 5000}},
    },
    "enabled_providers": ["azure", "local"],
    "disabled_providers": ["openrouter"],
    "mcp": {
        "files": {"type": "local", "command": ["npx", "mcp-files"], "environment": {"A": "1"}, "timeout": 9000},
        "docs": {"type": "remote", "url": "https://docs.example/mcp", "headers": {"X": "y"}, "oauth": False},
        "old": {"enabled": False},
    },
    "permission": {"*": "ask", "edit": "allow", "bash": {"rm *": "deny"}},
    "tools": {"webfetch": False},
    "instructions": ["CONTRIBUTING.md", "docs/*.md"],
    "plugin": ["opencode-foo@1.2.3", ["opencode-bar", {"level": 2}]],
    "lsp": {"pyright": {"disabled": True}, "mylsp": {"command": ["mylsp"], "extensions": [".my"]}},
    "formatter": {"ruff": {"command": ["ruff", "format", "$FILE"], "extensions": [".py"]}},
    "server": {"port": 4096, "hostname": "0.0.0.0", "mdns": True, "mdnsDomain": "oc.local", "cors": ["x.dev"]},
    "share": "manual",
    "autoupdate": "notify",
    "snapshot": False,
    "compaction": {"auto": True, "prune": False, "reserved": 10000},
    "watcher": {"ignore": ["dist/**"]},
    "enterprise": {"url": "https://ghe.example"},
    "tool_output": {"max_lines": 1000, "max_bytes": 40000},
    "attachment": {"image": {"auto_resize": True, "max_width": 1600}},
    "skills": {"paths": ["~/skills"], "urls": ["https://example.com/.well-known/skills/"]},
    "references": {"docs": {"repository": "git@github.com:x/docs.git", "branch": "main"}, "here": "../other"},
    "reference": {"lib": {"path": "../lib", "hidden": True}},
    "layout": "stretch",
    "experimental": {"batch_tool": True, "mcp_timeout": 10000, "primary_tools": ["edit"]},
}


def load(data: dict[str, Any], tmp_path: Path) -> Config:
    return load_config(tmp_path, environ={"OPENCODE_CONFIG_CONTENT": json.dumps(data)}).config


def problems_of(data: dict[str, Any], tmp_path: Path) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load(data, tmp_path)
    return caught.value.errors


def test_schema_knows_every_key_of_opencodes_config() -> None:
    keys = {field.alias or name for name, field in Config.model_fields.items()}
    expected = set(
        """$schema agent attachment autoshare autoupdate command compaction default_agent disabled_providers
        enabled_providers enterprise experimental formatter instructions layout logLevel lsp mcp mode model
        permission plugin provider reference references server share shell skills small_model snapshot
        subagent_depth tool_output tools username watcher theme keybinds tui websearch_backend""".split()  # noqa: SIM905
    )
    assert keys == expected


def test_round_trip_to_the_same_json(tmp_path: Path) -> None:
    config = Config.model_validate(FULL)
    assert config.model_dump(by_alias=True, exclude_none=True) == FULL
    assert json.loads(config.model_dump_json(by_alias=True, exclude_none=True)) == FULL
    loaded = load_config(tmp_path, environ={"OPENCODE_CONFIG_CONTENT": json.dumps(FULL)})
    assert loaded.warnings == []
    assert loaded.config.model_dump(by_alias=True, exclude_none=True) == FULL


def test_mcp_entries_parse_into_their_models(tmp_path: Path) -> None:
    config = load(
        {
            "mcp": {
                "files": {"type": "local", "command": ["npx", "-y", "mcp-files"], "cwd": "tools", "enabled": True},
                "docs": {
                    "type": "remote",
                    "url": "https://docs.example/mcp",
                    "oauth": {"clientId": "abc", "scope": "read", "callbackPort": 19999},
                },
                "off": {"enabled": False},
            }
        },
        tmp_path,
    )
    assert config.mcp is not None
    local, remote, toggle = config.mcp["files"], config.mcp["docs"], config.mcp["off"]
    assert isinstance(local, McpLocalConfig)
    assert (local.command, local.cwd, local.enabled) == (["npx", "-y", "mcp-files"], "tools", True)
    assert isinstance(remote, McpRemoteConfig)
    assert isinstance(remote.oauth, McpOAuthConfig)
    assert (remote.url, remote.oauth.clientId, remote.oauth.callbackPort) == ("https://docs.example/mcp", "abc", 19999)
    assert isinstance(toggle, McpToggleConfig)
    assert toggle.enabled is False


def test_an_enabled_toggle_in_a_higher_layer_keeps_the_server(tmp_path: Path) -> None:
    (tmp_path / "opencode.json").write_text('{"mcp": {"files": {"type": "local", "command": ["srv"]}}}')
    loaded = load_config(tmp_path, environ={"OPENCODE_CONFIG_CONTENT": '{"mcp": {"files": {"enabled": false}}}'})
    assert loaded.config.mcp is not None
    server = loaded.config.mcp["files"]
    assert isinstance(server, McpLocalConfig)
    assert (server.command, server.enabled) == (["srv"], False)


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"permission": {"bash": "maybe"}}, 'permission.bash: expected one of allow, ask, deny, got "maybe"'),
        ({"permission": "sometimes"}, 'permission: expected one of allow, ask, deny, got "sometimes"'),
        (
            {"permission": {"webfetch": {"*": "allow"}}},
            "permission.webfetch: expected one of allow, ask, deny (this permission takes no patterns), got an object",
        ),
        ({"agent": {"plan": {"mode": "main"}}}, 'agent.plan.mode: expected one of subagent, primary, all, got "main"'),
        ({"autoupdate": 3}, 'autoupdate: expected true or false or "notify", got 3'),
        ({"snapshot": "yes"}, 'snapshot: expected true or false, got "yes"'),
        ({"agent": {"x": {"steps": 0}}}, "agent.x.steps: expected a number greater than 0, got 0"),
        (
            {"agent": {"x": {"color": "red"}}},
            "agent.x.color: expected a hex color such as #FF5733 or one of "
            'primary, secondary, accent, success, warning, error, info, got "red"',
        ),
        (
            {"mcp": {"s": {"type": "sse", "url": "u"}}},
            'mcp.s: expected an object with "type": "local" or "remote", got {"type": "sse", "url": "u"}',
        ),
        ({"mcp": {"s": {"type": "local"}}}, "mcp.s.command: required"),
        ({"mcp": {"s": {"type": "local", "command": "npx srv"}}}, 'mcp.s.command: expected a list, got "npx srv"'),
        (
            {"provider": {"p": {"options": {"timeout": True}}}},
            "provider.p.options.timeout: expected milliseconds or false, got true",
        ),
        (
            {"provider": {"p": {"models": {"m.1": {"limit": {"context": 1}}}}}},
            'provider.p.models["m.1"].limit.output: required',
        ),
        (
            {"lsp": {"mine": {"command": ["mine"]}}},
            "lsp.mine: a custom language server needs both 'command' and 'extensions'",
        ),
        ({"plugin": ["ok", ["no-options"]]}, 'plugin[1]: expected ["package", {options}], got ["no-options"]'),
        ({"instructions": "AGENTS.md"}, 'instructions: expected a list, got "AGENTS.md"'),
    ],
)
def test_problems_are_one_plain_line(data: dict[str, Any], expected: str, tmp_path: Path) -> None:
    assert problems_of(data, tmp_path) == [f"OPENCODE_CONFIG_CONTENT: {expected}"]


def test_values_are_as_strict_as_json(tmp_path: Path) -> None:
    errors = problems_of({"agent": {"a": {"temperature": "0.5", "hidden": 1}}, "server": {"port": 80.0}}, tmp_path)
    assert errors == [
        'OPENCODE_CONFIG_CONTENT: agent.a.temperature: expected a number, got "0.5"',
        "OPENCODE_CONFIG_CONTENT: agent.a.hidden: expected true or false, got 1",
        "OPENCODE_CONFIG_CONTENT: server.port: expected a whole number, got 80.0",
    ]


def test_agent_keeps_unknown_keys_as_options() -> None:
    agent = AgentConfig.model_validate({"model": "a/b", "options": {"x": 1}, "reasoningEffort": "high", "maxSteps": 9})
    assert agent.merged_options() == {"x": 1, "reasoningEffort": "high"}
    assert agent.max_steps() == 9
    assert agent.model_dump(exclude_none=True) == {
        "model": "a/b",
        "options": {"x": 1},
        "maxSteps": 9,
        "reasoningEffort": "high",
    }


def test_provider_options_keep_vendor_keys() -> None:
    options = ProviderOptions.model_validate(
        {"baseURL": "https://x", "headers": {"A": "b"}, "timeout": 600000, "region": "eu-west-1"}
    )
    assert (options.baseURL, options.headers, options.timeout) == ("https://x", {"A": "b"}, 600000)
    assert options.model_extra == {"region": "eu-west-1"}


def test_permission_keeps_the_users_order(tmp_path: Path) -> None:
    config = load(
        {"permission": {"bash": {"*": "ask", "git *": "allow", "git push *": "deny"}, "*": "allow"}}, tmp_path
    )
    assert isinstance(config.permission, dict)
    assert list(config.permission) == ["bash", "*"]
    assert list(config.permission["bash"]) == ["*", "git *", "git push *"]
