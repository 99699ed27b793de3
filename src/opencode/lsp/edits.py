"""Positions and text edits: the model's 1-based line/column, LSP's 0-based UTF-16 positions.

LSP counts columns in UTF-16 code units (the encoding we offer in `initialize`); a model counts
characters. `to_lsp` and `from_lsp` convert one line's column; `apply_text_edits` applies a
server's TextEdits to a document's text (all at once, last first, so earlier offsets hold), and
`workspace_edits` flattens a WorkspaceEdit (`changes` or `documentChanges`) into edits per file.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from opencode.lsp.client import uri_to_path


class EditProblem(Exception):
    """A workspace edit we cannot apply safely (file creation, renames of files, bad ranges)."""


def lines_of(text: str) -> list[str]:
    return [line.removesuffix("\r") for line in text.split("\n")]


def to_lsp(line_text: str, column: int) -> int:
    """A 0-based character column on `line_text` as a UTF-16 offset."""
    return len(line_text[:column].encode("utf-16-le")) // 2


def from_lsp(line_text: str, offset: int) -> int:
    """A UTF-16 offset on `line_text` as a 0-based character column."""
    units = 0
    for index, char in enumerate(line_text):
        if units >= offset:
            return index
        units += 2 if ord(char) > 0xFFFF else 1
    return len(line_text)


def _offset(text: str, starts: list[int], position: Mapping[str, Any]) -> int:
    line = int(position.get("line", 0))
    if line >= len(starts):
        return len(text)
    start = starts[line]
    end = text.find("\n", start)
    line_text = text[start : end if end != -1 else len(text)].removesuffix("\r")
    return start + from_lsp(line_text, int(position.get("character", 0)))


def apply_text_edits(text: str, edits: list[Mapping[str, Any]]) -> str:
    starts = [0] + [match.end() for match in re.finditer("\n", text)]
    spans = []
    for edit in edits:
        where = edit.get("range") or {}
        begin = _offset(text, starts, where.get("start") or {})
        end = _offset(text, starts, where.get("end") or {})
        if end < begin:
            raise EditProblem("an edit's range ends before it starts")
        spans.append((begin, end, str(edit.get("newText", ""))))
    spans.sort(key=lambda span: (span[0], span[1]))
    for (_, end, _), (begin, _, _) in itertools.pairwise(spans):
        if begin < end:
            raise EditProblem("the server sent overlapping edits")
    for begin, end, new in reversed(spans):
        text = text[:begin] + new + text[end:]
    return text


def workspace_edits(edit: Mapping[str, Any] | None) -> dict[Path, list[Mapping[str, Any]]]:
    """TextEdits per file from a WorkspaceEdit; file creates, renames and deletes are refused."""
    found: dict[Path, list[Mapping[str, Any]]] = {}
    if not edit:
        return found

    def add(uri: str, edits: list[Mapping[str, Any]]) -> None:
        path = uri_to_path(uri)
        if path is None:
            raise EditProblem(f"an edit targets {uri}, which is not a file")
        found.setdefault(path, []).extend(edits)

    for change in edit.get("documentChanges") or []:
        if "kind" in change:
            raise EditProblem(f"the server wants to {change['kind']} a file, which this tool does not do")
        add(str((change.get("textDocument") or {}).get("uri", "")), list(change.get("edits") or []))
    for uri, edits in (edit.get("changes") or {}).items():
        add(uri, list(edits or []))
    return found
