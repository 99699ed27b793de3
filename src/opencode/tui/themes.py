"""The app's colour themes (registered with Textual's theme API), the theme picker, and the `tui` settings.

    register_themes(app)                    # app.register_theme for each of THEMES
    app.theme = initial_theme(config.theme) # config `theme`, else the one last picked, else "opencode"
    app.push_screen(ThemePicker(app.theme), callback)   # /themes

Names follow opencode's themes. `system` uses the terminal's own ANSI palette (Textual's ANSI
theme, renamed), so the UI takes the colours the user gave their terminal. Textual's built-in
themes (`nord`, `textual-light`, ...) stay available by their own names.

A theme picked with /themes is remembered in opencode's state file (`kv.json` under the XDG state
directory, key `theme`, as opencode's TUI keeps it) and used on the next start when the config sets
no `theme`; a `theme` in the config always wins.

`tui.scroll_speed` sets how many lines a mouse-wheel step scrolls (Textual's `scroll_sensitivity_y`);
`tui.scroll_acceleration` has no Textual counterpart and is not applied.
"""

from __future__ import annotations

import contextlib
import json
import os
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.theme import BUILTIN_THEMES, Theme
from textual.widgets import Label, OptionList
from textual.widgets.option_list import Option

if TYPE_CHECKING:
    from textual.app import App, ComposeResult

    from opencode.config.schema import Config

DEFAULT_THEME = "opencode"

THEMES: tuple[Theme, ...] = (
    Theme(
        name="opencode",
        primary="#fab283",
        secondary="#5c9cf5",
        accent="#9d7cd8",
        warning="#f5a742",
        error="#e06c75",
        success="#7fd88f",
        foreground="#eeeeee",
        background="#0a0a0a",
        surface="#141414",
        panel="#1e1e1e",
        dark=True,
    ),
    Theme(
        name="opencode-light",
        primary="#3b7dd8",
        secondary="#7b5bb6",
        accent="#d68c27",
        warning="#d68c27",
        error="#d1383d",
        success="#3d9a57",
        foreground="#1a1a1a",
        background="#ffffff",
        surface="#f5f5f5",
        panel="#ebebeb",
        dark=False,
    ),
    replace(BUILTIN_THEMES["ansi-dark"], name="system"),
    Theme(
        name="tokyonight",
        primary="#82aaff",
        secondary="#c099ff",
        accent="#ff966c",
        warning="#ffc777",
        error="#ff757f",
        success="#c3e88d",
        foreground="#c8d3f5",
        background="#1a1b26",
        surface="#1e2030",
        panel="#222436",
        dark=True,
    ),
    Theme(
        name="catppuccin",
        primary="#89b4fa",
        secondary="#cba6f7",
        accent="#f5c2e7",
        warning="#f9e2af",
        error="#f38ba8",
        success="#a6e3a1",
        foreground="#cdd6f4",
        background="#1e1e2e",
        surface="#181825",
        panel="#313244",
        dark=True,
    ),
    Theme(
        name="gruvbox",
        primary="#83a598",
        secondary="#d3869b",
        accent="#fe8019",
        warning="#fabd2f",
        error="#fb4934",
        success="#b8bb26",
        foreground="#ebdbb2",
        background="#282828",
        surface="#3c3836",
        panel="#504945",
        dark=True,
    ),
    Theme(
        name="everforest",
        primary="#a7c080",
        secondary="#7fbbb3",
        accent="#d699b6",
        warning="#e69875",
        error="#e67e80",
        success="#a7c080",
        foreground="#d3c6aa",
        background="#2d353b",
        surface="#343f44",
        panel="#3d484d",
        dark=True,
    ),
    Theme(
        name="github",
        primary="#0969da",
        secondary="#8250df",
        accent="#bf3989",
        warning="#9a6700",
        error="#cf222e",
        success="#1a7f37",
        foreground="#24292f",
        background="#ffffff",
        surface="#f6f8fa",
        panel="#eaeef2",
        dark=False,
    ),
)


def register_themes(app: App[Any]) -> None:
    for theme in THEMES:
        app.register_theme(theme)


def state_file() -> Path:
    from opencode.config.paths import paths

    return paths().state / "kv.json"


def remembered_theme() -> str | None:
    """The theme last picked with /themes, if the state file has one."""
    with contextlib.suppress(OSError, ValueError):
        data = json.loads(state_file().read_text(encoding="utf-8"))
        value = data.get("theme") if isinstance(data, dict) else None
        return value if isinstance(value, str) and value else None
    return None


def remember_theme(name: str) -> None:
    """Write `theme` into the state file, keeping its other keys (atomically: a crash leaves the old file)."""
    path = state_file()
    data: dict[str, Any] = {}
    with contextlib.suppress(OSError, ValueError):
        loaded = json.loads(path.read_text(encoding="utf-8"))
        if isinstance(loaded, dict):
            data = loaded
    data["theme"] = name
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temp.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    os.replace(temp, path)


def initial_theme(app: App[Any], configured: str | None) -> tuple[str, str | None]:
    """(theme to use, a warning when the configured one does not exist)."""
    available = app.available_themes
    if configured:
        if configured in available:
            return configured, None
        return DEFAULT_THEME, f"theme {configured!r} not found; using {DEFAULT_THEME!r} (/themes lists them)"
    remembered = remembered_theme()
    if remembered and remembered in available:
        return remembered, None
    return DEFAULT_THEME, None


class ThemePicker(ModalScreen[str | None]):
    """Every registered theme; moving the highlight previews it, Enter keeps it, Esc puts the old one back."""

    DEFAULT_CSS = """
    ThemePicker { align: center middle; }
    ThemePicker > Vertical {
        width: 50; height: auto; max-height: 80%; border: thick $primary; background: $surface; padding: 0 1;
    }
    ThemePicker Label { text-style: bold; margin: 0 0 1 0; }
    ThemePicker OptionList { height: auto; max-height: 24; }
    """

    BINDINGS: ClassVar[list[Any]] = [Binding("escape", "cancel", "Cancel", show=False)]

    def __init__(self, current: str) -> None:
        super().__init__()
        self.original = current

    def compose(self) -> ComposeResult:
        ours = [t.name for t in THEMES]
        others = sorted(n for n in self.app.available_themes if n not in ours)
        names = [*ours, *others]
        with Vertical():
            yield Label("Themes (enter picks, esc cancels)")
            options = OptionList(*(Option(n, id=n) for n in names), id="themes")
            if self.original in names:
                options.highlighted = names.index(self.original)
            yield options

    def on_mount(self) -> None:
        self.query_one(OptionList).focus()

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        if event.option.id:
            self.app.theme = event.option.id

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(event.option.id)

    def action_cancel(self) -> None:
        self.app.theme = self.original
        self.dismiss(None)


def apply_tui_config(app: App[Any], config: Config) -> list[str]:
    """Register the themes and apply config `theme` and `tui.scroll_speed`; returns warnings to show."""
    register_themes(app)
    name, warning = initial_theme(app, config.theme)
    app.theme = name
    tui = config.tui
    if tui is not None and tui.scroll_speed is not None:
        app.scroll_sensitivity_y = tui.scroll_speed  # lines per mouse-wheel step in the chat view
    return [warning] if warning else []


def open_theme_picker(app: App[Any]) -> None:
    """/themes: the picker; a pick is applied and remembered for the next start."""

    def picked(name: str | None) -> None:
        if name:
            app.theme = name
            try:
                remember_theme(name)
            except OSError as exc:
                app.notify(f"theme {name} applied, but not remembered: {exc}", severity="warning")

    app.push_screen(ThemePicker(app.theme), picked)
