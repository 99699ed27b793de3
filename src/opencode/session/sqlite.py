"""The default session store: one SQLite file (`opencode.db` under the XDG data dir) in WAL mode.

Each row keeps the model's JSON dump (`model_dump(mode="json", exclude_none=True)`) in `data`;
the other columns exist only for queries. Writes are upserts keyed by id, each its own short
transaction, so a crash (kill -9 included) loses at most the write in flight. Several processes
may share the file: WAL lets readers run beside the one writer, and `busy_timeout` makes a
writer wait for another instead of failing with "database is locked".

One connection per store, guarded by a lock, so async code may call the store from worker
threads (`asyncio.to_thread`). The schema and its migrations live in `sqlite_migrations`.

Beyond the `Store` protocol: `recover_interrupted` (close messages a dead process left open),
`export_session` / `import_session` (`opencode export` / `import`, the todo list included) and
`usage_rows` (`opencode stats`).
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import Any

from pydantic import TypeAdapter

from opencode.config.paths import paths
from opencode.session import sqlite_migrations as migrations
from opencode.session.model import (
    AssistantMessage,
    Message,
    MessageError,
    MessageWithParts,
    Part,
    Session,
    SessionExport,
    Todo,
    ToolPart,
    ToolStateError,
    ToolStatePending,
    ToolStateRunning,
    ToolTimeRange,
)
from opencode.session.sqlite_cache import Conversation, Conversations
from opencode.session.store import NotFound, StoreError

_MESSAGE: TypeAdapter[Message] = TypeAdapter(Message)
_PART: TypeAdapter[Part] = TypeAdapter(Part)
_SQLITE_HEADER = b"SQLite format 3\x00"
_USAGE_BATCH = 500
INTERRUPTED = "interrupted: the process stopped before this message finished"

UsageRow = tuple[str, str, int, dict[str, Any], float]
"""(provider_id, model_id, time_created_ms, tokens as in `Tokens`'s dump, cost)."""


def default_path() -> Path:
    return paths().data / "opencode.db"


def _now() -> int:
    return int(time.time() * 1000)


def _dump(value: Any) -> str:
    return str(value.model_dump_json(exclude_none=True))


def _check_header(path: Path) -> None:
    """Refuse a file that is not SQLite before SQLite sees it, so it is never touched (no -wal / -shm beside it)."""
    try:
        with path.open("rb") as f:
            head = f.read(len(_SQLITE_HEADER))
    except FileNotFoundError:
        return
    except OSError as e:
        raise StoreError(f"{path}: cannot read the session database ({e.strerror})") from e
    if head and head != _SQLITE_HEADER:
        raise StoreError(
            f"{path} is not an SQLite database (corrupt or another file); it was left untouched: move it aside"
            " to start a new one"
        )


def _connect(path: Path) -> sqlite3.Connection:
    path.parent.mkdir(parents=True, exist_ok=True)
    _check_header(path)
    # Conversations can hold secrets: create the file owner-only (SQLite gives -wal and -shm the same mode).
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
    # isolation_level=None: no implicit transactions; each write below is one statement or an explicit BEGIN IMMEDIATE.
    conn = sqlite3.connect(path, timeout=5.0, isolation_level=None, check_same_thread=False)
    try:
        conn.execute("PRAGMA busy_timeout = 5000")
        version = migrations.user_version(conn)
        if version > migrations.LATEST:
            raise migrations.refuse_newer(path, version)
        conn.execute("PRAGMA journal_mode = WAL")
        # In WAL mode NORMAL syncs at checkpoints, not at each commit: a committed write is in the WAL file, which
        # survives the process being killed; only an OS crash or power loss can drop the last commits (never corrupt).
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute("PRAGMA foreign_keys = ON")
    except StoreError:
        conn.close()
        raise
    except sqlite3.Error as e:
        conn.close()
        raise StoreError(f"{path}: cannot open the session database ({e}); it was left as it is") from e
    return conn


class SQLiteStore:
    """The `Store` on one SQLite file. `backup` is the copy made if opening it migrated an older schema."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path if path is not None else default_path()
        self._lock = threading.Lock()
        self._conversations = Conversations()
        self._conn: sqlite3.Connection | None = _connect(self.path)
        try:
            self.backup = migrations.migrate(self._conn, self.path)
        except BaseException:
            self.close()
            raise

    # --- plumbing -----------------------------------------------------------------------------

    def __enter__(self) -> SQLiteStore:
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def _error(self, e: sqlite3.Error) -> StoreError:
        if isinstance(e, sqlite3.IntegrityError) and "FOREIGN KEY" in str(e):
            return NotFound(f"{self.path}: the session or message this refers to does not exist")
        return StoreError(f"{self.path}: {e}")

    @contextlib.contextmanager
    def _tx(self, begin: str) -> Iterator[sqlite3.Connection]:
        """One transaction under the lock: "BEGIN IMMEDIATE" for writes (takes the write lock up front, so the busy
        timeout applies instead of a read-to-write upgrade failing), "BEGIN" for reads that need one snapshot."""
        with self._lock:
            conn = self._conn
            if conn is None:
                raise StoreError(f"{self.path}: the store is closed")
            try:
                conn.execute(begin)
            except sqlite3.Error as e:
                raise self._error(e) from e
            try:
                yield conn
                conn.execute("COMMIT")
            except BaseException as e:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                if isinstance(e, sqlite3.Error):
                    raise self._error(e) from e
                raise

    def _execute(self, sql: str, params: tuple[Any, ...] = ()) -> list[Any]:
        """One statement in autocommit mode (its own transaction); its rows are read under the lock too."""
        with self._lock:
            if self._conn is None:
                raise StoreError(f"{self.path}: the store is closed")
            try:
                return self._conn.execute(sql, params).fetchall()
            except sqlite3.Error as e:
                raise self._error(e) from e

    # --- sessions -----------------------------------------------------------------------------

    _PUT_SESSION = """INSERT INTO session (id, parent_id, directory, project_id, time_created, time_updated, data)
        VALUES (?, ?, ?, ?, ?, ?, ?)
        ON CONFLICT (id) DO UPDATE SET parent_id = excluded.parent_id, directory = excluded.directory,
            project_id = excluded.project_id, time_created = excluded.time_created,
            time_updated = excluded.time_updated, data = excluded.data"""

    @staticmethod
    def _session_row(s: Session) -> tuple[Any, ...]:
        return (s.id, s.parentID, s.directory, s.projectID, s.time.created, s.time.updated, _dump(s))

    def put_session(self, session: Session) -> None:
        # An UPSERT, never INSERT OR REPLACE: a replace deletes the row first, and the cascade would take its messages.
        self._execute(self._PUT_SESSION, self._session_row(session))

    def get_session(self, session_id: str) -> Session:
        rows = self._execute("SELECT data FROM session WHERE id = ?", (session_id,))
        if not rows:
            raise NotFound(f"session {session_id} not found")
        return Session.model_validate_json(rows[0][0])

    def list_sessions(
        self,
        *,
        limit: int | None = None,
        directory: str | None = None,
        parent_id: str | None = None,
        roots: bool = False,
    ) -> list[Session]:
        where: list[str] = []
        params: list[Any] = []
        if directory is not None:
            where.append("directory = ?")
            params.append(directory)
        if parent_id is not None:
            where.append("parent_id = ?")
            params.append(parent_id)
        if roots:
            where.append("parent_id IS NULL")
        sql = "SELECT data FROM session"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY time_updated DESC, id DESC"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        rows = self._execute(sql, tuple(params))
        return [Session.model_validate_json(data) for (data,) in rows]

    def delete_session(self, session_id: str) -> None:
        # Child (subagent) sessions go too, at any depth; messages and parts follow by ON DELETE CASCADE.
        with self._tx("BEGIN IMMEDIATE") as conn:
            if conn.execute("SELECT 1 FROM session WHERE id = ?", (session_id,)).fetchone() is None:
                raise NotFound(f"session {session_id} not found")
            conn.execute(
                """WITH RECURSIVE tree (id) AS (
                    SELECT ? UNION SELECT session.id FROM session JOIN tree ON session.parent_id = tree.id
                ) DELETE FROM session WHERE id IN (SELECT id FROM tree)""",
                (session_id,),
            )
        self._forget()  # its child sessions went too

    # --- messages -----------------------------------------------------------------------------

    _PUT_MESSAGE = """INSERT INTO message (id, session_id, time_created, time_written, data) VALUES (?, ?, ?, ?, ?)
        ON CONFLICT (id) DO UPDATE SET time_created = excluded.time_created, time_written = excluded.time_written,
            data = excluded.data"""

    @staticmethod
    def _message_row(m: Message, written: int) -> tuple[Any, ...]:
        return (m.id, m.sessionID, m.time.created, written, _dump(m))

    def put_message(self, message: Message) -> None:
        self._execute(self._PUT_MESSAGE, self._message_row(message, _now()))
        with self._lock:
            self._conversations.mark_message(message.sessionID, message.id)

    def get_message(self, session_id: str, message_id: str) -> MessageWithParts:
        with self._tx("BEGIN") as conn:
            row = conn.execute(
                "SELECT data FROM message WHERE id = ? AND session_id = ?", (message_id, session_id)
            ).fetchone()
            parts = conn.execute("SELECT data FROM part WHERE message_id = ? ORDER BY id", (message_id,)).fetchall()
        if row is None:
            raise NotFound(f"message {message_id} not found in session {session_id}")
        return MessageWithParts(
            info=_MESSAGE.validate_json(row[0]), parts=[_PART.validate_json(data) for (data,) in parts]
        )

    def list_messages(self, session_id: str) -> list[MessageWithParts]:
        """The session's messages with their parts, in order; served from the read cache
        (`sqlite_cache`): only rows written since the last read are fetched and parsed."""
        with self._tx("BEGIN") as conn:
            version = conn.execute("PRAGMA data_version").fetchone()[0]
            conversation = self._conversations.get(session_id, version)
            if conversation is None:
                conversation = Conversation.load(conn, session_id, version, _MESSAGE.validate_json, _PART.validate_json)
                self._conversations.keep(session_id, conversation)
            else:
                conversation.refresh(conn, session_id)
            return conversation.messages()

    def delete_message(self, session_id: str, message_id: str) -> None:
        self._execute("DELETE FROM message WHERE id = ? AND session_id = ?", (message_id, session_id))
        self._forget(session_id)

    # --- parts --------------------------------------------------------------------------------

    # Called about once a second per streaming part: one statement, one short transaction.
    _PUT_PART = """INSERT INTO part (id, message_id, session_id, time_written, data) VALUES (?, ?, ?, ?, ?)
        ON CONFLICT (id) DO UPDATE SET time_written = excluded.time_written, data = excluded.data"""

    @staticmethod
    def _part_row(p: Part, written: int) -> tuple[Any, ...]:
        return (p.id, p.messageID, p.sessionID, written, _dump(p))

    def put_part(self, part: Part) -> None:
        self._execute(self._PUT_PART, self._part_row(part, _now()))
        with self._lock:
            self._conversations.mark_part(part.sessionID, part.id)

    def delete_part(self, session_id: str, message_id: str, part_id: str) -> None:
        self._execute(
            "DELETE FROM part WHERE id = ? AND message_id = ? AND session_id = ?", (part_id, message_id, session_id)
        )
        self._forget(session_id)

    def _forget(self, session_id: str | None = None) -> None:
        with self._lock:
            self._conversations.drop(session_id)

    # --- todos --------------------------------------------------------------------------------

    def get_todos(self, session_id: str) -> list[Todo]:
        rows = self._execute(
            "SELECT id, content, status, priority FROM todo WHERE session_id = ? ORDER BY position", (session_id,)
        )
        return [
            Todo(id=id_, content=content, status=status, priority=priority) for id_, content, status, priority in rows
        ]

    def put_todos(self, session_id: str, todos: list[Todo]) -> None:
        with self._tx("BEGIN IMMEDIATE") as conn:
            self._replace_todos(conn, session_id, todos, _now())

    @staticmethod
    def _replace_todos(conn: sqlite3.Connection, session_id: str, todos: list[Todo], now: int) -> None:
        if conn.execute("SELECT 1 FROM session WHERE id = ?", (session_id,)).fetchone() is None:
            raise NotFound(f"session {session_id} not found")
        conn.execute("DELETE FROM todo WHERE session_id = ?", (session_id,))
        conn.executemany(
            "INSERT INTO todo (session_id, position, id, content, status, priority, time_updated)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            [(session_id, n, t.id, t.content, t.status, t.priority, now) for n, t in enumerate(todos)],
        )

    # --- recovery -----------------------------------------------------------------------------

    def recover_interrupted(self, now_ms: int, *, older_than_ms: int | None = None) -> list[str]:
        """Close the assistant messages a stopped process left unfinished; returns their ids.

        Such a message (no `time.completed`, no error) becomes a `MessageAbortedError` completed at `now_ms`, and
        its tool calls still pending or running become errors ("interrupted"), so the history stays valid for the
        provider. Call it at start when this process runs no session.

        `older_than_ms` protects another live process sharing the file: with it, a message is left alone if it or
        any of its parts was written less than `older_than_ms` before `now_ms`. A live process writes streamed text
        at least once a second, but a long tool call (a build, a test run) writes nothing until it ends, so pick a
        guard longer than the longest tool timeout. None: recover everything (this process owns the file).
        """
        cutoff = None if older_than_ms is None else now_ms - older_than_ms
        recovered: list[str] = []
        with self._tx("BEGIN IMMEDIATE") as conn:
            rows = conn.execute(
                f"""SELECT id, data, max(time_written,
                        COALESCE((SELECT max(time_written) FROM part WHERE part.message_id = message.id), 0))
                    FROM message WHERE {migrations.UNFINISHED}"""
            ).fetchall()
            for message_id, data, last_written in rows:
                if cutoff is not None and last_written >= cutoff:
                    continue
                message = _MESSAGE.validate_json(data)
                if not isinstance(message, AssistantMessage):
                    continue
                message.error = MessageError(name="MessageAbortedError", data={"message": INTERRUPTED})
                message.time.completed = now_ms
                conn.execute(self._PUT_MESSAGE, self._message_row(message, now_ms))
                for (part_data,) in conn.execute(
                    "SELECT data FROM part WHERE message_id = ? ORDER BY id", (message_id,)
                ).fetchall():
                    part = _PART.validate_json(part_data)
                    if isinstance(part, ToolPart) and isinstance(part.state, ToolStatePending | ToolStateRunning):
                        start = part.state.time.start if isinstance(part.state, ToolStateRunning) else now_ms
                        part.state = ToolStateError(
                            input=part.state.input,
                            error="interrupted",
                            metadata=getattr(part.state, "metadata", None),
                            time=ToolTimeRange(start=start, end=now_ms),
                        )
                        conn.execute(self._PUT_PART, self._part_row(part, now_ms))
                recovered.append(message_id)
        if recovered:
            self._forget()
        return recovered

    # --- export, import, usage ----------------------------------------------------------------

    def export_session(self, session_id: str) -> SessionExport:
        """The session and every message with its parts, in order (`opencode export`). Raises NotFound."""
        info = self.get_session(session_id)
        return SessionExport(
            info=info, messages=self.list_messages(session_id), todos=self.get_todos(session_id) or None
        )

    def import_session(self, export: SessionExport) -> None:
        """Upsert everything in `export`, in one transaction; exporting again gives the same JSON."""
        now = _now()
        with self._tx("BEGIN IMMEDIATE") as conn:
            conn.execute(self._PUT_SESSION, self._session_row(export.info))
            for item in export.messages:
                conn.execute(self._PUT_MESSAGE, self._message_row(item.info, now))
                conn.executemany(self._PUT_PART, [self._part_row(part, now) for part in item.parts])
            if export.todos is not None:
                self._replace_todos(conn, export.info.id, export.todos, now)
        self._forget(export.info.id)

    def usage_rows(self) -> Iterator[UsageRow]:
        """(provider_id, model_id, time_created_ms, tokens, cost) for every assistant message, oldest first.

        Read in batches, keyed on (time_created, id), so memory stays flat however long the history, and the lock is
        free between batches for the caller to use the store."""
        after: tuple[int, str] = (-1, "")
        while True:
            rows = self._execute(
                """SELECT time_created, id, json_extract(data, '$.providerID'), json_extract(data, '$.modelID'),
                        json_extract(data, '$.tokens'), json_extract(data, '$.cost')
                    FROM message
                    WHERE json_extract(data, '$.role') = 'assistant' AND (time_created, id) > (?, ?)
                    ORDER BY time_created, id LIMIT ?""",
                (*after, _USAGE_BATCH),
            )
            for created, _id, provider_id, model_id, tokens, cost in rows:
                yield (
                    provider_id or "",
                    model_id or "",
                    created,
                    json.loads(tokens) if tokens else {},
                    float(cost or 0),
                )
            if len(rows) < _USAGE_BATCH:
                return
            after = (rows[-1][0], rows[-1][1])
