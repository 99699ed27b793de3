"""The Textual app: the chat view, the prompt box, the status line, and the dialogs.

Events from the client arrive inline (`_on_event`) and are only queued there; a timer flushes
the queue at most 30 times a second. A flush keeps the newest update of each part, so a burst
of text deltas becomes one append to the one widget being streamed; the rest of the history is
not touched. Turns run in workers; Esc aborts the running one through the client.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from rich.text import Text
from textual.app import App
from textual.binding import Binding
from textual.css.query import NoMatches

from opencode.tui import prompt as prompt_box
from opencode.tui.client import ClientError
from opencode.tui.completion import Completer, shown_text
from opencode.tui.dialogs import PermissionDialog, PlanDialog, QuestionDialog, is_plan_approval
from opencode.tui.history import History, TaskBlock
from opencode.tui.keybinds import Keymap, handle_key
from opencode.tui.sidepanel import SidePanel
from opencode.tui.themes import apply_tui_config, open_theme_picker
from opencode.tui.widgets import (
    AssistantMessageView,
    ChatView,
    Notice,
    PromptInput,
    StatusLine,
    UserMessageView,
)

if TYPE_CHECKING:
    from textual import events
    from textual.app import ComposeResult

    from opencode.bus import BusEvent, PermissionAsked, QuestionAsked
    from opencode.session.model import MessageWithParts, Part
    from opencode.tui.client import Client, PermissionReply

FLUSH_INTERVAL = 1 / 30
"""At most ~30 repaints a second while streaming."""

COMMANDS = {
    "/new": "start a new session",
    "/undo": "undo the last message and its file changes",
    "/redo": "bring back what /undo took away",
    "/sessions": "switch, rename (r) or delete (d) sessions",
    "/models": "pick the model for the next prompts",
    "/agents": "pick the agent for the next prompt (Tab cycles them)",
    "/themes": "pick a colour theme",
    **prompt_box.COMMANDS,  # /editor /compact /export /init (prompt.py)
    "/help": "show commands and keys",
    "/exit": "quit (also /quit, Ctrl+C)",
}
KEYS = {
    "Enter": "send",
    "Shift+Enter, Ctrl+J": "new line",
    "Up / Down": "earlier / later messages you sent",
    "Esc": "interrupt the running step",
    "Tab / Shift+Tab": "next / previous agent",
    "@file, /command": "complete (Tab or Enter takes the entry); @path attaches the file",
    "!command": "run a shell command; its output goes into the conversation",
    "Ctrl+C": "quit",
}


class OpencodeApp(App[int]):
    CSS_PATH = "app.tcss"
    TITLE = "opencode"
    AUTO_FOCUS = "#prompt"
    """The prompt box has focus from the first frame: keys typed while the app starts land there."""
    BINDINGS: ClassVar[list[Any]] = [
        Binding("ctrl+c", "quit", "Quit", priority=True),
        Binding("escape", "interrupt", "Interrupt", show=False),
    ]

    def __init__(self, client: Client, *, session_id: str | None = None) -> None:
        super().__init__()
        self.client = client
        self.session_id = session_id or ""
        self.views: dict[str, UserMessageView | AssistantMessageView] = {}
        self._queue: list[BusEvent] = []
        self._flush_scheduled = False
        self._unsubscribe: Any = None
        self._asks: deque[PermissionAsked | QuestionAsked] = deque()
        self._showing: str | None = None
        self._retry: Notice | None = None
        self._busy = False
        self._flush_lock = asyncio.Lock()
        self.history = History(self)  # the windowed chat history and the sub-agent sessions above it
        self._last_flush = 0.0
        self.keymap = Keymap.from_config(client.get_config().keybinds, COMMANDS)  # KeybindError before start

    def compose(self) -> ComposeResult:
        yield ChatView(id="chat")
        yield prompt_box.Prompt(Completer(self.client, COMMANDS), id="prompt")  # @file and /command completion
        yield StatusLine(id="status")
        yield SidePanel(id="sidepanel")

    async def on_mount(self) -> None:
        self._unsubscribe = self.client.subscribe(self._on_event)
        self.client.warm_up()  # MCP servers connect while the user types the first prompt
        if not self.session_id:
            self.session_id = self.client.create_session().id
        warnings = [*apply_tui_config(self, self.client.get_config()), *self.keymap.warnings]
        await self.load_history()
        self.refresh_status()
        self.query_one(PromptInput).focus()
        for warning in warnings:
            await self.notice(warning, error=True)

    async def on_event(self, event: events.Event) -> None:
        if not await handle_key(self, event):  # keybinds from config (keybinds.py) see keys first
            await super().on_event(event)

    def on_resize(self, event: events.Resize) -> None:
        self.query_one(SidePanel).fit(event.size.width)

    async def on_unmount(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
        await self.client.close()

    @property
    def chat(self) -> ChatView:
        return self.query_one(ChatView)

    # --- events from the client --------------------------------------------------------------

    def _on_event(self, event: BusEvent) -> None:
        """Called inline by the client for every event: queue it, flush on the next tick."""
        self._queue.append(event)
        if not self._flush_scheduled:
            self._flush_scheduled = True
            # After a quiet spell the first event shows at once; the ones after it wait out the interval.
            wait = self._last_flush + FLUSH_INTERVAL - time.monotonic()
            self.set_timer(max(wait, 0.001), self.flush)

    async def flush(self) -> None:
        async with self._flush_lock:  # one flush at a time: a mount awaited in one must not race the next
            self._flush_scheduled = False
            self._last_flush = time.monotonic()
            events, self._queue = self._queue, []
            if self._exit:
                return  # the app is closing: events that arrive now have nothing left to show on
            try:
                await self._apply(events)
            except NoMatches:
                if not self._exit and self._widgets_present():
                    raise
                # The app's widgets are gone (it is shutting down): the events have nothing to show on.

    def _widgets_present(self) -> bool:
        stack = self.screen_stack
        return bool(stack) and bool(stack[0].query(SidePanel)) and bool(stack[0].query(StatusLine))

    async def _apply(self, events: list[BusEvent]) -> None:
        from opencode.bus import (
            MessageUpdated,
            PartUpdated,
            PermissionAsked,
            PermissionReplied,
            QuestionAsked,
            QuestionRejected,
            QuestionReplied,
            SessionIdle,
            SessionStatus,
            SessionUpdated,
        )

        # Only the newest update of each part counts: it carries the whole text so far.
        newest = {e.part.id: i for i, e in enumerate(events) if isinstance(e, PartUpdated)}
        status_changed = False
        for index, event in enumerate(events):
            if isinstance(event, PartUpdated):
                if newest[event.part.id] == index and event.part.sessionID == self.session_id:
                    await self.show_part(event.part)
            elif isinstance(event, MessageUpdated):
                if event.info.sessionID == self.session_id:
                    await self.show_message(event.info)
                    status_changed = True
            elif isinstance(event, SessionStatus):
                if event.sessionID == self.session_id:
                    self._busy = event.status.type != "idle"
                    await self.show_retry(event)
                    status_changed = True
            elif isinstance(event, SessionIdle | SessionUpdated):
                status_changed = status_changed or self._session_of(event) == self.session_id
            elif isinstance(event, PermissionAsked | QuestionAsked):
                self._asks.append(event)
            elif isinstance(event, PermissionReplied | QuestionReplied | QuestionRejected):
                self.withdraw(event.requestID)
        self.query_one(SidePanel).apply(self.client, self.session_id, events)
        if status_changed:
            self.refresh_status()
        self.show_next_ask()

    @staticmethod
    def _session_of(event: Any) -> str:
        info = getattr(event, "info", None)
        return str(getattr(event, "sessionID", None) or getattr(info, "id", ""))

    # --- the history -------------------------------------------------------------------------

    async def load_history(self) -> None:
        """Rebuild the chat view from the stored messages (on start, /new, /undo, /redo): the newest
        ones are mounted, older ones as the user scrolls up (history.py)."""
        async with self._flush_lock:
            await self.history.load(self.client.messages(self.session_id))
        self.query_one(SidePanel).reload(self.client, self.session_id)

    async def show_stored(self, item: MessageWithParts) -> None:
        await self.show_message(item.info)
        for part in item.parts:
            await self.show_part(part)
        await self.show_message(item.info)

    async def show_message(self, info: Any) -> None:
        from opencode.session.model import AssistantMessage

        view = self.views.get(info.id)
        if view is None:
            if isinstance(info, AssistantMessage):
                if info.summary:
                    return
                view = AssistantMessageView(info.id)
            else:
                view = UserMessageView(info.id, "")
            self.views[info.id] = view
            if self._retry is not None:
                await self.chat.mount(view, before=self._retry)
            else:
                await self.chat.mount(view)
        if isinstance(view, AssistantMessageView) and isinstance(info, AssistantMessage):
            await view.update_info(info)

    async def show_part(self, part: Part) -> None:
        from opencode.session.model import TextPart

        view = self.views.get(part.messageID)
        if isinstance(view, AssistantMessageView):
            await view.update_part(part)
            if self._retry is not None:
                await self._clear_retry()
        elif isinstance(view, UserMessageView) and isinstance(part, TextPart) and not part.synthetic:
            view.text = part.text
            view.update(Text(shown_text(part.text, self.client.directory)))  # attached files folded to a line

    async def show_retry(self, event: Any) -> None:
        status = event.status
        if status.type != "retry":
            await self._clear_retry()
            return
        text = status.message or "retrying"
        if status.next:
            wait = max(0, round((status.next - time.time() * 1000) / 1000))
            text += f", retrying in {wait} s"
        if status.attempt:
            text += f" (attempt {status.attempt})"
        if self._retry is None:
            self._retry = Notice(Text(text), classes="-retry", id="retry")
            await self.chat.mount(self._retry)
        else:
            self._retry.update(Text(text))

    async def _clear_retry(self) -> None:
        if self._retry is not None:
            retry, self._retry = self._retry, None
            await retry.remove()

    async def notice(self, text: str, *, error: bool = False) -> None:
        widget = Notice(Text(text), classes="-error" if error else "")
        if self._retry is not None:
            await self.chat.mount(widget, before=self._retry)
        else:
            await self.chat.mount(widget)

    def refresh_status(self) -> None:
        usage = self.client.usage(self.session_id)
        directory = self.client.directory
        home = str(Path.home())
        if directory.startswith(home):
            directory = "~" + directory[len(home) :]
        self.query_one(StatusLine).show(
            agent=self.client.agent_name(self.session_id),
            model=self.client.model_ref(self.session_id),
            tokens=usage.tokens,
            cost=usage.cost,
            busy=self._busy or self.client.busy(self.session_id),
            directory=directory,
        )

    # --- dialogs -----------------------------------------------------------------------------

    def show_next_ask(self) -> None:
        from opencode.bus import PermissionAsked

        if self._showing is not None or not self._asks:
            return
        asked = self._asks.popleft()
        self._showing = asked.id
        if isinstance(asked, PermissionAsked):
            request_id = asked.id

            def permission_done(reply: PermissionReply | None) -> None:
                if self._showing == request_id:
                    self.client.reply_permission(request_id, reply or "reject")
                self._dialog_closed(request_id)

            self.push_screen(PermissionDialog(asked), permission_done)
        else:
            question_id = asked.id

            def question_done(answers: list[list[str]] | None) -> None:
                if self._showing == question_id:
                    if answers is None:
                        self.client.reject_question(question_id)
                    else:
                        self.client.reply_question(question_id, answers)
                self._dialog_closed(question_id)

            dialog = PlanDialog(asked) if is_plan_approval(asked) else QuestionDialog(asked)
            self.push_screen(dialog, question_done)

    def _dialog_closed(self, request_id: str) -> None:
        if self._showing == request_id:
            self._showing = None
        self.call_later(self.show_next_ask)

    def withdraw(self, request_id: str) -> None:
        """The ask was answered or withdrawn elsewhere (an abort rejects them): close or drop its dialog."""
        self._asks = deque(a for a in self._asks if a.id != request_id)
        if self._showing == request_id:
            self._showing = None
            screen = self.screen
            if isinstance(screen, PermissionDialog | QuestionDialog | PlanDialog):
                screen.dismiss(None)

    # --- input ---------------------------------------------------------------------------------

    async def on_prompt_input_submitted(self, message: PromptInput.Submitted) -> None:
        text = message.text.strip()
        if await prompt_box.submitted(self, message.text):  # !command, /custom-command arguments
            return
        if text.startswith("/") and " " not in text:
            await self.run_command(text)
            return
        if self.client.busy(self.session_id):
            await self.notice("still working on the last message: wait, or press Esc to stop it", error=True)
            return
        self._busy = True
        self.refresh_status()
        options = prompt_box.send_options(message.text)  # the @path mentions, attached
        self.run_worker(self.send(message.text, **options), group="prompt", name="prompt")

    async def send(self, text: str, **options: Any) -> None:
        try:
            await self.client.prompt(self.session_id, text, **options)
        except ClientError as exc:
            await self.notice(str(exc), error=True)
        except Exception as exc:  # a model that cannot be resolved, a broken config: shown, not fatal
            await self.notice(f"error: {exc}", error=True)
        finally:
            self._busy = False
            self.refresh_status()

    def on_prompt_input_interrupt(self, message: PromptInput.Interrupt) -> None:
        self.action_interrupt()

    def on_prompt_input_cycle_agent(self, message: PromptInput.CycleAgent) -> None:
        from opencode.tui.pickers import cycle_agent

        cycle_agent(self, message.step)

    async def on_task_block_open(self, message: TaskBlock.Open) -> None:
        await self.history.open_task(message.part)

    def action_interrupt(self) -> None:
        if self.history.leave():  # a sub-agent's session is shown: Esc goes back to its parent
            return
        if self.client.abort(self.session_id):
            self.notify("interrupted", timeout=2)

    async def run_command(self, text: str) -> None:
        name = text.split()[0].lower()
        if name in ("/exit", "/quit", "/q"):
            self.exit(0)
        elif name == "/help":
            lines = [f"{cmd:<8} {what}" for cmd, what in COMMANDS.items()]
            lines += ["", *(f"{key:<20} {what}" for key, what in KEYS.items())]
            lines += ["", *self.keymap.help_lines()]  # config `keybinds` (opencode's names)
            await self.notice("\n".join(lines))
        elif name == "/new":
            if self.client.busy(self.session_id):
                await self.notice("a turn is running: press Esc to stop it before starting a new session", error=True)
                return
            self.session_id = self.client.create_session().id
            await self.load_history()
            self.refresh_status()
        elif name in ("/undo", "/redo"):
            self.run_worker(self.undo_redo(name), group="revert", name=name, exclusive=True)
        elif name in ("/sessions", "/models", "/agents"):
            from opencode.tui.pickers import open_picker

            await open_picker(self, name)
        elif name == "/themes":
            open_theme_picker(self)
        elif name in prompt_box.COMMANDS:
            await prompt_box.run_command(self, name)
        else:
            await self.notice(f"unknown command {name}: /help lists the commands", error=True)

    async def undo_redo(self, name: str) -> None:
        from opencode.session.model import TextPart

        undone = ""
        if name == "/undo":
            messages = self.client.messages(self.session_id)
        try:
            if name == "/undo":
                session = await self.client.undo(self.session_id)
                cut = session.revert.messageID if session.revert else ""
                item = next((m for m in messages if m.info.id == cut), None)
                if item is not None:
                    undone = "".join(p.text for p in item.parts if isinstance(p, TextPart) and not p.synthetic)
            else:
                await self.client.redo(self.session_id)
        except ClientError as exc:
            await self.notice(str(exc), error=True)
            return
        await self.load_history()
        self.refresh_status()
        if undone:
            prompt = self.query_one(PromptInput)
            prompt.load_text(undone)  # opencode puts the undone message back in the box, to edit and resend
            prompt.move_cursor(prompt.document.end)
        await self.notice("undone (/redo brings it back)" if name == "/undo" else "redone")
