"""The prompt box: the `@file` dropdown, mentions attached on send, paste chips, composing in $EDITOR."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from textual import events

from opencode.testing.model_server import Reply, ScriptedModelServer, Text
from opencode.tui.app import OpencodeApp
from opencode.tui.completion import (
    CommandItem,
    Pastes,
    fuzzy_score,
    is_large_paste,
    mentions,
    rank_commands,
    rank_files,
    shown_text,
    token_at,
)
from opencode.tui.prompt import CompletionMenu, Prompt
from opencode.tui.widgets import Notice, UserMessageView
from tests.tui.conftest import type_text, wait_until

# --- the pieces, without the app -------------------------------------------------------------------


def test_tokens_at_the_cursor() -> None:
    assert token_at("see @src/ap", 0) == token_at("see @src/ap", 0)
    file_token = token_at("see @src/ap", 2)
    assert file_token is not None and (file_token.kind, file_token.start, file_token.query) == ("file", 4, "src/ap")
    command = token_at("/rev", 0)
    assert command is not None and (command.kind, command.query) == ("command", "rev")
    assert token_at("/rev", 1) is None  # a slash on a later line is text
    assert token_at("/review src", 0) is None  # the arguments have begun
    assert token_at("mail me@example.com", 0) is None
    bare = token_at("@", 0)
    assert bare is not None and bare.query == ""


def test_fuzzy_ranking_prefers_file_names_then_paths_then_scattered_letters() -> None:
    files = ["docs/map.txt", "src/opencode/tui/app.py", "src/app.py", "tests/test_apply.py", "a/p/x.txt"]
    assert rank_files("app", files) == ["src/app.py", "src/opencode/tui/app.py", "tests/test_apply.py"]
    assert rank_files("sotap", files) == ["src/opencode/tui/app.py"]
    assert rank_files("zzz", files) == []
    assert rank_files("", files, limit=2) == ["a/p/x.txt", "src/app.py"]  # shortest first
    assert fuzzy_score("MAP", "docs/map.txt") is not None  # case does not matter


def test_commands_rank_by_prefix_then_fuzzy() -> None:
    items = [CommandItem("/new", "", True), CommandItem("/review", "", False), CommandItem("/redo", "", True)]
    assert [c.name for c in rank_commands("re", items)] == ["/review", "/redo"]
    assert [c.name for c in rank_commands("rv", items)] == ["/review"]


def test_mentions_and_chips() -> None:
    assert mentions("fix @src/app.py. and @docs/a.md: see me@example.com or `@x`") == ["src/app.py", "docs/a.md"]
    assert not is_large_paste("a\n" * 10) and is_large_paste("a\n" * 25) and is_large_paste("x" * 2500)
    pastes = Pastes()
    first = pastes.add("l\n" * 29 + "l")
    second = pastes.add("m\n" * 29 + "m")
    assert first == "[pasted 30 lines]" and second == "[pasted 30 lines #2]"
    assert pastes.add("x" * 3000) == "[pasted 3,000 characters]"
    assert pastes.expand(f"a {first} b") == "a " + "l\n" * 29 + "l b"
    sent = 'see @a.py\n\n<file path="/p/a.py">\nx = 1\n</file>\n\n<file path="/elsewhere/b.txt">\nb\n</file>'
    assert shown_text(sent, "/p") == "see @a.py\n[file a.py]\n[file /elsewhere/b.txt]"
    assert shown_text("plain <file> talk", "/p") == "plain <file> talk"


# --- through the app ---------------------------------------------------------------------------


@pytest.fixture
def files(project: Path) -> Path:
    (project / "src").mkdir()
    (project / "src" / "app.py").write_text("def main():\n    return 'the app'\n")
    (project / "docs").mkdir()
    (project / "docs" / "map.txt").write_text("a map\n")
    (project / "README.md").write_text("readme\n")
    (project / ".gitignore").write_text("build/\n")
    (project / "build").mkdir()
    (project / "build" / "app.py").write_text("generated\n")
    return project


def menu_entries(app: OpencodeApp) -> list[str]:
    menu = app.query_one(CompletionMenu)
    if not menu.has_class("-open"):
        return []
    return [str(menu.get_option_at_index(i).prompt) for i in range(menu.option_count)]


def user_text(request: Any) -> str:
    content = request.json["messages"][-1]["content"]
    if isinstance(content, str):
        return content
    return "\n".join(str(item.get("text", "")) for item in content)


async def test_at_lists_matching_project_files_and_tab_inserts_the_path(
    files: Path, make_app: Callable[..., OpencodeApp]
) -> None:
    app = make_app()
    async with app.run_test() as pilot:
        await type_text(pilot, "look at @")
        await wait_until(pilot, lambda: menu_entries(app))
        assert set(menu_entries(app)) == {".gitignore", "README.md", "docs/map.txt", "src/app.py"}  # build/ ignored
        await type_text(pilot, "ap")
        await pilot.pause(0.05)
        assert menu_entries(app) == ["src/app.py", "docs/map.txt"]
        await pilot.press("down")
        await pilot.press("up")
        agent = app.client.agent_name(app.session_id)
        await pilot.press("tab")
        box = app.query_one(Prompt)
        assert box.text == "look at @src/app.py "
        assert app.client.agent_name(app.session_id) == agent  # Tab took the file, it did not cycle the agent
        assert menu_entries(app) == []
        await type_text(pilot, "@zzz")
        await pilot.pause(0.05)
        assert menu_entries(app) == []  # nothing matches: no dropdown
        await type_text(pilot, "")
        await pilot.press("backspace", "backspace", "backspace", "m", "a")
        await pilot.pause(0.05)
        assert menu_entries(app)[0] == "docs/map.txt"
        await pilot.press("escape")
        assert menu_entries(app) == []
        assert box.text == "look at @src/app.py @ma"


async def test_a_mentioned_file_reaches_the_model_with_the_message(
    files: Path, make_app: Callable[..., OpencodeApp], model_server: ScriptedModelServer
) -> None:
    model_server.push(Reply([Text("it returns a string")]))
    app = make_app()
    async with app.run_test() as pilot:
        await type_text(pilot, "what does @src/ap")
        await wait_until(pilot, lambda: menu_entries(app))
        await pilot.press("enter")  # Enter takes the file (a file is not sent at once)
        await type_text(pilot, "return? also @nobody knows")
        await pilot.press("enter")
        await wait_until(pilot, lambda: model_server.requests and not app.client.busy(app.session_id))
        await pilot.pause(0.05)
        shown = str(app.query_one(UserMessageView).render())
        assert shown == "what does @src/app.py return? also @nobody knows\n[file src/app.py]"  # content folded
    sent = user_text(model_server.requests[0])
    assert sent.startswith("what does @src/app.py return? also @nobody knows")
    assert f'<file path="{files / "src" / "app.py"}">' in sent and "return 'the app'" in sent
    assert "<file" in sent and sent.count("<file ") == 1  # @nobody is no file: left as text


async def test_a_large_paste_is_a_chip_and_is_sent_whole(
    make_app: Callable[..., OpencodeApp], model_server: ScriptedModelServer
) -> None:
    model_server.push(Reply([Text("read it")]))
    pasted = "\n".join(f"line {n}" for n in range(1, 121))
    app = make_app()
    async with app.run_test() as pilot:
        box = app.query_one(Prompt)
        await type_text(pilot, "summarise ")
        app.post_message(events.Paste(pasted))  # as the terminal's driver does: the app hands it to the box
        await pilot.pause(0.05)
        assert box.text == "summarise [pasted 120 lines]"
        app.post_message(events.Paste("short paste"))  # a small one goes in as it is
        await pilot.pause(0.05)
        assert box.text == "summarise [pasted 120 lines]short paste"
        await pilot.press("enter")
        await wait_until(pilot, lambda: model_server.requests and not app.client.busy(app.session_id))
    assert user_text(model_server.requests[0]) == f"summarise {pasted}short paste"


@pytest.fixture
def editor(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    script = tmp_path / "fake-editor"
    script.write_text('#!/bin/sh\nprintf "\\nwritten in the editor" >> "$1"\n')
    script.chmod(0o755)
    monkeypatch.delenv("VISUAL", raising=False)
    monkeypatch.setenv("EDITOR", str(script))
    return script


async def test_slash_editor_puts_what_the_editor_wrote_in_the_box(
    editor: Path, make_app: Callable[..., OpencodeApp], model_server: ScriptedModelServer
) -> None:
    app = make_app()
    async with app.run_test() as pilot:
        await type_text(pilot, "/editor")
        await pilot.press("enter")
        box = app.query_one(Prompt)
        await wait_until(pilot, lambda: "written in the editor" in box.text)
        assert box.text == "\nwritten in the editor"
    assert not model_server.requests


async def test_ctrl_x_e_edits_the_draft_in_the_editor(editor: Path, make_app: Callable[..., OpencodeApp]) -> None:
    app = make_app()
    async with app.run_test() as pilot:
        box = app.query_one(Prompt)
        await type_text(pilot, "draft")
        await pilot.press("ctrl+x", "e")
        await wait_until(pilot, lambda: "written in the editor" in box.text)
        assert box.text == "draft\nwritten in the editor"


async def test_no_editor_set_says_so(monkeypatch: pytest.MonkeyPatch, make_app: Callable[..., OpencodeApp]) -> None:
    monkeypatch.delenv("VISUAL", raising=False)
    monkeypatch.delenv("EDITOR", raising=False)
    app = make_app()
    async with app.run_test() as pilot:
        await type_text(pilot, "keep")
        app.query_one(Prompt).compose_in_editor()
        await pilot.pause(0.05)
        assert app.query_one(Prompt).text == "keep"
        assert any("set $EDITOR" in str(n.message) for n in app._notifications)


async def test_up_walks_the_history_through_a_sent_slash_command(
    make_app: Callable[..., OpencodeApp], model_server: ScriptedModelServer
) -> None:
    model_server.push(Reply([Text("one")]))
    app = make_app()
    async with app.run_test() as pilot:
        box = app.query_one(Prompt)
        await type_text(pilot, "alpha")
        await pilot.press("enter")
        await wait_until(pilot, lambda: model_server.requests and not app.client.busy(app.session_id))
        await type_text(pilot, "/help")
        await pilot.pause(0.05)
        assert menu_entries(app)[0].startswith("/help")
        await pilot.press("enter")  # Enter on a built-in command in the dropdown runs it
        await wait_until(pilot, lambda: app.query(Notice))
        assert box.text == ""
        await pilot.press("up")
        await pilot.pause(0.05)
        assert box.text == "/help" and menu_entries(app) == []
        await pilot.press("up")
        await pilot.pause(0.05)
        assert box.text == "alpha"


async def test_enter_takes_the_entry_for_the_text_typed_even_before_the_dropdown_caught_up(
    make_app: Callable[..., OpencodeApp],
) -> None:
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await type_text(pilot, "/")
        await pilot.pause()
        assert menu_entries(app)[0].startswith("/new")
        prompt = app.query_one(Prompt)
        # The rest of the command arrives without the dropdown having seen it yet.
        prompt.insert("exit")
        await pilot.press("enter")
        await wait_until(pilot, lambda: app.return_code is not None or not app.is_running)
