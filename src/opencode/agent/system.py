"""The system prompt of a session: who the agent is, where it runs, and the project's rules.

    build_system(agent_prompt=None, provider_id="anthropic", model_id="claude-sonnet-4-5",
                 cwd=cwd, root=root, instructions=find_instructions(cwd, root, config.instructions))
    # -> [anthropic.txt, "<env>...</env>", "Instructions from: /repo/AGENTS.md\\n...", ...]

The blocks stay separate strings so adapters can place cache breakpoints between the stable
prompt and the parts that change. Which base prompt a model gets is data (`FAMILY_RULES`,
`PROVIDER_FAMILIES`), not checks spread through the engine. An agent with its own prompt
(config `agent.<name>.prompt`) replaces the family prompt entirely, as in opencode.

Left out: opencode's file tree in `<files>` (disabled upstream too) and its per-provider
header text.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from opencode.agent import prompts

if TYPE_CHECKING:
    from opencode.agent.instructions import InstructionFile

FAMILY_RULES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"claude"), "anthropic"),
    # "gpt-4o", "openai/gpt-5", "codex-mini"; o-series ids start with o1/o3/o4 ("o3-mini", "openai/o4-mini").
    (re.compile(r"gpt-|codex|(?:^|[/.:])o[134](?:$|[-_.])"), "gpt"),
    (re.compile(r"gemini"), "gemini"),
)
"""Model id patterns (searched in the lower-cased id) and the prompt family they select, first match wins.

The id decides before the provider: a Claude model served by Bedrock or OpenRouter still gets
the Claude prompt."""

PROVIDER_FAMILIES: dict[str, str] = {
    "anthropic": "anthropic",
    "openai": "gpt",
    "azure": "gpt",
    "google": "gemini",
    "google-vertex": "gemini",
}
"""When the id says nothing (an alias, a fine-tune), the provider's own models decide."""

DEFAULT_FAMILY = "default"


def family_of(provider_id: str, model_id: str) -> str:
    """The prompt family for a model: "anthropic", "gpt", "gemini" or "default"."""
    model = model_id.lower()
    for pattern, family in FAMILY_RULES:
        if pattern.search(model):
            return family
    return PROVIDER_FAMILIES.get(provider_id.lower(), DEFAULT_FAMILY)


def family_prompt(provider_id: str, model_id: str) -> str:
    """The base prompt written for the model's family."""
    return prompts.load(family_of(provider_id, model_id))


def is_git_repo(directory: Path) -> bool:
    """Whether `directory` lies in a git work tree (a `.git` directory, or a file in worktrees)."""
    directory = directory.resolve()
    return any((candidate / ".git").exists() for candidate in (directory, *directory.parents))


def shell_name() -> str:
    """The user's shell, so the model writes commands for it (Windows has no $SHELL but %COMSPEC%)."""
    shell = os.environ.get("SHELL") or (os.environ.get("COMSPEC") if sys.platform == "win32" else None)
    return shell or "unknown"


def environment_block(cwd: Path, root: Path, *, now: datetime | None = None) -> str:
    """Facts about where the agent runs, in opencode's `<env>` block."""
    now = now or datetime.now()
    return "\n".join(
        [
            "Here is some useful information about the environment you are running in:",
            "<env>",
            f"  Working directory: {cwd}",
            f"  Project root: {root}",
            f"  Is directory a git repo: {'yes' if is_git_repo(cwd) else 'no'}",
            f"  Platform: {sys.platform}",
            f"  Shell: {shell_name()}",
            # JavaScript's toDateString() format, which opencode's prompt uses: "Mon Jan 06 2025".
            f"  Today's date: {now.strftime('%a %b %d %Y')}",
            "</env>",
        ]
    )


def build_system(
    *,
    agent_prompt: str | None,
    provider_id: str,
    model_id: str,
    cwd: Path,
    root: Path,
    instructions: Sequence[InstructionFile],
    now: datetime | None = None,
) -> list[str]:
    """The system blocks: the agent's prompt (else the family's), the environment, one per instruction file."""
    head = agent_prompt.strip() if agent_prompt and agent_prompt.strip() else family_prompt(provider_id, model_id)
    return [head, environment_block(cwd, root, now=now), *(file.block() for file in instructions)]


__all__ = [
    "DEFAULT_FAMILY",
    "FAMILY_RULES",
    "PROVIDER_FAMILIES",
    "build_system",
    "environment_block",
    "family_of",
    "family_prompt",
    "is_git_repo",
    "shell_name",
]
