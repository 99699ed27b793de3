"""Wire adapters, one per protocol. Loaded by name so that only the one in use is imported."""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from opencode.provider.adapters.base import Adapter

PROTOCOLS: dict[str, str] = {
    "openai-chat": "opencode.provider.adapters.openai_chat:OpenAIChatAdapter",
    "openai-responses": "opencode.provider.adapters.openai_responses:OpenAIResponsesAdapter",
    "azure": "opencode.provider.adapters.azure:AzureOpenAIAdapter",
    "anthropic": "opencode.provider.adapters.anthropic:AnthropicAdapter",
    "gemini": "opencode.provider.adapters.gemini:GeminiAdapter",
    "bedrock": "opencode.provider.adapters.bedrock:BedrockAdapter",
    "cohere": "opencode.provider.adapters.cohere:CohereAdapter",
}


def adapter_class(protocol: str) -> type[Adapter]:
    try:
        target = PROTOCOLS[protocol]
    except KeyError:
        known = ", ".join(sorted(PROTOCOLS))
        raise ValueError(f"unknown wire protocol {protocol!r} (known: {known})") from None
    module, _, name = target.partition(":")
    cls: type[Adapter] = getattr(import_module(module), name)
    return cls
