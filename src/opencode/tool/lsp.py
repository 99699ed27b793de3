"""The `lsp` tool: what a language server knows about the code (opencode's operation names).

Read operations: `diagnostics` (a file, or every file the servers reported on), `goToDefinition`,
`findReferences`, `goToImplementation`, `hover`, `documentSymbol`, `workspaceSymbol`,
`codeAction` (listed, not applied). `definition`, `references` and `implementation` are accepted
as short names. A position is a 1-based `line` and `character` (as editors show them), or a
`symbol` name that the tool finds in the file (on `line` when given, else its first occurrence).

`rename` and `format` change files: the server's edits are applied through the edit path
(`save_edit`: the `edit` permission asked per file with its diff, an atomic write, the read
records updated), only inside the project, and only when the file did not change between the
request and the write. The engine snapshots before them as before any edit.

The servers come from `ToolContext.lsp` (the engine's `LspManager`).
"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import AliasChoices, BaseModel, Field, field_validator

from opencode.tool.tool import PermissionRequest, Tool, ToolContext, ToolError, ToolResult

if TYPE_CHECKING:
    from opencode.lsp.manager import LspManager

Operation = Literal[
    "diagnostics",
    "goToDefinition",
    "findReferences",
    "goToImplementation",
    "hover",
    "documentSymbol",
    "workspaceSymbol",
    "rename",
    "format",
    "codeAction",
]
ALIASES = {"definition": "goToDefinition", "references": "findReferences", "implementation": "goToImplementation"}
WRITING = frozenset({"rename", "format"})
"""Operations that change files (the engine snapshots before them)."""
MAX_ITEMS = 100


class LspParams(BaseModel):
    operation: Operation = Field(description="The operation to perform")
    filePath: str = Field("", description="The file; optional for diagnostics (then: all files) and workspaceSymbol")
    line: int = Field(0, ge=0, description="1-based line of the position")
    character: int = Field(
        0, ge=0, validation_alias=AliasChoices("character", "column"), description="1-based column of the position"
    )
    symbol: str = Field("", description="A name to find in the file instead of line/character")
    query: str = Field("", description="Search text for workspaceSymbol")
    newName: str = Field("", description="The new name, for rename")

    @field_validator("operation", mode="before")
    @classmethod
    def _alias(cls, value: object) -> object:
        return ALIASES.get(value, value) if isinstance(value, str) else value


class LspTool(Tool[LspParams]):
    name = "lsp"
    params = LspParams
    description_file = "lsp.txt"

    async def run(self, params: LspParams, ctx: ToolContext) -> ToolResult:
        manager = ctx.lsp
        if manager is None:
            raise ToolError("Language servers are turned off (config `lsp` is false); use grep and read instead.")
        op = params.operation
        path = ctx.resolve(params.filePath) if params.filePath else None
        if path is None and op not in ("diagnostics", "workspaceSymbol"):
            raise ToolError(f"{op} needs filePath: the file to work on.")
        if path is not None:
            if path.is_dir():
                raise ToolError(f"{path} is a directory; give the path of a source file.")
            if not path.exists():
                raise ToolError(f"File not found: {path}")
        from opencode.lsp.manager import LspUnavailable
        from opencode.tool.read import relative

        title = f"{op} {relative(path, ctx.root)}" if path is not None else op
        await ctx.ask(
            PermissionRequest("lsp", ["*"], f"Ask the language server: {title}", {"filePath": str(path or "")}, ["*"])
        )
        try:
            if op == "diagnostics":
                return await self._diagnostics(manager, path, ctx, title)
            if op == "workspaceSymbol":
                return await self._workspace_symbols(manager, params.query or params.symbol or "", path, ctx, title)
            assert path is not None
            if op == "documentSymbol":
                return await self._document_symbols(manager, path, ctx, title)
            if op == "format":
                return await self._format(manager, path, ctx, title)
            line, column = await self._position(params, path)
            title += f":{line + 1}:{column + 1}"
            return await self._at(manager, op, path, line, column, params, ctx, title)
        except LspUnavailable as exc:
            raise ToolError(str(exc))
        except _lsp_error() as exc:
            raise ToolError(f"The language server failed: {exc}")

    # --- positions ----------------------------------------------------------------------------

    async def _position(self, params: LspParams, path: Path) -> tuple[int, int]:
        """0-based (line, character column) from line/character or a symbol name."""
        from opencode.lsp.edits import lines_of

        text = await asyncio.to_thread(path.read_text, "utf-8", "replace")
        lines = lines_of(text)
        if params.symbol:
            name = params.symbol.rsplit(".", 1)[-1].strip()
            pattern = re.compile(rf"(?<![\w$]){re.escape(name)}(?![\w$])")
            order = range(len(lines))
            if params.line:
                if params.line > len(lines):
                    raise ToolError(f"line {params.line} is past the end of {path} ({len(lines)} lines).")
                order = range(params.line - 1, params.line)
            for index in order:
                found = pattern.search(lines[index])
                if found:
                    return index, found.start()
            where = f"on line {params.line} of" if params.line else "in"
            raise ToolError(f"'{name}' was not found {where} {path}; check the name, or give line and character.")
        if not params.line or not params.character:
            raise ToolError(f"{params.operation} needs a position: line and character (1-based), or symbol.")
        if params.line > len(lines):
            raise ToolError(f"line {params.line} is past the end of {path} ({len(lines)} lines).")
        return params.line - 1, min(params.character - 1, len(lines[params.line - 1]))

    # --- operations ---------------------------------------------------------------------------

    async def _at(
        self,
        manager: LspManager,
        op: str,
        path: Path,
        line: int,
        column: int,
        params: LspParams,
        ctx: ToolContext,
        title: str,
    ) -> ToolResult:
        from opencode.lsp.client import path_to_uri
        from opencode.lsp.edits import lines_of, to_lsp

        text = await asyncio.to_thread(path.read_text, "utf-8", "replace")
        position = {"line": line, "character": to_lsp(lines_of(text)[line], column)}
        doc = {"textDocument": {"uri": path_to_uri(path)}, "position": position}
        if op == "hover":
            _, result = await manager.request(path, "textDocument/hover", doc, "hoverProvider")
            shown = hover_text(result)
            return ToolResult(shown or "No hover information at this position.", title, {"result": result})
        if op == "rename":
            if not params.newName:
                raise ToolError("rename needs newName: the new name for the symbol.")
            _, edit = await manager.request(
                path, "textDocument/rename", {**doc, "newName": params.newName}, "renameProvider", loaded=True
            )
            from opencode.lsp.edits import workspace_edits

            if not edit:
                raise ToolError("The language server found nothing to rename at this position.")
            return await apply_edits(manager, workspace_edits(edit), ctx, title, f"Renamed to {params.newName}")
        if op == "codeAction":
            return await self._code_actions(manager, path, position, ctx, title)
        method, capability = {
            "goToDefinition": ("textDocument/definition", "definitionProvider"),
            "findReferences": ("textDocument/references", "referencesProvider"),
            "goToImplementation": ("textDocument/implementation", "implementationProvider"),
        }[op]
        request = {**doc, "context": {"includeDeclaration": True}} if op == "findReferences" else doc
        _, result = await manager.request(path, method, request, capability)
        locations = [result] if isinstance(result, dict) else list(result or [])
        if not locations:
            return ToolResult(f"No results found for {op}.", title, {"result": []})
        lines = await asyncio.to_thread(describe_locations, locations[:MAX_ITEMS], ctx.root)
        more = f"\n... {len(locations) - MAX_ITEMS} more" if len(locations) > MAX_ITEMS else ""
        head = f"{len(locations)} location{'s' if len(locations) != 1 else ''}:\n"
        return ToolResult(head + "\n".join(lines) + more, title, {"result": locations[:MAX_ITEMS]})

    async def _diagnostics(self, manager: LspManager, path: Path | None, ctx: ToolContext, title: str) -> ToolResult:
        from opencode.lsp.manager import LspUnavailable, one_line, position
        from opencode.tool.read import relative

        if path is not None:
            got = await manager.diagnostics(path)
            if not got.servers:
                if got.ready or manager.busy(path):
                    raise ToolError(f"Diagnostics for {relative(path, ctx.root)} were not ready in time; try again.")
                raise LspUnavailable(manager.unavailable(path))
            found = {path: got.items}
        else:
            found = manager.known_diagnostics()
        rows: list[str] = []
        count = 0
        for file, items in sorted(found.items()):
            if not items:
                continue
            rows.append(relative(file, ctx.root) + ":")
            for item in sorted(items, key=lambda d: ((d.get("range") or {}).get("start") or {}).get("line", 0)):
                count += 1
                if count <= MAX_ITEMS:
                    rows.append(
                        f"  {position(item)} {SEVERITY.get(item.get('severity', 1), 'error')}: {one_line(item)}"
                    )
        if count > MAX_ITEMS:
            rows.append(f"... {count - MAX_ITEMS} more")
        if not rows:
            scope = relative(path, ctx.root) if path is not None else "the files the language servers have checked"
            return ToolResult(f"No diagnostics for {scope}.", title, {"count": 0})
        return ToolResult("\n".join(rows), title, {"count": count})

    async def _document_symbols(self, manager: LspManager, path: Path, ctx: ToolContext, title: str) -> ToolResult:
        from opencode.lsp.client import path_to_uri

        _, result = await manager.request(
            path, "textDocument/documentSymbol", {"textDocument": {"uri": path_to_uri(path)}}, "documentSymbolProvider"
        )
        rows = symbol_tree(list(result or []), ctx.root)
        if not rows:
            return ToolResult("No symbols found in this file.", title, {"result": []})
        more = f"\n... {len(rows) - MAX_ITEMS * 2} more" if len(rows) > MAX_ITEMS * 2 else ""
        return ToolResult("\n".join(rows[: MAX_ITEMS * 2]) + more, title, {"count": len(rows)})

    async def _workspace_symbols(
        self, manager: LspManager, query: str, path: Path | None, ctx: ToolContext, title: str
    ) -> ToolResult:
        if path is not None:
            # Started and done with a first look at the file, so the index holds the project.
            got = await manager.diagnostics(path)
            if not got.servers and not manager.busy(path):
                raise ToolError(manager.unavailable(path))
        elif not manager.clients:
            raise ToolError("No language server is running yet; give filePath (any file of the project's language).")
        symbols = await manager.workspace_symbols(query)
        if not symbols:
            return ToolResult(f"No symbols match {query!r}.", title, {"result": []})
        rows = [describe_symbol(s, ctx.root) for s in symbols[:MAX_ITEMS]]
        more = f"\n... {len(symbols) - MAX_ITEMS} more" if len(symbols) > MAX_ITEMS else ""
        return ToolResult("\n".join(rows) + more, f"{title} {query}", {"count": len(symbols)})

    async def _code_actions(
        self, manager: LspManager, path: Path, position: dict[str, int], ctx: ToolContext, title: str
    ) -> ToolResult:
        from opencode.lsp.client import path_to_uri

        got = await manager.diagnostics(path, timeout=3.0)
        line = position["line"]
        here = [d for d in got.items if ((d.get("range") or {}).get("start") or {}).get("line") == line]
        request = {
            "textDocument": {"uri": path_to_uri(path)},
            "range": {"start": position, "end": position},
            "context": {"diagnostics": here},
        }
        _, result = await manager.request(path, "textDocument/codeAction", request, "codeActionProvider")
        actions = list(result or [])
        if not actions:
            return ToolResult("No code actions at this position.", title, {"result": []})
        rows = []
        for action in actions[:MAX_ITEMS]:
            kind = action.get("kind") or ("command" if "command" in action and "edit" not in action else "")
            preferred = " (preferred)" if action.get("isPreferred") else ""
            rows.append(f"- {action.get('title', '?')}{f' [{kind}]' if kind else ''}{preferred}")
        note = "\n\nThese are listed only; make the change you want with edit."
        return ToolResult("\n".join(rows) + note, title, {"count": len(actions)})

    async def _format(self, manager: LspManager, path: Path, ctx: ToolContext, title: str) -> ToolResult:
        from opencode.lsp.client import path_to_uri

        text = await asyncio.to_thread(path.read_text, "utf-8", "replace")
        options = {"tabSize": _indent_size(text), "insertSpaces": "\n\t" not in text, "trimTrailingWhitespace": True}
        _, edits = await manager.request(
            path,
            "textDocument/formatting",
            {"textDocument": {"uri": path_to_uri(path)}, "options": options},
            "documentFormattingProvider",
            loaded=True,
        )
        if not edits:
            return ToolResult(f"{path.name} is already formatted.", title, {"files": []})
        return await apply_edits(manager, {path: list(edits)}, ctx, title, "Formatted")


SEVERITY = {1: "error", 2: "warning", 3: "info", 4: "hint"}
SYMBOL_KINDS = [
    "File",
    "Module",
    "Namespace",
    "Package",
    "Class",
    "Method",
    "Property",
    "Field",
    "Constructor",
    "Enum",
    "Interface",
    "Function",
    "Variable",
    "Constant",
    "String",
    "Number",
    "Boolean",
    "Array",
    "Object",
    "Key",
    "Null",
    "EnumMember",
    "Struct",
    "Event",
    "Operator",
    "TypeParameter",
]


def _lsp_error() -> type[Exception]:
    from opencode.lsp.client import LspError

    return LspError


def _indent_size(text: str) -> int:
    sizes = [len(line) - len(line.lstrip(" ")) for line in text.splitlines() if line.startswith(" ")]
    return min((s for s in sizes if s), default=4) if sizes else 4


def kind_name(kind: object) -> str:
    return SYMBOL_KINDS[kind - 1] if isinstance(kind, int) and 0 < kind <= len(SYMBOL_KINDS) else "Symbol"


def hover_text(result: Any) -> str:
    if not result:
        return ""
    contents = result.get("contents") if isinstance(result, dict) else result
    parts = contents if isinstance(contents, list) else [contents]
    out = []
    for part in parts:
        if isinstance(part, str):
            out.append(part)
        elif isinstance(part, dict):
            value = str(part.get("value", ""))
            language = part.get("language")
            out.append(f"```{language}\n{value}\n```" if language else value)
    return "\n\n".join(p.strip() for p in out if p.strip())


def describe_locations(locations: list[dict[str, Any]], root: Path) -> list[str]:
    """`path:line:col: source line` for each location (files read from disk)."""
    from opencode.lsp.client import uri_to_path
    from opencode.lsp.manager import describe_location

    cache: dict[Path, list[str]] = {}
    rows = []
    for location in locations:
        row = describe_location(location, root)
        path = uri_to_path(str(location.get("uri") or location.get("targetUri") or ""))
        start = ((location.get("range") or location.get("targetSelectionRange") or {}).get("start")) or {}
        if path is not None:
            if path not in cache:
                try:
                    cache[path] = path.read_text("utf-8", "replace").splitlines()
                except OSError:
                    cache[path] = []
            lines = cache[path]
            number = int(start.get("line", 0))
            if number < len(lines):
                row += f": {lines[number].strip()[:200]}"
        rows.append(row)
    return rows


def describe_symbol(symbol: dict[str, Any], root: Path) -> str:
    from opencode.lsp.manager import describe_location

    location = symbol.get("location") or {}
    where = (
        describe_location(location, root)
        if location.get("range")
        else describe_location({"uri": location.get("uri", ""), "range": {}}, root).rsplit(":", 2)[0]
    )
    container = f" (in {symbol['containerName']})" if symbol.get("containerName") else ""
    return f"{kind_name(symbol.get('kind'))} {symbol.get('name', '?')}{container}  {where}"


def symbol_tree(symbols: list[dict[str, Any]], root: Path, depth: int = 0) -> list[str]:
    from opencode.lsp.manager import position

    rows = []
    for symbol in symbols:
        if "location" in symbol:  # SymbolInformation: flat
            rows.append(describe_symbol(symbol, root))
            continue
        where = position({"range": symbol.get("selectionRange") or symbol.get("range") or {}})
        detail = f" {symbol['detail']}" if symbol.get("detail") else ""
        rows.append(f"{'  ' * depth}{kind_name(symbol.get('kind'))} {symbol.get('name', '?')}{detail}  {where}")
        rows += symbol_tree(list(symbol.get("children") or []), root, depth + 1)
    return rows


async def apply_edits(
    manager: LspManager, changes: dict[Path, list[Any]], ctx: ToolContext, title: str, verb: str
) -> ToolResult:
    """Apply a server's edits through the edit path: each file checked, asked for and written atomically."""
    from opencode.lsp.edits import EditProblem, apply_text_edits
    from opencode.tool.edit import decode_text, save_edit
    from opencode.tool.read import relative
    from opencode.tool.write import diff_stats, path_lock

    outside = [str(p) for p in changes if p.resolve() != ctx.root and ctx.root not in p.resolve().parents]
    if outside:
        raise ToolError(
            f"The change would touch files outside the project ({', '.join(outside)}); nothing was changed."
        )
    done: list[dict[str, Any]] = []
    diffs: list[str] = []
    try:
        for path, edits in changes.items():
            label = relative(path, ctx.root)
            async with path_lock(path):
                raw = await asyncio.to_thread(path.read_bytes)
                before, form = decode_text(raw, path)
                synced = _synced_text(manager, path)
                if synced is not None and synced != before:
                    raise ToolError(
                        f"{label} changed while the language server worked on it; nothing more was changed."
                    )
                try:
                    after = apply_text_edits(before, edits)
                except EditProblem as exc:
                    raise ToolError(f"Could not apply the server's edits to {label}: {exc}")
                if after == before:
                    continue
                diff = await save_edit(ctx, path, label, before, after, form)
            await manager.sync(path, await manager.clients_for(path))  # the servers see the new text
            additions, deletions = diff_stats(diff)
            done.append({"filePath": str(path), "diff": diff, "additions": additions, "deletions": deletions})
            diffs.append(diff)
    except ToolError as exc:
        if done:
            changed = ", ".join(relative(Path(f["filePath"]), ctx.root) for f in done)
            raise ToolError(f"{exc} Already changed: {changed}.")
        raise
    except (FileNotFoundError, IsADirectoryError) as exc:
        raise ToolError(f"Could not apply the server's edits: {exc}")
    metadata: dict[str, Any] = {"files": done, "diff": "".join(diffs)}
    if len(done) == 1:
        metadata["filePath"] = done[0]["filePath"]
    if not done:
        return ToolResult("Nothing changed.", title, metadata)
    count = sum(len(v) for v in changes.values())
    names = "\n".join(
        f"- {relative(Path(f['filePath']), ctx.root)} (+{f['additions']} -{f['deletions']})" for f in done
    )
    return ToolResult(
        f"{verb}: {count} edit{'s' if count != 1 else ''} in {len(done)} file(s):\n{names}", title, metadata
    )


def _synced_text(manager: LspManager, path: Path) -> str | None:
    for client in manager.clients.values():
        doc = client.documents.get(path)
        if doc is not None:
            return doc.text
    return None
