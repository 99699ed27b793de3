"""`Snapshots`: the project's work tree recorded as git trees in a git directory of our own.

    snapshots = Snapshots(root)
    before = await snapshots.track()              # a tree hash
    ...                                            # the agent edits files, runs bash
    files = await snapshots.changed(before)        # paths relative to root, sorted
    await snapshots.restore(before, files)         # those files exactly as they were

Every git call runs as `git --git-dir=<ours> --work-tree=<root>` with our own index file, no
system or global git config, no hooks and no inherited `GIT_*` variables, so the user's `.git`
(index, stash, refs, hooks) is never read for writing nor changed, and commands behave the same
whatever the user's configuration. The project's `.gitignore` files apply (git reads them from the
work tree), and so does its `.git/info/exclude` (copied into ours); files larger than
`max_file_bytes` and nested repositories are left out. Our `info/attributes` turns off every
content conversion (end of line, filters, `ident`), so a restored file is byte for byte the file
that was recorded.

Snapshots are trees, not commits: nothing refers to them, so `cleanup()` (`git gc --prune=7.days.ago`)
lets those older than a week go; restoring one that is gone fails with a `SnapshotError`.
Repeated `track()` calls are cheap because git's index keeps each file's stat data: only files
whose size or time changed are read again.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import shutil
import stat
import time
import weakref
from collections.abc import AsyncIterator, Iterable, Sequence
from pathlib import Path

from opencode.config.paths import paths

DEFAULT_MAX_FILE_BYTES = 2 * 1024 * 1024
DEFAULT_TIMEOUT = 120.0
PRUNE = "7.days.ago"

# Per-call configuration, so our git directory needs no config of its own and the user's
# settings (autocrlf, fsmonitor, hooks, auto gc) cannot change what a snapshot holds.
_CONFIG = (
    "core.autocrlf=false",
    "core.safecrlf=false",
    "core.symlinks=true",
    "core.fsmonitor=false",
    "core.quotepath=false",
    "core.hooksPath=/dev/null",
    "core.longpaths=true",
    "gc.auto=0",
    "maintenance.auto=false",
    "advice.detachedHead=false",
)
# Highest-priority attributes: store and restore bytes as they are, whatever .gitattributes says.
_ATTRIBUTES = "* -text -eol -crlf -ident -filter -working-tree-encoding\n"
_EXCLUDE_HEADER = "# Written by opencode before each snapshot: the project's .git/info/exclude and our own entries.\n"
_ARG_CHUNK = 1000
_LOCK_RETRIES = 40
_STOP_GRACE = 2.0

# One asyncio lock per git directory and event loop: calls on one project run one at a time, since
# they share one index; other processes are handled by retrying on git's own index.lock.
_LOCKS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[Path, asyncio.Lock]] = weakref.WeakKeyDictionary()


class SnapshotError(Exception):
    """A snapshot could not be taken, compared or restored; the message is one line for the user."""


def project_id(root: Path) -> str:
    """The snapshot directory name of a project: 16 hex digits of the SHA-1 of its resolved path."""
    return hashlib.sha1(str(root.resolve()).encode()).hexdigest()[:16]


def _ignore_literal(rel: str) -> str:
    """A gitignore line that matches exactly `rel` (relative to the work tree), wildcards escaped."""
    escaped = "".join("\\" + c if c in "\\*?[" else c for c in rel)
    if escaped.endswith(" "):
        escaped = escaped[:-1] + "\\ "
    return "/" + escaped


def _split_z(out: bytes) -> list[str]:
    return [os.fsdecode(item) for item in out.split(b"\0") if item]


def _gone(hash: str) -> str:
    return f"snapshot {hash[:12]} is not in the snapshot store (snapshots older than a week are pruned)"


def _one_line(stderr: bytes) -> str:
    lines = [line.strip() for line in stderr.decode(errors="replace").splitlines() if line.strip()]
    for line in lines:
        if line.startswith(("fatal:", "error:")):
            return line.split(":", 1)[1].strip()
    return lines[-1] if lines else "no message"


class Snapshots:
    """Snapshots of one project directory (`root`) in a git directory of our own (`store_dir`)."""

    def __init__(
        self,
        root: Path,
        store_dir: Path | None = None,
        *,
        max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        self.root = Path(os.path.abspath(root))
        self.gitdir = Path(os.path.abspath(store_dir or paths().data / "snapshot" / project_id(self.root)))
        self.max_file_bytes = max_file_bytes
        self.timeout = timeout
        self._git = shutil.which("git")
        env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
        env.update(
            GIT_INDEX_FILE=str(self.gitdir / "index"),
            GIT_CONFIG_NOSYSTEM="1",
            GIT_CONFIG_GLOBAL=os.devnull,
            GIT_TERMINAL_PROMPT="0",
            GIT_OPTIONAL_LOCKS="0",
            GIT_LITERAL_PATHSPECS="1",
            GIT_AUTHOR_NAME="opencode",
            GIT_AUTHOR_EMAIL="opencode@localhost",
            GIT_COMMITTER_NAME="opencode",
            GIT_COMMITTER_EMAIL="opencode@localhost",
            LC_ALL="C",
        )
        self._env = env

    def __repr__(self) -> str:
        return f"Snapshots(root={str(self.root)!r}, gitdir={str(self.gitdir)!r})"

    # --- public API ---------------------------------------------------------------------------

    async def track(self) -> str:
        """Record the work tree as it is now; returns the snapshot's tree hash."""
        async with self._locked():
            return await self._track()

    async def changed(self, from_hash: str, to_hash: str | None = None) -> list[str]:
        """Files that differ between snapshot `from_hash` and `to_hash` (the work tree now when None),
        relative to root, sorted."""
        async with self._locked():
            await self._ensure()
            to_hash = to_hash or await self._track()
            if from_hash == to_hash:
                return []
            out = await self._run(["diff-tree", "-r", "-z", "--name-only", "--no-renames", from_hash, to_hash])
            return sorted(set(_split_z(out)))

    async def restore(self, hash: str, files: Iterable[str]) -> None:
        """Put exactly `files` back as snapshot `hash` had them: content, mode and symlinks; files the
        snapshot did not have are deleted (with the directories that held only them). Nothing else in
        the work tree is touched."""
        wanted = sorted({self.relative(f) for f in files})
        if not wanted:
            return
        async with self._locked():
            await self._require_tree(hash)
            present = await self._blobs(hash, wanted)
            absent = [f for f in wanted if f not in present]
            emptied: set[str] = set()
            for rel in absent:
                if self._delete(rel):
                    parent = os.path.dirname(rel)
                    while parent:
                        emptied.add(parent)
                        parent = os.path.dirname(parent)
            if emptied:
                await self._remove_empty_dirs(hash, emptied)
            if present:
                stdin = b"".join(os.fsencode(f) + b"\0" for f in sorted(present))
                await self._run(
                    ["checkout", hash, "--pathspec-from-file=-", "--pathspec-file-nul"], stdin=stdin, retry_lock=True
                )

    async def diff(self, from_hash: str, to_hash: str | None = None) -> str:
        """Unified diff from snapshot `from_hash` to `to_hash` (the work tree now when None), for the faces."""
        async with self._locked():
            await self._ensure()
            to_hash = to_hash or await self._track()
            if from_hash == to_hash:
                return ""
            out = await self._run(
                ["diff", "--no-color", "--no-ext-diff", "--no-textconv", "--no-renames", from_hash, to_hash, "--"]
            )
            return out.decode(errors="replace")

    async def show(self, hash: str, file: str) -> bytes | None:
        """The bytes `file` had in snapshot `hash`; None where the snapshot has no such file."""
        rel = self.relative(file)
        async with self._locked():
            await self._require_tree(hash)
            if rel not in await self._blobs(hash, [rel]):
                return None
            return await self._run(["cat-file", "blob", f"{hash}:{rel}"], work_tree=False)

    async def verify(self, hashes: Iterable[str]) -> None:
        """Raise `SnapshotError` unless every hash is a snapshot still in the store."""
        wanted = sorted(set(hashes))
        if not wanted:
            return
        async with self._locked():
            await self._ensure()
            out = await self._run(["cat-file", "--batch-check"], stdin="".join(f"{h}\n" for h in wanted).encode())
            for hash, line in zip(wanted, out.decode().splitlines(), strict=False):
                if line.split(" ")[1:2] != ["tree"]:
                    raise SnapshotError(_gone(hash))

    async def cleanup(self) -> None:
        """Pack the store and drop snapshots older than a week; meant to run rarely (say once a day)."""
        async with self._locked():
            if not (self.gitdir / "HEAD").exists():
                return
            await self._run(["gc", f"--prune={PRUNE}", "--quiet"], timeout=max(self.timeout, 600.0))

    # --- internals ----------------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def _locked(self) -> AsyncIterator[None]:
        loop = asyncio.get_running_loop()
        lock = _LOCKS.setdefault(loop, {}).setdefault(self.gitdir, asyncio.Lock())
        async with lock:
            yield

    async def _track(self) -> str:
        await self._ensure()
        self._write_info()
        others, modified, ignored = await asyncio.gather(
            self._run(["ls-files", "-z", "--others", "--exclude-standard"]),
            self._run(["diff-files", "-z", "--name-only", "--no-renames"]),
            self._run(["ls-files", "-z", "--cached", "--ignored", "--exclude-standard"]),
        )
        # One lstat per new or changed file: off the event loop, since a first snapshot may list many.
        add, drop = await asyncio.to_thread(self._classify, others, modified, ignored)
        if drop:
            await self._run(
                ["update-index", "--force-remove", "-z", "--stdin"],
                stdin=b"".join(os.fsencode(p) + b"\0" for p in sorted(drop)),
                retry_lock=True,
            )
        if add:
            await self._run(
                ["update-index", "--add", "--remove", "--replace", "-z", "--stdin"],
                stdin=b"".join(os.fsencode(p) + b"\0" for p in add),
                retry_lock=True,
            )
        out = await self._run(["write-tree"], retry_lock=True)
        return out.decode().strip()

    def _classify(self, others: bytes, modified: bytes, ignored: bytes) -> tuple[list[str], set[str]]:
        """Files to add to our index or update there, and files to drop from it."""
        drop = set(_split_z(ignored))
        add: list[str] = []
        for rel in _split_z(modified):
            # A tracked file that grew past the cap leaves the snapshot; a deleted one is removed by
            # `update-index --remove`.
            if self._too_large(rel):
                drop.add(rel)
            elif rel not in drop:
                add.append(rel)
        for rel in _split_z(others):
            # "dir/" is a nested repository: its files belong to that repository, not to ours.
            if rel.endswith("/") or rel in drop or self._too_large(rel):
                continue
            add.append(rel)
        return add, drop

    def _too_large(self, rel: str) -> bool:
        try:
            st = os.lstat(self.root / rel)
        except OSError:
            return False
        return stat.S_ISREG(st.st_mode) and st.st_size > self.max_file_bytes

    async def _ensure(self) -> None:
        if self._git is None:
            raise SnapshotError("git is not installed: snapshots (undo and redo) are off")
        if not self.root.is_dir():
            raise SnapshotError(f"{self.root}: not a directory, cannot snapshot it")
        if (self.gitdir / "HEAD").exists():
            return
        try:
            self.gitdir.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise SnapshotError(f"{self.gitdir}: cannot create the snapshot store ({e.strerror})") from e
        # No template: no sample hooks, no description file; a concurrent init elsewhere is harmless.
        await self._run(["init", "--quiet", "--template="], work_tree=False)

    def _write_info(self) -> None:
        """Refresh our info/exclude (the project's own exclude file plus our store if it lies inside
        the work tree) and info/attributes; written only when the content changes."""
        lines = [_EXCLUDE_HEADER, "/.git\n"]
        with contextlib.suppress(ValueError):
            rel = self.gitdir.relative_to(self.root)
            lines.append(_ignore_literal(rel.as_posix()) + "/\n")
        user_exclude = self._user_exclude()
        if user_exclude is not None:
            with contextlib.suppress(OSError):
                text = user_exclude.read_text(errors="surrogateescape")
                lines.append(text if text.endswith("\n") or not text else text + "\n")
        info = self.gitdir / "info"
        try:
            info.mkdir(exist_ok=True)
            self._write_if_changed(info / "exclude", "".join(lines))
            self._write_if_changed(info / "attributes", _ATTRIBUTES)
        except OSError as e:
            raise SnapshotError(f"{info}: cannot write ({e.strerror})") from e

    def _user_exclude(self) -> Path | None:
        """The project's own `info/exclude`, following a `.git` file (worktrees, submodules) to its git dir."""
        dotgit = self.root / ".git"
        if dotgit.is_dir():
            return dotgit / "info" / "exclude"
        if not dotgit.is_file():
            return None
        try:
            first = dotgit.read_text(errors="replace").splitlines()[0]
        except (OSError, IndexError):
            return None
        if not first.startswith("gitdir:"):
            return None
        gitdir = Path(first.split(":", 1)[1].strip())
        if not gitdir.is_absolute():
            gitdir = self.root / gitdir
        commondir = gitdir / "commondir"
        if commondir.is_file():
            with contextlib.suppress(OSError):
                gitdir = gitdir / commondir.read_text().strip()
        return gitdir / "info" / "exclude"

    @staticmethod
    def _write_if_changed(path: Path, text: str) -> None:
        try:
            if path.read_text(errors="surrogateescape") == text:
                return
        except OSError:
            pass
        # Write then rename, so a concurrent git call in another process never reads half a file.
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        tmp.write_text(text, errors="surrogateescape")
        os.replace(tmp, path)

    def relative(self, file: str) -> str:
        """`file` as a path relative to root with forward slashes; absolute paths (opencode's patch
        parts store them) must lie inside root."""
        path = Path(file)
        if path.is_absolute():
            try:
                path = Path(os.path.normpath(path)).relative_to(self.root)
            except ValueError:
                raise SnapshotError(f"{file}: outside the project {self.root}") from None
        rel = os.path.normpath(path).replace(os.sep, "/")
        if rel in (".", "") or rel == ".." or rel.startswith("../"):
            raise SnapshotError(f"{file}: not a file inside the project {self.root}")
        return rel

    async def _require_tree(self, hash: str) -> None:
        await self._ensure()
        out = await self._run(["cat-file", "--batch-check"], stdin=f"{hash}\n".encode())
        if out.decode().split(" ")[1:2] != ["tree"]:
            raise SnapshotError(_gone(hash))

    async def _blobs(self, hash: str, files: Sequence[str]) -> set[str]:
        """Which of `files` are files (blobs or symlinks) in snapshot `hash`."""
        wanted = set(files)
        found: set[str] = set()
        for start in range(0, len(files), _ARG_CHUNK):
            chunk = list(files[start : start + _ARG_CHUNK])
            out = await self._run(["ls-tree", "-r", "-z", "--full-tree", hash, "--", *chunk])
            for entry in out.split(b"\0"):
                if not entry:
                    continue
                meta, _, name = entry.partition(b"\t")
                rel = os.fsdecode(name)
                if rel in wanted and meta.split(b" ")[1:2] == [b"blob"]:
                    found.add(rel)
        return found

    def _delete(self, rel: str) -> bool:
        """Delete a file the snapshot did not have; True when something was deleted. A directory in
        its place is left alone: it holds files that are not ours to remove."""
        path = self.root / rel
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            return False
        except OSError as e:
            raise SnapshotError(f"{rel}: cannot read ({e.strerror})") from e
        if stat.S_ISDIR(st.st_mode):
            return False
        try:
            path.unlink()
        except OSError as e:
            raise SnapshotError(f"{rel}: cannot delete ({e.strerror})") from e
        return True

    async def _remove_empty_dirs(self, hash: str, dirs: set[str]) -> None:
        """Remove directories left empty by deletions, deepest first, unless the snapshot had them."""
        ordered = sorted(dirs, key=lambda d: (-d.count("/"), d))
        known: set[str] = set()
        for start in range(0, len(ordered), _ARG_CHUNK):
            chunk = ordered[start : start + _ARG_CHUNK]
            out = await self._run(["ls-tree", "-z", "--full-tree", hash, "--", *chunk])
            known.update(os.fsdecode(e.partition(b"\t")[2]) for e in out.split(b"\0") if e)
        for rel in ordered:
            if rel in known:
                continue
            with contextlib.suppress(OSError):
                # rmdir fails on a directory that is not empty, which is what keeps other files safe.
                os.rmdir(self.root / rel)

    async def _run(
        self,
        args: list[str],
        *,
        stdin: bytes | None = None,
        work_tree: bool = True,
        retry_lock: bool = False,
        timeout: float | None = None,
    ) -> bytes:
        """Run one git command against our git directory; stdout, or `SnapshotError` with one line."""
        if self._git is None:
            raise SnapshotError("git is not installed: snapshots (undo and redo) are off")
        argv = [self._git, f"--git-dir={self.gitdir}"]
        if work_tree:
            argv.append(f"--work-tree={self.root}")
        for item in _CONFIG:
            argv += ["-c", item]
        argv += args
        limit = timeout or self.timeout
        for attempt in range(_LOCK_RETRIES + 1):
            code, out, err = await self._exec(argv, stdin, limit, args[0])
            if code == 0:
                return out
            if retry_lock and b"index.lock" in err and attempt < _LOCK_RETRIES:
                # Another process (a second opencode on this project) holds our index; wait for it,
                # and clear a lock that a killed process left behind long ago.
                self._clear_stale_lock(limit)
                await asyncio.sleep(min(0.05 * (attempt + 1), 0.5))
                continue
            raise SnapshotError(f"git {args[0]} failed (exit {code}): {_one_line(err)}")
        raise SnapshotError(f"git {args[0]} failed: the snapshot index stayed locked")  # pragma: no cover

    def _clear_stale_lock(self, limit: float) -> None:
        lock = self.gitdir / "index.lock"
        with contextlib.suppress(OSError):
            if time.time() - lock.stat().st_mtime > 2 * limit:
                lock.unlink()

    async def _exec(self, argv: list[str], stdin: bytes | None, limit: float, name: str) -> tuple[int, bytes, bytes]:
        cwd = self.root if self.root.is_dir() else None
        try:
            proc = await asyncio.create_subprocess_exec(
                *argv,
                stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                cwd=cwd,
                env=self._env,
            )
        except FileNotFoundError:
            raise SnapshotError("git is not installed: snapshots (undo and redo) are off") from None
        except OSError as e:
            raise SnapshotError(f"cannot run git ({e.strerror})") from e
        try:
            out, err = await asyncio.wait_for(proc.communicate(stdin), limit)
        except TimeoutError:
            await _stop(proc)
            raise SnapshotError(f"git {name} took longer than {limit:g} s and was stopped") from None
        except BaseException:
            # Cancelled (the user aborted): do not leave git running on our index.
            await _stop(proc)
            raise
        return proc.returncode if proc.returncode is not None else -1, out, err


async def _stop(proc: asyncio.subprocess.Process) -> None:
    """SIGTERM first (git removes its lock files on it), SIGKILL if it lingers."""
    if proc.returncode is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        proc.terminate()
    try:
        await asyncio.wait_for(proc.wait(), _STOP_GRACE)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        await proc.wait()
