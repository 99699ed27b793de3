"""Where OpenCode keeps things, following the XDG base directory spec.

Every path honours its environment variable, so a test (or a user) isolates everything by
setting `XDG_CONFIG_HOME`, `XDG_DATA_HOME`, `XDG_CACHE_HOME` and `XDG_STATE_HOME`. Nothing here
creates a directory: callers that write create what they need.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

APP = "opencode"


def _base(var: str, default: str) -> Path:
    value = os.environ.get(var)
    if value and os.path.isabs(value):
        return Path(value)
    return Path.home() / default


@dataclass(frozen=True, slots=True)
class Paths:
    config: Path
    data: Path
    cache: Path
    state: Path

    @property
    def auth_file(self) -> Path:
        return self.data / "auth.json"

    @property
    def log_dir(self) -> Path:
        return self.data / "log"

    @property
    def catalog_cache(self) -> Path:
        return self.cache / "models.json"

    def as_dict(self) -> dict[str, Path]:
        return {"config": self.config, "data": self.data, "cache": self.cache, "state": self.state}


def paths() -> Paths:
    return Paths(
        config=_base("XDG_CONFIG_HOME", ".config") / APP,
        data=_base("XDG_DATA_HOME", ".local/share") / APP,
        cache=_base("XDG_CACHE_HOME", ".cache") / APP,
        state=_base("XDG_STATE_HOME", ".local/state") / APP,
    )
