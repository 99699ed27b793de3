"""The SQLite store's schema, as an ordered list of migrations, and the careful way to apply them.

`PRAGMA user_version` holds the number of migrations applied; `MIGRATIONS[n]` takes a database
from version n to n + 1 (version 0 is an empty file). Upgrading a database that holds sessions
first copies it aside (`opencode.db.bak-v<old>-<time>`, through SQLite's backup API so pages still
in the WAL are included), then runs every step in one transaction and checks that no session was
lost before committing (opencode#34445 lost sessions in a migration). A database from a newer
OpenCode is refused untouched: we cannot know what its extra columns mean.

A new migration is a function appended to `MIGRATIONS`; never edit one that has shipped.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

from opencode.session.store import StoreError

Migration = Callable[[sqlite3.Connection], None]


def _run(conn: sqlite3.Connection, *statements: str) -> None:
    # Not executescript(): it commits the open transaction first, and every step must share one.
    for statement in statements:
        conn.execute(statement)


def _v1_tables(conn: sqlite3.Connection) -> None:
    """Sessions, messages and parts: the model's JSON dump in `data`, plus the columns queries need."""
    _run(
        conn,
        """CREATE TABLE session (
            id TEXT PRIMARY KEY,
            parent_id TEXT,
            directory TEXT NOT NULL,
            project_id TEXT NOT NULL,
            time_created INTEGER NOT NULL,
            time_updated INTEGER NOT NULL,
            data TEXT NOT NULL
        )""",
        "CREATE INDEX session_updated ON session (time_updated DESC, id DESC)",
        "CREATE INDEX session_parent ON session (parent_id)",
        "CREATE INDEX session_directory ON session (directory, time_updated DESC)",
        """CREATE TABLE message (
            id TEXT PRIMARY KEY,
            session_id TEXT NOT NULL REFERENCES session (id) ON DELETE CASCADE,
            time_created INTEGER NOT NULL,
            data TEXT NOT NULL
        )""",
        "CREATE INDEX message_session ON message (session_id, time_created, id)",
        """CREATE TABLE part (
            id TEXT PRIMARY KEY,
            message_id TEXT NOT NULL REFERENCES message (id) ON DELETE CASCADE,
            session_id TEXT NOT NULL,
            data TEXT NOT NULL
        )""",
        "CREATE INDEX part_message ON part (message_id, id)",
        # list_messages reads a whole session's parts in one query.
        "CREATE INDEX part_session ON part (session_id, id)",
    )


# An assistant message that never finished: no completion time and no error.
UNFINISHED = (
    "json_extract(data, '$.role') = 'assistant' AND json_extract(data, '$.time.completed') IS NULL"
    " AND json_extract(data, '$.error') IS NULL"
)


def _v2_write_times(conn: sqlite3.Connection) -> None:
    """When the store last wrote each message and part, so recovery can leave alone the messages another live
    process is still writing; and a partial index to find unfinished assistant messages without a scan."""
    _run(
        conn,
        "ALTER TABLE message ADD COLUMN time_written INTEGER NOT NULL DEFAULT 0",
        "UPDATE message SET time_written = time_created",
        "ALTER TABLE part ADD COLUMN time_written INTEGER NOT NULL DEFAULT 0",
        "UPDATE part SET time_written = COALESCE("
        "(SELECT time_created FROM message WHERE message.id = part.message_id), 0)",
        # The WHERE clause must stay identical to the query in SQLiteStore.recover_interrupted for SQLite to use it.
        f"CREATE INDEX message_unfinished ON message (session_id) WHERE {UNFINISHED}",
    )


def _v3_todos(conn: sqlite3.Connection) -> None:
    """Each session's todo list (the `todowrite` tool), one row per item in list order; it goes with its session."""
    _run(
        conn,
        """CREATE TABLE todo (
            session_id TEXT NOT NULL REFERENCES session (id) ON DELETE CASCADE,
            position INTEGER NOT NULL,
            id TEXT NOT NULL,
            content TEXT NOT NULL,
            status TEXT NOT NULL,
            priority TEXT NOT NULL,
            time_updated INTEGER NOT NULL,
            PRIMARY KEY (session_id, position)
        )""",
    )


MIGRATIONS: list[Migration] = [_v1_tables, _v2_write_times, _v3_todos]
LATEST = len(MIGRATIONS)


def user_version(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def refuse_newer(path: Path, version: int) -> StoreError:
    return StoreError(
        f"{path} was created by a newer OpenCode (schema v{version}, this one knows v{LATEST}); upgrade OpenCode"
        " to open it (the file was not changed)"
    )


def _session_count(conn: sqlite3.Connection) -> int:
    exists = conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'session'").fetchone()
    return int(conn.execute("SELECT count(*) FROM session").fetchone()[0]) if exists else 0


def _backup(path: Path, version: int) -> Path:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    target = path.with_name(f"{path.name}.bak-v{version}-{stamp}")
    n = 1
    while target.exists():
        target = path.with_name(f"{path.name}.bak-v{version}-{stamp}-{n}")
        n += 1
    # A second connection reads the last committed state while the caller holds the write lock, so nothing can change
    # between the copy and the migration (the backup API stalls when its source connection is itself writing).
    source = sqlite3.connect(path, timeout=5.0)
    dest = sqlite3.connect(target)
    try:
        source.backup(dest)
    finally:
        dest.close()
        source.close()
    return target


def migrate(conn: sqlite3.Connection, path: Path) -> Path | None:
    """Bring the database up to `LATEST`; returns the backup made, if any. `conn` must be in autocommit mode."""
    if user_version(conn) == LATEST:
        return None
    # The write lock first, then the version again: another process may have migrated while we waited.
    conn.execute("BEGIN IMMEDIATE")
    backup: Path | None = None
    try:
        version = user_version(conn)
        if version > LATEST:
            raise refuse_newer(path, version)
        before = _session_count(conn)
        if version < LATEST and before:
            backup = _backup(path, version)
        for step in MIGRATIONS[version:]:
            step(conn)
        after = _session_count(conn)
        if after != before:
            raise StoreError(
                f"{path}: migrating from schema v{version} to v{LATEST} would change the session count"
                f" ({before} -> {after}); nothing was changed (a copy is at {backup})"
            )
        conn.execute(f"PRAGMA user_version = {LATEST}")
        conn.execute("COMMIT")
    except StoreError:
        conn.execute("ROLLBACK")
        raise
    except sqlite3.Error as e:
        conn.execute("ROLLBACK")
        where = f"; a copy is at {backup}" if backup else ""
        raise StoreError(f"{path}: migrating the schema failed ({e}); nothing was changed{where}") from e
    return backup
