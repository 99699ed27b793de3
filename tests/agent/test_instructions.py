"""Instruction files: which are found, in what order, once each; nested ones handed out once."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from opencode.agent.instructions import (
    MAX_BYTES,
    InstructionFile,
    NestedInstructions,
    describe,
    find_instructions,
    loaded_from,
)
from opencode.session.model import (
    AssistantMessage,
    AssistantPath,
    MessageWithParts,
    ToolPart,
    ToolStateCompleted,
    ToolTimeRange,
)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """repo/ with AGENTS.md + CLAUDE.md, repo/app/ with CLAUDE.md only, repo/app/web/ with AGENTS.md."""
    root = tmp_path.resolve() / "repo"
    (root / "app" / "web" / "components").mkdir(parents=True)
    (root / "lib" / "core").mkdir(parents=True)
    (root / "AGENTS.md").write_text("root agents\n")
    (root / "CLAUDE.md").write_text("root claude\n")
    (root / "app" / "CLAUDE.md").write_text("app claude\n")
    (root / "app" / "web" / "AGENTS.md").write_text("web agents\n")
    (root / "lib" / "AGENTS.md").write_text("lib agents\n")
    (root / "lib" / "core" / "AGENTS.md").write_text("core agents\n")
    return root


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    path = tmp_path.resolve() / "xdg" / "opencode"
    path.mkdir(parents=True)
    return path


def summary(files: list[InstructionFile]) -> list[tuple[str, str, str]]:
    return [(f.source, str(f.path), f.content) for f in files]


def test_project_files_from_cwd_up_to_root_nearest_first(project: Path, config_dir: Path) -> None:
    files = find_instructions(project / "app" / "web" / "components", project, None, config_dir=config_dir)
    assert summary(files) == [
        ("project", str(project / "app" / "web" / "AGENTS.md"), "web agents\n"),
        ("project", str(project / "app" / "CLAUDE.md"), "app claude\n"),
        ("project", str(project / "AGENTS.md"), "root agents\n"),
    ]


def test_nothing_above_the_root_is_read(project: Path, config_dir: Path) -> None:
    (project.parent / "AGENTS.md").write_text("outside the project\n")
    files = find_instructions(project, project, None, config_dir=config_dir)
    assert [f.path for f in files] == [project / "AGENTS.md"]


def test_global_agents_md_wins_over_claude_home(project: Path, config_dir: Path, isolated_env: Path) -> None:
    claude = isolated_env / ".claude"
    claude.mkdir()
    (claude / "CLAUDE.md").write_text("claude home\n")
    files = find_instructions(project, project, None, config_dir=config_dir)
    assert summary(files)[-1] == ("global", str(claude.resolve() / "CLAUDE.md"), "claude home\n")

    (config_dir / "AGENTS.md").write_text("global agents\n")
    files = find_instructions(project, project, None, config_dir=config_dir)
    assert summary(files)[1:] == [("global", str(config_dir / "AGENTS.md"), "global agents\n")]


def test_config_dir_defaults_to_the_xdg_config_dir(project: Path, isolated_env: Path) -> None:
    xdg = isolated_env / "config" / "opencode"
    xdg.mkdir(parents=True)
    (xdg / "AGENTS.md").write_text("from xdg\n")
    files = find_instructions(project, project, None)
    assert [(f.source, f.content) for f in files] == [("project", "root agents\n"), ("global", "from xdg\n")]


def test_config_entries_globs_literals_and_home(
    project: Path, config_dir: Path, isolated_env: Path, caplog: pytest.LogCaptureFixture
) -> None:
    docs = project / "docs" / "rules"
    docs.mkdir(parents=True)
    (docs / "b-style.md").write_text("style\n")
    (docs / "a-testing.md").write_text("testing\n")
    (docs / "notes.txt").write_text("not matched\n")
    (project / "CONTRIBUTING.md").write_text("contributing\n")
    home_rules = isolated_env / "rules.md"
    home_rules.write_text("home rules\n")
    absolute = project.parent / "shared.md"
    absolute.write_text("shared\n")

    entries = [
        "docs/rules/*.md",
        "CONTRIBUTING.md",
        "~/rules.md",
        str(absolute),
        "missing.md",
        "docs/**/*.md",  # the same two files again: not repeated
        "AGENTS.md",  # already in as a project file: not repeated
        "https://example.com/rules.md",
    ]
    with caplog.at_level(logging.WARNING, logger="opencode.agent.instructions"):
        files = find_instructions(project, project, entries, config_dir=config_dir)
    assert summary(files) == [
        ("project", str(project / "AGENTS.md"), "root agents\n"),
        ("config", str(docs / "a-testing.md"), "testing\n"),
        ("config", str(docs / "b-style.md"), "style\n"),
        ("config", str(project / "CONTRIBUTING.md"), "contributing\n"),
        ("config", str(home_rules.resolve()), "home rules\n"),
        ("config", str(absolute), "shared\n"),
    ]
    warnings = [r.getMessage() for r in caplog.records]
    assert any("missing.md" in w and "not found" in w for w in warnings)
    assert any("https://example.com/rules.md" in w for w in warnings)


def test_absolute_glob(project: Path, config_dir: Path) -> None:
    shared = project.parent / "shared"
    shared.mkdir()
    (shared / "one.md").write_text("one\n")
    (shared / "two.md").write_text("two\n")
    files = find_instructions(project, project, [str(shared / "*.md")], config_dir=config_dir)
    assert [f.content for f in files if f.source == "config"] == ["one\n", "two\n"]


def test_no_file_twice_through_a_symlink(project: Path, config_dir: Path) -> None:
    (project / "link.md").symlink_to(project / "AGENTS.md")
    files = find_instructions(project, project, ["link.md"], config_dir=config_dir)
    assert [f.path for f in files] == [project / "AGENTS.md"]


def test_empty_files_are_left_out(project: Path, config_dir: Path) -> None:
    (project / "AGENTS.md").write_text("  \n")
    files = find_instructions(project, project, None, config_dir=config_dir)
    assert files == []


def test_large_files_are_cut_with_a_note(project: Path, config_dir: Path) -> None:
    (project / "AGENTS.md").write_text("x" * (MAX_BYTES + 5000))
    [file] = find_instructions(project, project, None, config_dir=config_dir)
    assert file.truncated
    assert file.content.startswith("x" * MAX_BYTES + "\n\n[This file is")
    assert f"only its first {MAX_BYTES // 1024} KB are included" in file.content
    assert describe([file]) == [f"project  {project / 'AGENTS.md'} (cut to 64 KB)"]


def test_describe_lists_every_file(project: Path, config_dir: Path) -> None:
    (config_dir / "AGENTS.md").write_text("global\n")
    files = find_instructions(project / "app", project, None, config_dir=config_dir)
    assert describe(files) == [
        f"project  {project / 'app' / 'CLAUDE.md'}",
        f"project  {project / 'AGENTS.md'}",
        f"global   {config_dir / 'AGENTS.md'}",
    ]


def test_nested_instructions_are_handed_out_once(project: Path, config_dir: Path) -> None:
    files = find_instructions(project, project, None, config_dir=config_dir)
    nested = NestedInstructions(project, loaded=files)

    first = nested.for_file(project / "lib" / "core" / "engine.py")
    assert summary(first) == [
        ("nested", str(project / "lib" / "core" / "AGENTS.md"), "core agents\n"),
        ("nested", str(project / "lib" / "AGENTS.md"), "lib agents\n"),
    ]
    assert nested.for_file(project / "lib" / "core" / "other.py") == []
    assert nested.for_file(project / "lib" / "util.py") == []
    # Files at the root already came with the system prompt.
    assert nested.for_file(project / "main.py") == []


def test_nested_skips_what_the_system_prompt_has(project: Path, config_dir: Path) -> None:
    files = find_instructions(project / "app", project, None, config_dir=config_dir)
    nested = NestedInstructions(project, loaded=files)
    found = nested.for_file(project / "app" / "web" / "components" / "button.tsx")
    assert [f.path for f in found] == [project / "app" / "web" / "AGENTS.md"]
    assert project / "app" / "web" / "AGENTS.md" in nested.loaded


def test_nested_relative_paths_and_outside_files(project: Path, tmp_path: Path) -> None:
    nested = NestedInstructions(project)
    assert [f.content for f in nested.for_file(Path("lib/x.py"))] == ["lib agents\n"]
    assert nested.for_file(tmp_path / "elsewhere" / "file.py") == []


def test_reading_the_agents_file_itself_attaches_nothing(project: Path) -> None:
    nested = NestedInstructions(project)
    assert nested.for_file(project / "lib" / "AGENTS.md") == []
    assert [f.path for f in nested.for_file(project / "lib" / "core" / "AGENTS.md")] == [project / "lib" / "AGENTS.md"]


def test_loaded_from_a_stored_conversation(project: Path) -> None:
    def read_part(loaded: list[str], compacted: int | None = None) -> ToolPart:
        return ToolPart(
            id="prt_1",
            sessionID="ses_1",
            messageID="msg_1",
            callID="call_1",
            tool="read",
            state=ToolStateCompleted(
                output="...",
                title="x",
                metadata={"loaded": loaded},
                time=ToolTimeRange(start=1, end=2, compacted=compacted),
            ),
        )

    message = MessageWithParts(
        info=AssistantMessage(
            id="msg_1",
            sessionID="ses_1",
            parentID="msg_0",
            modelID="m",
            providerID="p",
            path=AssistantPath(cwd=str(project), root=str(project)),
        ),
        parts=[
            read_part([str(project / "lib" / "AGENTS.md")]),
            read_part([str(project / "app" / "web" / "AGENTS.md")], compacted=5),
        ],
    )
    loaded = loaded_from([message])
    assert loaded == {project / "lib" / "AGENTS.md"}
    nested = NestedInstructions(project, loaded=loaded)
    assert [f.path for f in nested.for_file(project / "lib" / "core" / "x.py")] == [
        project / "lib" / "core" / "AGENTS.md"
    ]
