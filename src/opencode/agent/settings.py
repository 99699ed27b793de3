"""Settings a face changes while the engine runs: the project's `opencode.json` and stored API keys.

    update = update_config(engine, {"model": "anthropic/claude-sonnet-4-5"})
    update.file          # the project file that was written (created when there was none)
    update.restart       # keys written that the running engine only picks up after a restart
    store_api_key(engine, "anthropic", "sk-ant-...")   # auth.json, and the running registry uses it

`update_config` takes a JSON merge patch (RFC 7396: objects merge key by key, `null` removes a key),
checks it against the `Config` schema (a wrong value or an unknown key is a `SettingsError` naming
the key), writes the project file atomically and lays the same patch on the engine's merged
config. What the engine reads at each use (model, agents, permissions, instructions, commands,
providers, formatters, compaction, ...) takes effect at once; the rest is listed in `restart`.
A JSONC file with comments is refused rather than rewritten without them.
"""

from __future__ import annotations

import contextlib
import copy
import json
import os
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from opencode.agent.actions import ActionError

if TYPE_CHECKING:
    from opencode.agent.engine import Engine
    from opencode.config.schema import Config

LIVE_KEYS = frozenset(
    {
        *("$schema", "model", "small_model", "default_agent", "agent", "mode", "command", "permission"),
        *("tools", "instructions", "formatter", "compaction", "provider", "enabled_providers"),
        *("disabled_providers", "skills", "username"),
    }
)
"""Top-level keys the running engine applies as soon as the config changes; others need a restart."""
REGISTRY_KEYS = frozenset({"provider", "enabled_providers", "disabled_providers"})

T = TypeVar("T")


class SettingsError(ActionError):
    """A config patch or an API key the engine cannot take; `key` is the config path at fault."""

    def __init__(self, message: str, key: str | None = None) -> None:
        super().__init__(message)
        self.key = key


@dataclass
class ConfigUpdate:
    config: Config
    file: Path
    restart: list[str] = field(default_factory=list)


def project_config_file(engine: Engine) -> Path:
    """The project file a face's changes go to: the working directory's `opencode.jsonc` or
    `opencode.json`, whichever exists (`opencode.json` when neither does)."""
    for name in ("opencode.jsonc", "opencode.json"):
        if (engine.cwd / name).is_file():
            return engine.cwd / name
    return engine.cwd / "opencode.json"


def merge_patch(base: Mapping[str, Any], patch: Mapping[str, Any]) -> dict[str, Any]:
    """RFC 7396: `patch` laid on `base`; nested objects merge, `None` removes the key."""
    out = copy.deepcopy(dict(base))
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        elif isinstance(value, Mapping) and isinstance(out.get(key), dict):
            out[key] = merge_patch(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _without_nulls(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    return value


def check_config(data: Mapping[str, Any], where: str) -> Config:
    """`data` as a Config: wrong values and unknown keys are a SettingsError naming the key."""
    from pydantic import ValidationError

    from opencode.config.errors import describe_issues, render_path
    from opencode.config.load import suggest, unknown_keys
    from opencode.config.schema import Config, problems

    try:
        config = Config.model_validate(dict(data))
    except ValidationError as exc:
        path, message = describe_issues(exc.errors(), dict(data))[0]
        key = render_path(path) or "(config)"
        raise SettingsError(f"{where}: {key}: {message}", key) from None
    for path, known in unknown_keys(config, dict(data)):
        key = render_path(path)
        hint = suggest(str(path[-1]), known)
        raise SettingsError(f'{where}: unknown key "{key}"' + (f' (did you mean "{hint}"?)' if hint else ""), key)
    for path, message in problems(config):
        key = render_path(path)
        raise SettingsError(f"{where}: {key}: {message}", key)
    return config


def update_config(engine: Engine, patch: Mapping[str, Any]) -> ConfigUpdate:
    """Write `patch` into the project's config file and apply it to the running engine."""
    from opencode.config import jsonc
    from opencode.config.errors import ConfigError
    from opencode.config.load import parse_layer

    check_config(_without_nulls(patch), "the change")
    target = project_config_file(engine)
    try:
        text = target.read_text(encoding="utf-8") if target.exists() else ""
        if jsonc.comment_spans(text):
            raise SettingsError(f"{target} has comments, which rewriting it would lose; edit that file by hand", None)
        current = jsonc.loads(text, str(target)) if text.strip() else {}
    except ConfigError as exc:
        raise SettingsError(f"{target} cannot be read: {exc}; fix it first") from None
    except OSError as exc:
        raise SettingsError(f"{target} cannot be read: {exc.strerror}") from None
    if not isinstance(current, dict):
        raise SettingsError(f"{target} does not hold a JSON object; fix it first")
    written = merge_patch(current, patch)
    new_text = json.dumps(written, indent=2, ensure_ascii=False) + "\n"
    try:  # as the loader will read it back: {env:...} and {file:...} substituted
        check_config(parse_layer(new_text, str(target), target.parent, os.environ), str(target))
    except ConfigError as exc:
        raise SettingsError(str(exc)) from None

    live = merge_patch(engine.config.model_dump(mode="json", by_alias=True, exclude_none=True), patch)
    config = check_config(live, "the resulting configuration")
    agents = _agents_for(engine, config)
    _write_atomic(target, new_text)

    engine.config = config
    engine.agents = agents
    if REGISTRY_KEYS & patch.keys():
        from opencode.provider.registry import Registry

        engine.registry = Registry.load(config)
    engine.registry.config_model = config.model
    if "skills" in patch:
        _refresh_skills(engine)
    restart = sorted(key for key in patch if key not in LIVE_KEYS)
    return ConfigUpdate(config=config, file=target, restart=restart)


def _agents_for(engine: Engine, config: Config) -> Any:
    from opencode.agent.agents import load_agents
    from opencode.config.errors import ConfigError

    try:
        return load_agents(config, engine.cwd, engine.root)
    except ConfigError as exc:
        raise SettingsError(f"the agents do not load with this change: {exc}", "agent") from None


def _refresh_skills(engine: Engine) -> None:
    from opencode.tool.skill import SkillTool

    tool = engine.tools.get("skill")
    if isinstance(tool, SkillTool):
        tool.catalog(engine.cwd, engine.root, engine.config.skills, refresh=True)


def _write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    mode = path.stat().st_mode & 0o777 if path.exists() else 0o644
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


# --- API keys --------------------------------------------------------------------------------


def store_api_key(engine: Engine, provider_id: str, key: str) -> Path:
    """Save the key in auth.json; the running registry uses it at once, unless the config sets
    that provider's key (which wins, as at start-up)."""
    from opencode.provider import auth

    path = _auth_call(lambda: auth.set_api_key(provider_id, key))
    entry = engine.registry.providers.get(provider_id)
    if entry is not None and entry.key_source != "config":
        entry.api_key, entry.key_source = key, "auth.json"
    return path


def forget_api_key(engine: Engine, provider_id: str) -> bool:
    """Remove the provider's stored key (False when there was none); the running registry falls
    back to the provider's key variable, as it would at start-up."""
    from opencode.provider import auth

    removed = _auth_call(lambda: auth.remove(provider_id))
    entry = engine.registry.providers.get(provider_id)
    if entry is not None and entry.key_source == "auth.json":
        found = next((name for name in entry.env if os.environ.get(name)), None)
        entry.api_key = os.environ[found] if found else None
        entry.key_source = f"env {found}" if found else None
    return removed


def _auth_call(work: Callable[[], T]) -> T:
    from opencode.provider.auth import AuthStoreError

    try:
        return work()
    except AuthStoreError as exc:
        raise SettingsError(str(exc)) from None
    except OSError as exc:
        raise SettingsError(f"auth.json cannot be written: {exc.strerror}") from None
