"""The edit corpus: realistic files crossed with the ways models get an edit slightly wrong.

Every case is a file (bytes), the model's oldString/newString, and what a careful human would do:
the exact bytes of the file after the edit, or None for "refuse" (the edit is ambiguous, stale or
too different to place). The expected bytes never come from the matcher: a site is a tiny diff
(see `snippets`), the right result is the file with the site's old lines replaced by its new
lines, and each failure kind only changes what the model sends (or, for "the file differs from
what the model remembers", the file's lines the edit keeps). Lines the model does not change stay
exactly as the file has them.

    .venv/bin/python -c "from tests.tool.edit_corpus.cases import all_cases; print(len(all_cases()))"
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from tests.tool.edit_corpus.snippets import SNIPPETS, Snippet

HERE = Path(__file__).parent
BOM = b"\xef\xbb\xbf"


@dataclass(frozen=True)
class Case:
    id: str
    kind: str
    file: bytes
    old: str
    new: str
    expected: bytes | None
    """The file's bytes after a correct edit; None when a careful human would refuse."""
    replace_all: bool = False
    name: str = "file.txt"


@dataclass
class Site:
    """A parsed site: its lines with tags, and the old/new texts (whole lines, newline-terminated)."""

    items: list[tuple[str, str]]

    @property
    def old_lines(self) -> list[str]:
        return [text for tag, text in self.items if tag != "+"]

    @property
    def new_lines(self) -> list[str]:
        return [text for tag, text in self.items if tag != "-"]

    @property
    def old(self) -> str:
        return join(self.old_lines)

    @property
    def new(self) -> str:
        return join(self.new_lines)

    def context(self) -> list[int]:
        """Indexes into `items` of the context lines."""
        return [i for i, (tag, _) in enumerate(self.items) if tag == " "]

    def with_items(self, items: list[tuple[str, str]]) -> Site:
        return Site(items)


def parse_site(text: str) -> Site:
    items: list[tuple[str, str]] = []
    for line in text.split("\n")[:-1]:
        tag, body = (line[:1] or " "), line[1:]
        assert tag in " -+", line
        items.append((tag, body))
    return Site(items)


def join(lines: list[str]) -> str:
    return "".join(line + "\n" for line in lines)


def indent_of(line: str) -> str:
    return line[: len(line) - len(line.lstrip(" \t"))]


# --- building cases ------------------------------------------------------------------------


class Builder:
    """Cases for one snippet; `file` is the text as stored (before encoding)."""

    def __init__(self, snippet: Snippet) -> None:
        self.snippet = snippet
        self.cases: list[Case] = []
        suffix = {"go-server": ".go", "yaml-workflow": ".yml", "markdown-readme": ".md", "csharp-crlf": ".cs"}
        self.name = "Makefile" if snippet.name.startswith("makefile") else f"file{_suffix(snippet.name, suffix)}"

    def encode(self, text: str) -> bytes:
        if self.snippet.crlf:
            text = text.replace("\n", "\r\n")
        data = text.encode("utf-8")
        return BOM + data if self.snippet.bom else data

    def add(self, kind: str, tag: str, file: str, old: str, new: str, expected: str | None, **extra: object) -> None:
        encoded = self.encode(file)
        wanted = None if expected is None else self.encode(expected)
        case_id = f"{self.snippet.name}/{kind}/{tag}"
        self.cases.append(Case(case_id, kind, encoded, old, new, wanted, name=self.name, **extra))  # type: ignore[arg-type]

    def edit(self, file: str, site: Site) -> str:
        """The file with the site applied, as a careful human would."""
        assert file.count(site.old) == 1, (self.snippet.name, site.old)
        return file.replace(site.old, site.new)


def _suffix(name: str, known: dict[str, str]) -> str:
    if name in known:
        return known[name]
    return {"python": ".py", "js": ".js", "ts": ".ts"}.get(name.split("-")[0], ".txt")


def mutate_context(
    file: str, site: Site, change: Callable[[str], str], which: Callable[[int, str], bool]
) -> tuple[str, Site]:
    """The file and site with some context lines changed in the file (and so in both old and new)."""
    items = list(site.items)
    changed = False
    for i, (tag, text) in enumerate(items):
        if tag == " " and which(i, text):
            new_text = change(text)
            if new_text != text:
                items[i] = (" ", new_text)
                changed = True
    if not changed:
        return file, site
    mutated = Site(items)
    assert file.count(site.old) == 1
    return file.replace(site.old, mutated.old), mutated


def model_context(site: Site, change: Callable[[str], str], which: Callable[[int, str], bool]) -> tuple[str, str]:
    """oldString/newString where the model wrote some context lines differently (in both)."""
    items = [(tag, change(text) if tag == " " and which(i, text) else text) for i, (tag, text) in enumerate(site.items)]
    return Site(items).old, Site(items).new


def line_number(file: str, site: Site) -> int:
    return file[: file.index(site.old)].count("\n") + 1


# --- failure kinds ----------------------------------------------------------------------------
# Each takes the builder, the file text, a parsed site and a tag; it adds zero or more cases.


def exact(b: Builder, file: str, site: Site, tag: str) -> None:
    b.add("exact", tag, file, site.old, site.new, b.edit(file, site))


def no_final_newline_in_strings(b: Builder, file: str, site: Site, tag: str) -> None:
    b.add("exact-no-trailing-newline", tag, file, site.old[:-1], site.new[:-1], b.edit(file, site))


def _unindent(lines: list[str], base: str) -> list[str] | None:
    out = []
    for line in lines:
        if not line.strip():
            out.append("")
        elif line.startswith(base):
            out.append(line[len(base) :])
        else:
            return None
    return out


def indent_less(b: Builder, file: str, site: Site, tag: str) -> None:
    """The model dropped the block's outer indentation (it copied the block as if at top level)."""
    lines = [text for _, text in site.items if text.strip()]
    base = min((indent_of(line) for line in lines), key=len)
    if not base:
        return
    old, new = _unindent(site.old_lines, base), _unindent(site.new_lines, base)
    if old is None or new is None:
        return
    b.add("indent-less", tag, file, join(old), join(new), b.edit(file, site))


def indent_more(b: Builder, file: str, site: Site, tag: str) -> None:
    """The model indented the block one level deeper than the file."""
    extra = "\t" if b.snippet.unit == "\t" else "    "

    def deeper(lines: list[str]) -> str:
        return join([extra + line if line.strip() else line for line in lines])

    b.add("indent-more", tag, file, deeper(site.old_lines), deeper(site.new_lines), b.edit(file, site))


def old_drifted_new_right(b: Builder, file: str, site: Site, tag: str) -> None:
    """oldString lost its outer indentation but newString is indented as the file is."""
    lines = [text for _, text in site.items if text.strip()]
    base = min((indent_of(line) for line in lines), key=len)
    old = _unindent(site.old_lines, base) if base else None
    if old is None:
        return
    b.add("old-drifted-new-right", tag, file, join(old), site.new, b.edit(file, site))


def one_line_misindented(b: Builder, file: str, site: Site, tag: str) -> None:
    """One context line of oldString (and newString) has two spaces too many."""
    context = [i for i in site.context() if site.items[i][1].strip()]
    if len(context) < 2 or b.snippet.unit in ("\t", ""):
        return
    target = context[1]
    items = [(t, "  " + x if i == target else x) for i, (t, x) in enumerate(site.items)]
    b.add("one-line-misindented", tag, file, Site(items).old, Site(items).new, b.edit(file, site))


def tabs_as_spaces(b: Builder, file: str, site: Site, tag: str) -> None:
    """A tab-indented file; the model wrote four spaces per tab."""
    if "\t" not in site.old + site.new:
        return

    def spaces(text: str) -> str:
        return "\n".join("    " * (len(x) - len(x.lstrip("\t"))) + x.lstrip("\t") for x in text.split("\n"))

    b.add("tabs-as-spaces", tag, file, spaces(site.old), spaces(site.new), b.edit(file, site))


def spaces_as_tabs(b: Builder, file: str, site: Site, tag: str) -> None:
    """A space-indented file; the model wrote tabs."""
    unit = b.snippet.unit
    if unit.strip(" ") != "" or not unit or "yaml" in b.snippet.tags:
        return

    def tabs(text: str) -> str:
        out = []
        for line in text.split("\n"):
            width = len(line) - len(line.lstrip(" "))
            out.append("\t" * (width // len(unit)) + " " * (width % len(unit)) + line.lstrip(" "))
        return "\n".join(out)

    if tabs(site.old) == site.old:
        return
    b.add("spaces-as-tabs", tag, file, tabs(site.old), tabs(site.new), b.edit(file, site))


def crlf_file(b: Builder, file: str, site: Site, tag: str) -> None:
    """A CRLF file (the C# one already is; for others, stored with CRLF); the model sends LF."""
    if b.snippet.crlf:
        b.add("crlf-file", tag, file, site.old, site.new, b.edit(file, site))
        return
    encoded = file.replace("\n", "\r\n").encode()
    expected = b.edit(file, site).replace("\n", "\r\n").encode()
    b.cases.append(
        Case(f"{b.snippet.name}/crlf-file/{tag}", "crlf-file", encoded, site.old, site.new, expected, name=b.name)
    )


def crlf_in_strings(b: Builder, file: str, site: Site, tag: str) -> None:
    """An LF file; the model sends CRLF line breaks."""
    if b.snippet.crlf:
        return
    old, new = site.old.replace("\n", "\r\n"), site.new.replace("\n", "\r\n")
    b.add("crlf-in-strings", tag, file, old, new, b.edit(file, site))


def crlf_and_indent(b: Builder, file: str, site: Site, tag: str) -> None:
    """A CRLF file and an oldString/newString indented one level too deep."""
    extra = "\t" if b.snippet.unit == "\t" else "    "
    old = join([extra + x if x.strip() else x for x in site.old_lines])
    new = join([extra + x if x.strip() else x for x in site.new_lines])
    encoded = file.replace("\n", "\r\n").encode()
    expected = b.edit(file, site).replace("\n", "\r\n").encode()
    if b.snippet.crlf:
        b.add("crlf+indent", tag, file, old, new, b.edit(file, site))
    else:
        b.cases.append(
            Case(f"{b.snippet.name}/crlf+indent/{tag}", "crlf+indent", encoded, old, new, expected, name=b.name)
        )


def trailing_spaces_in_file(b: Builder, file: str, site: Site, tag: str) -> None:
    """The file has trailing spaces on lines the edit keeps; the model left them out."""
    file2, site2 = mutate_context(file, site, lambda x: x + "  ", lambda i, x: bool(x.strip()))
    if file2 == file:
        return
    b.add("trailing-spaces-in-file", tag, file2, site.old, site.new, b.edit(file2, site2))


def trailing_spaces_from_model(b: Builder, file: str, site: Site, tag: str) -> None:
    """The model added a trailing space to the lines it keeps."""
    old, new = model_context(site, lambda x: x + " ", lambda i, x: bool(x.strip()))
    if old == site.old:
        return
    b.add("trailing-spaces-from-model", tag, file, old, new, b.edit(file, site))


def spaces_inside_lines(b: Builder, file: str, site: Site, tag: str) -> None:
    """The file aligns with runs of spaces inside kept lines; the model wrote single spaces."""

    def widen(text: str) -> str:
        body = text.lstrip(" \t")
        at = body.find(" ")
        if at <= 0:
            return text
        return text[: len(text) - len(body)] + body[:at] + "   " + body[at + 1 :]

    file2, site2 = mutate_context(file, site, widen, lambda i, x: bool(x.strip()))
    if file2 == file:
        return
    b.add("spaces-inside-lines", tag, file2, site.old, site.new, b.edit(file2, site2))


def escaped_newlines(b: Builder, file: str, site: Site, tag: str) -> None:
    """The model double-escaped its strings: literal \\n, \\t, \\" in oldString and newString."""

    def escape(text: str) -> str:
        return json.dumps(text, ensure_ascii=False)[1:-1]

    b.add("escaped-newlines", tag, file, escape(site.old[:-1]), escape(site.new[:-1]), b.edit(file, site))


def escaped_quotes(b: Builder, file: str, site: Site, tag: str) -> None:
    """The model escaped the double quotes only."""
    if '"' not in site.old:
        return
    b.add("escaped-quotes", tag, file, site.old.replace('"', '\\"'), site.new.replace('"', '\\"'), b.edit(file, site))


def _smarten(text: str) -> str:
    text = re.sub(r'"([^"\n]*)"', "\u201c\\1\u201d", text)
    return re.sub(r"(\w)'(\w)", "\\1\u2019\\2", text)


def smart_quotes_in_file(b: Builder, file: str, site: Site, tag: str) -> None:
    """The file has typographic quotes in kept lines; the model typed ASCII ones."""
    file2, site2 = mutate_context(file, site, _smarten, lambda i, x: True)
    if file2 == file:
        return
    b.add("smart-quotes-in-file", tag, file2, site.old, site.new, b.edit(file2, site2))


def smart_quotes_from_model(b: Builder, file: str, site: Site, tag: str) -> None:
    """The model turned ASCII quotes in kept lines into typographic ones."""
    old, new = model_context(site, _smarten, lambda i, x: True)
    if old == site.old:
        return
    b.add("smart-quotes-from-model", tag, file, old, new, b.edit(file, site))


def line_number_prefixes(b: Builder, file: str, site: Site, tag: str) -> None:
    """oldString copied with the read tool's `N: ` prefixes; newString without, or with them too."""
    first = line_number(file, site)
    old = join([f"{first + k}: {x}" for k, x in enumerate(site.old_lines)])
    b.add("line-numbers", tag, file, old, site.new, b.edit(file, site))
    new = join([f"{first + k}: {x}" for k, x in enumerate(site.new_lines)])
    b.add("line-numbers-both", tag, file, old, new, b.edit(file, site))


def partial_first_line(b: Builder, file: str, site: Site, tag: str) -> None:
    """oldString starts in the middle of its first line (and, in a second case, drifted too)."""
    tag0, first = site.items[0]
    if tag0 != " " or len(first.strip()) < 8:
        return
    cut = len(indent_of(first)) + len(first.strip()) // 2
    items = [(tag0, first[cut:]), *site.items[1:]]
    cut_site = Site(items)
    b.add("partial-first-line", tag, file, cut_site.old, cut_site.new, b.edit(file, site))
    base = min((indent_of(x) for _, x in site.items[1:] if x.strip()), key=len)
    rest_old = _unindent(cut_site.old_lines[1:], base) if base else None
    rest_new = _unindent(cut_site.new_lines[1:], base) if base else None
    if rest_old is None or rest_new is None:
        return
    old = join([cut_site.old_lines[0], *rest_old])
    new = join([cut_site.new_lines[0], *rest_new])
    b.add("partial-first-line+drift", tag, file, old, new, b.edit(file, site))


def partial_last_line(b: Builder, file: str, site: Site, tag: str) -> None:
    """oldString stops in the middle of its last line (and, in a second case, drifted too)."""
    tag_n, last = site.items[-1]
    if tag_n != " " or len(last.strip()) < 8:
        return
    keep = len(indent_of(last)) + len(last.strip()) // 2
    cut_site = Site([*site.items[:-1], (tag_n, last[:keep])])
    old, new = cut_site.old[:-1], cut_site.new[:-1]
    b.add("partial-last-line", tag, file, old, new, b.edit(file, site))
    extra = "\t" if b.snippet.unit == "\t" else "    "
    deeper_old = "\n".join(extra + x if x.strip() else x for x in old.split("\n"))
    deeper_new = "\n".join(extra + x if x.strip() else x for x in new.split("\n"))
    b.add("partial-last-line+drift", tag, file, deeper_old, deeper_new, b.edit(file, site))


def missing_blank_line(b: Builder, file: str, site: Site, tag: str) -> None:
    """The model left out a blank line that sits between two kept lines."""
    items = site.items
    for i in range(1, len(items) - 1):
        if items[i] == (" ", "") and items[i - 1][0] == " " and items[i + 1][0] == " ":
            short = Site(items[:i] + items[i + 1 :])
            b.add("missing-blank-line", tag, file, short.old, short.new, b.edit(file, site))
            return


def extra_blank_line(b: Builder, file: str, site: Site, tag: str) -> None:
    """The model put a blank line between two kept lines that the file does not have."""
    items = site.items
    for i in range(len(items) - 1):
        if items[i][0] == " " and items[i + 1][0] == " " and items[i][1].strip() and items[i + 1][1].strip():
            longer = Site([*items[: i + 1], (" ", ""), *items[i + 1 :]])
            b.add("extra-blank-line", tag, file, longer.old, longer.new, b.edit(file, site))
            return


def duplicated(b: Builder, file: str, site: Site, tag: str) -> None:
    """The site's lines occur twice in the file: exact or tolerant, a careful human asks which."""
    twice = file + "\n" + site.old
    b.add("duplicate-exact", tag, twice, site.old, site.new, None)
    extra = "\t" if b.snippet.unit == "\t" else "    "
    deeper = Site([(t, extra + x if x.strip() else x) for t, x in site.items])
    b.add("duplicate-tolerant", tag, twice, deeper.old, deeper.new, None)
    # One copy matches exactly, the other only with indentation forgiven: the exact one is meant.
    other = file + "\n" + deeper.old
    b.add(
        "duplicate-one-exact",
        tag,
        other,
        site.old,
        site.new,
        b.edit(other, site) if other.count(site.old) == 1 else None,
    )


def _stale(text: str) -> str:
    """A small change someone else made to a line."""
    digits = re.search(r"\d", text)
    if digits:
        return text[: digits.start()] + str((int(digits.group()) + 1) % 10) + text[digits.end() :]
    words = list(re.finditer(r"[A-Za-z]{3,}", text))
    if not words:
        return text + " x"
    word = words[-1]
    return text[: word.end()] + "s" + text[word.end() :]


def stale_changed_line(b: Builder, file: str, site: Site, tag: str) -> None:
    """Someone changed, in the file, a line the model is about to replace: refuse."""
    added = {x for t, x in site.items if t == "+"}
    index = next((i for i, (t, x) in enumerate(site.items) if t == "-" and x.strip() and x not in added), None)
    if index is None:
        return
    text = site.items[index][1]
    assert file.count(site.old) == 1
    stale = Site([*site.items[:index], ("-", _stale(text)), *site.items[index + 1 :]])
    file2 = file.replace(site.old, stale.old)
    b.add("stale-changed-line", tag, file2, site.old, site.new, None)


def stale_context_line(b: Builder, file: str, site: Site, tag: str) -> None:
    """Someone changed a kept line in the middle of the block: the edit goes in, their line stays."""
    items = site.items
    middle = [
        i
        for i in range(1, len(items) - 1)
        if items[i][0] == " "
        and len(items[i][1].strip()) >= 12
        and any(t == " " for t, _ in items[i + 1 :])
        and any(t == " " for t, _ in items[:i])
    ]
    nonblank = [x for t, x in items if t != "+" and x.strip()]
    if not middle or len(nonblank) < 4:
        return
    i = middle[0]
    file2, site2 = mutate_context(file, site, _stale, lambda k, x: k == i)
    b.add("stale-context-line", tag, file2, site.old, site.new, b.edit(file2, site2))


def too_different(b: Builder, file: str, site: Site, tag: str) -> None:
    """The model's oldString keeps the first and last lines but invents what is between: refuse."""
    old_lines = site.old_lines
    if len(old_lines) < 3:
        return
    invented = ["    result = compute(values)", "    if not result:", "        raise ValueError('empty')"]
    old = join([old_lines[0], *invented, old_lines[-1]])
    new = join([old_lines[0], *invented, "    # checked", old_lines[-1]])
    b.add("too-different", tag, file, old, new, None)


def absent(b: Builder, file: str, site: Site, tag: str) -> None:
    """oldString comes from another file entirely: refuse."""
    other = SNIPPETS[(SNIPPETS.index(b.snippet) + 3) % len(SNIPPETS)]
    theirs = parse_site(other.sites[0])
    if theirs.old in file:
        return
    b.add("absent", tag, file, theirs.old, theirs.new, None)


def already_applied(b: Builder, file: str, site: Site, tag: str) -> None:
    """The same edit sent again after it went in: refuse (and say so)."""
    done = b.edit(file, site)
    if site.old in done:
        return
    b.add("already-applied", tag, done, site.old, site.new, None)


def _comment(b: Builder, like: str) -> str:
    marker = {"python": "#", "yaml": "#", "makefile": "#", "markdown": "<!--"}.get(b.snippet.name.split("-")[0], "//")
    text = f"{marker} reviewed by ops" + (" -->" if marker == "<!--" else "")
    return indent_of(like) + text


def user_added_line(b: Builder, file: str, site: Site, tag: str) -> None:
    """Someone added a line inside the block that the model has not seen.

    Away from the change (between two kept lines, with kept lines around), the edit goes in and
    their line stays; right next to the lines the model changes, a careful human refuses."""
    items = site.items
    assert file.count(site.old) == 1
    for i in range(1, len(items) - 1):
        before, after = items[i - 1], items[i]
        if before[0] == " " and after[0] == " " and before[1].strip() and after[1].strip():
            neighbours = [t for t, _ in items[max(0, i - 2) : i + 2]]
            if all(t == " " for t in neighbours) and i >= 2:
                theirs = Site([*items[:i], (" ", _comment(b, after[1])), *items[i:]])
                changed = file.replace(site.old, theirs.old)
                b.add("user-added-line-away", tag, changed, site.old, site.new, b.edit(changed, theirs))
                break
    for i in range(1, len(items)):
        if not any(t != "+" for t, _ in items[i:]):
            break  # after the last old line: oldString still fits exactly, and the edit is fine
        if items[i][0] != " " and items[i - 1][0] == " " and items[i - 1][1].strip():
            theirs = Site([*items[:i], (" ", _comment(b, items[i - 1][1])), *items[i:]])
            b.add("user-added-line-next-to-change", tag, file.replace(site.old, theirs.old), site.old, site.new, None)
            return


def near_duplicate(b: Builder, file: str, site: Site, tag: str) -> None:
    """A second, slightly different copy of the block exists further down.

    oldString with drifted indentation still fits one copy exactly once whitespace is forgiven:
    apply there. oldString that fits neither copy exactly (a line of each) is refused."""
    context = [i for i in site.context() if len(site.items[i][1].strip()) >= 8]
    if not context:
        return
    i = context[-1]
    copy = Site([*site.items[:i], (" ", _stale(site.items[i][1])), *site.items[i + 1 :]])
    if copy.old == site.old:
        return
    both = file + "\n" + copy.old
    extra = "\t" if b.snippet.unit == "\t" else "    "
    deeper = Site([(t, extra + x if x.strip() else x) for t, x in site.items])
    b.add("near-duplicate", tag, both, deeper.old, deeper.new, b.edit(both, site))
    # The model's version of that line is a third one: as far from one copy as from the other.
    third = _stale(_stale(site.items[i][1]))
    neither = Site([*site.items[:i], (" ", third), *site.items[i + 1 :]])
    if third not in (site.items[i][1], copy.items[i][1]):
        b.add("near-duplicate-fits-neither", tag, both, neither.old, neither.new, None)


def tabs_and_line_numbers(b: Builder, file: str, site: Site, tag: str) -> None:
    """Line-number prefixes and four spaces for each tab, both at once."""
    if "\t" not in site.old:
        return
    first = line_number(file, site)

    def spaces(line: str) -> str:
        return "    " * (len(line) - len(line.lstrip("\t"))) + line.lstrip("\t")

    old = join([f"{first + k}: {spaces(x)}" for k, x in enumerate(site.old_lines)])
    b.add("tabs-as-spaces+line-numbers", tag, file, old, join([spaces(x) for x in site.new_lines]), b.edit(file, site))


def escaped_and_unindented(b: Builder, file: str, site: Site, tag: str) -> None:
    """Double-escaped strings that also lost the outer indentation."""
    lines = [text for _, text in site.items if text.strip()]
    base = min((indent_of(line) for line in lines), key=len)
    old, new = _unindent(site.old_lines, base), _unindent(site.new_lines, base)
    if not base or old is None or new is None:
        return
    escape = lambda text: json.dumps(text, ensure_ascii=False)[1:-1]  # noqa: E731
    b.add("escaped+indent-less", tag, file, escape(join(old)[:-1]), escape(join(new)[:-1]), b.edit(file, site))


KINDS: list[Callable[[Builder, str, Site, str], None]] = [
    exact,
    no_final_newline_in_strings,
    indent_less,
    indent_more,
    old_drifted_new_right,
    one_line_misindented,
    tabs_as_spaces,
    spaces_as_tabs,
    crlf_file,
    crlf_in_strings,
    crlf_and_indent,
    trailing_spaces_in_file,
    trailing_spaces_from_model,
    spaces_inside_lines,
    escaped_newlines,
    escaped_quotes,
    smart_quotes_in_file,
    smart_quotes_from_model,
    line_number_prefixes,
    partial_first_line,
    partial_last_line,
    missing_blank_line,
    extra_blank_line,
    duplicated,
    stale_changed_line,
    stale_context_line,
    too_different,
    absent,
    already_applied,
    user_added_line,
    near_duplicate,
    tabs_and_line_numbers,
    escaped_and_unindented,
]


def tail_cases(b: Builder) -> None:
    """The edit at the end of a file without a final newline; the model's strings end with one."""
    site = parse_site(b.snippet.tail)
    file = b.snippet.text
    assert file.endswith(site.old), b.snippet.name
    bare = file[:-1]
    expected = bare[: len(bare) - len(site.old) + 1] + site.new[:-1]
    b.add("eof-no-newline", "tail", bare, site.old, site.new, expected)
    extra = "\t" if b.snippet.unit == "\t" else "    "
    deeper = Site([(t, extra + x if x.strip() else x) for t, x in site.items])
    b.add("eof-no-newline+indent", "tail", bare, deeper.old, deeper.new, expected)
    exact(b, file, site, "tail")


def generated() -> Iterator[Case]:
    for snippet in SNIPPETS:
        builder = Builder(snippet)
        for number, text in enumerate(snippet.sites):
            site = parse_site(text)
            for kind in KINDS:
                kind(builder, snippet.text, site, f"site{number}")
        tail_cases(builder)
        yield from builder.cases


def handwritten() -> Iterator[Case]:
    """The tricky cases in handwritten.json, written by hand."""
    for entry in json.loads((HERE / "handwritten.json").read_text("utf-8")):
        expected = entry["expected"]
        yield Case(
            id=f"handwritten/{entry['id']}",
            kind=entry.get("kind", "handwritten"),
            file=entry["file"].encode("utf-8"),
            old=entry["old"],
            new=entry["new"],
            expected=None if expected == "refuse" else expected.encode("utf-8"),
            replace_all=entry.get("replaceAll", False),
            name=entry.get("name", "file.txt"),
        )


def all_cases() -> list[Case]:
    cases = [*generated(), *handwritten()]
    ids = [case.id for case in cases]
    assert len(ids) == len(set(ids)), "case ids must be unique"
    return cases
