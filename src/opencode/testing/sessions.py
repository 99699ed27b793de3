"""Long stored sessions for tests and benches: `count` messages, user and assistant in turn.

session_id = stored_session(engine, 2000)      # one transaction (the SQLite store's import)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from opencode.agent.engine import Engine
    from opencode.session.model import Part


def stored_session(
    engine: Engine, count: int, *, parent_id: str | None = None, label: str = "message", extra: list[Part] | None = None
) -> str:
    """A session of `count` messages (user and assistant in turn, each with one text part
    "`label` N ..."), written to the store in one transaction; `extra` parts go on the last assistant message."""
    from opencode import id as ids
    from opencode.session.model import (
        AssistantMessage,
        AssistantPath,
        MessageWithParts,
        SessionExport,
        TextPart,
        UserMessage,
    )
    from opencode.session.sqlite import SQLiteStore

    session = engine.create_session(title=f"{label} session", parent_id=parent_id)
    path = AssistantPath(cwd=str(engine.cwd), root=str(engine.cwd))
    items: list[MessageWithParts] = []
    user_id = ""
    for index in range(count):
        message_id = ids.ascending("msg")
        info: UserMessage | AssistantMessage
        if index % 2 == 0:
            user_id = message_id
            info = UserMessage(id=message_id, sessionID=session.id)
            text = f"{label} {index}: a question about the code"
        else:
            info = AssistantMessage(
                id=message_id,
                sessionID=session.id,
                parentID=user_id,
                modelID="test-model",
                providerID="mine",
                path=path,
            )
            text = f"{label} {index}: an answer with **bold** text and `code`"
        parts: list[Part] = [TextPart(id=ids.ascending("prt"), sessionID=session.id, messageID=message_id, text=text)]
        items.append(MessageWithParts(info=info, parts=parts))
    if extra:
        last = next(item for item in reversed(items) if isinstance(item.info, AssistantMessage))
        last.parts.extend(p.model_copy(update={"sessionID": session.id, "messageID": last.info.id}) for p in extra)
    store = engine.store
    if not isinstance(store, SQLiteStore):
        raise TypeError("stored_session needs the SQLite store (it imports the session in one transaction)")
    store.import_session(SessionExport(info=session, messages=items))
    return session.id
