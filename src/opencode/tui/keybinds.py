"""Keybinds from config `keybinds`, in opencode's names, with its leader key.

    keymap = Keymap.from_config({"leader": "ctrl+o", "session_new": "<leader>n,ctrl+alt+n"}, commands)
    keymap.feed("ctrl+o")   # -> LEADER (waiting for the next key)
    keymap.feed("n")        # -> "session_new"

A binding string is a comma-separated list of keys (`ctrl+x`, `pageup`, `shift+f2`, `<leader>q`)
or `none`. Names opencode has that this app does not do are accepted and ignored; names opencode
does not have are reported (`Keymap.warnings`, one line each); a key string that cannot be read is
a `KeybindError` at start. The app sends every key it receives through `feed` before the focused
widget sees it (no modal dialog open), and runs the returned name with `perform`.

No Textual import at module level: the key names come from `textual.keys` only when parsing.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from opencode.tui.app import OpencodeApp

LEADER: Final = "<leader>"
LEADER_TIMEOUT = 2.0
"""Seconds the key after the leader may take (opencode waits 2 s too)."""

DEFAULTS: Final[dict[str, str]] = {
    "leader": "ctrl+x",
    "app_exit": "ctrl+c,<leader>q",
    "session_new": "<leader>n",
    "session_interrupt": "escape",
    "sidebar_toggle": "<leader>b",
    "theme_list": "<leader>t",
    "session_list": "<leader>l",
    "session_compact": "<leader>c",
    "session_export": "<leader>x",
    "editor_open": "<leader>e",
    "model_list": "<leader>m",
    "agent_list": "<leader>a",
    "messages_page_up": "pageup,ctrl+alt+b",
    "messages_page_down": "pagedown,ctrl+alt+f",
    "messages_line_up": "ctrl+alt+y",
    "messages_line_down": "ctrl+alt+e",
    "messages_half_page_up": "ctrl+alt+u",
    "messages_half_page_down": "ctrl+alt+d",
    "messages_first": "ctrl+g,home",
    "messages_last": "ctrl+alt+g,end",
    "messages_undo": "<leader>u",
    "messages_redo": "<leader>r",
}
"""The names this app acts on, with their default keys (opencode's, less `ctrl+d` to quit)."""

COMMAND_OF: Final[dict[str, str]] = {
    "session_new": "/new",
    "theme_list": "/themes",
    "session_list": "/sessions",
    "session_compact": "/compact",
    "session_export": "/export",
    "editor_open": "/editor",
    "model_list": "/models",
    "agent_list": "/agents",
    "messages_undo": "/undo",
    "messages_redo": "/redo",
}
"""Names that run a slash command; bound only when the app has that command."""

OPENCODE_NAMES: Final = frozenset(
    [
        "leader",
        "app_exit",
        "app_help",
        "editor_open",
        "theme_list",
        "sidebar_toggle",
        "scrollbar_toggle",
        "username_toggle",
        "status_view",
        "tool_details",
        "session_export",
        "session_new",
        "session_list",
        "session_timeline",
        "session_fork",
        "session_rename",
        "session_share",
        "session_unshare",
        "session_interrupt",
        "session_compact",
        "session_child_cycle",
        "session_child_cycle_reverse",
        "session_parent",
        "messages_page_up",
        "messages_page_down",
        "messages_line_up",
        "messages_line_down",
        "messages_half_page_up",
        "messages_half_page_down",
        "messages_first",
        "messages_last",
        "messages_next",
        "messages_previous",
        "messages_copy",
        "messages_undo",
        "messages_redo",
        "messages_last_user",
        "messages_toggle_conceal",
        "model_list",
        "model_cycle_recent",
        "model_cycle_recent_reverse",
        "model_cycle_favorite",
        "model_cycle_favorite_reverse",
        "variant_cycle",
        "command_list",
        "agent_list",
        "agent_cycle",
        "agent_cycle_reverse",
        "input_clear",
        "input_paste",
        "input_submit",
        "input_newline",
        "input_move_left",
        "input_move_right",
        "input_move_up",
        "input_move_down",
        "input_select_left",
        "input_select_right",
        "input_select_up",
        "input_select_down",
        "input_line_home",
        "input_line_end",
        "input_select_line_home",
        "input_select_line_end",
        "input_visual_line_home",
        "input_visual_line_end",
        "input_select_visual_line_home",
        "input_select_visual_line_end",
        "input_buffer_home",
        "input_buffer_end",
        "input_select_buffer_home",
        "input_select_buffer_end",
        "input_delete_line",
        "input_delete_to_line_end",
        "input_delete_to_line_start",
        "input_backspace",
        "input_delete",
        "input_undo",
        "input_redo",
        "input_word_forward",
        "input_word_backward",
        "input_select_word_forward",
        "input_select_word_backward",
        "input_delete_word_forward",
        "input_delete_word_backward",
        "history_previous",
        "history_next",
        "terminal_suspend",
        "terminal_title_toggle",
        "tips_toggle",
        "display_thinking",
    ]
)
"""Every name opencode's `keybinds` takes (its docs, 1.x)."""

MODIFIERS: Final = ("ctrl", "alt", "shift", "super", "meta")
ALIASES: Final = {"return": "enter", "esc": "escape", "del": "delete", "pgup": "pageup", "pgdn": "pagedown"}
EDITING_KEYS: Final = frozenset({"home", "end", "left", "right", "up", "down", "backspace", "delete", "enter", "tab"})
"""Keys the prompt box needs for itself: bound to a name, they act only when no text box has focus."""

BUILT_IN: Final = frozenset({("ctrl+c", "app_exit"), ("escape", "session_interrupt")})
"""Keys the app's own bindings already give these names: left to them (and to widgets that use them first)."""

PENDING: Final = "<pending>"
"""What `feed` returns for the leader key itself: the next key completes the sequence."""


class KeybindError(ValueError):
    """A `keybinds` entry that cannot be read; the message names the entry and what to write."""


def _base_keys() -> frozenset[str]:
    from textual.keys import Keys

    names = {k.value for k in Keys if "+" not in k.value and not k.value.startswith("<")}
    names |= {f"f{n}" for n in range(1, 25)} | {"enter", "tab", "space", "backspace", "escape"}
    return frozenset(names)


def _split(key: str) -> tuple[list[str], str]:
    """`ctrl+shift+a` -> (["ctrl", "shift"], "a"); `ctrl++` -> (["ctrl"], "+"); `+` -> ([], "+")."""
    if len(key) <= 1:
        return [], key
    if key.endswith("++"):
        return key[:-2].split("+"), "+"
    *mods, base = key.split("+")
    return mods, base


def canonical(key: str) -> str:
    """One spelling per key: modifiers in a fixed order, aliases resolved (`shift+ctrl+X` -> `ctrl+shift+x`)."""
    from textual.keys import _character_to_key

    mods, base = _split(key)
    if len(base) == 1:
        base = _character_to_key(base.lower() if mods else base)
    else:
        base = ALIASES.get(base.lower(), base.lower())
    order = sorted({m.lower() for m in mods}, key=lambda m: MODIFIERS.index(m) if m in MODIFIERS else len(MODIFIERS))
    return "+".join([*order, base])


def parse_keys(name: str, value: str) -> list[tuple[bool, str]]:
    """`"ctrl+c,<leader>q"` -> [(False, "ctrl+c"), (True, "q")]; `none` -> []. Raises `KeybindError`."""
    if not isinstance(value, str):
        raise KeybindError(f'keybinds.{name}: expected a string such as "ctrl+x" or "<leader>n", got {value!r}')
    if value.strip().lower() == "none":
        return []
    bases = _base_keys()
    keys: list[tuple[bool, str]] = []
    for raw in value.split(","):
        item = raw.strip()
        leader = item.lower().startswith(LEADER)
        if leader:
            item = item[len(LEADER) :].strip()
        mods, base = _split(item)
        bad = [m for m in mods if m.lower() not in MODIFIERS]
        base_name = ALIASES.get(base.lower(), base.lower())
        if not item or bad or not (len(base) == 1 or base_name in bases):
            what = f"unknown modifier {bad[0]!r}" if bad else f"unknown key {base or raw.strip()!r}"
            raise KeybindError(
                f"keybinds.{name}: cannot read {raw.strip()!r} ({what}); write keys like "
                '"ctrl+x", "alt+shift+f2", "pageup", "<leader>n", several separated by commas, or "none"'
            )
        keys.append((leader, canonical(item)))
    return keys


@dataclass
class Keymap:
    """Which key (or leader sequence) runs which name; `feed` walks it one key at a time."""

    leader: str | None
    direct: dict[str, str] = field(default_factory=dict)
    after_leader: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    _leader_at: float | None = None

    @classmethod
    def from_config(cls, config: Mapping[str, str] | None, commands: Iterable[str] = ()) -> Keymap:
        """Defaults overlaid with `config`; names that run a missing slash command stay unbound."""
        config = dict(config or {})
        warnings = [
            f"keybinds: unknown name {name!r} ignored (see opencode's keybind names)"
            for name in config
            if name not in OPENCODE_NAMES
        ]
        merged = {**DEFAULTS, **{k: v for k, v in config.items() if k in OPENCODE_NAMES}}
        leader_keys = parse_keys("leader", merged["leader"])
        if any(is_leader for is_leader, _ in leader_keys) or len(leader_keys) > 1:
            raise KeybindError('keybinds.leader: one key without <leader>, such as "ctrl+x" (or "none")')
        keymap = cls(leader=leader_keys[0][1] if leader_keys else None, warnings=warnings)
        available = set(commands)
        for name, value in merged.items():
            keys = parse_keys(name, value)  # every entry is checked, acted on or not
            if name == "leader" or name not in DEFAULTS:
                continue
            command = COMMAND_OF.get(name)
            if command is not None and command not in available:
                continue
            for is_leader, key in keys:
                if is_leader and keymap.leader is None:
                    keymap.warnings.append(f"keybinds.{name}: <leader>{key} unused, the leader is none")
                    continue
                (keymap.after_leader if is_leader else keymap.direct)[key] = name
        return keymap

    def keys_for(self, name: str) -> list[str]:
        """How the keys of `name` read, for help: `ctrl+x n`."""
        found = [k for k, n in self.direct.items() if n == name]
        found += [f"{self.leader} {k}" for k, n in self.after_leader.items() if n == name]
        return found

    def help_lines(self) -> list[str]:
        """`ctrl+x b             sidebar_toggle` for each bound name, in `DEFAULTS` order."""
        lines = []
        for name in DEFAULTS:
            keys = self.keys_for(name)
            if keys and name != "leader":
                lines.append(f"{', '.join(keys):<20} {name}")
        return lines

    def feed(self, key: str, *, typing: bool = False) -> str | None:
        """The name `key` completes, `PENDING` after the leader, or None (the key goes on to the widgets).

        `typing`: a text box has focus, so keys it edits with are left to it."""
        key = canonical(key)
        if self._leader_at is not None:
            started, self._leader_at = self._leader_at, None
            if time.monotonic() - started <= LEADER_TIMEOUT:
                # After the leader every key is the sequence's, matched or not (it is not typed).
                return self.after_leader.get(key, "")
        if self.leader is not None and key == self.leader:
            self._leader_at = time.monotonic()
            return PENDING
        name = self.direct.get(key)
        if name is None or (typing and key in EDITING_KEYS):
            return None
        return name

    @property
    def waiting(self) -> bool:
        return self._leader_at is not None and time.monotonic() - self._leader_at <= LEADER_TIMEOUT


async def perform(app: OpencodeApp, name: str) -> None:
    """Run the action `name` on the app through its own commands and methods."""
    chat = app.chat
    command = COMMAND_OF.get(name)
    if command is not None:
        await app.run_command(command)
    elif name == "app_exit":
        app.exit(0)
    elif name == "session_interrupt":
        app.action_interrupt()
    elif name == "sidebar_toggle":
        from opencode.tui.sidepanel import SidePanel

        app.query_one(SidePanel).toggle()
    elif name == "messages_page_up":
        chat.scroll_page_up(animate=False)
    elif name == "messages_page_down":
        chat.scroll_page_down(animate=False)
    elif name in ("messages_half_page_up", "messages_half_page_down"):
        step = max(1, chat.scrollable_content_region.height // 2)
        chat.scroll_relative(y=-step if name.endswith("up") else step, animate=False)
    elif name in ("messages_line_up", "messages_line_down"):
        chat.scroll_relative(y=-1 if name.endswith("up") else 1, animate=False)
    elif name == "messages_first":
        chat.scroll_home(animate=False)
    elif name == "messages_last":
        chat.scroll_end(animate=False)


def _left_to_text_box(key: str) -> bool:
    """Keys a focused text box types or edits with (no ctrl/alt/super/meta; not page or function keys)."""
    mods, base = _split(key)
    if any(m in ("ctrl", "alt", "super", "meta") for m in mods):
        return False
    return base not in ("pageup", "pagedown", "insert") and not (base[:1] == "f" and base[1:].isdigit())


async def handle_key(app: OpencodeApp, event: object) -> bool:
    """The app's first look at a key (before the focused widget): True when a keybind took it.

    Keys go to dialogs untouched; with the prompt box focused, the keys it edits with stay its own
    (`escape` included: the box turns it into an interrupt itself)."""
    from textual import events
    from textual.screen import ModalScreen
    from textual.widgets import Input, TextArea

    if not isinstance(event, events.Key) or event.is_forwarded or isinstance(app.screen, ModalScreen):
        return False
    keymap = app.keymap
    typing = isinstance(app.focused, TextArea | Input)
    key = canonical(event.key)
    if typing and not keymap.waiting and _left_to_text_box(key) and key != keymap.leader:
        return False
    waiting = keymap.waiting
    name = keymap.feed(key, typing=typing)
    if name is None or (key, name) in BUILT_IN:
        return False
    event.stop()
    event.prevent_default()
    if name == PENDING:
        app.notify(f"{keymap.leader} …", timeout=LEADER_TIMEOUT)
        return True
    if waiting:
        app.clear_notifications()
    if name:
        await perform(app, name)
    return True
