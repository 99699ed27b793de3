"""JSON files that hold secrets (provider keys, OAuth tokens): read as an object of objects, written
atomically with mode 0600 (a temporary file in the same directory, fsynced, then `os.replace`).

    data = read_object(path, AuthStoreError)       # {} when the file is missing
    write_private(path, data)
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any


def read_object(path: Path, error: type[Exception]) -> dict[str, dict[str, Any]]:
    """The file's JSON object, keeping only entries that are objects; `error` with one line when it
    cannot be read or is not a JSON object."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise error(f"{path}: cannot read: {exc.strerror}") from None
    try:
        data = json.loads(text) if text.strip() else {}
    except ValueError as exc:
        raise error(f"{path}: not valid JSON ({exc}); fix or delete the file") from None
    if not isinstance(data, dict):
        raise error(f"{path}: expected a JSON object; fix or delete the file")
    return {k: v for k, v in data.items() if isinstance(v, dict)}


def write_private(path: Path, data: dict[str, Any]) -> None:
    """Replace `path` with `data` as JSON, readable by this user only; a crash leaves the old file whole."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}-", dir=path.parent)
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(data, handle, indent=2)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
        os.chmod(path, 0o600)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
