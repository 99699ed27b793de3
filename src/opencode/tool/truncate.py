"""Capping tool output, in one place.

A tool's output goes back to the model, so it has to fit in a context window. `truncate` keeps
the first (or, for a command's output, the last) lines that fit within a line and a byte limit,
saves the whole text to a file under `<data dir>/tool-output/`, and says in the output how much
was cut, where the full text is and how to look at it (the read tool with an offset, or grep).

The returned text, note included, always fits within the limits, so truncating twice is the same
as truncating once. Saved outputs older than a week are deleted the first time this process saves
into a directory. Nothing here knows about tools; the registry and the bash tool call it.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from opencode import id as ids
from opencode.config.paths import paths

MAX_LINES = 2000
MAX_BYTES = 50 * 1024
KEEP_SAVED_S = 7 * 24 * 3600

log = logging.getLogger(__name__)
_pruned: set[Path] = set()


@dataclass(frozen=True, slots=True)
class TruncateResult:
    text: str
    truncated: bool
    saved: Path | None = None
    """Where the full output was written, when it was cut and the write succeeded."""


def default_save_dir(data_dir: Path | None = None) -> Path:
    """`<data dir>/tool-output`, the data dir being `data_dir` or the XDG one."""
    return (data_dir or paths().data) / "tool-output"


def truncate(
    text: str,
    *,
    max_lines: int = MAX_LINES,
    max_bytes: int = MAX_BYTES,
    save_dir: Path | None = None,
    name: str | None = None,
    direction: Literal["head", "tail"] = "head",
) -> TruncateResult:
    """Cap `text` to `max_lines` lines and `max_bytes` UTF-8 bytes, keeping its head or its tail."""
    parts = text.split("\n")
    total_lines = len(parts) - (1 if text.endswith("\n") else 0)
    total_bytes = len(text.encode("utf-8"))
    if len(parts) <= max_lines and total_bytes <= max_bytes:
        return TruncateResult(text, False)

    target = (save_dir or default_save_dir()) / (name or ids.ascending("tool"))
    saved, problem = _save(target, text)
    # Size the note with the largest numbers it can hold, so that content plus note fits the caps.
    widest = _note(direction, total_lines, total_lines, total_bytes, total_bytes, target, problem)
    budget_lines = max(1, max_lines - widest.count("\n") - 1)
    budget_bytes = max(1, max_bytes - len(widest.encode("utf-8")))

    kept = _take(parts if direction == "head" else parts[::-1], budget_lines, budget_bytes, direction)
    if direction == "tail":
        kept.reverse()
    body = "\n".join(kept)
    note = _note(direction, len(kept), total_lines, len(body.encode("utf-8")), total_bytes, target, problem)
    return TruncateResult(body + note if direction == "head" else note + body, True, saved)


def _take(parts: list[str], max_lines: int, max_bytes: int, direction: str) -> list[str]:
    """As many whole lines as fit, in order; a single line too long to fit is cut at a byte boundary."""
    kept: list[str] = []
    used = 0
    for part in parts:
        size = len(part.encode("utf-8")) + (1 if kept else 0)
        if len(kept) >= max_lines or used + size > max_bytes:
            if not kept:
                kept.append(_cut_line(part, max_bytes, direction))
            break
        kept.append(part)
        used += size
    return kept


def _cut_line(line: str, max_bytes: int, direction: str) -> str:
    data = line.encode("utf-8")
    piece = data[:max_bytes] if direction == "head" else data[-max_bytes:]
    # A cut can split a multi-byte character; drop the broken end rather than show garbage.
    return piece.decode("utf-8", errors="ignore")


def _note(
    direction: str, shown_lines: int, total_lines: int, shown_bytes: int, total_bytes: int, target: Path, problem: str
) -> str:
    which = "first" if direction == "head" else "last"
    head = (
        f"[Output truncated: showing the {which} {shown_lines} of {total_lines} lines "
        f"({shown_bytes} of {total_bytes} bytes)."
    )
    if problem:
        where = f" The full output could not be saved ({problem}).]"
    elif direction == "head":
        where = (
            f" The full output was saved to {target}. Use the read tool on that file with offset={shown_lines + 1}"
            " to continue, or grep to search it, rather than running the command again.]"
        )
    else:
        where = (
            f" The full output was saved to {target}. Use the read tool on that file with offset and limit to see"
            " the earlier part, or grep to search it, rather than running the command again.]"
        )
    return f"\n\n{head}{where}" if direction == "head" else f"{head}{where}\n\n"


def _save(target: Path, text: str) -> tuple[Path | None, str]:
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        _prune_once(target.parent)
        target.write_text(text, encoding="utf-8")
    except OSError as exc:
        log.warning("could not save truncated tool output to %s: %s", target, exc)
        return None, f"{type(exc).__name__}: {exc.strerror or exc}"
    return target, ""


def _prune_once(directory: Path) -> None:
    """Delete saved outputs older than a week, once per directory per process."""
    if directory in _pruned:
        return
    _pruned.add(directory)
    cutoff = time.time() - KEEP_SAVED_S
    for entry in directory.iterdir():
        try:
            if entry.is_file() and entry.stat().st_mtime < cutoff:
                entry.unlink()
        except OSError:
            continue
