"""A prompt after an undo deletes the undone messages for good, and says so on the bus."""

from __future__ import annotations

import asyncio
from pathlib import Path

from opencode.agent.actions import undo
from opencode.bus import BusEvent, MessageRemoved
from opencode.testing.model_server import Reply, ScriptedModelServer, Text
from tests.agent.test_engine import make_engine, project

__all__ = ["project"]


def test_a_prompt_after_undo_publishes_message_removed_for_the_undone_messages(
    project: Path, model_server: ScriptedModelServer
) -> None:
    engine, model = make_engine(project, model_server)
    model_server.push(Reply([Text("first answer")]), Reply([Text("second answer")]))
    session = engine.create_session()
    seen: list[BusEvent] = []
    engine.bus.on(seen.append)

    async def run() -> None:
        await engine.prompt(session.id, "first question", model=model)
        undone = [m.info.id for m in engine.store.list_messages(session.id)]
        await undo(engine, session.id)
        seen.clear()
        await engine.prompt(session.id, "another question", model=model)
        removed = [e.messageID for e in seen if isinstance(e, MessageRemoved)]
        assert removed == undone
        assert all(m.info.id not in undone for m in engine.store.list_messages(session.id))

    asyncio.run(run())
