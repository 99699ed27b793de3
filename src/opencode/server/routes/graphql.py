"""/graphql: the GraphQL API (opencode.server.graphql), built on its first request.

`POST /graphql` takes `{"query", "variables"?, "operationName"?}` and answers `{"data", "errors"?}`;
a WebSocket on `/graphql` speaks graphql-transport-ws (or graphql-ws) for `subscription { events }`.
strawberry is imported when the first request comes, not when the server starts.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from starlette.routing import WebSocketRoute

from opencode.server.openapi import api


class GraphQLRequest(BaseModel):
    query: str
    variables: dict[str, Any] | None = None
    operationName: str | None = None


class GraphQLResponse(BaseModel):
    data: dict[str, Any] | None = None
    errors: list[dict[str, Any]] | None = None


class LazyGraphQL:
    """An ASGI app that builds strawberry's on the first call and hands every request to it."""

    def __init__(self) -> None:
        self.app: Any = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if self.app is None:
            from opencode.server.graphql.app import graphql_app

            self.app = graphql_app()
        await self.app(scope, receive, send)


endpoint = LazyGraphQL()

routes = [
    api(
        "POST",
        "/graphql",
        endpoint,
        "graphql.query",
        body=GraphQLRequest,
        response=GraphQLResponse,
        summary="GraphQL over sessions, messages and parts (subscriptions: a WebSocket on /graphql)",
    ),
    WebSocketRoute("/graphql", endpoint),
]
