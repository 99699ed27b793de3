"""Every protocol, through the registry as `opencode run` uses it: usage normalised, cost from the catalog."""

from __future__ import annotations

from typing import Any

import pytest

from opencode.config.schema import Config
from opencode.provider.catalog import load_catalog
from opencode.provider.cost import cost_of
from opencode.provider.registry import Registry
from opencode.provider.types import Finish, ModelRequest, TextPart, Usage, UserMessage
from opencode.testing.model_server import Reply, ScriptedModelServer, ScriptUsage, Text

# One vendor per wire protocol.
VENDOR_OF = {
    "openai-chat": "deepseek",
    "openai-responses": "openai",
    "azure": "azure",
    "anthropic": "anthropic",
    "gemini": "google",
    "bedrock": "amazon-bedrock",
    "cohere": "cohere",
}


def registry_for(provider: str, protocol: str, server: ScriptedModelServer) -> Registry:
    options: dict[str, Any] = {"baseURL": server.base_url(protocol), "maxRetries": 0}
    if protocol == "bedrock":
        options.update(accessKeyId=server.aws_access_key_id, secretAccessKey=server.api_key, region=server.aws_region)
    else:
        options["apiKey"] = server.api_key
    config = Config.model_validate({"provider": {provider: {"options": options}}})
    return Registry.load(config, environ={}, credentials={})


def priced_model(provider: str) -> str:
    models = load_catalog()[provider].models.values()
    return next(m.id for m in models if m.cost.input > 0 and m.cost.output > 0)


@pytest.mark.parametrize("protocol", sorted(VENDOR_OF))
@pytest.mark.parametrize("streamed", [True, False], ids=["streamed", "complete"])
async def test_usage_and_cost(protocol: str, streamed: bool, model_server: ScriptedModelServer) -> None:
    provider = VENDOR_OF[protocol]
    registry = registry_for(provider, protocol, model_server)
    model = registry.resolve(f"{provider}/{priced_model(provider)}")
    assert model.provider.protocol == protocol
    model_server.push(Reply([Text("priced")], usage=ScriptUsage(input=1000, output=200, cache_read=300)))
    request = ModelRequest(model=model.info.id, messages=[UserMessage([TextPart("hi")])], max_tokens=500)
    if streamed:
        finishes = [e async for e in model.stream(request) if isinstance(e, Finish)]
        assert len(finishes) == 1
        usage, cost = finishes[0].usage, finishes[0].cost
    else:
        response = await model.complete(request)
        assert response.text == "priced"
        usage, cost = response.usage, response.cost
    assert usage == Usage(input=1000, output=200, cache_read=300)
    assert cost == pytest.approx(cost_of(Usage(input=1000, output=200, cache_read=300), model.info.cost))
    assert cost > 0
