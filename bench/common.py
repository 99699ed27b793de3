"""What the benches share: an environment kept away from the user's, and an engine on the scripted server.

Each bench runs as `python bench/NAME.py`, so this folder is on `sys.path` and `import common` works.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

_XDG = ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME", "XDG_STATE_HOME")


def isolated_env(home: Path, base: Mapping[str, str] = os.environ) -> dict[str, str]:
    """`base` without provider keys or OPENCODE_* settings, with HOME and the XDG dirs under `home`
    (created), so no bench reads the user's config, skills, credentials or store."""
    env = {
        k: v
        for k, v in base.items()
        if not (k.endswith(("_API_KEY", "_API_TOKEN")) or k.startswith(("OPENCODE_", "AWS_", "AZURE_")))
    }
    for name in _XDG:
        path = home / name.split("_")[1].lower()
        path.mkdir(parents=True, exist_ok=True)
        env[name] = str(path)
    env["HOME"] = str(home)
    return env


def isolate(home: Path) -> None:
    """`isolated_env` applied to this process, with logging off (a bench prints its own figures)."""
    env = isolated_env(home)
    os.environ.clear()
    os.environ.update(env)
    logging.disable(logging.CRITICAL)


def scripted_engine(project: Path, server: Any) -> tuple[Any, str]:
    """An engine on `project` with a real SQLite store (in the project), talking to the scripted
    server's OpenAI-compatible endpoint; returns it with the model ref to prompt."""
    from opencode.agent.engine import Engine
    from opencode.config.schema import Config
    from opencode.provider.registry import Registry
    from opencode.session.sqlite import SQLiteStore

    entry = {
        "npm": "@ai-sdk/openai-compatible",
        "options": {"baseURL": server.base_url("openai-chat"), "apiKey": server.api_key, "maxRetries": 0},
        "models": {"test-model": {"tool_call": True}},
    }
    config = Config.model_validate({"provider": {"mine": entry}})
    registry = Registry.load(config, environ={}, credentials={})
    store = SQLiteStore(project / "store.db")
    return Engine(cwd=project, config=config, registry=registry, store=store), "mine/test-model"
