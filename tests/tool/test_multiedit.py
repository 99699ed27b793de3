"""multiedit: edits applied in order on the text in memory, all or nothing, errors naming the edit."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from opencode.tool.multiedit import MultiEditParams, MultiEditTool
from opencode.tool.read import ReadParams, ReadTool
from opencode.tool.registry import ToolRegistry
from opencode.tool.tool import PermissionRequest, ToolContext, ToolError, ToolResult


async def multiedit(ctx: ToolContext, path: str, *edits: tuple[str, str] | tuple[str, str, bool]) -> ToolResult:
    items: list[dict[str, Any]] = [
        {"oldString": e[0], "newString": e[1], "replaceAll": e[2] if len(e) > 2 else False} for e in edits
    ]
    return await MultiEditTool().run(MultiEditParams.model_validate({"filePath": path, "edits": items}), ctx)


async def seen(ctx: ToolContext, project: Path, name: str, data: bytes) -> Path:
    path = project / name
    path.write_bytes(data)
    await ReadTool().run(ReadParams(filePath=name), ctx)
    return path


BODY = b"import os\n\n\ndef main():\n    path = os.getcwd()\n    print(path)\n"


async def test_edits_apply_in_order_each_on_the_result_of_the_last(ctx: ToolContext, project: Path) -> None:
    path = await seen(ctx, project, "m.py", BODY)
    result = await multiedit(
        ctx,
        "m.py",
        ("import os\n", "import os\nimport sys\n"),
        ("    print(path)\n", "    print(path, file=sys.stderr)\n"),
        ("print(path, file=sys.stderr)", "print(path, file=sys.stdout)"),  # sees the second edit's text
    )
    assert path.read_bytes() == (
        b"import os\nimport sys\n\n\ndef main():\n    path = os.getcwd()\n    print(path, file=sys.stdout)\n"
    )
    assert result.output == f"Applied 3 edits to {path} (all exact matches)."
    assert result.metadata["filePath"] == str(path)
    assert [e["matcher"] for e in result.metadata["edits"]] == ["exact", "exact", "exact"]
    assert (result.metadata["additions"], result.metadata["deletions"]) == (2, 1)
    assert "+import sys\n" in result.metadata["diff"]


async def test_one_failing_edit_changes_nothing_and_is_named(ctx: ToolContext, project: Path) -> None:
    path = await seen(ctx, project, "m.py", BODY)
    with pytest.raises(ToolError) as caught:
        await multiedit(
            ctx,
            "m.py",
            ("import os\n", "import os\nimport sys\n"),
            ("    print(pth)\n    return 0\n", "    print(path)\n    return 1\n"),
        )
    message = str(caught.value)
    assert message.startswith("edits[1] failed (after edits 0-0 were applied in memory)")
    assert "was not changed" in message and "oldString was not found" in message
    assert "7:     print(path)" in message  # numbered as the text stands after edits[0]
    assert path.read_bytes() == BODY


async def test_an_ambiguous_edit_is_named_with_its_lines(ctx: ToolContext, project: Path) -> None:
    path = await seen(ctx, project, "d.txt", b"a\nx\nb\nx\n")
    with pytest.raises(ToolError, match=r"edits\[0\] failed.*occurs 2 times \(starting at lines 2, 4\)"):
        await multiedit(ctx, "d.txt", ("x", "y"), ("b", "c"))
    assert path.read_bytes() == b"a\nx\nb\nx\n"


async def test_tolerant_edits_report_their_matcher(ctx: ToolContext, project: Path) -> None:
    path = await seen(ctx, project, "m.py", BODY)
    result = await multiedit(
        ctx,
        "m.py",
        ("path = os.getcwd()\nprint(path)", "path = os.getcwd()\nprint(path)\nreturn path"),
        ("print(path)", "print(path, flush=True)"),
    )
    assert path.read_bytes() == (
        b"import os\n\n\ndef main():\n    path = os.getcwd()\n    print(path, flush=True)\n    return path\n"
    )
    first, second = result.metadata["edits"]
    assert first["matcher"] == "indentation-flexible" and first["similarity"] < 1
    assert second["matcher"] == "exact"
    assert result.metadata["matcher"] == "indentation-flexible"
    assert "edits[0]: oldString did not match exactly; matched by indentation-flexible" in result.output


async def test_replace_all_inside_multiedit(ctx: ToolContext, project: Path) -> None:
    path = await seen(ctx, project, "r.txt", b"foo foo\nbar\n")
    result = await multiedit(ctx, "r.txt", ("foo", "qux", True), ("bar", "baz"))
    assert path.read_bytes() == b"qux qux\nbaz\n"
    assert result.metadata["edits"][0]["replacements"] == 2


async def test_the_first_edit_may_create_the_file(ctx: ToolContext, project: Path) -> None:
    result = await multiedit(ctx, "new.txt", ("", "hello\nworld\n"), ("world", "there"))
    assert (project / "new.txt").read_bytes() == b"hello\nthere\n"
    assert "(created)" in result.output


async def test_an_empty_old_string_later_is_refused(ctx: ToolContext, project: Path) -> None:
    path = await seen(ctx, project, "e.txt", b"x\n")
    with pytest.raises(ToolError, match=r"edits\[1\] has an empty oldString"):
        await multiedit(ctx, "e.txt", ("x", "y"), ("", "z"))
    assert path.read_bytes() == b"x\n"


async def test_a_missing_file_without_a_creating_edit_is_refused(ctx: ToolContext, project: Path) -> None:
    with pytest.raises(ToolError, match="File not found"):
        await multiedit(ctx, "missing.txt", ("a", "b"))
    assert not (project / "missing.txt").exists()


async def test_an_unread_file_is_refused(ctx: ToolContext, project: Path) -> None:
    path = project / "u.txt"
    path.write_bytes(b"a\n")
    with pytest.raises(ToolError, match="must read"):
        await multiedit(ctx, "u.txt", ("a", "b"))
    assert path.read_bytes() == b"a\n"


async def test_identical_strings_are_named(ctx: ToolContext, project: Path) -> None:
    await seen(ctx, project, "i.txt", b"a\n")
    with pytest.raises(ToolError, match=r"edits\[1\]: oldString and newString are identical"):
        await multiedit(ctx, "i.txt", ("a", "b"), ("c", "c"))


async def test_crlf_and_bom_are_kept(ctx: ToolContext, project: Path) -> None:
    path = await seen(ctx, project, "w.cs", b"\xef\xbb\xbfa\r\nb\r\nc\r\n")
    await multiedit(ctx, "w.cs", ("a\nb", "A\nB"), ("c", "C"))
    assert path.read_bytes() == b"\xef\xbb\xbfA\r\nB\r\nC\r\n"


async def test_permission_is_asked_once(ctx: ToolContext, project: Path) -> None:
    asked: list[PermissionRequest] = []

    async def ask(request: PermissionRequest) -> None:
        asked.append(request)

    ctx.ask = ask
    path = await seen(ctx, project, "p.txt", b"a\nb\n")
    await multiedit(ctx, "p.txt", ("a", "1"), ("b", "2"))
    edits = [r for r in asked if r.permission == "edit"]
    assert len(edits) == 1 and edits[0].metadata["filePath"] == str(path)
    assert "-a\n-b\n+1\n+2\n" in edits[0].metadata["diff"]


async def test_a_rejected_permission_writes_nothing(ctx: ToolContext, project: Path) -> None:
    async def ask(request: PermissionRequest) -> None:
        if request.permission == "edit":
            raise ToolError("The user rejected permission; the file was not changed.")

    path = await seen(ctx, project, "n.txt", b"a\n")
    ctx.ask = ask
    with pytest.raises(ToolError, match="rejected"):
        await multiedit(ctx, "n.txt", ("a", "b"))
    assert path.read_bytes() == b"a\n"


async def test_bad_arguments_get_a_clear_error(ctx: ToolContext) -> None:
    registry = ToolRegistry.builtin()
    with pytest.raises(ToolError, match=r"edits: list should have at least 1 item"):
        await registry.execute("multiedit", {"filePath": "a.txt", "edits": []}, ctx)
    with pytest.raises(ToolError, match=r"edits\.0\.oldString: required"):
        await registry.execute("multiedit", {"filePath": "a.txt", "edits": [{"newString": "x"}]}, ctx)
    with pytest.raises(ToolError, match=r"edits: expected an array"):
        await registry.execute("multiedit", {"filePath": "a.txt", "edits": "a -> b"}, ctx)


def test_registered_and_off_for_read_only_agents() -> None:
    from opencode.agent.agents import READ_ONLY_TOOLS

    names = ToolRegistry.builtin().names()
    assert "multiedit" in names and "apply_patch" in names
    assert READ_ONLY_TOOLS["multiedit"] is False and READ_ONLY_TOOLS["apply_patch"] is False


def test_the_schema_inlines_the_edit_item() -> None:
    schema = MultiEditTool().schema()
    assert "$defs" not in schema and "$ref" not in str(schema) and "title" not in str(schema)
    item = schema["properties"]["edits"]["items"]
    assert item["required"] == ["oldString", "newString"]
    assert set(item["properties"]) == {"oldString", "newString", "replaceAll"}
