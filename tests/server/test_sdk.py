"""opencode's official JS SDK (`@opencode-ai/sdk` from npm) drives our server: create a session,
subscribe to the event stream, send a prompt, read the streamed events and the final messages.

`scripts/test` installs the SDK into .cache/sdk (scripts/setup-sdk); this test runs node on
tests/server/sdk/drive.mjs against a live server and checks what the SDK saw against the store.
It is never skipped: without node or the SDK it fails, saying what to run.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from opencode.session.model import AssistantMessage, TextPart, UserMessage
from opencode.testing.model_server import Reply, Text
from tests.server.conftest import MODEL, Live

ROOT = Path(__file__).resolve().parents[2]
SDK = ROOT / ".cache" / "sdk"
DRIVE = Path(__file__).parent / "sdk" / "drive.mjs"


def node() -> str:
    found = shutil.which("node")
    if found is None:
        pytest.fail("node is not installed: the SDK test needs Node.js 20+ (scripts/setup-sdk installs it as root)")
    if not (SDK / "node_modules" / "@opencode-ai" / "sdk" / "package.json").is_file():
        pytest.fail("the opencode SDK is not installed in .cache/sdk: run scripts/setup-sdk (scripts/test does)")
    return found


def drive(live: Live, flavour: str, prompt: str, **extra: str) -> dict[str, Any]:
    command = [node(), str(DRIVE), "--sdk", str(SDK), "--url", live.url, "--flavour", flavour]
    command += ["--prompt", prompt, "--model", MODEL]
    for name, value in extra.items():
        command += [f"--{name}", value]
    done = subprocess.run(command, capture_output=True, text=True, timeout=90, cwd=ROOT)
    lines = done.stdout.strip().splitlines()
    assert lines, f"drive.mjs printed nothing (exit {done.returncode}): {done.stderr[-2000:]}"
    result: dict[str, Any] = json.loads(lines[-1])
    assert done.returncode == 0 and "failed" not in result, f"the SDK call failed: {result} {done.stderr[-2000:]}"
    return result


def text_of(parts: list[dict[str, Any]]) -> str:
    return "".join(p["text"] for p in parts if p["type"] == "text")


def session_of(event: dict[str, Any]) -> str | None:
    props = event["properties"]
    return props.get("sessionID") or props.get("part", {}).get("sessionID") or props.get("info", {}).get("sessionID")


@pytest.mark.parametrize("flavour", ["v2", "v1"])
def test_the_sdk_creates_a_session_prompts_and_reads_the_streamed_answer(live: Live, flavour: str) -> None:
    answer = "Hello from the scripted model, streamed in small pieces."
    live.models.push(Reply([Text(answer)], chunk_size=5))
    result = drive(live, flavour, "say hello", directory=str(live.project))

    assert result["sdk"].startswith("1.")
    assert result["health"]["healthy"] is True
    session = result["session"]
    assert session["id"].startswith("ses") and session["title"] == "driven by the SDK"
    assert session["directory"] == str(live.project)

    # The session and its turn are in the store, as the SDK reported them.
    stored = live.engine.store.get_session(session["id"])
    assert stored.title == "driven by the SDK"
    messages = live.engine.store.list_messages(session["id"])
    assert [type(m.info) for m in messages] == [UserMessage, AssistantMessage]
    user, assistant = messages
    assert [p.text for p in user.parts if isinstance(p, TextPart)] == ["say hello"]
    assert isinstance(assistant.info, AssistantMessage) and assistant.info.finish == "stop"
    assert assistant.info.providerID == "mine" and assistant.info.modelID == "test-model"
    assert "".join(p.text for p in assistant.parts if isinstance(p, TextPart)) == answer
    assert live.models.requests[-1].json["messages"][-1]["content"] == "say hello"

    # The prompt's reply is the assistant message with its parts.
    reply = result["reply"]
    assert reply["info"]["id"] == assistant.info.id and reply["info"]["role"] == "assistant"
    assert text_of(reply["parts"]) == answer

    # The events, in the order the turn made them: busy, the user message, the streamed text, idle last.
    events = result["events"]
    assert all(session_of(e) in (session["id"], None) for e in events)
    types = [e["type"] for e in events]
    assert types[-1] == "session.idle"
    statuses = [e["properties"]["status"]["type"] for e in events if e["type"] == "session.status"]
    assert statuses[0] == "busy" and statuses[-1] == "idle"

    def first(kind: str, role: str | None = None) -> int:
        for index, e in enumerate(events):
            if e["type"] == kind and (role is None or e["properties"]["info"]["role"] == role):
                return index
        raise AssertionError(f"no {kind} {role or ''} event in {types}")

    # (The engine stores the user message, then goes busy, then starts the assistant's.)
    assert first("message.updated", "user") < types.index("session.status") < first("message.updated", "assistant")
    # The answer streamed: the text part whole once, then opencode's `message.part.delta` pieces on it.
    (text_id,) = [p.id for p in assistant.parts if isinstance(p, TextPart)]
    shown, pieces = "", 0
    for e in events:
        props = e["properties"]
        if e["type"] == "message.part.updated" and props["part"]["id"] == text_id:
            shown = props["part"]["text"]
        elif e["type"] == "message.part.delta" and props["partID"] == text_id:
            assert props["messageID"] == assistant.info.id and props["field"] == "text"
            shown += props["delta"]
            pieces += 1
    assert pieces > 1, f"the answer was not streamed in pieces: {types}"
    assert shown == answer
    assert first("message.updated", "assistant") < types.index("message.part.delta")
    finished = [
        e["properties"]["info"]
        for e in events
        if e["type"] == "message.updated" and e["properties"]["info"]["id"] == assistant.info.id
    ]
    assert finished[-1]["finish"] == "stop" and finished[-1]["time"].get("completed")

    # The message list read back after the turn: the same two messages, the answer in full.
    listed = result["messages"]
    assert [m["info"]["role"] for m in listed] == ["user", "assistant"]
    assert [m["info"]["id"] for m in listed] == [user.info.id, assistant.info.id]
    assert text_of(listed[0]["parts"]) == "say hello"
    assert text_of(listed[1]["parts"]) == answer
    assert listed[1]["info"]["tokens"]["output"] > 0
    assert result["after"]["id"] == session["id"]
    assert session["id"] in [s["id"] for s in result["listed"]]
