"""The engine's agent layer: the prompts a session starts from and the pieces the loop calls.

- `system`: the system prompt (model family prompt or the agent's own, the environment block,
  instruction files).
- `instructions`: finding AGENTS.md / CLAUDE.md and configured instruction files, including the
  nested ones the model meets while reading files below the project root.
- `title`: a short session title from the first user message, through the small model.
- `compaction`: when to compact, pruning old tool output and the summary request.
- `questions`: the `question` tool's ask flow (publish, wait for a face's reply or the terminal).
- `background`: background subagent runs (`task` with `background`), cancelled when the turn ends.

Prompt texts live in `opencode.agent.prompts` as `.txt` files so they are reviewed as prose.
"""
