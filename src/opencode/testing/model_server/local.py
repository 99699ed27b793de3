"""The model lists of local servers (ollama, LM Studio, llama.cpp) for the scripted model server.

`GET /v1/models` answers in OpenAI's list shape, as all three local servers do, and
`GET /api/tags` in ollama's native shape; both list `server.local_models.ids`. Like the real
local servers they want no key. Chat requests to those models go to the OpenAI-chat handler.
"""

from __future__ import annotations

import hashlib

from starlette.responses import JSONResponse, Response

from opencode.testing.model_server.server import RecordedRequest, ScriptedModelServer

CREATED = 1_735_689_600
"""A fixed `created` time (2025-01-01) so answers are the same on every run."""


class ModelListHandler:
    """`GET /v1/models`: `{"object": "list", "data": [{"id": ..., "object": "model", ...}]}`."""

    name = "local-models"

    def match(self, method: str, path: str) -> bool:
        return method == "GET" and path == "/v1/models"

    async def handle(self, server: ScriptedModelServer, request: RecordedRequest) -> Response:
        data = [
            {"id": i, "object": "model", "created": CREATED, "owned_by": "library"} for i in server.local_models.ids
        ]
        return JSONResponse({"object": "list", "data": data})


class OllamaTagsHandler:
    """`GET /api/tags`: `{"models": [{"name": ..., "model": ..., "size": ..., "digest": ...}]}`."""

    name = "ollama-tags"

    def match(self, method: str, path: str) -> bool:
        return method == "GET" and path == "/api/tags"

    async def handle(self, server: ScriptedModelServer, request: RecordedRequest) -> Response:
        models = [
            {
                "name": i,
                "model": i,
                "modified_at": "2025-01-01T00:00:00Z",
                "size": 0,
                "digest": hashlib.sha256(i.encode()).hexdigest(),
                "details": {"format": "gguf"},
            }
            for i in server.local_models.ids
        ]
        return JSONResponse({"models": models})


MODELS = ModelListHandler()
TAGS = OllamaTagsHandler()
HANDLERS = [MODELS, TAGS]
