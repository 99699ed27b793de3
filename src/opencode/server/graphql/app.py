"""strawberry's ASGI app for /graphql: queries over POST, subscriptions over WebSocket.

GraphiQL is off (its page loads scripts from a CDN), and so are queries over GET (a POST with a
JSON body cannot be sent cross-site without a preflight, which the Guard refuses to foreign origins).
"""

from __future__ import annotations

from typing import Any

from strawberry.asgi import GraphQL
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL, GRAPHQL_WS_PROTOCOL

from opencode.server.graphql.schema import schema


class OpencodeGraphQL(GraphQL[dict[str, Any], None]):
    async def get_context(self, request: Any, response: Any) -> dict[str, Any]:
        state = request.app.state
        return {"request": request, "response": response, "engine": state.engine, "hub": state.hub}

    def is_websocket_origin_allowed(self, request: Any, origin: str) -> bool:
        return True  # the Guard refused every origin but the server's own and --cors ones before this ran


def graphql_app() -> Any:
    return OpencodeGraphQL(
        schema,
        graphql_ide=None,
        allow_queries_via_get=False,
        subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL, GRAPHQL_WS_PROTOCOL),
    )
