"""Snapshots with real git in temporary directories: track / changed / restore / diff in a plain directory
and in a user's repository (whose index, status, stash and refs must not move), ignores, size cap, modes,
symlinks, odd file names, isolation from the environment, errors."""

from __future__ import annotations

import asyncio
import os
import stat
import subprocess
import time
from pathlib import Path

import pytest

from opencode.config.paths import paths
from opencode.snapshot import SnapshotError, Snapshots, project_id


def user_git(root: Path, *args: str) -> str:
    """The user's own git, with an identity of its own and without touching the index as a side effect."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(
        GIT_AUTHOR_NAME="u",
        GIT_AUTHOR_EMAIL="u@example.com",
        GIT_COMMITTER_NAME="u",
        GIT_COMMITTER_EMAIL="u@example.com",
        GIT_OPTIONAL_LOCKS="0",
        GIT_CONFIG_NOSYSTEM="1",
    )
    result = subprocess.run(["git", *args], cwd=root, env=env, capture_output=True, text=True, check=True)
    return result.stdout


def write(root: Path, rel: str, text: str | bytes, mode: int | None = None) -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    if mode is not None:
        path.chmod(mode)
    return path


def tree_state(root: Path) -> dict[str, tuple[str, bytes | str]]:
    """Every file under root (outside .git) as (kind, content or link target), with the exec bit in the kind."""
    state: dict[str, tuple[str, bytes | str]] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d != ".git"]
        for name in filenames:
            path = Path(dirpath) / name
            rel = path.relative_to(root).as_posix()
            if path.is_symlink():
                state[rel] = ("link", os.readlink(path))
            else:
                kind = "exec" if os.stat(path).st_mode & stat.S_IXUSR else "file"
                state[rel] = (kind, path.read_bytes())
    return state


@pytest.fixture
def root(tmp_path: Path) -> Path:
    project = tmp_path / "project"
    project.mkdir()
    return project


@pytest.fixture
def snaps(root: Path) -> Snapshots:
    return Snapshots(root)


async def test_store_lives_under_the_data_dir_by_project_id(root: Path, snaps: Snapshots) -> None:
    pid = project_id(root)
    assert len(pid) == 16 and all(c in "0123456789abcdef" for c in pid)
    assert snaps.gitdir == paths().data / "snapshot" / pid
    write(root, "a.txt", "a")
    await snaps.track()
    assert (snaps.gitdir / "HEAD").is_file()
    assert not (root / ".git").exists(), "a plain directory must not become a git repository"
    assert not (snaps.gitdir / "hooks").exists(), "no template: no sample hooks"


async def test_track_changed_restore_in_a_plain_directory(root: Path, snaps: Snapshots) -> None:
    write(root, "keep.txt", "keep\n")
    write(root, "edit.py", "print('old')\n")
    write(root, "run.sh", "#!/bin/sh\necho old\n", 0o755)
    write(root, "gone/deleted.txt", "deleted later\n")
    write(root, "plain.sh", "echo\n", 0o644)
    os.symlink("keep.txt", root / "link")
    before_state = tree_state(root)
    before = await snaps.track()
    assert await snaps.track() == before, "the same work tree gives the same hash"
    assert await snaps.changed(before) == []

    # A "step": edits, a deletion, new files in new directories, a mode change, a retargeted symlink.
    write(root, "edit.py", "print('new')\n")
    write(root, "run.sh", "#!/bin/sh\necho new\n")
    (root / "gone" / "deleted.txt").unlink()
    (root / "gone").rmdir()
    write(root, "new/deeper/created.txt", "created\n")
    write(root, "created.txt", "created\n")
    (root / "plain.sh").chmod(0o755)
    (root / "link").unlink()
    os.symlink("edit.py", root / "link")
    after = await snaps.track()
    files = await snaps.changed(before)
    assert files == [
        "created.txt",
        "edit.py",
        "gone/deleted.txt",
        "link",
        "new/deeper/created.txt",
        "plain.sh",
        "run.sh",
    ]
    assert await snaps.changed(before, after) == files

    # Something outside the list changes too: restore must leave it alone.
    write(root, "keep.txt", "the user's edit\n")
    await snaps.restore(before, files)
    expected = dict(before_state)
    expected["keep.txt"] = ("file", b"the user's edit\n")
    assert tree_state(root) == expected
    assert not (root / "new").exists(), "directories left empty by the deletions go too"
    assert os.stat(root / "run.sh").st_mode & 0o777 == 0o755
    assert os.stat(root / "plain.sh").st_mode & 0o100 == 0
    assert os.readlink(root / "link") == "keep.txt"
    assert await snaps.changed(before) == ["keep.txt"]

    # And forward again (redo) from the later snapshot.
    await snaps.restore(after, files)
    assert (root / "new" / "deeper" / "created.txt").read_text() == "created\n"
    assert not (root / "gone").exists()
    assert (root / "edit.py").read_text() == "print('new')\n"
    assert (root / "keep.txt").read_text() == "the user's edit\n"


async def test_restore_touches_only_the_listed_files(root: Path, snaps: Snapshots) -> None:
    write(root, "a.txt", "a1")
    write(root, "b.txt", "b1")
    before = await snaps.track()
    write(root, "a.txt", "a2")
    write(root, "b.txt", "b2")
    write(root, "c.txt", "c2")
    await snaps.restore(before, ["a.txt"])
    assert (root / "a.txt").read_text() == "a1"
    assert (root / "b.txt").read_text() == "b2"
    assert (root / "c.txt").read_text() == "c2"
    await snaps.restore(before, [])
    assert (root / "c.txt").exists()


async def test_restore_keeps_an_empty_directory_that_the_snapshot_had_a_file_in(root: Path, snaps: Snapshots) -> None:
    write(root, "pkg/__init__.py", "")
    before = await snaps.track()
    write(root, "pkg/mod.py", "x = 1\n")
    await snaps.restore(before, await snaps.changed(before))
    assert (root / "pkg" / "__init__.py").exists()
    assert not (root / "pkg" / "mod.py").exists()


async def test_restore_accepts_absolute_paths_inside_root_only(root: Path, snaps: Snapshots) -> None:
    write(root, "a.txt", "a1")
    before = await snaps.track()
    write(root, "a.txt", "a2")
    await snaps.restore(before, [str(root / "a.txt")])
    assert (root / "a.txt").read_text() == "a1"
    for bad in ("/etc/passwd", "../outside.txt", "a/../../x", "."):
        with pytest.raises(SnapshotError, match="project"):
            await snaps.restore(before, [bad])


async def test_file_and_directory_swaps(root: Path, snaps: Snapshots) -> None:
    write(root, "thing", "a file\n")
    before = await snaps.track()
    (root / "thing").unlink()
    write(root, "thing/inside.txt", "now a directory\n")
    files = await snaps.changed(before)
    assert files == ["thing", "thing/inside.txt"]
    await snaps.restore(before, files)
    assert (root / "thing").read_text() == "a file\n"
    later = await snaps.track()
    assert await snaps.changed(before, later) == []


async def test_odd_file_names(root: Path, snaps: Snapshots) -> None:
    names = ["with space.txt", "star*.txt", "[abc].txt", "q?.txt", "ünïcödé.txt", ":(glob)x", "-dash", "#hash", "!bang"]
    for name in names:
        write(root, name, "old " + name)
    write(root, "a.txt", "matched by a glob if pathspecs were not literal")
    before = await snaps.track()
    for name in names:
        write(root, name, "new " + name)
    write(root, "a.txt", "changed")
    files = await snaps.changed(before)
    assert sorted(files) == sorted([*names, "a.txt"])
    await snaps.restore(before, names)
    for name in names:
        assert (root / name).read_text() == "old " + name
    assert (root / "a.txt").read_text() == "changed"


async def test_gitignore_and_info_exclude_are_respected(root: Path, snaps: Snapshots) -> None:
    write(root, ".gitignore", "build/\n*.log\n")
    write(root, "sub/.gitignore", "secret.txt\n")
    write(root, "src/main.py", "x = 1\n")
    user_git(root, "init", "-q")
    write(root, ".git/info/exclude", "local-only/\n")
    before = await snaps.track()
    write(root, "build/out.bin", "binary")
    write(root, "debug.log", "log")
    write(root, "sub/secret.txt", "secret")
    write(root, "local-only/notes.txt", "notes")
    write(root, "src/main.py", "x = 2\n")
    assert await snaps.changed(before) == ["src/main.py"]
    # A file ignored after it was first snapshotted leaves later snapshots.
    write(root, ".gitignore", "build/\n*.log\nsrc/\n")
    assert await snaps.changed(before) == [".gitignore", "src/main.py"]
    tree = await snaps.track()
    listing = subprocess.run(
        ["git", f"--git-dir={snaps.gitdir}", "ls-tree", "-r", "--name-only", tree],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert listing == [".gitignore", "sub/.gitignore"]


async def test_large_files_are_skipped(root: Path) -> None:
    snaps = Snapshots(root, max_file_bytes=1000)
    write(root, "small.txt", "s")
    write(root, "grows.txt", "g")
    before = await snaps.track()
    write(root, "huge.bin", b"x" * 1001)
    write(root, "limit.bin", b"x" * 1000)
    assert await snaps.changed(before) == ["limit.bin"]
    # A tracked file that grows past the cap leaves the snapshot (it cannot be restored from it).
    write(root, "grows.txt", b"g" * 5000)
    assert await snaps.changed(before) == ["grows.txt", "limit.bin"]
    await snaps.restore(before, ["grows.txt", "limit.bin"])
    assert (root / "grows.txt").read_text() == "g"
    assert not (root / "limit.bin").exists()
    assert (root / "huge.bin").stat().st_size == 1001


async def test_bytes_are_restored_exactly_whatever_gitattributes_say(root: Path, snaps: Snapshots) -> None:
    write(root, ".gitattributes", "* text=auto eol=lf\n*.txt ident\n")
    crlf = b"line one\r\nline two\r\n$Id$\r\n"
    write(root, "dos.txt", crlf)
    write(root, "bin.dat", bytes(range(256)))
    before = await snaps.track()
    write(root, "dos.txt", "replaced\n")
    write(root, "bin.dat", b"\0")
    await snaps.restore(before, await snaps.changed(before))
    assert (root / "dos.txt").read_bytes() == crlf
    assert (root / "bin.dat").read_bytes() == bytes(range(256))


async def test_nested_repositories_are_left_out(root: Path, snaps: Snapshots) -> None:
    write(root, "a.txt", "a")
    write(root, "vendor/lib/x.py", "x")
    user_git(root / "vendor" / "lib", "init", "-q")
    before = await snaps.track()
    write(root, "vendor/lib/x.py", "changed")
    assert await snaps.changed(before) == []


async def test_a_store_inside_the_project_is_not_snapshotted(root: Path) -> None:
    snaps = Snapshots(root, root / ".cache" / "snap")
    write(root, "a.txt", "a")
    before = await snaps.track()
    write(root, "a.txt", "b")
    assert await snaps.changed(before) == ["a.txt"]


async def test_users_repository_index_status_stash_and_refs_are_untouched(
    root: Path, snaps: Snapshots, monkeypatch: pytest.MonkeyPatch
) -> None:
    user_git(root, "init", "-q")
    write(root, "committed.txt", "v1\n")
    write(root, "staged.txt", "v1\n")
    write(root, "tool.sh", "#!/bin/sh\n", 0o755)
    user_git(root, "add", "-A")
    user_git(root, "commit", "-q", "-m", "first")
    write(root, "stashed.txt", "stash me\n")
    user_git(root, "add", "stashed.txt")
    user_git(root, "stash", "-q")
    write(root, "staged.txt", "v2 staged\n")
    user_git(root, "add", "staged.txt")
    write(root, "staged.txt", "v3 unstaged on top of staged\n")
    write(root, "committed.txt", "uncommitted edit\n")
    write(root, "untracked.txt", "untracked\n")
    write(root, ".git/hooks/pre-commit", "#!/bin/sh\necho hook ran > hook-ran\n", 0o755)
    write(root, ".git/hooks/post-checkout", "#!/bin/sh\necho hook ran > hook-ran\n", 0o755)

    def user_view() -> tuple[bytes, str, str, str, str]:
        return (
            (root / ".git" / "index").read_bytes(),
            user_git(root, "status", "--porcelain=v1", "-uall"),
            user_git(root, "stash", "list"),
            user_git(root, "for-each-ref"),
            user_git(root, "diff", "--cached"),
        )

    view = user_view()
    files_before = tree_state(root)
    # Variables a git hook or an outer git command would have set must not redirect our git calls.
    monkeypatch.setenv("GIT_DIR", str(root / ".git"))
    monkeypatch.setenv("GIT_INDEX_FILE", str(root / ".git" / "index"))
    monkeypatch.setenv("GIT_WORK_TREE", str(root))
    snaps = Snapshots(root)
    before = await snaps.track()
    assert user_view() == view

    # The agent's step edits the user's files (tracked, staged, untracked) and adds one.
    write(root, "committed.txt", "agent\n")
    write(root, "staged.txt", "agent\n")
    write(root, "untracked.txt", "agent\n")
    write(root, "tool.sh", "#!/bin/sh\necho agent\n")
    write(root, "agent-new.txt", "agent\n")
    files = await snaps.changed(before)
    assert files == ["agent-new.txt", "committed.txt", "staged.txt", "tool.sh", "untracked.txt"]
    assert "agent" in await snaps.diff(before)
    await snaps.restore(before, files)
    monkeypatch.delenv("GIT_DIR")
    monkeypatch.delenv("GIT_INDEX_FILE")
    monkeypatch.delenv("GIT_WORK_TREE")
    assert tree_state(root) == files_before
    assert user_view() == view
    assert not (root / "hook-ran").exists()
    assert os.stat(root / "tool.sh").st_mode & 0o111


async def test_diff_and_cleanup(root: Path, snaps: Snapshots) -> None:
    write(root, "a.txt", "one\n")
    before = await snaps.track()
    write(root, "a.txt", "two\n")
    write(root, "b.txt", "new\n")
    text = await snaps.diff(before)
    assert "diff --git a/a.txt b/a.txt" in text and "-one" in text and "+two" in text
    assert "b/b.txt" in text
    assert await snaps.diff(before, before) == ""
    after = await snaps.track()
    await snaps.cleanup()
    # Fresh snapshots survive gc (only those older than a week go).
    await snaps.verify([before, after])
    await snaps.restore(before, ["a.txt", "b.txt"])
    assert (root / "a.txt").read_text() == "one\n"


async def test_unknown_snapshot_is_a_clear_error(root: Path, snaps: Snapshots) -> None:
    write(root, "a.txt", "a")
    await snaps.track()
    missing = "0123456789abcdef0123456789abcdef01234567"
    with pytest.raises(SnapshotError, match="not in the snapshot store"):
        await snaps.restore(missing, ["a.txt"])
    with pytest.raises(SnapshotError, match="not in the snapshot store"):
        await snaps.verify([missing])
    with pytest.raises(SnapshotError) as info:
        await snaps.changed(missing)
    assert "\n" not in str(info.value)
    assert (root / "a.txt").read_text() == "a"


async def test_missing_git_turns_snapshots_off(root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    snaps = Snapshots(root)
    with pytest.raises(SnapshotError, match="git is not installed: snapshots"):
        await snaps.track()


async def test_a_git_call_that_hangs_is_stopped(root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = tmp_path / "slow-bin"
    fake.mkdir()
    write(fake, "git", "#!/bin/sh\nexec sleep 30\n", 0o755)
    monkeypatch.setenv("PATH", f"{fake}{os.pathsep}{os.environ['PATH']}")
    snaps = Snapshots(root, timeout=0.5)
    started = time.monotonic()
    with pytest.raises(SnapshotError, match=r"took longer than 0\.5 s"):
        await snaps.track()
    assert time.monotonic() - started < 5


async def test_missing_root_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(SnapshotError, match="not a directory"):
        await Snapshots(tmp_path / "nope").track()


async def test_concurrent_calls_share_one_index(root: Path, snaps: Snapshots) -> None:
    for i in range(50):
        write(root, f"f{i}.txt", str(i))
    hashes = await asyncio.gather(*(snaps.track() for _ in range(5)))
    assert len(set(hashes)) == 1
    # A second instance on the same store (another face in this process) works beside the first.
    other = Snapshots(root)
    write(root, "f0.txt", "changed")
    results = await asyncio.gather(snaps.changed(hashes[0]), other.changed(hashes[0]))
    assert list(results) == [["f0.txt"], ["f0.txt"]]


async def test_a_stale_index_lock_does_not_block_forever(root: Path) -> None:
    snaps = Snapshots(root, timeout=1.0)
    write(root, "a.txt", "a")
    await snaps.track()
    lock = snaps.gitdir / "index.lock"
    lock.write_text("")
    old = time.time() - 60
    os.utime(lock, (old, old))
    write(root, "a.txt", "b")
    await snaps.track()
    assert not lock.exists()
