"""MCP in both directions, on the official `mcp` SDK (imported only when a server is configured or served).

Modules:
    manager.py   `McpManager`: the configured servers (config `mcp`), started in parallel in the
                 background, their status (published on the bus, shown by `opencode mcp list`),
                 tools, prompts and resources; restart once on a crash; timeouts
    tools.py     an MCP tool as one of ours (`server_tool`, schema passed through and fixed up,
                 results to text and attachments), and the on-demand search past the tool budget
    oauth.py     OAuth for remote servers: discovery, dynamic client registration (reused), PKCE,
                 the loopback redirect, tokens 0600 under the data dir, refresh under a lock
                 shared between processes, re-auth on 401
    server.py    `opencode mcp serve`: our tools and a `run_agent` tool for other MCP clients
"""
