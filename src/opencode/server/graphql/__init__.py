"""GraphQL over the engine's sessions, messages and parts, with a subscription to the bus (strawberry).

    POST /graphql   {"query": "{ sessions { id title messages { role parts { type text } } } }"}
    WS   /graphql   graphql-transport-ws (or the older graphql-ws):
                    subscription { events(sessionID: "ses_...") { type properties } }

Modules:
    schema.py   the types (Session, Message, Part, ToolState, Event), Query and Subscription
    app.py      `graphql_app()`: strawberry's ASGI app, its context holding the engine and the hub

Strawberry is imported only by this package, and this package only on the first /graphql request
(see opencode.server.routes.graphql), so neither `opencode --help` nor the server's start pays for it.
Names are opencode's JSON keys (`sessionID`, `providerID`), not camel-cased from Python; times are
epoch milliseconds as Float (GraphQL's Int is 32-bit); what has too many shapes to type (a message's
tokens, a tool's input, a whole part) is a JSON scalar.
"""
