"""The todo table: replace and read back per session, cascade with the session, export/import, migration v2 -> v3."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from opencode.session import sqlite_migrations as migrations
from opencode.session.model import Todo
from opencode.session.sqlite import SQLiteStore
from opencode.session.store import NotFound
from tests.session.test_sqlite import make_session, make_user

TODOS = [
    Todo(id="1", content="Write the test", status="in_progress", priority="high"),
    Todo(id="b", content="Fix it", status="pending", priority="medium"),
    Todo(id="c", content="Tell the user", status="completed", priority="low"),
]


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "data" / "opencode.db"


def test_put_replaces_the_list_in_order_and_keeps_sessions_apart(db: Path) -> None:
    with SQLiteStore(db) as store:
        one, two = make_session(), make_session()
        store.put_session(one)
        store.put_session(two)
        assert store.get_todos(one.id) == []
        store.put_todos(one.id, TODOS)
        store.put_todos(two.id, TODOS[:1])
        store.put_todos(one.id, [TODOS[2], TODOS[0]])
        assert store.get_todos(one.id) == [TODOS[2], TODOS[0]]
        assert store.get_todos(two.id) == TODOS[:1]
        store.put_todos(two.id, [])
        assert store.get_todos(two.id) == []
        with pytest.raises(NotFound):
            store.put_todos("ses_missing", TODOS)
    with SQLiteStore(db) as reopened:  # survives a restart
        assert reopened.get_todos(one.id) == [TODOS[2], TODOS[0]]


def test_todos_go_with_their_session(db: Path) -> None:
    with SQLiteStore(db) as store:
        parent = make_session()
        store.put_session(parent)
        child = make_session(parent=parent.id)
        store.put_session(child)
        store.put_todos(parent.id, TODOS)
        store.put_todos(child.id, TODOS)
        store.delete_session(parent.id)
    with sqlite3.connect(db) as raw:
        assert raw.execute("SELECT count(*) FROM todo").fetchone() == (0,)


def test_export_includes_the_list_and_import_restores_it(db: Path, tmp_path: Path) -> None:
    with SQLiteStore(db) as store:
        session = make_session()
        store.put_session(session)
        store.put_message(make_user(session.id))
        bare = store.export_session(session.id)
        assert bare.todos is None and "todos" not in bare.model_dump(mode="json", exclude_none=True)
        store.put_todos(session.id, TODOS)
        document = store.export_session(session.id)
        assert document.todos == TODOS
    with SQLiteStore(tmp_path / "other.db") as other:
        other.import_session(document)
        assert other.get_todos(session.id) == TODOS
        assert other.export_session(session.id).model_dump_json() == document.model_dump_json()


def test_a_v2_database_gains_the_todo_table_and_keeps_its_sessions(db: Path) -> None:
    with SQLiteStore(db) as store:
        session = make_session()
        store.put_session(session)
    with sqlite3.connect(db) as raw:  # back to what a v2 OpenCode wrote
        raw.execute("DROP TABLE todo")
        raw.execute("PRAGMA user_version = 2")
    raw.close()
    with SQLiteStore(db) as store:
        assert store.backup is not None and store.backup.name.startswith("opencode.db.bak-v2-")
        assert store.get_session(session.id).id == session.id
        store.put_todos(session.id, TODOS)
        assert store.get_todos(session.id) == TODOS
    with sqlite3.connect(db) as raw:
        assert raw.execute("PRAGMA user_version").fetchone() == (migrations.LATEST,) == (3,)
