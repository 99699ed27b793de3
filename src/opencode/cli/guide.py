"""The one-screen guide shown when no provider is connected yet."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from opencode.provider.registry import Registry

GUIDE = """\
OpenCode needs a model provider before it can do anything.

Connect one of these (any one is enough):

  opencode auth login anthropic        store a key (asked for, never echoed)
  export OPENAI_API_KEY=sk-...         or set the provider's key variable
  ollama serve / LM Studio / llama.cpp a local server on its default port is found by itself

Providers with their key variables:
{providers}

Any OpenAI-compatible server works from opencode.json:

  {{"provider": {{"mine": {{"npm": "@ai-sdk/openai-compatible",
      "options": {{"baseURL": "http://localhost:8000/v1", "apiKey": "{{env:MY_KEY}}"}},
      "models": {{"my-model": {{}}}}}}}}}}

Then: `opencode models` lists what you can use, and `opencode run "hello"` tries it.
"""


def guide_text(registry: Registry) -> str:
    lines = []
    for provider in sorted(registry.providers.values(), key=lambda p: p.id):
        if provider.local or provider.custom:
            continue
        keys = ", ".join(provider.env) if provider.env else "-"
        if provider.protocol == "bedrock":
            keys = f"AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY, or {keys}"
        lines.append(f"  {provider.id:<18} {keys}")
    return GUIDE.format(providers="\n".join(lines))
