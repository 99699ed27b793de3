"""Themes (config `theme`, /themes, remembered) and keybinds (config `keybinds`, the leader key), via Pilot."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from contextlib import redirect_stderr
from pathlib import Path

import pytest
from textual import events

from opencode.testing.model_server import ScriptedModelServer
from opencode.tui import run_tui
from opencode.tui.app import OpencodeApp
from opencode.tui.keybinds import KeybindError, Keymap, parse_keys
from opencode.tui.themes import THEMES, ThemePicker, state_file
from opencode.tui.widgets import ChatView, Notice, PromptInput
from tests.tui.conftest import engine_of, make_client, type_text, wait_until


def notices(app: OpencodeApp) -> list[str]:
    return [str(n.render()) for n in app.query(Notice)]


def sessions(app: OpencodeApp) -> list[str]:
    return [s.id for s in engine_of(app).store.list_sessions(limit=50)]


# --- themes ---------------------------------------------------------------------------------------


async def test_theme_from_config_is_active_and_all_ours_are_registered(make_app: Callable[..., OpencodeApp]) -> None:
    app = make_app({"theme": "gruvbox"})
    async with app.run_test() as pilot:
        await pilot.pause(0.05)
        assert app.theme == "gruvbox"
        available = app.available_themes
        ours = [t.name for t in THEMES]
        assert len(ours) >= 6 and all(name in available for name in ours)
        assert any(not available[name].dark for name in ours)  # a light one
        assert available["system"].ansi  # the terminal's own palette
        assert app.current_theme.primary == "#83a598"


async def test_unknown_theme_warns_and_falls_back(make_app: Callable[..., OpencodeApp]) -> None:
    app = make_app({"theme": "no-such-theme"})
    async with app.run_test() as pilot:
        await pilot.pause(0.05)
        assert app.theme == "opencode"
        assert any("theme 'no-such-theme' not found" in text for text in notices(app))


async def test_themes_command_switches_and_remembers_the_pick(make_app: Callable[..., OpencodeApp]) -> None:
    app = make_app()
    async with app.run_test(size=(100, 40)) as pilot:
        assert app.theme == "opencode"
        await type_text(pilot, "/themes")
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, ThemePicker))
        await pilot.press("down")  # the highlight previews the theme
        await pilot.pause(0.05)
        assert app.theme == "opencode-light"
        await pilot.press("escape")  # cancel puts the old one back
        await wait_until(pilot, lambda: not isinstance(app.screen, ThemePicker))
        assert app.theme == "opencode"
        await type_text(pilot, "/themes")
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, ThemePicker))
        await pilot.press("down", "down", "down", "enter")
        await wait_until(pilot, lambda: not isinstance(app.screen, ThemePicker))
        assert app.theme == "tokyonight"
    assert json.loads(state_file().read_text())["theme"] == "tokyonight"
    again = make_app()  # the next start, with no `theme` in the config
    async with again.run_test() as pilot:
        await pilot.pause(0.05)
        assert again.theme == "tokyonight"
    configured = make_app({"theme": "nord"})  # a configured theme wins over the remembered one
    async with configured.run_test() as pilot:
        await pilot.pause(0.05)
        assert configured.theme == "nord"


async def test_scroll_speed_sets_lines_per_wheel_step(make_app: Callable[..., OpencodeApp]) -> None:
    app = make_app({"tui": {"scroll_speed": 5}})
    async with app.run_test(size=(80, 24)) as pilot:
        for index in range(40):
            await app.notice(f"line {index}")
        await pilot.pause(0.1)
        chat = app.query_one(ChatView)
        chat.scroll_home(animate=False, immediate=True)
        await pilot.pause(0.05)
        assert app.scroll_sensitivity_y == 5
        # One wheel step over the chat, as the terminal reports it (Pilot has no wheel of its own).
        await pilot._post_mouse_events([events.MouseScrollDown], "#chat", offset=(5, 5))
        await pilot.pause(0.05)
        assert chat.scroll_y == 5


# --- keybinds -------------------------------------------------------------------------------------


async def test_session_new_on_a_custom_key(make_app: Callable[..., OpencodeApp]) -> None:
    app = make_app({"keybinds": {"session_new": "f6"}})
    async with app.run_test() as pilot:
        await pilot.pause(0.05)
        first = app.session_id
        await pilot.press("f6")
        await wait_until(pilot, lambda: app.session_id != first)
        assert set(sessions(app)) == {first, app.session_id}


async def test_a_leader_sequence_runs_its_action_and_plain_keys_still_type(
    make_app: Callable[..., OpencodeApp],
) -> None:
    app = make_app({"keybinds": {"leader": "ctrl+o", "session_new": "<leader>k"}})
    async with app.run_test() as pilot:
        await pilot.pause(0.05)
        first = app.session_id
        await pilot.press("k")  # no leader before it: typed into the prompt box
        await pilot.pause(0.05)
        assert app.query_one(PromptInput).text == "k" and app.session_id == first
        await pilot.press("ctrl+o", "k")
        await wait_until(pilot, lambda: app.session_id != first)
        assert app.query_one(PromptInput).text == "k"  # the sequence typed nothing
        second = app.session_id
        await pilot.press("ctrl+x", "n")  # the default leader is replaced: ctrl+x is no leader now
        await pilot.pause(0.1)
        assert app.session_id == second


async def test_default_leader_undo_keybind_reaches_the_command(make_app: Callable[..., OpencodeApp]) -> None:
    app = make_app()
    async with app.run_test() as pilot:
        await pilot.pause(0.05)
        await pilot.press("ctrl+x", "u")  # messages_undo, nothing to undo yet
        await wait_until(pilot, lambda: "nothing to undo" in notices(app))


async def test_unknown_keybind_name_is_a_one_line_warning(make_app: Callable[..., OpencodeApp]) -> None:
    app = make_app({"keybinds": {"no_such_action": "f4", "session_share": "none"}})
    async with app.run_test() as pilot:
        await pilot.pause(0.05)
        warnings = [text for text in notices(app) if text.startswith("keybinds")]
        # An opencode name this app does not act on (session_share) is accepted silently.
        assert warnings == ["keybinds: unknown name 'no_such_action' ignored (see opencode's keybind names)"]


def test_a_bad_key_string_is_a_clear_error_at_start(project: Path, model_server: ScriptedModelServer) -> None:
    client = make_client(project, model_server, {"keybinds": {"session_new": "ctrl+nope"}})
    with pytest.raises(KeybindError, match=r"keybinds\.session_new: cannot read 'ctrl\+nope' \(unknown key 'nope'\)"):
        OpencodeApp(client)
    stderr = io.StringIO()
    with redirect_stderr(stderr):
        assert run_tui(client) == 1  # said on stderr before the screen is taken over
    assert stderr.getvalue().startswith("opencode: keybinds.session_new: cannot read 'ctrl+nope'")


def test_key_strings_read_as_opencode_writes_them() -> None:
    assert parse_keys("app_exit", "ctrl+c, <leader>q") == [(False, "ctrl+c"), (True, "q")]
    assert parse_keys("input_submit", "return") == [(False, "enter")]
    assert parse_keys("x", "shift+ctrl+F2") == [(False, "ctrl+shift+f2")]
    assert parse_keys("session_compact", "none") == []
    for bad in ("hyper+x", "ctrl+", "pageupp"):
        with pytest.raises(KeybindError, match=r"keybinds\.x: cannot read"):
            parse_keys("x", bad)
    with pytest.raises(KeybindError, match=r"keybinds\.leader"):
        Keymap.from_config({"leader": "<leader>x"})
    keymap = Keymap.from_config({"model_list": "f3"}, commands=["/new"])
    assert "f3" not in keymap.direct  # no /models command in this app: the name stays unbound
    assert keymap.keys_for("session_new") == ["ctrl+x n"]
    assert "ctrl+x n             session_new" in keymap.help_lines()


async def test_help_lists_the_keybinds_as_configured(make_app: Callable[..., OpencodeApp]) -> None:
    app = make_app({"keybinds": {"sidebar_toggle": "f9,<leader>b"}})
    async with app.run_test(size=(100, 60)) as pilot:
        await type_text(pilot, "/help")
        await pilot.press("enter")
        await wait_until(pilot, lambda: any("sidebar_toggle" in text for text in notices(app)))
        (shown,) = [text for text in notices(app) if "sidebar_toggle" in text]
        assert "f9, ctrl+x b         sidebar_toggle" in shown.splitlines()


async def test_message_keys_scroll_the_chat(make_app: Callable[..., OpencodeApp]) -> None:
    app = make_app({"keybinds": {"messages_half_page_up": "f7"}})
    async with app.run_test(size=(80, 24)) as pilot:
        for index in range(60):
            await app.notice(f"line {index}")
        await pilot.pause(0.1)
        chat = app.query_one(ChatView)
        chat.scroll_end(animate=False, immediate=True)
        await pilot.pause(0.05)
        bottom = chat.scroll_y
        assert bottom > 20
        await pilot.press("f7")  # half a page up, on the key the config gave it
        await pilot.pause(0.05)
        assert chat.scroll_y == bottom - chat.scrollable_content_region.height // 2
        await pilot.press("ctrl+g")  # messages_first, opencode's default key, with the prompt box focused
        await pilot.pause(0.05)
        assert chat.scroll_y == 0
        await pilot.press("ctrl+alt+g")  # messages_last
        await pilot.pause(0.05)
        assert chat.scroll_y == bottom
