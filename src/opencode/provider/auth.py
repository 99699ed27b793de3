"""Stored credentials: `$XDG_DATA_HOME/opencode/auth.json`, opencode's format, mode 0600.

    {"anthropic": {"type": "api", "key": "sk-ant-..."}, "...": {"type": "oauth", ...}}

Writes are atomic (a temporary file in the same directory, then rename), so a crash never
leaves a half-written file, and the file is never readable by other users.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from opencode.config.paths import paths


class AuthStoreError(Exception):
    """auth.json cannot be read or written; the message says which file and why."""


def auth_file() -> Path:
    return paths().auth_file


def read_all(path: Path | None = None) -> dict[str, dict[str, Any]]:
    from opencode.util.secretfile import read_object

    return read_object(path or auth_file(), AuthStoreError)


def api_key(provider: str, path: Path | None = None) -> str | None:
    entry = read_all(path).get(provider)
    if entry and entry.get("type") == "api" and isinstance(entry.get("key"), str):
        return str(entry["key"])
    return None


def set_api_key(provider: str, key: str, path: Path | None = None) -> Path:
    path = path or auth_file()
    data = read_all(path)
    data[provider] = {"type": "api", "key": key}
    _write(path, data)
    return path


def remove(provider: str, path: Path | None = None) -> bool:
    path = path or auth_file()
    data = read_all(path)
    if provider not in data:
        return False
    del data[provider]
    _write(path, data)
    return True


def _write(path: Path, data: dict[str, Any]) -> None:
    from opencode.util.secretfile import write_private

    write_private(path, data)


def mask(secret: str) -> str:
    """`sk-ant-abc...wxyz` -> `sk-a...wxyz`: enough to recognise a key, not to use it."""
    if len(secret) <= 8:
        return "*" * len(secret)
    return f"{secret[:4]}...{secret[-4:]}"
