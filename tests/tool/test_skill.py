"""skill: discovery in every folder, bad front matter skipped, remote indexes, the tool, the engine's listing."""

from __future__ import annotations

import functools
import json
import logging
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from opencode.config.paths import paths
from opencode.config.schema import SkillsConfig
from opencode.testing.model_server import Reply, ScriptedModelServer, Text, ToolCall
from opencode.tool.registry import ToolRegistry
from opencode.tool.skill import SkillParams, SkillTool, discover
from opencode.tool.tool import PermissionRequest, ToolContext, ToolError


def skill(
    folder: Path, name: str, description: str, body: str = "Do the thing.\n", files: dict[str, str] | None = None
) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "SKILL.md").write_text(f"---\nname: {name}\ndescription: {description}\n---\n\n{body}")
    for rel, text in (files or {}).items():
        target = folder / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    return folder


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    (root / ".git").mkdir(parents=True)
    (root / "pkg" / "sub").mkdir(parents=True)
    return root.resolve()


def test_skills_are_found_in_every_folder(repo: Path, isolated_env: Path) -> None:
    home = isolated_env
    skill(home / ".claude/skills/claude-global", "claude-global", "From ~/.claude")
    skill(paths().config / "skill/xdg", "xdg", "From the XDG config dir")
    skill(repo / ".claude/skills/claude-project", "claude-project", "From the project's .claude")
    skill(repo / ".agents/skills/agents-project", "agents-project", "From the project's .agents")
    skill(repo / ".opencode/skill/release/deep", "release", "Cut a release")
    skill(repo / "pkg/.opencode/skills/pkg-only", "pkg-only", "From a .opencode below the root")
    skill(repo / "elsewhere/extra", "extra", "From skills.paths")
    skill(repo / "pkg/sub/.opencode/skill/too-deep", "too-deep", "Below the working directory")
    catalog = discover(repo / "pkg", repo, SkillsConfig(paths=["../elsewhere"]))
    assert sorted(catalog.skills) == [
        "agents-project",
        "claude-global",
        "claude-project",
        "extra",
        "pkg-only",
        "release",
        "xdg",
    ]
    assert catalog.skills["release"].location == repo / ".opencode/skill/release/deep/SKILL.md"
    assert catalog.skills["release"].description == "Cut a release"
    assert catalog.skills["release"].content == "Do the thing."
    assert catalog.warnings == []


def test_a_later_folder_wins_and_external_ones_can_be_turned_off(
    repo: Path, isolated_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    skill(isolated_env / ".claude/skills/lint", "lint", "The global one")
    skill(repo / ".opencode/skill/lint", "lint", "The project's own")
    assert discover(repo, repo).skills["lint"].description == "The project's own"
    skill(isolated_env / ".claude/skills/only-claude", "only-claude", "Claude's")
    monkeypatch.setenv("OPENCODE_DISABLE_EXTERNAL_SKILLS", "1")
    assert "only-claude" not in discover(repo, repo).skills


def test_bad_front_matter_is_skipped_with_a_warning(repo: Path, caplog: pytest.LogCaptureFixture) -> None:
    base = repo / ".opencode/skill"
    skill(base / "good", "good", "Fine")
    (base / "broken").mkdir()
    (base / "broken/SKILL.md").write_text("---\nname: [unclosed\n---\nbody\n")
    (base / "nameless").mkdir()
    (base / "nameless/SKILL.md").write_text("---\ndescription: no name here\n---\nbody\n")
    (base / "bare").mkdir()
    (base / "bare/SKILL.md").write_text("Just text, no front matter.\n")
    with caplog.at_level(logging.WARNING, logger="opencode.tool.skill"):
        catalog = discover(repo, repo)
    assert list(catalog.skills) == ["good"]
    assert len(catalog.warnings) == 3
    broken, bare, nameless = sorted(catalog.warnings, key=lambda w: ("broken" not in w, "bare" not in w))
    assert "broken/SKILL.md: front matter is not valid YAML" in broken
    assert "bare/SKILL.md: its front matter needs name and description" in bare
    assert "nameless/SKILL.md: its front matter needs name (" in nameless
    assert sum("skill skipped" in record.getMessage() for record in caplog.records) == 3


@pytest.fixture
def skill_site(tmp_path: Path) -> Iterator[tuple[str, list[str]]]:
    """A static site with a skills index, served on 127.0.0.1; yields its URL and the paths requested."""
    site = tmp_path / "site"
    base = site / "skills"
    skill(base / "remote-one", "remote-one", "Fetched from a URL", "Remote body.\n", {"scripts/run.sh": "echo hi\n"})
    (base / "index.json").write_text(
        json.dumps(
            {
                "skills": [
                    {"name": "remote-one", "files": ["SKILL.md", "scripts/run.sh"]},
                    {"name": "../escape", "files": ["SKILL.md"]},
                    {"name": "sneaky", "files": ["SKILL.md", "../../etc/passwd"]},
                    {"name": "no-skill-file", "files": ["README.md"]},
                ]
            }
        )
    )
    requested: list[str] = []

    class Handler(SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            requested.append(self.path)

    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Handler, directory=str(site)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/skills", requested
    finally:
        server.shutdown()
        server.server_close()


def test_skills_urls_are_pulled_into_the_cache(
    repo: Path, isolated_env: Path, skill_site: tuple[str, list[str]]
) -> None:
    url, requested = skill_site
    catalog = discover(repo, repo, SkillsConfig(urls=[url]))
    assert list(catalog.skills) == ["remote-one"]
    cached = isolated_env / "cache/opencode/skills/remote-one"
    assert catalog.skills["remote-one"].location == cached / "SKILL.md"
    assert (cached / "scripts/run.sh").read_text() == "echo hi\n"
    assert "/skills/index.json" in " ".join(requested) and "/skills/remote-one/scripts/run.sh" in " ".join(requested)
    assert not any("passwd" in path or "escape" in path for path in requested)
    assert any("no usable name" in w for w in catalog.warnings)
    assert any("sneaky" in w and "unsafe" in w for w in catalog.warnings)
    assert any("no-skill-file" in w for w in catalog.warnings)

    bad = discover(repo, repo, SkillsConfig(urls=["file:///etc/", f"{url}/missing"]))
    assert not bad.skills
    assert any("not an http(s) URL" in w for w in bad.warnings)
    assert any("could not fetch" in w for w in bad.warnings)


async def test_the_tool_returns_the_body_the_folder_and_its_files(repo: Path) -> None:
    folder = skill(
        repo / ".opencode/skill/pdf",
        "pdf",
        "Work with PDF files",
        "# PDF\nRun scripts/extract.py on the file.\n",
        {"scripts/extract.py": "print('x')\n", "reference.md": "notes\n"},
    )
    asked: list[PermissionRequest] = []

    async def ask(request: PermissionRequest) -> None:
        asked.append(request)

    ctx = ToolContext("ses", "msg", "call", "build", repo, repo, ask=ask)
    tool = SkillTool()
    result = await tool.run(SkillParams(name="pdf"), ctx)
    out = result.output
    assert out.startswith('<skill_content name="pdf">\n# Skill: pdf\n\n# PDF\nRun scripts/extract.py on the file.')
    assert f"Base directory for this skill: {folder}" in out
    assert f"<skill_files>\n{folder / 'reference.md'}\n{folder / 'scripts/extract.py'}\n</skill_files>" in out
    assert result.title == "Loaded skill: pdf" and result.metadata["dir"] == str(folder)
    assert [(r.permission, r.patterns) for r in asked] == [("skill", ["pdf"])]

    with pytest.raises(ToolError, match=r"No skill named 'nope'\. Available skills: pdf\."):
        await tool.run(SkillParams(name="nope"), ctx)
    with pytest.raises(ToolError, match="name: expected a string"):
        await ToolRegistry([tool]).execute("skill", {"name": ["pdf"]}, ctx)


def make_engine(project: Path, server: ScriptedModelServer, extra: dict[str, Any] | None = None) -> tuple[Any, str]:
    from opencode.agent.engine import Engine
    from opencode.config.schema import Config
    from opencode.provider.registry import Registry
    from opencode.session.sqlite import SQLiteStore

    entry = {
        "npm": "@ai-sdk/openai-compatible",
        "options": {"baseURL": server.base_url("openai-chat"), "apiKey": server.api_key, "maxRetries": 0},
        "models": {"test-model": {"tool_call": True}},
    }
    config = Config.model_validate({"provider": {"mine": entry}, **(extra or {})})
    registry = Registry.load(config, environ={}, credentials={})
    store = SQLiteStore(project.parent / "store.db")
    return Engine(cwd=project, config=config, registry=registry, store=store), "mine/test-model"


def offered(request: Any) -> dict[str, str]:
    return {tool["function"]["name"]: tool["function"]["description"] for tool in request.json.get("tools", [])}


async def test_the_engine_lists_allowed_skills_and_runs_the_tool(repo: Path, model_server: ScriptedModelServer) -> None:
    skill(repo / ".opencode/skill/deploy", "deploy", "Deploy the app to staging")
    skill(repo / ".opencode/skill/secret-keys", "secret-keys", "Rotate production keys")
    engine, model = make_engine(repo, model_server, {"permission": {"skill": {"secret-*": "deny"}}})
    model_server.push(Reply([ToolCall("skill", {"name": "deploy"}, id="c1")]), Reply([Text("deployed")]))
    session = engine.create_session()
    await engine.prompt(session.id, "deploy it", model=model)
    description = offered(model_server.requests[0])["skill"]
    assert "- deploy: Deploy the app to staging" in description
    assert "secret-keys" not in description
    tool_message = next(m for m in model_server.requests[1].json["messages"] if m["role"] == "tool")
    assert '<skill_content name="deploy">' in tool_message["content"]


async def test_no_skills_means_no_skill_tool(repo: Path, model_server: ScriptedModelServer) -> None:
    engine, model = make_engine(repo, model_server)
    model_server.push(Reply([Text("hi")]))
    session = engine.create_session()
    await engine.prompt(session.id, "hello", model=model)
    tools = offered(model_server.requests[0])
    assert "skill" not in tools and "read" in tools and "explore" in tools and "rm" in tools
