"""The chat view's widgets: one per message, one per part inside an assistant message.

Attributes down, messages up: the app hands each widget the part it shows (`update_part`), and
the prompt box posts `PromptInput.Submitted` / `PromptInput.Interrupt` to its parent. Widgets
only render; they never call the engine.

    ChatView                      the scrolling history
     +-- UserMessageView          what the user typed
     +-- AssistantMessageView     one assistant message (a step)
     |    +-- TextPartView        markdown, streamed in by appending
     |    +-- ReasoningView       dimmed, collapsible
     |    +-- ToolBlock           title, status, duration; expands to the output or the diff
     |    +-- ErrorLine           the message's error, in place
     +-- Notice                   retry status, slash command output, help
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.markup import escape
from textual.message import Message
from textual.widgets import Collapsible, Markdown, Static, TextArea

if TYPE_CHECKING:
    from opencode.session.model import AssistantMessage, Part, ReasoningPart, TextPart, ToolPart

TOOL_OUTPUT_LINES = 200
"""Lines of a tool's output shown in its expanded block (the rest is cut, with a note)."""
STATUS_ICONS = {"pending": "○", "running": "◐", "completed": "✓", "error": "✗"}


def tool_title(part: ToolPart) -> str:
    """`✓ bash  echo hi  0.3s`: icon, tool, what it did, and how long it took once done."""
    state = part.state
    title = getattr(state, "title", None) or _input_summary(part.tool, state.input)
    line = f"{STATUS_ICONS.get(state.status, '?')} {part.tool}"
    if title:
        line += f"  {title}"
    time = getattr(state, "time", None)
    end = getattr(time, "end", None)
    if time is not None and end is not None:
        line += f"  {(end - time.start) / 1000:.1f}s"
    elif state.status == "running":
        line += "  running"
    return line


def _input_summary(tool: str, arguments: dict[str, Any]) -> str:
    for key in ("description", "command", "filePath", "path", "pattern", "url", "query"):
        value = arguments.get(key)
        if isinstance(value, str) and value:
            return value.splitlines()[0][:80]
    return ""


class Notice(Static):
    """A line in the history that is not a message: retry status, a command's output, help."""

    DEFAULT_CSS = """
    Notice { color: $text-muted; padding: 0 1; margin: 0 0 1 0; }
    Notice.-error { color: $error; }
    Notice.-retry { color: $warning; }
    """


class UserMessageView(Static):
    DEFAULT_CSS = """
    UserMessageView {
        border-left: thick $primary; background: $boost; padding: 0 1; margin: 1 0 1 0;
    }
    """

    def __init__(self, message_id: str, text: str) -> None:
        super().__init__(Text(text), id=f"m-{message_id}", classes="user")
        self.message_id = message_id
        self.text = text


class TextPartView(Markdown):
    """Streamed text: new text is appended (parsed from the last block on), not re-rendered whole."""

    DEFAULT_CSS = """
    TextPartView { margin: 0; padding: 0 1; background: transparent; }
    """

    def __init__(self, part: TextPart) -> None:
        super().__init__(part.text, id=f"p-{part.id}")
        self.shown = part.text

    async def show(self, text: str) -> None:
        if text == self.shown:
            return
        if text.startswith(self.shown):
            tail, self.shown = text[len(self.shown) :], text
            await self.append(tail)
        else:
            self.shown = text
            await self.update(text)


class ReasoningView(Collapsible):
    """The model's reasoning: dimmed, collapsed once done (open while it streams)."""

    DEFAULT_CSS = """
    ReasoningView { color: $text-muted; text-style: italic; border: none; padding: 0; margin: 0 1; }
    ReasoningView > Contents { padding: 0 0 0 2; }
    """

    def __init__(self, part: ReasoningPart) -> None:
        self.body = Static(Text(part.text), classes="reasoning-text")
        super().__init__(self.body, title="Thinking", collapsed=part.time.end is not None, id=f"p-{part.id}")
        self.shown = part.text
        self.done = part.time.end is not None

    def show(self, part: ReasoningPart) -> None:
        if part.text != self.shown:
            self.shown = part.text
            self.body.update(Text(part.text))
        if part.time.end is not None and not self.done:
            self.done = True
            self.collapsed = True


class ToolBlock(Collapsible):
    """One tool call: a one-line title (status, duration) that expands to its output, or its diff."""

    DEFAULT_CSS = """
    ToolBlock { border: none; padding: 0; margin: 0 1; background: transparent; }
    ToolBlock > Contents { padding: 0 0 0 2; height: auto; }
    ToolBlock.-error CollapsibleTitle { color: $error; }
    ToolBlock.-running CollapsibleTitle { color: $warning; }
    ToolBlock.-completed CollapsibleTitle { color: $success; }
    """

    def __init__(self, part: ToolPart) -> None:
        self.body = Static("", classes="tool-output")
        super().__init__(self.body, title=escape(tool_title(part)), collapsed=True, id=f"p-{part.id}")
        self.part = part
        self.status = ""
        self.opened = False

    def on_mount(self) -> None:
        self.show(self.part)

    def show(self, part: ToolPart) -> None:
        self.part = part
        state = part.state
        self.title = escape(tool_title(part))  # commands and paths may hold [brackets]: never markup
        if state.status != self.status:
            self.remove_class(f"-{self.status}")
            self.status = state.status
            self.add_class(f"-{state.status}")
        self.body.update(self.render_body(part))
        if not self.opened and state.status == "completed" and self.diff_of(part):
            self.opened = True
            self.collapsed = False  # edits show their diff without a click, as opencode does

    @staticmethod
    def diff_of(part: ToolPart) -> str:
        diff = (getattr(part.state, "metadata", None) or {}).get("diff")
        return diff if isinstance(diff, str) and diff.strip() else ""

    @staticmethod
    def render_body(part: ToolPart) -> Any:
        state = part.state
        metadata = getattr(state, "metadata", None) or {}
        diff = ToolBlock.diff_of(part)
        if diff:
            from opencode.tui.diffview import DiffView

            return DiffView(diff)  # side by side when the block is wide enough, unified otherwise
        if state.status == "error":
            return Text(str(getattr(state, "error", "")), style="red")
        output = getattr(state, "output", None)
        if output is None:
            output = metadata.get("output") if isinstance(metadata.get("output"), str) else ""
        lines = str(output).splitlines()
        if len(lines) > TOOL_OUTPUT_LINES:
            cut = len(lines) - TOOL_OUTPUT_LINES
            lines = [*lines[:TOOL_OUTPUT_LINES], f"... {cut} more lines"]
        return Text("\n".join(lines) or "(no output)")


class ErrorLine(Static):
    DEFAULT_CSS = """
    ErrorLine { color: $error; padding: 0 1; }
    """


class AssistantMessageView(Vertical):
    """One assistant message; its part widgets are keyed by part id, so an update touches only one."""

    DEFAULT_CSS = """
    AssistantMessageView { height: auto; margin: 0 0 1 0; }
    """

    def __init__(self, message_id: str) -> None:
        super().__init__(id=f"m-{message_id}", classes="assistant")
        self.message_id = message_id
        self.parts: dict[str, Any] = {}
        self.error: ErrorLine | None = None

    async def update_part(self, part: Part) -> None:
        from opencode.session.model import ReasoningPart, TextPart, ToolPart

        widget = self.parts.get(part.id)
        if isinstance(part, TextPart):
            if part.synthetic or part.ignored:
                return
            if widget is None:
                widget = self.parts[part.id] = TextPartView(part)
                await self._mount(widget)
            else:
                await widget.show(part.text)
        elif isinstance(part, ReasoningPart):
            if widget is None:
                widget = self.parts[part.id] = ReasoningView(part)
                await self._mount(widget)
            else:
                widget.show(part)
        elif isinstance(part, ToolPart):
            if widget is None:
                from opencode.tui.history import tool_block

                widget = self.parts[part.id] = tool_block(part)  # a task's block opens its session
                await self._mount(widget)
            else:
                widget.show(part)

    async def _mount(self, widget: Any) -> None:
        if self.error is not None:
            await self.mount(widget, before=self.error)
        else:
            await self.mount(widget)

    async def update_info(self, info: AssistantMessage) -> None:
        if info.error is None:
            return
        text = "interrupted" if info.error.name == "MessageAbortedError" else f"error: {info.error.message}"
        if self.error is None:
            self.error = ErrorLine(Text(text), classes="message-error")
            await self.mount(self.error)
        else:
            self.error.update(Text(text))


class ChatView(VerticalScroll):
    """The history. Follows the bottom while the user has not scrolled up."""

    DEFAULT_CSS = """
    ChatView { height: 1fr; padding: 0 1; scrollbar-size-vertical: 1; }
    """

    def on_mount(self) -> None:
        self.anchor()  # stay at the bottom as messages stream in, until the user scrolls up


class StatusLine(Static):
    DEFAULT_CSS = """
    StatusLine { height: 1; padding: 0 1; color: $text-muted; background: $panel; }
    """

    def show(self, *, agent: str, model: str, tokens: int, cost: float, busy: bool, directory: str) -> None:
        line = Text()
        line.append(agent, style="bold")
        line.append(f"  {model}")
        line.append(f"  {tokens:,} tokens  ${cost:.4f}")
        if busy:
            line.append("  working… (esc to interrupt)", style="yellow")
        line.append(f"  {directory}", style="dim")
        self.update(line)


class PromptInput(TextArea):
    """The message box: Enter sends, Shift+Enter or Ctrl+J adds a line, Up/Down walk the history, Esc interrupts."""

    DEFAULT_CSS = """
    PromptInput { height: auto; min-height: 3; max-height: 12; border: round $primary; }
    """

    BINDINGS: ClassVar[list[Any]] = [
        Binding("ctrl+j,shift+enter", "newline", "New line", show=False),
        Binding("tab", "cycle_agent(1)", "Next agent", show=False),
        Binding("shift+tab", "cycle_agent(-1)", "Previous agent", show=False),
    ]

    class Submitted(Message):
        def __init__(self, text: str) -> None:
            super().__init__()
            self.text = text

    class Interrupt(Message):
        """Esc: stop the running step."""

    class CycleAgent(Message):
        """Tab / Shift+Tab: the next (step 1) or previous (-1) primary agent runs the next prompt."""

        def __init__(self, step: int) -> None:
            super().__init__()
            self.step = step

    def action_cycle_agent(self, step: int) -> None:
        self.post_message(self.CycleAgent(step))

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("placeholder", "Ask anything. Enter sends, Ctrl+J adds a line, /help lists commands")
        super().__init__(soft_wrap=True, show_line_numbers=False, **kwargs)
        self.sent: list[str] = []
        self._history_index: int | None = None
        self._draft = ""

    def action_newline(self) -> None:
        self.insert("\n")

    async def _on_key(self, event: events.Key) -> None:
        if event.key == "enter":
            event.stop()
            event.prevent_default()
            text = self.text
            if text.strip():
                self.remember(text)
                self.clear()
                self.post_message(self.Submitted(self.outgoing(text)))
            return
        if event.key == "escape":
            event.stop()
            event.prevent_default()
            self.post_message(self.Interrupt())
            return
        if event.key == "up" and self.cursor_location[0] == 0 and self.sent:
            event.stop()
            event.prevent_default()
            self.walk_history(-1)
            return
        if (
            event.key == "down"
            and self.cursor_location[0] == self.document.line_count - 1
            and self._history_index is not None
        ):
            event.stop()
            event.prevent_default()
            self.walk_history(1)
            return
        await super()._on_key(event)

    def outgoing(self, text: str) -> str:
        """What is sent for the box's text (the prompt box of prompt.py puts pasted text back in)."""
        return text

    def remember(self, text: str) -> None:
        if not self.sent or self.sent[-1] != text:
            self.sent.append(text)
        self._history_index = None

    def walk_history(self, step: int) -> None:
        if self._history_index is None:
            if step > 0:
                return
            self._draft = self.text
            index = len(self.sent) - 1
        else:
            index = self._history_index + step
        if index >= len(self.sent):
            self._history_index = None
            self.load_text(self._draft)
        else:
            self._history_index = max(0, index)
            self.load_text(self.sent[self._history_index])
        self.move_cursor(self.document.end)
