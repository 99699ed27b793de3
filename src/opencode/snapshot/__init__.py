"""Snapshots of the project's work tree, so every step of the agent can be undone and redone.

The snapshots live in a git directory of our own under the XDG data dir
(`<data>/snapshot/<project id>`), used with the project as its work tree and with its own index,
so the user's `.git`, index, stash and hooks are never touched and a project that is not a git
repository is snapshotted all the same. `Snapshots.track()` records the work tree and returns a
tree hash; `changed` lists the files between two snapshots, `restore` puts chosen files back as a
snapshot had them, `diff` renders the difference for the faces. Undo and redo on top of this
live in `opencode.session.revert`.
"""

from __future__ import annotations

from opencode.snapshot.git import DEFAULT_MAX_FILE_BYTES, SnapshotError, Snapshots, project_id

__all__ = ["DEFAULT_MAX_FILE_BYTES", "SnapshotError", "Snapshots", "project_id"]
