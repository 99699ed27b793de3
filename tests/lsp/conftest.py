"""Real language servers for the LSP tests: basedpyright (in .venv) and typescript-language-server
(in .cache/lsp), both installed by scripts/setup-lsp. Projects are written per module and the
servers started once per module where the tests only read."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from opencode.tool.tool import PermissionRequest, ToolContext

REPO = Path(__file__).resolve().parents[2]
NODE_BIN = REPO / ".cache" / "lsp" / "node_modules" / ".bin"


@pytest.fixture(scope="session", autouse=True)
def language_servers() -> Iterator[None]:
    """typescript-language-server on PATH; both servers there, or the test says how to get them."""
    servers = {
        "typescript-language-server": NODE_BIN / "typescript-language-server",
        "basedpyright-langserver": Path(sys.executable).parent / "basedpyright-langserver",
    }
    missing = [name for name, path in servers.items() if not path.exists()]
    if missing:
        pytest.fail(f"{', '.join(missing)} not installed: run scripts/setup-lsp")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PATH", f"{NODE_BIN}{os.pathsep}{os.environ.get('PATH', '')}")
        yield


def write_project(root: Path, files: dict[str, str]) -> Path:
    (root / ".git").mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root.resolve()


class Asks:
    """A permission asker that records what was asked and allows it (or refuses `refuse`)."""

    def __init__(self, refuse: str | None = None) -> None:
        self.requests: list[PermissionRequest] = []
        self.refuse = refuse

    async def __call__(self, request: PermissionRequest) -> None:
        from opencode.tool.tool import ToolError

        self.requests.append(request)
        if self.refuse is not None and request.permission == self.refuse:
            raise ToolError("The user rejected this change.")


def tool_context(root: Path, lsp: Any, ask: Asks | None = None) -> ToolContext:
    return ToolContext(
        session_id="ses_test",
        message_id="msg_test",
        call_id="call_test",
        agent="build",
        root=root,
        cwd=root,
        ask=ask or Asks(),
        lsp=lsp,
    )
