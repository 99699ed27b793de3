"""The size of the build agent's first request to a model: system prompt and tool definitions.

The request is built by the real engine (`Engine.build_request`, as the loop builds it before its
first model call) for a sample project in a temporary directory: a git repository with a few
files and one project skill (so that the `skill` tool, offered only when there are skills, is
counted too), no AGENTS.md. The tool set is whatever `ToolRegistry.builtin()` holds at run time,
filtered by the build agent's rules as the engine does it. Nothing is sent: no server, no key.

Figures, in characters:

- system prompt: the system blocks joined (the family prompt for the model, the environment)
- tool JSON: each tool as `{"name", "description", "parameters"}`, compact JSON (the schema a
  provider adapter sends, before its own wrapping), summed; each tool's share is listed too

For scale, opencode 1.18.33 sends 12,125 characters of system prompt and 21,144 of tool JSON for
10 tools (33,269 in all); the goal is a total below that with our full tool set. Over it: exit 1.

    .venv/bin/python bench/prompt_tokens.py [--model anthropic/claude-sonnet-4-5]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

from common import isolate

OPENCODE_SYSTEM = 12_125
OPENCODE_TOOLS = 21_144
OPENCODE_TOOL_COUNT = 10
GOAL = OPENCODE_SYSTEM + OPENCODE_TOOLS


def make_project(root: Path) -> Path:
    (root / ".git").mkdir(parents=True)
    (root / "src").mkdir()
    (root / "src" / "app.py").write_text("def main() -> None:\n    print('hi')\n")
    (root / "README.md").write_text("# Sample\n")
    skill = root / ".opencode" / "skill" / "release"
    skill.mkdir(parents=True)
    (skill / "SKILL.md").write_text(
        "---\nname: release\ndescription: Cut a release: bump the version, tag, write the changelog.\n---\n\n"
        "1. Bump the version.\n2. Tag.\n"
    )
    return root


def build_request(project: Path, model: str) -> Any:
    from opencode.agent.engine import Engine
    from opencode.config.schema import Config
    from opencode.provider.registry import Registry
    from opencode.session.sqlite import SQLiteStore

    provider, _, model_id = model.partition("/")
    if not model_id:
        raise SystemExit(f"--model must be provider/model, got {model!r}")
    entry = {
        "options": {"baseURL": "http://127.0.0.1:9/unused", "apiKey": "bench"},
        "models": {model_id: {"tool_call": True}},
    }
    if provider not in ("anthropic", "openai", "google"):
        entry["npm"] = "@ai-sdk/openai-compatible"
    config = Config.model_validate({"provider": {provider: entry}})
    registry = Registry.load(config, environ={}, credentials={})
    store = SQLiteStore(project.parent / "store.db")
    engine = Engine(cwd=project, config=config, registry=registry, store=store)
    session = engine.create_session(title="bench prompt size")
    resolved = engine.resolve_model(model, "build")
    request = engine.build_request(session, resolved, "build", final_step=False)
    store.close()
    return request


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--model", default="anthropic/claude-sonnet-4-5", help="provider/model (picks the family prompt)"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-prompt-") as tmp:
        isolate(Path(tmp) / "home")
        request = build_request(make_project(Path(tmp) / "project"), args.model)

    system = "\n".join(request.system)
    per_tool = {
        spec.name: len(
            json.dumps(
                {"name": spec.name, "description": spec.description, "parameters": spec.parameters},
                separators=(",", ":"),
                ensure_ascii=False,
            )
        )
        for spec in request.tools
    }
    tools = sum(per_tool.values())
    total = len(system) + tools
    print(f"build agent, model {args.model}: first request")
    print(f"  system prompt   {len(system):>7,} chars ({len(request.system)} blocks)")
    print(f"  tool JSON       {tools:>7,} chars ({len(per_tool)} tools)")
    print(f"  total           {total:>7,} chars")
    print("per tool (chars, largest first):")
    for name, size in sorted(per_tool.items(), key=lambda item: (-item[1], item[0])):
        print(f"  {name:<14}{size:>7,}")
    print(
        f"opencode 1.18.33: {OPENCODE_SYSTEM:,} system + {OPENCODE_TOOLS:,} tool JSON for {OPENCODE_TOOL_COUNT} tools "
        f"= {GOAL:,}"
    )
    ratio = total / GOAL
    verdict = "ok" if total < GOAL else "FAIL"
    print(f"ours: {total:,} for {len(per_tool)} tools = {ratio:.0%} of opencode's (goal < {GOAL:,}): {verdict}")
    return 0 if total < GOAL else 1


if __name__ == "__main__":
    sys.exit(main())
