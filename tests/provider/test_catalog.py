"""The model catalog: the shipped copy, the refreshed cache, and the facts read from models.dev."""

from __future__ import annotations

import json
from importlib.resources import files
from pathlib import Path

import httpx
import pytest

from opencode.config.paths import paths
from opencode.provider.catalog import (
    CatalogError,
    Cost,
    ModelInfo,
    ProviderInfo,
    load_catalog,
    parse_catalog,
    refresh_catalog,
)
from opencode.provider.vendors import VENDORS
from tests.provider.support import closed_port, mock_client

PROVIDER_KEYS = {"id", "name", "env", "npm", "api", "doc", "models"}
MODEL_KEYS = {
    "id",
    "name",
    "family",
    "attachment",
    "reasoning",
    "tool_call",
    "structured_output",
    "temperature",
    "knowledge",
    "release_date",
    "last_updated",
    "modalities",
    "open_weights",
    "cost",
    "limit",
    "status",
}
MODEL_REQUIRED = {"id", "name", "attachment", "reasoning", "tool_call", "release_date", "last_updated"}
MODEL_REQUIRED |= {"modalities", "open_weights", "cost", "limit"}

REFRESHED = {
    "acme": {
        "id": "acme",
        "name": "Acme",
        "env": ["ACME_API_KEY"],
        "npm": "@ai-sdk/openai-compatible",
        "api": "https://api.acme.example/v1",
        "doc": "https://acme.example/docs",
        "models": {
            "rocket-1": {
                "id": "rocket-1",
                "name": "Rocket 1",
                "attachment": False,
                "reasoning": True,
                "tool_call": True,
                "temperature": True,
                "release_date": "2026-01-01",
                "last_updated": "2026-01-01",
                "modalities": {"input": ["text"], "output": ["text"]},
                "open_weights": False,
                "cost": {"input": 1.5, "output": 6},
                "limit": {"context": 64000, "output": 8000},
            }
        },
    }
}


def shipped_json() -> dict:
    return json.loads(files("opencode.provider.data").joinpath("models.json").read_text())


# --- the shipped copy ------------------------------------------------------------------------


def test_shipped_catalog_is_package_data_in_models_dev_format() -> None:
    data = shipped_json()
    for pid, provider in data.items():
        assert provider["id"] == pid
        assert set(provider) <= PROVIDER_KEYS and {"id", "name", "env", "npm", "doc", "models"} <= set(provider)
        assert isinstance(provider["env"], list)
        for mid, model in provider["models"].items():
            assert model["id"] == mid
            assert MODEL_REQUIRED <= set(model) <= MODEL_KEYS, (pid, mid, set(model) ^ MODEL_KEYS)
            assert set(model["modalities"]) == {"input", "output"}
            assert {"input", "output"} <= set(model["cost"])
            assert set(model["cost"]) <= {"input", "output", "reasoning", "cache_read", "cache_write", "input_audio"}
            assert {"context", "output"} <= set(model["limit"]) <= {"context", "input", "output"}


def test_shipped_catalog_loads_when_no_cache(tmp_path: Path) -> None:
    catalog = load_catalog(tmp_path)
    assert set(catalog) == set(shipped_json())
    with_models = [p for p in catalog.values() if p.models]
    assert len(with_models) >= 15
    assert all(isinstance(m, ModelInfo) for p in with_models for m in p.models.values())


def test_default_cache_dir_is_the_xdg_cache(isolated_env: Path) -> None:
    cache = paths().cache
    cache.mkdir(parents=True, exist_ok=True)
    (cache / "models.json").write_text(json.dumps(REFRESHED))
    assert set(load_catalog()) == {"acme"}


def test_every_remote_vendor_has_priced_models_and_local_ones_have_none(tmp_path: Path) -> None:
    catalog = load_catalog(tmp_path)
    for vendor in VENDORS.values():
        if vendor.local:
            assert not catalog.get(vendor.id, ProviderInfo(vendor.id, "", (), None, None, None)).models
            continue
        provider = catalog[vendor.id]
        usable = [m for m in provider.models.values() if m.context > 0 and m.output > 0]
        assert usable, vendor.id
        if vendor.id != "github-models":  # GitHub Models are free to try: models.dev prices them at 0
            assert any(m.cost.input > 0 and m.cost.output > 0 for m in usable), vendor.id


@pytest.mark.parametrize(
    ("provider", "model", "context", "output", "cost"),
    [
        # providers/anthropic/models/claude-sonnet-4-5.toml
        ("anthropic", "claude-sonnet-4-5", 200_000, 64_000, Cost(3.0, 15.0, 0.3, 3.75)),
        # providers/anthropic/models/claude-opus-5.toml on models/anthropic/claude-opus-5.toml
        ("anthropic", "claude-opus-5", 1_000_000, 128_000, Cost(5.0, 25.0, 0.5, 6.25)),
        # providers/openai/models/gpt-5.toml on models/openai/gpt-5.toml
        ("openai", "gpt-5", 400_000, 128_000, Cost(1.25, 10.0, 0.125, None)),
        ("openai", "gpt-5-nano", 400_000, 128_000, Cost(0.05, 0.40, 0.005, None)),
        ("google", "gemini-2.5-pro", 1_048_576, 65_536, Cost(1.25, 10.0, 0.125, None)),
        ("groq", "openai/gpt-oss-120b", 131_072, 65_536, Cost(0.15, 0.60, 0.075, None)),
        ("deepseek", "deepseek-chat", 1_000_000, 8_192, Cost(0.28, 0.42, 0.028, None)),
        ("cohere", "command-a-03-2025", 256_000, 8_000, Cost(2.5, 10.0, None, None)),
        # OpenRouter raises the base model's context and keeps its output limit.
        ("openrouter", "anthropic/claude-sonnet-4.5", 1_000_000, 64_000, Cost(3.0, 15.0, 0.3, 3.75)),
    ],
)
def test_facts_from_models_dev(
    tmp_path: Path, provider: str, model: str, context: int, output: int, cost: Cost
) -> None:
    info = load_catalog(tmp_path)[provider].models[model]
    assert (info.context, info.output) == (context, output)
    assert info.cost == cost
    assert info.provider_id == provider and info.id == model


def test_model_fields_and_provider_fields(tmp_path: Path) -> None:
    catalog = load_catalog(tmp_path)
    sonnet = catalog["anthropic"].models["claude-sonnet-4-5"]
    assert sonnet.name == "Claude Sonnet 4.5 (latest)"
    assert (sonnet.tool_call, sonnet.reasoning, sonnet.attachment, sonnet.temperature) == (True, True, True, True)
    assert sonnet.input_modalities == ("text", "image", "pdf")
    assert (sonnet.release_date, sonnet.knowledge, sonnet.status) == ("2025-09-29", "2025-07-31", None)
    assert catalog["openai"].models["gpt-5"].temperature is False
    assert catalog["mistral"].models["devstral-medium-latest"].status == "deprecated"
    anthropic = catalog["anthropic"]
    assert (anthropic.env, anthropic.npm, anthropic.api) == (("ANTHROPIC_API_KEY",), "@ai-sdk/anthropic", None)
    assert catalog["openrouter"].api == "https://openrouter.ai/api/v1"
    assert catalog["lmstudio"].api == "http://127.0.0.1:1234/v1"


def test_from_dict_tolerates_missing_and_odd_fields() -> None:
    info = ModelInfo.from_dict("p", "m", {"limit": {"context": "lots"}, "cost": {"input": True}, "reasoning": "yes"})
    assert (info.name, info.context, info.output) == ("m", 0, 0)
    assert info.cost == Cost()
    assert (info.tool_call, info.reasoning, info.attachment, info.temperature) == (False, False, False, True)
    assert info.input_modalities == ("text",)
    assert (info.release_date, info.knowledge, info.status) == (None, None, None)
    assert ModelInfo.from_dict("p", "m", None).name == "m"
    provider = ProviderInfo.from_dict("p", {"env": "NOT_A_LIST"})
    assert (provider.name, provider.env, provider.models) == ("p", (), {})


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([], "expected a JSON object"),
        ({}, "expected a JSON object"),
        ({"x": 1}, "provider 'x' is not an object"),
        ({"x": {"models": []}}, "the models of provider 'x'"),
        ({"x": {"models": {"m": "text"}}}, "the models of provider 'x'"),
    ],
)
def test_parse_rejects_wrong_containers(data: object, message: str) -> None:
    with pytest.raises(CatalogError, match=message):
        parse_catalog(data)


# --- the refreshed cache ---------------------------------------------------------------------


def test_valid_cache_wins_over_shipped_copy(tmp_path: Path) -> None:
    (tmp_path / "models.json").write_text(json.dumps(REFRESHED))
    catalog = load_catalog(tmp_path)
    assert set(catalog) == {"acme"}
    rocket = catalog["acme"].models["rocket-1"]
    assert (rocket.context, rocket.output, rocket.cost) == (64000, 8000, Cost(1.5, 6.0))
    assert catalog["acme"].api == "https://api.acme.example/v1"


@pytest.mark.parametrize("content", ["{not json", "[]", '{"acme": {"models": [1, 2]}}', ""])
def test_invalid_cache_falls_back_to_shipped_copy(
    tmp_path: Path, content: str, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "models.json").write_text(content)
    catalog = load_catalog(tmp_path)
    assert "anthropic" in catalog and "acme" not in catalog
    assert "ignoring the cached model catalog" in caplog.text


async def test_refresh_downloads_validates_and_writes(tmp_path: Path) -> None:
    body = json.dumps(REFRESHED).encode()
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, content=body, headers={"content-type": "application/json"})

    cache = tmp_path / "cache" / "nested"
    async with mock_client(handler) as client:
        path = await refresh_catalog("https://models.example/api.json", cache_dir=cache, client=client)
    assert path == cache / "models.json"
    assert path.read_bytes() == body  # written as downloaded, models.dev's own format
    assert [str(r.url) for r in seen] == ["https://models.example/api.json"]
    assert list(cache.iterdir()) == [path]  # no temporary file left behind
    assert set(load_catalog(cache)) == {"acme"}


@pytest.mark.parametrize(
    ("response", "message"),
    [
        (httpx.Response(503, text="upstream down"), "HTTP 503"),
        (httpx.Response(200, text="<html>maintenance</html>"), "the answer is not JSON"),
        (httpx.Response(200, json={"acme": {"models": "none"}}), "the models of provider 'acme' are not objects"),
    ],
)
async def test_refresh_failure_keeps_the_old_file(tmp_path: Path, response: httpx.Response, message: str) -> None:
    cache = tmp_path / "cache"
    cache.mkdir()
    old = json.dumps(REFRESHED)
    (cache / "models.json").write_text(old)
    async with mock_client(lambda request: response) as client:
        with pytest.raises(CatalogError, match=message) as caught:
            await refresh_catalog("https://models.example/api.json", cache_dir=cache, client=client)
    assert "\n" not in str(caught.value)
    assert str(caught.value).startswith("could not refresh the model catalog from https://models.example/api.json")
    assert (cache / "models.json").read_text() == old
    assert [p.name for p in cache.iterdir()] == ["models.json"]


async def test_refresh_from_unreachable_url_raises_and_keeps_cache(tmp_path: Path) -> None:
    old = json.dumps(REFRESHED)
    (tmp_path / "models.json").write_text(old)
    url = f"http://127.0.0.1:{closed_port()}/api.json"
    with pytest.raises(
        CatalogError, match=r"could not refresh the model catalog from http://127\.0\.0\.1:\d+/api\.json: "
    ):
        await refresh_catalog(url, cache_dir=tmp_path)
    assert (tmp_path / "models.json").read_text() == old


async def test_refresh_failure_without_cache_leaves_shipped_copy_in_use(tmp_path: Path) -> None:
    async with mock_client(lambda request: httpx.Response(500)) as client:
        with pytest.raises(CatalogError):
            await refresh_catalog("https://models.example/api.json", cache_dir=tmp_path, client=client)
    assert not (tmp_path / "models.json").exists()
    assert "anthropic" in load_catalog(tmp_path)
