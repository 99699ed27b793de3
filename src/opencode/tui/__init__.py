"""The terminal UI (Textual): what `opencode` starts when stdin and stdout are terminals.

    from opencode.tui import run_tui
    code = run_tui(EngineClient(engine, model=..., agent=...))

Modules:
    client.py    `Client`, the engine API the UI uses, and `EngineClient` (in-process; no Textual)
    app.py       `OpencodeApp`: chat view, prompt box, status line, slash commands, dialogs queue
    widgets.py   the chat's widgets (messages, streamed markdown, reasoning, tool blocks, prompt box)
    dialogs.py   modal permission and question dialogs
    app.tcss     the app's layout

Textual is imported only by `app`, `widgets` and `dialogs`, and those only when the TUI starts.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from opencode.tui.client import Client


def run_tui(client: Client, *, session_id: str | None = None) -> int:
    """Run the app until the user quits; returns the exit code."""
    from opencode.tui.app import OpencodeApp

    return OpencodeApp(client, session_id=session_id).run() or 0
