"""Loading in layers: which files count, precedence, merging, substitutions and where problems are reported."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from opencode.config import ConfigError, load_config
from opencode.config.errors import ConfigFileError, ConfigSyntaxError
from opencode.config.load import find_project_files
from opencode.config.paths import paths


def write(path: Path, data: dict[str, Any] | str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")
    return path


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A git work tree with a sub directory to start in."""
    root = tmp_path / "repo"
    (root / ".git").mkdir(parents=True)
    (root / "sub").mkdir()
    return root


def global_dir() -> Path:
    return paths().config


def test_no_files_gives_the_defaults(repo: Path) -> None:
    loaded = load_config(repo, environ={})
    assert loaded.sources == []
    assert loaded.warnings == []
    assert loaded.config.model_dump(by_alias=True, exclude_none=True) == {"$schema": "https://opencode.ai/config.json"}


def test_precedence_of_every_layer(repo: Path, tmp_path: Path) -> None:
    """Layer i sets options o_i..o_6; each o_j must come from layer j, the highest that sets it."""
    names = ["global", "parent", "cwd", "dotdir", "custom", "content", "cli"]

    def layer(i: int) -> dict[str, Any]:
        options = {f"o{j}": names[i] for j in range(i, len(names))}
        return {"provider": {"p": {"options": options}}}

    cwd = repo / "sub"
    files = [
        write(global_dir() / "opencode.json", layer(0)),
        write(repo / "opencode.json", layer(1)),
        write(cwd / "opencode.json", layer(2)),
        write(cwd / ".opencode" / "opencode.json", layer(3)),
        write(tmp_path / "custom.json", layer(4)),
    ]
    environ = {"OPENCODE_CONFIG": str(files[4]), "OPENCODE_CONFIG_CONTENT": json.dumps(layer(5))}
    loaded = load_config(cwd, overrides=layer(6), environ=environ)

    options = loaded.config.provider["p"].options  # type: ignore[index]
    assert options is not None
    assert options.model_dump(exclude_none=True) == {f"o{j}": names[j] for j in range(len(names))}
    assert loaded.sources == [*map(str, files), "OPENCODE_CONFIG_CONTENT", "command line"]


def test_nested_objects_merge_key_by_key(repo: Path) -> None:
    write(
        global_dir() / "opencode.json",
        {
            "provider": {"openai": {"options": {"apiKey": "sk-global", "timeout": 1000}, "models": {"a": {}}}},
            "agent": {"build": {"model": "x/global", "temperature": 0.1}},
        },
    )
    write(
        repo / "opencode.json",
        {
            "provider": {"openai": {"options": {"baseURL": "http://127.0.0.1:9/v1", "timeout": 2000}}},
            "agent": {"build": {"temperature": 0.7}},
        },
    )
    config = load_config(repo, environ={}).config
    assert config.model_dump(by_alias=True, exclude_none=True)["provider"] == {
        "openai": {
            "options": {"apiKey": "sk-global", "baseURL": "http://127.0.0.1:9/v1", "timeout": 2000},
            "models": {"a": {}},
        }
    }
    assert config.agent is not None
    assert (config.agent["build"].model, config.agent["build"].temperature) == ("x/global", 0.7)


def test_instructions_accumulate_other_arrays_replace(repo: Path) -> None:
    write(global_dir() / "opencode.json", {"instructions": ["a.md", "b.md"], "disabled_providers": ["x"]})
    write(repo / "opencode.json", {"instructions": ["b.md", "c.md"], "disabled_providers": ["y"]})
    config = load_config(repo, environ={}).config
    assert config.instructions == ["a.md", "b.md", "c.md"]
    assert config.disabled_providers == ["y"]


def test_plugins_accumulate_and_the_last_version_of_each_wins(repo: Path) -> None:
    write(global_dir() / "opencode.json", {"plugin": ["foo@1.0.0", "bar", ["@scope/baz", {"a": 1}]]})
    write(repo / "opencode.json", {"plugin": ["foo@2.0.0", "@scope/baz@3"]})
    assert load_config(repo, environ={}).config.plugin == ["bar", "foo@2.0.0", "@scope/baz@3"]


def test_files_above_the_git_root_are_ignored(tmp_path: Path, repo: Path) -> None:
    write(tmp_path / "opencode.json", {"model": "outside/model"})
    write(repo / "opencode.json", {"theme": "inside"})
    cwd = repo / "sub"
    assert find_project_files(cwd) == [repo / "opencode.json"]
    config = load_config(cwd, environ={}).config
    assert (config.model, config.theme) == (None, "inside")


def test_without_git_only_the_cwd_counts(tmp_path: Path) -> None:
    write(tmp_path / "opencode.json", {"model": "parent/model"})
    cwd = tmp_path / "work"
    write(cwd / "opencode.jsonc", '{"theme": "here", // mine\n}')
    assert find_project_files(cwd) == [cwd / "opencode.jsonc"]
    assert load_config(cwd, environ={}).config.model is None


def test_project_file_order_within_a_directory(repo: Path) -> None:
    # As opencode: .jsonc then .json in a directory, then the same two in its .opencode/.
    files = [
        write(repo / "opencode.jsonc", {}),
        write(repo / "opencode.json", {}),
        write(repo / ".opencode" / "opencode.jsonc", {}),
        write(repo / ".opencode" / "opencode.json", {}),
        write(repo / "sub" / "opencode.json", {}),
    ]
    assert find_project_files(repo / "sub") == files


def test_global_files_in_opencode_order(repo: Path) -> None:
    write(global_dir() / "config.json", {"theme": "a", "model": "a/a", "username": "a"})
    write(global_dir() / "opencode.json", {"theme": "b", "model": "b/b"})
    write(global_dir() / "opencode.jsonc", '{"theme": "c" /* wins */}')
    config = load_config(repo, environ={}).config
    assert (config.username, config.model, config.theme) == ("a", "b/b", "c")


def test_disable_project_config(repo: Path) -> None:
    write(repo / "opencode.json", {"model": "project/model"})
    loaded = load_config(repo, environ={"OPENCODE_DISABLE_PROJECT_CONFIG": "1"})
    assert loaded.config.model is None
    assert loaded.sources == []


def test_missing_opencode_config_file_is_a_warning(repo: Path, tmp_path: Path) -> None:
    loaded = load_config(repo, environ={"OPENCODE_CONFIG": str(tmp_path / "nope.json")})
    assert loaded.warnings == [f"OPENCODE_CONFIG: {tmp_path / 'nope.json'} does not exist"]


def test_autoshare_means_share_auto(repo: Path) -> None:
    write(repo / "opencode.json", {"autoshare": True})
    assert load_config(repo, environ={}).config.share == "auto"


# --- substitutions -------------------------------------------------------------------------


def test_env_substitution(repo: Path) -> None:
    write(
        repo / "opencode.json",
        '{"provider": {"x": {"options": {"apiKey": "{env:MY_KEY}", "baseURL": "{env:UNSET_VAR}"}}},\n'
        ' "username": "{env:WEIRD}", "server": {"port": {env:PORT}}}',
    )
    environ = {"MY_KEY": "sk-123", "WEIRD": 'say "hi" \\ now', "PORT": "4096"}
    config = load_config(repo, environ=environ).config
    assert config.provider is not None
    options = config.provider["x"].options
    assert options is not None
    assert (options.apiKey, options.baseURL) == ("sk-123", "")
    assert config.username == 'say "hi" \\ now'
    assert config.server is not None and config.server.port == 4096


def test_file_substitution_relative_home_and_absolute(repo: Path, tmp_path: Path, isolated_env: Path) -> None:
    write(repo / "prompts" / "build.txt", 'Line one\n"quoted" and \\ backslash\n\tTabbed\n\n')
    write(isolated_env / "secret.txt", "sk-from-home\n")
    absolute = write(tmp_path / "abs.txt", "absolute text")
    write(
        repo / ".opencode" / "opencode.json",
        '{"agent": {"build": {"prompt": "{file:../prompts/build.txt}", "description": "'
        + f"{{file:{absolute}}}"
        + '"}},'
        ' "provider": {"x": {"options": {"apiKey": "{file:~/secret.txt}"}}}}',
    )
    config = load_config(repo, environ={}).config
    assert config.agent is not None
    assert config.agent["build"].prompt == 'Line one\n"quoted" and \\ backslash\n\tTabbed'
    assert config.agent["build"].description == "absolute text"
    assert config.provider is not None and config.provider["x"].options is not None
    assert config.provider["x"].options.apiKey == "sk-from-home"


def test_missing_file_reference_names_config_and_path(repo: Path) -> None:
    config_file = write(repo / "opencode.json", '{"agent": {"build": {"prompt": "{file:prompts/missing.md}"}}}')
    with pytest.raises(ConfigFileError) as caught:
        load_config(repo, environ={})
    missing = repo / "prompts" / "missing.md"
    assert (
        str(caught.value) == f"{config_file}: bad file reference {{file:prompts/missing.md}}: {missing} does not exist"
    )


def test_no_substitution_inside_comments(repo: Path) -> None:
    write(
        repo / "opencode.jsonc",
        '{\n  // "prompt": "{file:missing.md}"\n  /* {file:also-missing.md} */\n'
        '  "username": "{env:WHO}" // {env:WHO}\n}',
    )
    assert load_config(repo, environ={"WHO": "ada"}).config.username == "ada"


def test_syntax_error_position_is_in_the_file_as_written(repo: Path) -> None:
    write(repo / "long.txt", "x" * 50)
    config_file = write(repo / "opencode.json", '{\n  "username": "{file:long.txt}" "theme": "dark"\n}')
    with pytest.raises(ConfigSyntaxError) as caught:
        load_config(repo, environ={})
    assert str(caught.value) == f"{config_file}:2:33: expected ',' or '}}'"


def test_broken_config_content(repo: Path) -> None:
    with pytest.raises(ConfigSyntaxError) as caught:
        load_config(repo, environ={"OPENCODE_CONFIG_CONTENT": '{"model": "a/b",, }'})
    assert str(caught.value) == "OPENCODE_CONFIG_CONTENT:1:17: expected a key in double quotes or '}'"


def test_config_content_accepts_jsonc_and_env(repo: Path) -> None:
    content = '{"model": "{env:M}", // chosen\n}'
    assert load_config(repo, environ={"OPENCODE_CONFIG_CONTENT": content, "M": "a/b"}).config.model == "a/b"


# --- problems and warnings -----------------------------------------------------------------


def test_bad_value_names_file_path_and_problem(repo: Path) -> None:
    config_file = write(repo / "opencode.json", {"agent": {"build": {"temperature": "hot"}}})
    with pytest.raises(ConfigError) as caught:
        load_config(repo, environ={})
    assert str(caught.value) == f'{config_file}: agent.build.temperature: expected a number, got "hot"'


def test_every_problem_of_every_layer_is_listed(repo: Path) -> None:
    global_file = write(global_dir() / "opencode.json", {"share": "sometimes", "snapshot": 3})
    project_file = write(repo / "opencode.json", {"permission": {"bash": {"git push *": "maybe"}}})
    with pytest.raises(ConfigError) as caught:
        load_config(repo, overrides={"server": {"port": "80"}}, environ={"OPENCODE_CONFIG_CONTENT": '{"logLevel": 1}'})
    assert caught.value.errors == [
        f'{global_file}: share: expected one of manual, auto, disabled, got "sometimes"',
        f"{global_file}: snapshot: expected true or false, got 3",
        f'{project_file}: permission.bash["git push *"]: expected one of allow, ask, deny, got "maybe"',
        "OPENCODE_CONFIG_CONTENT: logLevel: expected one of DEBUG, INFO, WARN, ERROR, got 1",
        'command line: server.port: expected a whole number, got "80"',
    ]
    assert str(caught.value) == caught.value.errors[0]


def test_top_level_must_be_an_object(repo: Path) -> None:
    config_file = write(repo / "opencode.json", '["model"]')
    with pytest.raises(ConfigError) as caught:
        load_config(repo, environ={})
    assert str(caught.value) == f'{config_file}: expected an object at the top level, got ["model"]'


def test_unknown_keys_are_warnings_with_a_suggestion(repo: Path) -> None:
    config_file = write(
        repo / "opencode.json",
        {
            "modle": "a/b",
            "provider": {"openai": {"optoins": {}, "models": {"gpt-4.1": {"limits": {}}}}},
            "agent": {"build": {"reasoningEffort": "high"}},
            "frobnicate": 1,
        },
    )
    loaded = load_config(repo, environ={})
    assert loaded.warnings == [
        f'{config_file}: unknown key "modle" (did you mean "model"?)',
        f'{config_file}: unknown key "provider.openai.optoins" (did you mean "options"?)',
        f'{config_file}: unknown key "provider.openai.models["gpt-4.1"].limits" (did you mean "limit"?)',
        f'{config_file}: unknown key "frobnicate"',
    ]
    dumped = loaded.config.model_dump(by_alias=True, exclude_none=True)
    assert "modle" not in dumped and "frobnicate" not in dumped
    # Agents are open: the unknown key is kept and reaches the model as an option.
    assert loaded.config.agent is not None
    assert loaded.config.agent["build"].merged_options() == {"reasoningEffort": "high"}


# --- showing config ------------------------------------------------------------------------


def test_mask_secrets() -> None:
    from opencode.config import mask_secrets

    data = {
        "provider": {
            "openai": {
                "options": {
                    "apiKey": "sk-proj-abcdefghijklmnop1234",
                    "baseURL": "https://api.openai.com/v1",
                    "headers": {"Authorization": "Bearer abcdefghijk9876", "X-Api-Key": "short", "Accept": "json"},
                    "maxTokens": 1000,
                    "setCacheKey": True,
                }
            }
        },
        "mcp": {"s": {"type": "remote", "url": "u", "oauth": {"clientSecret": "cs-0123456789xyz", "clientId": "id"}}},
        "list": [{"token": "tok-123456789012"}, {"password": ""}],
        "key": 12345,
    }
    masked = mask_secrets(data)
    assert masked == {
        "provider": {
            "openai": {
                "options": {
                    "apiKey": "***1234",
                    "baseURL": "https://api.openai.com/v1",
                    "headers": {"Authorization": "***9876", "X-Api-Key": "***", "Accept": "json"},
                    "maxTokens": 1000,
                    "setCacheKey": True,
                }
            }
        },
        "mcp": {"s": {"type": "remote", "url": "u", "oauth": {"clientSecret": "***9xyz", "clientId": "id"}}},
        "list": [{"token": "***9012"}, {"password": ""}],
        "key": "***",
    }
    assert data["key"] == 12345  # a copy: the input is untouched
