"""The pickers: `/sessions`, `/models`, `/agents`, and Tab to cycle the primary agents.

Each picker is a modal screen with a search box over a list: typing filters, Up/Down move,
Enter picks, Esc closes. They read and change things only through the `Client`:

    await open_picker(app, "/models")      # the slash commands
    cycle_agent(app, +1)                   # Tab (and Shift+Tab with -1) in the prompt box

The session picker also renames (`r`, or Ctrl+R from the search box) and deletes (`d` or
Ctrl+D, after a confirm). Deleting the session the app shows moves the app to a new one.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, ClassVar

from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.fuzzy import Matcher
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from opencode.tui.client import ClientError

if TYPE_CHECKING:
    from textual.app import ComposeResult

    from opencode.session.model import Session
    from opencode.tui.app import OpencodeApp
    from opencode.tui.client import AgentChoice, Client, ModelChoice

PICKER_COMMANDS = ("/sessions", "/models", "/agents")
SESSION_LIMIT = 500
"""Sessions listed by /sessions (newest first); the search filters these."""
RECENT_MODELS = 5

# --- formatting -------------------------------------------------------------------------------


def ago(ms: int, now: float | None = None) -> str:
    """`just now`, `5 min ago`, `3 h ago`, `2 d ago`, then the date."""
    seconds = max(0.0, (now if now is not None else time.time()) - ms / 1000)
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        return f"{int(seconds // 60)} min ago"
    if seconds < 86400:
        return f"{int(seconds // 3600)} h ago"
    if seconds < 7 * 86400:
        return f"{int(seconds // 86400)} d ago"
    return time.strftime("%Y-%m-%d", time.localtime(ms / 1000))


def tokens_short(count: int) -> str:
    """A context window as `200K` or `1M`; `?` when the catalog does not say."""
    if count <= 0:
        return "?"
    if count >= 1_000_000:
        return f"{count / 1_000_000:.3g}M"
    if count >= 1000:
        return f"{count / 1000:.0f}K"
    return str(count)


def price(choice: ModelChoice) -> str:
    """Input / output dollars per million tokens, as `$3/$15`; `free` when both are nothing."""
    if not choice.input_price and not choice.output_price:
        return "free"
    return f"${choice.input_price:g}/${choice.output_price:g}"


def _match(matcher: Matcher | None, *texts: str) -> float:
    if matcher is None:
        return 1.0
    return max(matcher.match(text) for text in texts)


def _shown(matcher: Matcher | None, text: str) -> Content:
    return matcher.highlight(text) if matcher is not None else Content(text)


# --- the screens ------------------------------------------------------------------------------


class ConfirmDialog(ModalScreen[bool]):
    """A yes/no question: y or Enter says yes, n or Esc says no."""

    DEFAULT_CSS = """
    ConfirmDialog { align: center middle; }
    ConfirmDialog > Vertical {
        width: 70; max-width: 90%; height: auto; border: thick $error; background: $surface; padding: 1 2;
    }
    ConfirmDialog #confirm-text { margin-bottom: 1; }
    ConfirmDialog Horizontal { height: auto; }
    ConfirmDialog Button { margin-right: 2; width: auto; }
    """

    BINDINGS: ClassVar[list[Any]] = [
        Binding("y,enter", "answer(True)", "Yes", show=False),
        Binding("n,escape", "answer(False)", "No", show=False),
    ]

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(Content(self.text), id="confirm-text")
            with Horizontal():
                yield Button("Delete (y)", id="yes", variant="error")
                yield Button("Keep (n)", id="no")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(event.button.id == "yes")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)


class FilterPicker(ModalScreen[str | None]):
    """A search box over a list of options; dismissed with the picked option's id, or None on Esc.

    Subclasses fill the list (`build`)."""

    DEFAULT_CSS = """
    FilterPicker { align: center middle; }
    FilterPicker > Vertical {
        width: 90%; max-width: 110; height: auto; max-height: 90%;
        border: thick $accent; background: $surface; padding: 0 1;
    }
    FilterPicker .picker-title { text-style: bold; }
    FilterPicker Input { background: $boost; }
    FilterPicker #picker-search { margin: 0 0 1 0; }
    FilterPicker #picker-options {
        height: auto; max-height: 60vh; border: none; padding: 0; text-wrap: nowrap; text-overflow: ellipsis;
    }
    FilterPicker .picker-hint { color: $text-muted; margin: 1 0 0 0; }
    FilterPicker .picker-hint.-error { color: $error; }
    """

    BINDINGS: ClassVar[list[Any]] = [
        Binding("escape", "close", "Close", show=False),
        Binding("down", "move(1)", show=False),
        Binding("up", "move(-1)", show=False),
        Binding("pagedown", "move(10)", show=False),
        Binding("pageup", "move(-10)", show=False),
    ]

    TITLE = ""
    HINT = "↑↓ move · enter picks · esc closes"

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(self.TITLE, classes="picker-title")
            yield Input(placeholder="type to search", id="picker-search", compact=True)
            yield OptionList(id="picker-options")
            yield from self.compose_extra()
            yield Static(self.HINT, classes="picker-hint", id="picker-hint")

    def compose_extra(self) -> ComposeResult:
        yield from ()

    def on_mount(self) -> None:
        self.refill()
        self.query_one("#picker-search", Input).focus()

    @property
    def options(self) -> OptionList:
        return self.query_one("#picker-options", OptionList)

    @property
    def query_text(self) -> str:
        return self.query_one("#picker-search", Input).value.strip()

    def build(self, matcher: Matcher | None) -> list[Option]:
        """The list for the search text (`matcher` None when the box is empty); disabled options are headings."""
        return []

    def pick(self, option_id: str) -> None:
        """Enter on an option."""
        self.dismiss(option_id)

    def initial(self) -> str | None:
        """The option highlighted while nothing is typed (the current session, model or agent)."""
        return None

    def refill(self, keep: str | None = None) -> None:
        text = self.query_text
        built = self.build(Matcher(text) if text else None)
        options = self.options
        options.clear_options()
        options.add_options(built)
        want = keep or (None if text else self.initial())
        pickable = [index for index, option in enumerate(built) if not option.disabled]
        chosen = next((index for index in pickable if built[index].id == want), None)
        if chosen is None and pickable:
            chosen = pickable[0]
        options.highlighted = chosen

    def highlighted_id(self) -> str | None:
        options = self.options
        if options.highlighted is None:
            return None
        option = options.get_option_at_index(options.highlighted)
        return None if option.disabled else option.id

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id == "picker-search":
            event.stop()
            self.refill()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "picker-search":
            event.stop()
            chosen = self.highlighted_id()
            if chosen is not None:
                self.pick(chosen)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if event.option.id is not None and not event.option.disabled:
            self.pick(event.option.id)

    def action_move(self, step: int) -> None:
        options = self.options
        if not options.option_count:
            return
        index = options.highlighted if options.highlighted is not None else -1
        last = options.option_count - 1
        target = min(last, max(0, index + step))
        direction = 1 if step > 0 else -1
        while 0 <= target <= last and options.get_option_at_index(target).disabled:
            target += direction  # step over the group headings
        if 0 <= target <= last:
            options.highlighted = target

    def action_close(self) -> None:
        self.dismiss(None)

    def say(self, text: str, *, error: bool = False) -> None:
        hint = self.query_one("#picker-hint", Static)
        hint.update(Content(text))
        hint.set_class(error, "-error")


class SessionPicker(FilterPicker):
    """The project's sessions, newest first: Enter opens one, r renames, d deletes (after a confirm).

    Dismissed with the session to show (None: stay); `deleted` holds the sessions it deleted."""

    DEFAULT_CSS = """
    SessionPicker #session-rename { display: none; margin: 1 0 0 0; }
    SessionPicker #session-rename.-open { display: block; }
    """

    BINDINGS: ClassVar[list[Any]] = [
        Binding("r", "rename", "Rename", show=False),
        Binding("d", "delete", "Delete", show=False),
        Binding("ctrl+r", "rename", "Rename", show=False, priority=True),
        Binding("ctrl+d", "delete", "Delete", show=False, priority=True),
    ]

    TITLE = "Sessions"
    HINT = "enter opens · ctrl+r renames · ctrl+d deletes (r, d in the list) · esc closes"

    def __init__(self, client: Client, current: str) -> None:
        super().__init__()
        self.client = client
        self.current = current
        self.sessions: list[Session] = client.list_sessions(limit=SESSION_LIMIT)
        self.deleted: set[str] = set()
        self.renaming: str | None = None

    def compose_extra(self) -> ComposeResult:
        yield Input(placeholder="new title (enter saves, esc cancels)", id="session-rename", compact=True)

    def initial(self) -> str | None:
        return self.current

    def build(self, matcher: Matcher | None) -> list[Option]:
        now = time.time()
        rows: list[Option] = []
        for session in self.sessions:
            if _match(matcher, session.title) <= 0:
                continue
            row = Content.assemble(
                "● " if session.id == self.current else "  ",
                _shown(matcher, session.title),
                ("  " + ago(session.time.updated, now), "dim"),
            )
            rows.append(Option(row, id=session.id))
        if not rows:
            rows.append(Option(Content("no session matches" if matcher else "no sessions yet"), disabled=True))
        return rows

    def find(self, session_id: str) -> Session | None:
        return next((s for s in self.sessions if s.id == session_id), None)

    def action_close(self) -> None:
        if self.renaming is not None:
            self.end_rename()
            return
        super().action_close()

    def action_rename(self) -> None:
        chosen = self.highlighted_id()
        session = self.find(chosen) if chosen else None
        if session is None:
            return
        self.renaming = session.id
        field_ = self.query_one("#session-rename", Input)
        field_.value = session.title
        field_.add_class("-open")
        field_.focus()
        self.say(f"renaming: {session.title}")

    def end_rename(self) -> None:
        self.renaming = None
        self.query_one("#session-rename", Input).remove_class("-open")
        self.say(self.HINT)
        self.options.focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        # Textual calls FilterPicker's handler too (handlers run along the class chain): that one takes the search box.
        if event.input.id != "session-rename":
            return
        event.stop()
        session_id = self.renaming
        if session_id is None:
            return
        try:
            renamed = self.client.rename_session(session_id, event.value)
        except ClientError as exc:
            self.say(str(exc), error=True)
            return
        self.sessions = [renamed if s.id == session_id else s for s in self.sessions]
        self.sessions.sort(key=lambda s: (s.time.updated, s.id), reverse=True)
        self.end_rename()
        self.refill(keep=session_id)

    def action_delete(self) -> None:
        chosen = self.highlighted_id()
        session = self.find(chosen) if chosen else None
        if session is None:
            return
        session_id = session.id

        def confirmed(yes: bool | None) -> None:
            if not yes:
                return
            try:
                self.client.delete_session(session_id)
            except ClientError as exc:
                self.say(str(exc), error=True)
                return
            self.deleted.add(session_id)
            self.sessions = [s for s in self.sessions if s.id != session_id]
            self.refill()
            self.say(f"deleted: {session.title}")

        self.app.push_screen(ConfirmDialog(f"Delete the session “{session.title}” and its messages?"), confirmed)


class ModelPicker(FilterPicker):
    """The connected providers' models: recently used first, then one group per provider; fuzzy search."""

    TITLE = "Models"
    HINT = "enter uses it for the next prompts · esc closes · context, $ in/out per 1M tokens"

    def __init__(self, choices: list[ModelChoice], recent: list[str], current: str) -> None:
        super().__init__()
        self.choices = choices
        self.recent = recent
        self.current = current
        self.width = min(40, max((len(c.name) for c in choices), default=10))

    def initial(self) -> str | None:
        return self.current

    def row(self, choice: ModelChoice, matcher: Matcher | None, *, with_provider: bool) -> Option:
        name = choice.name if len(choice.name) <= self.width else choice.name[: self.width - 1] + "…"
        detail = choice.ref if with_provider else choice.ref.partition("/")[2]
        content = Content.assemble(
            "● " if choice.ref == self.current else "  ",
            _shown(matcher, name),
            " " * (self.width - len(name)),
            f"  {tokens_short(choice.context):>5}  {price(choice):<14}",
            (detail, "dim"),
        )
        return Option(content, id=choice.ref)

    def build(self, matcher: Matcher | None) -> list[Option]:
        scored = [(_match(matcher, c.name, c.ref), c) for c in self.choices]
        found = {c.ref: (score, c) for score, c in scored if score > 0}
        rows: list[Option] = []
        recent = [found[ref][1] for ref in self.recent[:RECENT_MODELS] if ref in found]
        if recent:
            rows.append(Option(Content.styled("Recent", "bold"), id="group:recent", disabled=True))
            rows.extend(self.row(c, matcher, with_provider=True) for c in recent)
        taken = {c.ref for c in recent}
        groups: dict[str, list[tuple[float, ModelChoice]]] = {}
        names: dict[str, str] = {}
        for score, choice in found.values():
            if choice.ref not in taken:
                groups.setdefault(choice.provider, []).append((score, choice))
                names[choice.provider] = choice.provider_name
        for provider in sorted(groups, key=lambda p: names[p].lower()):
            rows.append(Option(Content.styled(names[provider], "bold"), id=f"group:{provider}", disabled=True))
            ordered = sorted(groups[provider], key=lambda sc: (-sc[0], sc[1].name.lower()))
            rows.extend(self.row(c, matcher, with_provider=False) for _, c in ordered)
        if not rows:
            rows.append(Option(Content("no model matches"), disabled=True))
        return rows


class AgentPicker(FilterPicker):
    """The primary agents; the pick runs the next prompt."""

    TITLE = "Agents"
    HINT = "enter picks the agent for the next prompt · Tab in the prompt box cycles them"

    def __init__(self, choices: list[AgentChoice], current: str) -> None:
        super().__init__()
        self.choices = choices
        self.current = current
        self.width = max((len(c.name) for c in choices), default=8)

    def initial(self) -> str | None:
        return self.current

    def build(self, matcher: Matcher | None) -> list[Option]:
        rows: list[Option] = []
        for choice in self.choices:
            if _match(matcher, choice.name, choice.description) <= 0:
                continue
            description = choice.description.splitlines()[0] if choice.description else ""
            content = Content.assemble(
                "● " if choice.name == self.current else "  ",
                _shown(matcher, choice.name),
                " " * (self.width - len(choice.name)),
                (f"  {description[:90]}", "dim"),
            )
            rows.append(Option(content, id=choice.name))
        if not rows:
            rows.append(Option(Content("no agent matches"), disabled=True))
        return rows


# --- what the app calls -------------------------------------------------------------------------


async def open_picker(app: OpencodeApp, name: str) -> None:
    """Open the picker for `/sessions`, `/models` or `/agents`; the pick is applied when it closes."""
    client = app.client
    if name == "/sessions":
        picker = SessionPicker(client, app.session_id)

        async def sessions_done(session_id: str | None) -> None:
            await after_sessions(app, session_id, picker.deleted)

        app.push_screen(picker, sessions_done)
    elif name == "/models":
        choices = client.models()
        if not choices:
            await app.notice("no connected provider has models: `opencode auth login` adds one", error=True)
            return

        async def model_done(ref: str | None) -> None:
            if ref is None:
                return
            try:
                client.set_model(ref)
            except ClientError as exc:
                await app.notice(str(exc), error=True)
                return
            app.refresh_status()

        current = client.model_ref(app.session_id)
        app.push_screen(ModelPicker(choices, client.recent_models(), current), model_done)
    elif name == "/agents":

        async def agent_done(agent: str | None) -> None:
            if agent is not None:
                await set_agent(app, agent)

        app.push_screen(AgentPicker(client.agents(), client.agent_name(app.session_id)), agent_done)


async def after_sessions(app: OpencodeApp, target: str | None, deleted: set[str]) -> None:
    if target is None and app.session_id in deleted:
        target = app.client.create_session().id  # the session on screen is gone: start a new one, as /new does
    if target is not None and target != app.session_id:
        await switch_session(app, target)


async def switch_session(app: OpencodeApp, session_id: str) -> None:
    """Show another session: its history replaces the chat view."""
    if app.client.busy(app.session_id):
        await app.notice("a turn is running: press Esc to stop it before switching sessions", error=True)
        return
    app.session_id = session_id
    await app.load_history()
    app.refresh_status()


async def set_agent(app: OpencodeApp, name: str) -> None:
    try:
        app.client.set_agent(app.session_id, name)
    except ClientError as exc:
        await app.notice(str(exc), error=True)
        return
    app.refresh_status()


def cycle_agent(app: OpencodeApp, step: int) -> None:
    """Tab / Shift+Tab: the next or previous primary agent runs the next prompt."""
    names = [choice.name for choice in app.client.agents()]
    if not names:
        return
    current = app.client.agent_name(app.session_id)
    index = names.index(current) if current in names else (-1 if step > 0 else 0)
    name = names[(index + step) % len(names)]
    try:
        app.client.set_agent(app.session_id, name)
    except ClientError as exc:
        app.notify(str(exc), severity="error")
        return
    app.refresh_status()
