"""An MCP server's tools as ours: names, schemas, results, and the on-demand search past the budget.

    name = tool_name("github", "create-issue")        # "github_create-issue"
    schema = fix_schema(tool.input_schema)            # what every provider accepts
    result = to_result(call_result, title)            # text, attachments; ToolError when isError

Names are `<server>_<tool>` cut down to what providers accept (`^[a-zA-Z0-9_-]{1,64}$`). Schemas pass
through as the server wrote them, with the few fixes providers need: a top-level `"type": "object"`
with `properties`, and no `$schema` / `$id` keys or string `format`s outside the small set OpenAI and
Gemini take. Results: text is the output, images (and audio) become attachments the model sees in
the next request, embedded resources are inlined as text (blobs become attachments), resource links
are listed; `isError` becomes a `ToolError` with the server's text.

Past the tool budget (`tool_budget`), the servers' tools are not all sent: `mcp_search` is sent instead,
which finds MCP tools by words of their name and description and loads the ones the model names, so
they are offered from the next step on.
"""

from __future__ import annotations

import base64
import binascii
import copy
import json
import os
import re
from dataclasses import dataclass, field
from typing import Any

from opencode.provider.types import ToolSpec
from opencode.tool.tool import Attachment, ToolError, ToolResult

__all__ = [
    "DEFAULT_TOOL_BUDGET",
    "SEARCH_TOOL",
    "McpTool",
    "convert_content",
    "embedded",
    "fix_schema",
    "search_spec",
    "spec_size",
    "to_result",
    "tool_budget",
    "tool_name",
]

DEFAULT_TOOL_BUDGET = 30_000
"""Characters of JSON (name, description, schema) all MCP tools together may take in a request before
`mcp_search` is offered instead; `OPENCODE_MCP_TOOL_BUDGET` overrides it (0: always search)."""
BUDGET_ENV = "OPENCODE_MCP_TOOL_BUDGET"
SEARCH_TOOL = "mcp_search"
SEARCH_RESULTS = 10

_BAD_NAME_CHARS = re.compile(r"[^a-zA-Z0-9_-]")
# String formats OpenAI's strict mode and Gemini accept; others are dropped (the model still reads the description).
_KEPT_FORMATS = frozenset(
    {"date-time", "date", "time", "duration", "email", "hostname", "ipv4", "ipv6", "uuid", "enum"}
)
_DROPPED_KEYS = ("$schema", "$id")


@dataclass
class McpTool:
    """One server tool as the model sees it, and what it takes to call it."""

    name: str
    """Ours: `<server>_<tool>`, sanitised."""
    server: str
    remote_name: str
    """The server's own name for it."""
    description: str
    schema: dict[str, Any]
    read_only: bool = False
    """The server says `readOnlyHint`: no snapshot is taken for a step that runs only such tools."""
    size: int = field(default=0)

    def spec(self) -> ToolSpec:
        return ToolSpec(name=self.name, description=self.description, parameters=self.schema)


def tool_name(server: str, tool: str) -> str:
    """`<server>_<tool>` with characters providers reject replaced by `_`, at most 64 characters."""
    name = _BAD_NAME_CHARS.sub("_", f"{server}_{tool}")
    return name[:64]


def fix_schema(schema: dict[str, Any] | None) -> dict[str, Any]:
    """A copy of an MCP input schema that providers accept (see the module docstring)."""
    fixed: dict[str, Any] = copy.deepcopy(schema) if isinstance(schema, dict) else {}
    for key in _DROPPED_KEYS:
        fixed.pop(key, None)
    if fixed.get("type") != "object":
        fixed["type"] = "object"
    if not isinstance(fixed.get("properties"), dict):
        fixed["properties"] = {}
    required = fixed.get("required")
    if required is not None and not isinstance(required, list):
        del fixed["required"]
    _drop_formats(fixed)
    return fixed


def _drop_formats(node: Any) -> None:
    if isinstance(node, list):
        for item in node:
            _drop_formats(item)
        return
    if not isinstance(node, dict):
        return
    fmt = node.get("format")
    if isinstance(fmt, str) and node.get("type") == "string" and fmt not in _KEPT_FORMATS:
        del node["format"]
    for key in ("properties", "$defs", "definitions", "patternProperties"):
        sub = node.get(key)
        if isinstance(sub, dict):
            for value in sub.values():
                _drop_formats(value)
    for key in ("items", "additionalProperties", "anyOf", "oneOf", "allOf", "prefixItems", "not"):
        if key in node:
            _drop_formats(node[key])


def spec_size(tool: McpTool) -> int:
    """Characters of JSON the tool's definition takes in a request."""
    return len(json.dumps({"name": tool.name, "description": tool.description, "parameters": tool.schema}))


def tool_budget() -> int:
    raw = os.environ.get(BUDGET_ENV, "").strip()
    if raw.isdigit():
        return int(raw)
    return DEFAULT_TOOL_BUDGET


def from_mcp(server: str, tool: Any) -> McpTool:
    """Our `McpTool` for an SDK `types.Tool` of `server`."""
    annotations = getattr(tool, "annotations", None)
    description = (tool.description or getattr(tool, "title", None) or tool.name).strip()
    made = McpTool(
        name=tool_name(server, tool.name),
        server=server,
        remote_name=tool.name,
        description=description,
        schema=fix_schema(tool.input_schema),
        read_only=bool(annotations is not None and annotations.read_only_hint),
    )
    made.size = spec_size(made)
    return made


# --- results --------------------------------------------------------------------------------


def to_result(result: Any, title: str) -> ToolResult:
    """An SDK `CallToolResult` as our result; `ToolError` with the server's text when it says isError."""
    texts, attachments = convert_content(result.content or [])
    if not result.content and result.structured_content is not None:
        texts.append(json.dumps(result.structured_content, indent=2))
    output = "\n\n".join(texts)
    if result.is_error:
        raise ToolError(output or "the MCP server reported an error without a message")
    if not output and attachments:
        output = f"{len(attachments)} attachment(s): " + ", ".join(a.mime for a in attachments)
    return ToolResult(output=output, title=title, metadata={}, attachments=attachments)


def convert_content(items: list[Any]) -> tuple[list[str], list[Attachment]]:
    """MCP content blocks (of a tool result or a prompt) as texts and attachments."""
    texts: list[str] = []
    attachments: list[Attachment] = []
    for item in items:
        kind = getattr(item, "type", "")
        if kind == "text":
            texts.append(item.text)
        elif kind in ("image", "audio"):
            data = _b64(item.data)
            if data is None:
                texts.append(f"[{kind} the server sent was not valid base64]")
            else:
                attachments.append(Attachment(mime=item.mime_type, data=data))
        elif kind == "resource":
            embedded(item.resource, texts, attachments)
        elif kind == "resource_link":
            described = f" ({item.description})" if item.description else ""
            texts.append(f"Resource: {item.name} <{item.uri}>{described}")
    return texts, attachments


def embedded(resource: Any, texts: list[str], attachments: list[Attachment]) -> None:
    text = getattr(resource, "text", None)
    mime = getattr(resource, "mime_type", None) or "application/octet-stream"
    if isinstance(text, str):
        texts.append(f"Resource {resource.uri}:\n{text}")
        return
    data = _b64(getattr(resource, "blob", "") or "")
    if data is None:
        texts.append(f"Resource {resource.uri}: [blob was not valid base64]")
    elif mime.startswith(("image/", "audio/")) or mime == "application/pdf":
        attachments.append(Attachment(mime=mime, data=data, filename=str(resource.uri).rsplit("/", 1)[-1] or None))
        texts.append(f"Resource {resource.uri} ({mime}, {len(data)} bytes): attached")
    else:
        texts.append(f"Resource {resource.uri} ({mime}, {len(data)} bytes of binary data, not shown)")


def _b64(data: str) -> bytes | None:
    try:
        return base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        return None


# --- the search past the budget ----------------------------------------------------------------


SEARCH_DESCRIPTION = (
    "Find and load tools from the connected MCP servers ({servers}). Their {count} tools are too many to "
    "list here. Give `query` (words of what you need) to see matching tools with their descriptions; give "
    "`load` (exact tool names) to load them: loaded tools can be called from your next step on."
)


def search_spec(servers: list[str], count: int) -> ToolSpec:
    return ToolSpec(
        name=SEARCH_TOOL,
        description=SEARCH_DESCRIPTION.format(servers=", ".join(servers), count=count),
        parameters={
            "type": "object",
            "properties": {
                "query": {"type": "string", "description": "words to look for in tool names and descriptions"},
                "load": {
                    "type": "array",
                    "items": {"type": "string"},
                    "description": "exact names of tools to load for the next steps",
                },
            },
        },
    )


def search(tools: list[McpTool], query: str) -> list[McpTool]:
    """Tools ranked by how many of the query's words their name and description hold (none: none)."""
    words = [w for w in re.split(r"[\s_\-]+", query.lower()) if w]
    scored: list[tuple[int, str, McpTool]] = []
    for tool in tools:
        haystack = f"{tool.name} {tool.remote_name} {tool.description}".lower()
        score = sum(2 if word in tool.name.lower() else 1 for word in words if word in haystack)
        if score:
            scored.append((-score, tool.name, tool))
    return [tool for _, _, tool in sorted(scored, key=lambda s: (s[0], s[1]))][:SEARCH_RESULTS]


def run_search(tools: list[McpTool], loaded: set[str], arguments: dict[str, Any]) -> ToolResult:
    """`mcp_search`: matches for `query`, and `load` added to `loaded` (names checked)."""
    query = arguments.get("query")
    load = arguments.get("load")
    if query is not None and not isinstance(query, str):
        raise ToolError("query: expected a string of words")
    if load is not None and not (isinstance(load, list) and all(isinstance(n, str) for n in load)):
        raise ToolError("load: expected an array of tool names")
    if not query and not load:
        raise ToolError("give `query` (words to search for) or `load` (tool names to load)")
    by_name = {tool.name: tool for tool in tools}
    lines: list[str] = []
    if load:
        unknown = [name for name in load if name not in by_name]
        if unknown:
            raise ToolError(f"no MCP tool named {', '.join(unknown)}; search with `query` to find the right names")
        loaded.update(load)
        lines.append(f"Loaded {', '.join(load)}: call them from your next step.")
    if query:
        found = search(tools, query)
        if not found:
            lines.append(f"No MCP tool matches {query!r}; try other words.")
        for tool in found:
            mark = " (loaded)" if tool.name in loaded else ""
            params = ", ".join(tool.schema.get("properties", {}))
            lines.append(f"- {tool.name}{mark}({params}): {tool.description}")
    title = f"search: {query}" if query else f"load: {', '.join(load or [])}"
    return ToolResult(output="\n".join(lines), title=title, metadata={"loaded": sorted(loaded)})
