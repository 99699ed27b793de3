"""`todowrite` and `todoread`: the session's todo list, kept by the engine.

`todowrite` replaces the whole list (the model sends every item each time); `todoread` returns
it. The engine provides `ToolContext.read_todos` / `write_todos`: it stores the list in the
session store (so it survives a restart and goes into `opencode export`) and publishes
`todo.updated` for the faces. The output is the list as JSON, as opencode gives it; the title
counts the items still open (pending or in progress).
"""

from __future__ import annotations

import json
from typing import Literal

from pydantic import BaseModel, Field

from opencode.session.model import Todo
from opencode.tool.tool import Tool, ToolContext, ToolError, ToolResult

OPEN = ("pending", "in_progress")


class TodoItem(BaseModel):
    content: str = Field(description="What to do, in a few words")
    status: Literal["pending", "in_progress", "completed", "cancelled"] = Field(
        description="pending, in_progress (one at a time), completed or cancelled"
    )
    priority: Literal["high", "medium", "low"] = Field(default="medium", description="high, medium or low")
    id: str = Field(default="", description="A short unique id, kept across updates")


class TodoWriteParams(BaseModel):
    todos: list[TodoItem] = Field(description="The complete, updated todo list")


class TodoReadParams(BaseModel):
    pass


def render(todos: list[Todo]) -> ToolResult:
    remaining = sum(1 for t in todos if t.status in OPEN)
    dumped = [t.model_dump(mode="json") for t in todos]
    return ToolResult(
        output=json.dumps(dumped, indent=2, ensure_ascii=False),
        title=f"{remaining} todo{'' if remaining == 1 else 's'}",
        metadata={"todos": dumped},
    )


class TodoWriteTool(Tool[TodoWriteParams]):
    name = "todowrite"
    params = TodoWriteParams
    description_file = "todowrite.txt"

    async def run(self, params: TodoWriteParams, ctx: ToolContext) -> ToolResult:
        if ctx.write_todos is None:
            raise ToolError("the todo list is not available in this session")
        todos: list[Todo] = []
        seen: set[str] = set()
        for number, item in enumerate(params.todos, start=1):
            content = item.content.strip()
            if not content:
                raise ToolError(f"todos[{number - 1}].content is empty; describe the task in a few words.")
            given = item.id.strip()
            if given and given in seen:
                raise ToolError(f"todo id {given!r} is used twice; give each todo its own id.")
            todo_id = given or _free_id(number, seen, params.todos)
            seen.add(todo_id)
            todos.append(Todo(id=todo_id, content=content, status=item.status, priority=item.priority))
        ctx.write_todos(todos)
        return render(todos)


class TodoReadTool(Tool[TodoReadParams]):
    name = "todoread"
    params = TodoReadParams
    description_file = "todoread.txt"

    async def run(self, params: TodoReadParams, ctx: ToolContext) -> ToolResult:
        if ctx.read_todos is None:
            raise ToolError("the todo list is not available in this session")
        return render(ctx.read_todos())


def _free_id(number: int, seen: set[str], items: list[TodoItem]) -> str:
    """The item's position as its id, unless another item already claims that id."""
    taken = seen | {i.id.strip() for i in items}
    candidate, n = str(number), number
    while candidate in taken:
        n += len(items)
        candidate = str(n)
    return candidate
