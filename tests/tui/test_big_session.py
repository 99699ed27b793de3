"""A 2,000-message session: opened with a window of widgets, older ones mounted on scrolling up, typing instant."""

from __future__ import annotations

import statistics
import time
from pathlib import Path

from opencode.testing.model_server import Reply, ScriptedModelServer, Text
from opencode.testing.paint import PaintProbe
from opencode.testing.sessions import stored_session
from opencode.tui.app import OpencodeApp
from opencode.tui.history import BATCH, WINDOW
from opencode.tui.widgets import PromptInput, TextPartView, UserMessageView
from tests.tui.conftest import engine_of, make_client, type_text, wait_until

MESSAGES = "UserMessageView, AssistantMessageView"


def shown_texts(app: OpencodeApp) -> list[str]:
    texts = []
    for view in app.query(MESSAGES):
        if isinstance(view, UserMessageView):
            texts.append(view.text)
        else:
            texts.extend(v.source for v in view.query(TextPartView))
    return texts


async def test_a_long_session_opens_with_a_window_and_mounts_older_messages_when_scrolled_up(
    project: Path, model_server: ScriptedModelServer
) -> None:
    client = make_client(project, model_server)
    session_id = stored_session(client.engine, 2000)
    app = OpencodeApp(client, session_id=session_id)
    async with app.run_test(size=(100, 40)) as pilot:
        await pilot.pause(0.2)
        # Only the newest WINDOW messages became widgets; the newest is at the bottom, in view.
        assert len(app.query(MESSAGES)) == WINDOW
        texts = shown_texts(app)
        assert texts[0].startswith(f"message {2000 - WINDOW}:") and texts[-1].startswith("message 1999:")
        chat = app.chat
        assert chat.scroll_y == chat.max_scroll_y > 0
        # Scrolling to the top mounts the next batch above, and keeps the view where it was.
        first = app.query(MESSAGES).first()
        chat.scroll_home(animate=False, immediate=True)
        await wait_until(pilot, lambda: len(app.query(MESSAGES)) == WINDOW + BATCH)
        assert shown_texts(app)[0].startswith(f"message {2000 - WINDOW - BATCH}:")
        await wait_until(pilot, lambda: chat.scroll_y > 0)
        assert abs(chat.scroll_y - first.virtual_region.y) <= 3
        chat.scroll_home(animate=False, immediate=True)
        await wait_until(pilot, lambda: len(app.query(MESSAGES)) == WINDOW + 2 * BATCH)
        assert len(app.history.older) == 2000 - WINDOW - 2 * BATCH


async def test_typing_echoes_fast_in_a_2000_message_session(project: Path, model_server: ScriptedModelServer) -> None:
    client = make_client(project, model_server)
    session_id = stored_session(client.engine, 2000)
    app = OpencodeApp(client, session_id=session_id)
    async with app.run_test(size=(100, 40)) as pilot:
        probe = PaintProbe(app)
        await pilot.pause(0.2)
        mounted = len(app.query("*"))
        prompt = app.query_one(PromptInput)
        typed = ""
        echoes: list[float] = []
        for char in "zqxjzqxjzqxjzqxjzqxj":
            typed += char
            start = time.perf_counter()
            await pilot.press(char)
            shown, since = typed[-8:], start
            await wait_until(pilot, lambda: probe.first_after(since, shown) is not None, timeout=5)  # noqa: B023
            painted = probe.first_after(start, typed[-8:])
            assert painted is not None
            echoes.append(painted - start)
        assert prompt.text == typed
        # Typing mounts nothing and touches no message widget.
        assert len(app.query("*")) == mounted
        # The bound is generous for a loaded 2-core machine; bench/tui.py prints the precise figure.
        assert statistics.median(echoes) < 0.1, echoes


async def test_a_turn_in_a_long_session_streams_in_at_the_bottom(
    project: Path, model_server: ScriptedModelServer
) -> None:
    model_server.push(Reply([Text("the newest answer")]))
    client = make_client(project, model_server)
    session_id = stored_session(client.engine, 2000)
    app = OpencodeApp(client, session_id=session_id)
    async with app.run_test(size=(100, 40)) as pilot:
        await pilot.pause(0.2)
        await type_text(pilot, "one more")
        await pilot.press("enter")
        await wait_until(pilot, lambda: not app.client.busy(app.session_id) and "the newest answer" in shown_texts(app))
        assert shown_texts(app)[-2:] == ["one more", "the newest answer"]
        assert len(app.query(MESSAGES)) == WINDOW + 2
    assert len(engine_of(app).store.list_messages(session_id)) == 2002
    assert model_server.requests[0].json["messages"][-1]["content"] == "one more"
