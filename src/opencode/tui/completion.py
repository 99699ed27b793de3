"""What the prompt box completes and rewrites, without Textual: `@file` and `/command` tokens,
fuzzy ranking, `@path` mentions to attach, and large pastes kept as chips.

    token = token_at("see @src/ap", row=0)       # Token(kind="file", start=4, query="src/ap")
    rank_files("ap", files)                      # best matches first: src/app.py before docs/map.txt
    mentions("fix @src/app.py.")                 # ["src/app.py"]
    label = pastes.add(big_text)                 # "[pasted 120 lines]", put in the box instead
    pastes.expand(box_text)                      # the chips replaced by what was pasted

The widgets that use these live in prompt.py; the fuzzy ranking itself lives in
`opencode.util.fuzzy` (the server's `GET /find/file` ranks with it too).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from opencode.util.fuzzy import fuzzy_score as fuzzy_score  # re-exported: prompt.py and tests use them here
from opencode.util.fuzzy import rank_files as rank_files

if TYPE_CHECKING:
    from opencode.tui.client import Client

MENU_SIZE = 10
"""Entries the dropdown shows at most."""
PASTE_LINES = 20
PASTE_CHARS = 2000
"""A paste longer than this (lines, or characters) is shown as a chip."""

_COMMAND_TOKEN = re.compile(r"/(\S*)")
_FILE_TOKEN = re.compile(r"(?:^|(?<=\s))@(\S*)$")
# `@path` not inside a word (mail addresses) or after a backtick; a path ends before whitespace,
# quotes, brackets and sentence punctuation (as custom commands read `@path`, agent/commands.py).
_MENTION = re.compile(r"(?<![\w`@])@((?:~/|\.{1,2}/|/)?[^\s`'\"()\[\]{}<>,;!?]+)")


@dataclass(frozen=True)
class Token:
    """What the user is typing at the cursor: `@query` (a file) or `/query` (a command, first word only)."""

    kind: Literal["file", "command"]
    row: int
    start: int
    """Column of the `@` or `/`."""
    query: str


def token_at(before_cursor: str, row: int) -> Token | None:
    """The token ending at the cursor; `before_cursor` is the cursor's line up to the cursor."""
    if row == 0:
        command = _COMMAND_TOKEN.fullmatch(before_cursor)
        if command is not None:
            return Token("command", row, 0, command.group(1))
    found = _FILE_TOKEN.search(before_cursor)
    if found is not None:
        return Token("file", row, found.start(1) - 1, found.group(1))
    return None


@dataclass(frozen=True)
class CommandItem:
    name: str
    """With its slash: `/compact`."""
    description: str
    builtin: bool
    """One of the app's own commands (run at once on Enter); custom ones take arguments first."""


def rank_commands(query: str, commands: list[CommandItem], limit: int = MENU_SIZE) -> list[CommandItem]:
    """Commands whose name starts with the query first (in their order), then fuzzy matches."""
    q = query.lower()
    starts = [c for c in commands if c.name[1:].lower().startswith(q)]
    rest = [c for c in commands if c not in starts and fuzzy_score(q, c.name[1:]) is not None]
    rest.sort(key=lambda c: -(fuzzy_score(q, c.name[1:]) or 0.0))
    return [*starts, *rest][:limit]


def mentions(text: str) -> list[str]:
    """The `@path` mentions in a message, in order, each once (a trailing `.` or `:` is punctuation)."""
    found = (match.group(1).rstrip(".:") for match in _MENTION.finditer(text))
    return list(dict.fromkeys(path for path in found if path))


def is_large_paste(text: str) -> bool:
    return text.count("\n") + 1 > PASTE_LINES or len(text) > PASTE_CHARS


@dataclass
class Pastes:
    """Large pastes shown as chips (`[pasted 120 lines]`) in the box; `expand` puts the text back."""

    chips: dict[str, str] = field(default_factory=dict)

    def add(self, text: str) -> str:
        lines = text.count("\n") + 1
        base = f"pasted {lines:,} lines" if lines > 1 else f"pasted {len(text):,} characters"
        label = f"[{base}]"
        number = 1
        while label in self.chips and self.chips[label] != text:
            number += 1
            label = f"[{base} #{number}]"
        self.chips[label] = text
        return label

    def expand(self, text: str) -> str:
        for label, pasted in self.chips.items():
            if label in text:
                text = text.replace(label, pasted)
        return text


class Completer:
    """Where the dropdown's entries come from: the app's commands, the user's, the project's files.

    The file list is read from the client once and kept; `refresh_files` makes the next `@` list
    the project again (after a turn, which may have added or removed files)."""

    def __init__(self, client: Client, builtin: dict[str, str]) -> None:
        self.client = client
        self.builtin = builtin
        self.files: list[str] | None = None
        self._stale = False
        self._commands: list[CommandItem] | None = None

    @property
    def files_stale(self) -> bool:
        return self.files is None or self._stale

    async def load_files(self) -> list[str]:
        refresh = self._stale
        self._stale = False
        self.files = await self.client.project_files(refresh=refresh)
        return self.files

    def refresh_files(self) -> None:
        self._stale = True

    def commands(self) -> list[CommandItem]:
        """Built-in commands, then the custom ones (read again after `forget_commands`)."""
        from opencode.tui.client import ClientError

        if self._commands is None:
            items = [CommandItem(name, what, True) for name, what in self.builtin.items()]
            try:
                custom = self.client.commands()
            except ClientError:
                custom = []  # a broken command file: the built-ins still complete
            taken = {item.name for item in items}
            items += [CommandItem(f"/{c.name}", c.description, False) for c in custom if f"/{c.name}" not in taken]
            self._commands = items
        return self._commands

    def forget_commands(self) -> None:
        self._commands = None

    def is_custom(self, name: str) -> bool:
        """Whether `/name` runs a custom command (the user's, or the built-in `init`)."""
        return any(item.name == f"/{name}" and not item.builtin for item in self.commands()) or (
            name == "init" and f"/{name}" in self.builtin
        )


_FILE_BLOCK = re.compile(r'\n*<file path="([^"\n]+)">\n.*?\n</file>', re.DOTALL)


def shown_text(text: str, directory: str = "") -> str:
    """A sent message as the chat shows it: each attached file's block (`<file path=...>`, as
    `opencode run -f` inlines files) folded to one `[file path]` line, the path relative to `directory`."""

    def fold(match: re.Match[str]) -> str:
        path = match.group(1)
        if directory and path.startswith(directory.rstrip("/") + "/"):
            path = path[len(directory.rstrip("/")) + 1 :]
        return f"\n[file {path}]"

    return _FILE_BLOCK.sub(fold, text).strip("\n")
