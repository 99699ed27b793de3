"""apply_patch: the Begin/End Patch format, tolerant hunks, all files or none, permissions and restores."""

from __future__ import annotations

from pathlib import Path

import pytest

from opencode.bus import Bus, PermissionAsked
from opencode.permission.rules import Ruleset
from opencode.permission.service import PermissionService
from opencode.tool import apply_patch as apply_patch_module
from opencode.tool.apply_patch import ApplyPatchParams, ApplyPatchTool, parse_patch
from opencode.tool.read import ReadParams, ReadTool
from opencode.tool.registry import ToolRegistry
from opencode.tool.tool import PermissionRequest, ToolContext, ToolError, ToolResult

END = "*** End Patch"


async def patch(ctx: ToolContext, text: str) -> ToolResult:
    return await ApplyPatchTool().run(ApplyPatchParams(patchText=text), ctx)


async def seen(ctx: ToolContext, project: Path, name: str, data: bytes) -> Path:
    path = project / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    await ReadTool().run(ReadParams(filePath=name), ctx)
    return path


APP = (
    b"def load(path):\n    with open(path) as f:\n        return f.read()\n\n\n"
    b"def save(path, data):\n    with open(path, 'w') as f:\n        f.write(data)\n"
)


async def test_add_update_move_and_delete_in_one_patch(ctx: ToolContext, project: Path) -> None:
    app = await seen(ctx, project, "app.py", APP)
    await seen(ctx, project, "notes/old.txt", b"obsolete\n")
    await seen(ctx, project, "cfg.yaml", b"name: demo\nvalue: Hi\n")
    result = await patch(
        ctx,
        """*** Begin Patch
*** Add File: docs/hello.md
+# Hello
+
+World.
*** Update File: app.py
@@ def load(path):
-    with open(path) as f:
+    with open(path, encoding="utf-8") as f:
         return f.read()
@@ def save(path, data):
     with open(path, 'w') as f:
         f.write(data)
+        f.flush()
*** Update File: cfg.yaml
*** Move to: conf/settings.yaml
@@ name: demo
-value: Hi
+value: Hello
*** Delete File: notes/old.txt
*** End Patch""",
    )
    assert (project / "docs/hello.md").read_bytes() == b"# Hello\n\nWorld.\n"
    assert app.read_bytes() == APP.replace(b"open(path) as", b'open(path, encoding="utf-8") as').replace(
        b"f.write(data)\n", b"f.write(data)\n        f.flush()\n"
    )
    assert (project / "conf/settings.yaml").read_bytes() == b"name: demo\nvalue: Hello\n"
    assert not (project / "cfg.yaml").exists()
    assert not (project / "notes/old.txt").exists()
    assert result.output.startswith("Success. Updated the following files:\n")
    assert "A docs/hello.md" in result.output and "M app.py" in result.output
    assert "M conf/settings.yaml (moved from cfg.yaml)" in result.output and "D notes/old.txt" in result.output
    written = {str(project / p) for p in ("docs/hello.md", "app.py", "cfg.yaml", "conf/settings.yaml", "notes/old.txt")}
    assert set(result.metadata["files"]) == written
    assert result.metadata["matcher"] == "exact"
    kinds = {c["type"] for c in result.metadata["changes"]}
    assert kinds == {"add", "update", "move", "delete"}
    # What the patch wrote counts as read: the next patch needs no new read.
    await patch(ctx, "*** Begin Patch\n*** Update File: app.py\n@@\n-        f.flush()\n*** End Patch")
    assert b"flush" not in app.read_bytes()


async def test_bad_context_names_the_file_and_hunk_and_nothing_is_written(ctx: ToolContext, project: Path) -> None:
    app = await seen(ctx, project, "app.py", APP)
    with pytest.raises(ToolError) as caught:
        await patch(
            ctx,
            """*** Begin Patch
*** Add File: created.txt
+should not appear
*** Update File: app.py
@@
-def load(pth):
-    with open(pth) as f:
+def load(path, mode):
+    with open(path, mode) as f:
*** End Patch""",
        )
    message = str(caught.value)
    assert f"{app}, hunk 1 (patch line 5)" in message
    assert "not found" in message and "Nothing was applied" in message
    assert "The closest text is at lines 1-2" in message
    assert "1: def load(path):" in message
    assert "-      def load(pth):" in message
    assert app.read_bytes() == APP
    assert not (project / "created.txt").exists()


async def test_hunks_match_tolerantly_and_added_lines_take_the_file_indentation(
    ctx: ToolContext, project: Path
) -> None:
    path = await seen(ctx, project, "main.go", b"func main() {\n\tif ok {\n\t\trun()\n\t}\n}\n")
    result = await patch(
        ctx,
        "*** Begin Patch\n*** Update File: main.go\n@@\n"
        "     if ok {\n         run()\n+        done()\n     }\n*** End Patch",
    )
    assert path.read_bytes() == b"func main() {\n\tif ok {\n\t\trun()\n\t\tdone()\n\t}\n}\n"
    assert result.metadata["matcher"] == "indentation-flexible"
    assert "matched by indentation-flexible" in result.output


async def test_blank_context_lines_without_their_space_still_count(ctx: ToolContext, project: Path) -> None:
    path = await seen(ctx, project, "app.py", APP)
    await patch(
        ctx,
        "*** Begin Patch\n*** Update File: app.py\n@@\n         return f.read()\n\n\n"
        "-def save(path, data):\n+def save(path, data, mode='w'):\n*** End Patch",
    )
    assert path.read_bytes() == APP.replace(b"def save(path, data):", b"def save(path, data, mode='w'):")


async def test_an_ambiguous_hunk_is_refused_and_an_at_line_settles_it(ctx: ToolContext, project: Path) -> None:
    body = b"class A:\n    def run(self):\n        return 1\n\n\nclass B:\n    def run(self):\n        return 1\n"
    path = await seen(ctx, project, "ab.py", body)
    hunk = "-        return 1\n+        return 2\n"
    with pytest.raises(ToolError, match=r"fit 2 places \(lines 3, 8\).*@@ line"):
        await patch(ctx, f"*** Begin Patch\n*** Update File: ab.py\n@@\n{hunk}*** End Patch")
    assert path.read_bytes() == body
    await patch(ctx, f"*** Begin Patch\n*** Update File: ab.py\n@@ class B:\n{hunk}*** End Patch")
    assert path.read_bytes() == body[: body.rindex(b"1")] + b"2\n"


async def test_end_of_file_and_pure_additions(ctx: ToolContext, project: Path) -> None:
    path = await seen(ctx, project, "list.txt", b"a\nb\na\nb\n")
    await patch(ctx, "*** Begin Patch\n*** Update File: list.txt\n@@\n a\n-b\n+c\n*** End of File\n*** End Patch")
    assert path.read_bytes() == b"a\nb\na\nc\n"
    await patch(ctx, "*** Begin Patch\n*** Update File: list.txt\n@@\n+d\n*** End Patch")
    assert path.read_bytes() == b"a\nb\na\nc\nd\n"
    await patch(ctx, "*** Begin Patch\n*** Update File: list.txt\n@@ b\n+after b\n*** End Patch")
    assert path.read_bytes() == b"a\nb\nafter b\na\nc\nd\n"


async def test_crlf_bom_and_a_missing_final_newline_are_kept(ctx: ToolContext, project: Path) -> None:
    path = await seen(ctx, project, "w.cs", b"\xef\xbb\xbfclass A\r\n{\r\n    int x;\r\n}")
    await patch(ctx, "*** Begin Patch\n*** Update File: w.cs\n@@\n {\n-    int x;\n+    int y;\n }\n*** End Patch")
    assert path.read_bytes() == b"\xef\xbb\xbfclass A\r\n{\r\n    int y;\r\n}"


def test_the_parser_forgives_wrappers_and_unified_headers() -> None:
    text = "```\n*** Begin Patch\n*** Update File: a.py\n@@ -1,3 +1,3 @@ def f():\n-x\n+y\n*** End Patch\n```"
    (op,) = parse_patch(text)
    hunk = op.hunks[0]
    assert (op.kind, op.path, hunk.context, hunk.old, hunk.new) == ("update", "a.py", "def f():", ["x"], ["y"])
    (op,) = parse_patch("cat <<'EOF'\n*** Begin Patch\n*** Delete File: b.txt\n*** End Patch\nEOF")
    assert (op.kind, op.path) == ("delete", "b.txt")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("*** Update File: a.py\n-x\n+y\n*** End Patch", "must start with a line '\\*\\*\\* Begin Patch'"),
        ("*** Begin Patch\n*** Update File: a.py\n-x\n+y\n", "no '\\*\\*\\* End Patch' line \\(was it cut off\\?\\)"),
        ("*** Begin Patch\n*** End Patch", "no file sections"),
        ("*** Begin Patch\n*** Frobnicate File: a.py\n*** End Patch", "Patch line 2: expected '\\*\\*\\* Add File:'"),
        ("*** Begin Patch\n*** Add File: a.py\nno plus\n*** End Patch", "Patch line 3: every line of an added file"),
        ("*** Begin Patch\n*** Update File: a.py\n@@\n?x\n*** End Patch", "Patch line 4 \\(in a.py\\): a hunk line"),
        ("*** Begin Patch\n*** Update File: a.py\n*** End Patch", "has no hunks"),
        ("*** Begin Patch\n*** Add File:\n+x\n*** End Patch", "the file path is missing"),
    ],
)
async def test_malformed_patches_are_refused_clearly(ctx: ToolContext, text: str, message: str) -> None:
    with pytest.raises(ToolError, match=message):
        await patch(ctx, text)


async def test_updating_an_unread_file_is_refused_and_nothing_is_written(ctx: ToolContext, project: Path) -> None:
    (project / "unread.txt").write_bytes(b"a\n")
    with pytest.raises(ToolError, match="must read"):
        await patch(ctx, "*** Begin Patch\n*** Add File: n.txt\n+x\n*** Update File: unread.txt\n@@\n-a\n+b\n" + END)
    assert (project / "unread.txt").read_bytes() == b"a\n"
    assert not (project / "n.txt").exists()


async def test_add_over_an_existing_file_and_move_onto_one_are_refused(ctx: ToolContext, project: Path) -> None:
    await seen(ctx, project, "a.txt", b"a\n")
    await seen(ctx, project, "b.txt", b"b\n")
    with pytest.raises(ToolError, match="already exists; use '\\*\\*\\* Update File:'"):
        await patch(ctx, "*** Begin Patch\n*** Add File: a.txt\n+new\n*** End Patch")
    with pytest.raises(ToolError, match=r"b\.txt already exists"):
        await patch(ctx, "*** Begin Patch\n*** Update File: a.txt\n*** Move to: b.txt\n@@\n-a\n+A\n*** End Patch")
    assert (project / "a.txt").read_bytes() == b"a\n" and (project / "b.txt").read_bytes() == b"b\n"


async def test_deleting_or_updating_a_missing_file_is_refused(ctx: ToolContext, project: Path) -> None:
    with pytest.raises(ToolError, match=r"Cannot delete .*gone\.txt: the file does not exist"):
        await patch(ctx, "*** Begin Patch\n*** Delete File: gone.txt\n*** End Patch")
    with pytest.raises(ToolError, match="Cannot update"):
        await patch(ctx, "*** Begin Patch\n*** Update File: gone.txt\n@@\n-a\n+b\n*** End Patch")


async def test_a_failed_write_restores_what_was_written(
    ctx: ToolContext, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = await seen(ctx, project, "first.txt", b"one\n")
    second = await seen(ctx, project, "second.txt", b"two\n")
    real = apply_patch_module.write_atomic
    calls: list[Path] = []

    def flaky(path: Path, data: bytes) -> None:
        calls.append(path)
        if path == second:
            raise OSError(28, "No space left on device")
        real(path, data)

    monkeypatch.setattr(apply_patch_module, "write_atomic", flaky)
    with pytest.raises(ToolError, match=r"No space left on device.*restored, so no file was changed"):
        await patch(
            ctx,
            "*** Begin Patch\n*** Update File: first.txt\n@@\n-one\n+ONE\n*** Add File: third.txt\n+3\n"
            "*** Update File: second.txt\n@@\n-two\n+TWO\n*** End Patch",
        )
    assert first.read_bytes() == b"one\n"
    assert second.read_bytes() == b"two\n"
    assert not (project / "third.txt").exists()
    assert calls[:3] == [first, project / "third.txt", second]


async def test_permission_is_asked_once_for_every_path(ctx: ToolContext, project: Path) -> None:
    asked: list[PermissionRequest] = []

    async def ask(request: PermissionRequest) -> None:
        asked.append(request)
        if request.permission == "edit":
            raise ToolError("The user rejected permission; the file was not changed.")

    await seen(ctx, project, "a.txt", b"a\n")
    ctx.ask = ask
    with pytest.raises(ToolError, match="rejected"):
        await patch(ctx, "*** Begin Patch\n*** Update File: a.txt\n@@\n-a\n+b\n*** Add File: sub/c.txt\n+c\n" + END)
    edits = [r for r in asked if r.permission == "edit"]
    assert len(edits) == 1
    assert edits[0].patterns == ["a.txt", "sub/c.txt"]
    assert edits[0].metadata["files"] == [str(project / "a.txt"), str(project / "sub/c.txt")]
    assert "+b\n" in edits[0].metadata["diff"] and "+c\n" in edits[0].metadata["diff"]
    assert (project / "a.txt").read_bytes() == b"a\n" and not (project / "sub/c.txt").exists()


async def test_a_path_outside_the_project_is_asked_as_external(ctx: ToolContext, project: Path, tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    bus = Bus()
    asked: list[PermissionAsked] = []
    bus.on(lambda event: asked.append(event) if isinstance(event, PermissionAsked) else None)
    ctx.ask = PermissionService(bus, project).asker(Ruleset.from_config(None), session_id=ctx.session_id)
    with pytest.raises(ToolError, match="outside the project"):
        await patch(ctx, "*** Begin Patch\n*** Add File: ../elsewhere/x.txt\n+x\n*** Add File: inside.txt\n+i\n" + END)
    assert [event.permission for event in asked] == ["external_directory"]
    assert asked[0].metadata["filepath"] == str(outside / "x.txt")
    assert not (outside / "x.txt").exists() and not (project / "inside.txt").exists()


async def test_bad_arguments_get_a_clear_error(ctx: ToolContext) -> None:
    with pytest.raises(ToolError, match="patchText: required"):
        await ToolRegistry.builtin().execute("apply_patch", {"patch": "*** Begin Patch"}, ctx)
    with pytest.raises(ToolError, match="patchText: expected a string"):
        await ToolRegistry.builtin().execute("apply_patch", {"patchText": ["*** Begin Patch"]}, ctx)
