"""What the model has read, per session: the ground for read-before-write.

`write` and `edit` refuse to change an existing file the model has not read, or one that
changed on disk since it read it. The check compares a hash of the content, not only the
modification time (formatters and `touch` change times without changing content; editors can
change content within the same second). The content itself is kept so that a refusal can show
what changed since the read.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

MAX_KEPT = 2 * 1024 * 1024
"""Files larger than this are tracked by hash only; a refusal then cannot show a diff."""


@dataclass
class ReadRecord:
    digest: str
    content: bytes | None


@dataclass
class FileTimes:
    records: dict[Path, ReadRecord] = field(default_factory=dict)

    def record(self, path: Path, content: bytes) -> None:
        """The model has now seen `content` of `path` (after a read, or after it wrote it)."""
        kept = content if len(content) <= MAX_KEPT else None
        self.records[path] = ReadRecord(hashlib.sha256(content).hexdigest(), kept)

    def get(self, path: Path) -> ReadRecord | None:
        return self.records.get(path)

    def forget(self, path: Path) -> None:
        self.records.pop(path, None)
