"""The protocol handlers of the scripted model server, one module each."""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from opencode.testing.model_server.server import Handler

MODULES = ("openai_chat", "openai_responses", "anthropic", "gemini", "bedrock", "cohere", "local")


def all_handlers() -> list[Handler]:
    handlers: list[Handler] = []
    for name in MODULES:
        module = import_module(f"opencode.testing.model_server.{name}")
        handlers.extend(module.HANDLERS)
    return handlers
