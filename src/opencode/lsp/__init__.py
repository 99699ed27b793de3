"""Language servers: what an IDE would show the model (diagnostics after edits, the `lsp` tool).

- `client.py`: one server process and the JSON-RPC conversation with it over stdio (initialize,
  document sync with versions, pushed diagnostics, the server's own requests, shutdown).
- `servers.py`: the built-in server definitions (opencode's names), config `lsp`, root markers,
  finding binaries.
- `manager.py`: the servers of a project: lazy start per (server, root), restart once after a
  crash, missing binaries reported once, fresh diagnostics per file version, the engine's
  after-edit hook, shutdown.
- `edits.py`: positions (UTF-16 columns) and applying a server's text and workspace edits.

The `lsp` tool is `opencode.tool.lsp`; `opencode debug lsp` is `opencode.cli.debug_lsp`.
Nothing is imported here; `lsprotocol` is imported only when a server starts.
"""
