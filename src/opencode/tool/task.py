"""The `task` tool: start a subagent in a child session and hand its final answer back to the model.

The tool itself knows nothing of sessions or agents: the engine provides
`ToolContext.run_subagent`, which checks the agent, creates the child session (so its tool calls
reach the faces and its cost counts in the parent's) and runs it to the end. The list of
subagents the model may choose from is appended to this tool's description at run time
(`opencode.agent.agents.describe_subagents`). Which subagents an agent may start is decided by
the `task` permission, asked here with the subagent's name as the pattern.

The output is the subagent's final text, then one line
`<task_metadata>session_id: ses_...</task_metadata>` so the model (and a person reading the
transcript) can find the child session.

Background runs (`opencode.agent.background`): `background: true` starts the subagent without
waiting and returns its child session id as `task_id` at once. `action` then works on it:
`status` (running, or the result once finished), `wait` (until it finishes) and `cancel` (aborts
it; its running tools are stopped). Runs still going when the parent's turn ends are cancelled.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from opencode.tool.tool import (
    PermissionRequest,
    SubagentCall,
    SubagentStatus,
    Tool,
    ToolContext,
    ToolError,
    ToolResult,
)

EMPTY_ANSWER = "(the subagent finished without a final message)"


class TaskParams(BaseModel):
    description: str = Field(default="", description="A short (3-5 words) description of the task")
    prompt: str = Field(
        default="", description="The complete task for the subagent to carry out, with everything it needs to know"
    )
    subagent_type: str = Field(
        default="", description="The name of the subagent to start, from the list of available subagents"
    )
    background: bool = Field(default=False, description="Start it without waiting; returns its task_id at once")
    action: Literal["start", "status", "wait", "cancel"] = Field(
        default="start", description="start (default), or status / wait / cancel for a background task"
    )
    task_id: str = Field(default="", description="The background task to check, wait for or cancel")


def _finished_output(text: str, session_id: str) -> str:
    return f"{text.strip() or EMPTY_ANSWER}\n\n<task_metadata>session_id: {session_id}</task_metadata>"


class TaskTool(Tool[TaskParams]):
    name = "task"
    params = TaskParams
    description_file = "task.txt"

    async def run(self, params: TaskParams, ctx: ToolContext) -> ToolResult:
        if params.action != "start":
            return await self.control(params, ctx)
        if params.task_id:
            raise ToolError(
                'task_id is only for action "status", "wait" or "cancel"; to start a new task, leave it out.'
            )
        runner = ctx.start_subagent if params.background else ctx.run_subagent
        if runner is None:
            raise ToolError(f"{'background ' if params.background else ''}subagents are not available here")
        agent = params.subagent_type.strip()
        if not agent:
            raise ToolError("subagent_type is required to start a task; name one of the available subagents.")
        if not params.prompt.strip():
            raise ToolError("prompt is empty; give the subagent a complete brief of its task.")
        description = params.description.strip() or agent
        await ctx.ask(
            PermissionRequest(
                "task",
                [agent],
                f"Start subagent {agent}: {description}",
                {"description": description, "subagent_type": agent},
                ["*"],
            )
        )
        ctx.metadata(description, agent=agent)
        call = SubagentCall(agent=agent, prompt=params.prompt, description=description)
        if params.background:
            assert ctx.start_subagent is not None
            session_id = await ctx.start_subagent(call)
            return ToolResult(
                output=(
                    f"Started the {agent} subagent in the background: {description}.\ntask_id: {session_id}\n"
                    'It works while you go on. Get its answer with action "wait" (or check with "status") and this '
                    "task_id before you finish: it is cancelled if still running when your turn ends.\n\n"
                    f"<task_metadata>session_id: {session_id}</task_metadata>"
                ),
                title=description,
                metadata={"sessionId": session_id, "agent": agent, "background": True, "status": "running"},
            )
        assert ctx.run_subagent is not None
        result = await ctx.run_subagent(call)
        if result.error is not None:
            where = f" (session {result.session_id})" if result.session_id else ""
            raise ToolError(f"subagent {agent} failed{where}: {result.error}")
        return ToolResult(
            output=_finished_output(result.text, result.session_id),
            title=description,
            metadata={"sessionId": result.session_id, "agent": agent, "cost": result.cost},
        )

    async def control(self, params: TaskParams, ctx: ToolContext) -> ToolResult:
        """status / wait / cancel on a background task."""
        task_id = params.task_id.strip()
        if not task_id:
            raise ToolError(f'action "{params.action}" needs task_id: the id task returned when it started.')
        if params.action == "cancel":
            if ctx.cancel_subagent is None:
                raise ToolError("background subagents are not available here")
            status = await ctx.cancel_subagent(task_id)
        else:
            if ctx.subagent_status is None:
                raise ToolError("background subagents are not available here")
            status = await ctx.subagent_status(task_id, params.action == "wait")
        return self.report(status, params.action)

    def report(self, status: SubagentStatus, action: str) -> ToolResult:
        name = f"{status.agent or 'subagent'}: {status.description}"
        metadata = {
            "sessionId": status.session_id,
            "agent": status.agent,
            "background": True,
            "status": status.status,
            "cost": status.cost,
        }
        if status.status == "running":
            output = (
                f"Task {status.session_id} ({name}) is still running ({status.elapsed:.0f} s so far). Go on with "
                'other work, or use action "wait" to wait for it.'
            )
        elif status.status == "completed":
            output = _finished_output(status.text, status.session_id)
            if action == "cancel":
                output = (
                    f"Task {status.session_id} had already finished; nothing was cancelled. Its answer:\n\n{output}"
                )
        elif status.status == "cancelled":
            output = f"Task {status.session_id} ({name}) was cancelled ({status.error}); it gives no answer."
            if action == "cancel":
                output = f"Cancelled task {status.session_id} ({name}); its running tools were stopped."
        else:
            raise ToolError(f"subagent {status.agent or ''} failed (session {status.session_id}): {status.error}")
        return ToolResult(output=output, title=f"{status.description} ({status.status})", metadata=metadata)
