"""Images a tool returns (an MCP tool's, `read`'s) reach the model in the next request, with every
wire protocol (the converter adds them as a user message after the tool results)."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from opencode.testing.model_server import Reply, ScriptedModelServer, Text, ToolCall
from tests.agent.test_engine import PROVIDERS, make_engine

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)


@pytest.mark.parametrize("protocol", sorted(PROVIDERS))
async def test_tool_images_are_sent_on_and_accepted(
    protocol: str, tmp_path: Path, model_server: ScriptedModelServer
) -> None:
    project = tmp_path / "project"
    (project / ".git").mkdir(parents=True)
    (project / "dot.png").write_bytes(PNG)
    engine, model = make_engine(project, model_server, protocol)
    model_server.push(
        Reply([ToolCall("read", {"filePath": "dot.png"}, id="r")]), Reply([Text("seen")]), Reply([Text("again")])
    )
    session = engine.create_session()
    first = await engine.prompt(session.id, "look", model=model)
    second = await engine.prompt(session.id, "and now?", model=model)
    assert (first.text, second.text) == ("seen", "again"), (first.message.error, second.message.error)
    encoded = base64.b64encode(PNG).decode()
    assert encoded[:40] in json.dumps(model_server.requests[1].json)
    assert encoded[:40] in json.dumps(model_server.requests[2].json)
