"""Custom commands: loading from markdown and config, and expanding arguments, shell output and files."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from opencode.agent.agents import AgentError, builtin_agents
from opencode.agent.commands import Command, expand, load_commands, run_shell, split_arguments, substitute
from opencode.config.paths import paths
from opencode.config.schema import Config


@pytest.fixture
def root(tmp_path: Path) -> Path:
    project = tmp_path / "project"
    (project / ".git").mkdir(parents=True)
    return project.resolve()


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def load(root: Path, **data: object) -> dict[str, Command]:
    return load_commands(Config.model_validate(data), root, root)


# --- loading -------------------------------------------------------------------------------


def test_init_is_built_in(root: Path) -> None:
    init = load(root)["init"]
    assert init.source == "built-in" and init.description
    assert "AGENTS.md" in init.template and str(root) in init.template
    assert "${path}" not in init.template
    assert "$ARGUMENTS" in init.template


def test_markdown_commands_global_project_and_nested(root: Path) -> None:
    write(paths().config / "command" / "hello.md", "---\ndescription: say hello\n---\nSay hello to $1.\n")
    path = write(
        root / ".opencode" / "command" / "check.md",
        "---\ndescription: Check a file\nagent: review\nmodel: a/b\nsubtask: true\nargument-hint: FILE\n---\n"
        "Check @$1 carefully.\n",
    )
    write(root / ".opencode" / "commands" / "git" / "log.md", "Summarise !`git log -5`\n")
    commands = load(root)
    check = commands["check"]
    assert (check.description, check.agent, check.model, check.subtask) == ("Check a file", "review", "a/b", True)
    assert check.template == "Check @$1 carefully."
    assert check.source == str(path)
    assert commands["hello"].template == "Say hello to $1."
    assert commands["git/log"].template == "Summarise !`git log -5`"


def test_config_command_replaces_markdown_and_builtin(root: Path) -> None:
    write(root / ".opencode" / "command" / "check.md", "---\ndescription: from markdown\n---\nMarkdown.\n")
    commands = load(
        root,
        command={"check": {"template": "From config $ARGUMENTS"}, "init": {"template": "My own init", "agent": "plan"}},
    )
    assert commands["check"].template == "From config $ARGUMENTS"
    assert commands["check"].description is None  # replaced whole, not merged
    assert commands["check"].source == "config: command.check"
    assert (commands["init"].template, commands["init"].agent) == ("My own init", "plan")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("---\nsubtask: 'maybe'\n---\nBody\n", "subtask: expected true or false"),
        ("---\nagent: [a, b]\n---\nBody\n", "agent: expected a string"),
        ("---\ndescription: 'open\n---\nBody\n", "front matter is not valid YAML"),
    ],
)
def test_bad_command_front_matter_names_the_file(root: Path, text: str, expected: str) -> None:
    path = write(root / ".opencode" / "command" / "bad.md", text)
    with pytest.raises(AgentError) as caught:
        load(root)
    assert str(caught.value).startswith(f"{path}: ")
    assert expected in str(caught.value)
    assert "\n" not in str(caught.value)


def test_runs_as_subtask_follows_opencode() -> None:
    agents = builtin_agents()
    assert Command("a", "t", subtask=True).runs_as_subtask(agents["build"])
    assert Command("a", "t").runs_as_subtask(agents["explore"])
    assert not Command("a", "t", subtask=False).runs_as_subtask(agents["explore"])
    assert not Command("a", "t").runs_as_subtask(agents["build"])
    assert not Command("a", "t").runs_as_subtask(None)


# --- arguments -----------------------------------------------------------------------------


def test_arguments_placeholder_takes_the_string_as_typed() -> None:
    assert substitute("Fix: $ARGUMENTS!", 'the "login" bug') == 'Fix: the "login" bug!'


def test_numbered_placeholders_and_the_last_takes_the_rest() -> None:
    assert substitute("Move $1 to $2", "a.py src/b.py") == "Move a.py to src/b.py"
    assert substitute("File $1, note: $2", 'a.py "needs care" and tests') == "File a.py, note: needs care and tests"
    assert substitute("$1 / $2 / $3", "only") == "only /  / "
    assert substitute("$2 then $1", "x y z") == "y z then x"  # the highest number takes the rest


def test_placeholders_are_filled_in_one_pass() -> None:
    assert substitute("$1 and $2", "$2 literal") == "$2 and literal"
    assert substitute("cost $0 $1", "x") == "cost $0 x"  # $0 is not a placeholder


def test_arguments_are_appended_when_the_template_takes_none() -> None:
    assert substitute("Run the tests.", "only the slow ones") == "Run the tests.\n\nonly the slow ones"
    assert substitute("Run the tests.", "   ") == "Run the tests."


def test_split_arguments_is_shell_like_and_forgiving() -> None:
    assert split_arguments("a 'b c' \"d e\"") == ["a", "b c", "d e"]
    assert split_arguments(r"C:\path\file.txt") == [r"C:\path\file.txt"]
    assert split_arguments("don't stop") == ["don", "t", "stop"]  # an unbalanced quote falls back to words


# --- shell and files -----------------------------------------------------------------------


async def test_shell_output_is_inserted(root: Path) -> None:
    text = await expand(Command("c", "Status: !`echo hi` and !`pwd`"), "", cwd=root)
    assert text == f"Status: hi and {root}"


async def test_shell_failure_inserts_stderr_and_exit_code(root: Path) -> None:
    text = await expand(Command("c", "Result: !`echo partial; echo broken >&2; exit 3`"), "", cwd=root)
    assert "partial" in text and "broken" in text and "exit code 3" in text


async def test_arguments_reach_shell_commands(root: Path) -> None:
    assert await expand(Command("c", "!`echo $1`"), "hello world", cwd=root) == "hello world"


async def test_file_reference_is_replaced_by_its_content(root: Path) -> None:
    write(root / "src" / "app.py", "print('hi')\n")
    text = await expand(Command("c", "Review @src/app.py."), "", cwd=root)
    assert text == "Review src/app.py\n\n```py\nprint('hi')\n```\n."


async def test_file_reference_from_arguments_and_missing_files(root: Path) -> None:
    write(root / "notes.md", "remember the milk\n")
    text = await expand(Command("c", "Look at $ARGUMENTS"), "@notes.md and @missing.txt, mail me@example.com", cwd=root)
    assert "remember the milk" in text
    assert "@missing.txt" in text and "me@example.com" in text


async def test_fence_outgrows_backticks_in_the_file(root: Path) -> None:
    write(root / "doc.md", "```python\nx = 1\n```\n")
    text = await expand(Command("c", "@doc.md"), "", cwd=root)
    assert text.startswith("doc.md\n\n````md\n```python") and text.endswith("```\n````")


async def test_shell_output_is_not_read_for_file_references(root: Path) -> None:
    write(root / "secret.txt", "do not include\n")
    text = await expand(Command("c", "!`echo @secret.txt`"), "", cwd=root)
    assert text == "@secret.txt"


async def test_run_shell_closes_stdin_times_out_and_caps(root: Path) -> None:
    started = time.monotonic()
    assert await run_shell("cat", root) == ""  # stdin is closed: no wait for input
    timed_out = await run_shell("echo before; sleep 10", root, timeout=0.3)
    assert timed_out.startswith("before") and "timed out after 0.3 s" in timed_out
    capped = await run_shell("yes", root, cap=1000)
    assert capped.endswith("(output cut at 0 KB)") and len(capped) < 1100
    assert time.monotonic() - started < 5
