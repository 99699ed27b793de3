"""Undo / redo through a real SQLiteStore and real snapshots: sessions are fabricated the way the engine writes
them (step-start with the start hash, a patch part with the changed files, step-finish with the end hash), with
files changed on disk between the track calls to play the steps."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from opencode.id import ascending
from opencode.session.model import (
    AssistantMessage,
    AssistantPath,
    PatchPart,
    Session,
    StepFinishPart,
    StepStartPart,
    TextPart,
    UserMessage,
)
from opencode.session.revert import RevertError, cleanup_revert, record_step, revert, unrevert, visible_messages
from opencode.session.sqlite import SQLiteStore
from opencode.snapshot import SnapshotError, Snapshots


def write(root: Path, rel: str, text: str, mode: int | None = None) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    if mode is not None:
        path.chmod(mode)


def read(root: Path, rel: str) -> str | None:
    path = root / rel
    return path.read_text() if path.exists() else None


class Harness:
    """A session in a real store over a real project, and the engine's side of the snapshot contract."""

    def __init__(self, root: Path, store: SQLiteStore) -> None:
        self.root = root
        self.store = store
        self.snaps = Snapshots(root)
        self.session = Session(id=ascending("ses"), projectID="p", directory=str(root), title="t")
        store.put_session(self.session)

    def user(self, text: str) -> str:
        message = UserMessage(id=ascending("msg"), sessionID=self.session.id)
        self.store.put_message(message)
        self.store.put_part(TextPart(id=ascending("prt"), sessionID=self.session.id, messageID=message.id, text=text))
        return message.id

    async def step(self, parent: str, change: Callable[[], None]) -> str:
        """One assistant step as the engine records it; `change` plays the tools' effect on disk."""
        message = AssistantMessage(
            id=ascending("msg"),
            sessionID=self.session.id,
            parentID=parent,
            modelID="m",
            providerID="p",
            path=AssistantPath(cwd=str(self.root), root=str(self.root)),
        )
        self.store.put_message(message)
        start = await self.snaps.track()
        ids = {"sessionID": self.session.id, "messageID": message.id}
        self.store.put_part(StepStartPart(id=ascending("prt"), snapshot=start, **ids))
        change()
        end, files = await record_step(self.snaps, start)
        if files:
            self.store.put_part(PatchPart(id=ascending("prt"), hash=start, files=files, **ids))
        self.store.put_part(StepFinishPart(id=ascending("prt"), reason="stop", snapshot=end, **ids))
        return message.id

    def visible(self) -> list[str]:
        return [m.info.id for m in visible_messages(self.store, self.store.get_session(self.session.id))]

    def all(self) -> list[str]:
        return [m.info.id for m in self.store.list_messages(self.session.id)]


@pytest.fixture
def root(tmp_path: Path) -> Path:
    project = tmp_path / "project"
    project.mkdir()
    return project


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SQLiteStore]:
    s = SQLiteStore(tmp_path / "opencode.db")
    yield s
    s.close()


@pytest.fixture
def h(root: Path, store: SQLiteStore) -> Harness:
    return Harness(root, store)


def git(root: Path, *args: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(GIT_AUTHOR_NAME="u", GIT_AUTHOR_EMAIL="u@e", GIT_COMMITTER_NAME="u", GIT_COMMITTER_EMAIL="u@e")
    env["GIT_OPTIONAL_LOCKS"] = "0"
    return subprocess.run(["git", *args], cwd=root, env=env, capture_output=True, text=True, check=True).stdout


async def test_undo_of_a_step_that_edited_three_files_and_created_one_and_redo(
    root: Path, store: SQLiteStore, h: Harness
) -> None:
    # A repository with the user's own uncommitted edit, made before the agent runs.
    for name in ("a.py", "b.py", "c.sh", "mine.txt"):
        write(root, name, f"{name} v1\n")
    (root / "c.sh").chmod(0o755)
    git(root, "init", "-q")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "base")
    write(root, "mine.txt", "the user's uncommitted edit\n")
    status = git(root, "status", "--porcelain")

    u1 = h.user("edit three files and create one")

    def agent() -> None:
        write(root, "a.py", "a.py by the agent\n")
        write(root, "b.py", "b.py by the agent\n")
        write(root, "c.sh", "c.sh by the agent\n", 0o644)
        write(root, "pkg/new.py", "created by the agent\n")

    a1 = await h.step(u1, agent)
    patch = [p for p in store.get_message(h.session.id, a1).parts if isinstance(p, PatchPart)]
    assert [p.files for p in patch] == [["a.py", "b.py", "c.sh", "pkg/new.py"]]
    # The user keeps working on their own file after the agent's step, before the undo.
    write(root, "mine.txt", "the user's uncommitted edit, and more\n")

    session = await revert(store, h.snaps, h.session.id, u1)
    assert session.revert is not None and session.revert.messageID == u1 and session.revert.snapshot
    assert "a.py by the agent" in (session.revert.diff or "")
    for name in ("a.py", "b.py", "c.sh"):
        assert read(root, name) == f"{name} v1\n"
    assert os.stat(root / "c.sh").st_mode & 0o111, "the mode comes back too"
    assert not (root / "pkg").exists()
    assert read(root, "mine.txt") == "the user's uncommitted edit, and more\n"
    assert h.visible() == []
    assert h.all() == [u1, a1], "hidden, not deleted"
    write(root, "mine.txt", "the user's uncommitted edit\n")
    assert git(root, "status", "--porcelain") == status

    # Redo, from a fresh store object (the revert state survives a restart).
    write(root, "mine.txt", "edited again while reverted\n")
    reopened = SQLiteStore(store.path)
    try:
        session = await unrevert(reopened, Snapshots(root), h.session.id)
    finally:
        reopened.close()
    assert session.revert is None
    assert read(root, "a.py") == "a.py by the agent\n"
    assert read(root, "b.py") == "b.py by the agent\n"
    assert read(root, "c.sh") == "c.sh by the agent\n"
    assert not os.stat(root / "c.sh").st_mode & 0o111
    assert read(root, "pkg/new.py") == "created by the agent\n"
    assert read(root, "mine.txt") == "edited again while reverted\n"
    assert h.visible() == [u1, a1]


async def test_reverting_a_middle_message_touches_only_files_changed_from_it_on(root: Path, h: Harness) -> None:
    write(root, "early.txt", "early v0\n")
    write(root, "a.txt", "a v0\n")
    write(root, "b.txt", "b v0\n")
    write(root, "untouched.txt", "never changed by the agent\n")
    u1 = h.user("one")

    def one() -> None:
        write(root, "early.txt", "early v1\n")
        write(root, "a.txt", "a v1\n")

    a1 = await h.step(u1, one)
    u2 = h.user("two")

    def two() -> None:
        write(root, "b.txt", "b v2\n")
        write(root, "c.txt", "c v2 created\n")

    a2 = await h.step(u2, two)
    u3 = h.user("three")

    def three() -> None:
        write(root, "a.txt", "a v3\n")
        (root / "b.txt").unlink()

    a3 = await h.step(u3, three)
    write(root, "untouched.txt", "the user's edit\n")

    await revert(h.store, h.snaps, h.session.id, u2)
    assert read(root, "early.txt") == "early v1\n", "changed only before the revert point: kept"
    assert read(root, "a.txt") == "a v1\n", "back to its state before the first step from u2 on that changed it"
    assert read(root, "b.txt") == "b v0\n"
    assert read(root, "c.txt") is None
    assert read(root, "untouched.txt") == "the user's edit\n"
    assert h.visible() == [u1, a1]

    await unrevert(h.store, h.snaps, h.session.id)
    assert read(root, "a.txt") == "a v3\n"
    assert read(root, "b.txt") is None
    assert read(root, "c.txt") == "c v2 created\n"
    assert h.visible() == [u1, a1, u2, a2, u3, a3]


async def test_moving_the_revert_point_earlier_and_later(root: Path, h: Harness) -> None:
    write(root, "x.txt", "x0\n")
    write(root, "y.txt", "y0\n")
    u1 = h.user("one")
    a1 = await h.step(u1, lambda: write(root, "x.txt", "x1\n"))
    u2 = h.user("two")
    a2 = await h.step(u2, lambda: write(root, "y.txt", "y2\n"))

    first = await revert(h.store, h.snaps, h.session.id, u2)
    assert (read(root, "x.txt"), read(root, "y.txt")) == ("x1\n", "y0\n")
    pre = first.revert.snapshot if first.revert else None

    # Earlier: everything from u1 on is undone; the state to redo to stays the one before the first revert.
    moved = await revert(h.store, h.snaps, h.session.id, u1)
    assert moved.revert is not None and moved.revert.messageID == u1 and moved.revert.snapshot == pre
    assert (read(root, "x.txt"), read(root, "y.txt")) == ("x0\n", "y0\n")
    assert h.visible() == []

    # Later again (a partial redo): u1's step comes back, u2's stays undone.
    await revert(h.store, h.snaps, h.session.id, u2)
    assert (read(root, "x.txt"), read(root, "y.txt")) == ("x1\n", "y0\n")
    assert h.visible() == [u1, a1]

    # Reverting an assistant message hides from it on, its user message stays.
    await revert(h.store, h.snaps, h.session.id, a2)
    assert (read(root, "x.txt"), read(root, "y.txt")) == ("x1\n", "y0\n")
    assert h.visible() == [u1, a1, u2]

    await unrevert(h.store, h.snaps, h.session.id)
    assert (read(root, "x.txt"), read(root, "y.txt")) == ("x1\n", "y2\n")
    assert h.visible() == [u1, a1, u2, a2]


async def test_several_steps_in_one_turn_are_undone_together(root: Path, h: Harness) -> None:
    write(root, "f.txt", "f0\n")
    u1 = h.user("work")
    a1 = await h.step(u1, lambda: write(root, "f.txt", "f1\n"))

    def second() -> None:
        write(root, "f.txt", "f2\n")
        write(root, "g.txt", "g2\n")

    a2 = await h.step(u1, second)
    a3 = await h.step(u1, lambda: None)
    assert h.all() == [u1, a1, a2, a3]
    assert not [p for p in h.store.get_message(h.session.id, a3).parts if isinstance(p, PatchPart)]
    await revert(h.store, h.snaps, h.session.id, u1)
    assert read(root, "f.txt") == "f0\n"
    assert read(root, "g.txt") is None


async def test_cleanup_revert_deletes_the_hidden_messages(root: Path, h: Harness) -> None:
    write(root, "f.txt", "f0\n")
    u1 = h.user("one")
    a1 = await h.step(u1, lambda: write(root, "f.txt", "f1\n"))
    u2 = h.user("two")
    await h.step(u2, lambda: write(root, "f.txt", "f2\n"))
    await revert(h.store, h.snaps, h.session.id, u2)
    session = cleanup_revert(h.store, h.session.id)
    assert session.revert is None
    assert h.all() == [u1, a1]
    assert h.store.get_session(h.session.id).revert is None
    assert read(root, "f.txt") == "f1\n", "the files stay reverted"
    with pytest.raises(RevertError, match="no revert"):
        await unrevert(h.store, h.snaps, h.session.id)
    # Without a revert it does nothing.
    assert cleanup_revert(h.store, h.session.id).revert is None
    assert h.all() == [u1, a1]


async def test_errors_are_clear_and_change_nothing(root: Path, h: Harness) -> None:
    with pytest.raises(RevertError, match="no revert"):
        await unrevert(h.store, h.snaps, h.session.id)
    with pytest.raises(RevertError, match="not in session"):
        await revert(h.store, h.snaps, h.session.id, "msg_nope")
    with pytest.raises(RevertError, match="not found"):
        await revert(h.store, h.snaps, "ses_nope", "msg_nope")

    write(root, "f.txt", "f0\n")
    u1 = h.user("one")
    a1 = await h.step(u1, lambda: write(root, "f.txt", "f1\n"))
    # A patch whose snapshot was pruned: the revert fails before any file moves.
    h.store.put_part(
        PatchPart(
            id=ascending("prt"),
            sessionID=h.session.id,
            messageID=a1,
            hash="0123456789abcdef0123456789abcdef01234567",
            files=["g.txt"],
        )
    )
    write(root, "g.txt", "g\n")
    with pytest.raises(SnapshotError, match="not in the snapshot store"):
        await revert(h.store, h.snaps, h.session.id, u1)
    assert read(root, "f.txt") == "f1\n"
    assert read(root, "g.txt") == "g\n"
    assert h.store.get_session(h.session.id).revert is None
    assert h.visible() == [u1, a1]


async def test_patch_parts_with_absolute_paths_from_opencode(root: Path, h: Harness) -> None:
    write(root, "f.txt", "f0\n")
    u1 = h.user("one")
    start = await h.snaps.track()
    write(root, "f.txt", "f1\n")
    a1 = await h.step(u1, lambda: None)
    h.store.put_part(
        PatchPart(id=ascending("prt"), sessionID=h.session.id, messageID=a1, hash=start, files=[str(root / "f.txt")])
    )
    await revert(h.store, h.snaps, h.session.id, u1)
    assert read(root, "f.txt") == "f0\n"


async def test_a_revert_from_a_part_keeps_the_steps_before_it(root: Path, h: Harness) -> None:
    write(root, "f.txt", "f0\n")
    u1 = h.user("one")
    a1 = await h.step(u1, lambda: write(root, "f.txt", "f1\n"))
    # A second step in the same assistant message: its own start, patch and finish parts.
    ids = {"sessionID": h.session.id, "messageID": a1}
    start = await h.snaps.track()
    second = StepStartPart(id=ascending("prt"), snapshot=start, **ids)
    h.store.put_part(second)
    write(root, "f.txt", "f2\n")
    end, files = await record_step(h.snaps, start)
    h.store.put_part(PatchPart(id=ascending("prt"), hash=start, files=files, **ids))
    h.store.put_part(StepFinishPart(id=ascending("prt"), reason="stop", snapshot=end, **ids))
    every = [p.id for p in h.store.get_message(h.session.id, a1).parts]

    session = await revert(h.store, h.snaps, h.session.id, a1, second.id)
    assert session.revert is not None and session.revert.partID == second.id
    assert read(root, "f.txt") == "f1\n", "only the second step's change is undone"
    (shown,) = [m for m in visible_messages(h.store, session) if m.info.id == a1]
    assert [p.id for p in shown.parts] == every[: every.index(second.id)]

    await unrevert(h.store, h.snaps, h.session.id)
    assert read(root, "f.txt") == "f2\n"
    assert [p.id for p in h.store.get_message(h.session.id, a1).parts] == every

    await revert(h.store, h.snaps, h.session.id, a1, second.id)
    cleanup_revert(h.store, h.session.id)
    assert h.all() == [u1, a1]
    assert [p.id for p in h.store.get_message(h.session.id, a1).parts] == every[: every.index(second.id)]
    with pytest.raises(RevertError, match="part prt_nothere is not in message"):
        await revert(h.store, h.snaps, h.session.id, a1, "prt_nothere")
