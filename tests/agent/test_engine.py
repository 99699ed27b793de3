"""The agent loop end to end, against the scripted model server and a real SQLite store."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from opencode.agent.engine import Engine
from opencode.bus import BusEvent, SessionStatus
from opencode.config.schema import Config
from opencode.provider.registry import Registry
from opencode.session.model import AssistantMessage, ToolPart, UserMessage
from opencode.session.sqlite import SQLiteStore
from opencode.testing.model_server import ErrorReply, Reply, ScriptedModelServer, Text, ToolCall

# One vendor per wire protocol, with a model id the server accepts.
PROVIDERS = {
    "openai-chat": ("mine", "@ai-sdk/openai-compatible"),
    "openai-responses": ("openai", None),
    "anthropic": ("anthropic", None),
    "gemini": ("google", None),
    "bedrock": ("amazon-bedrock", None),
    "cohere": ("cohere", None),
    "azure": ("azure", None),
}


def make_engine(
    project: Path, server: ScriptedModelServer, protocol: str = "openai-chat", extra: dict[str, Any] | None = None
) -> tuple[Engine, str]:
    provider, npm = PROVIDERS[protocol]
    options: dict[str, Any] = {"baseURL": server.base_url(protocol), "maxRetries": 2}
    if protocol == "bedrock":
        options.update(accessKeyId=server.aws_access_key_id, secretAccessKey=server.api_key, region=server.aws_region)
    else:
        options["apiKey"] = server.api_key
    model_entry = {"tool_call": True, "cost": {"input": 3.0, "output": 15.0}}
    entry: dict[str, Any] = {"options": options, "models": {"test-model": model_entry}}
    if npm:
        entry["npm"] = npm
    config = Config.model_validate({"provider": {provider: entry}, **(extra or {})})
    registry = Registry.load(config, environ={}, credentials={})
    store = SQLiteStore(project.parent / "store.db")
    return Engine(cwd=project, config=config, registry=registry, store=store), f"{provider}/test-model"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    (root / ".git").mkdir(parents=True)
    return root


def tool_parts(engine: Engine, session_id: str) -> list[ToolPart]:
    return [p for m in engine.store.list_messages(session_id) for p in m.parts if isinstance(p, ToolPart)]


@pytest.mark.parametrize("protocol", sorted(PROVIDERS))
async def test_write_read_answer_through_each_protocol(
    protocol: str, project: Path, model_server: ScriptedModelServer
) -> None:
    engine, model = make_engine(project, model_server, protocol)
    model_server.push(
        Reply([ToolCall("write", {"filePath": "notes/hello.txt", "content": "hello from the model\n"}, id="call_w")]),
        Reply([ToolCall("read", {"filePath": "notes/hello.txt"}, id="call_r")]),
        Reply([Text("The file says: hello from the model")]),
    )
    session = engine.create_session()
    result = await engine.prompt(session.id, "write a file and read it back", model=model)
    assert (project / "notes" / "hello.txt").read_bytes() == b"hello from the model\n"
    assert result.text == "The file says: hello from the model"
    assert result.steps == 3
    export = engine.store.export_session(session.id)
    kinds = [[p.type for p in m.parts] for m in export.messages]
    assert kinds == [
        ["text"],
        ["step-start", "tool", "patch", "step-finish"],
        ["step-start", "tool", "step-finish"],
        ["step-start", "text", "step-finish"],
    ]
    patch = export.messages[1].parts[2]
    assert patch.type == "patch" and patch.files == ["notes/hello.txt"]
    write, read = tool_parts(engine, session.id)
    assert write.tool == "write" and write.state.status == "completed"
    assert read.tool == "read" and read.state.status == "completed"
    assert "hello from the model" in read.state.output  # type: ignore[union-attr]
    # The read result went back to the model in the last request.
    assert "hello from the model" in json.dumps(model_server.requests[-1].json)
    assert isinstance(export.messages[0].info, UserMessage)
    last = export.messages[-1].info
    assert isinstance(last, AssistantMessage) and last.finish == "stop" and last.time.completed


async def test_two_tool_calls_run_concurrently_and_return_together(
    project: Path, model_server: ScriptedModelServer
) -> None:
    engine, model = make_engine(project, model_server)
    sleep = "sleep 0.6; echo done-{}"
    model_server.push(
        Reply(
            [
                ToolCall("bash", {"command": sleep.format(1), "description": "one"}, id="call_a"),
                ToolCall("bash", {"command": sleep.format(2), "description": "two"}, id="call_b"),
            ]
        ),
        Reply([Text("both finished")]),
    )
    session = engine.create_session()
    await engine.prompt(session.id, "run two things", model=model)
    first, second = tool_parts(engine, session.id)
    a, b = first.state, second.state
    assert a.status == "completed" and b.status == "completed"
    # Overlapping time ranges: the second started before the first ended.
    assert b.time.start < a.time.end and a.time.start < b.time.end  # type: ignore[union-attr]
    messages = model_server.requests[-1].json["messages"]
    tool_messages = [m for m in messages if m["role"] == "tool"]
    assert [m["tool_call_id"] for m in tool_messages] == ["call_a", "call_b"]
    assert "done-1" in tool_messages[0]["content"] and "done-2" in tool_messages[1]["content"]


async def test_rate_limit_is_retried_and_shown_as_status(project: Path, model_server: ScriptedModelServer) -> None:
    engine, model = make_engine(project, model_server)
    seen: list[BusEvent] = []
    engine.bus.on(seen.append)
    model_server.push(
        ErrorReply(429, "slow down", kind="rate_limit", headers={"retry-after": "0"}), Reply([Text("ok")])
    )
    session = engine.create_session()
    result = await engine.prompt(session.id, "hi", model=model)
    assert result.text == "ok" and result.message.error is None
    retries = [e for e in seen if isinstance(e, SessionStatus) and e.status.type == "retry"]
    assert len(retries) == 1 and "rate limited" in (retries[0].status.message or "")


async def test_step_limit_stops_a_model_that_never_stops(project: Path, model_server: ScriptedModelServer) -> None:
    engine, model = make_engine(project, model_server, extra={"agent": {"build": {"steps": 3}}})
    (project / "a.txt").write_text("a\n")
    model_server.push(
        Reply([ToolCall("read", {"filePath": "a.txt", "offset": 1})]),
        Reply([ToolCall("read", {"filePath": "a.txt", "offset": 2})]),
        Reply([Text("Stopping here: I read a.txt.")]),
    )
    session = engine.create_session()
    result = await engine.prompt(session.id, "loop forever", model=model)
    assert result.steps == 3
    last_request = model_server.requests[-1].json
    assert "tools" not in last_request
    assert "maximum number of steps" in json.dumps(last_request["messages"][-1])
    assert model_server.pending == 0


@pytest.mark.parametrize(
    ("call", "expected"),
    [
        (ToolCall("nosuchtool", {"x": 1}), "unknown tool 'nosuchtool'"),
        (ToolCall("write", '{"filePath": "x.txt", "content": '), "not valid JSON"),
        (ToolCall("read", {"limit": "many"}), "invalid arguments for tool 'read'"),
    ],
    ids=["unknown-tool", "invalid-json", "schema"],
)
async def test_malformed_tool_calls_become_tool_errors(
    call: ToolCall, expected: str, project: Path, model_server: ScriptedModelServer
) -> None:
    engine, model = make_engine(project, model_server)
    model_server.push(Reply([call]), Reply([Text("sorry")]))
    session = engine.create_session()
    result = await engine.prompt(session.id, "go", model=model)
    assert result.text == "sorry"
    (part,) = tool_parts(engine, session.id)
    assert part.state.status == "error"
    assert expected in part.state.error  # type: ignore[union-attr]
    tool_message = next(m for m in model_server.requests[-1].json["messages"] if m["role"] == "tool")
    assert expected in tool_message["content"]


async def test_doom_loop_is_stopped_after_successes_too(project: Path, model_server: ScriptedModelServer) -> None:
    engine, model = make_engine(project, model_server)
    (project / "a.txt").write_text("a\n")
    same = {"filePath": "a.txt"}
    model_server.push(
        Reply([ToolCall("read", same)]),
        Reply([ToolCall("read", same)]),
        Reply([ToolCall("read", same)]),
        Reply([Text("I will stop repeating myself.")]),
    )
    session = engine.create_session()
    await engine.prompt(session.id, "read it", model=model)
    states = [p.state.status for p in tool_parts(engine, session.id)]
    assert states == ["completed", "completed", "error"]
    assert "3 times in a row" in tool_parts(engine, session.id)[-1].state.error  # type: ignore[union-attr]


async def test_abort_stops_bash_and_leaves_the_session_consistent(
    project: Path, model_server: ScriptedModelServer
) -> None:
    engine, model = make_engine(project, model_server)
    model_server.push(Reply([ToolCall("bash", {"command": "sleep 30", "description": "wait"})]))
    session = engine.create_session()
    abort = asyncio.Event()
    task = asyncio.create_task(engine.prompt(session.id, "wait", model=model, abort=abort))
    while not any(p.state.status == "running" for p in tool_parts(engine, session.id)):
        await asyncio.sleep(0.05)
    started = asyncio.get_running_loop().time()
    abort.set()
    result = await asyncio.wait_for(task, 5)
    assert asyncio.get_running_loop().time() - started < 2
    (part,) = tool_parts(engine, session.id)
    assert part.state.status == "error" and "abort" in part.state.error  # type: ignore[union-attr]
    assert result.message.time.completed is not None


async def test_cancellation_marks_the_message_aborted(project: Path, model_server: ScriptedModelServer) -> None:
    engine, model = make_engine(project, model_server)
    model_server.push(Reply([Text("a long answer " * 50)], stall_after=3, stall_seconds=30))
    session = engine.create_session()
    task = asyncio.create_task(engine.prompt(session.id, "talk", model=model))
    await asyncio.sleep(0.5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    messages = engine.store.list_messages(session.id)
    info = messages[-1].info
    assert isinstance(info, AssistantMessage)
    assert info.error is not None and info.error.name == "MessageAbortedError"
    # The session stays usable.
    model_server.reset()
    model_server.push(Reply([Text("back again")]))
    result = await engine.prompt(session.id, "again", model=model)
    assert result.text == "back again"


async def test_history_is_read_back_from_the_store(project: Path, model_server: ScriptedModelServer) -> None:
    engine, model = make_engine(project, model_server)
    model_server.push(Reply([Text("first answer")]))
    session = engine.create_session()
    await engine.prompt(session.id, "first question", model=model)
    # A new engine on the same store continues the conversation.
    engine2, _ = make_engine(project, model_server)
    model_server.push(Reply([Text("second answer")]))
    await engine2.prompt(session.id, "second question", model=model)
    sent = model_server.requests[-1].json["messages"]
    assert [m["role"] for m in sent] == ["system", "user", "assistant", "user"]
    assert sent[2]["content"] == "first answer"


async def test_title_from_the_first_line_when_no_small_model(project: Path, model_server: ScriptedModelServer) -> None:
    engine, model = make_engine(project, model_server)
    model_server.push(Reply([Text("ok")]))
    session = engine.create_session()
    await engine.prompt(session.id, "Fix the flaky login test\nmore detail", model=model)
    assert engine.store.get_session(session.id).title == "Fix the flaky login test"
    assert len(model_server.requests) == 1


async def test_compaction_with_a_tiny_context_window(project: Path, model_server: ScriptedModelServer) -> None:
    engine, model = make_engine(project, model_server)
    resolved = engine.registry.resolve(model)
    resolved.info.context = 4000
    resolved.info.output = 1000
    (project / "big.txt").write_text("x" * 9000 + "\n")
    from opencode.testing.model_server import ScriptUsage

    model_server.push(
        Reply([ToolCall("read", {"filePath": "big.txt"})], usage=ScriptUsage(input=3500, output=100)),
        Reply([Text("SUMMARY: read big.txt, nothing else to do")]),
        Reply([Text("done after compaction")]),
    )
    session = engine.create_session()
    result = await engine.prompt(session.id, "read big.txt please", model=model)
    assert result.text == "done after compaction"
    summary_request = model_server.requests[1].json
    assert "read big.txt please" in json.dumps(summary_request)
    final = model_server.requests[2].json["messages"]
    assert "SUMMARY: read big.txt" in json.dumps(final)
    assert "x" * 9000 not in json.dumps(final)


async def test_compaction_auto_false_is_honoured(project: Path, model_server: ScriptedModelServer) -> None:
    from opencode.testing.model_server import ScriptUsage

    engine, model = make_engine(project, model_server, extra={"compaction": {"auto": False}})
    resolved = engine.registry.resolve(model)
    resolved.info.context, resolved.info.output = 4000, 1000
    (project / "a.txt").write_text("a\n")
    model_server.push(
        Reply([ToolCall("read", {"filePath": "a.txt"})], usage=ScriptUsage(input=3900, output=50)),
        Reply([Text("no compaction happened")]),
    )
    session = engine.create_session()
    result = await engine.prompt(session.id, "go", model=model)
    assert result.text == "no compaction happened"
    assert len(model_server.requests) == 2
    assert not any(getattr(m.info, "summary", None) for m in engine.store.list_messages(session.id))


async def test_doom_loop_allowed_by_permission(project: Path, model_server: ScriptedModelServer) -> None:
    engine, model = make_engine(project, model_server, extra={"permission": {"doom_loop": "allow"}})
    (project / "a.txt").write_text("a\n")
    same = {"filePath": "a.txt"}
    model_server.push(*(Reply([ToolCall("read", same)]) for _ in range(3)), Reply([Text("ok")]))
    session = engine.create_session()
    await engine.prompt(session.id, "read it", model=model)
    assert [p.state.status for p in tool_parts(engine, session.id)] == ["completed"] * 3


async def test_edits_publish_file_edited_and_instructions_are_listed(
    project: Path, model_server: ScriptedModelServer
) -> None:
    from opencode.bus import FileEdited

    (project / "AGENTS.md").write_text("Use tabs.\n")
    (project / "pkg").mkdir()
    (project / "pkg" / "AGENTS.md").write_text("Package rules.\n")
    (project / "pkg" / "mod.py").write_text("x = 1\n")
    engine, model = make_engine(project, model_server)
    edited: list[str] = []
    engine.bus.on(lambda e: edited.append(e.file) if isinstance(e, FileEdited) else None)
    model_server.push(
        Reply([ToolCall("read", {"filePath": "pkg/mod.py"})]),
        Reply([ToolCall("edit", {"filePath": "pkg/mod.py", "oldString": "x = 1", "newString": "x = 2"})]),
        Reply([Text("edited")]),
    )
    session = engine.create_session()
    await engine.prompt(session.id, "bump x", model=model)
    assert (project / "pkg" / "mod.py").read_text() == "x = 2\n"
    assert edited == [str(project / "pkg" / "mod.py")]
    # The nested AGENTS.md reached the model with the read result, and the listing names both files.
    assert "Package rules." in json.dumps(model_server.requests[1].json)
    assert "Use tabs." in json.dumps(model_server.requests[0].json)
    listing = engine.instruction_files(session.id)
    assert any(line.startswith("project") and line.endswith(str(project / "AGENTS.md")) for line in listing)
    assert any(line.startswith("nested") and line.endswith(str(project / "pkg" / "AGENTS.md")) for line in listing)


async def test_a_second_turn_of_a_running_session_is_refused(project: Path, model_server: ScriptedModelServer) -> None:
    from opencode.agent.engine import SessionBusy

    engine, model = make_engine(project, model_server)
    model_server.push(Reply([Text("slow answer")], stall_after=1, stall_seconds=1.0), Reply([Text("next answer")]))
    session = engine.create_session()
    first = asyncio.create_task(engine.prompt(session.id, "take your time", model=model))
    while not engine.is_busy(session.id):
        await asyncio.sleep(0.01)
    with pytest.raises(SessionBusy, match="running a turn already"):
        await engine.prompt(session.id, "me too", model=model)
    assert (await first).text == "slow answer"
    assert not engine.is_busy(session.id)
    users = [m for m in engine.store.list_messages(session.id) if isinstance(m.info, UserMessage)]
    assert len(users) == 1  # the refused turn stored nothing
    assert (await engine.prompt(session.id, "now you", model=model)).text == "next answer"
