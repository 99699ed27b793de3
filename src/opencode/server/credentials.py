"""Where a running server leaves its address and password, so local clients (attach) need not be told.

`opencode serve` writes `<state>/servers/<port>.json` (mode 0600, readable by this user only) and
removes it on exit; `find(url)` reads back the entry for a URL. A file whose process is gone is
ignored (and removed).
"""

from __future__ import annotations

import contextlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit


@dataclass(frozen=True)
class Credentials:
    url: str
    username: str
    password: str | None
    pid: int
    directory: str


def directory() -> Path:
    from opencode.config.paths import paths

    return paths().state / "servers"


def write(creds: Credentials, port: int) -> Path:
    folder = directory()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{port}.json"
    data = json.dumps(creds.__dict__).encode()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)
    return path


def remove(port: int) -> None:
    with contextlib.suppress(OSError):
        (directory() / f"{port}.json").unlink()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _same_server(a: str, b: str) -> bool:
    left, right = urlsplit(a), urlsplit(b)
    loopback = {"localhost", "127.0.0.1", "::1"}

    def host(h: str | None) -> str:
        h = (h or "").lower()
        return "loopback" if h in loopback else h

    return host(left.hostname) == host(right.hostname) and left.port == right.port


def find(url: str) -> Credentials | None:
    """The credentials of the live local server at `url`, if it left any."""
    port = urlsplit(url).port
    candidates = [directory() / f"{port}.json"] if port else sorted(directory().glob("*.json"))
    for path in candidates:
        try:
            data = json.loads(path.read_text())
            creds = Credentials(**data)
        except (OSError, ValueError, TypeError):
            continue
        if not _alive(creds.pid):
            with contextlib.suppress(OSError):
                path.unlink()
            continue
        if _same_server(creds.url, url):
            return creds
    return None
