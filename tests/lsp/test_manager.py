"""The manager around the servers: restart once after a crash, config `lsp`, roots, `debug lsp`."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from opencode.config.schema import Config
from opencode.lsp.manager import LspManager
from opencode.lsp.servers import configured, find_root
from opencode.tool.registry import ToolRegistry
from opencode.tool.tool import ToolError
from tests.lsp.conftest import tool_context, write_project

CODE = "def area(side: int) -> int:\n    return side * side\n\n\nprint(area(2))\n"


async def crash(manager: LspManager) -> int:
    """Kill the running server's process group and wait until the manager has seen it go."""
    (client,) = manager.clients.values()
    assert client.process is not None
    pid = client.process.pid
    os.killpg(pid, signal.SIGKILL)
    for _ in range(200):
        if not manager.clients:
            return pid
        await asyncio.sleep(0.05)
    raise AssertionError("the crash went unnoticed")


async def test_a_crashed_server_is_restarted_once_then_reported(tmp_path: Path) -> None:
    project = write_project(tmp_path / "project", {"pyproject.toml": "", "shapes.py": CODE})
    manager = LspManager(project)
    crashes: list[str] = []
    manager.on_crash = crashes.append
    ctx = tool_context(project, manager)
    arguments = {"operation": "goToDefinition", "filePath": "shapes.py", "symbol": "area", "line": 5}
    try:
        first = await ToolRegistry.builtin().execute("lsp", arguments, ctx)
        assert "shapes.py:1:5: def area(side: int) -> int:" in first.output
        old_pid = await crash(manager)

        again = await ToolRegistry.builtin().execute("lsp", arguments, ctx)  # started again, asked again
        assert again.output == first.output
        (client,) = manager.clients.values()
        assert client.process is not None and client.process.pid != old_pid

        await crash(manager)
        with pytest.raises(ToolError, match=r"pyright crashed.*restarted once and is not started again"):
            await ToolRegistry.builtin().execute("lsp", arguments, ctx)
        assert len(crashes) == 2
        (status,) = manager.status()
        assert status["status"] == "error" and "restarted once" in status["error"]
        # The engine's hook stays quiet about a broken server instead of failing the edit.
        diagnostics = await manager.diagnostics(project / "shapes.py")
        assert not diagnostics.ready and diagnostics.items == []
    finally:
        await manager.close()


def test_config_adds_tunes_and_disables_servers() -> None:
    config = Config.model_validate(
        {
            "lsp": {
                "pyright": {"disabled": True},
                "typescript": {"env": {"TSS_LOG": "-level verbose"}, "initialization": {"preferences": {}}},
                "mine": {"command": ["my-ls", "--stdio"], "extensions": [".foo"]},
            }
        }
    )
    servers = {server.id: server for server in configured(config.lsp)}
    assert "pyright" not in servers and "gopls" in servers
    assert servers["typescript"].env == {"TSS_LOG": "-level verbose"}
    assert servers["typescript"].settings(Path("/")) == {"preferences": {}}
    assert servers["mine"].commands == (("my-ls", "--stdio"),) and servers["mine"].extensions == (".foo",)
    assert configured(False) == []


def test_roots_come_from_markers_up_to_the_project(tmp_path: Path) -> None:
    project = write_project(
        tmp_path / "mono",
        {"package.json": "{}", "apps/web/package.json": "{}", "apps/web/src/main.ts": "", "tools/x.ts": ""},
    )
    markers = ("package.json",)
    assert find_root(project / "apps/web/src/main.ts", markers, project) == project / "apps/web"
    assert find_root(project / "tools/x.ts", markers, project) == project
    assert find_root(project / "tools/x.ts", ("go.mod",), project) == project


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "opencode", *args], capture_output=True, text=True, cwd=cwd, timeout=120
    )


def test_debug_lsp_prints_diagnostics_and_symbols(tmp_path: Path) -> None:
    files = {"pyproject.toml": "", "calc.py": "def double(x: int) -> int:\n    return x * 2\n\n\ny: str = double(1)\n"}
    project = write_project(tmp_path / "project", files)
    result = run_cli("debug", "lsp", "diagnostics", "calc.py", cwd=project)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(
        'calc.py:5:10: error: Type "int" is not assignable to declared type "str" "int" is not assignable to "str"'
    )
    assert "1 error(s), 0 other(s) from pyright" in result.stderr
    symbols = run_cli("debug", "lsp", "symbols", "doub", cwd=project)
    assert symbols.returncode == 0, symbols.stderr
    assert symbols.stdout == "Function double  calc.py:1:5\n"
    missing = run_cli("debug", "lsp", "diagnostics", "nope.py", cwd=project)
    assert missing.returncode == 1 and missing.stderr.strip().endswith("no such file: nope.py")
