"""Diagnostics after an edit, end to end: the scripted model edits a Python file through the engine,
basedpyright checks it, and the tool result the model gets back carries the file's errors."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest

from opencode.agent.engine import Engine
from opencode.bus import BusEvent
from opencode.config.schema import Config
from opencode.provider.registry import Registry
from opencode.session.model import ToolPart
from opencode.session.sqlite import SQLiteStore
from opencode.testing.model_server import Reply, ScriptedModelServer, Text, ToolCall
from tests.lsp.conftest import write_project

CALC = "def double(x: int) -> int:\n    return x * 2\n\n\nresult: int = double(2)\n"


def make_engine(project: Path, server: ScriptedModelServer, extra: dict[str, Any] | None = None) -> tuple[Engine, str]:
    options = {"baseURL": server.base_url("openai-chat"), "apiKey": server.api_key, "maxRetries": 2}
    entry = {"npm": "@ai-sdk/openai-compatible", "options": options, "models": {"test-model": {"tool_call": True}}}
    config = Config.model_validate({"provider": {"mine": entry}, **(extra or {})})
    registry = Registry.load(config, environ={}, credentials={})
    engine = Engine(cwd=project, config=config, registry=registry, store=SQLiteStore(project.parent / "store.db"))
    return engine, "mine/test-model"


def tool_parts(engine: Engine, session_id: str) -> list[ToolPart]:
    return [p for m in engine.store.list_messages(session_id) for p in m.parts if isinstance(p, ToolPart)]


async def test_an_edit_reports_the_error_and_the_fix_clears_it(
    tmp_path: Path, model_server: ScriptedModelServer
) -> None:
    project = write_project(tmp_path / "project", {"pyproject.toml": "", "calc.py": CALC})
    engine, model = make_engine(project, model_server)
    events: list[BusEvent] = []
    engine.bus.on(events.append)
    broken = {"filePath": "calc.py", "oldString": "double(2)", "newString": 'double("two")'}
    fixed = {"filePath": "calc.py", "oldString": 'double("two")', "newString": "double(2)"}
    model_server.push(
        Reply([ToolCall("read", {"filePath": "calc.py"})]),
        Reply([ToolCall("edit", broken, id="call_break")]),
        Reply([ToolCall("edit", fixed, id="call_fix")]),
        Reply([Text("done")]),
    )
    session = engine.create_session()
    await engine.prompt(session.id, "break it, then fix it", model=model)
    _, first, second = tool_parts(engine, session.id)

    assert first.state.status == "completed" and second.state.status == "completed"
    output = first.state.output  # type: ignore[union-attr]
    assert '<diagnostics file="calc.py">\n1 error reported by the language server:\n5:22 ' in output
    assert 'Argument of type "Literal[\'two\']" cannot be assigned to parameter "x"' in output
    report = first.state.metadata["diagnostics"][str(project / "calc.py")]  # type: ignore[union-attr]
    assert report["ready"] is True and report["servers"] == ["pyright"]
    assert [(e["range"]["start"]["line"], e["severity"]) for e in report["errors"]] == [(4, 1)]

    # The fix: fresh diagnostics of the new text, so neither the old error nor a "not ready" note.
    fixed_output = second.state.output  # type: ignore[union-attr]
    assert "<diagnostics" not in fixed_output and "not ready" not in fixed_output
    assert second.state.metadata["diagnostics"][str(project / "calc.py")]["errors"] == []  # type: ignore[union-attr]
    # The request after the fix carried that result to the model.
    assert "Argument of type" not in str(model_server.requests[-1].json["messages"][-1])

    assert "lsp.updated" in [e.type for e in events]
    manager = engine.lsp
    assert manager is not None
    processes = [client.process for client in manager.clients.values()]
    assert processes and all(p is not None and p.returncode is None for p in processes)
    await engine.drain()
    assert all(p is not None and p.returncode is not None for p in processes)  # shut down with the engine


async def test_diagnostics_not_ready_in_time_are_said_so_never_stale(
    tmp_path: Path, model_server: ScriptedModelServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = write_project(tmp_path / "project", {"tsconfig.json": "{}", "main.ts": "export const n = 1\n"})
    engine, model = make_engine(project, model_server)
    monkeypatch.setattr("opencode.lsp.manager.DIAGNOSTICS_WAIT_S", 0.0)
    model_server.push(
        Reply([ToolCall("write", {"filePath": "new.ts", "content": 'export const s: number = "x"\n'})]),
        Reply([Text("done")]),
    )
    session = engine.create_session()
    await engine.prompt(session.id, "write it", model=model)
    (write,) = tool_parts(engine, session.id)
    output = write.state.output  # type: ignore[union-attr]
    assert "Diagnostics for new.ts were not ready in time" in output
    assert "<diagnostics" not in output
    assert write.state.metadata["diagnostics"][str(project / "new.ts")]["ready"] is False  # type: ignore[union-attr]
    await engine.drain()


async def test_a_missing_server_is_reported_once(
    tmp_path: Path, model_server: ScriptedModelServer, caplog: pytest.LogCaptureFixture
) -> None:
    project = write_project(tmp_path / "project", {})
    lsp = {"lsp": {"mine": {"command": ["no-such-language-server"], "extensions": [".foo"]}}}
    engine, model = make_engine(project, model_server, lsp)
    model_server.push(
        Reply([ToolCall("write", {"filePath": "a.foo", "content": "one\n"})]),
        Reply([ToolCall("write", {"filePath": "b.foo", "content": "two\n"})]),
        Reply([Text("done")]),
    )
    session = engine.create_session()
    with caplog.at_level(logging.WARNING, logger="opencode.lsp"):
        await engine.prompt(session.id, "write two files", model=model)
    first, second = tool_parts(engine, session.id)
    assert first.state.output == f"Created {project / 'a.foo'}."  # type: ignore[union-attr]
    assert second.state.output == f"Created {project / 'b.foo'}."  # type: ignore[union-attr]
    warnings = [r.getMessage() for r in caplog.records if "no-such-language-server" in r.getMessage()]
    assert warnings == ["language server mine: no-such-language-server not found (install it to get its diagnostics)"]
    assert engine.lsp is not None
    assert engine.lsp.status() == [
        {
            "id": "mine",
            "name": "mine",
            "root": "",
            "status": "error",
            "error": "mine: no-such-language-server not found (install it to get its diagnostics)",
        }
    ]
    await engine.drain()


async def test_lsp_false_turns_it_all_off(tmp_path: Path, model_server: ScriptedModelServer) -> None:
    project = write_project(tmp_path / "project", {"pyproject.toml": "", "calc.py": CALC})
    engine, model = make_engine(project, model_server, {"lsp": False})
    model_server.push(
        Reply([ToolCall("write", {"filePath": "bad.py", "content": 'x: int = "no"\n'})]),
        Reply([ToolCall("lsp", {"operation": "diagnostics", "filePath": "bad.py"})]),
        Reply([Text("done")]),
    )
    session = engine.create_session()
    await engine.prompt(session.id, "write it", model=model)
    write, lsp = tool_parts(engine, session.id)
    assert "diagnostics" not in write.state.metadata  # type: ignore[union-attr]
    assert lsp.state.status == "error" and "Language servers are turned off" in lsp.state.error  # type: ignore[union-attr]
    assert engine.lsp is None


async def test_a_rename_through_the_engine_is_snapshotted_and_patched(
    tmp_path: Path, model_server: ScriptedModelServer
) -> None:
    files = {
        "pyproject.toml": "",
        "lib.py": "def old(v: int) -> int:\n    return v\n",
        "use.py": "from lib import old\n",
    }
    project = write_project(tmp_path / "project", files)
    engine, model = make_engine(project, model_server)
    rename = {"operation": "rename", "filePath": "use.py", "symbol": "old", "newName": "fresh"}
    model_server.push(Reply([ToolCall("lsp", rename)]), Reply([Text("renamed")]))
    session = engine.create_session()
    await engine.prompt(session.id, "rename old", model=model)
    assert (project / "lib.py").read_text() == "def fresh(v: int) -> int:\n    return v\n"
    assert (project / "use.py").read_text() == "from lib import fresh\n"
    export = engine.store.export_session(session.id)
    step = export.messages[1]
    assert [p.type for p in step.parts] == ["step-start", "tool", "patch", "step-finish"]
    patch = step.parts[2]
    assert patch.type == "patch" and sorted(patch.files) == ["lib.py", "use.py"]  # type: ignore[union-attr]
    # Undo puts both files back, as for any edit.
    await engine.revert(session.id, step.info.id)
    assert (project / "lib.py").read_text() == files["lib.py"]
    assert (project / "use.py").read_text() == files["use.py"]
    await engine.drain()


async def test_a_patch_over_two_files_reports_each_file_s_errors(
    tmp_path: Path, model_server: ScriptedModelServer
) -> None:
    project = write_project(tmp_path / "project", {"pyproject.toml": ""})
    engine, model = make_engine(project, model_server)
    patch = (
        "*** Begin Patch\n*** Add File: one.py\n+a: int = 'x'\n"
        "*** Add File: two.py\n+import os\n+\n+b: str = 1\n+c: str = 2\n*** End Patch"
    )
    model_server.push(Reply([ToolCall("apply_patch", {"patchText": patch})]), Reply([Text("done")]))
    session = engine.create_session()
    await engine.prompt(session.id, "add two files", model=model)
    (part,) = tool_parts(engine, session.id)
    output = part.state.output  # type: ignore[union-attr]
    assert '<diagnostics file="one.py">\n1 error reported by the language server:\n1:10 ' in output
    assert '<diagnostics file="two.py">\n2 errors reported by the language server:\n3:10 ' in output
    assert "\n4:10 " in output
    assert set(part.state.metadata["diagnostics"]) == {str(project / "one.py"), str(project / "two.py")}  # type: ignore[union-attr]
    await engine.drain()


async def test_files_changed_by_bash_reach_the_servers(tmp_path: Path, model_server: ScriptedModelServer) -> None:
    project = write_project(tmp_path / "project", {"pyproject.toml": "", "calc.py": CALC})
    engine, model = make_engine(project, model_server)
    broken = {"filePath": "calc.py", "oldString": "double(2)", "newString": 'double("two")'}
    command = "sed -i 's/double(\"two\")/double(3)/' calc.py"
    model_server.push(
        Reply([ToolCall("read", {"filePath": "calc.py"})]),
        Reply([ToolCall("edit", broken, id="call_break")]),
        Reply([ToolCall("bash", {"command": command, "description": "Fix the call"}, id="call_bash")]),
        Reply([Text("done")]),
    )
    session = engine.create_session()
    await engine.prompt(session.id, "break it, then fix it with sed", model=model)
    assert "double(3)" in (project / "calc.py").read_text()
    manager = engine.lsp
    assert manager is not None
    documents = [c.documents[p] for c in manager.clients.values() for p in c.documents if p.name == "calc.py"]
    # Opened at version 0 by the edit (with the error); the command's change went out as version 1.
    assert documents and all("double(3)" in doc.text and doc.version == 1 for doc in documents)
    await engine.drain()
