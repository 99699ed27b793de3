"""Rules from config and their precedence (see the docstring of opencode.permission.rules)."""

from __future__ import annotations

import pytest

from opencode.permission.rules import DEFAULT_PERMISSION, Ruleset, wildcard_match


def test_wildcard_star_matches_spaces_and_slashes_and_optional_tail() -> None:
    assert wildcard_match("rm -rf /tmp/x", "rm *")
    assert wildcard_match("rm", "rm *")
    assert not wildcard_match("rmdir x", "rm *")
    assert wildcard_match("git push origin main", "git push*")
    assert wildcard_match("/a/b/.env", "*.env")
    assert wildcard_match("npm run test", "npm run ?est")
    assert not wildcard_match("npm run build", "npm run t*")


@pytest.mark.parametrize(
    "permission",
    [
        {"bash": {"rm *": "deny", "*": "allow"}},
        {"bash": {"*": "allow", "rm *": "deny"}},
    ],
)
def test_deny_beats_allow_in_either_order(permission: dict[str, dict[str, str]]) -> None:
    verdict = Ruleset.from_config(permission).evaluate("bash", "rm -rf x")
    assert verdict.action == "deny"
    assert verdict.description == 'opencode.json permission.bash."rm *"'


def test_deny_wins_even_against_a_more_specific_allow() -> None:
    rules = Ruleset.from_config({"bash": {"rm *": "deny", "rm -i *": "allow"}})
    assert rules.evaluate("bash", "rm -i x").action == "deny"


def test_global_deny_beats_agent_allow_and_agent_deny_beats_global_allow() -> None:
    assert Ruleset.from_config({"edit": "deny"}, {"edit": "allow"}, agent="build").evaluate("edit", "a.py").action == (
        "deny"
    )
    verdict = Ruleset.from_config({"edit": "allow"}, {"edit": "deny"}, agent="plan").evaluate("edit", "a.py")
    assert verdict.action == "deny"
    assert verdict.description == "agent plan permission.edit"


def test_more_specific_allow_beats_general_ask_whatever_the_order() -> None:
    for permission in ({"bash": {"*": "ask", "npm run *": "allow"}}, {"bash": {"npm run *": "allow", "*": "ask"}}):
        rules = Ruleset.from_config(permission)
        assert rules.evaluate("bash", "npm run test").action == "allow"
        assert rules.evaluate("bash", "npm install").action == "ask"


def test_more_specific_ask_beats_general_allow() -> None:
    rules = Ruleset.from_config({"bash": {"git push *": "ask", "git *": "allow"}})
    assert rules.evaluate("bash", "git push origin").action == "ask"
    assert rules.evaluate("bash", "git status").action == "allow"


def test_fewer_wildcards_break_a_tie_of_literal_characters() -> None:
    rules = Ruleset.from_config({"bash": {"git st*": "ask", "git st?tus": "allow"}})
    assert rules.evaluate("bash", "git status").action == "allow"


def test_same_specificity_later_rule_wins() -> None:
    # "git s*" and "git *s" both have five literal characters and one wildcard.
    first = Ruleset.from_config({"bash": {"git s*": "ask", "git *s": "allow"}}).evaluate("bash", "git status")
    assert first.action == "allow"
    second = Ruleset.from_config({"bash": {"git *s": "allow", "git s*": "ask"}}).evaluate("bash", "git status")
    assert second.action == "ask"


def test_agent_overrides_global_at_the_same_specificity() -> None:
    rules = Ruleset.from_config({"bash": {"git *": "ask"}}, {"bash": {"git *": "allow"}}, agent="build")
    verdict = rules.evaluate("bash", "git log")
    assert verdict.action == "allow"
    assert verdict.description == 'agent build permission.bash."git *"'
    # ...but a more specific global rule still beats a general agent one.
    rules = Ruleset.from_config({"bash": {"git push *": "ask"}}, {"bash": "allow"}, agent="build")
    assert rules.evaluate("bash", "git push").action == "ask"


def test_a_tools_own_key_beats_the_star_key() -> None:
    rules = Ruleset.from_config({"*": "ask", "read": "allow"})
    assert rules.evaluate("read", "/x").action == "allow"
    assert rules.evaluate("edit", "/x").action == "ask"
    assert rules.evaluate("edit", "/x").description == 'opencode.json permission."*"'


def test_top_level_string_applies_to_every_key() -> None:
    rules = Ruleset.from_config("ask")
    assert rules.evaluate("bash", "ls").action == "ask"
    assert rules.evaluate("webfetch", "https://x").action == "ask"
    assert rules.evaluate("bash", "ls").description == "opencode.json permission"


def test_defaults_decide_only_when_no_config_rule_matches() -> None:
    rules = Ruleset.from_config(None)
    assert rules.evaluate("bash", "rm -rf x").description == "default: bash allow"
    assert rules.evaluate("edit", "a.py").action == "allow"
    assert rules.evaluate("webfetch", "https://x").action == "allow"
    assert rules.evaluate("external_directory", "/etc/passwd").action == "ask"
    assert rules.evaluate("doom_loop", "read").action == "ask"
    assert rules.evaluate("read", "/p/.env").action == "ask"
    assert rules.evaluate("read", "/p/.env.example").action == "allow"
    assert rules.evaluate("read", "/p/a.py").action == "allow"
    # A config allow beats a default ask.
    assert Ruleset.from_config({"external_directory": "allow"}).evaluate("external_directory", "/x").action == "allow"
    assert "doom_loop" in DEFAULT_PERMISSION


def test_write_is_folded_into_edit() -> None:
    rules = Ruleset.from_config({"write": "deny"})
    assert rules.evaluate("edit", "a.py").action == "deny"
    assert rules.evaluate("write", "a.py").action == "deny"


def test_any_spelling_of_a_path_matches() -> None:
    rules = Ruleset.from_config({"edit": {"src/*": "deny"}})
    assert rules.evaluate("edit", ["/p/src/a.py", "src/a.py"]).action == "deny"
    assert rules.evaluate("edit", ["/p/lib/a.py", "lib/a.py"]).action == "allow"


def test_home_in_path_patterns_is_expanded(isolated_env: object) -> None:
    import os

    home = os.path.expanduser("~")
    rules = Ruleset.from_config({"external_directory": {"~/notes/*": "allow"}})
    assert rules.evaluate("external_directory", f"{home}/notes/a.md").action == "allow"


def test_warnings_name_allows_a_catch_all_deny_makes_dead() -> None:
    warnings = Ruleset.from_config({"bash": {"*": "deny", "git status*": "allow"}}).warnings()
    assert len(warnings) == 1
    assert 'permission.bash."git status*" = allow never applies' in warnings[0]
    assert Ruleset.from_config({"bash": {"*": "ask", "git status*": "allow"}}).warnings() == []


def test_invalid_action_is_refused() -> None:
    with pytest.raises(ValueError, match="allow, ask, deny"):
        Ruleset.from_config({"bash": "maybe"})
