"""The `batch` tool: up to 10 independent tool calls at once, in one step.

Each call goes through the engine's normal path (`ToolContext.run_tool`): only tools the agent
has, argument validation, permission asks, the doom-loop check, the snapshot before a change.
The calls run concurrently; a failure in one does not stop the others. The output lists every
call's result in the order given, labelled with its index and tool, after a one-line summary;
the metadata holds each call's status, title and timing for the faces. `batch` inside `batch`
is refused, and so are the agent-switching tools (call them on their own).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from pydantic import BaseModel, Field

from opencode.tool.tool import Aborted, Attachment, Tool, ToolContext, ToolError, ToolResult

MAX_CALLS = 10
REFUSED = {
    "batch": "batch cannot run inside batch; list the calls in one batch",
    "plan_enter": "plan_enter switches the agent; call it on its own, not in a batch",
    "plan_exit": "plan_exit switches the agent; call it on its own, not in a batch",
}


class BatchCall(BaseModel):
    tool: str = Field(description="The name of the tool to call")
    parameters: dict[str, Any] = Field(default_factory=dict, description="The tool's parameters")


class BatchParams(BaseModel):
    tool_calls: list[BatchCall] = Field(
        min_length=1, max_length=MAX_CALLS, description=f"The calls to run at the same time (1 to {MAX_CALLS})"
    )


class _Outcome:
    def __init__(self, index: int, tool: str) -> None:
        self.index, self.tool = index, tool
        self.result: ToolResult | None = None
        self.error: str | None = None
        self.start = self.end = 0

    def metadata(self) -> dict[str, Any]:
        data: dict[str, Any] = {"index": self.index, "tool": self.tool, "time": {"start": self.start, "end": self.end}}
        if self.result is not None:
            data.update(status="completed", title=self.result.title, metadata=self.result.metadata)
        else:
            data.update(status="error", error=self.error)
        return data

    def render(self) -> str:
        if self.result is not None:
            head = f'<result index="{self.index}" tool="{self.tool}" status="completed"'
            head += f' title="{_attr(self.result.title)}">' if self.result.title else ">"
            return f"{head}\n{self.result.output.rstrip()}\n</result>"
        return f'<result index="{self.index}" tool="{self.tool}" status="error">\n{self.error}\n</result>'


def _attr(text: str) -> str:
    return text.replace("&", "&amp;").replace('"', "&quot;").replace("\n", " ")


def _ms() -> int:
    return int(time.time() * 1000)


class BatchTool(Tool[BatchParams]):
    name = "batch"
    params = BatchParams
    description_file = "batch.txt"

    async def run(self, params: BatchParams, ctx: ToolContext) -> ToolResult:
        run_tool = ctx.run_tool
        if run_tool is None:
            raise ToolError("batch is not available here; make the calls one by one")

        async def one(index: int, call: BatchCall) -> _Outcome:
            outcome = _Outcome(index, call.tool.strip())
            outcome.start = _ms()
            try:
                refused = REFUSED.get(outcome.tool)
                if refused is not None:
                    raise ToolError(refused)
                outcome.result = await run_tool(index, outcome.tool, call.parameters)
            except ToolError as exc:
                outcome.error = str(exc)
            except Aborted:
                outcome.error = "aborted"
            except Exception as exc:  # one broken call must not take down the others
                outcome.error = f"tool '{outcome.tool}' failed: {type(exc).__name__}: {exc}"
            outcome.end = _ms()
            return outcome

        outcomes = await asyncio.gather(*(one(n, call) for n, call in enumerate(params.tool_calls, start=1)))
        ctx.check_abort()
        ok = sum(1 for o in outcomes if o.result is not None)
        failed = len(outcomes) - ok
        summary = f"Ran {len(outcomes)} call{'' if len(outcomes) == 1 else 's'}: {ok} succeeded, {failed} failed."
        attachments: list[Attachment] = [a for o in outcomes if o.result is not None for a in o.result.attachments]
        return ToolResult(
            output="\n\n".join([summary, *(o.render() for o in outcomes)]),
            title=f"Batch: {ok}/{len(outcomes)} succeeded",
            metadata={"successful": ok, "failed": failed, "calls": [o.metadata() for o in outcomes]},
            attachments=attachments,
        )
