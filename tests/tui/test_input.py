"""The prompt box (multi-line, history), slash commands, retry status and the status line."""

from __future__ import annotations

from collections.abc import Callable

from opencode.testing.model_server import ErrorReply, Reply, ScriptedModelServer, Text
from opencode.tui.app import OpencodeApp
from opencode.tui.widgets import Notice, PromptInput, StatusLine, TextPartView, UserMessageView
from tests.tui.conftest import engine_of, type_text, wait_until


async def test_ctrl_j_adds_a_line_and_enter_sends_both(
    make_app: Callable[..., OpencodeApp], model_server: ScriptedModelServer
) -> None:
    model_server.push(Reply([Text("got two lines")]))
    app = make_app()
    async with app.run_test() as pilot:
        await type_text(pilot, "first")
        await pilot.press("ctrl+j")
        await type_text(pilot, "second")
        assert app.query_one(PromptInput).text == "first\nsecond"
        await pilot.press("enter")
        await wait_until(pilot, lambda: not app.client.busy(app.session_id) and app.query(TextPartView))
        assert app.query_one(PromptInput).text == ""
    assert model_server.requests[0].json["messages"][-1]["content"] == "first\nsecond"


async def test_up_and_down_walk_the_sent_messages(
    make_app: Callable[..., OpencodeApp], model_server: ScriptedModelServer
) -> None:
    model_server.push(Reply([Text("one")]), Reply([Text("two")]))
    app = make_app()
    async with app.run_test() as pilot:
        box = app.query_one(PromptInput)
        for message in ("alpha", "beta"):
            await type_text(pilot, message)
            await pilot.press("enter")
            await wait_until(pilot, lambda: not app.client.busy(app.session_id))
        await type_text(pilot, "draft")
        await pilot.press("up")
        assert box.text == "beta"
        await pilot.press("up")
        assert box.text == "alpha"
        await pilot.press("up")
        assert box.text == "alpha"
        await pilot.press("down")
        assert box.text == "beta"
        await pilot.press("down")
        assert box.text == "draft"


async def test_slash_new_help_and_exit(make_app: Callable[..., OpencodeApp], model_server: ScriptedModelServer) -> None:
    model_server.push(Reply([Text("first session answer")]))
    app = make_app()
    async with app.run_test() as pilot:
        await type_text(pilot, "hi")
        await pilot.press("enter")
        await wait_until(pilot, lambda: not app.client.busy(app.session_id) and app.query(TextPartView))
        first = app.session_id
        await type_text(pilot, "/new")
        await pilot.press("enter")
        await pilot.pause(0.1)
        assert app.session_id != first
        assert not app.query(UserMessageView) and not app.query(TextPartView)
        assert engine_of(app).store.get_session(app.session_id).id == app.session_id
        await type_text(pilot, "/help")
        await pilot.press("enter")
        await pilot.pause(0.1)
        help_text = str(app.query(Notice).last().render())
        assert "/undo" in help_text and "Esc" in help_text
        await type_text(pilot, "/nope")
        await pilot.press("enter")
        await pilot.pause(0.1)
        assert "unknown command /nope" in str(app.query(Notice).last().render())
        await type_text(pilot, "/exit")
        await pilot.press("enter")
        await pilot.pause(0.1)
    assert app.return_code == 0
    assert not model_server.requests[1:]  # slash commands never reached the model


async def test_undo_with_nothing_to_undo_says_so(make_app: Callable[..., OpencodeApp]) -> None:
    app = make_app()
    async with app.run_test() as pilot:
        await type_text(pilot, "/undo")
        await pilot.press("enter")
        await wait_until(pilot, lambda: app.query(Notice))
        assert "nothing to undo" in str(app.query(Notice).last().render())


async def test_retry_status_is_shown_in_place_then_cleared(
    make_app: Callable[..., OpencodeApp], model_server: ScriptedModelServer
) -> None:
    model_server.push(
        ErrorReply(429, "slow down", kind="rate_limit", headers={"retry-after": "1"}), Reply([Text("after retry")])
    )
    app = make_app()
    async with app.run_test() as pilot:
        await type_text(pilot, "hi")
        await pilot.press("enter")
        await wait_until(pilot, lambda: app.query("#retry"))
        retry = str(app.query_one("#retry", Notice).render())
        assert "rate limited" in retry and "retrying in" in retry and "attempt" in retry
        await wait_until(pilot, lambda: not app.client.busy(app.session_id) and app.query(TextPartView))
        await pilot.pause(0.1)
        assert not app.query("#retry")
        assert app.query_one(TextPartView).source == "after retry"


async def test_status_line_shows_tokens_and_cost(
    make_app: Callable[..., OpencodeApp], model_server: ScriptedModelServer
) -> None:
    model_server.push(Reply([Text("priced")]))
    app = make_app()
    async with app.run_test(size=(120, 30)) as pilot:
        await type_text(pilot, "hi")
        await pilot.press("enter")
        await wait_until(pilot, lambda: not app.client.busy(app.session_id) and app.query(TextPartView))
        await pilot.pause(0.1)
        status = str(app.query_one(StatusLine).render())
        cost = engine_of(app).session_cost(app.session_id)
        assert cost > 0 and f"${cost:.4f}" in status
        assert "15 tokens" in status  # 10 in + 5 out, the scripted usage


async def test_a_provider_error_is_shown_on_the_message(
    make_app: Callable[..., OpencodeApp], model_server: ScriptedModelServer
) -> None:
    model_server.push(ErrorReply(401, "bad key given", kind="auth"))
    app = make_app()
    async with app.run_test() as pilot:
        await type_text(pilot, "hi")
        await pilot.press("enter")
        await wait_until(pilot, lambda: not app.client.busy(app.session_id) and app.query(".message-error"))
        shown = str(app.query_one(".message-error").render())
        assert shown.startswith("error:") and "bad key given" in shown
    info = engine_of(app).store.list_messages(app.session_id)[-1].info
    assert info.role == "assistant" and info.error is not None and info.error.message in shown
