"""The `websearch` tool: search the web through the service the user configured.

The service is chosen in config (`"websearch_backend": {"type": "brave"}`; see
`opencode.config.schema.WebSearchBackendConfig`) and its API key read from the environment
(BRAVE_API_KEY, TAVILY_API_KEY, EXA_API_KEY; a SearXNG instance needs only its `url`). With none
configured the tool says how to configure one instead of guessing. The back ends' request and
answer shapes live in `opencode.tool.websearch_backends`; this module sends the request (the one
HTTP client factory, a timeout, a size cap), maps errors, and numbers the results for the model.

The `websearch` permission is asked with the query before anything is sent.
"""

from __future__ import annotations

import asyncio
import datetime
import json
import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from pydantic import BaseModel, Field

from opencode.tool.tool import PermissionRequest, Tool, ToolContext, ToolError, ToolResult
from opencode.tool.webfetch import read_capped, size, status_error, until_aborted
from opencode.tool.websearch_backends import BACKENDS, Backend, SearchResult

if TYPE_CHECKING:
    from opencode.config.schema import WebSearchBackendConfig

DEFAULT_RESULTS = 8
MAX_RESULTS = 20
TIMEOUT_S = 30.0
MAX_ANSWER_BYTES = 2 * 1024 * 1024
MAX_SNIPPET_CHARS = 600


class WebSearchParams(BaseModel):
    query: str = Field(min_length=1, description="The search query")
    numResults: int = Field(
        DEFAULT_RESULTS, ge=1, le=MAX_RESULTS, description="Number of results to return (default 8, at most 20)"
    )


class WebSearchTool(Tool[WebSearchParams]):
    name = "websearch"
    params = WebSearchParams
    description_file = "websearch.txt"

    def __init__(self, config: WebSearchBackendConfig | None = None) -> None:
        """`config` fixes the back end; without it, it is read from the project's config at each call."""
        self._config = config

    @property
    def description(self) -> str:
        return super().description.replace("{{year}}", str(datetime.date.today().year))

    async def run(self, params: WebSearchParams, ctx: ToolContext) -> ToolResult:
        query = params.query.strip()
        if not query:
            raise ToolError("query is empty; give the words to search for")
        backend = self._backend(ctx)
        await ctx.ask(
            PermissionRequest(
                "websearch",
                [query],
                f"Search the web ({backend.label}): {query}",
                {"query": query, "numResults": params.numResults, "backend": backend.name},
                ["*"],
            )
        )
        ctx.check_abort()
        try:
            async with asyncio.timeout(TIMEOUT_S):
                data = await until_aborted(_ask(backend, query, params.numResults), ctx)
        except TimeoutError:
            raise ToolError(f"{backend.label} did not answer within {TIMEOUT_S:g} s; try again later")
        try:
            results = backend.parse(data)[: params.numResults]
        except (AttributeError, TypeError, ValueError) as exc:
            raise ToolError(f"{backend.label} answered in an unexpected shape ({type(exc).__name__}: {exc})")
        metadata = {"backend": backend.name, "query": query, "results": [r.url for r in results]}
        return ToolResult(format_results(query, backend.label, results), f"Web search: {query}", metadata)

    def _backend(self, ctx: ToolContext) -> Backend:
        config = self._config if self._config is not None else _configured(ctx)
        environ = os.environ
        if config is None:
            raise ToolError(not_configured(environ))
        kind = BACKENDS[config.type]
        url = config.url or kind.default_url
        if not url:
            raise ToolError(
                f'websearch_backend "{kind.name}" needs "url": the address of the instance, e.g. '
                '"websearch_backend": {"type": "searxng", "url": "https://searx.example.org"}. '
                "Ask the user to add it to opencode.json."
            )
        if urlsplit(url).scheme not in ("http", "https"):
            raise ToolError(f"websearch_backend.url must be an http(s) URL, got {url!r}; ask the user to fix it")
        key = environ.get(kind.key_env, "").strip() if kind.key_env else None
        if kind.key_env and not key:
            raise ToolError(
                f"the {kind.label} back end needs an API key in the {kind.key_env} environment variable, which is "
                "not set. Ask the user to set it (and restart), or to choose another websearch_backend."
            )
        return kind(url, key)


def _configured(ctx: ToolContext) -> WebSearchBackendConfig | None:
    from opencode.config.errors import ConfigError
    from opencode.config.load import load_config

    try:
        return load_config(ctx.cwd).config.websearch_backend
    except ConfigError as exc:
        raise ToolError(f"the configuration could not be read, so no search back end is known: {exc}")


def not_configured(environ: Mapping[str, str]) -> str:
    present = [kind for kind in BACKENDS.values() if kind.key_env and environ.get(kind.key_env)]
    hint = ""
    if present:
        hint = f' {present[0].key_env} is set, so "type": "{present[0].name}" would work at once.'
    return (
        "No web search back end is configured. Ask the user to add one to opencode.json, e.g. "
        '"websearch_backend": {"type": "brave"}, with the key in the environment. Types: '
        '"searxng" (with "url": a SearXNG instance that serves JSON), "brave" (BRAVE_API_KEY), '
        f'"tavily" (TAVILY_API_KEY), "exa" (EXA_API_KEY).{hint} '
        "Meanwhile, webfetch can read pages whose URL you know."
    )


async def _ask(backend: Backend, query: str, count: int) -> Any:
    import httpx

    from opencode.provider.http import make_client

    call = backend.call(query, count)
    where = backend.base_url + call.path
    try:
        async with make_client(connect_timeout=TIMEOUT_S, read_timeout=TIMEOUT_S) as client:
            request = client.build_request(call.method, where, params=call.params, headers=call.headers, json=call.json)
            response = await client.send(request, stream=True)
            try:
                data, cut = await read_capped(response, MAX_ANSWER_BYTES)
                if not response.is_success:
                    error = status_error(f"the {backend.label} search", response)
                    detail = _detail(data)
                    raise ToolError(f"{error}{': ' + detail if detail else ''}.{backend.explain(response.status_code)}")
            finally:
                await response.aclose()
    except httpx.TimeoutException:
        raise ToolError(f"{backend.label} did not answer within {TIMEOUT_S:g} s; try again later")
    except httpx.HTTPError as exc:
        raise ToolError(f"could not reach {backend.label} at {backend.base_url}: {type(exc).__name__}: {exc}")
    if cut:
        raise ToolError(f"{backend.label} sent more than {size(MAX_ANSWER_BYTES)}; not a search answer")
    try:
        return json.loads(data)
    except ValueError:
        raise ToolError(f"{backend.label} did not answer with JSON (is {backend.base_url} the right address?)")


def _detail(data: bytes) -> str:
    """The API's own error message, shortened: JSON `error`/`detail`/`message`, or the start of the body."""
    text = data.decode("utf-8", errors="replace").strip()
    try:
        body = json.loads(text)
    except ValueError:
        return " ".join(text.split())[:200]
    for key in ("error", "detail", "message"):
        value = body.get(key) if isinstance(body, dict) else None
        if isinstance(value, dict):
            value = value.get("error") or value.get("message") or value.get("detail") or json.dumps(value)
        if value:
            return " ".join(str(value).split())[:200]
    return " ".join(text.split())[:200]


def format_results(query: str, label: str, results: list[SearchResult]) -> str:
    if not results:
        return f'No results for "{query}" ({label}). Try other or fewer words.'
    lines = [f'{len(results)} result{"s" if len(results) != 1 else ""} for "{query}" ({label}):', ""]
    for number, result in enumerate(results, 1):
        title = result.title or result.url
        lines.append(f"{number}. {title}" + (f" ({result.published})" if result.published else ""))
        lines.append(f"   {result.url}")
        if result.snippet:
            snippet = result.snippet
            if len(snippet) > MAX_SNIPPET_CHARS:
                snippet = snippet[:MAX_SNIPPET_CHARS].rstrip() + "…"
            lines.append(f"   {snippet}")
        lines.append("")
    lines.append("Use webfetch on a URL to read the page.")
    return "\n".join(lines)
