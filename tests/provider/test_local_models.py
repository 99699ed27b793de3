"""Listing the models of a running local server, and nothing (quickly) when none runs."""

from __future__ import annotations

import time

import httpx

from opencode.provider.local import list_local_models
from opencode.testing.model_server import ScriptedModelServer
from tests.provider.support import closed_port, mock_client


async def test_lists_models_from_the_openai_route(model_server: ScriptedModelServer) -> None:
    model_server.local_models.ids.extend(["llama3.2:latest", "qwen3:8b"])
    ids = await list_local_models(model_server.base_url("ollama") + "/")
    assert ids == ["llama3.2:latest", "qwen3:8b"]
    request = model_server.requests[-1]
    assert (request.method, request.path) == ("GET", "/v1/models")
    assert "authorization" not in request.headers


async def test_sends_the_key_when_given(model_server: ScriptedModelServer) -> None:
    model_server.local_models.ids.append("local-model")
    assert await list_local_models(model_server.base_url("ollama"), api_key="lm-key") == ["local-model"]
    assert model_server.requests[-1].headers["authorization"] == "Bearer lm-key"


async def test_server_with_no_models_gives_empty_list(model_server: ScriptedModelServer) -> None:
    assert await list_local_models(model_server.base_url("ollama")) == []
    assert [r.path for r in model_server.requests] == ["/v1/models"]


async def test_scripted_ollama_tags_route(model_server: ScriptedModelServer) -> None:
    model_server.local_models.ids.extend(["gemma3:4b"])
    async with httpx.AsyncClient() as client:
        response = await client.get(f"{model_server.url}/api/tags")
    assert response.status_code == 200
    (entry,) = response.json()["models"]
    assert (entry["name"], entry["model"]) == ("gemma3:4b", "gemma3:4b")
    assert len(entry["digest"]) == 64


async def test_closed_port_gives_empty_list_quickly() -> None:
    started = time.monotonic()
    assert await list_local_models(f"http://127.0.0.1:{closed_port()}/v1", timeout=0.5) == []
    assert time.monotonic() - started < 1.0


async def test_unparseable_address_gives_empty_list() -> None:
    assert await list_local_models("http://[not-an-address/v1", timeout=0.2) == []


async def test_timeout_gives_empty_list() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    async with mock_client(handler) as client:
        assert await list_local_models("http://127.0.0.1:11434/v1", client=client) == []


async def test_old_ollama_without_openai_route_falls_back_to_tags() -> None:
    paths: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        paths.append(request.url.path)
        if request.url.path == "/api/tags":
            return httpx.Response(200, json={"models": [{"name": "llama3:latest"}, {"model": "phi4:14b"}, {}]})
        return httpx.Response(404, text="404 page not found")

    async with mock_client(handler) as client:
        ids = await list_local_models("http://localhost:11434/v1", client=client)
    assert ids == ["llama3:latest", "phi4:14b"]
    assert paths == ["/v1/models", "/api/tags"]


async def test_no_tags_fallback_for_servers_that_do_not_look_like_ollama() -> None:
    paths: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        paths.append(request.url.path)
        return httpx.Response(404)

    async with mock_client(handler) as client:
        assert await list_local_models("http://127.0.0.1:9000/api", client=client) == []
    assert paths == ["/api/models"]


async def test_malformed_answers_give_empty_list() -> None:
    answers = iter([httpx.Response(200, text="not json"), httpx.Response(200, json={"models": "none"})])

    async with mock_client(lambda request: next(answers)) as client:
        assert await list_local_models("http://127.0.0.1:11434", client=client) == []


async def test_duplicate_and_non_string_ids_are_dropped() -> None:
    data = {"data": [{"id": "a"}, {"id": "a"}, {"id": 3}, "junk", {"id": "b"}]}
    async with mock_client(lambda request: httpx.Response(200, json=data)) as client:
        assert await list_local_models("http://127.0.0.1:1234/v1", client=client) == ["a", "b"]
