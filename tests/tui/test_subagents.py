"""Sub-agent sessions: a task block opens its child session in the same app, live, and Esc comes back."""

from __future__ import annotations

from pathlib import Path

from opencode import id as ids
from opencode.bus import PartUpdated
from opencode.session.model import Part, TextPart, ToolPart, ToolStateCompleted, ToolTimeRange
from opencode.testing.model_server import Reply, ScriptedModelServer, Text, ToolCall
from opencode.testing.sessions import stored_session
from opencode.tui.app import OpencodeApp
from opencode.tui.history import TaskBlock, Trail
from opencode.tui.widgets import AssistantMessageView, PromptInput
from tests.tui.conftest import engine_of, make_client, type_text, wait_until
from tests.tui.test_big_session import shown_texts


def task_part(child_id: str) -> Part:
    state = ToolStateCompleted(
        input={"description": "look around", "prompt": "list the files", "subagent_type": "general"},
        output=f"found them\n\n<task_metadata>session_id: {child_id}</task_metadata>",
        title="look around",
        metadata={"sessionId": child_id, "agent": "general"},
        time=ToolTimeRange(start=1, end=2),
    )
    return ToolPart(id=ids.ascending("prt"), sessionID="", messageID="", callID="call_t", tool="task", state=state)


async def test_enter_on_a_task_block_shows_the_child_session_live_and_escape_returns(
    project: Path, model_server: ScriptedModelServer
) -> None:
    client = make_client(project, model_server)
    engine = client.engine
    child_id = stored_session(engine, 4, label="child")
    parent_id = stored_session(engine, 4, label="parent", extra=[task_part(child_id)])
    engine.store.put_session(engine.store.get_session(child_id).model_copy(update={"parentID": parent_id}))
    app = OpencodeApp(client, session_id=parent_id)
    async with app.run_test(size=(100, 40)) as pilot:
        await pilot.pause(0.2)
        assert shown_texts(app)[0].startswith("parent 0:")
        block = app.query_one(TaskBlock)
        assert "(enter: open)" in str(block._title.render())
        block._title.focus()
        await pilot.press("enter")
        await wait_until(
            pilot, lambda: app.session_id == child_id and shown_texts(app)[:1] == ["child 0: a question about the code"]
        )
        assert all(text.startswith("child ") for text in shown_texts(app))
        trail = str(app.query_one(Trail).render())
        assert "parent session" in trail and "child session" in trail and "esc" in trail
        # The child's live events stream into the view; the parent's stay out of it.
        last = engine.store.list_messages(child_id)[-1].info
        live = TextPart(id=ids.ascending("prt"), sessionID=child_id, messageID=last.id, text="")
        for word in ("streaming ", "into ", "the child"):
            live.text += word
            engine.bus.publish(PartUpdated(part=live, delta=word))
            await pilot.pause(0.05)
        parent_last = engine.store.list_messages(parent_id)[-1].info
        stray = TextPart(id=ids.ascending("prt"), sessionID=parent_id, messageID=parent_last.id, text="parent only")
        engine.bus.publish(PartUpdated(part=stray))
        await wait_until(pilot, lambda: "streaming into the child" in shown_texts(app))
        await pilot.pause(0.1)
        assert "parent only" not in shown_texts(app)
        # Esc goes back to the parent: its messages, no trail, the task block again.
        app.query_one(PromptInput).focus()
        await pilot.press("escape")
        await wait_until(
            pilot,
            lambda: app.session_id == parent_id and shown_texts(app)[:1] == ["parent 0: a question about the code"],
        )
        assert not app.query(Trail)
        assert app.query(TaskBlock)
        # A click on the title opens it too.
        await pilot.click(app.query_one(TaskBlock)._title)
        await wait_until(pilot, lambda: app.session_id == child_id)
        assert app.query(Trail)
        # /new from a child's view starts afresh: the trail goes, Esc has no parent to go back to.
        app.query_one(PromptInput).focus()
        await type_text(pilot, "/new")
        await pilot.press("enter")
        await wait_until(pilot, lambda: app.session_id not in (child_id, parent_id))
        await pilot.pause(0.1)
        assert not app.query(Trail) and not app.history.parents and not shown_texts(app)


async def test_a_running_task_opens_into_its_child_while_the_child_streams(
    project: Path, model_server: ScriptedModelServer
) -> None:
    task = {"description": "look around", "prompt": "describe the project", "subagent_type": "general"}
    model_server.push(
        Reply([ToolCall("task", task)]),
        Reply(
            [Text("the child is looking at the files and then it reports back")],
            chunk_size=6,
            stall_after=3,
            stall_seconds=2,
        ),
        Reply([Text("the parent is done")]),
    )
    app = OpencodeApp(make_client(project, model_server))
    async with app.run_test(size=(100, 40)) as pilot:
        await type_text(pilot, "delegate it")
        await pilot.press("enter")
        await wait_until(
            pilot, lambda: app.query(TaskBlock) and app.query_one(TaskBlock).part.state.status == "running"
        )
        parent_id = app.session_id
        app.query_one(TaskBlock)._title.focus()
        await pilot.press("enter")
        await wait_until(pilot, lambda: app.session_id != parent_id)
        child_id = app.session_id
        assert engine_of(app).store.get_session(child_id).parentID == parent_id
        # The child is mid-turn: a message typed in its view is refused, not run as a second turn.
        await type_text(pilot, "hello child")
        await pilot.press("enter")
        await pilot.pause()
        stored = [p for m in engine_of(app).store.list_messages(child_id) for p in m.parts]
        assert not any(getattr(p, "text", "") == "hello child" for p in stored)
        # The child's answer arrives live, in its own view, after the stall.
        await wait_until(
            pilot, lambda: "the child is looking at the files and then it reports back" in shown_texts(app)
        )
        assert "delegate it" not in shown_texts(app)
        app.query_one(PromptInput).focus()
        await pilot.press("escape")
        await wait_until(pilot, lambda: app.session_id == parent_id)
        await wait_until(pilot, lambda: not app.client.busy(parent_id) and "the parent is done" in shown_texts(app))
        assert shown_texts(app)[0] == "delegate it"
        assert len(app.query(AssistantMessageView)) == 2
    assert model_server.requests[1].json["messages"][-1]["content"] == "describe the project"
