from __future__ import annotations

from pathlib import Path

import pytest

from opencode.tool.tool import ToolContext


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """An empty project directory (tmp_path itself also holds the isolated home)."""
    root = tmp_path / "project"
    root.mkdir()
    return root.resolve()


@pytest.fixture
def ctx(project: Path, tmp_path: Path) -> ToolContext:
    return ToolContext(
        session_id="ses_test",
        message_id="msg_test",
        call_id="call_test",
        agent="build",
        root=project,
        cwd=project,
        data_dir=tmp_path / "data",
    )
