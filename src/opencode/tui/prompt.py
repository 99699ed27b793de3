"""The prompt box's features: the `@file` / `/command` dropdown, paste chips, composing in
$EDITOR, and what the app does with `!command`, custom commands, `/compact`, `/export`, `/editor`.

    Prompt(Completer(client, COMMANDS))      # the app's prompt box (a PromptInput)
    await submitted(app, text)               # True when `!cmd` or `/custom args` was taken care of here
    send_options(text)                       # {"files": [...]} for the `@path` mentions in a message
    await run_command(app, "/export")        # the slash commands this module adds (COMMANDS)

Keys in the box: Tab or Enter takes the highlighted entry of the dropdown (Enter runs a built-in
command at once), Up/Down move in it, Esc closes it. Ctrl+X E opens $EDITOR: the keymap
(keybinds.py, `editor_open`) runs `/editor`.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import events
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from opencode.tui.client import ClientError
from opencode.tui.completion import (
    CommandItem,
    Completer,
    Pastes,
    Token,
    is_large_paste,
    mentions,
    rank_commands,
    rank_files,
    token_at,
)
from opencode.tui.widgets import PromptInput

if TYPE_CHECKING:
    from textual.widgets import TextArea

    from opencode.tui.app import OpencodeApp

COMMANDS = {
    "/editor": "compose the message in $EDITOR (also Ctrl+X E)",
    "/compact": "summarise the conversation so far to free the context window",
    "/export": "write the session as JSON to a file in the project",
    "/init": "create or improve AGENTS.md for this project",
}
"""Slash commands this module runs (`/init` runs the built-in `init` custom command)."""


class CompletionMenu(OptionList):
    """The dropdown above the prompt box; never focused (typing goes on in the box)."""

    DEFAULT_CSS = """
    CompletionMenu {
        height: auto; max-height: 12; margin: 0 1; display: none;
        border: round $secondary; background: $surface;
    }
    CompletionMenu.-open { display: block; }
    """
    can_focus = False

    def __init__(self, prompt: Prompt, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.prompt = prompt

    def on_option_list_option_selected(self, message: OptionList.OptionSelected) -> None:
        message.stop()
        self.prompt.accept(message.option_index, run=False)


class Prompt(PromptInput):
    """The prompt box with completion, paste chips and the editor (see the module docstring)."""

    def __init__(self, completer: Completer, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.completer = completer
        self.pastes = Pastes()
        self.menu = CompletionMenu(self, id="completion")
        self.token: Token | None = None
        self.entries: list[str | CommandItem] = []
        self._listing = False
        self._quiet: str | None = None

    async def on_mount(self) -> None:
        from textual.widget import Widget

        if isinstance(self.parent, Widget):  # the screen: the dropdown sits right above the box
            await self.parent.mount(self.menu, before=self)

    # --- what is sent -------------------------------------------------------------------------

    def outgoing(self, text: str) -> str:
        """The chips replaced by what was pasted; the file list is read again at the next `@`."""
        self.completer.refresh_files()
        return self.pastes.expand(text)

    async def _on_paste(self, event: events.Paste) -> None:
        if self.read_only or not is_large_paste(event.text):
            return  # TextArea's own handler inserts it (Textual calls each class's handler in turn)
        event.stop()
        event.prevent_default()
        self.insert(self.pastes.add(event.text))
        self.focus()

    # --- keys ---------------------------------------------------------------------------------

    @property
    def menu_open(self) -> bool:
        return self.menu.has_class("-open")

    async def _on_key(self, event: events.Key) -> None:
        key = event.key
        if key in ("tab", "enter") and self.menu_open:
            # The dropdown follows the text through change messages, which can lag the keys typed
            # just before (a fast typist, a loaded machine): bring it up to date before taking an entry.
            self.update_menu()
        if self.menu_open and key in ("tab", "enter", "up", "down", "escape"):
            event.stop()
            event.prevent_default()
            if key in ("tab", "enter"):
                self.accept(self.menu.highlighted or 0, run=key == "enter")
            elif key == "escape":
                self.close_menu()
            elif key == "up":
                self.menu.action_cursor_up()
            else:
                self.menu.action_cursor_down()
            return
        # Not handled here: PromptInput's handler runs next (Textual calls each class's in turn).

    def walk_history(self, step: int) -> None:
        super().walk_history(step)
        self.close_menu()
        self._quiet = self.text  # Up/Down go on walking the history through a "/command" sent before

    # --- the dropdown -------------------------------------------------------------------------

    def on_text_area_changed(self, message: TextArea.Changed) -> None:
        self.update_menu()

    def on_text_area_selection_changed(self, message: TextArea.SelectionChanged) -> None:
        self.update_menu()

    def update_menu(self, *, force: bool = False) -> None:
        if self._quiet is not None:
            if self.text == self._quiet:  # put in whole (history, editor): no dropdown until it is edited
                self.close_menu()
                return
            self._quiet = None
        row, column = self.cursor_location
        token = token_at(self.document.get_line(row)[:column], row)
        if token is None:
            self.close_menu()
            return
        if token == self.token and self.menu_open and not force:
            return  # a change and a cursor move report the same keystroke
        if token.kind == "command":
            if self.token is None or self.token.kind != "command":
                self.completer.forget_commands()  # a new `/`: custom command files are read again
            self.token = token
            self.show_entries(list(rank_commands(token.query, self.completer.commands())))
            return
        self.token = token
        if self.completer.files_stale and not self._listing:
            self._listing = True
            self.run_worker(self._list_files(), group="files")
        if self.completer.files is None:
            return  # shown once listed
        self.show_entries(list(rank_files(token.query, self.completer.files or [])))

    async def _list_files(self) -> None:
        try:
            await self.completer.load_files()
        except ClientError as exc:
            self.app.notify(str(exc), severity="error")
            return
        finally:
            self._listing = False
        if self.token is not None and self.token.kind == "file":
            self.update_menu(force=True)

    def show_entries(self, entries: list[str | CommandItem]) -> None:
        self.entries = entries
        menu = self.menu
        menu.clear_options()
        if not entries:
            menu.remove_class("-open")
            return
        menu.add_options([Option(_entry_label(entry)) for entry in entries])
        menu.highlighted = 0
        menu.add_class("-open")

    def close_menu(self) -> None:
        self.token = None
        self.entries = []
        if self.menu_open:
            self.menu.remove_class("-open")
            self.menu.clear_options()

    def accept(self, index: int, *, run: bool) -> None:
        """Put the chosen entry in place of the token; Enter on a built-in command runs it."""
        token = self.token
        if token is None or not 0 <= index < len(self.entries):
            return
        entry = self.entries[index]
        value = entry.name if isinstance(entry, CommandItem) else f"@{entry}"
        row, column = self.cursor_location
        self.close_menu()
        self.replace(value + " ", (token.row, token.start), (row, column))
        self.close_menu()  # the replacement's change event would open it again
        if run and isinstance(entry, CommandItem) and entry.builtin:
            text = self.text.rstrip()
            self.remember(text)
            self.clear()
            self.post_message(self.Submitted(self.outgoing(text)))

    # --- $EDITOR ------------------------------------------------------------------------------

    def compose_in_editor(self) -> None:
        """Suspend the app, edit the box's text in $VISUAL or $EDITOR, and put the result back."""
        editor = os.environ.get("VISUAL") or os.environ.get("EDITOR")
        if not editor:
            self.app.notify("set $EDITOR (or $VISUAL) to compose in an editor", severity="error")
            return
        with tempfile.NamedTemporaryFile("w", suffix=".md", prefix="opencode-", delete=False) as handle:
            handle.write(self.pastes.expand(self.text))
            path = Path(handle.name)
        try:
            code = self._run_editor([*shlex.split(editor), str(path)])
            text = path.read_text(encoding="utf-8", errors="replace") if code == 0 else None
        except OSError as exc:
            self.app.notify(f"could not run {editor}: {exc.strerror or exc}", severity="error")
            return
        finally:
            path.unlink(missing_ok=True)
        if text is None:
            self.app.notify(f"{editor} exited with code {code}: the message is unchanged", severity="error")
            return
        self.load_text(text.rstrip("\n"))
        self._quiet = self.text
        self.move_cursor(self.document.end)
        self.focus()

    def _run_editor(self, argv: list[str]) -> int:
        from textual.app import SuspendNotSupported

        try:
            with self.app.suspend():
                return subprocess.run(argv, check=False).returncode
        except SuspendNotSupported:  # no terminal to hand over (a headless run): run it all the same
            return subprocess.run(argv, check=False, stdin=subprocess.DEVNULL).returncode


def _entry_label(entry: str | CommandItem) -> Text:
    if isinstance(entry, str):
        return Text(entry)
    label = Text(entry.name, style="bold")
    if entry.description:
        label.append(f"  {entry.description}", style="dim")
    return label


# --- what the app does with a sent message -------------------------------------------------------


async def submitted(app: OpencodeApp, text: str) -> bool:
    """Take care of `!command` and `/custom arguments`; False leaves the message to the app."""
    stripped = text.strip()
    if stripped.startswith("!"):
        app.run_worker(shell(app, stripped[1:]), group="prompt", name="shell")
        return True
    if not stripped.startswith("/"):
        return False
    name, _, arguments = stripped[1:].partition(" ")
    completer = app.query_one(Prompt).completer
    if not name or name in ("quit", "q") or (f"/{name}" in completer.builtin and name != "init"):
        return False
    if not completer.is_custom(name):
        return False
    if app.client.busy(app.session_id):
        await app.notice("still working on the last message: wait, or press Esc to stop it", error=True)
        return True
    app.run_worker(app.send(arguments.strip(), command=name), group="prompt", name="prompt")
    app.refresh_status()
    return True


def send_options(text: str) -> dict[str, Any]:
    """What `client.prompt` gets besides the text: the files the message mentions with `@path`."""
    files = mentions(text)
    return {"files": files} if files else {}


async def shell(app: OpencodeApp, command: str) -> None:
    try:
        await app.client.shell(app.session_id, command)
    except ClientError as exc:
        await app.notice(str(exc), error=True)
    app.refresh_status()


async def run_command(app: OpencodeApp, name: str) -> None:
    """Run one of this module's COMMANDS (typed, `/init` is taken by `submitted` first, as a custom command)."""
    if name == "/init":
        await submitted(app, name)
    elif name == "/editor":
        app.query_one(Prompt).compose_in_editor()
    elif name == "/compact":
        app.run_worker(compact(app), group="prompt", name="compact")
    elif name == "/export":
        await export(app)


async def compact(app: OpencodeApp) -> None:
    await app.notice("compacting the conversation…")
    app.refresh_status()
    try:
        await app.client.compact(app.session_id)
    except ClientError as exc:
        await app.notice(str(exc), error=True)
    else:
        await app.notice("compacted: the next message goes on from a summary of the conversation so far")
    app.refresh_status()


async def export(app: OpencodeApp) -> None:
    try:
        document = app.client.export_session(app.session_id)
        path = Path(app.client.directory) / f"session-{app.session_id}.json"
        path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    except (ClientError, OSError) as exc:
        await app.notice(f"export failed: {exc}", error=True)
        return
    await app.notice(f"exported the session to {path}")
