"""Background subagents (`task` with background, status, wait, cancel) through the real loop.

The parent and the child talk to two scripted model servers (the explore and general subagents
are configured with a model of their own on the second one), so the two conversations, which run at the same
time, each get their own replies in order.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from opencode.agent.engine import Engine
from opencode.config.schema import Config
from opencode.provider.registry import Registry
from opencode.session.model import AssistantMessage, ToolPart, ToolStateCompleted, ToolStateError
from opencode.session.sqlite import SQLiteStore
from opencode.testing.model_server import Reply, ScriptedModelServer, Text, ToolCall
from tests.agent.test_engine import tool_parts


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    (root / ".git").mkdir(parents=True)
    return root


@pytest.fixture(scope="module")
def _child_server() -> Iterator[ScriptedModelServer]:
    with ScriptedModelServer() as server:
        yield server


@pytest.fixture
def child_server(_child_server: ScriptedModelServer) -> Iterator[ScriptedModelServer]:
    _child_server.reset()
    yield _child_server
    _child_server.reset()


def provider(server: ScriptedModelServer) -> dict[str, Any]:
    return {
        "npm": "@ai-sdk/openai-compatible",
        "options": {"baseURL": server.base_url("openai-chat"), "apiKey": server.api_key, "maxRetries": 0},
        "models": {"test-model": {"tool_call": True, "cost": {"input": 3.0, "output": 15.0}}},
    }


def make_engine(project: Path, parent: ScriptedModelServer, child: ScriptedModelServer) -> Engine:
    config = Config.model_validate(
        {
            "provider": {"mine": provider(parent), "kid": provider(child)},
            "agent": {"explore": {"model": "kid/test-model"}, "general": {"model": "kid/test-model"}},
        }
    )
    registry = Registry.load(config, environ={}, credentials={})
    return Engine(cwd=project, config=config, registry=registry, store=SQLiteStore(project.parent / "store.db"))


MODEL = "mine/test-model"
START = {
    "description": "Find TODOs",
    "prompt": "List the TODO comments",
    "subagent_type": "explore",
    "background": True,
}


def task_call(**arguments: Any) -> ToolCall:
    return ToolCall("task", arguments)


def gate() -> ToolCall:
    """A bash call that holds the parent's step until `open_gate`: the test scripts the next steps meanwhile."""
    command = "for i in $(seq 1000); do [ -f .gate ] && break; sleep 0.01; done"
    return ToolCall("bash", {"command": command, "description": "wait for the test"})


async def started_child(engine: Engine, session_id: str) -> str:
    while not engine.store.list_sessions(parent_id=session_id):
        await asyncio.sleep(0.01)
    return child_of(engine, session_id)


def open_gate(project: Path) -> None:
    (project / ".gate").touch()


def child_of(engine: Engine, session_id: str) -> str:
    (child,) = engine.store.list_sessions(parent_id=session_id)
    return child.id


def last_assistant(engine: Engine, session_id: str) -> AssistantMessage:
    infos = [m.info for m in engine.store.list_messages(session_id) if isinstance(m.info, AssistantMessage)]
    return infos[-1]


async def test_start_then_wait_returns_the_childs_answer_and_its_cost_counts(
    project: Path, model_server: ScriptedModelServer, child_server: ScriptedModelServer
) -> None:
    engine = make_engine(project, model_server, child_server)
    child_server.push(Reply([Text("Found 3 TODOs in src/")], delay=0.3))

    model_server.push(Reply([task_call(**START), gate()]))
    session = engine.create_session()
    started = time.monotonic()
    # The parent's second step needs the task id, which exists once the first step runs: script it then.
    task = asyncio.create_task(engine.prompt(session.id, "look for TODOs", model=MODEL))
    child_id = await started_child(engine, session.id)
    model_server.push(Reply([task_call(action="wait", task_id=child_id)]), Reply([Text("There are 3 TODOs.")]))
    open_gate(project)
    result = await asyncio.wait_for(task, 10)

    assert result.text == "There are 3 TODOs."
    start, _, wait = tool_parts(engine, session.id)
    assert isinstance(start.state, ToolStateCompleted) and f"task_id: {child_id}" in start.state.output
    # The start returned before the child's reply (which waits 0.3 s) came.
    assert start.state.time.end - start.state.time.start < 300
    assert isinstance(wait.state, ToolStateCompleted)
    assert wait.state.output == f"Found 3 TODOs in src/\n\n<task_metadata>session_id: {child_id}</task_metadata>"
    assert "Found 3 TODOs in src/" in str(model_server.requests[-1].json)
    assert child_server.requests[0].json["messages"][-1]["content"] == "List the TODO comments"
    assert last_assistant(engine, child_id).agent == "explore"
    child_cost = engine.session_cost(child_id)
    assert child_cost > 0
    own = sum(m.info.cost for m in engine.store.list_messages(session.id) if isinstance(m.info, AssistantMessage))
    assert engine.session_cost(session.id) == pytest.approx(own + child_cost)
    assert wait.state.metadata["cost"] == pytest.approx(child_cost)
    assert time.monotonic() - started < 10


async def test_status_while_running_then_completed(
    project: Path, model_server: ScriptedModelServer, child_server: ScriptedModelServer
) -> None:
    engine = make_engine(project, model_server, child_server)
    child_server.push(Reply([Text("done looking")], delay=0.8))
    model_server.push(Reply([task_call(**START), gate()]))
    session = engine.create_session()
    task = asyncio.create_task(engine.prompt(session.id, "look", model=MODEL))
    child_id = await started_child(engine, session.id)
    model_server.push(
        Reply([task_call(action="status", task_id=child_id)]),
        Reply([task_call(action="wait", task_id=child_id)]),
        Reply([task_call(action="status", task_id=child_id)]),
        Reply([Text("ok")]),
    )
    open_gate(project)
    await asyncio.wait_for(task, 10)
    _, _, running, waited, finished = tool_parts(engine, session.id)
    assert isinstance(running.state, ToolStateCompleted) and "is still running" in running.state.output
    assert running.state.metadata["status"] == "running"
    assert isinstance(waited.state, ToolStateCompleted) and waited.state.output.startswith("done looking")
    assert isinstance(finished.state, ToolStateCompleted) and finished.state.metadata["status"] == "completed"


async def test_cancel_stops_the_childs_running_tool(
    project: Path, model_server: ScriptedModelServer, child_server: ScriptedModelServer
) -> None:
    engine = make_engine(project, model_server, child_server)
    marker = project / "finished.txt"
    child_server.push(
        Reply([ToolCall("bash", {"command": f"sleep 30 && touch {marker}", "description": "wait a long time"})])
    )
    model_server.push(Reply([task_call(**{**START, "subagent_type": "general"}), gate()]))  # general runs bash
    session = engine.create_session()
    task = asyncio.create_task(engine.prompt(session.id, "look", model=MODEL))
    child_id = await started_child(engine, session.id)
    while not any(p.state.status == "running" for p in tool_parts(engine, child_id)):
        await asyncio.sleep(0.02)
    model_server.push(Reply([task_call(action="cancel", task_id=child_id)]), Reply([Text("cancelled it")]))
    open_gate(project)
    started = time.monotonic()
    result = await asyncio.wait_for(task, 10)
    assert time.monotonic() - started < 5
    assert result.text == "cancelled it"
    _, _, cancel = tool_parts(engine, session.id)
    assert isinstance(cancel.state, ToolStateCompleted) and cancel.state.output.startswith(f"Cancelled task {child_id}")
    (bash,) = tool_parts(engine, child_id)
    assert isinstance(bash.state, ToolStateError) and "abort" in bash.state.error
    message = last_assistant(engine, child_id)
    assert message.time.completed is not None
    assert not marker.exists()
    assert engine.background_runs.runs[child_id].task.done()


async def test_runs_still_going_when_the_turn_ends_are_cancelled(
    project: Path, model_server: ScriptedModelServer, child_server: ScriptedModelServer
) -> None:
    engine = make_engine(project, model_server, child_server)
    child_server.push(Reply([Text("too late " * 20)], stall_after=2, stall_seconds=30))
    model_server.push(Reply([task_call(**START)]), Reply([Text("I answered without waiting")]))
    session = engine.create_session()
    started = time.monotonic()
    result = await asyncio.wait_for(engine.prompt(session.id, "look", model=MODEL), 10)
    assert time.monotonic() - started < 5
    assert result.text == "I answered without waiting"
    child_id = child_of(engine, session.id)
    record = engine.background_runs.runs[child_id]
    assert record.task.done()
    status = engine.background_runs.status(record)
    assert status.status == "cancelled" and "parent's turn ended" in (status.error or "")
    message = last_assistant(engine, child_id)
    assert message.error is not None and message.error.name == "MessageAbortedError"
    assert message.time.completed is not None
    # After a restart the store still says what happened to it.
    again = make_engine(project, model_server, child_server)
    stored = again.background_runs.stored(session.id, child_id)
    assert stored.status == "cancelled" and stored.agent == "explore"


async def test_unknown_task_ids_and_finished_children_after_a_restart(
    project: Path, model_server: ScriptedModelServer, child_server: ScriptedModelServer
) -> None:
    engine = make_engine(project, model_server, child_server)
    child_server.push(Reply([Text("all done")]))
    model_server.push(Reply([task_call(**{**START, "background": False})]), Reply([Text("ok")]))
    session = engine.create_session()
    await engine.prompt(session.id, "look", model=MODEL)
    child_id = child_of(engine, session.id)

    again = make_engine(project, model_server, child_server)
    model_server.push(
        Reply([task_call(action="status", task_id=child_id)]),
        Reply([task_call(action="wait", task_id="ses_nope")]),
        Reply([task_call(action="cancel", task_id=child_id)]),
        Reply([Text("ok")]),
    )
    await again.prompt(session.id, "and now?", model=MODEL)
    parts: list[ToolPart] = tool_parts(again, session.id)[1:]
    status, unknown, cancel = parts
    assert isinstance(status.state, ToolStateCompleted) and status.state.output.startswith("all done")
    assert isinstance(unknown.state, ToolStateError) and "no background task 'ses_nope'" in unknown.state.error
    assert isinstance(cancel.state, ToolStateCompleted) and "had already finished" in cancel.state.output
