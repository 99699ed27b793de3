"""Session titles: through the scripted model server, cleaned, and the fallback when anything fails."""

from __future__ import annotations

import pytest

from opencode.agent import prompts
from opencode.agent.title import MAX_INPUT_CHARS, clean_title, fallback_title, generate_title
from opencode.config.schema import Config
from opencode.provider.registry import Registry, ResolvedModel
from opencode.testing.model_server import ErrorReply, Reply, ScriptedModelServer, Text


def small_model(server: ScriptedModelServer, *, reasoning: bool = False) -> ResolvedModel:
    config = Config.model_validate(
        {
            "provider": {
                "scripted": {
                    "npm": "@ai-sdk/anthropic",
                    "options": {"baseURL": server.base_url("anthropic"), "apiKey": server.api_key, "maxRetries": 0},
                    "models": {"tiny": {"limit": {"context": 8000, "output": 1000}, "reasoning": reasoning}},
                }
            }
        }
    )
    return Registry.load(config, environ={}, credentials={}).resolve("scripted/tiny")


async def test_title_from_the_model(model_server: ScriptedModelServer) -> None:
    model_server.push(Reply([Text("Fix flaky login test")]))
    title = await generate_title(small_model(model_server), "the login test fails every other run, fix it please")
    assert title == "Fix flaky login test"

    [request] = model_server.requests
    body = request.json
    assert request.path == "/v1/messages"
    assert body["model"] == "tiny"
    assert [block["text"] for block in body["system"]] == [prompts.load("title")]
    assert body["max_tokens"] == 64
    assert "tools" not in body
    [message] = body["messages"]
    assert message["role"] == "user"
    text = message["content"] if isinstance(message["content"], str) else message["content"][0]["text"]
    assert text.endswith("\n\nthe login test fails every other run, fix it please")


async def test_long_messages_are_cut_before_sending(model_server: ScriptedModelServer) -> None:
    model_server.push(Reply([Text("Huge paste")]))
    assert await generate_title(small_model(model_server), "a" * 10_000) == "Huge paste"
    content = model_server.requests[0].json["messages"][0]["content"]
    text = content if isinstance(content, str) else content[0]["text"]
    assert text.count("a") <= MAX_INPUT_CHARS + 10
    assert text.endswith("a\n[...]")


async def test_reasoning_models_get_room_to_think(model_server: ScriptedModelServer) -> None:
    model_server.push(Reply([Text("Title")]))
    await generate_title(small_model(model_server, reasoning=True), "hello")
    assert model_server.requests[0].json["max_tokens"] == 1024


async def test_answer_is_cleaned(model_server: ScriptedModelServer) -> None:
    model_server.push(
        Reply([Text('<think>they want a title</think>\n\n**Title:** "Refactor user service."\nMore text')])
    )
    assert await generate_title(small_model(model_server), "refactor the user service") == "Refactor user service"


async def test_server_error_falls_back_to_the_first_line(model_server: ScriptedModelServer) -> None:
    model_server.push(ErrorReply(500, "boom", kind="server"))
    text = "\n\n  Please investigate why the nightly build of the Android app keeps failing  \nmore details"
    title = await generate_title(small_model(model_server), text)
    assert title == "Please investigate why the nightly build of the A…"
    assert len(title) == 50
    assert len(model_server.requests) == 1


async def test_empty_answer_falls_back(model_server: ScriptedModelServer) -> None:
    model_server.push(Reply([Text('  \n""\n')]))
    assert await generate_title(small_model(model_server), "rename the config loader") == "rename the config loader"


async def test_timeout_falls_back(model_server: ScriptedModelServer) -> None:
    model_server.push(Reply([Text("Too late")], delay=2.0))
    title = await generate_title(small_model(model_server), "speed up start-up", timeout=0.2)
    assert title == "speed up start-up"


async def test_empty_message_needs_no_request(model_server: ScriptedModelServer) -> None:
    assert await generate_title(small_model(model_server), "   \n") == "New session"
    assert model_server.requests == []


@pytest.mark.parametrize(
    ("raw", "title"),
    [
        ("Debugging production 500 errors", "Debugging production 500 errors"),
        ("# Rate limiting implementation", "Rate limiting implementation"),
        ("Title: Postgres API connection", "Postgres API connection"),
        ("`app.js` failure investigation", "app.js failure investigation"),
        ("“Greeting”", "Greeting"),
        ("- Leap-year bug in utils/date.ts", "Leap-year bug in utils/date.ts"),
        ("Title:\n\nSetting up CI", "Setting up CI"),
        ("Wait for it...", "Wait for it..."),
        ("<think>\nhmm\n</think>", ""),
        ("word " * 40, ("word " * 40)[:79].rstrip() + "…"),
    ],
)
def test_clean_title(raw: str, title: str) -> None:
    assert clean_title(raw) == title
    assert len(clean_title(raw)) <= 80


def test_fallback_title() -> None:
    assert fallback_title("short one") == "short one"
    assert fallback_title("\n\n   spaced    out   words \n") == "spaced out words"
    assert fallback_title("x" * 60) == "x" * 49 + "…"
    assert fallback_title("") == "New session"
