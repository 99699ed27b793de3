"""The `task` tool with fake engine hooks: output, metadata, errors, the permission ask and background actions."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest

from opencode.tool.registry import ToolRegistry
from opencode.tool.task import TaskParams, TaskTool
from opencode.tool.tool import (
    PermissionRequest,
    SubagentCall,
    SubagentResult,
    SubagentStatus,
    ToolContext,
    ToolError,
)

PARAMS = TaskParams(description="Find the config loader", prompt="Where is config loaded?", subagent_type="explore")


def runner(result: SubagentResult, calls: list[SubagentCall]) -> Callable[[SubagentCall], Awaitable[SubagentResult]]:
    async def run(call: SubagentCall) -> SubagentResult:
        calls.append(call)
        return result

    return run


async def test_returns_the_final_text_with_the_child_session(ctx: ToolContext) -> None:
    calls: list[SubagentCall] = []
    ctx.run_subagent = runner(SubagentResult(session_id="ses_child", text="It is in config/load.py.\n"), calls)
    result = await TaskTool().run(PARAMS, ctx)
    assert calls == [
        SubagentCall(agent="explore", prompt="Where is config loaded?", description="Find the config loader")
    ]
    assert result.output == "It is in config/load.py.\n\n<task_metadata>session_id: ses_child</task_metadata>"
    assert result.title == "Find the config loader"
    assert result.metadata == {"sessionId": "ses_child", "agent": "explore", "cost": 0.0}


async def test_an_empty_answer_is_said_so(ctx: ToolContext) -> None:
    ctx.run_subagent = runner(SubagentResult(session_id="ses_child", text="  "), [])
    result = await TaskTool().run(PARAMS, ctx)
    assert result.output.startswith("(the subagent finished without a final message)")


async def test_without_a_runner_subagents_are_not_available(ctx: ToolContext) -> None:
    with pytest.raises(ToolError, match="subagents are not available here"):
        await TaskTool().run(PARAMS, ctx)


async def test_a_subagent_error_is_a_tool_error(ctx: ToolContext) -> None:
    ctx.run_subagent = runner(SubagentResult(session_id="ses_child", text="", error="unknown agent 'explorer'"), [])
    with pytest.raises(ToolError) as caught:
        await TaskTool().run(PARAMS, ctx)
    assert "unknown agent 'explorer'" in str(caught.value) and "ses_child" in str(caught.value)


async def test_the_task_permission_is_asked_with_the_subagent_name(ctx: ToolContext) -> None:
    asked: list[PermissionRequest] = []
    calls: list[SubagentCall] = []

    async def reject(request: PermissionRequest) -> None:
        asked.append(request)
        raise ToolError("the user rejected this call")

    ctx.ask = reject
    ctx.run_subagent = runner(SubagentResult(session_id="ses_child", text="done"), calls)
    with pytest.raises(ToolError, match="rejected"):
        await TaskTool().run(PARAMS, ctx)
    assert [(r.permission, r.patterns, r.always) for r in asked] == [("task", ["explore"], ["*"])]
    assert calls == []  # a refused subagent never starts


async def test_registered_and_validated_through_the_registry(ctx: ToolContext) -> None:
    registry = ToolRegistry.builtin()
    assert "task" in registry.names()
    spec = next(s for s in registry.specs() if s.name == "task")
    # Only a start needs description, prompt and subagent_type, so the schema requires none of them.
    assert {"description", "prompt", "subagent_type", "background", "action", "task_id"} == set(
        spec.parameters["properties"]
    )
    assert spec.parameters["properties"]["action"]["enum"] == ["start", "status", "wait", "cancel"]
    assert "subagent" in spec.description and "background" in spec.description
    ctx.run_subagent = runner(SubagentResult(session_id="ses_1", text="ok"), [])
    result = await registry.execute("task", {"description": "d", "prompt": "p", "subagent_type": "general"}, ctx)
    assert result.metadata["sessionId"] == "ses_1"
    with pytest.raises(ToolError, match="subagent_type is required to start a task"):
        await registry.execute("task", {"description": "d", "prompt": "p"}, ctx)
    with pytest.raises(ToolError, match="action: input should be 'start', 'status', 'wait' or 'cancel'"):
        await registry.execute("task", {"action": "poll", "task_id": "ses_1"}, ctx)
    with pytest.raises(ToolError, match="background: expected a boolean"):
        await registry.execute("task", {"prompt": "p", "subagent_type": "general", "background": "soon"}, ctx)


# --- background runs, with fake hooks -------------------------------------------------------------


def status(state: str, **extra: object) -> SubagentStatus:
    return SubagentStatus(session_id="ses_bg", agent="explore", description="Scan", status=state, **extra)  # type: ignore[arg-type]


async def test_background_start_returns_the_task_id_at_once(ctx: ToolContext) -> None:
    started: list[SubagentCall] = []

    async def start(call: SubagentCall) -> str:
        started.append(call)
        return "ses_bg"

    ctx.start_subagent = start
    params = TaskParams(description="Scan", prompt="Find TODOs", subagent_type="explore", background=True)
    result = await TaskTool().run(params, ctx)
    assert started == [SubagentCall(agent="explore", prompt="Find TODOs", description="Scan")]
    assert "task_id: ses_bg" in result.output and '"wait"' in result.output
    assert result.metadata == {"sessionId": "ses_bg", "agent": "explore", "background": True, "status": "running"}


async def test_status_wait_and_cancel_report_each_state(ctx: ToolContext) -> None:
    asked: list[tuple[str, bool]] = []
    answers = [
        status("running", elapsed=12.4),
        status("completed", text="3 TODOs found"),
        status("error", error="boom"),
    ]

    async def lookup(task_id: str, wait: bool) -> SubagentStatus:
        asked.append((task_id, wait))
        return answers.pop(0)

    async def cancel(task_id: str) -> SubagentStatus:
        asked.append((task_id, False))
        return status("cancelled", error="cancelled by the model")

    ctx.subagent_status, ctx.cancel_subagent = lookup, cancel
    tool = TaskTool()
    running = await tool.run(TaskParams(action="status", task_id="ses_bg"), ctx)
    assert "still running (12 s so far)" in running.output and running.metadata["status"] == "running"
    done = await tool.run(TaskParams(action="wait", task_id=" ses_bg "), ctx)
    assert done.output == "3 TODOs found\n\n<task_metadata>session_id: ses_bg</task_metadata>"
    with pytest.raises(ToolError, match=r"subagent explore failed \(session ses_bg\): boom"):
        await tool.run(TaskParams(action="status", task_id="ses_bg"), ctx)
    cancelled = await tool.run(TaskParams(action="cancel", task_id="ses_bg"), ctx)
    assert cancelled.output.startswith("Cancelled task ses_bg") and cancelled.metadata["status"] == "cancelled"
    assert asked == [("ses_bg", False), ("ses_bg", True), ("ses_bg", False), ("ses_bg", False)]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        (TaskParams(action="status"), 'action "status" needs task_id'),
        (TaskParams(action="cancel", task_id="ses_x"), "background subagents are not available here"),
        (TaskParams(prompt="p", subagent_type="explore", task_id="ses_x"), "task_id is only for action"),
        (TaskParams(prompt="p", subagent_type="explore", background=True), "background subagents are not available"),
    ],
    ids=["no-task-id", "no-hook", "task-id-on-start", "background-without-hook"],
)
async def test_bad_background_calls_are_explained(params: TaskParams, expected: str, ctx: ToolContext) -> None:
    with pytest.raises(ToolError, match=expected):
        await TaskTool().run(params, ctx)
