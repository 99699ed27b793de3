"""Instruction files: AGENTS.md, CLAUDE.md and the files named in config `instructions`.

What goes into the system prompt (`find_instructions`), in this order:

1. project files: for each directory from the working directory up to the project root, its
   `AGENTS.md`, or its `CLAUDE.md` when it has no `AGENTS.md` (nearest directory first, as
   opencode's upward search returns them);
2. the global file: `<config dir>/AGENTS.md`, or `~/.claude/CLAUDE.md` when there is none;
3. config `instructions`: paths or globs, relative to the project root, absolute, or `~/...`.

A file is included once however it is reached (paths are resolved), empty files are left out,
and a file over 64 KB is cut with a note saying so.

`NestedInstructions` covers the files below the project root that the upward search cannot
see: the first time the model reads a file in `pkg/sub/`, the engine appends `pkg/AGENTS.md` and
`pkg/sub/AGENTS.md` (those not yet loaded) to the read tool's output.

Left out: opencode's remote instructions (`https://` entries), which would need the network at
start; they are skipped with a warning. Also its `*.local.md` variants and the deprecated
`CONTEXT.md`.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from opencode.session.model import MessageWithParts

log = logging.getLogger("opencode.agent.instructions")

PROJECT_FILES = ("AGENTS.md", "CLAUDE.md")
"""Looked for in each directory; the first one present is used, the others ignored."""
MAX_BYTES = 64 * 1024
LOADED_KEY = "loaded"
"""Read-tool metadata key listing the nested instruction files attached to its output."""

Source = Literal["project", "global", "config", "nested"]


@dataclass
class InstructionFile:
    path: Path
    source: Source
    content: str
    truncated: bool = False

    def block(self) -> str:
        """The text the model sees for this file."""
        return f"Instructions from: {self.path}\n{self.content}"


def find_instructions(
    cwd: Path,
    root: Path,
    config_instructions: Sequence[str] | None,
    *,
    config_dir: Path | None = None,
) -> list[InstructionFile]:
    """Every instruction file for the system prompt, in the order described in the module docstring."""
    if config_dir is None:
        from opencode.config.paths import paths

        config_dir = paths().config
    cwd, root = cwd.resolve(), root.resolve()
    found: list[InstructionFile] = []
    seen: set[Path] = set()

    def add(path: Path, source: Source) -> None:
        path = path.resolve()
        if path in seen:
            return
        seen.add(path)
        loaded = read_instruction(path, source)
        if loaded is not None:
            found.append(loaded)

    for directory in _upward(cwd, root):
        chosen = instruction_file_in(directory)
        if chosen is not None:
            add(chosen, "project")

    global_agents = config_dir / "AGENTS.md"
    claude_global = Path.home() / ".claude" / "CLAUDE.md"
    if global_agents.is_file():
        add(global_agents, "global")
    elif claude_global.is_file():
        add(claude_global, "global")

    for entry in config_instructions or ():
        for path in _expand(entry, root):
            add(path, "config")
    return found


def instruction_file_in(directory: Path) -> Path | None:
    """The instruction file that speaks for `directory`: its AGENTS.md, else its CLAUDE.md."""
    for name in PROJECT_FILES:
        candidate = directory / name
        if candidate.is_file():
            return candidate
    return None


def read_instruction(path: Path, source: Source) -> InstructionFile | None:
    """The file's text, cut at 64 KB; None (with a warning) when it cannot be read or is empty."""
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_BYTES + 1)
            size = os.fstat(handle.fileno()).st_size
    except OSError as error:
        log.warning("instruction file %s could not be read: %s", path, error.strerror or error)
        return None
    truncated = len(data) > MAX_BYTES
    # Cutting bytes can split a UTF-8 sequence; "ignore" drops the broken tail instead of failing.
    text = data[:MAX_BYTES].decode("utf-8", errors="ignore" if truncated else "replace")
    if not text.strip():
        return None
    if truncated:
        text = text.rstrip() + (
            f"\n\n[This file is {size} bytes; only its first {MAX_BYTES // 1024} KB are included. "
            f"Read {path} for the rest.]"
        )
    return InstructionFile(path=path, source=source, content=text, truncated=truncated)


def describe(files: Iterable[InstructionFile]) -> list[str]:
    """One line per file for the `/context` view: where it came from and its path."""
    lines = []
    for file in files:
        note = f" (cut to {MAX_BYTES // 1024} KB)" if file.truncated else ""
        lines.append(f"{file.source:<7}  {file.path}{note}")
    return lines


class NestedInstructions:
    """Per session: instruction files below the project root, handed out once each.

    `loaded` starts with the files already in the system prompt, so a file reached both ways is
    never sent twice. After a restart, seed it with `loaded_from(messages)` as well.
    """

    def __init__(self, root: Path, loaded: Iterable[InstructionFile | Path] = ()) -> None:
        self.root = root.resolve()
        self.loaded: set[Path] = {(i.path if isinstance(i, InstructionFile) else i).resolve() for i in loaded}

    def for_file(self, path: Path) -> list[InstructionFile]:
        """Instruction files of the directories strictly below the root down to `path`'s, not yet loaded.

        Nearest directory first. Each returned file is marked loaded. A file outside the root
        gets nothing: its rules are not this project's.
        """
        target = (path if path.is_absolute() else self.root / path).resolve()
        directory = target.parent
        if directory == self.root or not directory.is_relative_to(self.root):
            return []
        found: list[InstructionFile] = []
        while directory != self.root:
            candidate = instruction_file_in(directory)
            # Reading an AGENTS.md itself shows the model its text already; nothing to attach.
            if candidate is not None and candidate.resolve() != target:
                resolved = candidate.resolve()
                if resolved not in self.loaded:
                    self.loaded.add(resolved)
                    loaded = read_instruction(resolved, "nested")
                    if loaded is not None:
                        found.append(loaded)
            directory = directory.parent
        return found


def loaded_from(messages: Iterable[MessageWithParts]) -> set[Path]:
    """Nested files already attached to read results in a stored conversation.

    A read tool part lists what it attached in `metadata["loaded"]`. Parts whose output was
    compacted no longer show the text to the model, so their files count as not loaded.
    """
    from opencode.session.model import ToolPart

    paths: set[Path] = set()
    for message in messages:
        for part in message.parts:
            if not isinstance(part, ToolPart) or part.tool != "read" or part.state.status != "completed":
                continue
            if part.state.time.compacted:
                continue
            entries = part.state.metadata.get(LOADED_KEY)
            if isinstance(entries, list):
                paths.update(Path(p).resolve() for p in entries if isinstance(p, str))
    return paths


# --- helpers ----------------------------------------------------------------------------------


def _upward(cwd: Path, root: Path) -> list[Path]:
    """cwd, its parents up to and including root; only cwd when it lies outside root."""
    if not cwd.is_relative_to(root):
        return [cwd]
    directories = [cwd]
    while directories[-1] != root:
        directories.append(directories[-1].parent)
    return directories


_MAGIC = frozenset("*?[")


def _expand(entry: str, root: Path) -> list[Path]:
    """The files a config `instructions` entry names: a literal path, or a glob expanded sorted."""
    entry = entry.strip()
    if not entry:
        return []
    if entry.startswith(("https://", "http://")):
        log.warning("instruction %s skipped: remote instruction files are not fetched", entry)
        return []
    if entry.startswith("~/"):
        entry = str(Path.home() / entry[2:])
    pattern = Path(entry)
    if not any(ch in _MAGIC for ch in entry):
        path = pattern if pattern.is_absolute() else root / pattern
        if not path.is_file():
            log.warning("instruction file %s not found (from config `instructions`)", path)
            return []
        return [path]
    # pathlib globs only below a base: split off the leading parts that hold no wildcard.
    parts = pattern.parts
    split = next(i for i, part in enumerate(parts) if any(ch in _MAGIC for ch in part))
    base = Path(*parts[:split]) if split else Path()
    base = base if base.is_absolute() else root / base
    rest = str(Path(*parts[split:]))
    try:
        matches = sorted(p for p in base.glob(rest) if p.is_file())
    except (OSError, ValueError) as error:
        log.warning("instruction glob %s failed: %s", entry, error)
        return []
    if not matches:
        log.debug("instruction glob %s matched no files", entry)
    return matches


__all__ = [
    "InstructionFile",
    "NestedInstructions",
    "describe",
    "find_instructions",
    "instruction_file_in",
    "loaded_from",
    "read_instruction",
]
