"""The user's git repository as the faces show it: the branch, the changed files with line counts,
and a file's diff (as git prints it, and as hunks).

    if await is_repo(root):
        name = await branch(root)                        # "main"; "HEAD" when detached
        for change in await changes(root):               # working tree and index against HEAD
            print(change.file, change.status, change.additions, change.deletions)
        text = await file_diff(root, "src/app.py")       # "" when unchanged
        patch = parse_patch(text)                        # {"oldFileName", "newFileName", "hunks": [...]}

Paths are relative to the repository root (`root`, the project root), with forward slashes. git
runs without a shell, with a timeout, without taking the index lock (`GIT_OPTIONAL_LOCKS=0`, so a
status never races the user's own git) and never looking above `root` for a repository
(`GIT_CEILING_DIRECTORIES`). Anything that is not a git work tree gives no branch and no changes.

This is the user's repository, not the engine's shadow repository of snapshots (`opencode.snapshot`).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

GIT_TIMEOUT_S = 15.0
EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"
"""git's empty tree: the base to compare against in a repository without a first commit."""
MAX_COUNTED_BYTES = 4 * 1024 * 1024
"""An untracked file's lines are counted in at most this many bytes."""

Status = Literal["added", "deleted", "modified"]


@dataclass(frozen=True)
class Change:
    file: str
    additions: int
    deletions: int
    status: Status


@dataclass(frozen=True)
class GitRun:
    code: int
    out: bytes
    err: str


async def git(root: Path, *args: str, timeout_s: float = GIT_TIMEOUT_S) -> GitRun:
    """`git ARGS` in `root`; code 127 when git is missing, 124 when it ran too long (it is killed)."""
    env = {
        **os.environ,
        "GIT_OPTIONAL_LOCKS": "0",
        "GIT_CEILING_DIRECTORIES": str(root.parent),
        "GIT_TERMINAL_PROMPT": "0",
        "LC_ALL": "C",
    }
    try:
        proc = await asyncio.create_subprocess_exec(
            "git",
            "-c",
            "core.quotepath=false",
            *args,
            cwd=root,
            env=env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
    except (FileNotFoundError, NotADirectoryError):
        return GitRun(127, b"", "git is not installed")
    try:
        out, err = await asyncio.wait_for(proc.communicate(), timeout_s)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        await proc.wait()
        return GitRun(124, b"", f"git {args[0]} took longer than {timeout_s:.0f} s")
    return GitRun(proc.returncode or 0, out, err.decode("utf-8", errors="replace").strip())


async def is_repo(root: Path) -> bool:
    run = await git(root, "rev-parse", "--is-inside-work-tree")
    return run.code == 0 and run.out.strip() == b"true"


async def branch(root: Path) -> str | None:
    """The checked-out branch (also before the first commit); "HEAD" when detached; None outside git."""
    named = await git(root, "symbolic-ref", "--short", "-q", "HEAD")
    if named.code == 0 and named.out.strip():
        return named.out.decode("utf-8", errors="replace").strip()
    detached = await git(root, "rev-parse", "--verify", "-q", "HEAD")
    return "HEAD" if detached.code == 0 else None


async def default_branch(root: Path) -> str | None:
    """The remote's default branch (`origin/HEAD`), else a local `main` or `master`; None when unknown."""
    remote = await git(root, "symbolic-ref", "--short", "-q", "refs/remotes/origin/HEAD")
    if remote.code == 0 and remote.out.strip():
        return remote.out.decode("utf-8", errors="replace").strip().removeprefix("origin/")
    for name in ("main", "master"):
        if (await git(root, "rev-parse", "--verify", "-q", f"refs/heads/{name}")).code == 0:
            return name
    return None


async def base_of(root: Path, mode: Literal["git", "branch"] = "git") -> str | None:
    """What changes are measured against: HEAD (`git`), or where HEAD left the default branch
    (`branch`); the empty tree before a first commit; None when there is no such base."""
    head = await git(root, "rev-parse", "--verify", "-q", "HEAD")
    if head.code != 0:
        return EMPTY_TREE if mode == "git" else None
    if mode == "git":
        return "HEAD"
    default = await default_branch(root)
    if default is None:
        return None
    fork = await git(root, "merge-base", "HEAD", default)
    return fork.out.decode().strip() if fork.code == 0 and fork.out.strip() else None


async def changes(root: Path, base: str | None = None) -> list[Change]:
    """Files that differ from `base` (HEAD by default) in the working tree, staged or not, plus
    untracked files that are not ignored; sorted by path. Binary files count 0 lines."""
    if not await is_repo(root):
        return []
    base = base or await base_of(root) or EMPTY_TREE
    numstat, names, untracked = await asyncio.gather(
        git(root, "diff", "--numstat", "-z", "--no-renames", base),
        git(root, "diff", "--name-status", "-z", "--no-renames", base),
        git(root, "ls-files", "--others", "--exclude-standard", "-z"),
    )
    counts: dict[str, tuple[int, int]] = {}
    for record in _split_z(numstat.out):
        if record.count("\t") < 2:
            continue
        added, removed, path = record.split("\t", 2)
        if path:
            counts[path] = (_number(added), _number(removed))
    statuses: dict[str, Status] = {}
    fields = _split_z(names.out)
    for letter, path in zip(fields[::2], fields[1::2], strict=False):
        statuses[path] = {"A": "added", "D": "deleted"}.get(letter[:1], "modified")  # type: ignore[assignment]
    found = [Change(path, *counts.get(path, (0, 0)), status) for path, status in statuses.items()]
    for path in _split_z(untracked.out):
        if path not in statuses:
            found.append(Change(path, _count_lines(root / path), 0, "added"))
    return sorted(found, key=lambda change: change.file)


async def file_diff(root: Path, file: str, base: str | None = None, *, context: int = 3) -> str:
    """git's unified diff of one file against `base` (HEAD by default), staged and unstaged
    changes together; an untracked file as all added; "" when it is unchanged or outside git."""
    if not await is_repo(root):
        return ""
    base = base or await base_of(root) or EMPTY_TREE
    args = ("--no-color", "--no-ext-diff", f"--unified={max(0, context)}")
    run = await git(root, "diff", *args, base, "--", file)
    if run.out.strip():
        return run.out.decode("utf-8", errors="replace")
    tracked = await git(root, "ls-files", "--error-unmatch", "--", file)
    if tracked.code == 0 or not (root / file).is_file():
        return ""
    # Untracked: git diff --no-index exits 1 when the files differ, which is the point here.
    fresh = await git(root, "diff", *args, "--no-index", "--", os.devnull, file)
    return fresh.out.decode("utf-8", errors="replace")


_HUNK = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")


def parse_patch(diff: str, file: str = "") -> dict[str, Any]:
    """A one-file unified diff as opencode's structured patch (the shape of jsdiff's
    `structuredPatch`): old and new file names and the hunks with their lines."""
    old_name = new_name = file
    hunks: list[dict[str, Any]] = []
    current: dict[str, Any] | None = None
    for line in diff.splitlines():
        if current is None and line.startswith("--- "):
            old_name = _name(line[4:]) or old_name
        elif current is None and line.startswith("+++ "):
            new_name = _name(line[4:]) or new_name
        elif match := _HUNK.match(line):
            old_start, old_lines, new_start, new_lines = match.groups()
            current = {
                "oldStart": int(old_start),
                "oldLines": int(old_lines) if old_lines is not None else 1,
                "newStart": int(new_start),
                "newLines": int(new_lines) if new_lines is not None else 1,
                "lines": [],
            }
            hunks.append(current)
        elif current is not None and line[:1] in (" ", "+", "-", "\\"):
            current["lines"].append(line)
        elif line.startswith("diff --git"):
            current = None
    return {"oldFileName": old_name, "newFileName": new_name, "hunks": hunks}


def count_changes(diff: str) -> tuple[int, int]:
    """(added, removed) lines in a unified diff."""
    added = removed = 0
    for line in diff.splitlines():
        if line.startswith("+") and not line.startswith("+++ "):
            added += 1
        elif line.startswith("-") and not line.startswith("--- "):
            removed += 1
    return added, removed


def _name(header: str) -> str:
    name = header.split("\t", 1)[0].strip()
    if name == os.devnull or name == "/dev/null":
        return ""
    return name[2:] if name.startswith(("a/", "b/")) else name


def _split_z(out: bytes) -> list[str]:
    return [item for item in out.decode("utf-8", errors="replace").split("\0") if item]


def _number(text: str) -> int:
    return int(text) if text.isdigit() else 0  # "-" for a binary file


def _count_lines(path: Path) -> int:
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_COUNTED_BYTES)
    except OSError:
        return 0
    if b"\0" in data[:8192]:
        return 0
    return data.count(b"\n") + (1 if data and not data.endswith(b"\n") else 0)
