"""The `multiedit` tool: several edits to one file, applied in order, all or nothing.

Each edit is placed like an `edit` call (`opencode.tool.matching`), on the text as the edits
before it left it, in memory. The file is written once, after the last edit succeeded; if any
edit fails, nothing is written and the error names the edit (by its index, from 0) and why. The
same read-before-write rule, permission ask and file form (line endings, BOM, mode) as `edit`.
When the file does not exist, the first edit may create it with an empty oldString.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from opencode.tool.edit import read_for_edit, save_edit, shown
from opencode.tool.matching import Applied, EditError, apply_edit
from opencode.tool.read import relative
from opencode.tool.tool import Tool, ToolContext, ToolError, ToolResult
from opencode.tool.write import diff_stats, path_lock


class EditItem(BaseModel):
    oldString: str = Field(description="Text to replace, as for edit")
    newString: str = Field(description="Its replacement")
    replaceAll: bool = Field(False, description="Replace every occurrence (default false)")


class MultiEditParams(BaseModel):
    filePath: str = Field(description="Path of the file to change: absolute, or relative to the working directory")
    edits: list[EditItem] = Field(min_length=1, description="Applied in order, each to the result of the previous ones")


class MultiEditTool(Tool[MultiEditParams]):
    name = "multiedit"
    params = MultiEditParams
    description_file = "multiedit.txt"

    def schema(self) -> dict[str, Any]:
        """The parameters with the edit item inlined: no $defs/$ref (not every provider follows them), no titles."""
        schema = super().schema()
        item = dict(schema.pop("$defs", {}).get("EditItem", {}))
        item.pop("title", None)
        item["properties"] = {
            key: {k: v for k, v in prop.items() if k != "title"} for key, prop in item.get("properties", {}).items()
        }
        schema["properties"]["edits"]["items"] = item
        return schema

    async def run(self, params: MultiEditParams, ctx: ToolContext) -> ToolResult:
        path = ctx.resolve(params.filePath)
        title = relative(path, ctx.root)
        if path.is_dir():
            raise ToolError(f"{path} is a directory; give the path of a file to edit.")
        for index, item in enumerate(params.edits):
            if item.oldString == item.newString:
                raise ToolError(f"edits[{index}]: oldString and newString are identical; nothing was changed.")

        async with path_lock(path):
            existed, text, form = await read_for_edit(ctx, path)
            if not existed and params.edits[0].oldString:
                raise ToolError(
                    f"File not found: {path}. To create it, give the first edit an empty oldString, or use write."
                )
            updated = text
            results: list[Applied | None] = []
            for index, item in enumerate(params.edits):
                if not item.oldString:
                    if index > 0 or updated:
                        raise ToolError(
                            f"edits[{index}] has an empty oldString, but {path} already has content; nothing was "
                            "changed. Give the text to replace (an empty oldString only creates a new file)."
                        )
                    updated = item.newString
                    results.append(None)
                    continue
                try:
                    applied = apply_edit(updated, item.oldString, item.newString, item.replaceAll)
                except EditError as exc:
                    before = f" (after edits 0-{index - 1} were applied in memory)" if index else ""
                    raise ToolError(f"edits[{index}] failed{before}, so {path} was not changed: {exc}")
                updated = applied.text
                results.append(applied)

            diff = await save_edit(ctx, path, title, text, updated, form)

        additions, deletions = diff_stats(diff)
        per_edit: list[dict[str, Any]] = [
            {"matcher": r.matcher, "similarity": r.similarity, "replacements": r.count}
            if r
            else {"matcher": "create", "similarity": 1.0, "replacements": 1}
            for r in results
        ]
        tolerant = [(i, r) for i, r in enumerate(results) if r is not None and r.describe()]
        lowest = min((e["similarity"] for e in per_edit), default=1.0)
        metadata = {
            "filePath": str(path),
            "diff": diff,
            "additions": additions,
            "deletions": deletions,
            "matcher": tolerant[0][1].matcher if tolerant else per_edit[0]["matcher"],
            "similarity": lowest,
            "edits": per_edit,
        }
        count = len(params.edits)
        output = f"Applied {count} edit{'s' if count != 1 else ''} to {path}" + (
            " (created)." if not existed else " (all exact matches)." if not tolerant else "."
        )
        for index, applied in tolerant:
            # Later edits may have moved lines, so show only the note, not stale line numbers.
            output += f"\nedits[{index}]: {applied.describe()}"
        if tolerant and len(tolerant) == 1 and tolerant[0][0] == count - 1:
            output += "\n\n" + shown(updated, tolerant[0][1].after)
        return ToolResult(output, title, metadata)
