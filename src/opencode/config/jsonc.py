"""JSON with comments, as opencode reads `opencode.json` and `opencode.jsonc`.

Accepts `//` line comments, `/* */` block comments and trailing commas before `}` or `]`;
everything else is strict JSON (double-quoted strings, no NaN or Infinity). The scanner blanks
comments and trailing commas with spaces of the same length, so an offset in the cleaned text is
the same offset in the original and `json.loads` reports positions the user can find in the file.
A syntax error becomes a `ConfigSyntaxError` naming the source, line and column.

Substitutions (`{env:...}`, `{file:...}`) are not done here: see `opencode.config.load`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from opencode.config.errors import ConfigSyntaxError

__all__ = ["comment_spans", "line_col", "loads", "strip"]

_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class _Scan:
    """The cleaned text and where the comments were."""

    def __init__(self, text: str) -> None:
        out = list(text)
        comments: list[tuple[int, int]] = []
        last = -1  # index of the last significant character outside comments
        i, n = 0, len(text)
        while i < n:
            c = text[i]
            if c == '"':
                i = _string_end(text, i)
                last = i - 1
                continue
            if c == "/" and i + 1 < n and text[i + 1] == "/":
                end = text.find("\n", i)
                end = n if end < 0 else end
                comments.append((i, end))
                _blank(out, i, end)
                i = end
                continue
            if c == "/" and i + 1 < n and text[i + 1] == "*":
                end = text.find("*/", i + 2)
                if end < 0:
                    raise _Error("unterminated /* comment", i)
                comments.append((i, end + 2))
                _blank(out, i, end + 2)
                i = end + 2
                continue
            if c in "}]" and last >= 0 and out[last] == ",":
                before = _previous_significant(out, last)
                # `[,]` or `{,}` stays an error, as in opencode's parser: only a comma after a value trails.
                if before is not None and out[before] not in "[{,":
                    out[last] = " "
            if not c.isspace():
                last = i
            i += 1
        self.text = "".join(out)
        self.comments = comments


class _Error(Exception):
    def __init__(self, reason: str, offset: int) -> None:
        super().__init__(reason)
        self.reason = reason
        self.offset = offset


def _string_end(text: str, start: int) -> int:
    """Index just past the closing quote of the string opening at `start` (or the end of an unclosed one)."""
    i, n = start + 1, len(text)
    while i < n:
        c = text[i]
        if c == "\\":
            i += 2
            continue
        if c == '"' or c == "\n":
            # A raw newline ends the scan of a broken string so that comments below it still count.
            return i + 1
        i += 1
    return n


def _blank(out: list[str], start: int, end: int) -> None:
    for j in range(start, end):
        if out[j] not in "\r\n":
            out[j] = " "


def _previous_significant(out: list[str], index: int) -> int | None:
    j = index - 1
    while j >= 0 and out[j].isspace():
        j -= 1
    return j if j >= 0 else None


def strip(text: str) -> str:
    """`text` with comments and trailing commas replaced by spaces (same length, same line breaks)."""
    try:
        return _Scan(text).text
    except _Error:
        return text


def comment_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) offsets of every comment in `text`; an unterminated block comment is left out."""
    try:
        return _Scan(text).comments
    except _Error:
        return []


def line_col(text: str, offset: int) -> tuple[int, int]:
    """1-based line and column of `offset` in `text`."""
    offset = max(0, min(offset, len(text)))
    line = text.count("\n", 0, offset) + 1
    column = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return line, column


def loads(text: str, source: str = "<string>") -> Any:
    """Parse JSONC text. Empty text (or only comments) is an empty object, as in opencode."""
    if text.startswith("\ufeff"):
        text = " " + text[1:]  # keep offsets: the BOM is one character
    try:
        clean = _Scan(text).text
    except _Error as exc:
        line, column = line_col(text, exc.offset)
        raise ConfigSyntaxError(source, line, column, exc.reason, exc.offset) from None
    if not clean.strip():
        return {}
    try:
        return json.loads(clean, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        reason = _reason(clean, exc.msg, exc.pos)
        line, column = line_col(text, exc.pos)
        raise ConfigSyntaxError(source, line, column, reason, exc.pos) from None
    except _Constant as exc:
        offset = next((i for i, _ in _outside_strings(clean) if clean.startswith(exc.name, i)), 0)
        line, column = line_col(text, offset)
        raise ConfigSyntaxError(source, line, column, f"{exc.name} is not valid JSON", offset) from None


class _Constant(Exception):
    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


def _reject_constant(name: str) -> Any:
    raise _Constant(name)


def _outside_strings(text: str) -> Iterator[tuple[int, str]]:
    i, n = 0, len(text)
    while i < n:
        if text[i] == '"':
            i = _string_end(text, i)
            continue
        yield i, text[i]
        i += 1


def _container(text: str, pos: int) -> str:
    """The innermost open bracket (`{` or `[`) before `pos`, or "" at the top level."""
    stack: list[str] = []
    for i, c in _outside_strings(text):
        if i >= pos:
            break
        if c in "{[":
            stack.append(c)
        elif c in "}]" and stack:
            stack.pop()
    return stack[-1] if stack else ""


def _reason(text: str, msg: str, pos: int) -> str:
    """json's message in plain words, with what was expected where it matters."""
    found = text[pos] if pos < len(text) else ""
    if msg.startswith("Expecting ',' delimiter"):
        return "expected ',' or '}'" if _container(text, pos) == "{" else "expected ',' or ']'"
    if msg.startswith("Expecting ':' delimiter"):
        return "expected ':' after the key"
    if msg.startswith("Expecting property name"):
        if found == "'":
            return "expected a key in double quotes (single quotes are not JSON)"
        return "expected a key in double quotes or '}'"
    if msg.startswith("Expecting value"):
        if pos >= len(text.rstrip()):
            return "unexpected end of file"
        if found == "'":
            return "expected a value (strings need double quotes)"
        word = _WORD.match(text, pos)
        if word:
            return f'expected a value, found "{word.group()}" (use true, false, null or a "string")'
        return f"expected a value, found {found!r}"
    if msg.startswith("Unterminated string"):
        return "unterminated string"
    if msg.startswith("Invalid control character"):
        if found in "\r\n":
            return "line break inside a string (write it as \\n)"
        return "control character inside a string"
    if msg.startswith(("Invalid \\escape", "Invalid \\uXXXX")):
        return "invalid escape in a string (a backslash must be written \\\\)"
    if msg.startswith("Extra data"):
        return "unexpected text after the end of the JSON document"
    return msg[:1].lower() + msg[1:]
