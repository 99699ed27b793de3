"""The system prompt: the family table, the environment block and the whole list of blocks."""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path

import pytest

from opencode.agent import prompts
from opencode.agent.instructions import find_instructions
from opencode.agent.system import build_system, environment_block, family_of, family_prompt

NOW = datetime(2025, 1, 6, 12, 0)


@pytest.mark.parametrize(
    ("provider", "model", "family"),
    [
        ("anthropic", "claude-sonnet-4-5", "anthropic"),
        ("amazon-bedrock", "anthropic.claude-3-5-sonnet-20240620-v1:0", "anthropic"),
        ("openrouter", "anthropic/claude-opus-4", "anthropic"),
        ("anthropic", "some-future-alias", "anthropic"),
        ("openai", "gpt-4.1", "gpt"),
        ("openai", "gpt-5-codex", "gpt"),
        ("openai", "o1", "gpt"),
        ("openai", "o3-mini", "gpt"),
        ("openrouter", "openai/o4-mini", "gpt"),
        ("openai", "codex-mini-latest", "gpt"),
        ("azure", "my-deployment", "gpt"),
        ("google", "gemini-2.5-pro", "gemini"),
        ("openrouter", "google/gemini-2.5-flash", "gemini"),
        ("groq", "llama-3.3-70b-versatile", "default"),
        ("ollama", "qwen2.5-coder:7b", "default"),
        ("ollama", "ollama-o3-lookalike", "default"),
        ("deepseek", "deepseek-chat", "default"),
    ],
)
def test_family_table(provider: str, model: str, family: str) -> None:
    assert family_of(provider, model) == family
    assert family_prompt(provider, model) == prompts.load(family)


def test_every_family_prompt_is_distinct_and_substantial() -> None:
    texts = {name: prompts.load(name) for name in ("default", "anthropic", "gpt", "gemini")}
    assert len(set(texts.values())) == 4
    for name, text in texts.items():
        assert text.startswith("You are OpenCode"), name
        assert "AGENTS.md" in text, name
        assert len(text.splitlines()) >= 40, name


def test_environment_block_in_a_git_repository(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHELL", "/bin/zsh")
    (tmp_path / ".git").mkdir()
    sub = tmp_path / "src"
    sub.mkdir()
    block = environment_block(sub, tmp_path, now=NOW)
    assert block == "\n".join(
        [
            "Here is some useful information about the environment you are running in:",
            "<env>",
            f"  Working directory: {sub}",
            f"  Project root: {tmp_path}",
            "  Is directory a git repo: yes",
            f"  Platform: {sys.platform}",
            "  Shell: /bin/zsh",
            "  Today's date: Mon Jan 06 2025",
            "</env>",
        ]
    )


def test_environment_block_without_git(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SHELL", raising=False)
    monkeypatch.delenv("COMSPEC", raising=False)
    block = environment_block(tmp_path, tmp_path, now=NOW)
    assert "  Is directory a git repo: no" in block.splitlines()
    assert "  Shell: unknown" in block.splitlines()


def test_a_git_worktree_file_counts_as_git(tmp_path: Path) -> None:
    (tmp_path / ".git").write_text("gitdir: /elsewhere/.git/worktrees/x\n")
    assert "Is directory a git repo: yes" in environment_block(tmp_path, tmp_path, now=NOW)


def test_build_system_blocks_for_a_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHELL", "/bin/bash")
    root = tmp_path / "repo"
    (root / ".git").mkdir(parents=True)
    (root / "AGENTS.md").write_text("Run `make test` before you finish.\n")
    (root / "CLAUDE.md").write_text("ignored: AGENTS.md sits beside it\n")
    pkg = root / "pkg"
    pkg.mkdir()
    (pkg / "CLAUDE.md").write_text("pkg rules\n")
    config_dir = tmp_path / "config"
    config_dir.mkdir()
    (config_dir / "AGENTS.md").write_text("Answer in British English.\n")

    files = find_instructions(pkg, root, None, config_dir=config_dir)
    blocks = build_system(
        agent_prompt=None,
        provider_id="anthropic",
        model_id="claude-sonnet-4-5",
        cwd=pkg,
        root=root,
        instructions=files,
        now=NOW,
    )
    assert blocks == [
        prompts.load("anthropic"),
        environment_block(pkg, root, now=NOW),
        f"Instructions from: {pkg / 'CLAUDE.md'}\npkg rules\n",
        f"Instructions from: {root / 'AGENTS.md'}\nRun `make test` before you finish.\n",
        f"Instructions from: {config_dir / 'AGENTS.md'}\nAnswer in British English.\n",
    ]


def test_an_agent_prompt_replaces_the_family_prompt(tmp_path: Path) -> None:
    blocks = build_system(
        agent_prompt="You review code and never edit files.\n",
        provider_id="openai",
        model_id="gpt-4.1",
        cwd=tmp_path,
        root=tmp_path,
        instructions=[],
        now=NOW,
    )
    assert blocks == ["You review code and never edit files.", environment_block(tmp_path, tmp_path, now=NOW)]


def test_a_blank_agent_prompt_falls_back_to_the_family(tmp_path: Path) -> None:
    blocks = build_system(
        agent_prompt="  \n",
        provider_id="google",
        model_id="gemini-2.5-pro",
        cwd=tmp_path,
        root=tmp_path,
        instructions=[],
    )
    assert blocks[0] == prompts.load("gemini")
