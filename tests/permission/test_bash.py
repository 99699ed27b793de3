"""Shell commands checked part by part: a "rm *": "deny" rule holds however rm is reached."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import pytest

from opencode.permission.bash import always_pattern, check_bash, explain_bash, parse_command
from opencode.permission.rules import Ruleset

RM_DENIED = Ruleset.from_config({"bash": {"rm *": "deny"}})
RULE = 'opencode.json permission.bash."rm *"'


@pytest.mark.parametrize(
    "command",
    [
        "echo ok && rm -rf x",
        "(rm -rf x)",
        "echo $(rm -rf x)",
        "echo `rm -rf x`",
        "ls | xargs rm",
        'bash -c "rm -rf x"',
        "sh -c 'echo a; rm -rf x'",
        "env rm -rf x",
        "env FOO=1 rm -rf x",
        "command rm x",
        "/bin/rm x",
        "sudo rm x",
        "sudo -u root rm x",
        "nohup rm x &",
        "timeout 5 rm x",
        r"find . -exec rm {} \;",
        'eval "rm -rf x"',
        "if true; then rm x; fi",
        "rm",
        # More of the same principle: every place a shell runs a command, every wrapper.
        "/usr/bin/rm -rf x",
        "./rm x",
        'r"m" x',
        r"r\m x",
        "echo ok; rm x",
        "false || rm x",
        "cat <(rm x)",
        "for f in a b; do rm $f; done",
        "while true; do rm x; done",
        "case a in a) rm x;; esac",
        "f() { rm x; }",
        "x=$(rm -rf y)",
        "export A=$(rm x)",
        "cat <<EOF\n$(rm z)\nEOF",
        "rm >/dev/null -rf x",
        "sudo -Eu root rm x",
        "sudo FOO=1 rm x",
        "doas rm x",
        "exec rm x",
        "time rm x",
        "nice -n 5 rm x",
        "ionice -c 3 rm x",
        "stdbuf -oL rm x",
        "xargs -0 -I {} rm {}",
        r"find . -name '*.o' -execdir rm {} +",
        "find . -exec sh -c 'rm \"$1\"' _ {} \\;",
        "bash -lc 'rm x'",
        "bash <<< 'rm x'",
        "bash <<EOF\nrm x\nEOF",
        "watch -n 1 'rm x'",
        "ssh host rm -rf /",
        'su -c "rm x" bob',
        "trap 'rm x' EXIT",
        'env -S "rm x"',
        "flock /tmp/lock rm x",
        "chroot /srv rm x",
        "busybox rm x",
        "uv run rm x",
        'bash -c "sudo sh -c \\"rm x\\""',
        "ex\\\nec rm x",
        "r\\\nm -rf x",
        "$'\\x72\\x6d' x",
        "{ rm x; }",
        "! rm x",
        "[[ -f $(rm x) ]]",
    ],
)
def test_rm_deny_holds(command: str) -> None:
    verdict = check_bash(RM_DENIED, command)
    assert verdict.action == "deny", (command, verdict)
    assert verdict.description == RULE
    assert verdict.subject.split()[0] == "rm"


@pytest.mark.parametrize(
    "command",
    ["x=rm; $x -rf y", '"${CMD}" -rf y', "$(echo rm) x", "r* x", "echo rm x | bash", 'bash -c "$CMD"', "eval $CMD"],
)
def test_a_command_that_cannot_be_checked_is_asked_even_when_allowed(command: str) -> None:
    allowing = Ruleset.from_config({"bash": {"rm *": "deny", "*": "allow"}})
    verdict = check_bash(allowing, command)
    assert verdict.action == "ask", (command, verdict)
    assert "cannot be checked" in verdict.description


@pytest.mark.parametrize("command", ["echo rm", "grep rm file", "echo 'rm -rf x'", "ls -la", "git status", "rmdir x"])
def test_rm_as_an_argument_is_not_rm(command: str) -> None:
    assert check_bash(RM_DENIED, command).action == "allow"


def test_command_v_only_looks_a_command_up() -> None:
    assert check_bash(RM_DENIED, "command -v rm").action == "allow"


@pytest.mark.parametrize("command", ['echo "unterminated', "if then fi (", "ls &&"])
def test_unparsable_is_asked(command: str) -> None:
    verdict = check_bash(Ruleset.from_config("allow"), command)
    assert verdict.action == "ask"
    assert verdict.description == "the shell parser could not read this command"


def test_a_deny_in_the_readable_part_of_unparsable_text_still_holds() -> None:
    assert check_bash(RM_DENIED, 'rm -rf x; echo "unterminated').action == "deny"


def test_an_unknown_wrapper_option_checks_both_readings_and_asks() -> None:
    allowing = Ruleset.from_config({"bash": {"rm *": "deny", "*": "allow"}})
    # Is --weird a flag (inner command: `helper rm x`) or does it take `helper` as its value?
    assert check_bash(allowing, "sudo --weird helper rm x").action == "deny"
    assert check_bash(allowing, "sudo --weird helper ls").action == "ask"


def test_the_wrapper_itself_is_checked_too() -> None:
    rules = Ruleset.from_config({"bash": {"sudo *": "deny"}})
    verdict = check_bash(rules, "sudo ls")
    assert verdict.action == "deny"
    assert verdict.subject == "sudo ls"


def test_parse_command_lists_every_simple_command_with_its_wrappers() -> None:
    parts = parse_command("echo ok && sudo -u root bash -c 'ls -la; rm x' | tee log")
    assert [(part.text, part.via) for part in parts] == [
        ("echo ok", ()),
        ("sudo -u root bash -c ls -la; rm x", ()),
        ("bash -c ls -la; rm x", ("sudo",)),
        ("ls -la", ("sudo", "bash")),
        ("rm x", ("sudo", "bash")),
        ("tee log", ()),
    ]


def test_path_commands_are_matched_by_name_and_as_written() -> None:
    rules = Ruleset.from_config({"bash": {"/usr/local/bin/tool *": "deny"}})
    assert check_bash(rules, "/usr/local/bin/tool x").action == "deny"
    assert parse_command("/usr/bin/rm x")[0].subjects() == ["rm x", "/usr/bin/rm x"]


def test_a_command_line_with_no_command_is_decided_by_the_bash_rule() -> None:
    assert check_bash(RM_DENIED, "a=1").action == "allow"
    assert check_bash(Ruleset.from_config({"bash": "deny"}), "a=1").action == "deny"


def test_explain_gives_each_part_its_own_verdict() -> None:
    rules = Ruleset.from_config({"bash": {"rm *": "deny", "git push*": "ask"}})
    explained = explain_bash(rules, "echo ok && git push && rm x")
    assert [(part.text, verdict.action) for part, verdict in explained] == [
        ("echo ok", "allow"),
        ("git push", "ask"),
        ("rm x", "deny"),
    ]


def test_always_patterns_keep_the_subcommand() -> None:
    assert always_pattern(["git", "push", "origin", "main"]) == "git push *"
    assert always_pattern(["npm", "run", "test", "--", "-q"]) == "npm run test *"
    assert always_pattern(["/bin/rm", "-rf", "x"]) == "rm *"
    assert always_pattern(["ls"]) == "ls *"


def test_debug_permission_prints_each_part_and_the_verdict(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from opencode.cli.permission import main

    project = tmp_path / "project"
    project.mkdir()
    (project / "opencode.json").write_text('{"permission": {"bash": {"rm *": "deny"}}}')
    monkeypatch.chdir(project)
    args = argparse.Namespace(subject="echo ok && rm -rf x", tool="bash", agent=None)
    assert main(args) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["echo", "ok", "allow", "(default:", "bash", "allow)"]
    assert lines[1].split()[:4] == ["rm", "-rf", "x", "deny"]
    assert lines[1].endswith('(opencode.json permission.bash."rm *")')
    assert lines[-1] == "verdict: deny"


def test_debug_permission_for_a_path_outside_the_project(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from opencode.cli.permission import main

    project = tmp_path / "project"
    project.mkdir()
    monkeypatch.chdir(project)
    args = argparse.Namespace(subject="../elsewhere.txt", tool="edit", agent=None)
    assert main(args, agent_rules={"edit": "allow"}) == 0
    out = capsys.readouterr().out
    assert f"outside the project: {os.fspath(tmp_path.resolve() / 'elsewhere.txt')}" in out
    assert "(default: external_directory ask)" in out
    assert out.splitlines()[-1] == "verdict: ask"
