"""The terminal UI (Textual): what `opencode` starts when stdin and stdout are terminals.

    from opencode.tui import run_tui
    code = run_tui(EngineClient(engine, model=..., agent=...))

Modules:
    client.py    `Client`, the engine API the UI uses, and `EngineClient` (in-process; no Textual)
    http_client.py  `HttpClient`: the same `Client` over a running `opencode serve` (`opencode attach`)
    app.py       `OpencodeApp`: chat view, prompt box, status line, slash commands, dialogs queue
    widgets.py   the chat's widgets (messages, streamed markdown, reasoning, tool blocks, prompt box)
    dialogs.py   modal permission and question dialogs
    sidepanel.py the side panel (title, context, cost, todos, changed files and their diffs)
    themes.py    the colour themes, the /themes picker, the `tui` settings
    keybinds.py  config `keybinds` (opencode's names, the leader key) and what each one does
    completion.py  `@file` / `/command` tokens, fuzzy ranking, `@path` mentions, paste chips (no Textual)
    prompt.py    the prompt box (dropdown, chips, $EDITOR); `!command`, custom commands, /compact /export
    history.py   the windowed history (newest messages mounted, older on scrolling up), task blocks
                 that open a sub-agent's session, and the way back (Esc)
    diffview.py  diffs side by side when the block is wide, unified otherwise
    app.tcss     the app's layout

Textual is imported only by the modules of the app itself (not `client`), and those only when the TUI starts.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable

    from opencode.tui.client import Client


def run_tui(
    client: Client,
    *,
    session_id: str | None = None,
    before_run: Callable[[], None] | None = None,
    not_started: Callable[[], None] | None = None,
) -> int:
    """Run the app until the user quits; returns the exit code. `before_run` is called just before
    Textual takes the terminal (the splash hands it over), `not_started` when the app cannot start
    (the splash leaves, so the error lands on the normal screen)."""
    import sys

    from opencode.tui.app import OpencodeApp
    from opencode.tui.keybinds import KeybindError

    try:
        app = OpencodeApp(client, session_id=session_id)
    except KeybindError as exc:  # a bad key string in config: said before the screen is taken over
        if not_started is not None:
            not_started()
        sys.stderr.write(f"opencode: {exc}\n")
        return 1
    if before_run is not None:
        before_run()
    return app.run() or 0
