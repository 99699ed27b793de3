"""Fixtures shared by the adapter tests: endpoints on the scripted model server, closed after each test."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from opencode.provider.adapters.base import Endpoint
from opencode.testing.model_server import ScriptedModelServer
from tests.provider.support import close_endpoint, endpoint_on


@pytest.fixture
async def endpoints() -> AsyncIterator[list[Endpoint]]:
    """Endpoints a test makes; their HTTP clients are closed when it ends."""
    made: list[Endpoint] = []
    yield made
    for endpoint in made:
        await close_endpoint(endpoint)


@pytest.fixture
def open_endpoint(model_server: ScriptedModelServer, endpoints: list[Endpoint]) -> Callable[..., Endpoint]:
    """Make endpoints with `endpoint_on(model_server, protocol, provider_id, **fields)`, closed when the test ends."""

    def open_on(protocol: str, provider_id: str, **fields: Any) -> Endpoint:
        endpoint = endpoint_on(model_server, protocol, provider_id, **fields)
        endpoints.append(endpoint)
        return endpoint

    return open_on
