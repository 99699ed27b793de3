"""`todowrite` / `todoread` with the engine's hooks faked: ids, titles, output and bad arguments."""

from __future__ import annotations

import json

import pytest

from opencode.session.model import Todo
from opencode.tool.registry import ToolRegistry
from opencode.tool.tool import ToolContext, ToolError


@pytest.fixture
def todos(ctx: ToolContext) -> list[list[Todo]]:
    written: list[list[Todo]] = []
    ctx.write_todos = written.append
    ctx.read_todos = lambda: written[-1] if written else []
    return written


async def test_write_fills_in_ids_and_counts_open_items(ctx: ToolContext, todos: list[list[Todo]]) -> None:
    items = [
        {"content": " Write the test ", "status": "in_progress", "priority": "high"},
        {"content": "Ship", "status": "pending", "id": "2"},
        {"content": "Old idea", "status": "cancelled", "priority": "low"},
        {"content": "Read code", "status": "completed", "priority": "low", "id": "r"},
    ]
    result = await ToolRegistry.builtin().execute("todowrite", {"todos": items}, ctx)
    (written,) = todos
    # The second item claims id "2", so the third (position 3) keeps "3" and the first "1".
    assert [(t.id, t.content, t.status, t.priority) for t in written] == [
        ("1", "Write the test", "in_progress", "high"),
        ("2", "Ship", "pending", "medium"),
        ("3", "Old idea", "cancelled", "low"),
        ("r", "Read code", "completed", "low"),
    ]
    assert result.title == "2 todos"
    assert json.loads(result.output) == [t.model_dump() for t in written]
    assert result.metadata == {"todos": [t.model_dump() for t in written]}
    read = await ToolRegistry.builtin().execute("todoread", {}, ctx)
    assert read.output == result.output and read.title == "2 todos"


async def test_an_id_taken_by_a_later_item_is_not_reused(ctx: ToolContext, todos: list[list[Todo]]) -> None:
    items = [{"content": "a", "status": "pending"}, {"content": "b", "status": "pending", "id": "1"}]
    await ToolRegistry.builtin().execute("todowrite", {"todos": items}, ctx)
    assert [t.id for t in todos[0]] == ["3", "1"]


async def test_empty_list_and_single_open_item_titles(ctx: ToolContext, todos: list[list[Todo]]) -> None:
    registry = ToolRegistry.builtin()
    assert (await registry.execute("todoread", {}, ctx)).output == "[]"
    one = await registry.execute("todowrite", {"todos": [{"content": "x", "status": "pending"}]}, ctx)
    assert one.title == "1 todo"
    cleared = await registry.execute("todowrite", {"todos": []}, ctx)
    assert cleared.title == "0 todos" and todos[-1] == []


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        ({"todos": [{"content": "x", "status": "doing"}]}, "todos.0.status: input should be 'pending'"),
        ({"todos": [{"content": "x", "status": "pending", "priority": "urgent"}]}, "todos.0.priority: input should"),
        ({"todos": [{"status": "pending"}]}, "todos.0.content: required"),
        ({"todos": [{"content": "  ", "status": "pending"}]}, "todos[0].content is empty"),
        ({"todos": [{"content": "a", "status": "pending", "id": "x"}] * 2}, "todo id 'x' is used twice"),
        ({"todos": {"content": "a"}}, "todos: expected an array"),
        ({}, "todos: required"),
    ],
)
async def test_bad_arguments_are_explained(
    arguments: dict[str, object], expected: str, ctx: ToolContext, todos: list[list[Todo]]
) -> None:
    with pytest.raises(ToolError, match=expected.replace("[", r"\[").replace("]", r"\]")):
        await ToolRegistry.builtin().execute("todowrite", arguments, ctx)
    assert todos == []


async def test_without_the_engine_the_list_is_unavailable(ctx: ToolContext) -> None:
    with pytest.raises(ToolError, match="not available"):
        await ToolRegistry.builtin().execute("todoread", {}, ctx)
    with pytest.raises(ToolError, match="not available"):
        await ToolRegistry.builtin().execute("todowrite", {"todos": []}, ctx)
