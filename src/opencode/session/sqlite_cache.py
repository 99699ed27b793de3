"""The SQLite store's read cache: each session's conversation as last read, kept up to date cheaply.

The engine reads a session's whole conversation back at every step (the stored conversation is the
source of truth), so without a cache a step costs time in proportion to the history: every row
fetched and parsed again. A `Conversation` keeps the parsed messages and parts of one session and
knows which rows this store wrote since (`mark_message`, `mark_part`); a read then fetches only
those rows. Writes by any other connection (another process, another store on the same file) are
seen through SQLite's `PRAGMA data_version`, which changes exactly when someone else committed:
the conversation is then loaded afresh. Deletions and imports drop the session's conversation.

Values handed out are shared between reads: callers treat them as read-only, and store what they
change (which marks the row, so the next read has the stored version).
"""

from __future__ import annotations

import bisect
import sqlite3
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from opencode.session.model import Message, MessageWithParts, Part

KEPT_SESSIONS = 8
"""Conversations kept per store (the sessions read most recently); the rest are read afresh."""
_CHUNK = 500  # ids per `IN (...)` query, well under SQLite's variable limit

ParseMessage = Callable[[str], Message]
ParsePart = Callable[[str], Part]


@dataclass
class _Entry:
    key: tuple[int, str]
    """(time_created, id): the order the store lists messages in."""
    info: Message
    parts: dict[str, Part] = field(default_factory=dict)
    view: MessageWithParts | None = None
    """The value handed out, built on demand and dropped when the message or a part changes."""

    def build(self) -> MessageWithParts:
        if self.view is None:
            parts = [self.parts[k] for k in sorted(self.parts)]
            # Values from the store are valid already: no second validation.
            self.view = MessageWithParts.model_construct(info=self.info, parts=parts)
        return self.view


class Conversation:
    def __init__(self, data_version: int, parse_message: ParseMessage, parse_part: ParsePart) -> None:
        self.data_version = data_version
        self._parse_message = parse_message
        self._parse_part = parse_part
        self._entries: dict[str, _Entry] = {}
        self._order: list[tuple[int, str]] = []
        self._dirty_messages: set[str] = set()
        self._dirty_parts: set[str] = set()
        self._orphans: dict[str, dict[str, Part]] = {}
        """Parts read before their message (another writer's order); attached when it arrives."""

    @classmethod
    def load(
        cls,
        conn: sqlite3.Connection,
        session_id: str,
        data_version: int,
        parse_message: ParseMessage,
        parse_part: ParsePart,
    ) -> Conversation:
        conversation = cls(data_version, parse_message, parse_part)
        rows = conn.execute(
            "SELECT id, time_created, data FROM message WHERE session_id = ? ORDER BY time_created, id", (session_id,)
        ).fetchall()
        for message_id, created, data in rows:
            conversation._entries[message_id] = _Entry((created, message_id), parse_message(data))
        conversation._order = [entry.key for entry in conversation._entries.values()]
        for part_id, message_id, data in conn.execute(
            "SELECT id, message_id, data FROM part WHERE session_id = ?", (session_id,)
        ):
            entry = conversation._entries.get(message_id)
            if entry is not None:
                entry.parts[part_id] = parse_part(data)
        return conversation

    def mark_message(self, message_id: str) -> None:
        self._dirty_messages.add(message_id)

    def mark_part(self, part_id: str) -> None:
        self._dirty_parts.add(part_id)

    def refresh(self, conn: sqlite3.Connection, session_id: str) -> None:
        """Read back the rows this store wrote since the last read."""
        if self._dirty_messages:
            wanted, self._dirty_messages = sorted(self._dirty_messages), set()
            for message_id, created, data in _rows(
                conn, "SELECT id, time_created, data FROM message WHERE session_id = ? AND id IN", session_id, wanted
            ):
                self._put_message(message_id, created, self._parse_message(data))
        if self._dirty_parts:
            wanted, self._dirty_parts = sorted(self._dirty_parts), set()
            for part_id, message_id, data in _rows(
                conn, "SELECT id, message_id, data FROM part WHERE session_id = ? AND id IN", session_id, wanted
            ):
                self._put_part(part_id, message_id, self._parse_part(data))

    def messages(self) -> list[MessageWithParts]:
        return [self._entries[message_id].build() for _, message_id in self._order]

    def _put_message(self, message_id: str, created: int, info: Message) -> None:
        key = (created, message_id)
        entry = self._entries.get(message_id)
        if entry is None:
            entry = self._entries[message_id] = _Entry(key, info, self._orphans.pop(message_id, {}))
            bisect.insort(self._order, key)
            return
        if entry.key != key:
            self._order.remove(entry.key)
            bisect.insort(self._order, key)
            entry.key = key
        entry.info = info
        entry.view = None

    def _put_part(self, part_id: str, message_id: str, part: Part) -> None:
        entry = self._entries.get(message_id)
        if entry is None:
            self._orphans.setdefault(message_id, {})[part_id] = part
            return
        entry.parts[part_id] = part
        entry.view = None


def _rows(conn: sqlite3.Connection, sql: str, session_id: str, ids: list[str]) -> list[tuple[Any, ...]]:
    rows: list[tuple[Any, ...]] = []
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        rows += conn.execute(f"{sql} ({', '.join('?' * len(chunk))})", (session_id, *chunk)).fetchall()
    return rows


class Conversations:
    """The most recently read sessions' conversations (at most `KEPT_SESSIONS`)."""

    def __init__(self) -> None:
        self._by_session: OrderedDict[str, Conversation] = OrderedDict()

    def get(self, session_id: str, data_version: int) -> Conversation | None:
        """The session's conversation if nobody else wrote to the file since it was read."""
        conversation = self._by_session.get(session_id)
        if conversation is None:
            return None
        if conversation.data_version != data_version:
            del self._by_session[session_id]
            return None
        self._by_session.move_to_end(session_id)
        return conversation

    def keep(self, session_id: str, conversation: Conversation) -> None:
        self._by_session[session_id] = conversation
        self._by_session.move_to_end(session_id)
        while len(self._by_session) > KEPT_SESSIONS:
            self._by_session.popitem(last=False)

    def mark_message(self, session_id: str, message_id: str) -> None:
        conversation = self._by_session.get(session_id)
        if conversation is not None:
            conversation.mark_message(message_id)

    def mark_part(self, session_id: str, part_id: str) -> None:
        conversation = self._by_session.get(session_id)
        if conversation is not None:
            conversation.mark_part(part_id)

    def drop(self, session_id: str | None = None) -> None:
        """Forget one session's conversation (after a deletion or an import), or all of them."""
        if session_id is None:
            self._by_session.clear()
        else:
            self._by_session.pop(session_id, None)
