"""Tools: what the model can do in the project.

- `tool.py`: the framework (Tool, ToolContext, ToolResult, ToolError, Aborted, PermissionRequest).
- `registry.py`: the built-in tool set, argument validation, error mapping and output capping.
- `truncate.py`: the one place output is capped; the full text is saved for paging on.
- `filetimes.py`: what the model has read, for the read-before-write check.
- `read.py`, `write.py`, `edit.py`, `bash.py`, `glob.py`, `grep.py`, `ls.py` (`list`): one tool each.
- `ripgrep.py`: finding and running the `rg` binary for glob, grep, list and explore.
- `multiedit.py`, `apply_patch.py`: several edits to a file, a patch over several files, all or nothing.
- `matching.py`: placing edits when oldString is slightly wrong (the tolerant matchers, in order),
  shared by edit, multiedit and apply_patch; `blocks.py` (windows, the merge, region messages) and
  `reindent.py` (the model's indentation onto the file's) under it.
- `rm.py`, `explore.py` (a project overview), `skill.py` (skills: discovery and the tool): one tool each.
- `formatter.py`: the project's formatters, run by the engine after a tool changed files.
- `webfetch.py`, `websearch.py` (back ends in `websearch_backends.py`), `youtube.py`: the web tools.
- `lsp.py`: the language servers' view (`opencode.lsp`): navigation, symbols, diagnostics, rename, format.
- `task.py` (subagents, also in the background), `todo.py` (`todowrite`, `todoread`), `question.py`,
  `plan.py` (`plan_enter`, `plan_exit`), `batch.py`: the session tools, built on the engine's hooks.
- `prompts/`: each tool's description for the model, as plain text.

Nothing is imported here, so that `import opencode.tool.read` stays cheap.
"""
