"""The file and find routes against a live server: listings, contents, git status, search, and the
project boundary (`..`, absolute paths, symbolic links out)."""

from __future__ import annotations

import base64
import os
import subprocess
from pathlib import Path

import pytest

from tests.server.conftest import Live

GIT_ENV = {
    "GIT_AUTHOR_NAME": "t",
    "GIT_AUTHOR_EMAIL": "t@example.com",
    "GIT_COMMITTER_NAME": "t",
    "GIT_COMMITTER_EMAIL": "t@example.com",
}


def git(project: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-c", "init.defaultBranch=main", "-c", "commit.gpgsign=false", *args],
        cwd=project,
        env={**os.environ, **GIT_ENV},
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout


def repo(project: Path) -> None:
    """Make the fixture's project (an empty `.git` folder) a real repository with one commit."""
    (project / ".git").rmdir()
    git(project, "init", "-q")
    git(project, "add", "-A")
    git(project, "commit", "-q", "-m", "first")


def message(reply: object) -> str:
    return str(reply.json()["data"]["message"])  # type: ignore[attr-defined]


# --- GET /file ---------------------------------------------------------------------------------


def test_listing_a_directory_marks_ignored_entries(live: Live) -> None:
    root = live.project
    (root / "src").mkdir()
    (root / "src" / "app.py").write_text("print('hi')\n")
    (root / "build").mkdir()
    (root / "debug.log").write_text("x")
    (root / ".gitignore").write_text("build/\n*.log\n")
    reply = live.http.get("/file", params={"path": "."})
    assert reply.status_code == 200
    nodes = reply.json()
    assert [(n["name"], n["type"], n["ignored"]) for n in nodes] == [
        ("build", "directory", True),
        ("src", "directory", False),
        (".gitignore", "file", False),
        ("README.md", "file", False),
        ("debug.log", "file", True),
    ]  # .git is never listed
    inner = live.http.get("/file", params={"path": "src"}).json()
    assert inner == [
        {
            "name": "app.py",
            "path": "src/app.py",
            "absolute": str(root / "src" / "app.py"),
            "type": "file",
            "ignored": False,
        }
    ]


def test_a_nested_gitignore_counts_for_its_own_folder(live: Live) -> None:
    (live.project / "pkg").mkdir()
    (live.project / "pkg" / ".gitignore").write_text("*.tmp\n")
    (live.project / "pkg" / "a.tmp").write_text("")
    (live.project / "pkg" / "a.py").write_text("")
    nodes = {n["name"]: n["ignored"] for n in live.http.get("/file", params={"path": "pkg"}).json()}
    assert nodes == {".gitignore": False, "a.py": False, "a.tmp": True}


def test_listing_errors_are_clear(live: Live) -> None:
    missing = live.http.get("/file", params={"path": "nope"})
    assert missing.status_code == 404
    assert "nope" in message(missing)
    a_file = live.http.get("/file", params={"path": "README.md"})
    assert a_file.status_code == 400
    assert a_file.json()["data"]["field"] == "path"
    no_param = live.http.get("/file")
    assert no_param.status_code == 400
    assert no_param.json()["data"]["field"] == "path"


# --- GET /file/content -------------------------------------------------------------------------


def test_text_content_is_the_files_bytes(live: Live) -> None:
    text = "héllo\n  world\n\n"
    (live.project / "notes.txt").write_bytes(text.encode())
    reply = live.http.get("/file/content", params={"path": "notes.txt"})
    assert reply.status_code == 200
    assert reply.json() == {"type": "text", "content": text}


def test_binary_content_comes_base64(live: Live) -> None:
    blob = bytes(range(256)) * 4
    (live.project / "data.bin").write_bytes(blob)
    body = live.http.get("/file/content", params={"path": "data.bin"}).json()
    assert body["type"] == "binary" and body["encoding"] == "base64"
    assert base64.b64decode(body["content"]) == blob
    png = b"\x89PNG\r\n\x1a\n" + b"\0" * 20
    (live.project / "logo.png").write_bytes(png)
    image = live.http.get("/file/content", params={"path": "logo.png"}).json()
    assert (image["type"], image["encoding"], image["mimeType"]) == ("text", "base64", "image/png")
    assert base64.b64decode(image["content"]) == png


def test_a_modified_file_comes_with_its_diff_and_patch(live: Live) -> None:
    repo(live.project)
    (live.project / "README.md").write_text("# changed\nmore\n")
    body = live.http.get("/file/content", params={"path": "README.md"}).json()
    assert body["content"] == "# changed\nmore\n"
    assert "-# demo" in body["diff"] and "+# changed" in body["diff"]
    patch = body["patch"]
    assert patch["oldFileName"] == "README.md" and patch["newFileName"] == "README.md"
    assert patch["hunks"][0]["lines"] == ["-# demo", "+# changed", "+more"]
    assert patch["hunks"][0]["oldStart"] == 1 and patch["hunks"][0]["newLines"] == 2
    (live.project / "new.txt").write_text("fresh\n")
    untracked = live.http.get("/file/content", params={"path": "new.txt"}).json()
    assert untracked == {"type": "text", "content": "fresh\n"}  # nothing to compare with


def test_content_errors_are_clear(live: Live) -> None:
    assert live.http.get("/file/content", params={"path": "missing.txt"}).status_code == 404
    folder = live.http.get("/file/content", params={"path": "."})
    assert folder.status_code == 400
    assert "directory" in message(folder)
    empty = live.http.get("/file/content", params={"path": ""})
    assert empty.status_code == 400 and empty.json()["data"]["field"] == "path"
    os.mkfifo(live.project / "pipe")
    pipe = live.http.get("/file/content", params={"path": "pipe"})  # reading it would never end
    assert pipe.status_code == 400 and "regular file" in message(pipe)
    nul = live.http.get("/file/content", params={"path": "a\0b"})
    assert nul.status_code == 400 and "NUL" in message(nul)


# --- the project boundary --------------------------------------------------------------------------


@pytest.fixture
def outside(live: Live) -> Path:
    secret = live.project.parent / "secret.txt"
    secret.write_text("top secret\n")
    return secret


@pytest.mark.parametrize("route", ["/file/content", "/file"])
def test_dot_dot_out_of_the_project_is_refused(live: Live, outside: Path, route: str) -> None:
    for path in ("../secret.txt", "..", "src/../../secret.txt"):
        reply = live.http.get(route, params={"path": path})
        assert reply.status_code == 403, path
        assert "outside the project" in message(reply)
        assert "top secret" not in reply.text


def test_absolute_paths_outside_are_refused_and_inside_allowed(live: Live, outside: Path) -> None:
    for path in ("/etc/passwd", str(outside)):
        reply = live.http.get("/file/content", params={"path": path})
        assert reply.status_code == 403, path
        assert "root:" not in reply.text and "top secret" not in reply.text
    inside = live.http.get("/file/content", params={"path": str(live.project / "README.md")})
    assert inside.status_code == 200
    assert inside.json()["content"] == "# demo\n"
    harmless = live.http.get("/file/content", params={"path": "src/../README.md"})
    assert harmless.status_code == 200  # `..` that stays inside is just a path


def test_symbolic_links_that_lead_out_are_refused(live: Live, outside: Path) -> None:
    (live.project / "link.txt").symlink_to(outside)
    (live.project / "elsewhere").symlink_to(outside.parent)
    for route, path in (
        ("/file/content", "link.txt"),
        ("/file", "elsewhere"),
        ("/file/content", "elsewhere/secret.txt"),
    ):
        reply = live.http.get(route, params={"path": path})
        assert reply.status_code == 403, path
        assert "symbolic link" in message(reply)
        assert "top secret" not in reply.text
    (live.project / "inner.txt").symlink_to(live.project / "README.md")
    assert live.http.get("/file/content", params={"path": "inner.txt"}).json()["content"] == "# demo\n"


# --- GET /file/status ----------------------------------------------------------------------------


def test_file_status_lists_git_changes(live: Live) -> None:
    (live.project / "gone.txt").write_text("a\nb\n")
    repo(live.project)
    (live.project / "README.md").write_text("# demo\nline two\nline three\n")
    (live.project / "gone.txt").unlink()
    (live.project / "new.py").write_text("x = 1\ny = 2\n")
    reply = live.http.get("/file/status")
    assert reply.status_code == 200
    assert reply.json() == [
        {"path": "README.md", "added": 2, "removed": 0, "status": "modified"},
        {"path": "gone.txt", "added": 0, "removed": 2, "status": "deleted"},
        {"path": "new.py", "added": 2, "removed": 0, "status": "added"},
    ]


def test_file_status_outside_git_is_empty(live: Live) -> None:
    (live.project / "new.py").write_text("x = 1\n")
    assert live.http.get("/file/status").json() == []  # the fixture's `.git` is an empty folder


# --- GET /find -------------------------------------------------------------------------------------


def test_find_text_gives_ripgrep_matches(live: Live) -> None:
    (live.project / "src").mkdir()
    (live.project / "src" / "a.py").write_text("one\nfind the needle here\nneedle again\n")
    (live.project / ".hidden.txt").write_text("a needle in hiding\n")
    reply = live.http.get("/find", params={"pattern": "need+le"})
    assert reply.status_code == 200
    matches = sorted(reply.json(), key=lambda m: (m["path"]["text"], m["line_number"]))
    assert [(m["path"]["text"], m["line_number"]) for m in matches] == [
        (".hidden.txt", 1),
        ("src/a.py", 2),
        ("src/a.py", 3),
    ]
    second = matches[1]
    assert second["lines"]["text"] == "find the needle here\n"
    assert second["absolute_offset"] == len("one\n")
    assert second["submatches"] == [{"match": {"text": "needle"}, "start": 9, "end": 15}]


def test_find_text_refuses_bad_patterns(live: Live) -> None:
    missing = live.http.get("/find")
    assert missing.status_code == 400 and missing.json()["data"]["field"] == "pattern"
    empty = live.http.get("/find", params={"pattern": ""})
    assert empty.status_code == 400 and empty.json()["data"]["field"] == "pattern"
    broken = live.http.get("/find", params={"pattern": "(unclosed"})
    assert broken.status_code == 400
    assert "regex" in message(broken).lower()
    assert live.http.get("/find", params={"pattern": "zzz-not-there"}).json() == []


def test_find_file_ranks_fuzzily(live: Live) -> None:
    for path in ("src/app.py", "src/opencode/tui/app.py", "docs/map.txt", "tests/test_apply.py", ".github/ci.yml"):
        (live.project / path).parent.mkdir(parents=True, exist_ok=True)
        (live.project / path).write_text("")
    files = live.http.get("/find/file", params={"query": "app", "dirs": "false"}).json()
    assert files[:2] == ["src/app.py", "src/opencode/tui/app.py"]
    assert all(not f.endswith("/") for f in files)
    both = live.http.get("/find/file", params={"query": "tui"}).json()
    assert "src/opencode/tui/" in both
    dirs = live.http.get("/find/file", params={"query": "", "type": "directory", "limit": 50}).json()
    assert dirs[-1] == ".github/"  # hidden last
    assert set(dirs) == {".github/", "docs/", "src/", "src/opencode/", "src/opencode/tui/", "tests/"}
    assert live.http.get("/find/file", params={"query": "app", "limit": 1}).json() == ["src/app.py"]


@pytest.mark.parametrize(
    ("params", "field"),
    [({"limit": "0"}, "limit"), ({"limit": "many"}, "limit"), ({"dirs": "maybe"}, "dirs"), ({"type": "x"}, "type")],
)
def test_find_file_refuses_bad_parameters(live: Live, params: dict[str, str], field: str) -> None:
    reply = live.http.get("/find/file", params={"query": "a", **params})
    assert reply.status_code == 400
    assert reply.json()["data"]["field"] == field


def test_find_symbol_is_empty_without_language_servers(live: Live) -> None:
    assert live.http.get("/find/symbol", params={"query": "main"}).json() == []
    assert live.http.get("/find/symbol").status_code == 400
