"""A custom command with `subtask: true` runs in a child session through the task tool; the parent summarizes."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from opencode.agent.actions import command_turn
from opencode.session.model import TextPart, ToolPart, UserMessage
from opencode.testing.model_server import Reply, ScriptedModelServer, Text
from tests.agent.test_engine import make_engine, project, tool_parts

__all__ = ["project"]


def test_a_subtask_command_runs_in_a_child_session_and_the_parent_summarizes(
    project: Path, model_server: ScriptedModelServer
) -> None:
    command = project / ".opencode" / "command" / "audit.md"
    command.parent.mkdir(parents=True)
    command.write_text(
        "---\ndescription: audit the code\nagent: explore\nsubtask: true\n---\nAudit $ARGUMENTS for bugs.\n"
    )
    engine, model = make_engine(project, model_server)
    model_server.push(Reply([Text("Found 2 bugs in app.py.")]), Reply([Text("The audit found 2 bugs.")]))
    session = engine.create_session()

    async def run() -> object:
        return await command_turn(
            engine, session.id, "audit", "app.py", agent="build", model=model, abort=asyncio.Event()
        )

    result = asyncio.run(run())
    assert getattr(result, "text", None) == "The audit found 2 bugs."
    (child,) = engine.store.list_sessions(parent_id=session.id)
    child_texts = [p.text for m in engine.store.list_messages(child.id) for p in m.parts if isinstance(p, TextPart)]
    assert child_texts == ["Audit app.py for bugs.", "Found 2 bugs in app.py."]
    (task,) = tool_parts(engine, session.id)
    assert task.tool == "task" and task.state.status == "completed"
    assert task.state.input == {
        "description": "audit the code",
        "prompt": "Audit app.py for bugs.",
        "subagent_type": "explore",
    }
    assert "Found 2 bugs in app.py." in task.state.output
    users = [m for m in engine.store.list_messages(session.id) if isinstance(m.info, UserMessage)]
    assert [p.text for p in users[0].parts if isinstance(p, TextPart)] == ["/audit app.py"]
    # The parent's model saw the task's output and the summarize instruction (no model picked the task).
    assert len(model_server.requests) == 2
    parent_request = json.dumps(model_server.requests[1].json["messages"])
    assert "Found 2 bugs in app.py." in parent_request and "Summarize the task tool output" in parent_request
    assert "Audit app.py" not in json.dumps(model_server.requests[1].json["messages"][0])


def test_a_plain_command_runs_in_the_session_itself(project: Path, model_server: ScriptedModelServer) -> None:
    command = project / ".opencode" / "command" / "hello.md"
    command.parent.mkdir(parents=True)
    command.write_text("Say hello to $1.\n")
    engine, model = make_engine(project, model_server)
    model_server.push(Reply([Text("Hello, Ada!")]))
    session = engine.create_session()
    asyncio.run(command_turn(engine, session.id, "hello", "Ada", agent="build", model=model, abort=asyncio.Event()))
    assert engine.store.list_sessions(parent_id=session.id) == []
    assert not [p for p in tool_parts(engine, session.id) if isinstance(p, ToolPart)]
