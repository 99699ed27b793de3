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
    routes/      one module per group of endpoints (global_, session, file, find, config, ...)

Starlette and uvicorn are imported only by this package, which only `serve`, `web` and tests import.
"""
