"""The store interface: sessions, messages and parts, narrow enough for SQLite or PostgreSQL.

The engine writes every part as it completes (and streamed text at least once a second), so
the store is the source of truth: the loop reads the conversation back from it at each step.
Writes are upserts keyed by id; reads return pydantic values from `opencode.session.model`.
A session's todo list (the `todowrite` tool) is stored beside it and replaced as a whole.
Implementations: `opencode.session.sqlite.SQLiteStore` (the default, WAL, one file under the
XDG data dir).
"""

from __future__ import annotations

from typing import Protocol

from opencode.session.model import Message, MessageWithParts, Part, Session, Todo


class StoreError(Exception):
    """The store cannot be opened or written (the message says which file and why)."""


class NotFound(StoreError):
    """No session / message with that id."""


class Store(Protocol):
    # sessions
    def put_session(self, session: Session) -> None: ...

    def get_session(self, session_id: str) -> Session:
        """Raises NotFound."""
        ...

    def list_sessions(
        self,
        *,
        limit: int | None = None,
        directory: str | None = None,
        parent_id: str | None = None,
        roots: bool = False,
    ) -> list[Session]:
        """Newest updated first. `roots` leaves out child (subagent) sessions."""
        ...

    def delete_session(self, session_id: str) -> None:
        """Deletes the session, its messages and parts, and its child sessions. Raises NotFound."""
        ...

    # messages
    def put_message(self, message: Message) -> None: ...

    def get_message(self, session_id: str, message_id: str) -> MessageWithParts:
        """Raises NotFound."""
        ...

    def list_messages(self, session_id: str) -> list[MessageWithParts]:
        """Every message of the session with its parts, oldest first (parts in creation order)."""
        ...

    def delete_message(self, session_id: str, message_id: str) -> None: ...

    # parts
    def put_part(self, part: Part) -> None: ...

    def delete_part(self, session_id: str, message_id: str, part_id: str) -> None: ...

    # todos
    def get_todos(self, session_id: str) -> list[Todo]:
        """The session's todo list in its order; empty when it has none."""
        ...

    def put_todos(self, session_id: str, todos: list[Todo]) -> None:
        """Replace the session's todo list. Raises NotFound when the session does not exist."""
        ...

    def close(self) -> None: ...
