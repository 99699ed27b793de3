"""Modal dialogs that return a typed result with `dismiss`: permission asks and the model's questions.

app.push_screen(PermissionDialog(asked), callback)      # callback("once" | "always" | "reject")
app.push_screen(QuestionDialog(asked), callback)        # callback([["Postgres"], ["typed text"]] | None)
"""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any, ClassVar

from rich.syntax import Syntax
from rich.text import Text
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, SelectionList, Static

from opencode.tui.client import PermissionReply

REPLIES: tuple[PermissionReply, ...] = ("once", "always", "reject")

if TYPE_CHECKING:
    from textual.app import ComposeResult

    from opencode.bus import PermissionAsked, QuestionAsked


def describe_ask(asked: PermissionAsked) -> tuple[str, Any]:
    """The dialog's heading and body: the command for bash, the diff for edits, else the patterns."""
    meta = asked.metadata or {}
    heading = f"Permission: {asked.permission}"
    diff = meta.get("diff")
    if isinstance(diff, str) and diff.strip():
        path = meta.get("filePath") or ", ".join(asked.patterns)
        return f"{heading}  {path}", Syntax(diff.rstrip("\n"), "diff", theme="ansi_dark", background_color="default")
    command = meta.get("command")
    if isinstance(command, str) and command:
        body = Text("$ ", style="bold")
        body.append(command)
        description = meta.get("description")
        if isinstance(description, str) and description:
            body.append(f"\n\n{description}", style="dim")
        return heading, body
    lines = list(asked.patterns)
    for key in ("filepath", "title"):
        value = meta.get(key)
        if isinstance(value, str) and value and value not in lines:
            lines.append(value)
    if not lines and meta:
        lines.append(json.dumps(meta, indent=2, default=str)[:2000])
    return heading, Text("\n".join(lines))


class PermissionDialog(ModalScreen[PermissionReply]):
    """Allow once, always (this session, for the patterns shown) or reject."""

    DEFAULT_CSS = """
    PermissionDialog { align: center middle; }
    PermissionDialog > Vertical {
        width: 90%; max-width: 120; height: auto; max-height: 90%;
        border: thick $warning; background: $surface; padding: 1 2;
    }
    PermissionDialog #ask-heading { text-style: bold; margin-bottom: 1; }
    PermissionDialog #ask-body { height: auto; max-height: 20; margin-bottom: 1; }
    PermissionDialog #ask-always { color: $text-muted; margin-bottom: 1; }
    PermissionDialog Horizontal { height: auto; }
    PermissionDialog Button { margin-right: 2; width: auto; }
    """

    BINDINGS: ClassVar[list[Any]] = [
        Binding("o,enter", "choose('once')", "Once", show=False),
        Binding("a", "choose('always')", "Always", show=False),
        Binding("r,escape", "choose('reject')", "Reject", show=False),
    ]

    ARM_SECONDS = 0.4
    """Keys and buttons do nothing this long after the dialog opens: typing meant for the prompt box answers nothing."""

    def __init__(self, asked: PermissionAsked) -> None:
        super().__init__()
        self.asked = asked
        self.opened = time.monotonic()

    def compose(self) -> ComposeResult:
        heading, body = describe_ask(self.asked)
        with Vertical():
            yield Label(Text(heading), id="ask-heading")
            with VerticalScroll(id="ask-body"):
                yield Static(body)
            if self.asked.always:
                yield Label(Text(f"always allows: {', '.join(self.asked.always)}"), id="ask-always")
            with Horizontal():
                yield Button("Allow once (o)", id="once", variant="primary")
                yield Button("Always (a)", id="always", variant="warning")
                yield Button("Reject (r)", id="reject", variant="error")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.action_choose(str(event.button.id))

    def action_choose(self, reply: str) -> None:
        if time.monotonic() - self.opened < self.ARM_SECONDS:
            return  # an Enter or a letter meant for the prompt box, typed as the dialog came up
        for choice in REPLIES:
            if reply == choice:
                self.dismiss(choice)


class QuestionDialog(ModalScreen[list[list[str]] | None]):
    """The `question` tool: each question with its options (one or several) and, where allowed, a typed answer.

    Enter moves to the next question and, after the last, answers; Esc dismisses them all."""

    DEFAULT_CSS = """
    QuestionDialog { align: center middle; }
    QuestionDialog > Vertical {
        width: 90%; max-width: 110; height: auto; max-height: 90%;
        border: thick $accent; background: $surface; padding: 1 2;
    }
    QuestionDialog .question { text-style: bold; margin-top: 1; }
    QuestionDialog SelectionList { height: auto; max-height: 12; }
    QuestionDialog Horizontal { height: auto; margin-top: 1; }
    QuestionDialog Button { margin-right: 2; width: auto; }
    """

    BINDINGS: ClassVar[list[Any]] = [Binding("escape", "dismiss_all", "Dismiss", show=False)]

    def __init__(self, asked: QuestionAsked) -> None:
        super().__init__()
        self.asked = asked

    def compose(self) -> ComposeResult:
        with Vertical():
            for index, question in enumerate(self.asked.questions):
                header = f"{question.header}: " if question.header else ""
                yield Label(Text(f"{header}{question.question}"), classes="question")
                if question.options:
                    yield SelectionList[str](
                        *((self._option_label(o.label, o.description), o.label) for o in question.options),
                        id=f"q{index}-options",
                    )
                if question.custom is not False or not question.options:
                    yield Input(placeholder="type your own answer", id=f"q{index}-text")
            with Horizontal():
                yield Button("Answer", id="answer", variant="primary")
                yield Button("Dismiss (esc)", id="dismiss")

    @staticmethod
    def _option_label(label: str, description: str) -> Text:
        text = Text(label)
        if description:
            text.append(f"  {description}", style="dim")
        return text

    def on_selection_list_selection_toggled(self, event: SelectionList.SelectionToggled[str]) -> None:
        """A single-choice question keeps one option selected."""
        index = int(str(event.selection_list.id).split("-")[0][1:])
        if self.asked.questions[index].multiple:
            return
        chosen = event.selection.value
        for value in list(event.selection_list.selected):
            if value != chosen:
                event.selection_list.deselect(value)

    def answers(self) -> list[list[str]]:
        result: list[list[str]] = []
        for index, _question in enumerate(self.asked.questions):
            chosen: list[str] = []
            options = self.query(f"#q{index}-options").results(SelectionList)
            for selection in options:
                chosen.extend(str(v) for v in selection.selected)
            for field in self.query(f"#q{index}-text").results(Input):
                if field.value.strip():
                    chosen.append(field.value.strip())
            result.append(chosen)
        return result

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.dismiss(self.answers())

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "answer":
            self.dismiss(self.answers())
        else:
            self.dismiss(None)

    def action_dismiss_all(self) -> None:
        self.dismiss(None)


PLAN_HEADER = "Plan"
APPROVE, KEEP_PLANNING = "Approve", "Keep planning"
"""The labels `plan_exit` offers (opencode.tool.plan): a question with these is a plan to approve."""


def is_plan_approval(asked: QuestionAsked) -> bool:
    if len(asked.questions) != 1:
        return False
    question = asked.questions[0]
    return question.header == PLAN_HEADER and {o.label for o in question.options} == {APPROVE, KEEP_PLANNING}


class PlanDialog(ModalScreen[list[list[str]] | None]):
    """`plan_exit`'s ask: the plan rendered as markdown, then Approve (a), Keep planning (k), or what to change.

    Answers as the question it is: [["Approve"]], [["Keep planning"]] or [["<what to change>"]]; Esc
    dismisses it (the tool hears that the plan was not approved)."""

    DEFAULT_CSS = """
    PlanDialog { align: center middle; }
    PlanDialog > Vertical {
        width: 94%; max-width: 120; height: 90%;
        border: thick $accent; background: $surface; padding: 1 2;
    }
    PlanDialog .title { text-style: bold; }
    PlanDialog VerticalScroll { height: 1fr; border: round $panel; margin: 1 0; }
    PlanDialog Horizontal { height: auto; margin-top: 1; }
    PlanDialog Button { margin-right: 2; width: auto; }
    """

    ARM_SECONDS = 0.4
    BINDINGS: ClassVar[list[Any]] = [
        Binding("a", "choose('approve')", "Approve", show=False),
        Binding("k", "choose('keep')", "Keep planning", show=False),
        Binding("escape", "dismiss_plan", "Dismiss", show=False),
    ]

    def __init__(self, asked: QuestionAsked) -> None:
        super().__init__()
        self.asked = asked
        self.opened = time.monotonic()
        text = asked.questions[0].question
        plan, _, ask = text.rpartition("\n\n")
        self.plan = plan or text
        self.ask = ask if plan else "Approve this plan?"

    def compose(self) -> ComposeResult:
        from textual.widgets import Markdown

        with Vertical():
            yield Label(Text(self.ask), classes="title")
            with VerticalScroll():
                yield Markdown(self.plan, id="plan")
            yield Input(placeholder="or say what to change, then Enter", id="feedback")
            with Horizontal():
                yield Button("Approve (a)", id="approve", variant="success")
                yield Button("Keep planning (k)", id="keep")
                yield Button("Dismiss (esc)", id="dismiss")

    def on_mount(self) -> None:
        self.query_one("#approve", Button).focus()

    def action_choose(self, choice: str) -> None:
        if isinstance(self.focused, Input):
            return  # typing feedback: the letters are text
        if time.monotonic() - self.opened < self.ARM_SECONDS:
            return  # a key meant for the prompt box, typed as the dialog came up
        self.dismiss([[APPROVE]] if choice == "approve" else [[KEEP_PLANNING]])

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return not (action == "choose" and isinstance(self.focused, Input))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        feedback = event.value.strip()
        self.dismiss([[feedback]] if feedback else [[KEEP_PLANNING]])

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "dismiss":
            self.dismiss(None)
        elif time.monotonic() - self.opened >= self.ARM_SECONDS:
            self.dismiss([[APPROVE]] if event.button.id == "approve" else [[KEEP_PLANNING]])

    def action_dismiss_plan(self) -> None:
        self.dismiss(None)
