"""Permission rules: what the config says about a tool call, and which rule decides.

A rule is (permission, pattern, action, where it came from). `permission` is a tool's key (`bash`,
`edit`, `read`, `external_directory`, `doom_loop`, ... or `*` for every key); `pattern` is matched
against the call's subject: the text of one shell command for `bash`, a file path for the file
tools. Config values come in opencode's shape:

    "permission": "ask"                                   every key, every subject
    "permission": {"edit": "deny"}                        one action for a key
    "permission": {"bash": {"*": "ask", "git *": "allow", "rm *": "deny"}}

and the same under `agent.NAME.permission`. `write`, `patch`, `multiedit` and `apply_patch` are
spellings of `edit` (opencode folds every file change into `edit`).

Patterns use opencode's wildcard: `*` matches any run of characters (spaces and `/` included),
`?` one character, everything else itself; a pattern ending in " *" also matches without that
tail, so "rm *" matches `rm` alone as well as `rm -rf x`. `~/` and `$HOME/` at the start of a
path pattern stand for the home directory.

Precedence, exactly as `Ruleset.evaluate` applies it:

1. Rules come in layers, weakest first: built-in defaults, the global config, the agent's rules.
   A rule matches when its key is the permission (or `*`) and its pattern matches the subject
   (any of the subject's spellings: a path relative to the project and absolute).
2. If any matching rule outside the defaults says `deny`, the verdict is deny. Order in the file
   and layer do not matter: a deny cannot be overridden by an allow, only removed.
3. Otherwise the most specific matching rule wins, comparing in turn:
   a. more literal characters in the pattern (characters other than `*` and `?`);
   b. fewer wildcards in the pattern;
   c. a rule for the permission's own key over a rule for `*`;
   d. the stronger layer (the agent over the global config);
   e. the later rule in its file.
4. Only when no config rule matches do the defaults (`DEFAULT_PERMISSION`) decide, by the same
   steps among themselves: every key allows except `external_directory` and `doom_loop`, which
   ask, and reading `.env` files, which asks.

So "rm *": "deny" holds against "*": "allow" in either order; "git push *": "ask" beats
"git *": "allow" for `git push`, and "npm run *": "allow" beats "*": "ask" for `npm run test`.
Because a deny always wins, an allow-list is written with an `ask` catch-all ({"*": "ask",
"git status*": "allow"}), not a deny one; `Ruleset.warnings()` names allow rules that a catch-all
deny makes dead.
"""

from __future__ import annotations

import functools
import json
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, cast

Action = Literal["allow", "ask", "deny"]
ACTIONS: tuple[Action, ...] = ("allow", "ask", "deny")

# Layers, weakest first; a higher number wins ties of specificity (step 3d).
DEFAULT_LAYER = 0
GLOBAL_LAYER = 1
AGENT_LAYER = 2

DEFAULT_PERMISSION: dict[str, str | dict[str, str]] = {
    "*": "allow",
    "bash": "allow",
    "edit": "allow",
    "external_directory": "ask",
    "doom_loop": "ask",
    "read": {"*": "allow", "*.env": "ask", "*.env.*": "ask", "*.env.example": "allow"},
}
"""opencode's defaults, used only where no config rule matches."""

KEY_ALIASES = {"write": "edit", "patch": "edit", "multiedit": "edit", "apply_patch": "edit"}

# Keys whose patterns are commands, not paths, so `~` in them is left alone.
_COMMAND_KEYS = frozenset({"bash"})


@dataclass(frozen=True)
class Rule:
    permission: str
    pattern: str
    action: Action
    origin: str
    """Where the rule lives: "opencode.json", "agent plan", "default"."""
    key_path: str
    """The rule's place in that config: 'permission.bash."rm *"'."""
    layer: int = GLOBAL_LAYER
    index: int = 0

    @property
    def description(self) -> str:
        return f"{self.origin} {self.key_path}"

    def applies_to(self, permission: str) -> bool:
        return self.permission == permission or wildcard_match(permission, self.permission)

    def specificity(self, permission: str) -> tuple[int, int, int]:
        wild = self.pattern.count("*") + self.pattern.count("?")
        return (len(self.pattern) - wild, -wild, int(self.permission == permission))


@dataclass(frozen=True)
class Verdict:
    action: Action
    permission: str
    subject: str
    rule: Rule | None = None
    reason: str | None = None
    """Set when no rule decided alone (a command that cannot be checked, a parse failure)."""

    @property
    def description(self) -> str:
        if self.reason is not None:
            return self.reason
        if self.rule is None:
            return f"no rule: {self.permission} {self.action}"
        if self.rule.layer == DEFAULT_LAYER:
            return f"default: {self.permission} {self.action}"
        return self.rule.description

    @property
    def sentence(self) -> str:
        """The rule as a tool error names it: 'permission.bash."rm *" = deny in opencode.json'."""
        if self.rule is None or self.rule.layer == DEFAULT_LAYER or self.reason is not None:
            return self.description
        return f"{self.rule.key_path} = {self.rule.action} in {self.rule.origin}"


@dataclass
class Ruleset:
    rules: list[Rule] = field(default_factory=list)
    defaults: list[Rule] = field(default_factory=list)

    @classmethod
    def from_config(
        cls,
        global_permission: str | Mapping[str, Any] | None,
        agent_permission: str | Mapping[str, Any] | None = None,
        *,
        agent: str | None = None,
        defaults: str | Mapping[str, Any] | None = None,
        origin: str = "opencode.json",
    ) -> Ruleset:
        """Rules from config `permission` and the agent's `permission` (the built-in agent's rules
        with the user's `agent.NAME.permission` laid over them)."""
        rules = parse(global_permission, origin=origin, layer=GLOBAL_LAYER)
        agent_origin = f"agent {agent}" if agent else "agent"
        rules += parse(agent_permission, origin=agent_origin, layer=AGENT_LAYER)
        table = DEFAULT_PERMISSION if defaults is None else defaults
        return cls(rules, parse(table, origin="default", layer=DEFAULT_LAYER))

    def with_rules(self, rules: Iterable[Rule]) -> Ruleset:
        return Ruleset([*self.rules, *rules], list(self.defaults))

    def evaluate(self, permission: str, subject: str | Sequence[str]) -> Verdict:
        """The verdict for `subject` (one string, or several spellings of the same thing)."""
        permission = _key(permission)
        spellings = _spellings(subject)
        shown = spellings[0] if spellings else ""
        found = _matching(self.rules, permission, spellings)
        if not found:
            found = _matching(self.defaults, permission, spellings)
            if not found:
                return Verdict("ask", permission, shown, reason=f"no rule matches: {permission} ask")
        # Step 2: any deny decides; step 3: otherwise the most specific rule.
        denies = [rule for rule in found if rule.action == "deny"]
        winner = _best(denies or found, permission)
        return Verdict(winner.action, permission, shown, winner)

    def warnings(self) -> list[str]:
        """Allow and ask rules that can never decide, because a deny for everything covers them."""
        found: list[str] = []
        for deny in self.rules:
            if deny.action != "deny" or deny.pattern.strip("*"):
                continue
            for rule in self.rules:
                if rule.action == "deny" or not (deny.permission == "*" or rule.permission == deny.permission):
                    continue
                found.append(
                    f"{rule.description} = {rule.action} never applies: {deny.description} = deny matches "
                    'everything, and a deny always wins. For an allow-list, make the catch-all "ask".'
                )
        return found


def parse(value: str | Mapping[str, Any] | None, *, origin: str, layer: int) -> list[Rule]:
    """Rules from one `permission` value, in file order."""
    if value is None:
        return []
    if isinstance(value, str):
        return [Rule("*", "*", _action(value), origin, "permission", layer, 0)]
    rules: list[Rule] = []
    for key, rule in value.items():
        permission = KEY_ALIASES.get(key, key)
        path = f"permission.{_quote_key(key)}"
        if isinstance(rule, str):
            rules.append(Rule(permission, "*", _action(rule), origin, path, layer, len(rules)))
            continue
        for pattern, action in rule.items():
            expanded = pattern if permission in _COMMAND_KEYS else _expand_home(pattern)
            rules.append(
                Rule(permission, expanded, _action(action), origin, f"{path}.{json.dumps(pattern)}", layer, len(rules))
            )
    return rules


def wildcard_match(text: str, pattern: str) -> bool:
    return _compile(pattern).fullmatch(text) is not None


@functools.lru_cache(maxsize=1024)
def _compile(pattern: str) -> re.Pattern[str]:
    tail = pattern.endswith(" *")
    body = pattern[:-2] if tail else pattern
    regex = "".join(".*" if ch == "*" else "." if ch == "?" else re.escape(ch) for ch in body)
    if tail:
        # "rm *" is meant as "rm, with or without arguments".
        regex += "(?: .*)?"
    return re.compile(regex, re.DOTALL)


def _matching(rules: Iterable[Rule], permission: str, spellings: Sequence[str]) -> list[Rule]:
    return [
        rule
        for rule in rules
        if rule.applies_to(permission) and any(wildcard_match(text, rule.pattern) for text in spellings)
    ]


def _rank(rule: Rule, permission: str) -> tuple[int, int, int, int, int]:
    return (*rule.specificity(permission), rule.layer, rule.index)


def _best(rules: Sequence[Rule], permission: str) -> Rule:
    return max(rules, key=lambda rule: _rank(rule, permission))


def _key(permission: str) -> str:
    return KEY_ALIASES.get(permission, permission)


def _spellings(subject: str | Sequence[str]) -> list[str]:
    items = [subject] if isinstance(subject, str) else list(subject)
    return list(dict.fromkeys(items))


def _action(value: Any) -> Action:
    if value not in ACTIONS:
        raise ValueError(f"expected one of allow, ask, deny, got {value!r}")
    return cast(Action, value)


def _expand_home(pattern: str) -> str:
    home = os.path.expanduser("~")
    if pattern == "~" or pattern == "$HOME":
        return home
    for prefix in ("~/", "$HOME/"):
        if pattern.startswith(prefix):
            return home + "/" + pattern[len(prefix) :]
    return pattern


def _quote_key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key) else json.dumps(key)
