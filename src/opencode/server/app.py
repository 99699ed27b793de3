"""The ASGI app: opencode's HTTP API over one engine, behind the `Guard`.

    app = create_app(engine, ServerOptions.build(...))
    uvicorn.run(app, ...)                      # or `opencode serve`

Each group of routes lives in its own module under `routes/` and exports `routes` (a list of
Starlette routes); handlers reach the engine as `engine_of(request)` and never hold logic a face
could share: that lives in the engine (`opencode.agent.actions` and friends).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from importlib import import_module
from typing import TYPE_CHECKING, Any

from opencode.server.options import ServerOptions

if TYPE_CHECKING:
    from starlette.applications import Starlette
    from starlette.requests import Request

    from opencode.agent.engine import Engine

ROUTE_MODULES = (
    "opencode.server.routes.global_",
    "opencode.server.routes.session",
    "opencode.server.routes.message",
    "opencode.server.routes.project",
    "opencode.server.routes.files",
    "opencode.server.routes.ws",
    "opencode.server.routes.graphql",
    "opencode.server.routes.web",  # the browser UI: last, so API paths win
)
"""Modules whose `routes` make up the API, in matching order."""


def engine_of(request: Request) -> Engine:
    engine: Engine = request.app.state.engine
    return engine


def create_app(engine: Engine, options: ServerOptions | None = None) -> Any:
    """The app (a Starlette wrapped in the Guard middleware); `app.state` holds engine, options and hub."""
    from starlette.applications import Starlette
    from starlette.exceptions import HTTPException
    from starlette.middleware import Middleware

    from opencode.agent.actions import ActionError
    from opencode.server.errors import ApiError, handle_api_error, handle_bug, handle_http_exception
    from opencode.server.events import Hub
    from opencode.server.guard import Guard

    options = options or ServerOptions()
    hub = Hub(engine.bus)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        hub.start()
        try:
            yield
        finally:
            hub.stop()
            await engine.jobs.close()
            await engine.drain()

    routes: list[Any] = []
    for name in ROUTE_MODULES:
        routes.extend(import_module(name).routes)
    app = Starlette(
        routes=routes,
        middleware=[Middleware(Guard, options=options)],
        exception_handlers={
            ApiError: handle_api_error,
            ActionError: handle_bug,
            HTTPException: handle_http_exception,
            Exception: handle_bug,
        },
        lifespan=lifespan,
    )
    app.state.engine = engine
    app.state.options = options
    app.state.hub = hub
    hub.start()  # also without a lifespan (tests that drive the app directly)
    return app
