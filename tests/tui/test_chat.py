"""Typing, streaming, tool blocks, interrupting: the chat view against the scripted model server."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from opencode.bus import PartUpdated
from opencode.session.model import AssistantMessage, TextPart, UserMessage
from opencode.testing.model_server import Reasoning, Reply, ScriptedModelServer, Text, ToolCall
from opencode.tui.app import OpencodeApp
from opencode.tui.widgets import (
    AssistantMessageView,
    PromptInput,
    ReasoningView,
    StatusLine,
    TextPartView,
    ToolBlock,
    UserMessageView,
)
from tests.tui.conftest import engine_of, tool_parts, type_text, wait_until


async def test_typed_message_streams_the_answer_into_the_chat(
    make_app: Callable[..., OpencodeApp], model_server: ScriptedModelServer
) -> None:
    answer = "Here is **the answer**, streamed in small pieces.\n\n- one\n- two"
    model_server.push(Reply([Reasoning("thinking it over"), Text(answer)], chunk_size=4))
    app = make_app()
    async with app.run_test(size=(100, 40)) as pilot:
        await type_text(pilot, "hello there")
        await pilot.press("enter")
        await wait_until(pilot, lambda: not app.client.busy(app.session_id) and app.query(TextPartView))
        await pilot.pause(0.1)
        (user,) = app.query(UserMessageView)
        assert user.text == "hello there"
        (text,) = app.query(TextPartView)
        assert text.source == answer
        # Rendered as markdown: a bold span and a list, not the raw asterisks.
        assert text.query("MarkdownBulletList")
        (reasoning,) = app.query(ReasoningView)
        assert reasoning.shown == "thinking it over" and reasoning.collapsed
        status = str(app.query_one(StatusLine).render())
        assert "mine/test-model" in status and "build" in status and "tokens" in status
    # What the view shows is what the store holds.
    messages = engine_of(app).store.list_messages(app.session_id)
    assert isinstance(messages[0].info, UserMessage)
    assert isinstance(messages[-1].info, AssistantMessage) and messages[-1].info.finish == "stop"
    assert model_server.requests[0].json["messages"][-1]["content"] == "hello there"


async def test_a_burst_of_deltas_is_one_update_of_one_widget(
    make_app: Callable[..., OpencodeApp], model_server: ScriptedModelServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    model_server.push(Reply([Text("earlier answer")]))
    app = make_app()
    shown: list[str] = []
    original = TextPartView.show

    async def counting(self: TextPartView, text: str) -> None:
        shown.append(self.id or "")
        await original(self, text)

    monkeypatch.setattr(TextPartView, "show", counting)
    async with app.run_test() as pilot:
        await type_text(pilot, "first")
        await pilot.press("enter")
        await wait_until(pilot, lambda: not app.client.busy(app.session_id) and app.query(TextPartView))
        await pilot.pause(0.1)
        engine = engine_of(app)
        user = next(m.info for m in engine.store.list_messages(app.session_id) if isinstance(m.info, UserMessage))
        resolved = engine.resolve_model(None, "build")
        message = engine.new_assistant_message(engine.store.get_session(app.session_id), user, resolved, "build")
        part = TextPart(id="prt_burst", sessionID=app.session_id, messageID=message.id, text="")
        shown.clear()
        # 1,000 deltas in one go, as a fast stream delivers them between two frames.
        for index in range(1000):
            part.text += f"w{index} "
            engine.bus.publish(PartUpdated(part=part, delta=f"w{index} "))
        await pilot.pause(0.2)
        views = list(app.query(TextPartView))
        assert views[-1].id == "p-prt_burst" and views[-1].source == part.text
        assert len(shown) <= 1  # mounted with the whole text; no per-delta work, no other widget touched
        for index in range(1000, 1010):
            part.text += f"w{index} "
            engine.bus.publish(PartUpdated(part=part, delta=f"w{index} "))
        await pilot.pause(0.2)
        assert views[-1].source == part.text
        assert shown.count("p-prt_burst") <= 2 and set(shown) == {"p-prt_burst"}


async def test_tool_call_block_shows_status_and_expands_to_output(
    make_app: Callable[..., OpencodeApp], model_server: ScriptedModelServer, project: Path
) -> None:
    model_server.push(
        Reply([ToolCall("bash", {"command": "echo tool-output-here [x]", "description": "Say [bold]hello"})]),
        Reply([Text("done")]),
    )
    app = make_app()
    async with app.run_test(size=(100, 40)) as pilot:
        await type_text(pilot, "run [red]it")
        await pilot.press("enter")
        await wait_until(pilot, lambda: not app.client.busy(app.session_id) and len(app.query(TextPartView)) == 1)
        await pilot.pause(0.1)
        (block,) = app.query(ToolBlock)
        # Brackets in commands and messages are shown as typed, never read as markup.
        assert "✓ bash  Say [bold]hello" in str(block._title.render()) and block.title.endswith("s")
        assert str(app.query_one(UserMessageView).render()) == "run [red]it"
        assert block.collapsed and block.has_class("-completed")
        block.collapsed = False
        await pilot.pause()
        assert "tool-output-here [x]" in str(block.body.render())
    (part,) = tool_parts(app)
    assert part.state.status == "completed" and "tool-output-here" in part.state.output


async def test_write_shows_its_diff_and_undo_restores_the_file(
    make_app: Callable[..., OpencodeApp], model_server: ScriptedModelServer, project: Path
) -> None:
    target = project / "notes.txt"
    target.write_text("old line\n")
    model_server.push(
        Reply([ToolCall("read", {"filePath": "notes.txt"})]),
        Reply([ToolCall("write", {"filePath": "notes.txt", "content": "new line\n"})]),
        Reply([Text("rewrote it")]),
    )
    app = make_app()
    async with app.run_test(size=(100, 40)) as pilot:
        await type_text(pilot, "rewrite notes")
        await pilot.press("enter")
        await wait_until(pilot, lambda: not app.client.busy(app.session_id) and app.query(TextPartView))
        await pilot.pause(0.1)
        assert target.read_text() == "new line\n"
        write = next(b for b in app.query(ToolBlock) if b.part.tool == "write")
        rendered = write.render_body(write.part)
        assert "-old line" in rendered.code and "+new line" in rendered.code
        await type_text(pilot, "/undo")
        await pilot.press("enter")
        await wait_until(pilot, lambda: target.read_text() == "old line\n")
        await pilot.pause(0.2)
        # The undone message left the view and went back into the prompt box to edit and resend.
        assert not app.query(UserMessageView) and not app.query(AssistantMessageView)
        assert app.query_one("#prompt", PromptInput).text == "rewrite notes"
        assert engine_of(app).store.get_session(app.session_id).revert is not None
        app.query_one("#prompt", PromptInput).clear()
        await type_text(pilot, "/redo")
        await pilot.press("enter")
        await wait_until(pilot, lambda: target.read_text() == "new line\n")
        await pilot.pause(0.2)
        assert len(app.query(UserMessageView)) == 1
        assert engine_of(app).store.get_session(app.session_id).revert is None


async def test_escape_interrupts_a_stalled_stream(
    make_app: Callable[..., OpencodeApp], model_server: ScriptedModelServer
) -> None:
    model_server.push(Reply([Text("a long answer " * 40)], stall_after=3, stall_seconds=30))
    app = make_app()
    async with app.run_test() as pilot:
        await type_text(pilot, "talk")
        await pilot.press("enter")
        await wait_until(pilot, lambda: app.query(TextPartView))
        await pilot.pause(0.3)
        # Streamed: part of the answer shows while the model is still on it.
        partial = app.query_one(TextPartView).source
        assert partial and ("a long answer " * 40).startswith(partial) and len(partial) < len("a long answer " * 40)
        assert app.client.busy(app.session_id)
        await pilot.press("escape")
        await wait_until(pilot, lambda: not app.client.busy(app.session_id), timeout=3)
        await wait_until(pilot, lambda: app.query(".message-error"))
        assert "interrupted" in str(app.query_one(".message-error").render())
        # The session stays usable.
        model_server.reset()
        model_server.push(Reply([Text("back again")]))
        await type_text(pilot, "again")
        await pilot.press("enter")
        await wait_until(pilot, lambda: any(v.source == "back again" for v in app.query(TextPartView)))
    info = engine_of(app).store.list_messages(app.session_id)[1].info
    assert isinstance(info, AssistantMessage) and info.error is not None and info.error.name == "MessageAbortedError"
