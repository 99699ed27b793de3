"""Routes declared with their operation (opencode's operationId, body, query and response types), so
`GET /doc` serves an OpenAPI 3.1 document of exactly what the server does.

    routes = [
        api("GET", "/session", list_sessions, "session.list", query=ListQuery, response=list[Session]),
        api("POST", "/session", create_session, "session.create", body=CreateBody, response=Session),
    ]

Types are pydantic models (or anything pydantic's TypeAdapter takes); their JSON schemas go into
`components.schemas`. A streaming route says `response="text/event-stream"`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from starlette.routing import Route


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    operation_id: str
    summary: str
    body: Any = None
    query: Any = None
    response: Any = None


OPERATIONS: dict[tuple[str, str], Operation] = {}


def api(
    method: str,
    path: str,
    handler: Callable[..., Any],
    operation_id: str,
    *,
    body: Any = None,
    query: Any = None,
    response: Any = None,
    summary: str | None = None,
) -> Route:
    """A Starlette route, recorded for the OpenAPI document (`summary` defaults to the handler's docstring)."""
    doc = (summary or handler.__doc__ or operation_id).strip().splitlines()[0]
    OPERATIONS[(method, path)] = Operation(method, path, operation_id, doc, body, query, response)
    return Route(path, handler, methods=[method])


def document(version: str) -> dict[str, Any]:
    from pydantic import BaseModel, TypeAdapter
    from pydantic.json_schema import models_json_schema

    models: dict[str, Any] = {}

    def collect(kind: Any) -> None:
        if isinstance(kind, type) and issubclass(kind, BaseModel):
            models[kind.__name__] = kind

    for op in OPERATIONS.values():
        for kind in (op.body, op.query, op.response):
            collect(kind)
    _, defs = models_json_schema(
        [(m, "validation") for m in models.values()], ref_template="#/components/schemas/{model}"
    )
    schemas: dict[str, Any] = dict(defs.get("$defs", {}))

    def schema_of(kind: Any) -> dict[str, Any]:
        if isinstance(kind, type) and issubclass(kind, BaseModel):
            return {"$ref": f"#/components/schemas/{kind.__name__}"}
        produced = TypeAdapter(kind).json_schema(ref_template="#/components/schemas/{model}")
        schemas.update(produced.pop("$defs", {}))
        return produced

    paths: dict[str, dict[str, Any]] = {}
    for op in sorted(OPERATIONS.values(), key=lambda o: (o.path, o.method)):
        item: dict[str, Any] = {"operationId": op.operation_id, "summary": op.summary}
        parameters = [
            {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
            for name in re.findall(r"{(\w+)(?::\w+)?}", op.path)
        ]
        if op.query is not None:
            for name, field in op.query.model_fields.items():
                parameters.append(
                    {"name": field.alias or name, "in": "query", "required": field.is_required(), "schema": {}}
                )
        if parameters:
            item["parameters"] = parameters
        if op.body is not None:
            item["requestBody"] = {"required": True, "content": {"application/json": {"schema": schema_of(op.body)}}}
        if op.response == "text/event-stream":
            content: dict[str, Any] = {"text/event-stream": {"schema": {"type": "string"}}}
        elif op.response is None:
            content = {"application/json": {"schema": {"type": "boolean"}}}
        else:
            content = {"application/json": {"schema": schema_of(op.response)}}
        item["responses"] = {
            "200": {"description": "OK", "content": content},
            "400": {"description": "Bad request: the message names the field"},
        }
        paths.setdefault(re.sub(r"{(\w+):\w+}", r"{\1}", op.path), {})[op.method.lower()] = item
    return {
        "openapi": "3.1.0",
        "info": {"title": "opencode", "version": version, "description": "opencode's HTTP API (OpenCode Python)"},
        "paths": paths,
        "components": {"schemas": schemas},
    }
