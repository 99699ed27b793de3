"""What the loop reuses from one step to the next: one connection to the provider, and the
history already converted; neither may change what the model is sent."""

from __future__ import annotations

from pathlib import Path

import pytest

from opencode.session.convert import to_provider_messages
from opencode.session.model import ToolPart, ToolStateCompleted
from opencode.session.revert import visible_messages
from opencode.testing.model_server import Reply, ScriptedModelServer, Text, ToolCall
from tests.agent.test_engine import PROVIDERS, make_engine, project  # noqa: F401  (fixture)


def echo(step: int) -> Reply:
    return Reply([ToolCall("bash", {"command": f"echo step-{step}", "description": "echo"}, id=f"call_{step}")])


@pytest.mark.parametrize("protocol", sorted(PROVIDERS))
async def test_one_connection_serves_every_step(
    protocol: str,
    project: Path,  # noqa: F811
    model_server: ScriptedModelServer,
) -> None:
    engine, model = make_engine(project, model_server, protocol)
    model_server.push(echo(1), echo(2), echo(3), Reply([Text("done")]))
    session = engine.create_session()
    await engine.prompt(session.id, "echo three times", model=model)
    assert len(model_server.requests) == 4
    assert len({r.client for r in model_server.requests}) == 1, [r.client for r in model_server.requests]


async def test_reused_history_matches_a_fresh_conversion(project: Path, model_server: ScriptedModelServer) -> None:  # noqa: F811
    engine, model = make_engine(project, model_server)
    model_server.push(echo(1), echo(2), Reply([Text("first done")]))
    session = engine.create_session()
    await engine.prompt(session.id, "echo twice", model=model)

    # A tool part changed in the store (as pruning does) must reach the next request.
    part = next(p for m in engine.store.list_messages(session.id) for p in m.parts if isinstance(p, ToolPart))
    assert isinstance(part.state, ToolStateCompleted)
    part.state.output = "rewritten output"
    engine.store.put_part(part)

    model_server.push(echo(3), Reply([Text("second done")]))
    await engine.prompt(session.id, "once more", model=model)
    sent = model_server.requests[-1].json["messages"]
    assert any(m["role"] == "tool" and m["content"] == "rewritten output" for m in sent)

    resolved = engine.resolve_model(model, "build")
    history = visible_messages(engine.store, engine.store.get_session(session.id))
    reused = engine.build_request(session, resolved, "build", final_step=False).messages
    assert reused == to_provider_messages(history)
