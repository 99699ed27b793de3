"""MCP tools as ours: names, schema fixes, results, and the search past the budget (no server needed)."""

from __future__ import annotations

import base64
from types import SimpleNamespace
from typing import Any

import pytest

from opencode.mcp.manager import substitute_env
from opencode.mcp.tools import McpTool, fix_schema, run_search, spec_size, to_result, tool_name
from opencode.tool.tool import ToolError


def test_names_are_sanitised_to_what_providers_accept() -> None:
    assert tool_name("github", "create-issue") == "github_create-issue"
    assert tool_name("my server", "do.thing/now") == "my_server_do_thing_now"
    long = tool_name("s" * 40, "t" * 40)
    assert len(long) == 64 and long.startswith("s" * 40 + "_")


def test_schema_fixes() -> None:
    assert fix_schema(None) == {"type": "object", "properties": {}}
    assert fix_schema({"$schema": "http://json-schema.org/draft-07/schema#"}) == {"type": "object", "properties": {}}
    original: dict[str, Any] = {
        "type": "object",
        "properties": {
            "url": {"type": "string", "format": "uri"},
            "when": {"type": "string", "format": "date-time"},
            "items": {
                "type": "array",
                "items": {"type": "object", "properties": {"u": {"type": "string", "format": "uri-reference"}}},
            },
        },
        "required": ["url"],
    }
    fixed = fix_schema(original)
    assert "format" not in fixed["properties"]["url"] and fixed["properties"]["when"]["format"] == "date-time"
    assert "format" not in fixed["properties"]["items"]["items"]["properties"]["u"]
    assert fixed["required"] == ["url"]
    assert original["properties"]["url"]["format"] == "uri"  # the server's copy is left alone


def result(*content: Any, is_error: bool = False, structured: Any = None) -> Any:
    return SimpleNamespace(content=list(content), is_error=is_error, structured_content=structured)


def test_results_map_to_text_attachments_and_errors() -> None:
    png = b"\x89PNG\r\n\x1a\nrest"
    out = to_result(
        result(
            SimpleNamespace(type="text", text="hello"),
            SimpleNamespace(type="image", data=base64.b64encode(png).decode(), mime_type="image/png"),
            SimpleNamespace(
                type="resource", resource=SimpleNamespace(uri="a://doc", text="the doc", mime_type="text/plain")
            ),
            SimpleNamespace(
                type="resource",
                resource=SimpleNamespace(
                    uri="a://bin", blob=base64.b64encode(b"\0\1").decode(), mime_type="application/zip", text=None
                ),
            ),
            SimpleNamespace(type="resource_link", name="more", uri="a://more", description="see also"),
        ),
        "srv: t",
    )
    assert out.output.startswith("hello\n\nResource a://doc:\nthe doc")
    assert "a://bin (application/zip, 2 bytes of binary data" in out.output
    assert "Resource: more <a://more> (see also)" in out.output
    assert [(a.mime, a.data) for a in out.attachments] == [("image/png", png)]
    assert to_result(result(structured={"x": 1}), "t").output == '{\n  "x": 1\n}'
    with pytest.raises(ToolError, match="the server says no"):
        to_result(result(SimpleNamespace(type="text", text="the server says no"), is_error=True), "t")


def tool(name: str, description: str) -> McpTool:
    made = McpTool(
        name=name,
        server="s",
        remote_name=name[2:],
        description=description,
        schema={"type": "object", "properties": {"q": {}}},
    )
    made.size = spec_size(made)
    return made


def test_search_finds_and_loads_and_rejects_bad_arguments() -> None:
    tools = [
        tool("s_create_issue", "Create a GitHub issue"),
        tool("s_list_repos", "List repositories"),
        tool("s_echo", "Echo"),
    ]
    loaded: set[str] = set()
    found = run_search(tools, loaded, {"query": "issue"})
    assert found.output.splitlines()[0].startswith("- s_create_issue(q): Create a GitHub issue")
    assert "s_list_repos" not in found.output and not loaded
    run_search(tools, loaded, {"load": ["s_echo"]})
    assert loaded == {"s_echo"}
    with pytest.raises(ToolError, match="no MCP tool named s_nope"):
        run_search(tools, loaded, {"load": ["s_nope"]})
    with pytest.raises(ToolError, match="query: expected a string"):
        run_search(tools, loaded, {"query": 3})
    with pytest.raises(ToolError, match="give `query`"):
        run_search(tools, loaded, {})
    assert "No MCP tool matches" in run_search(tools, loaded, {"query": "zebra"}).output


def test_env_substitution() -> None:
    assert substitute_env("Bearer {env:TOKEN}", {"TOKEN": "abc"}) == "Bearer abc"
    assert substitute_env("{env:MISSING}-x", {}) == "-x"
