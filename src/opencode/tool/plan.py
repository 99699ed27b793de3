"""`plan_enter` and `plan_exit`: switch the session into the `plan` agent and, with approval, back out.

`plan_enter` makes the session run as `plan` (its prompt, tools and permissions) from the next
step on. `plan_exit`, only from plan, puts the plan to the user through the face (the question
flow: approve, keep planning, or feedback typed in); on approval the session runs as the agent
it was before plan from the next step, otherwise it stays in plan and the model hears why.

The engine provides `ToolContext.switch_agent` and `previous_agent`. The switch is recorded in
the tool's result (`metadata["agentSwitch"]`), which the store keeps with the tool part, so the
session's current agent survives a restart (`Engine.current_agent` reads it back).
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from opencode.bus import QuestionInfo, QuestionOption
from opencode.tool.tool import Tool, ToolContext, ToolError, ToolResult

PLAN_AGENT = "plan"
APPROVE = "Approve"
KEEP_PLANNING = "Keep planning"
# The TUI's plan dialog (tui/dialogs.py) knows the question by these labels and the "Plan" header.
SWITCH_KEY = "agentSwitch"
"""Metadata key of a tool result that switched the session's agent (read by `Engine.current_agent`)."""


class PlanEnterParams(BaseModel):
    pass


class PlanExitParams(BaseModel):
    plan: str = Field(description="The complete plan, in markdown, as the user should review it")


def _no_switch() -> ToolError:
    return ToolError("agents cannot be switched in this session (a subagent runs as the agent it was started as)")


class PlanEnterTool(Tool[PlanEnterParams]):
    name = "plan_enter"
    params = PlanEnterParams
    description_file = "plan_enter.txt"

    async def run(self, params: PlanEnterParams, ctx: ToolContext) -> ToolResult:
        if ctx.agent == PLAN_AGENT:
            raise ToolError("you are already in plan mode; when the plan is ready, present it with plan_exit.")
        if ctx.switch_agent is None:
            raise _no_switch()
        await ctx.switch_agent(PLAN_AGENT)
        return ToolResult(
            output=(
                "Plan mode is on from your next step: you can read, search and ask, but not change files. "
                "Investigate, write the plan, then present it with plan_exit for the user's approval."
            ),
            title="Switched to plan mode",
            metadata={SWITCH_KEY: PLAN_AGENT, "previousAgent": ctx.agent},
        )


class PlanExitTool(Tool[PlanExitParams]):
    name = "plan_exit"
    params = PlanExitParams
    description_file = "plan_exit.txt"

    async def run(self, params: PlanExitParams, ctx: ToolContext) -> ToolResult:
        if ctx.agent != PLAN_AGENT:
            raise ToolError(f"plan_exit only works in plan mode, and this session runs as {ctx.agent}.")
        plan = params.plan.strip()
        if not plan:
            raise ToolError("plan is empty; pass the complete plan in markdown.")
        if ctx.switch_agent is None:
            raise _no_switch()
        target = ctx.previous_agent() if ctx.previous_agent is not None else "build"
        if ctx.ask_question is None:
            raise ToolError(
                "Nobody can approve the plan in this session (it runs without an interactive user), so plan mode "
                f"stays on. Give the plan in your final answer; the user must switch to the {target} agent "
                "themselves to carry it out."
            )
        question = QuestionInfo(
            question=f"{plan}\n\nApprove this plan and switch to the {target} agent to carry it out?",
            header="Plan",
            options=[
                QuestionOption(label=APPROVE, description=f"Switch to {target} and carry out the plan"),
                QuestionOption(label=KEEP_PLANNING, description="Stay in plan mode and refine the plan"),
            ],
        )
        (answer, *_) = await ctx.ask_question([question]) or [[]]
        chosen = [a.strip() for a in answer if a.strip()]
        if APPROVE in chosen:
            await ctx.switch_agent(target)
            return ToolResult(
                output=(
                    f"The user approved the plan. From your next step you are the {target} agent and may change "
                    "files: carry out the plan step by step, and verify the result."
                ),
                title=f"Plan approved; switched to {target}",
                metadata={SWITCH_KEY: target, "previousAgent": PLAN_AGENT, "approved": True},
            )
        feedback = "; ".join(a for a in chosen if a != KEEP_PLANNING)
        if feedback:
            output = (
                f"The user did not approve the plan yet and said: {feedback}\nYou are still in plan mode: revise "
                "the plan to address this, then present it again with plan_exit."
            )
        else:
            output = (
                "The user wants to keep planning. You are still in plan mode and must not change files: ask "
                "what to refine if it is unclear, improve the plan, then present it again with plan_exit."
            )
        return ToolResult(
            output=output,
            title="Plan not approved; still planning",
            metadata={"approved": False, "feedback": feedback},
        )
