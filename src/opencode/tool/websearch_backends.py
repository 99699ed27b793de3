"""The services the `websearch` tool can ask, each in its own API's shape.

A back end knows three things: the request its API wants (`call`), how to read the answer
(`parse`), and what an error status means for it (`explain`). Sending, timeouts, size caps and
error mapping are the tool's (`opencode.tool.websearch`), so a back end is data plus two small
functions. Every base URL can be replaced from config (`websearch_backend.url`).

- SearXNG: `GET {url}/search?q=...&format=json`; the instance must allow the json format.
- Brave: `GET /res/v1/web/search?q=...&count=N` with `X-Subscription-Token: $BRAVE_API_KEY`.
- Tavily: `POST /search` with a JSON body and `Authorization: Bearer $TAVILY_API_KEY`.
- Exa: `POST /search` with a JSON body and `x-api-key: $EXA_API_KEY`.
"""

from __future__ import annotations

import abc
import html
import re
from dataclasses import dataclass, field
from typing import Any, ClassVar


@dataclass
class SearchResult:
    title: str
    url: str
    snippet: str = ""
    published: str = ""


@dataclass
class Call:
    """One HTTP request to a search API, relative to its base URL."""

    method: str
    path: str
    params: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    json: dict[str, Any] | None = None


class Backend(abc.ABC):
    name: ClassVar[str]
    label: ClassVar[str]
    default_url: ClassVar[str | None] = None
    key_env: ClassVar[str | None] = None
    """The environment variable holding the API key (None: the service needs none)."""

    def __init__(self, base_url: str, api_key: str | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key or ""

    @abc.abstractmethod
    def call(self, query: str, count: int) -> Call:
        """The request for `query`, asking for `count` results where the API takes a count."""

    @abc.abstractmethod
    def parse(self, data: Any) -> list[SearchResult]:
        """The results in the API's JSON answer, best first; entries without a URL are skipped."""

    def explain(self, status: int) -> str:
        """A hint for an error status, appended to the error the model reads."""
        if status in (401, 403) and self.key_env:
            return f" The {self.label} API rejected the key in {self.key_env}; ask the user to check it."
        if status == 429:
            return f" {self.label} is rate limiting or the plan's quota is used up; wait, or tell the user."
        return ""


class SearXNG(Backend):
    name = "searxng"
    label = "SearXNG"

    def call(self, query: str, count: int) -> Call:
        return Call("GET", "/search", {"q": query, "format": "json"}, {"accept": "application/json"})

    def parse(self, data: Any) -> list[SearchResult]:
        return [
            SearchResult(_text(item.get("title")), _text(item.get("url")), _text(item.get("content")), _date(item))
            for item in _items(data, "results")
        ]

    def explain(self, status: int) -> str:
        if status == 403:
            return " The instance does not serve JSON: `json` must be listed under search.formats in its settings.yml."
        return super().explain(status)


class Brave(Backend):
    name = "brave"
    label = "Brave Search"
    default_url = "https://api.search.brave.com"
    key_env = "BRAVE_API_KEY"

    def call(self, query: str, count: int) -> Call:
        headers = {"accept": "application/json", "x-subscription-token": self.api_key}
        return Call("GET", "/res/v1/web/search", {"q": query, "count": str(min(count, 20))}, headers)

    def parse(self, data: Any) -> list[SearchResult]:
        web = data.get("web") if isinstance(data, dict) else None
        results = []
        for item in _items(web, "results"):
            snippet = _text(item.get("description"))
            extra = [_text(piece) for piece in item.get("extra_snippets") or [] if isinstance(piece, str)]
            if not snippet and extra:
                snippet = extra[0]
            results.append(
                SearchResult(_text(item.get("title")), _text(item.get("url")), snippet, _text(item.get("age")))
            )
        return results


class Tavily(Backend):
    name = "tavily"
    label = "Tavily"
    default_url = "https://api.tavily.com"
    key_env = "TAVILY_API_KEY"

    def call(self, query: str, count: int) -> Call:
        body = {"query": query, "max_results": min(count, 20), "search_depth": "basic"}
        return Call("POST", "/search", headers={"authorization": f"Bearer {self.api_key}"}, json=body)

    def parse(self, data: Any) -> list[SearchResult]:
        return [
            SearchResult(_text(item.get("title")), _text(item.get("url")), _text(item.get("content")), _date(item))
            for item in _items(data, "results")
        ]


class Exa(Backend):
    name = "exa"
    label = "Exa"
    default_url = "https://api.exa.ai"
    key_env = "EXA_API_KEY"

    def call(self, query: str, count: int) -> Call:
        body = {"query": query, "numResults": count, "type": "auto", "contents": {"highlights": True}}
        return Call("POST", "/search", headers={"x-api-key": self.api_key}, json=body)

    def parse(self, data: Any) -> list[SearchResult]:
        results = []
        for item in _items(data, "results"):
            highlights = [_text(piece) for piece in item.get("highlights") or [] if isinstance(piece, str)]
            snippet = " … ".join(piece for piece in highlights if piece) or _text(item.get("summary"))
            if not snippet:
                snippet = _text(item.get("text"))[:500].rstrip()
            results.append(SearchResult(_text(item.get("title")), _text(item.get("url")), snippet, _date(item)))
        return results


BACKENDS: dict[str, type[Backend]] = {backend.name: backend for backend in (SearXNG, Brave, Tavily, Exa)}


def _items(data: Any, key: str) -> list[dict[str, Any]]:
    found = data.get(key) if isinstance(data, dict) else None
    if not isinstance(found, list):
        return []
    return [item for item in found if isinstance(item, dict) and item.get("url")]


def _date(item: dict[str, Any]) -> str:
    for key in ("publishedDate", "published_date", "age"):
        value = item.get(key)
        if isinstance(value, str) and value:
            return value[:10] if re.match(r"\d{4}-\d\d-\d\dT", value) else value
    return ""


def _text(value: Any) -> str:
    """Plain text of an API field: markup such as Brave's <strong> removed, entities decoded, one line."""
    if not isinstance(value, str):
        return ""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", "", value)).split())
