"""The main screens, rendered from fixed data through a client that is not the engine.

`StaticClient` implements the `Client` interface from a list of stored-shape messages, as a
remote (`opencode attach`) client would: the app renders the same. Each test reads the screen's
text; test_snapshots.py compares the same screens with stored SVG snapshots.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

from rich.console import Console

from opencode.bus import BusEvent, PermissionAsked, QuestionAsked, QuestionInfo, QuestionOption, ToolRef
from opencode.config.schema import Config
from opencode.provider.catalog import ModelInfo
from opencode.session.model import (
    AssistantMessage,
    AssistantPath,
    MessageWithParts,
    ModelRef,
    ReasoningPart,
    Session,
    TextPart,
    Todo,
    Tokens,
    ToolPart,
    ToolStateCompleted,
    ToolTimeRange,
    UserMessage,
)
from opencode.tui.app import OpencodeApp
from opencode.tui.client import PermissionReply, ServiceStatus, Usage
from opencode.tui.dialogs import PermissionDialog, QuestionDialog
from tests.tui.conftest import wait_until

T0 = 1_760_000_000_000
DIFF = (
    "--- a/app.py\n+++ b/app.py\n@@ -1,3 +1,3 @@\n def greet(name):\n"
    "-    return 'hi ' + name\n+    return f'Hello, {name}!'\n \n"
)
ANSWER = """Fixed: `greet` now uses an f-string.

```python
def greet(name):
    return f'Hello, {name}!'
```

- the tests pass
- nothing else changed"""


def _messages() -> list[MessageWithParts]:
    ids = {"sessionID": "ses_demo"}
    user = UserMessage(id="msg_1", model=ModelRef(providerID="anthropic", modelID="claude-sonnet-4-5"), **ids)
    path = AssistantPath(cwd="/home/me/project", root="/home/me/project")
    common = {"parentID": "msg_1", "modelID": "claude-sonnet-4-5", "providerID": "anthropic", "path": path}
    step = AssistantMessage(id="msg_2", tokens=Tokens(input=5200, output=310), cost=0.0203, **common, **ids)
    edit = ToolPart(
        id="prt_3",
        messageID="msg_2",
        callID="call_1",
        tool="edit",
        state=ToolStateCompleted(
            input={"filePath": "app.py"},
            output="Edit applied.",
            title="app.py",
            metadata={"diff": DIFF},
            time=ToolTimeRange(start=T0, end=T0 + 120),
        ),
        **ids,
    )
    tests = ToolPart(
        id="prt_4",
        messageID="msg_2",
        callID="call_2",
        tool="bash",
        state=ToolStateCompleted(
            input={"command": "pytest -q", "description": "Run the tests"},
            output="3 passed in 0.12s",
            title="Run the tests",
            time=ToolTimeRange(start=T0 + 200, end=T0 + 1500),
        ),
        **ids,
    )
    reasoning = ReasoningPart(id="prt_2", messageID="msg_2", text="The greeting should use an f-string.", **ids)
    reasoning.time.end = T0
    return [
        MessageWithParts(
            info=user, parts=[TextPart(id="prt_1", messageID="msg_1", text="make greet friendlier", **ids)]
        ),
        MessageWithParts(
            info=step,
            parts=[reasoning, edit, tests, TextPart(id="prt_5", messageID="msg_2", text=ANSWER, **ids)],
        ),
    ]


def push_ask() -> PermissionAsked:
    """A bash permission ask for `git push origin main`."""
    return PermissionAsked(
        id="per_1",
        sessionID="ses_demo",
        permission="bash",
        patterns=["git push origin main"],
        metadata={"command": "git push origin main", "description": "Push the fix"},
        always=["git push *"],
        tool=ToolRef(messageID="msg_2", callID="call_3"),
    )


def database_question() -> QuestionAsked:
    """The `question` tool asking which database, with two options."""
    options = [QuestionOption(label="Postgres", description="server"), QuestionOption(label="SQLite")]
    question = QuestionInfo(question="Which database?", header="Storage", options=options)
    return QuestionAsked(id="que_1", sessionID="ses_demo", questions=[question])


class StaticClient:
    """A `Client` over fixed data; records what the app sends back."""

    directory = "/home/me/project"

    def __init__(self) -> None:
        self.handlers: list[Callable[[BusEvent], None]] = []
        self.replies: list[tuple[str, str]] = []
        self.answers: list[tuple[str, list[list[str]] | None]] = []

    def subscribe(self, handler: Callable[[BusEvent], None]) -> Callable[[], None]:
        self.handlers.append(handler)
        return lambda: self.handlers.remove(handler)

    def publish(self, event: BusEvent) -> None:
        for handler in self.handlers:
            handler(event)

    def create_session(self) -> Session:
        return self.get_session("ses_demo")

    def list_sessions(self, limit: int = 50) -> list[Session]:
        return [self.get_session("ses_demo")]

    def get_session(self, session_id: str) -> Session:
        return Session(id=session_id, projectID="p", directory=self.directory, title="Friendlier greeting")

    def messages(self, session_id: str) -> list[MessageWithParts]:
        return _messages()

    def model_ref(self, session_id: str | None = None) -> str:
        return "anthropic/claude-sonnet-4-5"

    def agent_name(self, session_id: str | None = None) -> str:
        return "build"

    def usage(self, session_id: str) -> Usage:
        return Usage(tokens=5510, cost=0.0203)

    def busy(self, session_id: str) -> bool:
        return False

    async def prompt(self, session_id: str, text: str) -> None:
        return None

    def abort(self, session_id: str) -> bool:
        return False

    def reply_permission(self, request_id: str, reply: PermissionReply, message: str | None = None) -> bool:
        self.replies.append((request_id, reply))
        return True

    def reply_question(self, request_id: str, answers: list[list[str]]) -> bool:
        self.answers.append((request_id, answers))
        return True

    def reject_question(self, request_id: str) -> bool:
        self.answers.append((request_id, None))
        return True

    async def undo(self, session_id: str) -> Session:
        return self.get_session(session_id)

    async def redo(self, session_id: str) -> Session:
        return self.get_session(session_id)

    async def close(self) -> None:
        return None

    def get_config(self) -> Config:
        return Config()

    def model_info(self, session_id: str | None = None) -> ModelInfo | None:
        return None

    def todos(self, session_id: str) -> list[Todo]:
        return [Todo(id="1", content="make greet friendlier", status="completed")]

    def modified_files(self, session_id: str) -> list[str]:
        return ["app.py"]

    async def file_diff(self, session_id: str, file: str) -> str:
        return DIFF

    def services(self) -> list[ServiceStatus]:
        return []

    def warm_up(self) -> None:
        return None


def screen_text(app: Any) -> str:
    """What the terminal shows, as plain text (the same render as `export_screenshot`)."""
    width, height = app.size
    console = Console(width=width, height=height, file=io.StringIO(), record=True, legacy_windows=False)
    console.print(app.screen._compositor.render_update(full=True, screen_stack=app._background_screens))
    return console.export_text()


async def test_main_screen_at_80x24() -> None:
    app = OpencodeApp(StaticClient(), session_id="ses_demo")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause(0.2)
        shown = screen_text(app)
    for text in ("✓ bash  Run the tests  1.3s", "def greet(name):", "• the tests pass", "anthropic/claude-sonnet-4-5"):
        assert text in shown, shown
    assert "5,510 tokens  $0.0203" in shown


async def test_main_screen_wide_shows_the_whole_turn() -> None:
    app = OpencodeApp(StaticClient(), session_id="ses_demo")
    async with app.run_test(size=(120, 44)) as pilot:
        await pilot.pause(0.2)
        shown = screen_text(app)
    assert "make greet friendlier" in shown
    assert "▶ Thinking" in shown  # reasoning collapsed once done
    assert "✓ edit  app.py  0.1s" in shown
    assert "-    return 'hi ' + name" in shown and "+    return f'Hello, {name}!'" in shown  # the diff, open
    assert "3 passed" not in shown  # bash output stays folded until expanded


async def test_permission_dialog_shows_the_command_and_sends_the_reply() -> None:
    client = StaticClient()
    app = OpencodeApp(client, session_id="ses_demo")
    async with app.run_test(size=(100, 30)) as pilot:
        client.publish(push_ask())
        await wait_until(pilot, lambda: isinstance(app.screen, PermissionDialog))
        await pilot.pause(0.1)
        shown = screen_text(app)
        assert "$ git push origin main" in shown and "Push the fix" in shown
        assert "always allows: git push *" in shown
        await pilot.pause(PermissionDialog.ARM_SECONDS)
        await pilot.press("o")
        await wait_until(pilot, lambda: not isinstance(app.screen, PermissionDialog))
    assert client.replies == [("per_1", "once")]


async def test_question_dialog_lists_the_options() -> None:
    client = StaticClient()
    app = OpencodeApp(client, session_id="ses_demo")
    async with app.run_test(size=(100, 30)) as pilot:
        client.publish(database_question())
        await wait_until(pilot, lambda: isinstance(app.screen, QuestionDialog))
        await pilot.pause(0.1)
        shown = screen_text(app)
        assert "Storage: Which database?" in shown and "Postgres  server" in shown and "SQLite" in shown
        field = app.screen.query_one("#q0-text")
        field.focus()
        await pilot.press(*"MySQL")
        await pilot.press("enter")
        await wait_until(pilot, lambda: not isinstance(app.screen, QuestionDialog))
    assert client.answers == [("que_1", [["MySQL"]])]
