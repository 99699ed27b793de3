"""Agents, permissions, subagents and undo through the real loop, against the scripted model server."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from opencode.bus import BusEvent, PermissionAsked
from opencode.session.model import ToolPart
from opencode.testing.model_server import Reply, ScriptedModelServer, Text, ToolCall
from tests.agent.test_engine import make_engine, tool_parts


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    (root / ".git").mkdir(parents=True)
    return root


BYPASSES = [
    "rm -rf victim",
    "echo ok && rm -rf victim",
    "(rm -rf victim)",
    "echo $(rm -rf victim)",
    "ls | xargs rm -rf victim",
    'bash -c "rm -rf victim"',
    "env rm -rf victim",
    "command rm -rf victim",
    "/bin/rm -rf victim",
    "sudo rm -rf victim",
    "x=rm; $x -rf victim",
]


@pytest.mark.parametrize("command", BYPASSES)
async def test_rm_deny_rule_holds_through_the_loop(
    command: str, project: Path, model_server: ScriptedModelServer
) -> None:
    engine, model = make_engine(project, model_server, extra={"permission": {"bash": {"rm *": "deny"}}})
    (project / "victim").mkdir()
    (project / "victim" / "data.txt").write_text("precious\n")
    model_server.push(Reply([ToolCall("bash", {"command": command, "description": "clean"})]), Reply([Text("ok")]))
    session = engine.create_session()
    await engine.prompt(session.id, "clean up", model=model)
    assert (project / "victim" / "data.txt").read_text() == "precious\n"
    (part,) = tool_parts(engine, session.id)
    assert part.state.status == "error"
    told = json.dumps(model_server.requests[-1].json)
    if command.startswith("x=rm"):
        assert "ask" in part.state.error or "permission" in part.state.error  # type: ignore[union-attr]
    else:
        assert "rm *" in part.state.error  # type: ignore[union-attr]
        assert "rm *" in told


@pytest.mark.parametrize("agent", ["plan", "review", "ask"])
async def test_read_only_agents_cannot_edit(agent: str, project: Path, model_server: ScriptedModelServer) -> None:
    engine, model = make_engine(project, model_server)
    (project / "app.py").write_text("x = 1\n")
    model_server.push(
        Reply([ToolCall("read", {"filePath": "app.py"})]),
        Reply([ToolCall("edit", {"filePath": "app.py", "oldString": "x = 1", "newString": "x = 2"})]),
        Reply([ToolCall("write", {"filePath": "new.py", "content": "y = 1\n"})]),
        Reply([Text("could not edit")]),
    )
    session = engine.create_session()
    await engine.prompt(session.id, "change x", model=model, agent=agent)
    assert (project / "app.py").read_text() == "x = 1\n"
    assert not (project / "new.py").exists()
    states = [p.state.status for p in tool_parts(engine, session.id)]
    assert states == ["completed", "error", "error"]


@pytest.mark.parametrize("path", ["../outside.txt", "link/outside.txt"], ids=["dotdot", "symlink"])
async def test_external_paths_are_asked_and_rejection_leaves_them_untouched(
    path: str, project: Path, tmp_path: Path, model_server: ScriptedModelServer
) -> None:
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (project / "link").symlink_to(outside)
    target = (project / path).resolve()
    engine, model = make_engine(project, model_server)
    asked: list[BusEvent] = []
    engine.bus.on(lambda e: asked.append(e) if isinstance(e, PermissionAsked) else None)
    model_server.push(
        Reply([ToolCall("write", {"filePath": path, "content": "should not land\n"})]), Reply([Text("ok")])
    )
    session = engine.create_session()
    await engine.prompt(session.id, "write outside", model=model)
    assert not target.exists()
    (part,) = tool_parts(engine, session.id)
    assert part.state.status == "error"
    assert [e.permission for e in asked] == ["external_directory"]  # type: ignore[attr-defined]


async def test_agents_from_markdown_and_config_run_with_their_prompt_and_permissions(
    project: Path, model_server: ScriptedModelServer
) -> None:
    agent_dir = project / ".opencode" / "agent"
    agent_dir.mkdir(parents=True)
    (agent_dir / "docs-writer.md").write_text(
        "---\ndescription: Writes docs\nmode: primary\npermission:\n  bash: deny\n---\nYou write documentation only.\n"
    )
    extra = {"agent": {"tester": {"mode": "primary", "prompt": "You only run tests.", "permission": {"edit": "deny"}}}}
    engine, model = make_engine(project, model_server, extra=extra)
    model_server.push(Reply([ToolCall("bash", {"command": "echo hi", "description": "x"})]), Reply([Text("done")]))
    session = engine.create_session()
    await engine.prompt(session.id, "go", model=model, agent="docs-writer")
    assert "You write documentation only." in json.dumps(model_server.requests[0].json["messages"][0])
    assert tool_parts(engine, session.id)[0].state.status == "error"

    model_server.push(Reply([ToolCall("write", {"filePath": "t.py", "content": "x"})]), Reply([Text("done")]))
    session = engine.create_session()
    await engine.prompt(session.id, "go", model=model, agent="tester")
    assert "You only run tests." in json.dumps(model_server.requests[2].json["messages"][0])
    assert not (project / "t.py").exists()


async def test_orchestrator_delegates_two_subtasks_to_child_sessions(
    project: Path, model_server: ScriptedModelServer
) -> None:
    engine, model = make_engine(project, model_server)
    model_server.push(
        Reply(
            [
                ToolCall(
                    "task", {"description": "count files", "prompt": "How many files?", "subagent_type": "explore"}
                ),
                ToolCall("task", {"description": "read docs", "prompt": "Summarise docs", "subagent_type": "general"}),
            ]
        ),
        Reply([Text("child answer A")]),
        Reply([Text("child answer B")]),
        Reply([Text("Combined: A and B")]),
    )
    session = engine.create_session()
    result = await engine.prompt(session.id, "plan the work", model=model, agent="orchestrator")
    assert result.text == "Combined: A and B"
    children = engine.store.list_sessions(parent_id=session.id)
    assert len(children) == 2 and all(c.parentID == session.id for c in children)
    parts = [p for p in tool_parts(engine, session.id) if isinstance(p, ToolPart)]
    outputs = sorted(p.state.output for p in parts)  # type: ignore[union-attr]
    assert any("child answer A" in o for o in outputs) and any("child answer B" in o for o in outputs)
    assert all("<task_metadata>session_id: ses_" in o for o in outputs)
    final_request = json.dumps(model_server.requests[-1].json)
    assert "child answer A" in final_request and "child answer B" in final_request
    # The children's cost counts in the parent's.
    own = sum(m.info.cost for m in engine.store.list_messages(session.id) if m.info.role == "assistant")
    children_cost = sum(engine.session_cost(c.id) for c in children)
    assert children_cost > 0
    assert engine.session_cost(session.id) == pytest.approx(own + children_cost)
    assert sorted(p.state.metadata["cost"] for p in parts) == sorted(engine.session_cost(c.id) for c in children)  # type: ignore[union-attr]


def _git(project: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=project, check=True, capture_output=True, text=True).stdout


async def test_undo_restores_three_edits_and_a_creation_and_redo_brings_them_back(
    tmp_path: Path, model_server: ScriptedModelServer
) -> None:
    project = tmp_path / "repo"
    project.mkdir()
    _git(project, "init", "-q")
    for name in ("a.py", "b.py", "c.py", "mine.txt"):
        (project / name).write_text(f"{name} original\n")
    _git(project, "add", ".")
    _git(project, "-c", "user.email=t@t", "-c", "user.name=t", "commit", "-qm", "init")
    (project / "mine.txt").write_text("the user's own uncommitted edit\n")
    status_before = _git(project, "status", "--porcelain")
    engine, model = make_engine(project, model_server)
    edits = [
        ToolCall("bash", {"command": "echo changed-a > a.py && echo changed-b > b.py", "description": "edit"}),
        ToolCall("write", {"filePath": "c.py", "content": "changed-c\n"}),
        ToolCall("write", {"filePath": "new/created.py", "content": "created\n"}),
    ]
    model_server.push(Reply([ToolCall("read", {"filePath": "c.py"})]), Reply(edits), Reply([Text("done")]))
    session = engine.create_session()
    await engine.prompt(session.id, "change things", model=model)
    agent_version = {n: (project / n).read_text() for n in ("a.py", "b.py", "c.py", "new/created.py")}
    assert agent_version["c.py"] == "changed-c\n"
    user_message = engine.store.list_messages(session.id)[0].info.id

    await engine.revert(session.id, user_message)
    for name in ("a.py", "b.py", "c.py"):
        assert (project / name).read_text() == f"{name} original\n"
    assert not (project / "new" / "created.py").exists()
    assert (project / "mine.txt").read_text() == "the user's own uncommitted edit\n"
    assert _git(project, "status", "--porcelain") == status_before

    await engine.unrevert(session.id)
    assert {n: (project / n).read_text() for n in agent_version} == agent_version
    assert (project / "mine.txt").read_text() == "the user's own uncommitted edit\n"
