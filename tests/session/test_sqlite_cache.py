"""The SQLite store's read cache: every read equals a fresh read of the file, whoever wrote it."""

from __future__ import annotations

from pathlib import Path

from opencode.id import ascending
from opencode.session.model import MessageWithParts, PartTime, TextPart
from opencode.session.sqlite import SQLiteStore
from tests.session.test_sqlite import make_assistant, make_session, make_user


def text(session_id: str, message_id: str, value: str) -> TextPart:
    return TextPart(id=ascending("prt"), sessionID=session_id, messageID=message_id, text=value, time=PartTime(start=1))


def fresh(path: Path, session_id: str) -> list[MessageWithParts]:
    with SQLiteStore(path) as other:
        return other.list_messages(session_id)


def dump(messages: list[MessageWithParts]) -> list[dict[str, object]]:
    return [m.model_dump(mode="json") for m in messages]


def test_own_writes_are_read_back_and_unchanged_rows_are_not_parsed_again(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    with SQLiteStore(path) as store:
        session = make_session()
        store.put_session(session)
        user = make_user(session.id)
        store.put_message(user)
        first = text(session.id, user.id, "hello")
        store.put_part(first)
        before = store.list_messages(session.id)
        assert [p.text for p in before[0].parts] == ["hello"]  # type: ignore[union-attr]

        reply = make_assistant(session.id, user.id)
        store.put_message(reply)
        streamed = text(session.id, reply.id, "partial")
        store.put_part(streamed)
        streamed.text = "partial, then the rest"
        store.put_part(streamed)
        after = store.list_messages(session.id)
        assert after[0] is before[0]  # the untouched message is served as it was
        assert dump(after) == dump(fresh(path, session.id))
        assert after[1].parts[0].text == "partial, then the rest"  # type: ignore[union-attr]

        # A message written earlier in time than the last one still lands in the store's order.
        early = make_user(session.id, created=1_500)
        store.put_message(early)
        assert [m.info.id for m in store.list_messages(session.id)] == [user.id, early.id, reply.id]


def test_another_connection_s_writes_are_seen(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    with SQLiteStore(path) as store, SQLiteStore(path) as other:
        session = make_session()
        store.put_session(session)
        user = make_user(session.id)
        store.put_message(user)
        part = text(session.id, user.id, "mine")
        store.put_part(part)
        assert len(store.list_messages(session.id)[0].parts) == 1

        part.text = "changed by the other process"
        other.put_part(part)
        other.put_part(text(session.id, user.id, "added by it"))
        seen = store.list_messages(session.id)
        assert [p.text for p in seen[0].parts] == ["changed by the other process", "added by it"]  # type: ignore[union-attr]
        other.delete_message(session.id, user.id)
        assert store.list_messages(session.id) == []


def test_deletes_and_imports_are_read_back(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    with SQLiteStore(path) as store:
        session = make_session()
        store.put_session(session)
        user = make_user(session.id)
        store.put_message(user)
        keep, drop = text(session.id, user.id, "keep"), text(session.id, user.id, "drop")
        store.put_part(keep)
        store.put_part(drop)
        exported = store.export_session(session.id)
        store.list_messages(session.id)

        store.delete_part(session.id, user.id, drop.id)
        assert [p.id for p in store.list_messages(session.id)[0].parts] == [keep.id]
        store.delete_message(session.id, user.id)
        assert store.list_messages(session.id) == []
        store.import_session(exported)
        assert dump(store.list_messages(session.id)) == dump(exported.messages)
        store.delete_session(session.id)
        assert store.list_messages(session.id) == []
