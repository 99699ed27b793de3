"""The provider registry: vendors, catalog, config and credentials joined; cost from the catalog."""

from __future__ import annotations

from pathlib import Path

import pytest

from opencode.config import load_config
from opencode.provider import auth
from opencode.provider.catalog import Cost, load_catalog
from opencode.provider.cost import cost_of
from opencode.provider.registry import ModelNotFound, NoCredentials, Registry
from opencode.provider.types import Usage


def registry_for(tmp_path: Path, config: dict | None = None, environ: dict[str, str] | None = None) -> Registry:
    import json

    (tmp_path / ".git").mkdir(exist_ok=True)
    if config is not None:
        (tmp_path / "opencode.json").write_text(json.dumps(config))
    loaded = load_config(tmp_path, environ=environ or {})
    return Registry.load(loaded.config, environ=environ or {})


def test_key_precedence_config_then_auth_then_env(tmp_path: Path) -> None:
    environ = {"ANTHROPIC_API_KEY": "from-env", "OPENAI_API_KEY": "openai-env", "GROQ_API_KEY": "groq-env"}
    auth.set_api_key("anthropic", "from-auth")
    auth.set_api_key("openai", "openai-auth")
    config = {"provider": {"anthropic": {"options": {"apiKey": "from-config"}}}}
    registry = registry_for(tmp_path, config, environ)
    assert (registry.providers["anthropic"].api_key, registry.providers["anthropic"].key_source) == (
        "from-config",
        "config",
    )
    assert (registry.providers["openai"].api_key, registry.providers["openai"].key_source) == (
        "openai-auth",
        "auth.json",
    )
    assert registry.providers["groq"].key_source == "env GROQ_API_KEY"
    assert registry.providers["mistral"].api_key is None


def test_enabled_and_disabled_providers(tmp_path: Path) -> None:
    registry = registry_for(tmp_path, {"disabled_providers": ["openai"]})
    assert "openai" not in registry.providers and "anthropic" in registry.providers
    registry = registry_for(tmp_path, {"enabled_providers": ["anthropic", "groq"]})
    assert set(registry.providers) == {"anthropic", "groq"}


def test_custom_provider_needs_no_code(tmp_path: Path) -> None:
    config = {
        "provider": {
            "corp": {
                "npm": "@ai-sdk/openai-compatible",
                "name": "Corp gateway",
                "options": {
                    "baseURL": "https://llm.corp.example/v1",
                    "apiKey": "corp-key",
                    "headers": {"X-Team": "tools"},
                },
                "models": {"corp-coder": {"name": "Corp Coder", "limit": {"context": 64000, "output": 8000}}},
            }
        }
    }
    registry = registry_for(tmp_path, config)
    model = registry.resolve("corp/corp-coder")
    assert model.provider.protocol == "openai-chat"
    assert model.info.context == 64000 and model.info.output == 8000
    endpoint = model.endpoint()
    assert endpoint.base_url == "https://llm.corp.example/v1"
    assert endpoint.api_key == "corp-key"
    assert endpoint.headers == {"X-Team": "tools"}
    assert model.provider.custom


def test_config_model_options_and_overrides_on_catalog_models(tmp_path: Path) -> None:
    model_id = next(iter(load_catalog()["openai"].models))
    config = {
        "provider": {
            "openai": {
                "options": {"apiKey": "k", "timeout": 5000},
                "models": {model_id: {"options": {"reasoningEffort": "high"}}},
            }
        }
    }
    registry = registry_for(tmp_path, config)
    model = registry.resolve(f"openai/{model_id}")
    assert model.request_options() == {"reasoningEffort": "high"}
    assert model.info.context == load_catalog()["openai"].models[model_id].context
    assert model.endpoint().timeouts.first_byte == 5.0


def test_whitelist_and_blacklist(tmp_path: Path) -> None:
    ids = sorted(load_catalog()["anthropic"].models)
    registry = registry_for(tmp_path, {"provider": {"anthropic": {"whitelist": ids[:2]}}})
    assert sorted(registry.providers["anthropic"].models) == ids[:2]
    registry = registry_for(tmp_path, {"provider": {"anthropic": {"blacklist": ids[:1]}}})
    assert ids[0] not in registry.providers["anthropic"].models


def test_resolve_errors_suggest(tmp_path: Path) -> None:
    registry = registry_for(tmp_path, {}, {"ANTHROPIC_API_KEY": "k"})
    with pytest.raises(ModelNotFound, match="did you mean anthropic"):
        registry.resolve("antropic/x")
    with pytest.raises(ModelNotFound, match="must be written provider/model"):
        registry.resolve("nothing")
    with pytest.raises(NoCredentials, match="opencode auth login mistral"):
        registry.resolve(f"mistral/{next(iter(load_catalog()['mistral'].models))}")


def test_default_model_prefers_config_then_connected(tmp_path: Path) -> None:
    assert registry_for(tmp_path, {"model": "x/y"}).default_model() == "x/y"
    registry = registry_for(tmp_path, {}, {"ANTHROPIC_API_KEY": "k"})
    ref = registry.default_model()
    assert ref is not None and ref.startswith("anthropic/")
    assert registry_for(tmp_path, {}, {}).default_model() is None


def test_cost_counts_reasoning_once_and_cache_prices() -> None:
    cost = Cost(input=3.0, output=15.0, cache_read=0.3, cache_write=3.75)
    usage = Usage(input=1_000_000, output=100_000, reasoning=50_000, cache_read=2_000_000, cache_write=10_000)
    expected = 3.0 + 0.15 * 15.0 + 2 * 0.3 + 0.01 * 3.75
    assert cost_of(usage, cost) == pytest.approx(expected)
    assert cost_of(Usage(cache_read=1_000_000), Cost(input=2.0, output=8.0)) == pytest.approx(2.0)
    assert cost_of(usage, None) == 0.0
