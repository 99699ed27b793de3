"""SQLiteStore on real files: round trips, ordering, deletes, export/import, several writers, migrations, refusals,
crash recovery and kill -9."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import stat
import subprocess
import sys
import textwrap
import threading
from pathlib import Path
from typing import Any

import pytest

from opencode.config.paths import paths
from opencode.id import ascending
from opencode.session import sqlite as sqlite_store
from opencode.session import sqlite_migrations as migrations
from opencode.session.model import (
    AgentPart,
    AssistantMessage,
    AssistantPath,
    AssistantTime,
    CacheTokens,
    CompactionPart,
    FilePart,
    MessageError,
    ModelRef,
    Part,
    PartTime,
    PatchPart,
    ReasoningPart,
    RetryPart,
    Session,
    SessionRevert,
    SessionSummary,
    SessionTime,
    SnapshotPart,
    StepFinishPart,
    StepStartPart,
    SubtaskPart,
    TextPart,
    Tokens,
    ToolPart,
    ToolStateCompleted,
    ToolStateError,
    ToolStatePending,
    ToolStateRunning,
    ToolTimeRange,
    UserMessage,
    UserTime,
)
from opencode.session.sqlite import SQLiteStore
from opencode.session.store import NotFound, Store, StoreError

# --- builders -------------------------------------------------------------------------------------


def make_session(directory: str = "/proj", parent: str | None = None, updated: int = 1_000) -> Session:
    return Session(
        id=ascending("ses"),
        projectID="prj1",
        directory=directory,
        title="a session",
        parentID=parent,
        time=SessionTime(created=500, updated=updated),
    )


def make_user(session_id: str, created: int = 1_000) -> UserMessage:
    return UserMessage(id=ascending("msg"), sessionID=session_id, time=UserTime(created=created))


def make_assistant(
    session_id: str, parent_id: str, created: int = 2_000, completed: int | None = 3_000
) -> AssistantMessage:
    return AssistantMessage(
        id=ascending("msg"),
        sessionID=session_id,
        parentID=parent_id,
        providerID="anthropic",
        modelID="claude-x",
        path=AssistantPath(cwd="/proj", root="/proj"),
        time=AssistantTime(created=created, completed=completed),
        cost=0.25,
        tokens=Tokens(input=10, output=5, reasoning=2, cache=CacheTokens(read=3, write=1)),
        finish="stop" if completed else None,
    )


def every_part(session_id: str, message_id: str) -> list[Part]:
    ids = {"sessionID": session_id, "messageID": message_id}
    done = ToolTimeRange(start=1, end=2)
    return [
        TextPart(id=ascending("prt"), **ids, text="hello", synthetic=True, time=PartTime(start=1, end=2)),
        ReasoningPart(id=ascending("prt"), **ids, text="thinking", metadata={"signature": "sig"}),
        FilePart(id=ascending("prt"), **ids, mime="text/plain", url="file:///proj/a.txt", filename="a.txt"),
        ToolPart(id=ascending("prt"), **ids, callID="c1", tool="read", state=ToolStatePending(raw='{"pa')),
        ToolPart(id=ascending("prt"), **ids, callID="c2", tool="bash", state=ToolStateRunning(input={"command": "ls"})),
        ToolPart(
            id=ascending("prt"),
            **ids,
            callID="c3",
            tool="read",
            state=ToolStateCompleted(
                input={"filePath": "a"},
                output="x",
                title="a",
                time=done,
                attachments=[FilePart(id=ascending("prt"), **ids, mime="image/png", url="data:image/png;base64,AA==")],
            ),
        ),
        ToolPart(id=ascending("prt"), **ids, callID="c4", tool="edit", state=ToolStateError(error="boom", time=done)),
        StepStartPart(id=ascending("prt"), **ids, snapshot="abc"),
        StepFinishPart(id=ascending("prt"), **ids, reason="tool-calls", cost=0.1, tokens=Tokens(input=1)),
        SnapshotPart(id=ascending("prt"), **ids, snapshot="def"),
        PatchPart(id=ascending("prt"), **ids, hash="123", files=["a.txt"]),
        AgentPart(id=ascending("prt"), **ids, name="general", source={"start": 0, "end": 3, "value": "@ge"}),
        SubtaskPart(
            id=ascending("prt"),
            **ids,
            prompt="p",
            description="d",
            agent="general",
            model=ModelRef(providerID="a", modelID="b"),
        ),
        CompactionPart(id=ascending("prt"), **ids, auto=False),
        RetryPart(id=ascending("prt"), **ids, attempt=2, error=MessageError(name="APIError", data={"message": "429"})),
    ]


def dump(value: Any) -> Any:
    return value.model_dump(mode="json", exclude_none=True)


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "data" / "opencode.db"


@pytest.fixture
def store(db: Path) -> Any:
    with SQLiteStore(db) as s:
        yield s


def run_python(code: str, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code), *args], capture_output=True, text=True, timeout=timeout
    )


# --- round trips and queries ----------------------------------------------------------------------


def test_round_trip_of_every_part_and_both_message_types(store: SQLiteStore) -> None:
    session = make_session()
    session.summary = SessionSummary(additions=1, deletions=2, files=3)
    session.revert = SessionRevert(messageID="msg_x", snapshot="s")
    store.put_session(session)
    user = make_user(session.id)
    user.model = ModelRef(providerID="anthropic", modelID="claude-x")
    user.tools = {"bash": False}
    assistant = make_assistant(session.id, user.id)
    assistant.error = MessageError(name="APIError", data={"message": "bad", "statusCode": 500})
    store.put_message(user)
    store.put_message(assistant)
    parts = every_part(session.id, assistant.id)
    for part in parts:
        store.put_part(part)

    assert dump(store.get_session(session.id)) == dump(session)
    got = store.get_message(session.id, assistant.id)
    assert dump(got.info) == dump(assistant)
    assert [dump(p) for p in got.parts] == [dump(p) for p in parts]
    listed = store.list_messages(session.id)
    assert [dump(m.info) for m in listed] == [dump(user), dump(assistant)]
    assert listed[0].parts == []


def test_put_part_updates_in_place(store: SQLiteStore) -> None:
    session = make_session()
    store.put_session(session)
    user = make_user(session.id)
    store.put_message(user)
    part = TextPart(id=ascending("prt"), sessionID=session.id, messageID=user.id, text="a")
    store.put_part(part)
    part.text = "ab"
    store.put_part(part)
    store.put_message(user)  # an upsert of the message must not cascade away its parts
    assert [p.text for p in store.get_message(session.id, user.id).parts if isinstance(p, TextPart)] == ["ab"]


def test_messages_ordered_by_creation_then_id_and_parts_by_id(store: SQLiteStore) -> None:
    session = make_session()
    store.put_session(session)
    first, second, third = (make_user(session.id, created=5) for _ in range(3))
    late = make_user(session.id, created=1)  # made last, but created earliest
    for message in (third, late, second, first):
        store.put_message(message)
    parts = [TextPart(id=ascending("prt"), sessionID=session.id, messageID=first.id, text=str(n)) for n in range(5)]
    for part in reversed(parts):
        store.put_part(part)
    listed = store.list_messages(session.id)
    assert [m.info.id for m in listed] == [late.id, first.id, second.id, third.id]
    assert [p.id for p in listed[1].parts] == [p.id for p in parts]


def test_list_sessions_newest_first_with_filters(store: SQLiteStore) -> None:
    old = make_session(updated=1)
    new = make_session(updated=3)
    other_dir = make_session(directory="/other", updated=2)
    child = make_session(parent=new.id, updated=4)
    for session in (old, new, other_dir, child):
        store.put_session(session)
    assert [s.id for s in store.list_sessions()] == [child.id, new.id, other_dir.id, old.id]
    assert [s.id for s in store.list_sessions(roots=True)] == [new.id, other_dir.id, old.id]
    assert [s.id for s in store.list_sessions(directory="/proj", roots=True)] == [new.id, old.id]
    assert [s.id for s in store.list_sessions(parent_id=new.id)] == [child.id]
    assert [s.id for s in store.list_sessions(limit=2)] == [child.id, new.id]


def test_delete_session_cascades_to_children_messages_and_parts(store: SQLiteStore, db: Path) -> None:
    root = make_session()
    child = make_session(parent=root.id)
    grandchild = make_session(parent=child.id)
    keep = make_session()
    for session in (root, child, grandchild, keep):
        store.put_session(session)
        user = make_user(session.id)
        store.put_message(user)
        store.put_part(TextPart(id=ascending("prt"), sessionID=session.id, messageID=user.id, text="x"))
    store.delete_session(root.id)
    assert [s.id for s in store.list_sessions()] == [keep.id]
    with sqlite3.connect(db) as raw:
        assert raw.execute("SELECT count(*) FROM message").fetchone() == (1,)
        assert raw.execute("SELECT count(*) FROM part").fetchone() == (1,)
    with pytest.raises(NotFound):
        store.delete_session(root.id)


def test_delete_message_and_part(store: SQLiteStore) -> None:
    session = make_session()
    store.put_session(session)
    a, b = make_user(session.id), make_user(session.id)
    store.put_message(a)
    store.put_message(b)
    keep, drop = (TextPart(id=ascending("prt"), sessionID=session.id, messageID=a.id) for _ in range(2))
    store.put_part(keep)
    store.put_part(drop)
    store.delete_part(session.id, a.id, drop.id)
    store.delete_message(session.id, b.id)
    listed = store.list_messages(session.id)
    assert [m.info.id for m in listed] == [a.id]
    assert [p.id for p in listed[0].parts] == [keep.id]


def test_missing_things_raise_not_found(store: SQLiteStore) -> None:
    with pytest.raises(NotFound):
        store.get_session("ses_missing")
    session = make_session()
    store.put_session(session)
    with pytest.raises(NotFound):
        store.get_message(session.id, "msg_missing")
    with pytest.raises(NotFound):
        store.put_message(make_user("ses_missing"))
    with pytest.raises(NotFound):
        store.put_part(TextPart(id=ascending("prt"), sessionID=session.id, messageID="msg_missing"))


def test_export_import_export_gives_the_same_json(store: SQLiteStore, tmp_path: Path) -> None:
    session = make_session()
    store.put_session(session)
    user = make_user(session.id)
    assistant = make_assistant(session.id, user.id)
    store.put_message(user)
    store.put_message(assistant)
    store.put_part(TextPart(id=ascending("prt"), sessionID=session.id, messageID=user.id, text="hi"))
    for part in every_part(session.id, assistant.id):
        store.put_part(part)
    exported = store.export_session(session.id)
    with SQLiteStore(tmp_path / "fresh.db") as fresh:
        fresh.import_session(exported)
        again = fresh.export_session(session.id)
        fresh.import_session(again)  # importing twice is an upsert, not a duplicate
        assert fresh.export_session(session.id).model_dump_json(exclude_none=True) == exported.model_dump_json(
            exclude_none=True
        )
    assert dump(again) == dump(exported)
    assert len(exported.messages) == 2


def test_usage_rows_cover_every_assistant_message(store: SQLiteStore, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sqlite_store, "_USAGE_BATCH", 2)
    session = make_session()
    store.put_session(session)
    user = make_user(session.id)
    store.put_message(user)
    assistants = [make_assistant(session.id, user.id, created=2_000 + n) for n in range(5)]
    for message in assistants:
        store.put_message(message)
    rows = list(store.usage_rows())
    assert len(rows) == 5
    provider, model, created, tokens, cost = rows[0]
    assert (provider, model, created, cost) == ("anthropic", "claude-x", 2_000, 0.25)
    assert tokens == {"input": 10, "output": 5, "reasoning": 2, "cache": {"read": 3, "write": 1}}
    assert [r[2] for r in rows] == [2_000 + n for n in range(5)]


# --- the file itself -----------------------------------------------------------------------------


def test_default_path_wal_mode_and_private_file() -> None:
    with SQLiteStore() as store:
        assert store.path == paths().data / "opencode.db"
        store.put_session(make_session())
    with sqlite3.connect(paths().data / "opencode.db") as raw:
        assert raw.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        assert raw.execute("PRAGMA user_version").fetchone() == (migrations.LATEST,)
    assert stat.S_IMODE((paths().data / "opencode.db").stat().st_mode) == 0o600


def test_closed_store_raises(db: Path) -> None:
    store = SQLiteStore(db)
    store.close()
    store.close()
    with pytest.raises(StoreError, match="closed"):
        store.list_sessions()


async def test_called_from_worker_threads(store: SQLiteStore) -> None:
    session = make_session()
    store.put_session(session)
    user = make_user(session.id)
    store.put_message(user)
    parts = [TextPart(id=ascending("prt"), sessionID=session.id, messageID=user.id, text=str(n)) for n in range(50)]
    await asyncio.gather(*(asyncio.to_thread(store.put_part, p) for p in parts))
    listed = await asyncio.to_thread(store.list_messages, session.id)
    assert len(listed[0].parts) == 50


def test_two_stores_on_one_file_write_concurrently(db: Path) -> None:
    a, b = SQLiteStore(db), SQLiteStore(db)
    session = make_session()
    a.put_session(session)
    errors: list[BaseException] = []

    def writer(store: SQLiteStore) -> None:
        try:
            user = make_user(session.id)
            store.put_message(user)
            for n in range(100):
                store.put_part(TextPart(id=ascending("prt"), sessionID=session.id, messageID=user.id, text=str(n)))
                store.list_messages(session.id)
        except BaseException as e:
            errors.append(e)

    threads = [threading.Thread(target=writer, args=(s,)) for s in (a, b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sum(len(m.parts) for m in b.list_messages(session.id)) == 200
    a.close()
    b.close()


def test_another_process_writes_while_this_one_reads(store: SQLiteStore, db: Path) -> None:
    session = make_session()
    store.put_session(session)
    user = make_user(session.id)
    store.put_message(user)
    errors = db.parent / "child.err"
    with errors.open("w") as err:
        child = subprocess.Popen(
            [
                sys.executable,
                "-c",
                textwrap.dedent(
                    """
                    import sys
                    from pathlib import Path
                    from opencode.id import ascending
                    from opencode.session.model import TextPart
                    from opencode.session.sqlite import SQLiteStore
                    store = SQLiteStore(Path(sys.argv[1]))
                    ids = {"sessionID": sys.argv[2], "messageID": sys.argv[3]}
                    for n in range(300):
                        store.put_part(TextPart(id=ascending("prt"), text=str(n), **ids))
                    store.close()
                    """
                ),
                str(db),
                session.id,
                user.id,
            ],
            stderr=err,
        )
        while True:
            store.list_messages(session.id)
            store.put_session(session)  # this process writes too
            if child.poll() is not None:
                break
    assert child.returncode == 0, errors.read_text()
    assert len(store.list_messages(session.id)[0].parts) == 300


def test_kill_9_after_writes_loses_nothing_written(db: Path) -> None:
    with SQLiteStore(db):
        pass  # an existing, migrated file, as after a first run
    result = run_python(
        """
        import os, signal, sys
        from pathlib import Path
        from opencode.session.model import Session, TextPart, UserMessage
        from opencode.session.sqlite import SQLiteStore
        store = SQLiteStore(Path(sys.argv[1]))
        store.put_session(Session(id="ses_k", projectID="p", directory="/d", title="t"))
        store.put_message(UserMessage(id="msg_k", sessionID="ses_k"))
        store.put_part(TextPart(id="prt_k", sessionID="ses_k", messageID="msg_k", text="survives"))
        os.kill(os.getpid(), signal.SIGKILL)
        """,
        str(db),
    )
    assert result.returncode == -signal.SIGKILL
    with SQLiteStore(db) as store:
        (message,) = store.list_messages("ses_k")
        assert message.info.id == "msg_k"
        assert [p.text for p in message.parts if isinstance(p, TextPart)] == ["survives"]


# --- migrations and refusals ----------------------------------------------------------------------

V1_SCHEMA = """
CREATE TABLE session (id TEXT PRIMARY KEY, parent_id TEXT, directory TEXT NOT NULL, project_id TEXT NOT NULL,
    time_created INTEGER NOT NULL, time_updated INTEGER NOT NULL, data TEXT NOT NULL);
CREATE TABLE message (id TEXT PRIMARY KEY, session_id TEXT NOT NULL REFERENCES session (id) ON DELETE CASCADE,
    time_created INTEGER NOT NULL, data TEXT NOT NULL);
CREATE TABLE part (id TEXT PRIMARY KEY, message_id TEXT NOT NULL REFERENCES message (id) ON DELETE CASCADE,
    session_id TEXT NOT NULL, data TEXT NOT NULL);
PRAGMA user_version = 1;
"""


def fabricate_v1(db: Path) -> tuple[Session, AssistantMessage]:
    """An old-shaped file written by hand: schema v1 (no write times), WAL mode, one session with an unfinished
    assistant message and a part, part of it still in the WAL when the file is copied."""
    db.parent.mkdir(parents=True, exist_ok=True)
    session = make_session()
    user = make_user(session.id)
    assistant = make_assistant(session.id, user.id, completed=None)
    part = TextPart(id=ascending("prt"), sessionID=session.id, messageID=assistant.id, text="old")
    raw = sqlite3.connect(db)
    raw.execute("PRAGMA journal_mode = WAL")
    raw.executescript(V1_SCHEMA)
    raw.execute(
        "INSERT INTO session VALUES (?, NULL, ?, ?, ?, ?, ?)",
        (session.id, session.directory, session.projectID, 500, 1_000, session.model_dump_json(exclude_none=True)),
    )
    for message in (user, assistant):
        raw.execute(
            "INSERT INTO message VALUES (?, ?, ?, ?)",
            (message.id, session.id, message.time.created, message.model_dump_json(exclude_none=True)),
        )
    raw.execute(
        "INSERT INTO part VALUES (?, ?, ?, ?)",
        (part.id, assistant.id, session.id, part.model_dump_json(exclude_none=True)),
    )
    raw.commit()
    raw.close()
    return session, assistant


def test_migration_backs_up_first_and_keeps_sessions(db: Path) -> None:
    session, assistant = fabricate_v1(db)
    with SQLiteStore(db) as store:
        assert store.backup is not None
        assert store.backup.name.startswith("opencode.db.bak-v1-")
        assert store.backup.parent == db.parent
        assert dump(store.get_session(session.id)) == dump(session)
        assert len(store.list_messages(session.id)) == 2
        assert store.recover_interrupted(10_000) == [assistant.id]  # the new column and index work
    with sqlite3.connect(db) as raw:
        assert raw.execute("PRAGMA user_version").fetchone() == (migrations.LATEST,)
    with sqlite3.connect(store.backup) as copy:
        assert copy.execute("PRAGMA user_version").fetchone() == (1,)
        assert copy.execute("SELECT id FROM session").fetchall() == [(session.id,)]
        assert copy.execute("SELECT count(*) FROM part").fetchone() == (1,)
    with SQLiteStore(db) as again:
        assert again.backup is None  # already current: no second copy


def test_new_file_needs_no_backup(db: Path) -> None:
    with SQLiteStore(db) as store:
        assert store.backup is None
    assert [p.name for p in db.parent.iterdir() if ".bak-" in p.name] == []


def test_migration_that_loses_sessions_is_rolled_back(db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    session, _ = fabricate_v1(db)
    real = migrations.MIGRATIONS[1]

    def lossy(conn: sqlite3.Connection) -> None:
        real(conn)
        conn.execute("DELETE FROM session")

    monkeypatch.setattr(migrations, "MIGRATIONS", [migrations.MIGRATIONS[0], lossy])
    with pytest.raises(StoreError, match=r"session count \(1 -> 0\).*opencode\.db\.bak-v1-"):
        SQLiteStore(db)
    with sqlite3.connect(db) as raw:
        assert raw.execute("PRAGMA user_version").fetchone() == (1,)
        assert raw.execute("SELECT id FROM session").fetchall() == [(session.id,)]


def test_newer_database_is_refused_untouched(db: Path) -> None:
    db.parent.mkdir(parents=True)
    with sqlite3.connect(db) as raw:
        raw.execute("CREATE TABLE future (x)")
        raw.execute("PRAGMA user_version = 99")
    raw.close()
    before = db.read_bytes()
    with pytest.raises(StoreError, match=r"created by a newer OpenCode.*upgrade") as info:
        SQLiteStore(db)
    assert str(db) in str(info.value)
    assert db.read_bytes() == before


def test_garbage_file_is_refused_with_one_line_and_left_alone(db: Path) -> None:
    db.parent.mkdir(parents=True)
    garbage = b"this is not a database\n" * 200
    db.write_bytes(garbage)
    with pytest.raises(StoreError) as info:
        SQLiteStore(db)
    message = str(info.value)
    assert "\n" not in message
    assert str(db) in message
    assert db.read_bytes() == garbage
    assert sorted(p.name for p in db.parent.iterdir()) == ["opencode.db"]


def test_corrupt_sqlite_file_is_refused(db: Path) -> None:
    with SQLiteStore(db) as store:
        store.put_session(make_session())
    data = bytearray(db.read_bytes())
    data[100:4096] = b"\xff" * (4096 - 100)  # keep the header, wreck the schema page
    db.write_bytes(bytes(data))
    with pytest.raises(StoreError) as info:
        SQLiteStore(db)
    assert str(db) in str(info.value)
    assert "\n" not in str(info.value)


# --- recovery -------------------------------------------------------------------------------------


def test_recover_interrupted_closes_unfinished_messages_only(store: SQLiteStore) -> None:
    session = make_session()
    store.put_session(session)
    user = make_user(session.id)
    finished = make_assistant(session.id, user.id, created=2_000, completed=3_000)
    failed = make_assistant(session.id, user.id, created=3_500, completed=None)
    failed.error = MessageError(name="APIError", data={"message": "500"})
    unfinished = make_assistant(session.id, user.id, created=4_000, completed=None)
    for message in (user, finished, failed, unfinished):
        store.put_message(message)
    done_tool = ToolPart(
        id=ascending("prt"),
        sessionID=session.id,
        messageID=finished.id,
        callID="c0",
        tool="read",
        state=ToolStateCompleted(output="ok", title="t", time=ToolTimeRange(start=1, end=2)),
    )
    store.put_part(done_tool)
    running = ToolPart(
        id=ascending("prt"),
        sessionID=session.id,
        messageID=unfinished.id,
        callID="c1",
        tool="bash",
        state=ToolStateRunning(input={"command": "sleep 100"}, title="sleep", time={"start": 4_100}),
    )
    pending = ToolPart(id=ascending("prt"), sessionID=session.id, messageID=unfinished.id, callID="c2", tool="read")
    text = TextPart(id=ascending("prt"), sessionID=session.id, messageID=unfinished.id, text="partial")
    for part in (running, pending, text):
        store.put_part(part)

    assert store.recover_interrupted(9_000) == [unfinished.id]

    got = store.get_message(session.id, unfinished.id)
    assert isinstance(got.info, AssistantMessage)
    assert got.info.error is not None
    assert got.info.error.name == "MessageAbortedError"
    assert got.info.error.message == sqlite_store.INTERRUPTED
    assert got.info.time.completed == 9_000
    tools = {p.callID: p.state for p in got.parts if isinstance(p, ToolPart)}
    assert dump(tools["c1"]) == {
        "status": "error",
        "input": {"command": "sleep 100"},
        "error": "interrupted",
        "time": {"start": 4_100, "end": 9_000},
    }
    assert dump(tools["c2"])["time"] == {"start": 9_000, "end": 9_000}
    assert [p.text for p in got.parts if isinstance(p, TextPart)] == ["partial"]
    assert dump(store.get_message(session.id, finished.id).info) == dump(finished)
    assert dump(store.get_message(session.id, finished.id).parts[0]) == dump(done_tool)
    assert dump(store.get_message(session.id, failed.id).info) == dump(failed)
    assert store.recover_interrupted(10_000) == []


def test_recover_interrupted_spares_recent_writes_of_a_live_process(store: SQLiteStore) -> None:
    session = make_session()
    store.put_session(session)
    user = make_user(session.id)
    store.put_message(user)
    live = make_assistant(session.id, user.id, completed=None)
    store.put_message(live)
    now = sqlite_store._now()
    assert store.recover_interrupted(now, older_than_ms=60_000) == []
    assert store.recover_interrupted(now + 61_000, older_than_ms=60_000) == [live.id]


def test_recovery_query_uses_the_partial_index(store: SQLiteStore, db: Path) -> None:
    with sqlite3.connect(db) as raw:
        plan = raw.execute(f"EXPLAIN QUERY PLAN SELECT id FROM message WHERE {migrations.UNFINISHED}").fetchall()
    assert any("message_unfinished" in row[-1] for row in plan)


def test_sqlite_store_is_a_store(store: SQLiteStore) -> None:
    typed: Store = store  # checked by mypy: the class satisfies the protocol
    assert typed.list_sessions() == []


def test_user_version_matches_migrations() -> None:
    assert migrations.LATEST == len(migrations.MIGRATIONS) == 3
    assert os.path.basename(sqlite_store.default_path()) == "opencode.db"
