from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from opencode.testing.model_server import ScriptedModelServer


@pytest.fixture(scope="session")
def _model_server_session() -> Iterator[ScriptedModelServer]:
    with ScriptedModelServer() as server:
        yield server


@pytest.fixture
def model_server(_model_server_session: ScriptedModelServer) -> Iterator[ScriptedModelServer]:
    """The scripted model server, with an empty script and request log for each test."""
    _model_server_session.reset()
    yield _model_server_session
    _model_server_session.reset()


@pytest.fixture(autouse=True)
def isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own XDG directories and no provider keys from the outer environment."""
    home = tmp_path / "home"
    for name in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME", "XDG_STATE_HOME"):
        path = home / name.split("_")[1].lower()
        path.mkdir(parents=True, exist_ok=True)
        monkeypatch.setenv(name, str(path))
    monkeypatch.setenv("HOME", str(home))
    for name in list(__import__("os").environ):
        if name.endswith(("_API_KEY", "_API_TOKEN")) or name.startswith(("OPENCODE_", "AWS_", "AZURE_")):
            monkeypatch.delenv(name, raising=False)
    for name in ("HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY", "https_proxy", "http_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    return home
