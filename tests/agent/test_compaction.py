"""Compaction: the threshold, pruning old tool output, and a summary request that always fits."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from opencode.agent import prompts
from opencode.agent.compaction import (
    OUTPUT_LEFT_OUT,
    EmptySummaryError,
    estimate_tokens,
    output_reserve,
    prune_tool_outputs,
    should_compact,
    summarize,
    summary_request,
)
from opencode.config.schema import Config
from opencode.provider.errors import ServerError
from opencode.provider.registry import Registry, ResolvedModel
from opencode.provider.types import ModelRequest, TextPart
from opencode.provider.types import UserMessage as WireUser
from opencode.session.model import (
    AssistantMessage,
    AssistantPath,
    CacheTokens,
    FilePart,
    MessageWithParts,
    Part,
    Tokens,
    ToolPart,
    ToolStateCompleted,
    ToolStateError,
    ToolTimeRange,
    UserMessage,
)
from opencode.session.model import TextPart as SessionText
from opencode.testing.model_server import ErrorReply, Reply, ScriptedModelServer, Text

_ids = itertools.count(1)


def _id(prefix: str) -> str:
    return f"{prefix}_{next(_ids):06d}"


def user(text: str, *, synthetic: bool = False) -> MessageWithParts:
    info = UserMessage(id=_id("msg"), sessionID="ses_1")
    return MessageWithParts(
        info=info,
        parts=[SessionText(id=_id("prt"), sessionID="ses_1", messageID=info.id, text=text, synthetic=synthetic)],
    )


def assistant(*items: str | tuple[str, str], summary: bool = False) -> MessageWithParts:
    """An assistant message: a str is text, a (tool, output) pair a completed tool call."""
    info = AssistantMessage(
        id=_id("msg"),
        sessionID="ses_1",
        parentID="msg_0",
        modelID="m",
        providerID="p",
        path=AssistantPath(cwd="/repo", root="/repo"),
        summary=summary or None,
    )
    parts: list[Part] = []
    for item in items:
        if isinstance(item, str):
            parts.append(SessionText(id=_id("prt"), sessionID="ses_1", messageID=info.id, text=item))
        else:
            tool, output = item
            parts.append(
                ToolPart(
                    id=_id("prt"),
                    sessionID="ses_1",
                    messageID=info.id,
                    callID=_id("call"),
                    tool=tool,
                    state=ToolStateCompleted(
                        input={"filePath": "/repo/x.py"}, output=output, title="", time=ToolTimeRange(start=1, end=2)
                    ),
                )
            )
    return MessageWithParts(info=info, parts=parts)


def tool_parts(messages: list[MessageWithParts]) -> list[ToolPart]:
    return [p for m in messages for p in m.parts if isinstance(p, ToolPart)]


def compacted(part: ToolPart) -> bool:
    assert isinstance(part.state, ToolStateCompleted)
    return part.state.time.compacted is not None


def request_text(request: ModelRequest) -> str:
    [message] = request.messages
    assert isinstance(message, WireUser)
    [part] = message.parts
    assert isinstance(part, TextPart)
    return part.text


# --- should_compact ---------------------------------------------------------------------------


def test_threshold_is_context_minus_output_reserve() -> None:
    # 200k window, 64k output limit: the reserve is capped at 32k, so compaction starts above 168k.
    assert not should_compact(Tokens(input=160_000, output=8_000), 200_000, 64_000)
    assert should_compact(Tokens(input=160_000, output=8_001), 200_000, 64_000)
    # Cached input and reasoning count too.
    assert should_compact(
        Tokens(input=1_000, output=1_000, reasoning=1_000, cache=CacheTokens(read=150_000, write=20_000)),
        200_000,
        64_000,
    )
    # A small output limit reserves only that much.
    assert not should_compact(Tokens(input=120_000), 128_000, 8_000)
    assert should_compact(Tokens(input=120_001), 128_000, 8_000)


def test_no_compaction_when_off_or_window_unknown() -> None:
    huge = Tokens(input=10_000_000)
    assert not should_compact(huge, 200_000, 32_000, auto=False)
    assert not should_compact(huge, 0, 32_000)


def test_reserve_never_takes_more_than_half_the_window() -> None:
    assert output_reserve(8_192, 8_192) == 4_096
    assert output_reserve(200_000, 0) == 32_000
    assert not should_compact(Tokens(input=4_000), 8_192, 8_192)
    assert should_compact(Tokens(input=4_097), 8_192, 8_192)


# --- prune --------------------------------------------------------------------------------------


def long_history(outputs: int, chars: int) -> list[MessageWithParts]:
    messages = [user("start")]
    for index in range(outputs):
        messages.append(assistant(f"step {index}", ("read", "x" * chars)))
    messages += [user("second"), assistant(("bash", "y" * chars)), user("third"), assistant(("grep", "z" * chars))]
    return messages


def test_prune_marks_only_old_outputs() -> None:
    # 10 old outputs of 10k tokens each; the newest 40k are protected, the last two turns are never touched.
    messages = long_history(outputs=10, chars=40_000)
    changed = prune_tool_outputs(messages)
    parts = tool_parts(messages)
    old, recent = parts[:10], parts[10:]
    assert [compacted(p) for p in old] == [True] * 6 + [False] * 4
    assert not any(compacted(p) for p in recent)
    assert changed == old[:6]  # oldest first, the very objects in the messages


def test_prune_respects_minimum() -> None:
    # 45k tokens of old output: only 5k would be freed, under the 20k minimum.
    messages = long_history(outputs=9, chars=20_000)
    assert prune_tool_outputs(messages) == []
    assert not any(compacted(p) for p in tool_parts(messages))
    assert len(prune_tool_outputs(messages, minimum=5_000)) == 1


def test_prune_skips_compacted_and_protected_parts_and_stops_at_a_summary() -> None:
    messages = long_history(outputs=4, chars=40_000)
    messages.insert(1, assistant(("skill", "s" * 400_000)))
    messages.insert(1, assistant("## Goal ...", summary=True))
    messages.insert(1, assistant(("read", "before the summary " * 100_000)))
    first = prune_tool_outputs(messages, protect_tokens=10_000, minimum=0)
    assert [p.tool for p in first] == ["read", "read", "read"]
    assert prune_tool_outputs(messages, protect_tokens=10_000, minimum=0) == []
    skill = next(p for p in tool_parts(messages) if p.tool == "skill")
    before = tool_parts(messages)[0]
    assert not compacted(skill) and not compacted(before)


def test_prune_with_a_short_history_does_nothing() -> None:
    messages = [user("hi"), assistant(("read", "x" * 1_000_000))]
    assert prune_tool_outputs(messages, protect_tokens=0, minimum=0) == []


# --- summary_request ----------------------------------------------------------------------------


def test_small_history_is_rendered_whole() -> None:
    messages = [
        user("Add a --verbose flag to the CLI."),
        assistant("Looking at the parser.", ("read", "def main(): ...")),
        assistant("Added the flag in cli.py."),
        user("Also document it in README.md, keep it short."),
    ]
    request = summary_request(messages, model_id="m1", context=100_000, output=4_000)
    assert request.model == "m1"
    assert request.system == [prompts.load("compaction")]
    assert request.tools == []
    assert request.max_tokens == 4_000
    text = request_text(request)
    assert text.index("[User]\nAdd a --verbose flag to the CLI.") < text.index("[Assistant]\nLooking at the parser.")
    assert '[Tool call] read {"filePath": "/repo/x.py"}\ndef main(): ...' in text
    assert text.index("Added the flag in cli.py.") < text.index("[User]\nAlso document it in README.md, keep it short.")
    assert "left out" not in text


def test_huge_history_fits_a_tiny_window_and_keeps_the_latest_user_message() -> None:
    latest = "Now make the retry limit configurable (default 3) and keep the old behaviour when unset."
    messages: list[MessageWithParts] = []
    for index in range(300):
        messages.append(user(f"request number {index}: " + "please " * 50))
        messages.append(assistant(f"answer {index} " + "words " * 200, ("bash", "log line\n" * 2_000)))
    messages.append(user(latest))
    messages.append(assistant("Working on it.", ("read", "q" * 100_000)))

    request = summary_request(messages, model_id="m", context=2_000, output=500)
    text = request_text(request)
    system = "".join(request.system)
    assert request.max_tokens == 500
    assert estimate_tokens(system) + estimate_tokens(text) + request.max_tokens <= 2_000
    assert f"[User]\n{latest}" in text
    assert "earlier entries were left out" in text


def test_a_huge_latest_message_keeps_its_start_and_end() -> None:
    latest = "Here is the log of the failing run:\n" + "noise\n" * 20_000 + "What is the root cause?"
    request = summary_request([user("an older request"), user(latest)], model_id="m", context=2_000, output=500)
    text = request_text(request)
    assert estimate_tokens(prompts.load("compaction")) + estimate_tokens(text) + 500 <= 2_000
    assert "[User]\nHere is the log of the failing run:" in text
    assert "What is the root cause?\n</conversation>" in text
    assert "characters cut ...]" in text
    assert "an older request" not in text


def test_cut_order_tool_output_first_then_assistant_then_old_users() -> None:
    messages = [
        user("first instruction: never touch the migrations folder"),
        assistant("I will read the models. " * 20, ("read", "r" * 1_900)),
        user("second instruction: use pytest"),
        assistant("Running tests now. " * 20, ("bash", "b" * 1_900)),
        user("latest: fix the failing test"),
    ]
    full = len(request_text(summary_request(messages, model_id="m", context=0, output=0)))

    def text_for(chars: int) -> str:
        # Pick a context whose transcript budget is about `chars` characters.
        overhead = estimate_tokens(prompts.load("compaction")) + 100
        context = int(chars / 4 / 0.9) + overhead + 1_000
        return request_text(summary_request(messages, model_id="m", context=context, output=1_000))

    outputs_gone = text_for(full - 2_500)
    assert OUTPUT_LEFT_OUT in outputs_gone
    assert "[To fit the context window, the output of 2 tool calls was removed.]" in outputs_gone
    assert "I will read the models." in outputs_gone
    assert "first instruction" in outputs_gone

    assistants_gone = text_for(full - 4_800)
    assert "r" * 100 not in assistants_gone and "b" * 100 not in assistants_gone
    assert "first instruction: never touch the migrations folder" in assistants_gone
    assert "second instruction: use pytest" in assistants_gone
    assert "latest: fix the failing test" in assistants_gone


def test_only_the_conversation_since_the_last_summary_is_sent() -> None:
    messages = [
        user("ancient request"),
        assistant("ancient answer"),
        user("compact please"),
        assistant("## Goal\nShip the parser.", summary=True),
        user("Continue.", synthetic=True),
        assistant("Continuing with the parser."),
        user("add tests"),
    ]
    text = request_text(summary_request(messages, model_id="m", context=50_000, output=2_000))
    assert "ancient" not in text
    assert "[Notes on the conversation before this point]\n## Goal\nShip the parser." in text
    assert "[User]\nadd tests" in text


def test_attachments_and_synthetic_text_are_marked_apart_from_the_users_words() -> None:
    message = user("Why does this screenshot show an error?")
    info = message.info
    message.parts.append(
        FilePart(id=_id("prt"), sessionID="ses_1", messageID=info.id, mime="image/png", url="data:,", filename="a.png")
    )
    message.parts.append(
        SessionText(id=_id("prt"), sessionID="ses_1", messageID=info.id, text="<file>\n" + "c" * 5_000, synthetic=True)
    )
    text = request_text(summary_request([message], model_id="m", context=50_000, output=1_000))
    assert "[User]\nWhy does this screenshot show an error?\n[attached file: a.png (image/png)]" in text
    assert "[Context attached to the message]\n<file>\n" + "c" * 1_000 in text
    assert "c" * 2_500 not in text  # attached text is capped like tool output


def test_unknown_window_means_no_cut() -> None:
    messages = [user("u " * 100_000), assistant("a " * 100_000)]
    text = request_text(summary_request(messages, model_id="m", context=0, output=0))
    assert "u " * 100_000 in text and "a " * 100_000 in text


def test_errors_and_interrupted_calls_are_rendered() -> None:
    message = assistant("trying")
    message.parts.append(
        ToolPart(
            id=_id("prt"),
            sessionID="ses_1",
            messageID=message.info.id,
            callID="c",
            tool="bash",
            state=ToolStateError(input={"command": "make"}, error="exit 2", time=ToolTimeRange(start=1, end=2)),
        )
    )
    message.parts.append(ToolPart(id=_id("prt"), sessionID="ses_1", messageID=message.info.id, callID="d", tool="read"))
    text = request_text(summary_request([user("go"), message], model_id="m", context=50_000, output=1_000))
    assert '[Tool call] bash {"command": "make"}\nerror: exit 2' in text
    assert "[Tool call] read {}\n(no result: the call was interrupted)" in text


# --- summarize ----------------------------------------------------------------------------------


def scripted_model(server: ScriptedModelServer, **limit: Any) -> ResolvedModel:
    config = Config.model_validate(
        {
            "provider": {
                "scripted": {
                    "npm": "@ai-sdk/openai-compatible",
                    "options": {"baseURL": server.base_url("openai-chat"), "apiKey": server.api_key, "maxRetries": 0},
                    "models": {"small": {"limit": limit or {"context": 16_000, "output": 2_000}}},
                }
            }
        }
    )
    return Registry.load(config, environ={}, credentials={}).resolve("scripted/small")


async def test_summarize_through_the_scripted_server(model_server: ScriptedModelServer) -> None:
    model_server.push(Reply([Text("<think>ok</think>## Goal\nAdd the flag.\n")]))
    messages = [user("Add a --verbose flag."), assistant("Done.", ("edit", "ok"))]
    notes = await summarize(scripted_model(model_server), messages)
    assert notes == "## Goal\nAdd the flag."

    [request] = model_server.requests
    body = request.json
    assert body["model"] == "small"
    assert body.get("tools") in (None, [])
    wire = body["messages"]
    assert wire[0] == {"role": "system", "content": prompts.load("compaction")}
    assert "[User]\nAdd a --verbose flag." in wire[-1]["content"]
    assert body.get("max_tokens", body.get("max_completion_tokens")) == 2_000


async def test_summarize_raises_provider_errors(model_server: ScriptedModelServer) -> None:
    model_server.push(ErrorReply(500, "down", kind="server"))
    with pytest.raises(ServerError):
        await summarize(scripted_model(model_server), [user("hi")])


async def test_an_empty_summary_is_an_error(model_server: ScriptedModelServer) -> None:
    model_server.push(Reply([Text("   ")]))
    with pytest.raises(EmptySummaryError, match="empty"):
        await summarize(scripted_model(model_server), [user("hi")])
