"""The vendors we know by name, as data: wire protocol, default base URL, key variables.

A vendor is not code. Most vendors speak OpenAI's Chat Completions, so adding one is a row in
`VENDORS`; only a new wire protocol needs an adapter (`opencode.provider.adapters.PROTOCOLS`).
Ids are models.dev's provider ids wherever models.dev has the vendor, so the catalog
(`catalog.py`) and this table join on the id. Models, prices and limits live in the catalog,
not here.

Base URLs are what each vendor documents (and what models.dev's `api` field or the vendor's
AI SDK package uses by default). Two are empty on purpose: Azure's comes from the
`resourceName` option and Bedrock's from the region. Local servers (ollama, LM Studio,
llama.cpp) need no key; their models come from the running server (`local.py`).

`protocol_for_npm` maps the AI SDK package names that models.dev and opencode configs use to
our protocols, for catalog providers and custom providers that have no row here.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Vendor:
    id: str
    name: str
    protocol: str
    """A key of `opencode.provider.adapters.PROTOCOLS`."""
    base_url: str
    """Default base URL; "" when it must come from options (Azure `resourceName`, Bedrock region)."""
    env: tuple[str, ...]
    """Variables that hold the key, preferred first."""
    local: bool = False
    """A server on this machine: its models come from the running server, not the catalog."""
    doc: str = ""
    """Where to get a key (shown to the user, never fetched)."""
    npm: str = ""
    """The AI SDK package opencode and models.dev name for this vendor."""
    key_optional: bool = False


_VENDORS = (
    Vendor(
        "anthropic",
        "Anthropic",
        "anthropic",
        "https://api.anthropic.com/v1",
        ("ANTHROPIC_API_KEY",),
        doc="https://console.anthropic.com/settings/keys",
        npm="@ai-sdk/anthropic",
    ),
    Vendor(
        "openai",
        "OpenAI",
        "openai-responses",
        "https://api.openai.com/v1",
        ("OPENAI_API_KEY",),
        doc="https://platform.openai.com/api-keys",
        npm="@ai-sdk/openai",
    ),
    Vendor(
        "google",
        "Google",
        "gemini",
        "https://generativelanguage.googleapis.com/v1beta",
        # models.dev and the AI SDK read the first; Google's own SDKs and docs use the second.
        ("GOOGLE_GENERATIVE_AI_API_KEY", "GEMINI_API_KEY"),
        doc="https://aistudio.google.com/apikey",
        npm="@ai-sdk/google",
    ),
    Vendor(
        "azure",
        "Azure",
        "azure",
        "",  # https://{resourceName}.openai.azure.com/openai, from the provider's options
        ("AZURE_API_KEY",),
        doc="https://portal.azure.com",
        npm="@ai-sdk/azure",
    ),
    Vendor(
        "amazon-bedrock",
        "Amazon Bedrock",
        "bedrock",
        "",  # https://bedrock-runtime.{region}.amazonaws.com, from the region option or AWS_REGION
        # A Bedrock API key; without one, AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY sign the requests.
        ("AWS_BEARER_TOKEN_BEDROCK",),
        doc="https://console.aws.amazon.com/bedrock",
        npm="@ai-sdk/amazon-bedrock",
    ),
    Vendor(
        "groq",
        "Groq",
        "openai-chat",
        "https://api.groq.com/openai/v1",
        ("GROQ_API_KEY",),
        doc="https://console.groq.com/keys",
        npm="@ai-sdk/groq",
    ),
    Vendor(
        "mistral",
        "Mistral",
        "openai-chat",
        "https://api.mistral.ai/v1",
        ("MISTRAL_API_KEY",),
        doc="https://console.mistral.ai/api-keys",
        npm="@ai-sdk/mistral",
    ),
    Vendor(
        "xai",
        "xAI",
        "openai-chat",
        "https://api.x.ai/v1",
        ("XAI_API_KEY",),
        doc="https://console.x.ai",
        npm="@ai-sdk/xai",
    ),
    Vendor(
        "cohere",
        "Cohere",
        "cohere",
        "https://api.cohere.com/v2",
        ("COHERE_API_KEY",),
        doc="https://dashboard.cohere.com/api-keys",
        npm="@ai-sdk/cohere",
    ),
    Vendor(
        "perplexity",
        "Perplexity",
        "openai-chat",
        "https://api.perplexity.ai",
        ("PERPLEXITY_API_KEY",),
        doc="https://www.perplexity.ai/settings/api",
        npm="@ai-sdk/perplexity",
    ),
    Vendor(
        "togetherai",
        "Together AI",
        "openai-chat",
        "https://api.together.xyz/v1",
        ("TOGETHER_API_KEY",),
        doc="https://api.together.ai/settings/api-keys",
        npm="@ai-sdk/togetherai",
    ),
    Vendor(
        "cerebras",
        "Cerebras",
        "openai-chat",
        "https://api.cerebras.ai/v1",
        ("CEREBRAS_API_KEY",),
        doc="https://cloud.cerebras.ai",
        npm="@ai-sdk/cerebras",
    ),
    Vendor(
        "openrouter",
        "OpenRouter",
        "openai-chat",
        "https://openrouter.ai/api/v1",
        ("OPENROUTER_API_KEY",),
        doc="https://openrouter.ai/keys",
        npm="@openrouter/ai-sdk-provider",
    ),
    Vendor(
        "deepseek",
        "DeepSeek",
        "openai-chat",
        "https://api.deepseek.com",
        ("DEEPSEEK_API_KEY",),
        doc="https://platform.deepseek.com/api_keys",
        npm="@ai-sdk/deepseek",
    ),
    Vendor(
        "fireworks-ai",
        "Fireworks AI",
        "openai-chat",
        "https://api.fireworks.ai/inference/v1",
        ("FIREWORKS_API_KEY",),
        doc="https://fireworks.ai/account/api-keys",
        npm="@ai-sdk/fireworks",
    ),
    Vendor(
        "github-models",
        "GitHub Models",
        "openai-chat",
        "https://models.github.ai/inference",
        ("GITHUB_TOKEN",),
        doc="https://github.com/settings/tokens",
        npm="@ai-sdk/openai-compatible",
    ),
    Vendor(
        "huggingface",
        "Hugging Face",
        "openai-chat",
        "https://router.huggingface.co/v1",
        ("HF_TOKEN",),
        doc="https://huggingface.co/settings/tokens",
        npm="@ai-sdk/openai-compatible",
    ),
    Vendor(
        "ollama",
        "Ollama",
        "openai-chat",
        "http://localhost:11434/v1",
        (),
        local=True,
        doc="https://ollama.com/download",
        npm="@ai-sdk/openai-compatible",
        key_optional=True,
    ),
    Vendor(
        "lmstudio",
        "LM Studio",
        "openai-chat",
        "http://127.0.0.1:1234/v1",
        # Only when the server's "require authentication" setting is on.
        ("LMSTUDIO_API_KEY",),
        local=True,
        doc="https://lmstudio.ai/download",
        npm="@ai-sdk/openai-compatible",
        key_optional=True,
    ),
    Vendor(
        "llama.cpp",
        "llama.cpp",
        "openai-chat",
        "http://127.0.0.1:8080/v1",  # llama-server's default address
        (),
        local=True,
        doc="https://github.com/ggml-org/llama.cpp/tree/master/tools/server",
        npm="@ai-sdk/openai-compatible",
        key_optional=True,
    ),
)

VENDORS: dict[str, Vendor] = {vendor.id: vendor for vendor in _VENDORS}

_NPM_PROTOCOLS: dict[str, str] = {
    "@ai-sdk/openai": "openai-responses",
    "@ai-sdk/azure": "azure",
    "@ai-sdk/anthropic": "anthropic",
    "@ai-sdk/google": "gemini",
    "@ai-sdk/amazon-bedrock": "bedrock",
    "@ai-sdk/cohere": "cohere",
}

# Packages of vendors whose API is OpenAI's Chat Completions (their SDK packages wrap it).
_OPENAI_CHAT_NPM = frozenset(
    {
        "@ai-sdk/openai-compatible",
        "@ai-sdk/groq",
        "@ai-sdk/mistral",
        "@ai-sdk/xai",
        "@ai-sdk/deepseek",
        "@ai-sdk/togetherai",
        "@ai-sdk/cerebras",
        "@ai-sdk/perplexity",
        "@ai-sdk/fireworks",
        "@ai-sdk/deepinfra",
        "@openrouter/ai-sdk-provider",
        # models.dev's ollama entry names this package; ollama serves the same API under /v1.
        "ollama-ai-provider",
        "ollama-ai-provider-v2",
    }
)


def protocol_for_npm(npm: str | None) -> str | None:
    """Our wire protocol for an AI SDK package name, or None for a package we cannot speak for."""
    if not npm:
        return None
    npm = npm.strip()
    if npm in _NPM_PROTOCOLS:
        return _NPM_PROTOCOLS[npm]
    if npm in _OPENAI_CHAT_NPM:
        return "openai-chat"
    return None


__all__ = ["VENDORS", "Vendor", "protocol_for_npm"]
