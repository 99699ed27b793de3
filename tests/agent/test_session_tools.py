"""todowrite/todoread, question, plan_enter/plan_exit and batch through the real loop and store."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from opencode.agent.engine import Engine
from opencode.bus import BusEvent, PermissionAsked, QuestionAsked, QuestionRejected, QuestionReplied, TodoUpdated
from opencode.session.model import AssistantMessage, PatchPart, ToolPart, ToolStateCompleted, ToolStateError
from opencode.session.sqlite import SQLiteStore
from opencode.testing.model_server import Reply, ScriptedModelServer, Text, ToolCall
from opencode.tool.question import NO_FACE
from tests.agent.test_engine import make_engine, tool_parts


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    (root / ".git").mkdir(parents=True)
    return root


def events(engine: Engine, *kinds: type[BusEvent]) -> list[Any]:
    seen: list[Any] = []
    engine.bus.on(lambda e: seen.append(e) if isinstance(e, kinds) else None)
    return seen


def tools_offered(request: Any) -> list[str]:
    return [t["function"]["name"] for t in request.json.get("tools", [])]


def tool_message(request: Any, index: int = 0) -> str:
    return str([m for m in request.json["messages"] if m["role"] == "tool"][index]["content"])


def answer_with(engine: Engine, *replies: list[list[str]] | None) -> list[QuestionAsked]:
    """A face that answers each question.asked with the next reply (None: dismiss), on the next loop turn."""
    engine.questions.interactive = True
    asked: list[QuestionAsked] = []
    queue = list(replies)

    def on_event(event: BusEvent) -> None:
        if isinstance(event, QuestionAsked):
            asked.append(event)
            reply = queue.pop(0)
            loop = asyncio.get_running_loop()
            if reply is None:
                loop.call_soon(engine.reject_question, event.id)
            else:
                loop.call_soon(engine.reply_question, event.id, reply)

    engine.bus.on(on_event)
    return asked


# --- todos ----------------------------------------------------------------------------------------


async def test_todowrite_stores_publishes_and_todoread_reads_back(
    project: Path, model_server: ScriptedModelServer
) -> None:
    engine, model = make_engine(project, model_server)
    updates = events(engine, TodoUpdated)
    todos = [
        {"content": "Read the parser", "status": "completed", "priority": "low", "id": "t1"},
        {"content": "Fix the empty-input bug", "status": "in_progress", "priority": "high", "id": "t2"},
        {"content": "Add a regression test", "status": "pending", "priority": "medium"},
    ]
    model_server.push(
        Reply([ToolCall("todowrite", {"todos": todos})]),
        Reply([ToolCall("todoread", {})]),
        Reply([Text("planned")]),
    )
    session = engine.create_session()
    await engine.prompt(session.id, "fix the parser", model=model)

    stored = [t.model_dump() for t in engine.store.get_todos(session.id)]
    assert stored == [todos[0], todos[1], {**todos[2], "id": "3"}]
    assert [(u.sessionID, u.todos) for u in updates] == [(session.id, stored)]
    write, read = tool_parts(engine, session.id)
    assert isinstance(write.state, ToolStateCompleted) and write.state.title == "2 todos"
    assert json.loads(write.state.output) == stored
    assert isinstance(read.state, ToolStateCompleted) and json.loads(read.state.output) == stored
    assert json.loads(tool_message(model_server.requests[2], 1)) == stored
    # Neither tool changes files: no snapshot and no patch for these steps.
    kinds = [p.type for m in engine.store.list_messages(session.id) for p in m.parts]
    assert "patch" not in kinds
    # The list survives a restart and goes into the export.
    again, _ = make_engine(project, model_server)
    assert [t.model_dump() for t in again.todos(session.id)] == stored
    assert isinstance(again.store, SQLiteStore)
    assert [t.model_dump() for t in again.store.export_session(session.id).todos or []] == stored


async def test_todowrite_with_bad_items_is_a_tool_error(project: Path, model_server: ScriptedModelServer) -> None:
    engine, model = make_engine(project, model_server)
    model_server.push(
        Reply([ToolCall("todowrite", {"todos": [{"content": "x", "status": "done", "priority": "high"}]})]),
        Reply([ToolCall("todowrite", {"todos": [{"content": "a", "status": "pending", "id": "1"}] * 2})]),
        Reply([ToolCall("todowrite", {"todos": "write tests"})]),
        Reply([Text("ok")]),
    )
    session = engine.create_session()
    await engine.prompt(session.id, "plan", model=model)
    errors = [p.state.error for p in tool_parts(engine, session.id) if isinstance(p.state, ToolStateError)]
    assert len(errors) == 3
    assert "todos.0.status: input should be 'pending', 'in_progress', 'completed' or 'cancelled'" in errors[0]
    assert "todo id '1' is used twice" in errors[1]
    assert "todos: expected an array" in errors[2]
    assert engine.store.get_todos(session.id) == []


# --- question -------------------------------------------------------------------------------------

DB_QUESTION = {
    "question": "Which database should the cache use?",
    "header": "Database",
    "options": [
        {"label": "SQLite (Recommended)", "description": "One file, no server"},
        {"label": "Postgres", "description": "Shared by every worker"},
    ],
}


async def test_question_is_answered_by_a_face(project: Path, model_server: ScriptedModelServer) -> None:
    engine, model = make_engine(project, model_server)
    asked = answer_with(engine, [["Postgres"], ["tests", "docs"]])
    replied = events(engine, QuestionReplied)
    scope = {"question": "What else?", "options": [{"label": "tests"}, {"label": "docs"}], "multiple": True}
    model_server.push(
        Reply([ToolCall("question", {"questions": [DB_QUESTION, scope]}, id="call_q")]), Reply([Text("ok")])
    )
    session = engine.create_session()
    await engine.prompt(session.id, "add a cache", model=model)

    (request,) = asked
    assert request.sessionID == session.id and request.tool is not None and request.tool.callID == "call_q"
    assert [q.question for q in request.questions] == ["Which database should the cache use?", "What else?"]
    assert [o.label for o in request.questions[0].options] == ["SQLite (Recommended)", "Postgres"]
    assert request.questions[1].multiple is True
    assert [(r.requestID, r.answers) for r in replied] == [(request.id, [["Postgres"], ["tests", "docs"]])]
    (part,) = tool_parts(engine, session.id)
    assert isinstance(part.state, ToolStateCompleted) and part.state.title == "Asked 2 questions"
    assert part.state.metadata["answers"] == [["Postgres"], ["tests", "docs"]]
    told = tool_message(model_server.requests[-1])
    assert '"Which database should the cache use?" = "Postgres"' in told and '"What else?" = "tests, docs"' in told


async def test_dismissed_question_is_a_tool_error(project: Path, model_server: ScriptedModelServer) -> None:
    engine, model = make_engine(project, model_server)
    answer_with(engine, None)
    rejected = events(engine, QuestionRejected)
    model_server.push(Reply([ToolCall("question", {"questions": [DB_QUESTION]})]), Reply([Text("ok")]))
    session = engine.create_session()
    await engine.prompt(session.id, "add a cache", model=model)
    (part,) = tool_parts(engine, session.id)
    assert isinstance(part.state, ToolStateError) and "dismissed the question" in part.state.error
    assert len(rejected) == 1 and rejected[0].sessionID == session.id


async def test_without_a_face_the_model_is_told_to_decide(project: Path, model_server: ScriptedModelServer) -> None:
    engine, model = make_engine(project, model_server)
    asked = events(engine, QuestionAsked)
    model_server.push(Reply([ToolCall("question", {"questions": [DB_QUESTION]})]), Reply([Text("I chose SQLite")]))
    session = engine.create_session()
    await engine.prompt(session.id, "add a cache", model=model)
    (part,) = tool_parts(engine, session.id)
    assert isinstance(part.state, ToolStateError) and part.state.error == NO_FACE
    assert "decide yourself" in tool_message(model_server.requests[-1])
    assert asked == []


async def test_abort_withdraws_a_pending_question(project: Path, model_server: ScriptedModelServer) -> None:
    engine, model = make_engine(project, model_server)
    engine.questions.interactive = True  # a face that never answers
    asked = events(engine, QuestionAsked)
    rejected = events(engine, QuestionRejected)
    model_server.push(Reply([ToolCall("question", {"questions": [DB_QUESTION]})]))
    session = engine.create_session()
    abort = asyncio.Event()
    task = asyncio.create_task(engine.prompt(session.id, "add a cache", model=model, abort=abort))
    while not asked:
        await asyncio.sleep(0.02)
    assert [q.id for q in engine.questions.pending(session.id)] == [asked[0].id]
    abort.set()
    result = await asyncio.wait_for(task, 5)
    assert [r.requestID for r in rejected] == [asked[0].id]
    assert engine.questions.pending() == []
    (part,) = tool_parts(engine, session.id)
    assert isinstance(part.state, ToolStateError) and "abort" in part.state.error
    assert result.message.time.completed is not None


@pytest.mark.parametrize("subagent", ["general", "helper"])
async def test_subagents_are_not_offered_question_or_plan_tools(
    subagent: str, project: Path, model_server: ScriptedModelServer
) -> None:
    # "helper" is a user's subagent with no tools map of its own: the engine still keeps these from it.
    extra = {"agent": {"helper": {"mode": "subagent", "description": "Helps", "prompt": "You help."}}}
    engine, model = make_engine(project, model_server, extra=extra)
    asked = answer_with(engine)
    model_server.push(
        Reply([ToolCall("task", {"description": "look", "prompt": "Look around", "subagent_type": subagent})]),
        Reply([ToolCall("question", {"questions": [DB_QUESTION]})]),  # the child asks anyway
        Reply([Text("child decided")]),
        Reply([Text("done")]),
    )
    session = engine.create_session()
    await engine.prompt(session.id, "delegate", model=model)
    parent_tools, child_tools = tools_offered(model_server.requests[0]), tools_offered(model_server.requests[1])
    assert {"question", "plan_enter", "task"} <= set(parent_tools)
    assert not {"question", "plan_enter", "plan_exit", "task"} & set(child_tools)
    (child,) = engine.store.list_sessions(parent_id=session.id)
    (part,) = tool_parts(engine, child.id)
    assert isinstance(part.state, ToolStateError) and f"disabled for the {subagent} agent" in part.state.error
    assert asked == [] and engine.questions.pending() == []


# --- plan mode ------------------------------------------------------------------------------------

PLAN_PROMPT = "You are OpenCode in plan mode"


def system_of(request: Any) -> str:
    return str(request.json["messages"][0]["content"])


async def test_plan_enter_switches_the_next_step_and_survives_a_restart(
    project: Path, model_server: ScriptedModelServer
) -> None:
    engine, model = make_engine(project, model_server)
    model_server.push(Reply([ToolCall("plan_enter", {})]), Reply([Text("I will plan first.")]))
    session = engine.create_session()
    await engine.prompt(session.id, "redesign the cache", model=model)
    first, second = model_server.requests
    assert PLAN_PROMPT not in system_of(first) and "write" in tools_offered(first)
    assert PLAN_PROMPT in system_of(second)
    assert not {"write", "edit", "plan_enter"} & set(tools_offered(second)) and "plan_exit" in tools_offered(second)
    agents = [m.info.agent for m in engine.store.list_messages(session.id) if isinstance(m.info, AssistantMessage)]
    assert agents == ["build", "plan"]
    (part,) = tool_parts(engine, session.id)
    assert isinstance(part.state, ToolStateCompleted)
    assert part.state.metadata == {"agentSwitch": "plan", "previousAgent": "build"}

    # A new process on the same store continues the session in plan mode.
    again, _ = make_engine(project, model_server)
    assert again.current_agent(session.id) == "plan" and again.previous_agent(session.id) == "build"
    model_server.push(Reply([Text("still planning")]))
    await again.prompt(session.id, "go on", model=model)
    assert PLAN_PROMPT in system_of(model_server.requests[-1])


async def test_plan_exit_approved_returns_to_the_previous_agent_which_edits(
    project: Path, model_server: ScriptedModelServer
) -> None:
    engine, model = make_engine(project, model_server)
    asked = answer_with(engine, [["Approve"]])
    plan = "## Plan\n1. Create notes.txt with the findings."
    model_server.push(
        Reply([ToolCall("plan_exit", {"plan": plan})]),
        Reply([ToolCall("write", {"filePath": "notes.txt", "content": "findings\n"})]),
        Reply([Text("done")]),
    )
    session = engine.create_session()
    await engine.prompt(session.id, "plan then do it", model=model, agent="plan")
    assert (project / "notes.txt").read_text() == "findings\n"
    (question,) = asked[0].questions
    assert plan in question.question and "switch to the build agent" in question.question
    assert [o.label for o in question.options] == ["Approve", "Keep planning"]
    assert PLAN_PROMPT in system_of(model_server.requests[0])
    assert PLAN_PROMPT not in system_of(model_server.requests[1]) and "write" in tools_offered(model_server.requests[1])
    assert "The user approved the plan" in tool_message(model_server.requests[1])
    assert engine.current_agent(session.id) == "build"


@pytest.mark.parametrize(
    ("reply", "expected"),
    [([["Keep planning"]], "wants to keep planning"), ([["Use Redis instead"]], "said: Use Redis instead")],
    ids=["keep-planning", "feedback"],
)
async def test_plan_exit_not_approved_stays_in_plan(
    reply: list[list[str]], expected: str, project: Path, model_server: ScriptedModelServer
) -> None:
    engine, model = make_engine(project, model_server)
    answer_with(engine, reply)
    model_server.push(Reply([ToolCall("plan_exit", {"plan": "1. Use SQLite."})]), Reply([Text("revising")]))
    session = engine.create_session()
    await engine.prompt(session.id, "plan", model=model, agent="plan")
    assert expected in tool_message(model_server.requests[1])
    assert PLAN_PROMPT in system_of(model_server.requests[1])
    assert engine.current_agent(session.id) == "plan"


async def test_plan_exit_without_a_face_or_outside_plan_is_refused(
    project: Path, model_server: ScriptedModelServer
) -> None:
    engine, model = make_engine(project, model_server)
    model_server.push(Reply([ToolCall("plan_exit", {"plan": "1. Do it."})]), Reply([Text("here is the plan")]))
    session = engine.create_session()
    await engine.prompt(session.id, "plan", model=model, agent="plan")
    (part,) = tool_parts(engine, session.id)
    assert isinstance(part.state, ToolStateError)
    assert "Nobody can approve the plan" in part.state.error and "switch to the build agent" in part.state.error
    assert engine.current_agent(session.id) == "plan"

    model_server.push(Reply([ToolCall("plan_exit", {"plan": "1. Do it."})]), Reply([Text("ok")]))
    other = engine.create_session()
    await engine.prompt(other.id, "go", model=model, agent="build")
    (part,) = tool_parts(engine, other.id)
    assert isinstance(part.state, ToolStateError) and "disabled for the build agent" in part.state.error


# --- batch ----------------------------------------------------------------------------------------


async def test_batch_runs_calls_labels_results_and_isolates_failures(
    project: Path, model_server: ScriptedModelServer
) -> None:
    (project / "a.txt").write_text("alpha\n")
    engine, model = make_engine(project, model_server)
    calls = [
        {"tool": "read", "parameters": {"filePath": "a.txt"}},
        {"tool": "write", "parameters": {"filePath": "made/b.txt", "content": "beta\n"}},
        {"tool": "nosuch", "parameters": {}},
        {"tool": "read", "parameters": {"limit": "lots"}},
        {"tool": "batch", "parameters": {"tool_calls": []}},
        {"tool": "glob", "parameters": {"pattern": "*.txt"}},
    ]
    model_server.push(Reply([ToolCall("batch", {"tool_calls": calls})]), Reply([Text("ok")]))
    session = engine.create_session()
    await engine.prompt(session.id, "look and write", model=model)

    assert (project / "made" / "b.txt").read_text() == "beta\n"
    (part,) = tool_parts(engine, session.id)
    assert isinstance(part.state, ToolStateCompleted) and part.state.title == "Batch: 3/6 succeeded"
    details = part.state.metadata["calls"]
    assert [(d["index"], d["tool"], d["status"]) for d in details] == [
        (1, "read", "completed"),
        (2, "write", "completed"),
        (3, "nosuch", "error"),
        (4, "read", "error"),
        (5, "batch", "error"),
        (6, "glob", "completed"),
    ]
    assert "unknown tool 'nosuch'" in details[2]["error"]
    assert "limit: expected an integer" in details[3]["error"]
    assert "cannot run inside batch" in details[4]["error"]
    told = tool_message(model_server.requests[-1])
    assert told.startswith("Ran 6 calls: 3 succeeded, 3 failed.")
    assert '<result index="1" tool="read" status="completed"' in told and "alpha" in told
    assert '<result index="3" tool="nosuch" status="error">' in told
    # The write was snapshotted like a direct call: its step has a patch naming the file.
    patches = [p for m in engine.store.list_messages(session.id) for p in m.parts if p.type == "patch"]
    assert [p.files for p in patches if isinstance(p, PatchPart)] == [["made/b.txt"]]


async def test_batch_calls_keep_permissions_and_the_agents_tool_set(
    project: Path, tmp_path: Path, model_server: ScriptedModelServer
) -> None:
    engine, model = make_engine(project, model_server, extra={"permission": {"bash": {"rm *": "deny"}}})
    asked = events(engine, PermissionAsked)
    (project / "keep.txt").write_text("keep\n")
    calls = [
        {"tool": "write", "parameters": {"filePath": str(tmp_path / "outside.txt"), "content": "x"}},
        {"tool": "bash", "parameters": {"command": "rm keep.txt", "description": "remove"}},
        {"tool": "bash", "parameters": {"command": "echo fine", "description": "echo"}},
    ]
    model_server.push(Reply([ToolCall("batch", {"tool_calls": calls})]), Reply([Text("ok")]))
    session = engine.create_session()
    await engine.prompt(session.id, "go", model=model)
    assert not (tmp_path / "outside.txt").exists() and (project / "keep.txt").exists()
    assert [a.permission for a in asked] == ["external_directory"]
    (part,) = tool_parts(engine, session.id)
    assert isinstance(part.state, ToolStateCompleted)
    statuses = [(d["status"], d.get("error", "")) for d in part.state.metadata["calls"]]
    assert statuses[0][0] == "error" and "cannot ask the user" in statuses[0][1]
    assert statuses[1][0] == "error" and "rm *" in statuses[1][1]
    assert statuses[2] == ("completed", "")

    # In plan mode the batch cannot reach tools the plan agent does not have.
    model_server.push(
        Reply(
            [
                ToolCall(
                    "batch", {"tool_calls": [{"tool": "write", "parameters": {"filePath": "p.txt", "content": "x"}}]}
                )
            ]
        ),
        Reply([Text("ok")]),
    )
    planning = engine.create_session()
    await engine.prompt(planning.id, "go", model=model, agent="plan")
    assert not (project / "p.txt").exists()
    (part,) = tool_parts(engine, planning.id)
    assert isinstance(part.state, ToolStateCompleted)
    assert part.state.metadata["calls"][0]["error"] == "tool 'write' is not available to the plan agent"


async def test_batch_calls_run_concurrently(project: Path, model_server: ScriptedModelServer) -> None:
    engine, model = make_engine(project, model_server)
    sleep = {"tool": "bash", "parameters": {"command": "sleep 0.5; echo slept", "description": "nap"}}
    model_server.push(Reply([ToolCall("batch", {"tool_calls": [sleep, sleep]})]), Reply([Text("ok")]))
    session = engine.create_session()
    await engine.prompt(session.id, "nap twice", model=model)
    (part,) = tool_parts(engine, session.id)
    assert isinstance(part.state, ToolStateCompleted)
    a, b = (d["time"] for d in part.state.metadata["calls"])
    assert b["start"] < a["end"] and a["start"] < b["end"]
    assert part.state.time.end - part.state.time.start < 950


async def test_batch_repeating_one_call_hits_the_doom_loop_check(
    project: Path, model_server: ScriptedModelServer
) -> None:
    (project / "a.txt").write_text("a\n")
    engine, model = make_engine(project, model_server)
    same = {"tool": "read", "parameters": {"filePath": "a.txt"}}
    model_server.push(Reply([ToolCall("batch", {"tool_calls": [same, same, same]})]), Reply([Text("ok")]))
    session = engine.create_session()
    await engine.prompt(session.id, "read", model=model)
    (part,) = tool_parts(engine, session.id)
    assert isinstance(part.state, ToolStateCompleted)
    details = part.state.metadata["calls"]
    assert [d["status"] for d in details] == ["completed", "completed", "error"]
    assert "3 times in a row" in details[2]["error"]


async def test_batch_with_too_many_or_no_calls_is_refused(project: Path, model_server: ScriptedModelServer) -> None:
    engine, model = make_engine(project, model_server)
    many = [{"tool": "list", "parameters": {}}] * 11
    model_server.push(
        Reply([ToolCall("batch", {"tool_calls": many})]),
        Reply([ToolCall("batch", {"tool_calls": []})]),
        Reply([Text("ok")]),
    )
    session = engine.create_session()
    await engine.prompt(session.id, "list", model=model)
    errors = [p.state.error for p in tool_parts(engine, session.id) if isinstance(p.state, ToolStateError)]
    assert len(errors) == 2
    assert "tool_calls: list should have at most 10 items" in errors[0]
    assert "tool_calls: list should have at least 1 item" in errors[1]
    assert all(isinstance(p, ToolPart) for p in tool_parts(engine, session.id))
