"""The vendor table: every row speaks a protocol we have, agrees with the catalog, and maps npm names."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import pytest

from opencode.provider.adapters import PROTOCOLS
from opencode.provider.catalog import load_catalog
from opencode.provider.vendors import VENDORS, Vendor, protocol_for_npm

REQUIRED = {
    "anthropic",
    "openai",
    "google",
    "azure",
    "amazon-bedrock",
    "groq",
    "mistral",
    "xai",
    "cohere",
    "perplexity",
    "togetherai",
    "cerebras",
    "openrouter",
    "deepseek",
    "fireworks-ai",
    "github-models",
    "huggingface",
    "ollama",
    "lmstudio",
    "llama.cpp",
}


def test_required_vendors_are_there_keyed_by_id() -> None:
    assert set(VENDORS) >= REQUIRED
    assert all(key == vendor.id for key, vendor in VENDORS.items())


@pytest.mark.parametrize("vendor", VENDORS.values(), ids=list(VENDORS))
def test_vendor_row_is_sound(vendor: Vendor) -> None:
    assert vendor.protocol in PROTOCOLS
    assert vendor.name and vendor.doc.startswith("https://")
    assert protocol_for_npm(vendor.npm) == vendor.protocol
    if vendor.local:
        assert vendor.key_optional
        assert urlsplit(vendor.base_url).hostname in {"localhost", "127.0.0.1"}
    elif vendor.id in {"azure", "amazon-bedrock"}:
        assert vendor.base_url == ""  # from the resource name / region
        assert vendor.env
    else:
        assert vendor.base_url.startswith("https://") and not vendor.base_url.endswith("/")
        assert vendor.env and all(name.isupper() for name in vendor.env)


def test_every_vendor_is_in_the_catalog_or_local(tmp_path: Path) -> None:
    catalog = load_catalog(tmp_path)
    for vendor in VENDORS.values():
        assert vendor.local or catalog[vendor.id].models, vendor.id


def test_catalog_npm_names_lead_to_the_vendors_protocol(tmp_path: Path) -> None:
    for pid, provider in load_catalog(tmp_path).items():
        if pid in VENDORS:
            assert protocol_for_npm(provider.npm) == VENDORS[pid].protocol, (pid, provider.npm)


def test_base_urls_agree_with_models_dev_where_it_has_one(tmp_path: Path) -> None:
    catalog = load_catalog(tmp_path)
    for vendor in VENDORS.values():
        api = catalog[vendor.id].api if vendor.id in catalog else None
        if api:
            assert vendor.base_url == api.rstrip("/"), vendor.id


def test_known_addresses_and_keys() -> None:
    assert (VENDORS["ollama"].base_url, VENDORS["ollama"].env) == ("http://localhost:11434/v1", ())
    assert VENDORS["lmstudio"].base_url == "http://127.0.0.1:1234/v1"
    assert VENDORS["llama.cpp"].base_url == "http://127.0.0.1:8080/v1"
    assert VENDORS["anthropic"].env == ("ANTHROPIC_API_KEY",)
    assert VENDORS["google"].env[0] == "GOOGLE_GENERATIVE_AI_API_KEY"
    assert VENDORS["groq"].base_url == "https://api.groq.com/openai/v1"


@pytest.mark.parametrize(
    ("npm", "protocol"),
    [
        ("@ai-sdk/openai-compatible", "openai-chat"),
        ("@ai-sdk/openai", "openai-responses"),
        ("@ai-sdk/anthropic", "anthropic"),
        ("@ai-sdk/google", "gemini"),
        ("@ai-sdk/amazon-bedrock", "bedrock"),
        ("@ai-sdk/azure", "azure"),
        ("@ai-sdk/cohere", "cohere"),
        ("@ai-sdk/groq", "openai-chat"),
        ("@ai-sdk/mistral", "openai-chat"),
        ("@ai-sdk/xai", "openai-chat"),
        ("@ai-sdk/deepseek", "openai-chat"),
        ("@ai-sdk/togetherai", "openai-chat"),
        ("@ai-sdk/cerebras", "openai-chat"),
        ("@ai-sdk/perplexity", "openai-chat"),
        ("@ai-sdk/fireworks", "openai-chat"),
        ("@openrouter/ai-sdk-provider", "openai-chat"),
        (" @ai-sdk/groq ", "openai-chat"),
        ("@ai-sdk/google-vertex", None),
        ("some-unknown-package", None),
        ("", None),
        (None, None),
    ],
)
def test_protocol_for_npm(npm: str | None, protocol: str | None) -> None:
    assert protocol_for_npm(npm) == protocol
