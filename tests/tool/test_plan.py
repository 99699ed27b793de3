"""`plan_enter` / `plan_exit` with the engine's hooks faked: the switch, the approval question, refusals."""

from __future__ import annotations

import pytest

from opencode.bus import QuestionInfo
from opencode.tool.registry import ToolRegistry
from opencode.tool.tool import ToolContext, ToolError


def hooks(ctx: ToolContext, answers: list[list[str]] | None = None) -> tuple[list[str], list[QuestionInfo]]:
    switched: list[str] = []
    asked: list[QuestionInfo] = []

    async def switch(name: str) -> None:
        switched.append(name)

    async def ask(questions: list[QuestionInfo]) -> list[list[str]]:
        asked.extend(questions)
        return answers or [[]]

    ctx.switch_agent = switch
    ctx.previous_agent = lambda: "code"
    if answers is not None:
        ctx.ask_question = ask
    return switched, asked


async def test_plan_enter_switches_to_plan(ctx: ToolContext) -> None:
    switched, _ = hooks(ctx)
    result = await ToolRegistry.builtin().execute("plan_enter", {}, ctx)
    assert switched == ["plan"]
    assert result.metadata == {"agentSwitch": "plan", "previousAgent": "build"}
    assert "plan_exit" in result.output
    ctx.agent = "plan"
    with pytest.raises(ToolError, match="already in plan mode"):
        await ToolRegistry.builtin().execute("plan_enter", {}, ctx)
    assert switched == ["plan"]


async def test_plan_exit_approved_switches_back_to_the_previous_agent(ctx: ToolContext) -> None:
    ctx.agent = "plan"
    switched, asked = hooks(ctx, [["Approve"]])
    result = await ToolRegistry.builtin().execute("plan_exit", {"plan": "# Plan\n1. Edit a.py\n"}, ctx)
    (question,) = asked
    assert question.question.startswith("# Plan\n1. Edit a.py\n\nApprove this plan and switch to the code agent")
    assert question.header == "Plan" and [o.label for o in question.options] == ["Approve", "Keep planning"]
    assert switched == ["code"]
    assert result.metadata == {"agentSwitch": "code", "previousAgent": "plan", "approved": True}
    assert "you are the code agent" in result.output


@pytest.mark.parametrize(
    ("answer", "expected", "feedback"),
    [
        (["Keep planning"], "wants to keep planning", ""),
        ([], "wants to keep planning", ""),
        (["Split step 2 in two"], "said: Split step 2 in two", "Split step 2 in two"),
    ],
)
async def test_plan_exit_not_approved_stays(answer: list[str], expected: str, feedback: str, ctx: ToolContext) -> None:
    ctx.agent = "plan"
    switched, _ = hooks(ctx, [answer])
    result = await ToolRegistry.builtin().execute("plan_exit", {"plan": "1. x"}, ctx)
    assert switched == []
    assert expected in result.output and "plan_exit" in result.output
    assert result.metadata == {"approved": False, "feedback": feedback}
    assert "agentSwitch" not in result.metadata


async def test_plan_exit_refusals(ctx: ToolContext) -> None:
    registry = ToolRegistry.builtin()
    with pytest.raises(ToolError, match="only works in plan mode, and this session runs as build"):
        await registry.execute("plan_exit", {"plan": "1. x"}, ctx)
    ctx.agent = "plan"
    with pytest.raises(ToolError, match="plan: required"):
        await registry.execute("plan_exit", {}, ctx)
    with pytest.raises(ToolError, match="cannot be switched"):
        await registry.execute("plan_exit", {"plan": "1. x"}, ctx)  # no hooks: a subagent
    switched, _ = hooks(ctx)  # hooks but nobody to ask
    with pytest.raises(ToolError, match=r"Nobody can approve the plan.*switch to the code agent themselves"):
        await registry.execute("plan_exit", {"plan": "1. x"}, ctx)
    with pytest.raises(ToolError, match="plan is empty"):
        await registry.execute("plan_exit", {"plan": "  \n"}, ctx)
    assert switched == []
