"""The `lsp` tool against basedpyright: navigation, symbols, hover, rename across files, bad arguments.

One project and one server for the module; the rename test works on files no other test reads."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from opencode.lsp.manager import LspManager
from opencode.tool.registry import ToolRegistry
from opencode.tool.tool import ToolError, ToolResult
from tests.lsp.conftest import Asks, tool_context, write_project

pytestmark = pytest.mark.asyncio(loop_scope="module")

SHAPES = '''\
class Shape:
    def area(self) -> float:
        return 0.0


def make_greeting(name: str) -> str:
    """Say hello to someone."""
    return "hello " + name
'''
APP = """\
from shapes import Shape, make_greeting

print(make_greeting("x"))
message = make_greeting("y")
size = Shape().area()
"""
LIB = "def old_name(value: int) -> int:\n    return value + 1\n"
USE = "from lib import old_name\n\ntotal = old_name(1) + old_name(2)\n"


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("py") / "project"
    files = {"pyproject.toml": "", "shapes.py": SHAPES, "app.py": APP, "lib.py": LIB, "use.py": USE}
    return write_project(root, files)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def manager(project: Path) -> AsyncIterator[LspManager]:
    lsp = LspManager(project)
    yield lsp
    await lsp.close()


async def call(project: Path, manager: LspManager, asks: Asks | None = None, **arguments: object) -> ToolResult:
    ctx = tool_context(project, manager, asks)
    return await ToolRegistry.builtin().execute("lsp", dict(arguments), ctx)


async def test_definition_by_position_and_by_symbol(project: Path, manager: LspManager) -> None:
    result = await call(project, manager, operation="goToDefinition", filePath="app.py", line=3, character=8)
    assert "shapes.py:6:5: def make_greeting(name: str) -> str:" in result.output
    assert result.title == "goToDefinition app.py:3:8"
    # A symbol name instead of a position; opencode's short name is accepted too.
    by_name = await call(project, manager, operation="definition", filePath="app.py", symbol="Shape", line=5)
    assert "shapes.py:1:7: class Shape:" in by_name.output


async def test_references_span_both_files(project: Path, manager: LspManager) -> None:
    result = await call(project, manager, operation="findReferences", filePath="shapes.py", symbol="make_greeting")
    assert result.output.startswith("4 locations:")
    for where in ("shapes.py:6:5", "app.py:1:27", "app.py:3:7", "app.py:4:11"):
        assert where in result.output


async def test_hover_shows_the_signature_and_docstring(project: Path, manager: LspManager) -> None:
    result = await call(project, manager, operation="hover", filePath="app.py", line=4, character=12)
    assert "def make_greeting(name: str) -> str" in result.output
    assert "Say hello to someone." in result.output


async def test_document_and_workspace_symbols(project: Path, manager: LspManager) -> None:
    outline = await call(project, manager, operation="documentSymbol", filePath="shapes.py")
    assert outline.output.splitlines()[:2] == ["Class Shape  1:7", "  Method area  2:9"]
    assert "Function make_greeting  6:5" in outline.output
    found = await call(project, manager, operation="workspaceSymbol", filePath="app.py", query="make_greet")
    assert "Function make_greeting  shapes.py:6:5" in found.output


async def test_diagnostics_of_a_file_list_every_severity(project: Path, manager: LspManager) -> None:
    bad = project / "bad.py"
    bad.write_text('count: int = "three"\n')
    result = await call(project, manager, operation="diagnostics", filePath="bad.py")
    assert result.output.startswith("bad.py:\n  1:14 error: Type \"Literal['three']\" is not assignable")
    assert result.metadata["count"] >= 1
    bad.write_text("count: int = 3\n")
    clean = await call(project, manager, operation="diagnostics", filePath="bad.py")
    assert clean.output == "No diagnostics for bad.py."


async def test_rename_changes_both_files_through_the_edit_path(project: Path, manager: LspManager) -> None:
    asks = Asks()
    result = await call(
        project, manager, asks, operation="rename", filePath="use.py", symbol="old_name", line=3, newName="new_name"
    )
    assert (project / "lib.py").read_text() == "def new_name(value: int) -> int:\n    return value + 1\n"
    assert (project / "use.py").read_text() == "from lib import new_name\n\ntotal = new_name(1) + new_name(2)\n"
    files = {Path(f["filePath"]).name: f for f in result.metadata["files"]}
    assert set(files) == {"lib.py", "use.py"}
    assert "-def old_name(value: int) -> int:\n+def new_name(value: int) -> int:" in files["lib.py"]["diff"]
    assert files["use.py"]["additions"] == 2 and files["use.py"]["deletions"] == 2
    assert "+++ b/use.py" in result.metadata["diff"] and "+++ b/lib.py" in result.metadata["diff"]
    # One `lsp` ask, then the `edit` permission for each file with its diff, as edit asks it.
    edits = [r for r in asks.requests if r.permission == "edit"]
    assert asks.requests[0].permission == "lsp"
    assert sorted(r.patterns[0] for r in edits) == ["lib.py", "use.py"]
    assert all(r.metadata["diff"].startswith("--- a/") for r in edits)
    assert result.output.startswith("Renamed to new_name: 4 edits in 2 file(s):")
    # The server has the new text: the new name resolves.
    again = await call(project, manager, operation="goToDefinition", filePath="use.py", symbol="new_name", line=3)
    assert "lib.py:1:5: def new_name" in again.output


async def test_a_rejected_edit_changes_nothing(project: Path, manager: LspManager) -> None:
    before = (project / "shapes.py").read_text()
    with pytest.raises(ToolError, match="rejected"):
        await call(
            project,
            manager,
            Asks(refuse="edit"),
            operation="rename",
            filePath="shapes.py",
            symbol="Shape",
            newName="Figure",
        )
    assert (project / "shapes.py").read_text() == before


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"operation": "hover"}, "hover needs filePath"),
        ({"operation": "hover", "filePath": "nope.py", "line": 1, "character": 1}, "File not found"),
        ({"operation": "hover", "filePath": "app.py"}, "needs a position: line and character"),
        ({"operation": "hover", "filePath": "app.py", "line": 99, "character": 1}, "line 99 is past the end"),
        ({"operation": "hover", "filePath": "app.py", "symbol": "missing_name"}, "'missing_name' was not found"),
        ({"operation": "rename", "filePath": "app.py", "symbol": "message"}, "rename needs newName"),
        (
            {"operation": "hover", "filePath": "notes.xyz", "line": 1, "character": 1},
            "No language server is configured",
        ),
        ({"operation": "format", "filePath": "app.py"}, "pyright cannot do formatting"),
        ({"operation": "jump", "filePath": "app.py"}, "operation: input should be 'diagnostics'"),
        ({"operation": "hover", "filePath": "app.py", "line": "two"}, "line: expected an integer"),
    ],
)
async def test_bad_arguments_are_tool_errors(
    project: Path, manager: LspManager, arguments: dict[str, object], message: str
) -> None:
    (project / "notes.xyz").write_text("hello\n")
    with pytest.raises(ToolError, match=message.replace("(", r"\(")):
        await call(project, manager, **arguments)


async def test_without_servers_the_tool_says_so(project: Path) -> None:
    with pytest.raises(ToolError, match="Language servers are turned off"):
        await call(project, None, operation="hover", filePath="app.py", line=1, character=1)  # type: ignore[arg-type]
