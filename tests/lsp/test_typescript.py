"""typescript-language-server (tsserver): format, rename across files, navigation, code actions, and
diagnostics that are never stale (it publishes without a version). One server for the module."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from opencode.lsp.manager import LspManager
from opencode.tool.registry import ToolRegistry
from opencode.tool.tool import ToolResult
from tests.lsp.conftest import Asks, tool_context, write_project

pytestmark = pytest.mark.asyncio(loop_scope="module")

UGLY = "const  total   =  {a:1,b:2}\nfunction twice( n:number ){return n*2}\nexport {total,twice}\n"
MATH = "export function addUp(a: number, b: number): number {\n  return a + b\n}\n"
MAIN = 'import { addUp } from "./math"\n\nexport const seven = addUp(3, 4)\nexport const ten = addUp(5, 5)\n'

ANIMAL = """\
export interface Animal {
  speak(): string
}

export class Dog implements Animal {
  speak(): string {
    return "woof"
  }
}
"""


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("ts") / "project"
    files = {
        "tsconfig.json": '{"compilerOptions": {"strict": true, "noUnusedLocals": true}}',
        "package.json": '{"name": "demo", "private": true}',
        "ugly.ts": UGLY,
        "math.ts": MATH,
        "main.ts": MAIN,
        "act.ts": 'import { readFileSync } from "fs"\nexport const one = 1\n',
        "animal.ts": ANIMAL,
    }
    return write_project(root, files)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def manager(project: Path) -> AsyncIterator[LspManager]:
    lsp = LspManager(project)
    yield lsp
    await lsp.close()


async def call(project: Path, manager: LspManager, asks: Asks | None = None, **arguments: object) -> ToolResult:
    return await ToolRegistry.builtin().execute("lsp", dict(arguments), tool_context(project, manager, asks))


async def test_format_rewrites_the_file_through_the_edit_path(project: Path, manager: LspManager) -> None:
    asks = Asks()
    result = await call(project, manager, asks, operation="format", filePath="ugly.ts")
    assert (project / "ugly.ts").read_text() == (
        "const total = { a: 1, b: 2 }\nfunction twice(n: number) { return n * 2 }\nexport { total, twice }\n"
    )
    assert result.metadata["filePath"] == str(project / "ugly.ts")
    assert "\n-const  total   =  {a:1,b:2}\n" in result.metadata["diff"]
    assert "\n+const total = { a: 1, b: 2 }\n" in result.metadata["diff"]
    assert [r.permission for r in asks.requests] == ["lsp", "edit"]
    again = await call(project, manager, operation="format", filePath="ugly.ts")
    assert again.output == "ugly.ts is already formatted."


async def test_definition_references_and_symbols(project: Path, manager: LspManager) -> None:
    definition = await call(project, manager, operation="goToDefinition", filePath="main.ts", line=3, character=22)
    assert "math.ts:1:17: export function addUp(a: number, b: number): number {" in definition.output
    references = await call(project, manager, operation="findReferences", filePath="math.ts", symbol="addUp")
    for where in ("math.ts:1:17", "main.ts:1:10", "main.ts:3:22", "main.ts:4:20"):
        assert where in references.output
    found = await call(project, manager, operation="workspaceSymbol", filePath="main.ts", query="addU")
    assert "Function addUp  math.ts:1:1" in found.output


async def test_rename_across_two_files(project: Path, manager: LspManager) -> None:
    result = await call(project, manager, operation="rename", filePath="math.ts", symbol="addUp", newName="sum")
    assert (project / "math.ts").read_text().startswith("export function sum(a: number, b: number): number {")
    assert (project / "main.ts").read_text() == (
        'import { sum } from "./math"\n\nexport const seven = sum(3, 4)\nexport const ten = sum(5, 5)\n'
    )
    assert sorted(Path(f["filePath"]).name for f in result.metadata["files"]) == ["main.ts", "math.ts"]
    assert "+export const seven = sum(3, 4)" in result.metadata["diff"]


async def test_code_actions_are_listed(project: Path, manager: LspManager) -> None:
    result = await call(project, manager, operation="codeAction", filePath="act.ts", line=1, character=10)
    assert "- Remove import from 'fs' [quickfix] (preferred)" in result.output
    assert (project / "act.ts").read_text().startswith("import { readFileSync }")  # listed, not applied


async def test_diagnostics_are_for_the_current_text_only(project: Path, manager: LspManager) -> None:
    broken = project / "broken.ts"
    broken.write_text('export const count: number = "three"\n')
    got = await manager.diagnostics(broken)
    assert got.ready and [(d["range"]["start"]["line"], d["severity"]) for d in got.errors()] == [(0, 1)]
    assert "not assignable to type 'number'" in got.errors()[0]["message"]
    broken.write_text("export const count: number = 3\n")
    # Asked at once, before the server could have looked at the new text: not ready, and the old error
    # is not passed off as the new text's.
    hurried = await manager.diagnostics(broken, timeout=0)
    assert not hurried.ready and hurried.items == []
    settled = await manager.diagnostics(broken)
    assert settled.ready and settled.errors() == []


async def test_implementation_and_hover(project: Path, manager: LspManager) -> None:
    found = await call(project, manager, operation="implementation", filePath="animal.ts", symbol="Animal")
    assert "animal.ts:5:14: export class Dog implements Animal {" in found.output
    hover = await call(project, manager, operation="hover", filePath="animal.ts", symbol="Dog")
    assert "class Dog" in hover.output
