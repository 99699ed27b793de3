"""Providers: one wire adapter per protocol, vendors as data, the model catalog, credentials.

Files: `types` (what we send and get back), `errors` (one tree, retryable or not), `retry` (the
one retry layer), `http` (the client factory: proxies, trust store), `sse` (event-stream reader),
`adapters/` (one module per wire protocol), `vendors` (vendor table), `catalog` (models.dev
data, shipped in `data/`), `local` (models of running local servers), `registry` (joins config,
catalog and credentials; resolves `provider/model`), `cost`, `auth` (the auth.json store).
Nothing is imported here, so `import opencode.provider.x` stays cheap.
"""
