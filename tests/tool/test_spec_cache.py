"""The built-in tools' specs come from the disk cache while nothing they are made of changed."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from opencode.config.paths import paths
from opencode.tool import spec_cache
from opencode.tool.registry import BUILTIN, ToolRegistry
from opencode.tool.tool import Tool, ToolContext, ToolResult


def fresh_specs() -> dict[str, tuple[str, dict[str, object]]]:
    """Each tool's spec built from its class, with no cache involved."""
    return {spec.name: (spec.description, spec.parameters) for spec in ToolRegistry(
        [ToolRegistry.builtin().get(name) for name in BUILTIN]  # type: ignore[misc]
    ).specs()}  # fmt: skip


def test_first_run_saves_and_a_later_one_uses_the_cache_without_importing_tools() -> None:
    first = ToolRegistry.builtin().specs()
    saved = json.loads((paths().cache / spec_cache.FILE).read_text())
    assert saved["key"] == spec_cache.fingerprint()
    assert sorted(saved["specs"]) == sorted(BUILTIN)
    assert {s.name: (s.description, s.parameters) for s in first} == fresh_specs()

    # A new process: the specs are all there, yet no tool module was imported for them.
    code = (
        "import sys, json; from opencode.tool.registry import ToolRegistry;"
        "specs = ToolRegistry.builtin().specs();"
        "print(json.dumps([len(specs), sorted(m for m in sys.modules if m.startswith('opencode.tool.')"
        " and m not in ('opencode.tool.registry', 'opencode.tool.tool', 'opencode.tool.spec_cache',"
        " 'opencode.tool.filetimes', 'opencode.tool.truncate'))]))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    count, imported = json.loads(out)
    assert count == len(BUILTIN)
    assert imported == []


def test_a_changed_fingerprint_or_a_broken_file_rebuilds(monkeypatch: pytest.MonkeyPatch) -> None:
    ToolRegistry.builtin().specs()
    path = paths().cache / spec_cache.FILE
    saved = json.loads(path.read_text())
    saved["specs"]["read"] = ["a stale description", {"type": "object", "properties": {}}]
    path.write_text(json.dumps(saved))
    assert ToolRegistry.builtin().specs()[0].description == "a stale description"  # same key: trusted

    monkeypatch.setattr(spec_cache, "fingerprint", lambda: "another version")
    assert ToolRegistry.builtin().specs()[0].description == fresh_specs()["read"][0]
    assert json.loads(path.read_text())["key"] == "another version"

    path.write_text("{not json")
    assert ToolRegistry.builtin().specs()[0].description == fresh_specs()["read"][0]


def test_the_fingerprint_covers_the_tool_sources_and_descriptions() -> None:
    key = spec_cache.fingerprint()
    assert "\nedit.py:" in key and "\nedit.txt:" in key and "\nregistry.py:" in key


def test_a_plugin_replacing_a_built_in_is_described_as_itself(tmp_path: Path) -> None:
    from pydantic import BaseModel

    class Params(BaseModel):
        path: str

    class MyRead(Tool[Params]):
        """My own read."""

        name = "read"
        params = Params

        async def run(self, params: Params, ctx: ToolContext) -> ToolResult:
            return ToolResult("mine")

    registry = ToolRegistry.builtin()
    registry.add(MyRead())
    specs = {s.name: s for s in registry.specs()}
    assert specs["read"].description == "My own read."
    assert not (paths().cache / spec_cache.FILE).exists()  # not saved with a plugin's spec in it
    assert ToolRegistry.builtin().specs()[0].description == fresh_specs()["read"][0]
