"""Where a block of lines sits in a file, and merging a change into it: the machinery under `matching`.

A `Document` is a file's text with an LF view to match on and the way back to the original's
offsets (so the file keeps its line endings). Windows are the places a block of the model's
lines can sit, found by passes of rising tolerance (`KEYS`: exact, trailing whitespace,
indentation, whitespace inside lines, typographic punctuation; then blank lines left out,
partial first/last lines, and similar blocks with matching first and last lines). `place` turns a
window into a replacement as a three-way merge with the model's old text as the base: lines the
change keeps come from the file as they are, lines it changes must be in the file (else
`Conflict`), and lines it writes are re-indented the way the match was (`reindent`). The region
messages show the model the file's closest lines with a per-line diff.
"""

from __future__ import annotations

import bisect
import difflib
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from opencode.tool.reindent import CannotReindent, Reindent, indent_of, indent_unit

MAX_REGION_LINES = 12
MAX_DIFF_LINES = 16
MAX_SCAN_LINES = 50_000
"""Files longer than this get only the exact and strict passes (the rest would be slow)."""
FUZZY_MIN_LINES = 3
FUZZY_LINE_RATIO = 0.6
FUZZY_CHAR_RATIO = 0.85
CLOSE_ENOUGH = 0.5

_QUOTES = {
    "\u2018": "'",
    "\u2019": "'",
    "\u201a": "'",
    "\u201b": "'",
    "\u2032": "'",
    "\u201c": '"',
    "\u201d": '"',
    "\u201e": '"',
    "\u201f": '"',
    "\u2033": '"',
    "\u2010": "-",
    "\u2011": "-",
    "\u2012": "-",
    "\u2013": "-",
    "\u2014": "-",
    "\u2015": "-",
    "\u2212": "-",
    "\u00a0": " ",
    "\u2007": " ",
    "\u2009": " ",
    "\u202f": " ",
}
SAME_LENGTH = str.maketrans(_QUOTES)
PUNCTUATION = str.maketrans({**_QUOTES, "\u2026": "...", "\u200b": "", "\ufeff": ""})


class EditError(Exception):
    """The edit cannot be placed safely. The message is for the model and does not name the file."""


class NotFound(EditError):
    pass


class Ambiguous(EditError):
    pass


class Conflict(EditError):
    pass


class AlreadyApplied(EditError):
    pass


@dataclass
class Placement:
    """A replacement of view[start:end]; `line` is its first line (0-based)."""

    start: int
    end: int
    text: str
    line: int
    matcher: str
    similarity: float
    reindented: bool = False


class Document:
    """A file's text with an LF view to match on, and the way back to the original's offsets."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.view = text.replace("\r\n", "\n")
        self.lines = self.view.split("\n")
        self.starts: list[int] = []
        offset = 0
        for line in self.lines:
            self.starts.append(offset)
            offset += len(line) + 1
        self.crlf: list[int] = []
        at = text.find("\r\n")
        while at != -1:
            self.crlf.append(at - len(self.crlf))
            at = text.find("\r\n", at + 2)
        self.ending = "\r\n" if len(self.crlf) > self.view.count("\n") - len(self.crlf) else "\n"
        self._keys: dict[str, list[str]] = {}
        self._unit: str | None = None

    def original(self, position: int) -> int:
        """The offset in `text` of a view offset (each CRLF before it adds one)."""
        return position + bisect.bisect_left(self.crlf, position)

    def keys(self, name: str) -> list[str]:
        cached = self._keys.get(name)
        if cached is None:
            cached = self._keys[name] = [KEYS[name](line) for line in self.lines]
        return cached

    def line_end(self, index: int) -> int:
        return self.starts[index] + len(self.lines[index])

    def has_newline_after(self, index: int) -> bool:
        return index < len(self.lines) - 1

    def indent_unit(self) -> str:
        """The file's indentation step: a tab, or the usual number of spaces."""
        if self._unit is None:
            self._unit = indent_unit(self.lines)
        return self._unit

    def apply(self, placements: Sequence[Placement]) -> str:
        """The text with every placement applied; new text gets the file's dominant line ending.

        In a file with mixed endings, every line the edit kept keeps its own ending."""
        if self.crlf and len(self.crlf) < self.view.count("\n"):
            return self._apply_mixed(placements)
        out = self.text
        for placement in sorted(placements, key=lambda p: p.start, reverse=True):
            replacement = placement.text
            if self.ending != "\n":
                replacement = replacement.replace("\n", self.ending)
            out = out[: self.original(placement.start)] + replacement + out[self.original(placement.end) :]
        return out

    def _apply_mixed(self, placements: Sequence[Placement]) -> str:
        view = self.view
        for placement in sorted(placements, key=lambda p: p.start, reverse=True):
            view = view[: placement.start] + placement.text + view[placement.end :]
        crlf = set(self.crlf)
        endings = ["\r\n" if self.line_end(i) in crlf else "\n" for i in range(len(self.lines) - 1)]
        lines = view.split("\n")
        chosen: list[str] = [self.ending] * (len(lines) - 1)
        matcher = difflib.SequenceMatcher(None, self.lines, lines, autojunk=False)
        for tag, i1, i2, j1, j2 in matcher.get_opcodes():
            for j in range(j1, min(j2, len(chosen))):
                if tag == "equal":
                    i = i1 + j - j1
                elif i2 > i1:
                    i = i1 + min(j - j1, i2 - i1 - 1)
                else:
                    i = i1 - 1
                if 0 <= i < len(endings):
                    chosen[j] = endings[i]
        return "".join(line + ending for line, ending in zip(lines, [*chosen, ""], strict=True))


# --- normalisations ---------------------------------------------------------------------------


def _collapse(line: str) -> str:
    return " ".join(line.split())


def punctuation(line: str) -> str:
    return " ".join(line.translate(PUNCTUATION).split())


KEYS: dict[str, Callable[[str], str]] = {
    "exact": str,
    "trailing-whitespace": str.rstrip,
    "indentation": str.strip,
    "whitespace-normalised": _collapse,
    "smart-quotes": punctuation,
}
STRICT_PASSES = ("trailing-whitespace", "indentation", "whitespace-normalised", "smart-quotes")


def normalise_newlines(text: str) -> str:
    return text.replace("\r\n", "\n")


def split_lines(text: str) -> tuple[list[str], bool]:
    """Lines of `text` and whether it ended with a newline ("" has no lines)."""
    if not text:
        return [], False
    lines = text.split("\n")
    if text.endswith("\n"):
        lines.pop()
        return lines, True
    return lines, False


def find_all(text: str, needle: str) -> list[int]:
    """Start offsets of the non-overlapping occurrences, as str.replace would see them."""
    found: list[int] = []
    start = text.find(needle)
    while start != -1:
        found.append(start)
        start = text.find(needle, start + len(needle))
    return found


# --- windows: where the model's lines sit in the file -------------------------------------------


@dataclass
class Window:
    """File lines [start, stop) matched to the model's lines.

    `link[k]` is the window-relative file line equal to model line k (under the pass's
    normalisation), or None. `spans[k]` is the range of window lines that model line k stands for:
    its linked line, the file's own version of a line the model remembered differently, or an
    empty range for a line the model imagined. Window lines between spans are lines the model did
    not show; `blocked` holds the boundaries (0..len) where nobody can tell where a line added
    there would go. `head`/`tail` complete a partial first/last line."""

    start: int
    stop: int
    link: list[int | None]
    spans: list[tuple[int, int]]
    blocked: frozenset[int] = frozenset()
    head: str = ""
    tail: str = ""
    similarity: float = 1.0

    @classmethod
    def identity(cls, start: int, size: int, head: str = "", tail: str = "") -> Window:
        return cls(start, start + size, list(range(size)), [(k, k + 1) for k in range(size)], head=head, tail=tail)

    @classmethod
    def aligned(cls, start: int, model: Sequence[str], window: Sequence[str], similarity: float = 1.0) -> Window:
        """A window whose lines are aligned to the model's by their normalised text."""
        link: list[int | None] = [None] * len(model)
        spans: list[tuple[int, int]] = [(0, 0)] * len(model)
        blocked: set[int] = set()
        matcher = difflib.SequenceMatcher(None, list(model), list(window), autojunk=False)
        for tag, i1, i2, j1, j2 in matcher.get_opcodes():
            if tag == "equal":
                for k in range(i2 - i1):
                    link[i1 + k] = j1 + k
                    spans[i1 + k] = (j1 + k, j1 + k + 1)
            elif tag == "delete":
                for k in range(i1, i2):
                    spans[k] = (j1, j1)
            elif tag == "replace":
                if i2 - i1 == j2 - j1:
                    for k in range(i2 - i1):
                        spans[i1 + k] = (j1 + k, j1 + k + 1)
                else:
                    spans[i1] = (j1, j2)
                    for k in range(i1 + 1, i2):
                        spans[k] = (j2, j2)
                    blocked.update(range(i1 + 1, i2))
        return cls(start, start + len(window), link, spans, frozenset(blocked), similarity=similarity)


def _search(keys: Sequence[str], pattern: Sequence[str], lo: int, hi: int) -> list[int]:
    found: list[int] = []
    size = len(pattern)
    if not size:
        return found
    first = pattern[0]
    for i in range(lo, hi - size + 1):
        if keys[i] == first and all(keys[i + k] == pattern[k] for k in range(1, size)):
            found.append(i)
    return found


def strict_windows(doc: Document, lines: Sequence[str], name: str, lo: int = 0, hi: int | None = None) -> list[Window]:
    """Windows where every model line equals its file line under the pass's normalisation."""
    hi = len(doc.lines) if hi is None else hi
    key = KEYS[name]
    pattern = [key(line) for line in lines]
    return [Window.identity(i, len(lines)) for i in _search(doc.keys(name), pattern, lo, hi)]


def blank_line_windows(doc: Document, lines: Sequence[str], lo: int = 0, hi: int | None = None) -> list[Window]:
    """Windows equal to the model's lines once blank lines are left out on both sides."""
    hi = len(doc.lines) if hi is None else hi
    keys = doc.keys("smart-quotes")
    model = [punctuation(line) for line in lines]
    pattern = [key for key in model if key]
    if len(pattern) < 2:
        return []
    filled = [i for i in range(lo, hi) if keys[i]]
    found: list[Window] = []
    for s in _search([keys[i] for i in filled], pattern, 0, len(filled)):
        start, stop = filled[s], filled[s + len(pattern) - 1] + 1
        found.append(Window.aligned(start, model, keys[start:stop]))
    return found


def partial_windows(doc: Document, lines: Sequence[str], whole_last: bool) -> list[Window]:
    """Windows whose first model line is the end of a file line and/or whose last is the start of one.

    Only for two lines or more; the middle must match with indentation ignored."""
    if len(lines) < 2:
        return []
    keys = doc.keys("indentation")
    first, last = lines[0].strip(), lines[-1].strip()
    middle = [line.strip() for line in lines[1:-1]]
    if not first or not last:
        return []
    found: list[Window] = []
    size = len(lines)
    for i in range(len(doc.lines) - size + 1):
        top, bottom = doc.lines[i].rstrip(), doc.lines[i + size - 1]
        if not top.endswith(first) or not bottom.lstrip().startswith(last):
            continue
        if keys[i + 1 : i + size - 1] != middle:
            continue
        head = top[: len(top) - len(first)]
        lead = len(bottom) - len(bottom.lstrip())
        tail = bottom[lead + len(last) :]
        head = head if head.strip() else ""
        tail = tail if tail.strip() else ""
        if (not head and not tail) or (whole_last and tail):
            continue  # whole lines (the strict passes looked), or a last line that oldString ends
        if (head and len(first) < 3) or (tail and len(last) < 3):
            continue  # a fragment of a line says too little about where it is
        found.append(Window.identity(i, size, head, tail))
    return found


def anchored_windows(doc: Document, lines: Sequence[str], lo: int = 0, hi: int | None = None) -> list[Window]:
    """Windows whose first and last lines match the model's and whose lines are similar overall."""
    hi = len(doc.lines) if hi is None else hi
    keys = doc.keys("smart-quotes")
    model = [punctuation(line) for line in lines]
    filled = [k for k, key in enumerate(model) if key]
    if len(filled) < FUZZY_MIN_LINES or hi - lo > MAX_SCAN_LINES:
        return []
    body = model[filled[0] : filled[-1] + 1]
    slack = max(2, len(body) // 4)
    found: list[Window] = []
    for i in range(lo, hi):
        if keys[i] != body[0]:
            continue
        for j in range(i + max(1, len(body) - 1 - slack), min(hi, i + len(body) + slack)):
            if keys[j] != body[-1]:
                continue
            window = keys[i : j + 1]
            if difflib.SequenceMatcher(None, body, window, autojunk=False).ratio() < FUZZY_LINE_RATIO:
                continue
            chars = difflib.SequenceMatcher(None, "\n".join(body), "\n".join(window), autojunk=False).ratio()
            if chars < FUZZY_CHAR_RATIO:
                continue
            found.append(Window.aligned(i, model, window, chars))
            break
    return found


def block_windows(doc: Document, lines: Sequence[str], lo: int, hi: int) -> tuple[str, list[Window]]:
    """Whole-line windows for `lines` within file lines [lo, hi): the first pass that finds any."""
    if not any(line.strip() for line in lines):
        return "exact", strict_windows(doc, lines, "exact", lo, hi)
    for name in ("exact", *STRICT_PASSES):
        windows = strict_windows(doc, lines, name, lo, hi)
        if windows:
            return name, windows
    if hi - lo > MAX_SCAN_LINES:
        return "", []
    windows = blank_line_windows(doc, lines, lo, hi)
    if windows:
        return "blank-lines", windows
    return "block-anchors", anchored_windows(doc, lines, lo, hi)


def line_matches(doc: Document, line: str, lo: int, hi: int) -> list[int]:
    """File lines in [lo, hi) equal to `line`, by the first strict pass that finds any."""
    for name in ("exact", *STRICT_PASSES):
        key = KEYS[name](line)
        keys = doc.keys(name)
        found = [i for i in range(lo, hi) if keys[i] == key]
        if found:
            return found
    return []


# --- turning a window into a replacement ----------------------------------------------------------


class _Conflict(Exception):
    pass


def merge(old: Sequence[str], window: Sequence[str], new: Sequence[str], w: Window, reindent: Reindent) -> list[str]:
    """The window's lines after the change old -> new, as a three-way merge with `old` as the base.

    Lines `new` keeps come from the file as they are; lines it changes must be in the file as the
    model wrote them (else `_Conflict`: it would overwrite what the model has not seen) and go in
    re-indented; lines it adds must have one clear place."""
    link, spans, size = w.link, w.spans, len(old)
    matched = [k for k in range(size) if link[k] is not None and old[k].strip()]
    steady = [k for k in matched if reindent.consistent(old[k], window[link[k]])]  # type: ignore[index]

    def gap(k: int) -> tuple[int, int]:
        """The window lines the model did not show, just before its line k (k == size: after the last)."""
        lo = spans[k - 1][1] if k > 0 else 0
        hi = spans[k][0] if k < size else len(window)
        return lo, hi

    def anchor(near: int, lo: int, hi: int) -> tuple[str, str]:
        pool = [k for k in matched if lo <= k < hi] or matched
        if not pool:
            return "", ""
        best = min(pool, key=lambda k: (abs(k - near), k > near))
        return old[best], window[link[best]]  # type: ignore[index]

    def insert_anchor(i: int, lines: Sequence[str]) -> tuple[str, str]:
        """For lines added at boundary i: the neighbour they sit beside in the model's text.

        The kept line before or after with the same indentation as the first added line; else
        one whose indentation maps like the rest of the block (not a one-line slip); else the
        line before."""
        before = [k for k in matched if k < i]
        after = [k for k in matched if k >= i]
        neighbours = [k for k in (before[-1] if before else None, after[0] if after else None) if k is not None]
        if not neighbours:
            return "", ""
        first = next((line for line in lines if line.strip()), "")
        same = [k for k in neighbours if indent_of(old[k]) == indent_of(first)]
        best = (same or [k for k in neighbours if k in steady] or neighbours)[0]
        return old[best], window[link[best]]  # type: ignore[index]

    def slides(i: int, j1: int, j2: int) -> range:
        """The boundaries an insertion of new[j1:j2] at boundary i could equally be read at."""
        lo, a, b = i, j1, j2
        while lo > 0 and a > 0 and new[b - 1] == old[lo - 1]:
            lo, a, b = lo - 1, a - 1, b - 1
        hi, a, b = i, j1, j2
        while hi < size and b < len(new) and new[a] == old[hi]:
            hi, a, b = hi + 1, a + 1, b + 1
        return range(lo, hi + 1)

    out: list[str] = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, old, new, autojunk=False).get_opcodes():
        g_lo, g_hi = gap(i1)
        if tag == "equal":
            out.extend(window[g_lo : spans[i2 - 1][1]])
            continue
        if tag == "insert":
            for boundary in slides(i1, j1, j2):
                lo, hi = gap(boundary)
                if hi > lo or boundary in w.blocked:
                    raise _Conflict("the file has lines where the change adds lines that the old text does not show")
        else:
            if any(line.strip() for line in window[g_lo:g_hi]):
                raise _Conflict("the file has lines right before the change that the old text does not show")
            out.extend(window[g_lo:g_hi])
            for k in range(i1, i2):
                if link[k] is None and (old[k].strip() or spans[k][0] != spans[k][1]):
                    text = old[k].strip() or "a blank line"
                    raise _Conflict(f"old line {k + 1} ({text!r}), which the change replaces, is not in the file")
                if k > i1:
                    lo, hi = gap(k)
                    if hi > lo and (j2 > j1 or any(line.strip() for line in window[lo:hi])):
                        raise _Conflict("the file has lines inside the changed part that the old text does not show")
        added = insert_anchor(i1, new[j1:j2]) if tag == "insert" else None
        for j in range(j1, j2):
            near = i1 + min(j - j1, i2 - i1 - 1) if i2 > i1 else i1 - 1
            model_anchor, file_anchor = added or anchor(near, i1, i2)
            try:
                out.append(reindent.line(new[j], model_anchor, file_anchor))
            except CannotReindent:
                raise _Conflict(f"new line {j + 1} cannot be re-indented to the file's indentation")
    lo, _ = gap(size)
    out.extend(window[lo:])
    return out


def place(
    doc: Document,
    window: Window,
    old: Sequence[str],
    new: Sequence[str],
    old_newline: bool,
    new_newline: bool,
    matcher: str,
    what: str = "oldString",
) -> Placement:
    """The replacement of a window's lines (`matcher` names the pass that found it); raises `Conflict`."""
    try:
        return _place(doc, window, old, new, old_newline, new_newline, matcher)
    except _Conflict as exc:
        raise Conflict(_conflict_message(doc, window, old, str(exc), matcher, what))


def _place(
    doc: Document,
    window: Window,
    old: Sequence[str],
    new: Sequence[str],
    old_newline: bool,
    new_newline: bool,
    matcher: str,
) -> Placement:
    old_lines, new_lines = list(old), list(new)
    if window.head or window.tail:
        # Complete the partial lines from the file, as an exact replacement of the part would.
        if not new_lines:
            new_lines = [window.head + window.tail]
        else:
            if window.head:
                new_lines[0] = window.head + _strip_like(new_lines[0], old[0], leading=True)
            if window.tail:
                new_lines[-1] = _strip_like(new_lines[-1], old[-1], leading=False) + window.tail
        if window.head:
            old_lines[0] = window.head + old_lines[0].lstrip()
        if window.tail:
            old_lines[-1] = old_lines[-1].rstrip() + window.tail
    file_lines = doc.lines[window.start : window.stop]
    pairs = [(old_lines[k], file_lines[f]) for k, f in enumerate(window.link) if f is not None]
    if _in_file_frame(old_lines, new_lines, file_lines, window.link):
        # newString is indented as the file is (only oldString drifted): compare in the file's frame.
        old_lines = _reframed(old_lines, file_lines, window.link)
        pairs = [(old_lines[k], file_lines[f]) for k, f in enumerate(window.link) if f is not None]
    reindent = Reindent(pairs, [*old_lines, *new_lines], doc.indent_unit())
    merged = merge(old_lines, file_lines, new_lines, window, reindent)
    start = doc.starts[window.start]
    end = doc.line_end(window.stop - 1)
    text = "\n".join(merged)
    if old_newline and doc.has_newline_after(window.stop - 1):
        end += 1
        if new_newline:
            text += "\n"
    elif not old_newline and new_newline:
        text += "\n"
    if matcher == "indentation":
        matcher = "indentation-flexible" if reindent.uniform() else "line-trimmed"
    elif matcher == "trailing-whitespace" and all(a == b for a, b in zip(old_lines, file_lines, strict=True)):
        matcher = "trailing-newline"
    similarity = window.similarity
    if similarity >= 1.0:
        original = doc.view[start:end]
        wanted = "\n".join(old) + ("\n" if old_newline else "")
        similarity = 1.0 if original == wanted else min(0.99, ratio(wanted, original))
    return Placement(start, end, text, window.start, matcher, similarity, reindent.changes and bool(new_lines))


def _reframed(old: Sequence[str], file: Sequence[str], link: Sequence[int | None]) -> list[str]:
    """oldString's lines with the indentation of the file lines they matched."""
    return [
        indent_of(file[f]) + line.lstrip(" \t") if f is not None and line.strip() else line
        for line, f in zip(old, link, strict=True)
    ]


def _in_file_frame(old: Sequence[str], new: Sequence[str], file: Sequence[str], link: Sequence[int | None]) -> bool:
    """Whether newString is indented as the file is, while oldString's indentation drifted.

    The frame in which old and new share more identical lines is the one the model wrote new in."""
    reframed = _reframed(old, file, link)
    if reframed == list(old):
        return False

    def shared(lines: Sequence[str]) -> int:
        blocks = difflib.SequenceMatcher(None, list(lines), list(new), autojunk=False).get_matching_blocks()
        return sum(1 for a, _, size in blocks for k in range(size) if lines[a + k].strip())

    return shared(reframed) > shared(old)


def _strip_like(line: str, model: str, *, leading: bool) -> str:
    if leading:
        space = indent_of(model)
        return line[len(space) :] if line.startswith(space) else line.lstrip()
    space = model[len(model.rstrip()) :]
    return line[: len(line) - len(space)] if space and line.endswith(space) else line.rstrip()


def ratio(a: str, b: str) -> float:
    """How similar two texts are, 0 to 1 (a tab counts as the four spaces it looks like)."""
    a, b = a.expandtabs(4), b.expandtabs(4)
    if len(a) + len(b) > 40_000:
        return difflib.SequenceMatcher(None, a, b, autojunk=False).quick_ratio()
    return difflib.SequenceMatcher(None, a, b, autojunk=False).ratio()


# --- messages -------------------------------------------------------------------------------------


def not_found_message(doc: Document, old_lines: Sequence[str], what: str = "oldString") -> str:
    message = (
        f"{what} was not found in the file, not even with whitespace, indentation, quotes or escapes forgiven. "
        "Copy the lines exactly from the read output (without the line-number prefixes); if the file may have "
        "changed, read it again."
    )
    region = closest_region(doc, old_lines, what)
    return f"{message}\n\n{region}" if region else message


def closest_region(doc: Document, old_lines: Sequence[str], what: str = "oldString") -> str:
    """The file's lines that look most like `old_lines`, numbered, with a per-line diff; "" when none is close."""
    found = _closest(doc, old_lines)
    if found is None:
        return ""
    first, size, score = found
    return _region(doc, first, size, old_lines, f"The closest text is at {_span(first, size)}", score, what)


def _span(first: int, size: int) -> str:
    return f"line {first + 1}" if size <= 1 else f"lines {first + 1}-{first + size}"


def _closest(doc: Document, old_lines: Sequence[str]) -> tuple[int, int, float] | None:
    if len(doc.lines) > MAX_SCAN_LINES:
        return None
    keys = doc.keys("smart-quotes")
    wanted = [punctuation(line) for line in old_lines]
    while wanted and not wanted[-1]:
        wanted.pop()
    filled = [(k, key) for k, key in enumerate(wanted) if key]
    if not filled:
        return None
    starts: set[int] = set()
    positions: dict[str, list[int]] = {}
    for i, key in enumerate(keys):
        positions.setdefault(key, []).append(i)
    for k, key in [*filled[:3], *filled[-2:]]:
        for close in difflib.get_close_matches(key, list(positions), n=4, cutoff=0.6):
            starts.update(max(0, i - k) for i in positions[close][:20])
    if not starts:
        return None
    size = len(wanted)
    target = "\n".join(wanted)
    scored = [(ratio(target, "\n".join(keys[s : s + size])), -s) for s in sorted(starts)[:80]]
    score, negative = max(scored)
    if score < CLOSE_ENOUGH:
        return None
    first = -negative
    real = len(doc.lines) - (1 if doc.view.endswith("\n") else 0)  # not the empty "line" after the last newline
    return first, max(1, min(size, real - first)), score


def _region(doc: Document, first: int, size: int, old_lines: Sequence[str], head: str, score: float, what: str) -> str:
    window = doc.lines[first : first + size]
    shown = window[:MAX_REGION_LINES]
    numbered = "\n".join(f"{first + 1 + i}: {line}" for i, line in enumerate(shown))
    if len(window) > len(shown):
        numbered += f"\n... ({len(window) - len(shown)} more lines)"
    diff: list[str] = []
    # Compared with whitespace and quotes forgiven: those alone never make an edit fail.
    matcher = difflib.SequenceMatcher(
        None, [punctuation(line) for line in old_lines], [punctuation(line) for line in window], autojunk=False
    )
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        diff.extend(f"-      {line}" for line in old_lines[i1:i2])
        diff.extend(f"+{first + 1 + j:5}: {line}" for j, line in enumerate(window[j1:j2], start=j1))
    if len(diff) > MAX_DIFF_LINES:
        diff = [*diff[:MAX_DIFF_LINES], f"... ({len(diff) - MAX_DIFF_LINES} more)"]
    text = f"{head} (similarity {score_text(score)}):\n{numbered}"
    if diff:
        text += f"\n\nLine by line, where {what} differs (- {what}, + the file):\n" + "\n".join(diff)
    return text


def score_text(value: float) -> str:
    """Two decimals, never 1.00 for text that differs."""
    return f"{min(value, 0.99) if value < 1.0 else 1.0:.2f}"


def _conflict_message(
    doc: Document, window: Window, old_lines: Sequence[str], why: str, matcher: str, what: str
) -> str:
    head = f"{what} resembles {_span(window.start, window.stop - window.start)} ({matcher})"
    region = _region(doc, window.start, window.stop - window.start, old_lines, head, window.similarity, what)
    return (
        f"{region}\n\nBut {why}, so nothing was changed: applying it could undo content you have not seen. "
        f"Read those lines again and retry with {what} copied exactly."
    )
