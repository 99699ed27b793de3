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
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from opencode.tool.tool import PermissionRequest, SubagentCall, Tool, ToolContext, ToolError, ToolResult

EMPTY_ANSWER = "(the subagent finished without a final message)"


class TaskParams(BaseModel):
    description: str = Field(description="A short (3-5 words) description of the task")
    prompt: str = Field(description="The complete task for the subagent to carry out, with everything it needs to know")
    subagent_type: str = Field(description="The name of the subagent to start, from the list of available subagents")


class TaskTool(Tool[TaskParams]):
    name = "task"
    params = TaskParams
    description_file = "task.txt"

    async def run(self, params: TaskParams, ctx: ToolContext) -> ToolResult:
        if ctx.run_subagent is None:
            raise ToolError("subagents are not available here")
        agent = params.subagent_type.strip()
        if not agent:
            raise ToolError("subagent_type is empty; name one of the available subagents.")
        if not params.prompt.strip():
            raise ToolError("prompt is empty; give the subagent a complete brief of its task.")
        await ctx.ask(
            PermissionRequest(
                "task",
                [agent],
                f"Start subagent {agent}: {params.description}",
                {"description": params.description, "subagent_type": agent},
                ["*"],
            )
        )
        ctx.metadata(params.description, agent=agent)
        result = await ctx.run_subagent(SubagentCall(agent=agent, prompt=params.prompt, description=params.description))
        if result.error is not None:
            where = f" (session {result.session_id})" if result.session_id else ""
            raise ToolError(f"subagent {agent} failed{where}: {result.error}")
        text = result.text.strip() or EMPTY_ANSWER
        return ToolResult(
            output=f"{text}\n\n<task_metadata>session_id: {result.session_id}</task_metadata>",
            title=params.description,
            metadata={"sessionId": result.session_id, "agent": agent, "cost": result.cost},
        )
