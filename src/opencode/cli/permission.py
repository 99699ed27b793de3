"""`opencode debug permission SUBJECT [--tool bash] [--agent NAME]`: the verdict and the rule behind it.

For a bash command every simple command found in it is listed (wrapped ones with the wrappers
they came through) with its verdict and the deciding rule, then paths outside the project, then
the overall verdict. For another tool the subject is a path or pattern. Nothing is run or asked.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any


def main(args: argparse.Namespace, *, agent_rules: Mapping[str, Any] | str | None = None) -> int:
    from opencode.bus import Bus
    from opencode.config import load_config
    from opencode.permission.rules import Ruleset
    from opencode.permission.service import PermissionService
    from opencode.tool.tool import PermissionRequest

    cwd = Path.cwd().resolve()
    loaded = load_config(cwd)
    for warning in loaded.warnings:
        sys.stderr.write(f"warning: {warning}\n")
    config = loaded.config
    root = _project_root(cwd)
    agent: str | None = args.agent
    if agent_rules is None and agent:
        agent_rules = _agent_permission(config, agent, cwd, root)
    ruleset = Ruleset.from_config(config.permission, agent_rules, agent=agent)
    for warning in ruleset.warnings():
        sys.stderr.write(f"warning: {warning}\n")

    tool: str = args.tool
    subject: str = args.subject
    if tool == "bash":
        request = PermissionRequest("bash", [subject], subject, {"command": subject, "workdir": str(cwd)})
    elif tool in ("read", "edit", "write", "list"):
        path = Path(subject).expanduser()
        path = (path if path.is_absolute() else cwd / path).resolve()
        request = PermissionRequest(tool, [str(path)], subject, {"filePath": str(path)})
    else:
        request = PermissionRequest(tool, [subject], subject)

    lines = PermissionService(Bus(), root).explain(request, ruleset)
    width = min(max(len(label) for label, _ in lines), 60)
    for label, verdict in lines:
        sys.stdout.write(f"{label:<{width}}  {verdict.action:<5}  ({verdict.description})\n")
    actions = {verdict.action for _, verdict in lines}
    overall = "deny" if "deny" in actions else "ask" if "ask" in actions else "allow"
    sys.stdout.write(f"verdict: {overall}\n")
    return 0


def _project_root(cwd: Path) -> Path:
    for directory in (cwd, *cwd.parents):
        if (directory / ".git").exists():
            return directory
    return cwd


def _agent_permission(config: Any, name: str, cwd: Path, root: Path) -> Mapping[str, Any] | str | None:
    """The agent's rules: built-in ones with the user's laid over them when the agent catalogue is
    available, else only `agent.NAME.permission` from config."""
    conf = (config.agent or {}).get(name) or (config.mode or {}).get(name)
    from_config = conf.permission if conf is not None else None
    try:
        from opencode.agent.agents import load_agents
    except ImportError:
        return from_config
    found = load_agents(config, cwd, root).get(name)
    return dict(found.permission) if found is not None else from_config
