"""Tools: what the model can do in the project.

- `tool.py`: the framework (Tool, ToolContext, ToolResult, ToolError, Aborted, PermissionRequest).
- `registry.py`: the built-in tool set, argument validation, error mapping and output capping.
- `truncate.py`: the one place output is capped; the full text is saved for paging on.
- `filetimes.py`: what the model has read, for the read-before-write check.
- `read.py`, `write.py`, `edit.py`, `bash.py`, `glob.py`, `grep.py`, `ls.py` (`list`): one tool each.
- `ripgrep.py`: finding and running the `rg` binary for glob, grep and list.
- `prompts/`: each tool's description for the model, as plain text.

Nothing is imported here, so that `import opencode.tool.read` stays cheap.
"""
