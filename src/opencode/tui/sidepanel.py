"""The side panel: the session's title, context used, cost, todo list and the files it changed.

    panel = SidePanel(id="sidepanel")       # docked right; hidden by default below 100 columns
    panel.reload(client, session_id)        # on start, /new, /undo, /redo
    panel.apply(client, session_id, events) # from the app's flush: only what the events touch is re-read
    panel.toggle()                          # the `sidebar_toggle` keybind (ctrl+x b)

Selecting a changed file opens `FileDiffDialog` with that file's diff over the session, which the
client computes from the session's snapshots (see `Client.file_diff`). Everything is read through
the client; the panel never touches the engine.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from rich.syntax import Syntax
from rich.text import Text
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Label, OptionList, Static
from textual.widgets.option_list import Option

from opencode.tui.client import ClientError

if TYPE_CHECKING:
    from textual import events
    from textual.app import ComposeResult

    from opencode.bus import BusEvent
    from opencode.session.model import Todo
    from opencode.tui.client import Client, ServiceStatus

WIDE = 100
"""Terminal columns from which the panel shows without being asked for."""
CHECK_MARKS = {"pending": "[ ]", "in_progress": "[•]", "completed": "[✓]", "cancelled": "[-]"}


def context_line(tokens: int, context: int | None) -> str:
    """`12,400 tokens, 6% of 200,000` (no percentage when the window is unknown)."""
    line = f"{tokens:,} tokens"
    if context:
        line += f", {tokens * 100 // context}% of {context:,}"
    return line


def todo_text(todos: list[Todo]) -> Text:
    text = Text()
    for index, todo in enumerate(todos):
        if index:
            text.append("\n")
        style = {"completed": "dim strike", "cancelled": "dim", "in_progress": "bold"}.get(todo.status, "")
        text.append(f"{CHECK_MARKS.get(todo.status, '[ ]')} {todo.content}", style=style)
    return text


SERVICE_STYLES = {"connected": "green", "connecting": "yellow", "needs_auth": "yellow", "disabled": "dim"}


def services_text(services: list[ServiceStatus]) -> Text:
    """One line per server: a coloured dot, its name, and its state unless connected (with the reason)."""
    text = Text()
    for index, service in enumerate(services):
        if index:
            text.append("\n")
        text.append("● ", style=SERVICE_STYLES.get(service.state, "red"))
        text.append(service.name)
        shown = service.detail if service.state == "connected" else f"{service.state} {service.detail}".strip()
        if shown:
            text.append(f"  {shown}", style="dim")
    return text


class SidePanel(VerticalScroll):
    """Session facts on the right; `user_choice` is None until the user toggles it (then width rules no more)."""

    DEFAULT_CSS = """
    SidePanel {
        dock: right; width: 34; height: 1fr; padding: 0 1; background: $panel; scrollbar-size-vertical: 1;
    }
    SidePanel .heading { text-style: bold; color: $text-muted; margin-top: 1; }
    SidePanel #side-title { text-style: bold; color: $primary; }
    SidePanel OptionList, SidePanel OptionList:focus {
        height: auto; max-height: 16; border: none; padding: 0; background: $panel;
    }
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.user_choice: bool | None = None
        self.session_id = ""
        self.files: list[str] = []
        self.todos: list[Todo] = []

    def compose(self) -> ComposeResult:
        yield Static("", id="side-title")
        yield Label("Context", classes="heading")
        yield Static("", id="side-context")
        yield Static("", id="side-cost")
        yield Label("Todo", classes="heading", id="side-todo-heading")
        yield Static("", id="side-todos")
        yield Label("Modified files", classes="heading", id="side-files-heading")
        yield OptionList(id="side-files")
        yield Label("MCP", classes="heading", id="side-mcp-heading")
        yield Static("", id="side-mcp")
        yield Label("LSP", classes="heading", id="side-lsp-heading")
        yield Static("", id="side-lsp")

    def on_mount(self) -> None:
        self.fit(self.app.size.width)

    def fit(self, width: int) -> None:
        """Shown from `WIDE` columns on, unless the user said otherwise."""
        shown = self.user_choice if self.user_choice is not None else width >= WIDE
        if shown and not self.display and self.session_id:
            self.display = True
            self.reload(self.client, self.session_id)
        self.display = shown

    def toggle(self) -> None:
        self.user_choice = not self.display
        self.display = self.user_choice
        if self.display:
            self.reload(self.client, self.session_id)

    @property
    def client(self) -> Client:
        client: Client = getattr(self.app, "client")  # noqa: B009  (the app's client, typed here)
        return client

    # --- what it shows ---------------------------------------------------------------------------

    def reload(self, client: Client, session_id: str) -> None:
        self.session_id = session_id
        if not self.display:
            return  # read when shown (`toggle`)
        self.show_facts(client, session_id)
        self.show_todos(client.todos(session_id))
        self.show_files(client.modified_files(session_id))
        self.read_services()

    def apply(self, client: Client, session_id: str, events: list[BusEvent]) -> None:
        """Re-read only what these events changed (todos, the files of patch parts, usage and title)."""
        from opencode.bus import LspUpdated, McpStatus, MessageUpdated, PartUpdated, SessionUpdated, TodoUpdated
        from opencode.session.model import PatchPart

        self.session_id = session_id
        if not self.display:
            return
        facts = files = False
        if any(isinstance(event, McpStatus | LspUpdated) for event in events):
            self.read_services()
        for event in events:
            if isinstance(event, TodoUpdated) and event.sessionID == session_id:
                self.show_todos(client.todos(session_id))
            elif isinstance(event, PartUpdated) and isinstance(event.part, PatchPart):
                files = files or event.part.sessionID == session_id
            elif isinstance(event, MessageUpdated):
                facts = facts or event.info.sessionID == session_id
            elif isinstance(event, SessionUpdated):
                facts = facts or event.info.id == session_id
        if facts:
            self.show_facts(client, session_id)
        if files:
            self.show_files(client.modified_files(session_id))

    def show_facts(self, client: Client, session_id: str) -> None:
        session = client.get_session(session_id)
        usage = client.usage(session_id)
        info = client.model_info(session_id)
        self.query_one("#side-title", Static).update(Text(session.title or "New session"))
        self.query_one("#side-context", Static).update(Text(context_line(usage.tokens, info.context if info else None)))
        self.query_one("#side-cost", Static).update(Text(f"${usage.cost:.4f} spent"))

    def show_todos(self, todos: list[Todo]) -> None:
        self.todos = todos
        self.query_one("#side-todo-heading").display = bool(todos)
        widget = self.query_one("#side-todos", Static)
        widget.display = bool(todos)
        widget.update(todo_text(todos))

    def read_services(self) -> None:
        """The MCP and language servers' states, read on a thread (over HTTP the server may wait for them)."""
        client = self.client

        def read() -> None:
            try:
                found = client.services()
            except ClientError:
                return
            self.app.call_from_thread(self.show_services, found)

        self.run_worker(read, thread=True, group="side-services", exclusive=True)

    def show_services(self, services: list[ServiceStatus]) -> None:
        for kind in ("mcp", "lsp"):
            mine = [s for s in services if s.kind == kind]
            self.query_one(f"#side-{kind}-heading").display = bool(mine)
            widget = self.query_one(f"#side-{kind}", Static)
            widget.display = bool(mine)
            widget.update(services_text(mine))

    def show_files(self, files: list[str]) -> None:
        self.files = files
        self.query_one("#side-files-heading").display = bool(files)
        options = self.query_one("#side-files", OptionList)
        options.display = bool(files)
        options.clear_options()
        options.add_options([Option(Text(f), id=f) for f in files])

    # --- a file's diff ---------------------------------------------------------------------------

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if event.option.id:
            self.run_worker(self.open_diff(event.option.id), group="side-diff", exclusive=True)

    async def open_diff(self, file: str) -> None:
        try:
            diff = await self.client.file_diff(self.session_id, file)
        except ClientError as exc:
            self.notify(str(exc), severity="error")
            return
        await self.app.push_screen(FileDiffDialog(file, diff))


class FileDiffDialog(ModalScreen[None]):
    """One file's diff over the session; Esc or q closes it."""

    DEFAULT_CSS = """
    FileDiffDialog { align: center middle; }
    FileDiffDialog > Vertical {
        width: 90%; max-width: 140; height: 90%; border: thick $primary; background: $surface; padding: 0 1;
    }
    FileDiffDialog #diff-heading { text-style: bold; margin-bottom: 1; }
    FileDiffDialog VerticalScroll { height: 1fr; }
    """

    BINDINGS: ClassVar[list[Any]] = [Binding("escape,q", "close", "Close", show=False)]

    def __init__(self, file: str, diff: str) -> None:
        super().__init__()
        self.file = file
        self.diff = diff

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(Text(f"{self.file}  (changes in this session; esc closes)"), id="diff-heading")
            with VerticalScroll():
                if self.diff.strip():
                    body: Any = Syntax(
                        self.diff.rstrip("\n"), "diff", theme="ansi_dark", background_color="default", word_wrap=True
                    )
                else:
                    body = Text("no difference: the file is as it was before the session changed it")
                yield Static(body, id="diff-body")

    def on_click(self, event: events.Click) -> None:
        if event.widget is self:  # a click outside the box closes it
            self.dismiss(None)

    def action_close(self) -> None:
        self.dismiss(None)
