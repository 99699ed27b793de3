"""Re-indenting the lines an edit writes, the way its match was: the model's indentation onto the file's.

When the model indented a block as the file does, nothing changes. When its indentation differs
by a constant (it dropped or added outer levels) or by style (spaces for the file's tabs, or the
reverse), each written line keeps its indentation relative to the nearest matched line and gets
that line's indentation in the file. A mapping that cannot be made raises `CannotReindent`.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence


def indent_of(line: str) -> str:
    return line[: len(line) - len(line.lstrip(" \t"))]


def indent_unit(lines: Sequence[str]) -> str:
    tabs = spaces = 0
    widths: Counter[int] = Counter()
    previous = 0
    for line in lines:
        if not line.strip():
            continue
        indent = indent_of(line)
        if indent.startswith("\t"):
            tabs += 1
        elif indent:
            spaces += 1
            step = len(indent) - previous
            if step > 0:
                widths[step] += 1
        previous = len(indent.expandtabs(4))
    if tabs > spaces:
        return "\t"
    for width, _ in widths.most_common():
        if 2 <= width <= 8:
            return " " * width
    return "    "


class CannotReindent(Exception):
    pass


class Reindent:
    """Maps the model's indentation onto the file's, from the lines matched to each other.

    When the model indented the block as the file does, changed lines go in as written. When the
    indentation differs by a constant (the model dropped the outer levels) or by style (spaces for
    the file's tabs), each changed line keeps its indentation relative to the nearest matched line
    and gets that line's indentation in the file."""

    def __init__(self, pairs: Sequence[tuple[str, str]], model_lines: Sequence[str], file_unit: str) -> None:
        self.pairs = [(indent_of(o), indent_of(f)) for o, f in pairs if o.strip() and f.strip()]
        model = [indent_of(line) for line in model_lines if line.strip()]
        file_char = _style([f for _, f in self.pairs]) or ("\t" if file_unit == "\t" else " ")
        model_char = _style(model) or file_char
        self.convert = model_char != file_char
        self.same = not self.convert and all(o == f for o, f in self.pairs)
        self.file_unit = "\t" if file_char == "\t" else (file_unit if file_unit != "\t" else "    ")
        self.model_unit = 4 if model_char == "\t" else self._model_unit(model)
        self._majority = self._pick_majority()

    def _model_unit(self, model: Sequence[str]) -> int:
        """Columns per level in the model's space indentation, fitted to the file's tab levels."""
        widths = sorted({len(indent) for indent in model if indent})
        steps = [b - a for a, b in zip([0, *widths], widths, strict=False)]
        own = math.gcd(*steps) if steps else 4
        if not self.convert or self.file_unit != "\t":
            return own if 2 <= own <= 8 else 4
        best, score = (own if 2 <= own <= 8 else 4), -1
        for unit in dict.fromkeys([own, 4, 2, 8, 3]):
            if not 2 <= unit <= 8:
                continue
            offsets = Counter(len(o.expandtabs(unit)) - unit * f.count("\t") for o, f in self.pairs)
            hits = offsets.most_common(1)[0][1] if offsets else 0
            if hits > score:
                best, score = unit, hits
        return best

    def _pick_majority(self) -> tuple[str, str] | None:
        """The matched pair whose indentation mapping fits the most other pairs."""
        if self.same or not self.pairs:
            return None
        best, score = self.pairs[0], -1
        for anchor in list(dict.fromkeys(self.pairs))[:40]:
            hits = 0
            for o, f in self.pairs:
                try:
                    hits += self._map(o, anchor[0], anchor[1]) == f
                except CannotReindent:
                    pass
            if hits > score:
                best, score = anchor, hits
        return best

    def consistent(self, model_line: str, file_line: str) -> bool:
        """Whether this pair's indentation follows the block's usual mapping (not a one-line slip)."""
        if self._majority is None:
            return True
        try:
            return self._map(indent_of(model_line), *self._majority) == indent_of(file_line)
        except CannotReindent:
            return False

    @property
    def changes(self) -> bool:
        return not self.same

    def uniform(self) -> bool:
        """Whether one mapping carries every matched line's indentation onto the file's."""
        if self.same or not self.pairs:
            return True
        anchor = self.pairs[0]
        try:
            return all(self._map(o, anchor[0], anchor[1]) == f for o, f in self.pairs)
        except CannotReindent:
            return False

    def line(self, new: str, model_anchor: str, file_anchor: str) -> str:
        if self.same:
            return new
        if not new.strip():
            return ""
        indent = indent_of(new)
        return self._map(indent, indent_of(model_anchor), indent_of(file_anchor)) + new[len(indent) :]

    def _map(self, indent: str, model: str, file: str) -> str:
        if not self.convert:
            if model == file:
                return indent
            if indent.startswith(model):
                return file + indent[len(model) :]
            cut = model[len(indent) :]
            if model.startswith(indent) and file.endswith(cut):
                return file[: len(file) - len(cut)]
        columns = self._columns(indent) - self._columns(model)
        levels, rest = divmod(columns, self.model_unit)
        if levels >= 0:
            return file + self.file_unit * levels + " " * rest
        tail = self.file_unit * -levels
        if not file.endswith(tail):
            raise CannotReindent(indent)
        return file[: len(file) - len(tail)] + " " * rest

    def _columns(self, indent: str) -> int:
        return len(indent.expandtabs(self.model_unit))


def _style(indents: Sequence[str]) -> str | None:
    if any("\t" in indent for indent in indents):
        return "\t"
    if any(indents):
        return " "
    return None
