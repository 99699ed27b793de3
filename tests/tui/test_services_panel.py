"""The side panel lists MCP servers (and language servers) with their state."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from opencode.testing.model_server import ScriptedModelServer
from opencode.tui.app import OpencodeApp
from opencode.tui.sidepanel import SidePanel
from tests.mcp.conftest import everything_stdio
from tests.tui.conftest import wait_until

__all__ = ["everything_stdio"]


def panel_text(app: OpencodeApp, which: str) -> str:
    return str(app.query_one(f"#side-{which}").render())


async def test_the_panel_shows_each_mcp_server_and_why_one_failed(
    make_app: Callable[..., OpencodeApp],
    model_server: ScriptedModelServer,
    everything_stdio: dict[str, Any],
    project: Path,
) -> None:
    broken = {"type": "local", "command": [str(project / "no-such-server")]}
    app = make_app({"mcp": {"everything": everything_stdio, "broken": broken}})
    async with app.run_test(size=(140, 40)) as pilot:
        manager = app.client.engine.mcp  # type: ignore[attr-defined]
        assert manager._started  # the app started the servers itself, before any prompt
        await manager.wait_ready(30)
        app.query_one(SidePanel).read_services()
        await wait_until(pilot, lambda: "tools" in panel_text(app, "mcp") and "failed" in panel_text(app, "mcp"))
        shown = panel_text(app, "mcp")
    assert "everything" in shown and "broken" in shown
    everything_line = next(line for line in shown.splitlines() if "everything" in line)
    assert "tools" in everything_line and "failed" not in everything_line
    broken_line = next(line for line in shown.splitlines() if "broken" in line)
    assert "failed" in broken_line


async def test_without_servers_the_sections_stay_hidden(make_app: Callable[..., OpencodeApp]) -> None:
    app = make_app()
    async with app.run_test(size=(140, 40)) as pilot:
        await pilot.pause(0.3)
        assert not app.query_one("#side-mcp-heading").display
        assert not app.query_one("#side-lsp-heading").display


async def test_mcp_resources_are_offered_after_at(
    make_app: Callable[..., OpencodeApp], everything_stdio: dict[str, Any], project: Path
) -> None:
    (project / "notes.txt").write_text("x")
    app = make_app({"mcp": {"everything": everything_stdio}})
    async with app.run_test(size=(120, 40)):
        manager = app.client.engine.mcp  # type: ignore[attr-defined]
        manager.start()
        await manager.wait_ready(30)
        files = await app.client.project_files(refresh=True)
    assert "notes.txt" in files
    resources = [f for f in files if f.startswith("everything:")]
    assert resources and all("://" in f for f in resources)
