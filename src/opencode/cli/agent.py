"""`opencode agent list|create`: see every agent and where it comes from, or write a new one.

`list` prints one line per agent: name, mode, where it is defined, description; built-in agents
say "built-in" (and the file that last changed them, if any), the default agent is marked.

`create` writes `<dir>/<name>.md` (default dir: `.opencode/agent` in the project) with YAML front
matter (description, mode, model and tools when given) and the prompt as the body. On a terminal
it asks for what the flags left out; otherwise a missing --name or --description is a one-line
error (the mode defaults to "all", as in opencode). An existing file is never overwritten.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path
from typing import Any

from opencode.cli.runtime import CliError

NAME = re.compile(r"^[a-z0-9][a-z0-9-]*$")
MODES = ("all", "primary", "subagent")
DESCRIPTION_WIDTH = 100


def main(args: argparse.Namespace) -> int:
    if args.action == "create":
        return create(args)
    return list_agents()


def _project() -> tuple[Path, Path]:
    from opencode.config.load import project_dirs

    cwd = Path.cwd().resolve()
    return cwd, project_dirs(cwd)[0]


def list_agents() -> int:
    from opencode.agent.agents import BUILTIN_SOURCE, AgentError, default_agent, load_agents
    from opencode.config import load_config

    cwd, root = _project()
    loaded = load_config(cwd)
    for warning in loaded.warnings:
        sys.stderr.write(f"warning: {warning}\n")
    agents = load_agents(loaded.config, cwd, root)
    try:
        default = default_agent(agents, loaded.config).name
    except AgentError as exc:  # still worth listing what there is
        sys.stderr.write(f"warning: {exc}\n")
        default = None
    rows: list[tuple[str, str, str, str]] = []
    for agent in agents.values():
        name = f"{agent.name} (default)" if agent.name == default else agent.name
        source = _short(agent.source, cwd)
        if agent.builtin and source != BUILTIN_SOURCE:
            source = f"{BUILTIN_SOURCE}, changed in {source}"
        mode = f"{agent.mode}, hidden" if agent.hidden else agent.mode
        rows.append((name, mode, source, _one_line(agent.description)))
    widths = [max(len(row[column]) for row in rows) for column in range(3)]
    for row in rows:
        cells = [cell.ljust(width) for cell, width in zip(row[:3], widths, strict=True)]
        sys.stdout.write(("  ".join([*cells, row[3]])).rstrip() + "\n")
    return 0


def _short(source: str, cwd: Path) -> str:
    """A file source relative to the working directory, or with `~` for the home directory."""
    path = Path(source)
    if not path.is_absolute():
        return source
    if path.is_relative_to(cwd):
        return str(path.relative_to(cwd))
    home = Path.home()
    return f"~/{path.relative_to(home)}" if path.is_relative_to(home) else source


def _one_line(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= DESCRIPTION_WIDTH else flat[: DESCRIPTION_WIDTH - 3].rstrip() + "..."


# --- create --------------------------------------------------------------------------------


def create(args: argparse.Namespace) -> int:
    interactive = sys.stdin.isatty()
    name = args.name or _ask(interactive, "--name", "Agent name (lowercase letters, digits and dashes): ")
    if not NAME.match(name):
        raise CliError(f"--name: {name!r} is not a valid agent name (use lowercase letters, digits and dashes)")
    description = args.description or _ask(interactive, "--description", "What should this agent do? ")
    mode = args.mode or (_ask_mode() if interactive else "all")

    cwd, root = _project()
    directory = Path(args.path).expanduser() if args.path else root / ".opencode" / "agent"
    directory = directory if directory.is_absolute() else cwd / directory
    target = directory / f"{name}.md"
    if target.exists():
        raise CliError(f"{target} already exists; choose another --name or remove the file first")

    front: dict[str, Any] = {"description": description, "mode": mode}
    if args.model:
        front["model"] = args.model
    if args.tools:
        front["tools"] = _tools(args.tools)
    prompt = (args.prompt or "").strip() or _default_prompt(name, description)
    directory.mkdir(parents=True, exist_ok=True)
    target.write_text(render(front, prompt), encoding="utf-8")

    from opencode.agent.agents import builtin_agents

    sys.stdout.write(f"created {target}\n")
    if name in builtin_agents():
        sys.stderr.write(f"note: this file changes the built-in agent {name} (its fields override the built-in ones)\n")
    return 0


def _ask(interactive: bool, flag: str, question: str) -> str:
    if not interactive:
        raise CliError(f"missing {flag} (stdin is not a terminal, so it cannot be asked for)", code=2)
    while True:
        answer = input(question).strip()
        if answer:
            return answer


def _ask_mode() -> str:
    while True:
        answer = input("Mode: all (default), primary or subagent? ").strip().lower() or "all"
        if answer in MODES:
            return answer
        sys.stderr.write("please answer all, primary or subagent\n")


def _tools(spec: str) -> dict[str, bool]:
    """`--tools read,grep`: those on, every other built-in tool off (opencode's shape, which it reads too)."""
    from opencode.tool.registry import ToolRegistry

    chosen = [name.strip() for name in spec.split(",") if name.strip()]
    tools = dict.fromkeys(chosen, True)
    for name in ToolRegistry.builtin().names():
        tools.setdefault(name, False)
    return tools


def _default_prompt(name: str, description: str) -> str:
    return (
        f"You are the {name} agent in OpenCode. Your role, as the user described it: {description}\n\n"
        "Work in the user's project with the tools you are given. Look at the relevant files before you act, "
        "keep to the project's conventions, and check your results where you can.\n\n"
        "When you finish, reply with a short summary of what you did and found, with file paths where they help."
    )


def render(front: dict[str, Any], prompt: str) -> str:
    """The markdown file: YAML front matter in a fixed key order, then the prompt."""
    import yaml

    header = yaml.safe_dump(front, sort_keys=False, allow_unicode=True, default_flow_style=False, width=1000)
    return f"---\n{header}---\n\n{prompt.rstrip()}\n"
