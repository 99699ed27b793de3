"""The registry: tool specs, and every way a call can go wrong turned into a message for the model."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from pydantic import BaseModel

from opencode.tool.registry import ToolRegistry
from opencode.tool.tool import Aborted, Tool, ToolContext, ToolError, ToolResult

BUILTIN = [
    "read", "write", "edit", "multiedit", "apply_patch", "bash", "glob", "grep", "list", "rm", "explore", "skill",
    "task", "todowrite", "todoread", "question", "plan_enter", "plan_exit", "batch", "webfetch", "websearch", "youtube",
    "lsp",
]  # fmt: skip


class NoParams(BaseModel):
    pass


class Boom(Tool[NoParams]):
    """Always fails in an unexpected way."""

    name = "boom"
    params = NoParams

    async def run(self, params: NoParams, ctx: ToolContext) -> ToolResult:
        raise RuntimeError("kaboom")


class Stop(Tool[NoParams]):
    """Behaves as a tool that noticed the abort."""

    name = "stop"
    params = NoParams

    async def run(self, params: NoParams, ctx: ToolContext) -> ToolResult:
        raise Aborted("aborted")


class Chatty(Tool[NoParams]):
    """Returns far too much output."""

    name = "chatty"
    params = NoParams

    async def run(self, params: NoParams, ctx: ToolContext) -> ToolResult:
        return ToolResult("\n".join(f"row {i}" for i in range(5000)), "chatty", {"rows": 5000})


def test_builtin_has_the_full_tool_set() -> None:
    registry = ToolRegistry.builtin()
    assert registry.names() == BUILTIN
    assert registry.get("read") is not None
    assert registry.get("nope") is None


def test_specs_carry_descriptions_and_clean_schemas() -> None:
    specs = ToolRegistry.builtin().specs()
    assert [spec.name for spec in specs] == BUILTIN
    for spec in specs:
        assert len(spec.description) > 150, spec.name
        assert spec.parameters["type"] == "object"
        assert "title" not in spec.parameters
        for prop in spec.parameters["properties"].values():
            assert "title" not in prop and "anyOf" not in prop, spec.name
            assert prop.get("description"), spec.name
    read = next(spec for spec in specs if spec.name == "read")
    assert read.parameters["required"] == ["filePath"]
    assert set(read.parameters["properties"]) == {"filePath", "offset", "limit"}
    edit = next(spec for spec in specs if spec.name == "edit")
    assert set(edit.parameters["required"]) == {"filePath", "oldString", "newString"}


def test_specs_can_be_filtered() -> None:
    specs = ToolRegistry.builtin().specs(lambda name: name in {"read", "grep"})
    assert [spec.name for spec in specs] == ["read", "grep"]


async def test_unknown_tool_lists_the_available_ones(ctx: ToolContext) -> None:
    with pytest.raises(ToolError) as caught:
        await ToolRegistry.builtin().execute("reed", {}, ctx)
    assert str(caught.value) == f"unknown tool 'reed'; available: {', '.join(BUILTIN)}"


async def test_malformed_json_is_reported_with_the_detail(ctx: ToolContext) -> None:
    with pytest.raises(ToolError) as caught:
        await ToolRegistry.builtin().execute("write", None, ctx, parse_error="Expecting ',' delimiter: line 1 column 9")
    assert str(caught.value) == (
        "the arguments of tool 'write' were not valid JSON: Expecting ',' delimiter: line 1 column 9. "
        "Send a JSON object matching its schema."
    )


async def test_schema_failures_name_each_bad_field(ctx: ToolContext) -> None:
    registry = ToolRegistry.builtin()
    with pytest.raises(ToolError) as caught:
        await registry.execute("read", {"limit": "many"}, ctx)
    assert str(caught.value) == "invalid arguments for tool 'read': filePath: required; limit: expected an integer"

    with pytest.raises(ToolError) as nested:
        await registry.execute("list", {"ignore": ["ok", 3]}, ctx)
    assert str(nested.value) == "invalid arguments for tool 'list': ignore.1: expected a string"

    with pytest.raises(ToolError) as not_object:
        await registry.execute("bash", ["ls"], ctx)  # type: ignore[arg-type]
    assert str(not_object.value) == "invalid arguments for tool 'bash': expected a JSON object, got list"

    with pytest.raises(ToolError, match="limit: input should be greater than or equal to 1"):
        await registry.execute("read", {"filePath": "x", "limit": 0}, ctx)


async def test_null_for_an_optional_parameter_means_left_out(ctx: ToolContext, project: Path) -> None:
    (project / "a.txt").write_text("one\ntwo\n")
    result = await ToolRegistry.builtin().execute("read", {"filePath": "a.txt", "offset": None, "limit": None}, ctx)
    assert "1: one\n2: two" in result.output
    with pytest.raises(ToolError, match="filePath: required"):
        await ToolRegistry.builtin().execute("read", {"filePath": None}, ctx)


async def test_an_exception_inside_a_tool_becomes_a_tool_error(
    ctx: ToolContext, caplog: pytest.LogCaptureFixture
) -> None:
    registry = ToolRegistry([Boom()])
    with caplog.at_level(logging.ERROR, logger="opencode.tool.registry"), pytest.raises(ToolError) as caught:
        await registry.execute("boom", {}, ctx)
    assert str(caught.value) == "tool 'boom' failed: RuntimeError: kaboom"
    assert caplog.records and caplog.records[0].exc_info is not None


async def test_aborted_passes_through(ctx: ToolContext) -> None:
    with pytest.raises(Aborted):
        await ToolRegistry([Stop()]).execute("stop", {}, ctx)
    ctx.abort.set()
    with pytest.raises(Aborted):
        await ToolRegistry([Chatty()]).execute("chatty", {}, ctx)


async def test_long_output_is_capped_and_saved(ctx: ToolContext, tmp_path: Path) -> None:
    result = await ToolRegistry([Chatty()]).execute("chatty", None, ctx)
    assert len(result.output.splitlines()) <= 2000
    assert result.output.startswith("row 0\nrow 1\n")
    assert result.metadata["truncated"] is True
    assert result.metadata["rows"] == 5000
    saved = Path(result.metadata["outputPath"])
    assert saved.parent == tmp_path / "data" / "tool-output"
    assert saved.read_text().endswith("row 4999")
    assert str(saved) in result.output


async def test_read_pages_itself_and_is_not_capped_again(ctx: ToolContext, project: Path) -> None:
    (project / "big.txt").write_text("".join(f"{i}\n" for i in range(3000)))
    result = await ToolRegistry.builtin().execute("read", {"filePath": "big.txt"}, ctx)
    assert "Use offset=2001 to continue." in result.output
    assert "outputPath" not in result.metadata
    assert "2000: 1999" in result.output


async def test_a_full_round_through_the_registry(ctx: ToolContext, project: Path) -> None:
    registry = ToolRegistry.builtin()
    await registry.execute("write", {"filePath": "hello.py", "content": "print('hi')\n"}, ctx)
    await registry.execute("edit", {"filePath": "hello.py", "oldString": "hi", "newString": "bye"}, ctx)
    result = await registry.execute("bash", {"command": "python3 hello.py || python hello.py"}, ctx)
    assert result.output == "bye\n"
    found = await registry.execute("grep", {"pattern": "bye"}, ctx)
    assert f"{project / 'hello.py'}:" in found.output
