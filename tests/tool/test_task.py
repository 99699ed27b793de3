"""The `task` tool with a fake subagent runner: output, metadata, errors and the permission ask."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest

from opencode.tool.registry import ToolRegistry
from opencode.tool.task import TaskParams, TaskTool
from opencode.tool.tool import PermissionRequest, SubagentCall, SubagentResult, ToolContext, ToolError

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
    assert set(spec.parameters["required"]) == {"description", "prompt", "subagent_type"}
    assert "subagent" in spec.description
    ctx.run_subagent = runner(SubagentResult(session_id="ses_1", text="ok"), [])
    result = await registry.execute("task", {"description": "d", "prompt": "p", "subagent_type": "general"}, ctx)
    assert result.metadata["sessionId"] == "ses_1"
    with pytest.raises(ToolError, match="subagent_type: required"):
        await registry.execute("task", {"description": "d", "prompt": "p"}, ctx)
