"""Which models a local model server (ollama, LM Studio, llama.cpp) is serving right now.

    await list_local_models("http://localhost:11434/v1")   # ["llama3.2:latest", "qwen3:8b"]

All three answer OpenAI's `GET {base}/models` (`{"data": [{"id": ...}]}`). Older ollama releases
lack that route and answer only their native `GET /api/tags` (`{"models": [{"name": ...}]}`), so
that is tried when a server that looks like ollama's (port 11434, or a base ending in /v1)
answers the first request with an error or an odd body.

This runs while a user waits for a model list, so timeouts are short and an absent server (refused
connection, timeout, bad address) is an empty list, never an exception.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

if TYPE_CHECKING:
    import httpx

OLLAMA_PORT = 11434


async def list_local_models(
    base_url: str,
    *,
    timeout: float = 1.0,
    client: httpx.AsyncClient | None = None,
    api_key: str | None = None,
) -> list[str]:
    """Model ids served at `base_url` (an OpenAI-style base such as http://127.0.0.1:1234/v1)."""
    import httpx

    from opencode.provider.http import make_client

    base = base_url.rstrip("/")
    headers = {"authorization": f"Bearer {api_key}"} if api_key else {}
    own = client is None
    http = make_client(connect_timeout=timeout, read_timeout=timeout) if client is None else client
    try:
        try:
            response = await http.get(f"{base}/models", headers=headers, timeout=timeout)
        except (httpx.HTTPError, httpx.InvalidURL):
            # Nothing listens there; the native route is on the same host and port, so stop here.
            return []
        ids = _openai_ids(response)
        if ids is not None or not _looks_like_ollama(base):
            return ids or []
        try:
            response = await http.get(f"{_ollama_root(base)}/api/tags", timeout=timeout)
        except (httpx.HTTPError, httpx.InvalidURL):
            return []
        return _ollama_names(response) or []
    finally:
        if own:
            await http.aclose()


def _openai_ids(response: httpx.Response) -> list[str] | None:
    data = _json(response)
    items = data.get("data") if isinstance(data, dict) else None
    if not isinstance(items, list):
        return None
    return _unique(item.get("id") for item in items if isinstance(item, dict))


def _ollama_names(response: httpx.Response) -> list[str] | None:
    data = _json(response)
    items = data.get("models") if isinstance(data, dict) else None
    if not isinstance(items, list):
        return None
    return _unique(item.get("name") or item.get("model") for item in items if isinstance(item, dict))


def _json(response: httpx.Response) -> Any:
    if response.status_code != 200:
        return None
    try:
        return response.json()
    except ValueError:
        return None


def _unique(values: Any) -> list[str]:
    return list(dict.fromkeys(v for v in values if isinstance(v, str) and v))


def _looks_like_ollama(base: str) -> bool:
    parts = urlsplit(base)
    try:
        port = parts.port
    except ValueError:
        port = None
    return port == OLLAMA_PORT or parts.path.rstrip("/").endswith("/v1")


def _ollama_root(base: str) -> str:
    return base[: -len("/v1")] if base.endswith("/v1") else base


__all__ = ["list_local_models"]
