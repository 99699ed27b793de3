"""`opencode serve`: opencode's HTTP API over the engine, plus SSE, WebSocket and GraphQL, secure by default.

    from opencode.server.app import create_app
    app = create_app(engine, ServerOptions.build(hostname="127.0.0.1", port=4096))

Modules:
    options.py   `ServerOptions`: address, password (required off loopback), `--cors` origins, body cap
    guard.py     the ASGI middleware in front of everything: Host check, Origin/CORS, auth, body cap
    errors.py    opencode's error shape (`{"name", "data": {"message"}}`), body and query validation
    events.py    the `Hub` (bus to many clients, slow ones dropped) and the SSE endpoints
    app.py       `create_app`: the Starlette app from the route modules, with the guard and handlers
    runner.py    run the app on uvicorn (in this thread, or a background one for tests and benches)
    credentials.py  where a running server leaves its address and password for local clients (attach)
    openapi.py   routes declared with their operation, so GET /doc documents what the server does
    routes/      one module per group of endpoints: global_ (health, events, log, /doc), session,
                 message, project (config, providers, agents, vcs ...), files (file, find), ws (/ws),
                 graphql (/graphql), web (the browser UI's assets; last)
    graphql/     the strawberry schema (imported on the first /graphql request)
    web/         the browser UI: static HTML, JS and CSS shipped in the package (no build step)

Starlette and uvicorn are imported only by this package, which only `serve`, `web` and tests import.
"""
