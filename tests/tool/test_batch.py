"""The `batch` tool with the engine's per-call hook faked: concurrency, labels, isolation, refusals."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from opencode.tool.registry import ToolRegistry
from opencode.tool.tool import Aborted, Attachment, ToolContext, ToolError, ToolResult


def hook(ctx: ToolContext, behaviour: dict[str, Any]) -> list[tuple[int, str, dict[str, Any]]]:
    calls: list[tuple[int, str, dict[str, Any]]] = []

    async def run_tool(index: int, name: str, arguments: dict[str, Any]) -> ToolResult:
        calls.append((index, name, arguments))
        action = behaviour[name]
        if isinstance(action, BaseException):
            raise action
        await asyncio.sleep(float(arguments.get("sleep", 0)))
        return action(arguments) if callable(action) else action

    ctx.run_tool = run_tool
    return calls


async def test_calls_run_together_and_each_result_is_labelled(ctx: ToolContext) -> None:
    image = Attachment("image/png", b"\x89PNG", "a.png")
    calls = hook(
        ctx,
        {
            "read": lambda a: ToolResult(f"contents of {a['filePath']}", title=a["filePath"], attachments=[image]),
            "grep": ToolError("grep: bad pattern"),
            "bash": RuntimeError("exploded"),
            "list": Aborted("aborted"),
        },
    )
    tool_calls = [
        {"tool": "read", "parameters": {"filePath": "a.py", "sleep": 0.3}},
        {"tool": "read", "parameters": {"filePath": 'b "q".py', "sleep": 0.3}},
        {"tool": "grep", "parameters": {"pattern": "("}},
        {"tool": " bash ", "parameters": {"command": "x"}},
        {"tool": "list"},
        {"tool": "batch", "parameters": {"tool_calls": []}},
        {"tool": "plan_exit", "parameters": {"plan": "p"}},
    ]
    registry = ToolRegistry.builtin()
    started = asyncio.get_running_loop().time()
    result = await registry.execute("batch", {"tool_calls": tool_calls}, ctx)
    assert asyncio.get_running_loop().time() - started < 0.55  # the two 0.3 s reads overlapped
    assert [c[:2] for c in calls] == [(1, "read"), (2, "read"), (3, "grep"), (4, "bash"), (5, "list")]
    assert calls[4][2] == {}
    assert result.title == "Batch: 2/7 succeeded"
    assert result.output.splitlines()[0] == "Ran 7 calls: 2 succeeded, 5 failed."
    assert (
        '<result index="1" tool="read" status="completed" title="a.py">\ncontents of a.py\n</result>' in result.output
    )
    assert 'title="b &quot;q&quot;.py"' in result.output
    assert '<result index="3" tool="grep" status="error">\ngrep: bad pattern\n</result>' in result.output
    assert "tool 'bash' failed: RuntimeError: exploded" in result.output
    assert '<result index="5" tool="list" status="error">\naborted\n</result>' in result.output
    assert "batch cannot run inside batch" in result.output and "call it on its own" in result.output
    details = result.metadata["calls"]
    assert [d["status"] for d in details] == ["completed"] * 2 + ["error"] * 5
    assert details[0]["title"] == "a.py" and details[2]["error"] == "grep: bad pattern"
    assert all(d["time"]["end"] >= d["time"]["start"] for d in details)
    assert (result.metadata["successful"], result.metadata["failed"]) == (2, 5)
    assert result.attachments == [image, image]


async def test_an_aborted_batch_is_aborted(ctx: ToolContext) -> None:
    async def run_tool(index: int, name: str, arguments: dict[str, Any]) -> ToolResult:
        ctx.abort.set()
        raise Aborted("aborted")

    ctx.run_tool = run_tool
    with pytest.raises(Aborted):
        await ToolRegistry.builtin().execute("batch", {"tool_calls": [{"tool": "bash"}]}, ctx)


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        ({"tool_calls": []}, "tool_calls: list should have at least 1 item"),
        ({"tool_calls": [{"tool": "read"}] * 11}, "tool_calls: list should have at most 10 items"),
        ({"tool_calls": [{"parameters": {}}]}, "tool_calls.0.tool: required"),
        ({"tool_calls": [{"tool": "read", "parameters": "a.py"}]}, "tool_calls.0.parameters: expected an object"),
        ({"tool_calls": "read a.py"}, "tool_calls: expected an array"),
    ],
)
async def test_bad_payloads_are_explained(arguments: dict[str, Any], expected: str, ctx: ToolContext) -> None:
    calls = hook(ctx, {})
    with pytest.raises(ToolError, match=expected):
        await ToolRegistry.builtin().execute("batch", arguments, ctx)
    assert calls == []


async def test_without_the_engine_batch_is_unavailable(ctx: ToolContext) -> None:
    with pytest.raises(ToolError, match="make the calls one by one"):
        await ToolRegistry.builtin().execute("batch", {"tool_calls": [{"tool": "read"}]}, ctx)
