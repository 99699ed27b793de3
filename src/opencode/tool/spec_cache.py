"""What the model is told about the built-in tools, kept on disk between runs.

Building a tool's JSON schema means importing its module and building its pydantic model, about
3 ms a tool; the first request of every `opencode run` needs all of them, while most runs call
only a few tools. So the descriptions and schemas of the built-in tools are saved in the cache
dir (`tool-specs.json`), under a fingerprint of everything they are made from: this version of
OpenCode and of pydantic, the year (the websearch description names it), and the size and
modification time of every file of the tool package and its descriptions. Any change to those,
an edited description included, misses the cache and the specs are built afresh. A cache that
cannot be read or written only costs that time.
"""

from __future__ import annotations

import datetime
import json
import os
from pathlib import Path
from typing import Any

from opencode.config.paths import paths

FILE = "tool-specs.json"
Specs = dict[str, tuple[str, dict[str, Any]]]


def fingerprint() -> str:
    import pydantic

    from opencode import __version__

    package = Path(__file__).parent
    parts = [__version__, pydantic.VERSION, str(datetime.date.today().year)]
    for directory in (package, package / "prompts"):
        try:
            entries = sorted(os.scandir(directory), key=lambda e: e.name)
        except OSError:
            continue
        for entry in entries:
            if entry.name.endswith((".py", ".txt")):
                st = entry.stat()
                parts.append(f"{entry.name}:{st.st_size}:{st.st_mtime_ns}")
    return "\n".join(parts)


def load(key: str) -> Specs | None:
    try:
        data = json.loads((paths().cache / FILE).read_text("utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("key") != key or not isinstance(data.get("specs"), dict):
        return None
    specs: Specs = {}
    for name, value in data["specs"].items():
        if not (
            isinstance(value, list) and len(value) == 2 and isinstance(value[0], str) and isinstance(value[1], dict)
        ):
            return None
        specs[name] = (value[0], value[1])
    return specs


def save(key: str, specs: Specs) -> None:
    path = paths().cache / FILE
    tmp = path.with_name(f"{FILE}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(json.dumps({"key": key, "specs": specs}), "utf-8")
        os.replace(tmp, path)  # a concurrent run reads the old file or the new one, never half of one
    except OSError:
        tmp.unlink(missing_ok=True)
