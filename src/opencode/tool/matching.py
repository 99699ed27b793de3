"""Placing an edit when the model's `oldString` is slightly wrong, shared by edit, multiedit and apply_patch.

`apply_edit(text, old, new)` tries, in order, and stops at the first way of matching that finds
`old` anywhere:

    exact                  `old` occurs as given (`line-endings` when only CRLF/LF differed)
    trailing-whitespace    whole lines equal once trailing spaces are ignored (`trailing-newline`
                           when only a final newline differed)
    indentation-flexible   lines equal once indentation is ignored; the block's indentation maps
    / line-trimmed         onto the file's as a whole (tabs vs spaces included), or only line by line
    whitespace-normalised  runs of spaces and tabs inside lines count as one space
    smart-quotes           typographic quotes, dashes and non-breaking spaces count as ASCII
    (the last two also inside a single line, for a one-line `old`)
    blank-lines            equal once blank lines are ignored (the model dropped or added some)
    partial-lines          the first line is the end of a file line, the last the start of one
    block-anchors          first and last lines match and the rest is similar above a threshold

each also on `old` with the read tool's line-number prefixes removed (`line-numbers`) and with
literal `\\n`, `\\t`, `\\"` escapes decoded (`escape-normalised`). Block-anchors comes last of all,
after the check for a `new` that is already in place (`AlreadyApplied`).

The line machinery (Document, windows, the merge, region messages) lives in `blocks`, and
re-indenting in `reindent`; this module decides the order and what is safe.

Safety over eagerness: a tolerant match must be unique (else `Ambiguous`, naming the lines), and
a tolerant match never changes a line the model did not mean to change. The edit is applied as a
three-way merge with `old` as the base: lines `new` keeps from `old` stay exactly as they are in
the file (its whitespace, quotes and stale details), lines `new` changes must really be in the
file (else `Conflict`), and changed lines are re-indented the way the match was (`Reindent`).
Nothing found raises `NotFound` with the closest region and a per-line diff. `new` is always
inserted literally.

The file keeps its form: matching happens on an LF view of the text, and the replacement is
written back with the file's dominant line ending, leaving every other line's ending alone.
"""

from __future__ import annotations

import difflib
import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from opencode.tool.blocks import (
    CLOSE_ENOUGH,
    MAX_SCAN_LINES,
    SAME_LENGTH,
    STRICT_PASSES,
    AlreadyApplied,
    Ambiguous,
    Conflict,
    Document,
    EditError,
    NotFound,
    Placement,
    Window,
    anchored_windows,
    blank_line_windows,
    find_all,
    normalise_newlines,
    not_found_message,
    partial_windows,
    place,
    ratio,
    score_text,
    split_lines,
    strict_windows,
)
from opencode.tool.reindent import CannotReindent, Reindent, indent_of

__all__ = ["AlreadyApplied", "Ambiguous", "Applied", "Conflict", "EditError", "NotFound", "apply_edit", "locate"]

MAX_LISTED = 20

_ESCAPE = re.compile(r"\\([nrt\"'`\\])")
_ESCAPED = {"n": "\n", "r": "\r", "t": "\t", '"': '"', "'": "'", "`": "`", "\\": "\\"}
_LINE_NUMBER = re.compile(r"^(?:(\d+)(?:: ?|\| ?)| *(\d+)\t)")
"""read's `12: `, `cat -n`'s `    12<tab>`, older opencode's `00012| `."""


@dataclass
class Applied:
    """The outcome of `apply_edit`."""

    text: str
    matcher: str
    similarity: float
    count: int
    lines: list[int]
    """First line (1-based, in the old text) of each replaced place."""
    reindented: bool = False
    after: list[tuple[int, int]] = field(default_factory=list)
    """Where each replacement sits in the new text: first line (1-based) and number of lines."""

    def describe(self) -> str:
        """A sentence for the model about a tolerant match; empty for an exact one."""
        if self.matcher in ("exact", "line-endings"):
            return ""
        where = ", ".join(str(line) for line in self.lines[:MAX_LISTED])
        text = f"oldString did not match exactly; matched by {self.matcher} (similarity {score_text(self.similarity)})"
        text += f" at line {where}" if len(self.lines) == 1 else f" at lines {where}"
        if self.reindented:
            text += "; newString was re-indented to the file's indentation"
        return text + "."


# --- the edit -----------------------------------------------------------------------------------


@dataclass
class _Variant:
    label: str
    old: str
    new: str
    hint: int | None = None
    """The line number the model claimed for oldString's first line (from read's prefixes)."""
    lines: tuple[list[str], bool] = field(init=False)

    def __post_init__(self) -> None:
        self.lines = split_lines(self.old)


def _variants(old: str, new: str) -> list[_Variant]:
    variants = [_Variant("", old, new)]
    numbered = _strip_line_numbers(old, new)
    if numbered is not None:
        variants.append(numbered)
    unescaped = _ESCAPE.sub(lambda m: _ESCAPED[m.group(1)], old)
    if unescaped != old and unescaped.strip():
        kinds = set(_ESCAPE.findall(old))
        decode = kinds & set(_ESCAPE.findall(new))
        fixed = _ESCAPE.sub(lambda m: _ESCAPED[m.group(1)], new) if decode else new
        variants.append(_Variant("escape-normalised", unescaped, fixed))
    return variants


def _strip_line_numbers(old: str, new: str) -> _Variant | None:
    lines, newline = split_lines(old)
    if not lines:
        return None
    numbers: list[int] = []
    stripped: list[str] = []
    for line in lines:
        found = _LINE_NUMBER.match(line)
        if found is None:
            return None
        numbers.append(_number(found))
        stripped.append(line[found.end() :])
    if numbers != list(range(numbers[0], numbers[0] + len(numbers))):
        return None
    new_lines, new_newline = split_lines(new)
    prefixed = [_LINE_NUMBER.match(line) for line in new_lines]
    first = prefixed[0] if prefixed else None
    if all(prefixed) and first is not None and _number(first) == numbers[0]:
        fixed = [line[m.end() :] for line, m in zip(new_lines, prefixed, strict=True) if m]
    else:
        # Only the lines the model copied with their numbers (a line of its own may look like one).
        known = set(numbers)
        fixed = [
            line[m.end() :] if m and _number(m) in known else line for line, m in zip(new_lines, prefixed, strict=True)
        ]
    old_text = "\n".join(stripped) + ("\n" if newline else "")
    new_text = "\n".join(fixed) + ("\n" if new_newline else "")
    return _Variant("line-numbers", old_text, new_text, hint=numbers[0])


def _number(found: re.Match[str]) -> int:
    return int(found.group(1) or found.group(2))


def apply_edit(text: str, old: str, new: str, replace_all: bool = False) -> Applied:
    """`text` with `old` replaced by `new` (see the module docstring); raises an `EditError`."""
    doc = Document(text)
    placements = locate(doc, normalise_newlines(old), normalise_newlines(new), replace_all)
    return Applied(
        text=doc.apply(placements),
        matcher=placements[0].matcher,
        similarity=round(min(p.similarity for p in placements), 3),
        count=len(placements),
        lines=[p.line + 1 for p in placements],
        reindented=any(p.reindented for p in placements),
        after=regions_after(doc, placements),
    )


def regions_after(doc: Document, placements: Sequence[Placement]) -> list[tuple[int, int]]:
    """Where each placement's text lands in the new text (first line, 1-based, and line count)."""
    shift = 0
    out: list[tuple[int, int]] = []
    for p in sorted(placements, key=lambda p: p.start):
        first = doc.view.count("\n", 0, p.start) + 1 + shift
        size = p.text.count("\n") + (0 if p.text.endswith("\n") or not p.text else 1)
        out.append((first, size))
        shift += p.text.count("\n") - doc.view.count("\n", p.start, p.end)
    return out


def locate(doc: Document, old: str, new: str, replace_all: bool = False) -> list[Placement]:
    """Where `old` (LF) goes in `doc`, and what replaces it; raises an `EditError`."""
    if not old.strip():
        raise NotFound(
            "oldString is only whitespace, which says nothing about where the change goes; include the lines around it."
        )
    exact = find_all(doc.view, old)
    if exact:
        if len(exact) > 1 and not replace_all:
            numbers = [doc.view.count("\n", 0, start) + 1 for start in exact]
            raise Ambiguous(
                f"oldString occurs {len(exact)} times (starting at lines {_listed(numbers)}). Include more of the "
                "surrounding lines in oldString so that it matches one place only, or set replaceAll to true to "
                "change every occurrence."
            )
        matcher = "exact" if old in doc.text or "\n" not in old else "line-endings"
        if len(exact) == 1 and not replace_all:
            promoted = _unindented_start(doc, exact[0], old, new)
            if promoted is not None:
                return [promoted]
        return [
            Placement(s, s + len(old), new, doc.view.count("\n", 0, s), matcher, 1.0)
            for s in (exact if replace_all else exact[:1])
        ]
    variants = _variants(old, new)
    for variant in variants:
        found = _strict(doc, variant, replace_all, first=variant is variants[0])
        if found:
            return found
    _already_applied(doc, variants)
    for variant in variants:
        found = _fuzzy(doc, variant)
        if found:
            return found
    raise NotFound(not_found_message(doc, split_lines(old)[0]))


def _unindented_start(doc: Document, start: int, old: str, new: str) -> Placement | None:
    """An exact match that starts inside a line's indentation: the model dropped some of it.

    As a literal replacement, what follows would be off. Lines newString adds after a one-line
    oldString that would land shallower than the matched line get the indentation the model
    left out (it wrote them relative to its own first line); lines indented at least as deep are
    taken as written. When newString drops the first line, its indentation goes too, instead of
    being glued to the next line. None when the literal replacement is right."""
    line = doc.view.count("\n", 0, start)
    lead = doc.view[doc.starts[line] : start]
    if not lead or lead.strip(" \t"):
        return None
    old_lines, old_newline = split_lines(old)
    new_lines, new_newline = split_lines(new)
    end = start + len(old)
    if not old_newline and end != doc.line_end(line + len(old_lines) - 1):
        return None
    matcher = difflib.SequenceMatcher(None, old_lines, new_lines, autojunk=False)
    first = matcher.get_opcodes()[0] if new_lines else ("delete", 0, len(old_lines), 0, 0)
    if old_newline and first[0] == "delete":
        return Placement(
            doc.starts[line], end, new, line, "indentation-flexible", min(0.99, ratio(old, lead + old)), True
        )
    if any(text.strip() for text in old_lines[1:]) or len(new_lines) < 2:
        return None  # only a one-line oldString (blank lines after it aside) says nothing more
    model, file = old_lines[0], lead + old_lines[0]
    depth = len(indent_of(file).expandtabs(4))
    reindent = Reindent([(model, file)], new_lines, doc.indent_unit())
    fixed = [new_lines[0]]
    for text in new_lines[1:]:
        shallow = text.strip() and len(indent_of(text).expandtabs(4)) < depth
        try:
            fixed.append(reindent.line(text, model, file) if shallow else text)
        except CannotReindent:
            return None
    if fixed == new_lines:
        return None
    body = "\n".join(fixed) + ("\n" if new_newline else "")
    return Placement(start, end, body, line, "indentation-flexible", min(0.99, ratio(old, file)), reindented=True)


def _strict(doc: Document, variant: _Variant, replace_all: bool, *, first: bool) -> list[Placement]:
    label = variant.label
    old_lines, old_newline = variant.lines
    if not first:
        exact = find_all(doc.view, variant.old)
        if exact:
            windows_at = [doc.view.count("\n", 0, s) for s in exact]
            chosen = _choose(variant, windows_at, replace_all, label)
            if chosen:
                return [
                    Placement(exact[i], exact[i] + len(variant.old), variant.new, windows_at[i], label, 1.0)
                    for i in chosen
                ]
    if not any(line.strip() for line in old_lines):
        return []
    for name in STRICT_PASSES:
        windows = strict_windows(doc, old_lines, name)
        if windows:
            return _placements(doc, variant, windows, name, replace_all)
    if len(old_lines) == 1 and not old_newline:
        inline = _inline(doc, variant, replace_all)
        if inline:
            return inline
    if len(doc.lines) > MAX_SCAN_LINES:
        return []
    windows = blank_line_windows(doc, old_lines)
    if windows:
        return _placements(doc, variant, windows, "blank-lines", False)
    windows = partial_windows(doc, old_lines, old_newline)
    if windows:
        return _placements(doc, variant, windows, "partial-lines", False)
    return []


def _fuzzy(doc: Document, variant: _Variant) -> list[Placement]:
    windows = anchored_windows(doc, variant.lines[0])
    return _placements(doc, variant, windows, "block-anchors", False) if windows else []


def _choose(variant: _Variant, starts: Sequence[int], replace_all: bool, matcher: str) -> list[int]:
    """Which candidates to use: all (replaceAll), the only one, or the one at the claimed line."""
    if variant.hint is not None:
        hinted = [i for i, start in enumerate(starts) if start + 1 == variant.hint]
        if len(starts) > 1 and len(hinted) == 1 and not replace_all:
            return hinted
        if len(variant.lines[0]) == 1 and not hinted:
            return []  # one numbered line found elsewhere than claimed: too weak to trust
    if len(starts) == 1 or replace_all:
        return list(range(len(starts)))
    numbers = [start + 1 for start in starts]
    raise Ambiguous(
        f"oldString does not occur exactly, and the tolerant match ({matcher}) fits {len(starts)} places "
        f"(lines {_listed(numbers)}), so nothing was changed. Copy oldString exactly from the read output "
        "and include enough surrounding lines to match one place only."
    )


def _placements(
    doc: Document, variant: _Variant, windows: list[Window], name: str, replace_all: bool
) -> list[Placement]:
    chosen = _choose(variant, [w.start for w in windows], replace_all, name)
    if not chosen:
        return []
    picked = [windows[i] for i in chosen]
    for a, b in itertools.pairwise(picked):
        if b.start < a.stop:
            raise Ambiguous(
                f"oldString matches overlapping places (lines {a.start + 1} and {b.start + 1}); "
                "include more surrounding lines so that it matches one place only."
            )
    old_lines, old_newline = variant.lines
    new_lines, new_newline = split_lines(variant.new)
    placements: list[Placement] = []
    for window in picked:
        placement = place(doc, window, old_lines, new_lines, old_newline, new_newline, name)
        if variant.label:
            placement.matcher = f"{variant.label}+{placement.matcher}"
        placements.append(placement)
    return placements


def _inline(doc: Document, variant: _Variant, replace_all: bool) -> list[Placement]:
    """A one-line oldString inside a line, spaces and typographic punctuation forgiven."""
    old = variant.old
    tokens = old.split()
    if not tokens or sum(len(t) for t in tokens) < 3:
        return []
    new = variant.new
    lead = indent_of(old)
    trail = old[len(old.rstrip()) :]
    if lead and new.startswith(lead):
        new = new[len(lead) :]
    if trail and new.endswith(trail):
        new = new[: len(new) - len(trail)]
    for name, view in (
        ("whitespace-normalised", doc.view),
        ("smart-quotes", doc.view.translate(SAME_LENGTH)),
    ):
        words = tokens if name == "whitespace-normalised" else [t.translate(SAME_LENGTH) for t in tokens]
        # Unlike an exact match, a tolerant one must not start or end inside a word.
        before = r"(?<!\w)" if re.match(r"\w", words[0]) else ""
        after = r"(?!\w)" if re.search(r"\w$", words[-1]) else ""
        pattern = re.compile(before + r"[ \t]+".join(re.escape(word) for word in words) + after)
        spans = [(m.start(), m.end()) for m in pattern.finditer(view)]
        if not spans:
            continue
        starts = [doc.view.count("\n", 0, s) for s, _ in spans]
        chosen = _choose(variant, starts, replace_all, name)
        matcher = name if not variant.label else f"{variant.label}+{name}"
        return [
            Placement(
                spans[i][0],
                spans[i][1],
                new,
                starts[i],
                matcher,
                min(0.99, ratio(old.strip(), doc.view[spans[i][0] : spans[i][1]])),
            )
            for i in chosen
        ]
    return []


def _already_applied(doc: Document, variants: Sequence[_Variant]) -> None:
    for variant in variants:
        new = variant.new
        if len(new.strip()) < 2:
            continue
        at = doc.view.find(new)
        line: int | None = doc.view.count("\n", 0, at) + 1 if at != -1 else None
        if line is None:
            lines, _ = split_lines(new)
            if lines and any(line.strip() for line in lines):
                windows = strict_windows(doc, lines, "indentation")
                line = windows[0].start + 1 if len(windows) == 1 else None
        if line is not None and (len(split_lines(new)[0]) >= 3 or ratio(variant.old, new) >= CLOSE_ENOUGH):
            raise AlreadyApplied(
                f"oldString is not in the file, but newString already is (at line {line}): the edit looks already "
                "applied (perhaps by an earlier call), so nothing was changed. If that is not what you expected, "
                "read the file and retry with oldString copied from it."
            )


def _listed(numbers: Sequence[int]) -> str:
    shown = ", ".join(str(n) for n in numbers[:MAX_LISTED])
    return shown + (", ..." if len(numbers) > MAX_LISTED else "")
