"""/sessions, /models, /agents and Tab, through Pilot against the scripted model server and a real store."""

from __future__ import annotations

from pathlib import Path

import pytest

from opencode.agent.engine import Engine
from opencode.config.schema import Config
from opencode.provider.registry import Registry
from opencode.session.model import UserMessage
from opencode.session.sqlite import SQLiteStore
from opencode.session.store import NotFound
from opencode.testing.model_server import Reply, ScriptedModelServer, Text
from opencode.tui.app import OpencodeApp
from opencode.tui.client import ClientError, EngineClient
from opencode.tui.pickers import AgentPicker, ConfirmDialog, ModelPicker, SessionPicker, ago, tokens_short
from opencode.tui.widgets import PromptInput, StatusLine, TextPartView
from tests.tui.conftest import type_text, wait_until


def two_model_client(project: Path, server: ScriptedModelServer) -> EngineClient:
    """Provider `mine` with two models, so a pick can be told apart in the requests."""
    options = {"baseURL": server.base_url("openai-chat"), "apiKey": server.api_key, "maxRetries": 0}
    models = {
        "test-model": {"name": "Test Model", "tool_call": True, "cost": {"input": 3.0, "output": 15.0}},
        "other-model": {
            "name": "Other Model",
            "tool_call": True,
            "cost": {"input": 1.0, "output": 2.0},
            "limit": {"context": 128000, "output": 8000},
        },
    }
    entry = {"npm": "@ai-sdk/openai-compatible", "options": options, "models": models}
    config = Config.model_validate({"provider": {"mine": entry}, "model": "mine/test-model"})
    registry = Registry.load(config, environ={}, credentials={})
    store = SQLiteStore(project.parent / "store.db")
    engine = Engine(cwd=project, config=config, registry=registry, store=store, interactive=True)
    return EngineClient(engine)


async def session_with_answer(client: EngineClient, server: ScriptedModelServer, question: str, answer: str) -> str:
    session = client.create_session()
    server.push(Reply([Text(answer)]))
    await client.prompt(session.id, question)
    return session.id


def shown_text(app: OpencodeApp) -> list[str]:
    return [view.source for view in app.query(TextPartView)]


def option_ids(picker: SessionPicker | ModelPicker | AgentPicker) -> list[str]:
    options = picker.options
    return [str(options.get_option_at_index(i).id) for i in range(options.option_count)]


def status(app: OpencodeApp) -> str:
    return str(app.query_one(StatusLine).render())


def user_agents(client: EngineClient, session_id: str) -> list[str]:
    return [m.info.agent for m in client.engine.store.list_messages(session_id) if isinstance(m.info, UserMessage)]


async def open_command(pilot: object, app: OpencodeApp, command: str, kind: type) -> object:
    await type_text(pilot, command)
    await pilot.press("enter")  # type: ignore[attr-defined]
    await wait_until(pilot, lambda: isinstance(app.screen, kind))
    await pilot.pause()  # type: ignore[attr-defined]
    return app.screen


# --- /sessions ---------------------------------------------------------------------------------


async def test_search_filters_and_enter_switches_to_the_other_session(
    project: Path, model_server: ScriptedModelServer
) -> None:
    client = two_model_client(project, model_server)
    alpha = await session_with_answer(client, model_server, "alpha question", "the alpha answer")
    beta = await session_with_answer(client, model_server, "beta question", "the beta answer")
    app = OpencodeApp(client, session_id=beta)
    async with app.run_test(size=(100, 40)) as pilot:
        await wait_until(pilot, lambda: shown_text(app) == ["the beta answer"])
        picker = await open_command(pilot, app, "/sessions", SessionPicker)
        assert isinstance(picker, SessionPicker)
        assert option_ids(picker) == [beta, alpha]  # newest first
        assert picker.options.highlighted == 0  # the current one
        rows = [str(picker.options.get_option_at_index(i).prompt) for i in range(2)]
        assert "beta question" in rows[0] and "just now" in rows[0] and rows[0].startswith("●")
        await type_text(pilot, "alph")
        await pilot.pause()
        assert option_ids(picker) == [alpha]
        await type_text(pilot, "zz")
        await pilot.pause()
        assert option_ids(picker) == ["None"]  # the "no session matches" line, which cannot be picked
        await pilot.press("backspace", "backspace", "enter")
        await wait_until(pilot, lambda: app.session_id == alpha and shown_text(app) == ["the alpha answer"])
        assert not isinstance(app.screen, SessionPicker)
        assert isinstance(app.focused, PromptInput)


async def test_rename_is_stored_and_shown(project: Path, model_server: ScriptedModelServer) -> None:
    client = two_model_client(project, model_server)
    first = await session_with_answer(client, model_server, "first question", "first answer")
    app = OpencodeApp(client, session_id=first)
    updates: list[str] = []
    client.subscribe(lambda event: updates.append(event.type))
    async with app.run_test(size=(100, 40)) as pilot:
        picker = await open_command(pilot, app, "/sessions", SessionPicker)
        assert isinstance(picker, SessionPicker)
        await pilot.press("tab")  # from the search box to the list, where r renames
        await pilot.press("r")
        field = picker.query_one("#session-rename")
        assert app.focused is field and getattr(field, "value", "") == "first question"
        field.clear()  # type: ignore[attr-defined]
        await type_text(pilot, "Fix the login bug")
        await pilot.press("enter")
        await pilot.pause()
        assert client.get_session(first).title == "Fix the login bug"
        assert "Fix the login bug" in str(picker.options.get_option_at_index(0).prompt)
        assert "session.updated" in updates
        # Ctrl+R renames from the search box too; Esc gives up the rename without closing the picker.
        picker.query_one("#picker-search").focus()
        await pilot.press("ctrl+r")
        await type_text(pilot, " later")
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, SessionPicker)
        assert client.get_session(first).title == "Fix the login bug"
        await pilot.press("escape")
        await wait_until(pilot, lambda: not isinstance(app.screen, SessionPicker))
        assert app.session_id == first


async def test_delete_after_confirm_removes_the_row_and_the_session(
    project: Path, model_server: ScriptedModelServer
) -> None:
    client = two_model_client(project, model_server)
    older = await session_with_answer(client, model_server, "older question", "older answer")
    current = await session_with_answer(client, model_server, "current question", "current answer")
    app = OpencodeApp(client, session_id=current)
    async with app.run_test(size=(100, 40)) as pilot:
        picker = await open_command(pilot, app, "/sessions", SessionPicker)
        assert isinstance(picker, SessionPicker)
        await pilot.press("down")  # the older session
        await pilot.press("ctrl+d")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        await pilot.press("n")  # kept
        await pilot.pause()
        assert option_ids(picker) == [current, older]
        await pilot.press("ctrl+d")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        await pilot.press("y")
        await wait_until(pilot, lambda: option_ids(picker) == [current])
        with pytest.raises(NotFound):
            client.engine.store.get_session(older)
        assert client.engine.store.list_messages(older) == []
        # Deleting the session on screen: the app moves to a new, empty one when the picker closes.
        await pilot.press("ctrl+d")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        await pilot.press("y")
        await wait_until(pilot, lambda: option_ids(picker) == ["None"])
        await pilot.press("escape")
        await wait_until(pilot, lambda: app.session_id not in (current, older, ""))
        await pilot.pause()
        assert shown_text(app) == []
        assert [s.id for s in client.list_sessions()] == [app.session_id]


# --- /models -----------------------------------------------------------------------------------


async def test_picked_model_is_the_one_the_next_request_names(project: Path, model_server: ScriptedModelServer) -> None:
    client = two_model_client(project, model_server)
    session = await session_with_answer(client, model_server, "warm up", "ok")
    app = OpencodeApp(client, session_id=session)
    async with app.run_test(size=(120, 40)) as pilot:
        picker = await open_command(pilot, app, "/models", ModelPicker)
        assert isinstance(picker, ModelPicker)
        # The model used in the stored session comes first, then the provider's group with the rest.
        assert option_ids(picker) == ["group:recent", "mine/test-model", "group:mine", "mine/other-model"]
        assert picker.highlighted_id() == "mine/test-model"
        other = str(picker.options.get_option_at_index(3).prompt)
        assert "Other Model" in other and "128K" in other and "$1/$2" in other
        await type_text(pilot, "othr")
        await pilot.pause()
        assert option_ids(picker) == ["group:mine", "mine/other-model"]
        await pilot.press("enter")
        await wait_until(pilot, lambda: "mine/other-model" in status(app))
        model_server.push(Reply([Text("the other one")]))
        await type_text(pilot, "which model")
        await pilot.press("enter")
        await wait_until(pilot, lambda: "the other one" in shown_text(app) and not client.busy(session))
    assert model_server.requests[-1].json["model"] == "other-model"
    assert model_server.requests[0].json["model"] == "test-model"


# --- /agents and Tab ---------------------------------------------------------------------------


async def test_agent_picker_sets_the_agent_of_the_next_prompt(project: Path, model_server: ScriptedModelServer) -> None:
    client = two_model_client(project, model_server)
    app = OpencodeApp(client)
    async with app.run_test(size=(100, 40)) as pilot:
        picker = await open_command(pilot, app, "/agents", AgentPicker)
        assert isinstance(picker, AgentPicker)
        ids = option_ids(picker)
        assert ids[:2] == ["build", "plan"] and "explore" not in ids and "general" not in ids  # primary only
        assert picker.highlighted_id() == "build"
        await type_text(pilot, "review")
        await pilot.press("enter")
        await wait_until(pilot, lambda: status(app).startswith("review"))
        model_server.push(Reply([Text("reviewed")]))
        await type_text(pilot, "look at it")
        await pilot.press("enter")
        await wait_until(pilot, lambda: "reviewed" in shown_text(app) and not client.busy(app.session_id))
        assert user_agents(client, app.session_id) == ["review"]
        assert status(app).startswith("review")  # the history says so now


async def test_tab_cycles_the_primary_agents_for_the_next_prompt(
    project: Path, model_server: ScriptedModelServer
) -> None:
    client = two_model_client(project, model_server)
    app = OpencodeApp(client)
    async with app.run_test(size=(100, 40)) as pilot:
        prompt = app.query_one(PromptInput)
        assert status(app).startswith("build")
        await pilot.press("tab")
        await pilot.pause()
        assert status(app).startswith("plan")
        assert app.focused is prompt and prompt.text == ""  # no tab typed, focus kept
        await pilot.press("shift+tab", "shift+tab")
        await pilot.pause()
        last = client.agents()[-1].name
        assert status(app).startswith(last)  # backwards past the first wraps to the last
        await pilot.press("tab", "tab")
        await pilot.pause()
        assert status(app).startswith("plan")
        model_server.push(Reply([Text("a plan")]))
        await type_text(pilot, "plan it")
        await pilot.press("enter")
        await wait_until(pilot, lambda: "a plan" in shown_text(app) and not client.busy(app.session_id))
        assert user_agents(client, app.session_id) == ["plan"]
        assert status(app).startswith("plan")
        await pilot.press("shift+tab")
        await pilot.pause()
        model_server.push(Reply([Text("built")]))
        await type_text(pilot, "now build it")
        await pilot.press("enter")
        await wait_until(pilot, lambda: "built" in shown_text(app) and not client.busy(app.session_id))
        assert user_agents(client, app.session_id) == ["plan", "build"]


async def test_tab_with_the_completion_dropdown_open_completes_instead(
    project: Path, model_server: ScriptedModelServer
) -> None:
    client = two_model_client(project, model_server)
    app = OpencodeApp(client)
    async with app.run_test(size=(100, 40)) as pilot:
        prompt = app.query_one(PromptInput)
        await type_text(pilot, "/mod")
        await pilot.pause()
        if not getattr(prompt, "menu_open", False):
            pytest.skip("this prompt box has no completion dropdown")
        await pilot.press("tab")
        await pilot.pause()
        assert prompt.text == "/models "
        assert status(app).startswith("build")


# --- the client's side -------------------------------------------------------------------------


async def test_client_refuses_what_cannot_be_done(project: Path, model_server: ScriptedModelServer) -> None:
    client = two_model_client(project, model_server)
    session = client.create_session()
    with pytest.raises(ClientError, match="unknown provider"):
        client.set_model("nope/some-model")
    with pytest.raises(ClientError, match="subagent"):
        client.set_agent(session.id, "explore")
    with pytest.raises(ClientError, match="empty"):
        client.rename_session(session.id, "   ")
    with pytest.raises(ClientError, match="no session"):
        client.delete_session("ses_missing")
    assert client.model_ref(session.id) == "mine/test-model" and client.agent_name(session.id) == "build"
    refs = {choice.ref for choice in client.models()}
    assert refs == {"mine/test-model", "mine/other-model"}
    assert client.recent_models() == []
    assert client.rename_session(session.id, "  two   words ").title == "two words"


async def test_a_picked_agent_survives_a_prompt_that_could_not_start(
    project: Path, model_server: ScriptedModelServer
) -> None:
    client = two_model_client(project, model_server)
    session = client.create_session()
    client.set_agent(session.id, "plan")
    client.model = "gone/model"  # the prompt fails before a message is stored
    with pytest.raises(Exception, match="gone"):
        await client.prompt(session.id, "hello")
    assert client.agent_name(session.id) == "plan"


def test_formatting() -> None:
    assert ago(1_000_000, now=1_000.0 + 30) == "just now"
    assert ago(1_000_000, now=1_000.0 + 300) == "5 min ago"
    assert ago(1_000_000, now=1_000.0 + 7200) == "2 h ago"
    assert ago(1_000_000, now=1_000.0 + 2 * 86400) == "2 d ago"
    assert tokens_short(200_000) == "200K" and tokens_short(1_000_000) == "1M" and tokens_short(0) == "?"
