from __future__ import annotations

import json
from pathlib import Path

import pytest

from opencode.config.schema import WebSearchBackendConfig
from opencode.tool.registry import ToolRegistry
from opencode.tool.tool import PermissionRequest, ToolContext, ToolError, ToolResult
from opencode.tool.websearch import WebSearchParams, WebSearchTool
from tests.tool.webserver import Reply, WebServer, json_reply


async def search(
    ctx: ToolContext, kind: str, url: str | None, query: str = "python asyncio", **params: object
) -> ToolResult:
    tool = WebSearchTool(WebSearchBackendConfig(type=kind, url=url))  # type: ignore[arg-type]
    return await tool.run(WebSearchParams.model_validate({"query": query, **params}), ctx)


def serve(data: object) -> WebServer:
    return WebServer(lambda request: json_reply(data))


async def test_searxng(ctx: ToolContext) -> None:
    answer = {
        "query": "python asyncio",
        "results": [
            {"title": f"Result {n}", "url": f"https://example.org/{n}", "content": f"About &amp; <b>{n}</b>"}
            for n in range(10)
        ]
        + [{"title": "no url", "content": "skipped"}],
    }
    with serve(answer) as server:
        result = await search(ctx, "searxng", server.url + "/", numResults=3)
    [request] = server.requests
    assert (request.method, request.path) == ("GET", "/search")
    assert request.query == {"q": ["python asyncio"], "format": ["json"]}
    assert result.output == (
        '3 results for "python asyncio" (SearXNG):\n\n'
        "1. Result 0\n   https://example.org/0\n   About & 0\n\n"
        "2. Result 1\n   https://example.org/1\n   About & 1\n\n"
        "3. Result 2\n   https://example.org/2\n   About & 2\n\n"
        "Use webfetch on a URL to read the page."
    )
    assert result.metadata == {
        "backend": "searxng",
        "query": "python asyncio",
        "results": ["https://example.org/0", "https://example.org/1", "https://example.org/2"],
    }


async def test_brave(ctx: ToolContext, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BRAVE_API_KEY", "brave-key")
    answer = {
        "type": "search",
        "query": {"original": "python asyncio"},
        "web": {
            "type": "search",
            "results": [
                {
                    "title": "asyncio — Asynchronous I/O",
                    "url": "https://docs.python.org/3/library/asyncio.html",
                    "description": "<strong>asyncio</strong> is a library to write concurrent code.",
                    "age": "2 days ago",
                },
                {"title": "Only extra", "url": "https://example.org/x", "extra_snippets": ["from the extra snippets"]},
            ],
        },
    }
    with serve(answer) as server:
        result = await search(ctx, "brave", server.url, numResults=5)
    [request] = server.requests
    assert (request.method, request.path) == ("GET", "/res/v1/web/search")
    assert request.headers["x-subscription-token"] == "brave-key"
    assert request.headers["accept"] == "application/json"
    assert request.query == {"q": ["python asyncio"], "count": ["5"]}
    assert (
        "1. asyncio — Asynchronous I/O (2 days ago)\n   https://docs.python.org/3/library/asyncio.html\n"
        in result.output
    )
    assert "   asyncio is a library to write concurrent code.\n" in result.output
    assert "2. Only extra\n   https://example.org/x\n   from the extra snippets" in result.output
    assert result.output.startswith('2 results for "python asyncio" (Brave Search):')


async def test_tavily(ctx: ToolContext, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TAVILY_API_KEY", "tvly-key")
    answer = {
        "query": "python asyncio",
        "answer": None,
        "results": [
            {"title": "Tavily hit", "url": "https://example.org/t", "content": "The content.", "score": 0.9},
        ],
        "response_time": 1.2,
    }
    with serve(answer) as server:
        result = await search(ctx, "tavily", server.url)
    [request] = server.requests
    assert (request.method, request.path) == ("POST", "/search")
    assert request.headers["authorization"] == "Bearer tvly-key"
    assert request.json() == {"query": "python asyncio", "max_results": 8, "search_depth": "basic"}
    assert "1. Tavily hit\n   https://example.org/t\n   The content." in result.output


async def test_exa(ctx: ToolContext, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EXA_API_KEY", "exa-key")
    answer = {
        "requestId": "r1",
        "results": [
            {
                "id": "https://example.org/e",
                "title": "Exa hit",
                "url": "https://example.org/e",
                "publishedDate": "2024-05-01T00:00:00.000Z",
                "highlights": ["First highlight.", "Second one."],
            },
            {"id": "u2", "title": "Text only", "url": "https://example.org/f", "text": "Page text " * 100},
        ],
    }
    with serve(answer) as server:
        result = await search(ctx, "exa", server.url, numResults=2)
    [request] = server.requests
    assert (request.method, request.path) == ("POST", "/search")
    assert request.headers["x-api-key"] == "exa-key"
    assert request.json() == {
        "query": "python asyncio",
        "numResults": 2,
        "type": "auto",
        "contents": {"highlights": True},
    }
    assert "1. Exa hit (2024-05-01)\n   https://example.org/e\n   First highlight. … Second one." in result.output
    second = result.output.split("2. Text only\n")[1]
    assert second.startswith("   https://example.org/f\n   Page text Page text")
    assert len(second.splitlines()[1]) <= 3 + 500  # page text stands in for missing highlights, cut at 500


async def test_no_backend_configured_says_how_to_configure_one(ctx: ToolContext) -> None:
    with pytest.raises(ToolError) as caught:
        await WebSearchTool().run(WebSearchParams(query="anything"), ctx)
    message = str(caught.value)
    assert message.startswith("No web search back end is configured.")
    assert '"websearch_backend": {"type": "brave"}' in message
    for name in ("BRAVE_API_KEY", "TAVILY_API_KEY", "EXA_API_KEY", '"searxng"'):
        assert name in message


async def test_no_backend_configured_points_at_a_key_that_is_set(
    ctx: ToolContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TAVILY_API_KEY", "tvly-key")
    with pytest.raises(ToolError, match='TAVILY_API_KEY is set, so "type": "tavily" would work at once'):
        await WebSearchTool().run(WebSearchParams(query="anything"), ctx)


async def test_the_backend_is_read_from_the_project_config(
    ctx: ToolContext, monkeypatch: pytest.MonkeyPatch, project: Path
) -> None:
    monkeypatch.setenv("BRAVE_API_KEY", "from-env")
    with serve({"web": {"results": [{"title": "T", "url": "https://example.org/"}]}}) as server:
        (project / "opencode.json").write_text(json.dumps({"websearch_backend": {"type": "brave", "url": server.url}}))
        result = await ToolRegistry.builtin().execute("websearch", {"query": "q", "numResults": 1}, ctx)
    assert server.requests[0].headers["x-subscription-token"] == "from-env"
    assert result.output.startswith('1 result for "q" (Brave Search):\n\n1. T\n   https://example.org/')


async def test_a_missing_api_key_is_named_and_nothing_is_sent(ctx: ToolContext) -> None:
    with (
        serve({"results": []}) as server,
        pytest.raises(ToolError, match="needs an API key in the EXA_API_KEY environment variable"),
    ):
        await search(ctx, "exa", server.url)
    assert server.requests == []


async def test_searxng_needs_its_url(ctx: ToolContext) -> None:
    with pytest.raises(ToolError, match='"searxng" needs "url"'):
        await search(ctx, "searxng", None)


async def test_a_rejected_key_is_explained(ctx: ToolContext, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BRAVE_API_KEY", "wrong")
    with (
        WebServer(lambda request: json_reply({"error": {"detail": "Invalid token"}}, 401)) as server,
        pytest.raises(ToolError) as caught,
    ):
        await search(ctx, "brave", server.url)
    assert str(caught.value) == (
        "the Brave Search search failed: HTTP 401 Unauthorized: Invalid token. "
        "The Brave Search API rejected the key in BRAVE_API_KEY; ask the user to check it."
    )


async def test_an_api_error_message_is_passed_on(ctx: ToolContext, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TAVILY_API_KEY", "k")
    with (
        WebServer(lambda request: json_reply({"detail": {"error": "Query is too long."}}, 400)) as server,
        pytest.raises(ToolError, match=r"HTTP 400 Bad Request: Query is too long\."),
    ):
        await search(ctx, "tavily", server.url)


async def test_searxng_without_json_output_is_explained(ctx: ToolContext) -> None:
    with (
        WebServer(lambda request: Reply(403, "Forbidden", "text/html")) as server,
        pytest.raises(ToolError, match=r"`json` must be listed under search\.formats"),
    ):
        await search(ctx, "searxng", server.url)


async def test_an_answer_that_is_not_json(ctx: ToolContext) -> None:
    with (
        WebServer(lambda request: Reply(200, "<html>a login page</html>")) as server,
        pytest.raises(ToolError, match="did not answer with JSON"),
    ):
        await search(ctx, "searxng", server.url)


async def test_no_results(ctx: ToolContext) -> None:
    with serve({"query": "zzz", "results": []}) as server:
        result = await search(ctx, "searxng", server.url, query="zzz")
    assert result.output == 'No results for "zzz" (SearXNG). Try other or fewer words.'


async def test_permission_is_asked_with_the_query_and_a_refusal_sends_nothing(
    ctx: ToolContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BRAVE_API_KEY", "k")
    asked: list[PermissionRequest] = []

    async def refuse(request: PermissionRequest) -> None:
        asked.append(request)
        raise ToolError("the user rejected this")

    ctx.ask = refuse
    with serve({"web": {"results": []}}) as server, pytest.raises(ToolError, match="the user rejected this"):
        await search(ctx, "brave", server.url, query="secret plans")
    assert server.requests == []
    [request] = asked
    assert (request.permission, request.patterns, request.always) == ("websearch", ["secret plans"], ["*"])


async def test_bad_arguments_are_refused_by_the_registry(ctx: ToolContext) -> None:
    registry = ToolRegistry([WebSearchTool(WebSearchBackendConfig(type="searxng", url="http://127.0.0.1:9"))])
    with pytest.raises(ToolError, match="numResults: input should be less than or equal to 20"):
        await registry.execute("websearch", {"query": "q", "numResults": 50}, ctx)
    with pytest.raises(ToolError, match="query: required"):
        await registry.execute("websearch", {}, ctx)
    with pytest.raises(ToolError, match="query is empty"):
        await registry.execute("websearch", {"query": "   "}, ctx)


def test_the_description_names_the_year() -> None:
    import datetime

    assert f"The current year is {datetime.date.today().year}" in WebSearchTool().description
    assert "{{year}}" not in WebSearchTool().description


async def test_a_server_that_is_not_there_is_a_clear_error(ctx: ToolContext) -> None:
    # Port 9 (discard) is closed on loopback: the error names the back end and its address.
    with pytest.raises(ToolError, match=r"could not reach SearXNG at http://127.0.0.1:9: ConnectError"):
        await search(ctx, "searxng", "http://127.0.0.1:9")
