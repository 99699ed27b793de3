"""The project routes against a live server: paths, project and git info, config read and written,
providers and stored keys, agents, commands, skills, and the status routes."""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Callable
from pathlib import Path

import pytest

from opencode.config.paths import paths
from tests.server.conftest import MODEL, Live
from tests.server.test_files import git, repo


def message(reply: object) -> str:
    return str(reply.json()["data"]["message"])  # type: ignore[attr-defined]


# --- /path, /project, /vcs -------------------------------------------------------------------------


def test_path_and_project(live: Live) -> None:
    where = live.http.get("/path").json()
    assert where["worktree"] == str(live.project) and where["directory"] == str(live.project)
    assert where["config"] == str(paths().config) and where["state"] == str(paths().state)
    assert where["home"] == str(Path.home())
    current = live.http.get("/project/current").json()
    assert current["id"] == live.engine.project_id
    assert current["worktree"] == str(live.project)
    assert current["vcs"] == "git" and current["sandboxes"] == []
    assert current["time"]["created"] > 0
    assert live.http.get("/project").json() == [current]


def test_vcs_branch_status_and_diff(live: Live) -> None:
    assert live.http.get("/vcs").json() == {}  # an empty `.git` folder is no repository
    repo(live.project)
    git(live.project, "checkout", "-q", "-b", "feature")
    assert live.http.get("/vcs").json() == {"branch": "feature", "default_branch": "main"}
    (live.project / "README.md").write_text("# demo\nadded\n")
    (live.project / "new.txt").write_text("n\n")
    status = live.http.get("/vcs/status").json()
    assert status == [
        {"file": "README.md", "additions": 1, "deletions": 0, "status": "modified"},
        {"file": "new.txt", "additions": 1, "deletions": 0, "status": "added"},
    ]
    diffs = {d["file"]: d for d in live.http.get("/vcs/diff", params={"mode": "git"}).json()}
    assert "+added" in diffs["README.md"]["patch"] and diffs["README.md"]["status"] == "modified"
    assert "+n" in diffs["new.txt"]["patch"]
    branch = live.http.get("/vcs/diff", params={"mode": "branch"}).json()
    assert {d["file"] for d in branch} == {"README.md", "new.txt"}  # nothing committed on the branch yet
    missing = live.http.get("/vcs/diff")
    assert missing.status_code == 400 and missing.json()["data"]["field"] == "mode"


# --- /config ---------------------------------------------------------------------------------------


def test_get_config_is_the_engines(live: Live) -> None:
    config = live.http.get("/config").json()
    assert config["model"] == MODEL
    assert config["provider"]["mine"]["models"]["test-model"]["tool_call"] is True


def test_patch_config_writes_opencode_json_and_applies_it(live: Live) -> None:
    target = live.project / "opencode.json"
    reply = live.http.patch("/config", json={"username": "ada", "agent": {"build": {"temperature": 0.3}}})
    assert reply.status_code == 200, reply.text
    assert json.loads(target.read_text()) == {"username": "ada", "agent": {"build": {"temperature": 0.3}}}
    assert reply.json()["username"] == "ada" and reply.json()["model"] == MODEL  # merged with the rest
    assert live.engine.config.username == "ada"
    assert live.engine.agent("build").temperature == 0.3  # agents reloaded
    assert "x-opencode-restart-needed" not in reply.headers
    # Merge patch: objects merge, null removes.
    live.http.patch("/config", json={"agent": {"plan": {"temperature": 0.1}}, "username": None})
    assert json.loads(target.read_text()) == {"agent": {"build": {"temperature": 0.3}, "plan": {"temperature": 0.1}}}
    after = live.engine.config  # a new object: the engine's config was replaced
    assert after.username is None
    assert live.http.get("/config").json()["agent"]["plan"]["temperature"] == 0.1


def test_patch_config_says_what_needs_a_restart(live: Live) -> None:
    reply = live.http.patch("/config", json={"snapshot": False, "theme": "nord", "small_model": MODEL})
    assert reply.status_code == 200
    assert reply.headers["x-opencode-restart-needed"] == "snapshot, theme"
    assert live.engine.config.small_model == MODEL


def test_patch_config_with_a_provider_rebuilds_the_registry(live: Live) -> None:
    entry = {"npm": "@ai-sdk/openai-compatible", "options": {"baseURL": "http://127.0.0.1:9/v1"}, "models": {"m1": {}}}
    reply = live.http.patch("/config", json={"provider": {"local": entry}, "model": "local/m1"})
    assert reply.status_code == 200, reply.text
    ids = [p["id"] for p in live.http.get("/config/providers").json()["providers"]]
    assert ids == ["mine", "local"]  # the config's provider is kept, the new one joins it
    assert live.engine.registry.default_model() == "local/m1"
    assert live.engine.resolve_model(None, "build").ref == "local/m1"


def test_patch_config_keeps_an_existing_file_and_its_keys(live: Live) -> None:
    target = live.project / "opencode.jsonc"
    target.write_text('{"theme": "nord", "instructions": ["{env:NOT_SET_ANYWHERE}x.md"]}')
    assert live.http.patch("/config", json={"username": "bo"}).status_code == 200
    assert json.loads(target.read_text()) == {
        "theme": "nord",
        "instructions": ["{env:NOT_SET_ANYWHERE}x.md"],  # substitution tokens stay as written
        "username": "bo",
    }
    assert not (live.project / "opencode.json").exists()


@pytest.mark.parametrize(
    ("patch", "field", "words"),
    [
        ({"usernme": "x"}, "usernme", 'did you mean "username"'),
        ({"compaction": {"autoo": True}}, "compaction.autoo", 'unknown key "compaction.autoo" (did you mean "auto"?)'),
        ({"agent": {"build": {"temperature": "hot"}}}, "agent.build.temperature", "agent.build.temperature"),
        ({"share": "sometimes"}, "share", "share"),
        ({"permission": {"webfetch": {"*": "allow"}}}, "permission.webfetch", "takes no patterns"),
    ],
)
def test_patch_config_refuses_bad_keys(live: Live, patch: dict[str, object], field: str, words: str) -> None:
    (live.project / "opencode.json").write_text('{"theme": "nord"}\n')
    before = live.engine.config
    reply = live.http.patch("/config", json=patch)
    assert reply.status_code == 400, reply.text
    assert reply.json()["data"]["field"] == field
    assert words in message(reply)
    assert (live.project / "opencode.json").read_text() == '{"theme": "nord"}\n'  # untouched
    assert live.engine.config is before


def test_patch_config_refuses_bodies_that_are_not_objects(live: Live) -> None:
    for body in ("[1, 2]", "not json", ""):
        reply = live.http.patch("/config", content=body, headers={"content-type": "application/json"})
        assert reply.status_code == 400, body
    assert not (live.project / "opencode.json").exists()


def test_patch_config_will_not_drop_comments(live: Live) -> None:
    target = live.project / "opencode.jsonc"
    text = '{\n  // my theme\n  "theme": "nord"\n}\n'
    target.write_text(text)
    reply = live.http.patch("/config", json={"username": "x"})
    assert reply.status_code == 400
    assert "comments" in message(reply)
    assert target.read_text() == text


# --- providers and auth ------------------------------------------------------------------------------


def test_config_providers_lists_the_connected_ones(live: Live) -> None:
    body = live.http.get("/config/providers").json()
    assert [p["id"] for p in body["providers"]] == ["mine"]
    mine = body["providers"][0]
    assert mine["source"] == "custom"  # a provider only the config defines
    model = mine["models"]["test-model"]
    assert model["providerID"] == "mine" and model["capabilities"]["toolcall"] is True
    assert model["cost"]["input"] == 3.0 and model["cost"]["output"] == 15.0
    assert model["api"]["npm"] == "@ai-sdk/openai-compatible"
    assert "apiKey" not in json.dumps(mine) and live.models.api_key not in json.dumps(body)
    assert body["default"] == {"mine": "test-model"}


def test_provider_list_has_all_default_and_connected(live: Live) -> None:
    body = live.http.get("/provider").json()
    ids = [p["id"] for p in body["all"]]
    assert "mine" in ids and "anthropic" in ids
    assert body["connected"] == ["mine"]
    assert body["default"]["mine"] == "test-model"


def test_put_and_delete_auth_change_auth_json_and_the_running_registry(live: Live) -> None:
    reply = live.http.put("/auth/anthropic", json={"type": "api", "key": "sk-ant-test-1234"})
    assert reply.status_code == 200 and reply.json() is True
    auth_file = paths().auth_file
    assert json.loads(auth_file.read_text())["anthropic"] == {"type": "api", "key": "sk-ant-test-1234"}
    assert stat.S_IMODE(auth_file.stat().st_mode) == 0o600
    assert "anthropic" in live.http.get("/provider").json()["connected"]
    providers = live.http.get("/config/providers").json()["providers"]
    anthropic = next(p for p in providers if p["id"] == "anthropic")
    assert anthropic["source"] == "api" and "sk-ant-test-1234" not in json.dumps(anthropic)

    assert live.http.delete("/auth/anthropic").json() is True
    assert "anthropic" not in json.loads(auth_file.read_text())
    assert "anthropic" not in live.http.get("/provider").json()["connected"]
    assert live.http.delete("/auth/anthropic").status_code == 200  # nothing stored: still fine


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"type": "api", "key": ""}, "key"),
        ({"type": "api"}, "key"),
        ({"type": "oauth", "refresh": "r", "access": "a", "expires": 1}, "type"),
    ],
)
def test_put_auth_refuses_bad_bodies(live: Live, body: dict[str, object], field: str) -> None:
    reply = live.http.put("/auth/anthropic", json=body)
    assert reply.status_code == 400
    assert reply.json()["data"]["field"] == field
    assert not paths().auth_file.exists()


def test_put_auth_refuses_odd_provider_ids(live: Live) -> None:
    reply = live.http.put("/auth/a%20b", json={"type": "api", "key": "k"})
    assert reply.status_code == 400 and reply.json()["data"]["field"] == "providerID"
    assert not paths().auth_file.exists()


# --- agents, commands, skills -------------------------------------------------------------------------


def test_agents(live: Live) -> None:
    agents = {a["name"]: a for a in live.http.get("/agent").json()}
    assert {"build", "plan"} <= set(agents)
    build = agents["build"]
    assert build["mode"] == "primary" and build["native"] is True and build["hidden"] is False
    assert all(set(rule) == {"permission", "pattern", "action"} for rule in build["permission"])
    plan_edit = [r for r in agents["plan"]["permission"] if r["permission"] == "edit"]
    assert plan_edit and plan_edit[-1]["action"] == "deny"


def test_commands_come_with_their_placeholders(live: Live) -> None:
    folder = live.project / ".opencode" / "command"
    folder.mkdir(parents=True)
    (folder / "review.md").write_text("---\ndescription: review a file\n---\nReview $2 after $1, then $ARGUMENTS\n")
    commands = {c["name"]: c for c in live.http.get("/command").json()}
    review = commands["review"]
    assert review["description"] == "review a file" and review["source"] == "command"
    assert review["template"].strip() == "Review $2 after $1, then $ARGUMENTS"
    assert review["hints"] == ["$1", "$2", "$ARGUMENTS"]
    assert "init" in commands


def test_skills(live: Live) -> None:
    folder = live.project / ".opencode" / "skill" / "release"
    folder.mkdir(parents=True)
    (folder / "SKILL.md").write_text("---\nname: release\ndescription: cut a release\n---\nBump, tag, push.\n")
    skills = live.http.get("/skill").json()
    assert skills == [
        {
            "name": "release",
            "description": "cut a release",
            "location": str(folder / "SKILL.md"),
            "content": skills[0]["content"],
        }
    ]
    assert "Bump, tag, push." in skills[0]["content"]


# --- status routes and tools ---------------------------------------------------------------------------


def test_status_routes_tell_the_real_state(start_server: Callable[..., Live]) -> None:
    live = start_server(
        {
            "mcp": {
                "docs": {"type": "remote", "url": "http://127.0.0.1:9/mcp", "oauth": False},
                "off": {"type": "local", "command": ["x"], "enabled": False},
            },
            "formatter": {"mine": {"command": ["true", "$FILE"], "extensions": [".zz"]}},
        }
    )
    assert live.http.get("/lsp").json() == []
    mcp = live.http.get("/mcp").json()
    assert mcp["off"] == {"status": "disabled"}
    assert mcp["docs"]["status"] == "failed" and "connect" in mcp["docs"]["error"].lower()  # nothing listens there
    formatters = {f["name"]: f for f in live.http.get("/formatter").json()}
    assert formatters["mine"] == {"name": "mine", "extensions": [".zz"], "enabled": True}
    assert all(isinstance(f["enabled"], bool) for f in formatters.values())
    off = start_server({"formatter": False})
    assert off.http.get("/formatter").json() == []


def test_experimental_tools(live: Live) -> None:
    ids = live.http.get("/experimental/tool/ids").json()
    assert {"read", "edit", "bash"} <= set(ids)
    tools = live.http.get("/experimental/tool", params={"provider": "mine", "model": "test-model"}).json()
    read = next(t for t in tools if t["id"] == "read")
    assert "filePath" in read["parameters"]["properties"] and read["description"]
    missing = live.http.get("/experimental/tool", params={"model": "test-model"})
    assert missing.status_code == 400 and missing.json()["data"]["field"] == "provider"


def test_the_routes_are_in_the_openapi_document(live: Live) -> None:
    paths_doc = live.http.get("/doc").json()["paths"]
    expected = {
        ("/path", "get"): "path.get",
        ("/config", "patch"): "config.update",
        ("/auth/{providerID}", "put"): "auth.set",
        ("/find/file", "get"): "find.files",
        ("/file/content", "get"): "file.read",
        ("/skill", "get"): "app.skills",
    }
    for (path, method), operation in expected.items():
        assert paths_doc[path][method]["operationId"] == operation
    assert os.environ.get("OPENCODE_SERVER_PASSWORD") is None
