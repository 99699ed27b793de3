"""Formatters: after a tool changed files, run the project's formatter on them and say so.

The engine calls `apply_formatters` after `write`, `edit`, `multiedit` and `apply_patch`
(`FORMATTED_TOOLS`); the files come from the result's metadata (`filePath`, or `files`: paths or
objects with a `filePath`). Each file inside the project gets every formatter that applies to
its extension, in order, run in the project root with a timeout (`FORMAT_TIMEOUT_S`, then the
process group is killed). When the bytes changed:

- the session's read records (`FileTimes`) learn the new content, so the next edit is not
  refused as stale;
- the result's `diff` metadata is rebuilt to go from the old content to the formatted one
  (additions and deletions recounted);
- a line is appended to the output naming the formatter, so the model knows the text on disk
  is not exactly what it sent.

A formatter that fails or times out adds a note to the output; it never fails the tool call.

Which formatters exist (config `formatter`, opencode's shape):

    "formatter": false                                    none at all
    "formatter": {"mine": {"command": ["fmt", "$FILE"], "extensions": [".py"], "environment": {}}}
    "formatter": {"prettier": {"disabled": true}}         turn one built-in off

A config entry with a `command` is always enabled (it replaces a built-in of the same name; a
missing `extensions` keeps the built-in's). `$FILE` in the command is the file's absolute path.
The built-ins are opencode's (`BUILTINS`), each enabled only when the project has it: its binary
is found (on PATH; Python tools also in the project's `.venv`/`venv`, JS tools in
`node_modules/.bin` from the file's directory up to the root) and, for some, a config file says
the project uses it (ruff: `ruff.toml`, `.ruff.toml`, `[tool.ruff]` in pyproject.toml, or ruff
named in requirements.txt / pyproject.toml / Pipfile; biome: `biome.json`; clang-format:
`.clang-format`; ocamlformat: `.ocamlformat`; pint: composer.json requiring laravel/pint).
Left out of opencode's list: `uv format` (it downloads ruff on first use), `air` (telling it
apart needs a run of `air --help`) and oxfmt (experimental there).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import shutil
import signal
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from opencode.config.schema import FormatterEntry
    from opencode.tool.filetimes import FileTimes
    from opencode.tool.tool import ToolResult

FORMATTED_TOOLS = frozenset({"write", "edit", "multiedit", "apply_patch"})
FORMAT_TIMEOUT_S = 15.0
MAX_ERROR_CHARS = 300

Detect = Callable[[Path, Path], list[str] | None]
"""(file, project root) -> the command (with "$FILE"), or None when the project does not use it."""


@dataclass(frozen=True)
class Formatter:
    name: str
    extensions: tuple[str, ...]
    detect: Detect
    environment: Mapping[str, str] = field(default_factory=dict)

    def applies_to(self, path: Path) -> bool:
        return any(path.name.endswith(ext) for ext in self.extensions)


@dataclass
class Outcome:
    """What formatting did to one file."""

    path: Path
    changed: bool = False
    formatters: list[str] = field(default_factory=list)
    """The formatters that ran on it and succeeded."""
    errors: list[str] = field(default_factory=list)
    before: bytes = b""
    after: bytes = b""


# --- finding things in the project -----------------------------------------------------------


def _up(start: Path, root: Path) -> list[Path]:
    """`start`, its parents up to `root` (included); just `start` when it is not under `root`."""
    chain = [start, *start.parents]
    return chain[: chain.index(root) + 1] if root in chain else [start]


def find_up(names: Iterable[str], start: Path, root: Path) -> Path | None:
    """The nearest of `names` from `start` up to `root`."""
    wanted = tuple(names)
    for directory in _up(start, root):
        for name in wanted:
            if (directory / name).is_file():
                return directory / name
    return None


def which(name: str) -> str | None:
    return shutil.which(name)


def python_tool(name: str, start: Path, root: Path) -> str | None:
    """A Python tool from the project's virtual environment, else PATH."""
    for directory in _up(start, root):
        for venv in (".venv", "venv"):
            candidate = directory / venv / "bin" / name
            if candidate.is_file() and os.access(candidate, os.X_OK):
                return str(candidate)
    active = os.environ.get("VIRTUAL_ENV")
    if active:
        candidate = Path(active) / "bin" / name
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    return which(name)


def node_tool(name: str, start: Path, root: Path) -> str | None:
    """A JS tool installed in the project (`node_modules/.bin`), never a global one."""
    for directory in _up(start, root):
        candidate = directory / "node_modules" / ".bin" / name
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    return None


def _text(path: Path | None) -> str:
    if path is None:
        return ""
    try:
        return path.read_text("utf-8", errors="replace")
    except OSError:
        return ""


# --- the built-ins (opencode's list, packages/opencode/src/format/formatter.ts) -------------------


def _binary(name: str, *args: str) -> Detect:
    def detect(file: Path, root: Path) -> list[str] | None:
        found = which(name)
        return [found, *args] if found else None

    return detect


def _binary_with_config(name: str, configs: tuple[str, ...], *args: str) -> Detect:
    def detect(file: Path, root: Path) -> list[str] | None:
        if find_up(configs, file.parent, root) is None:
            return None
        found = which(name)
        return [found, *args] if found else None

    return detect


def _ruff(file: Path, root: Path) -> list[str] | None:
    found = python_tool("ruff", file.parent, root)
    if found is None:
        return None
    command = [found, "format", "$FILE"]
    if find_up(("ruff.toml", ".ruff.toml"), file.parent, root) is not None:
        return command
    pyproject = find_up(("pyproject.toml",), file.parent, root)
    if "[tool.ruff" in _text(pyproject):
        return command
    for name in ("requirements.txt", "pyproject.toml", "Pipfile"):
        if re.search(r"\bruff\b", _text(find_up((name,), file.parent, root))):
            return command
    return None


def _prettier(file: Path, root: Path) -> list[str] | None:
    found = node_tool("prettier", file.parent, root)
    return [found, "--write", "$FILE"] if found else None


def _biome(file: Path, root: Path) -> list[str] | None:
    if find_up(("biome.json", "biome.jsonc", ".biome.json", ".biome.jsonc"), file.parent, root) is None:
        return None
    found = node_tool("biome", file.parent, root)
    return [found, "format", "--write", "$FILE"] if found else None


def _pint(file: Path, root: Path) -> list[str] | None:
    for directory in _up(file.parent, root):
        composer = directory / "composer.json"
        if not composer.is_file():
            continue
        try:
            data = json.loads(_text(composer))
        except ValueError:
            continue
        if not isinstance(data, dict):
            continue
        deps = {**(data.get("require") or {}), **(data.get("require-dev") or {})}
        binary = directory / "vendor" / "bin" / "pint"
        if "laravel/pint" in deps and binary.is_file():
            return [str(binary), "$FILE"]
    return None


_WEB: tuple[str, ...] = (
    *(".js", ".jsx", ".mjs", ".cjs", ".ts", ".tsx", ".mts", ".cts", ".html", ".htm", ".css", ".scss", ".sass"),
    *(".less", ".vue", ".svelte", ".json", ".jsonc", ".yaml", ".yml", ".toml", ".xml", ".md", ".mdx"),
    *(".graphql", ".gql"),
)
_C = (".c", ".cc", ".cpp", ".cxx", ".c++", ".h", ".hh", ".hpp", ".hxx", ".h++", ".ino", ".C", ".H")
_RUBY = (".rb", ".rake", ".gemspec", ".ru")

BUILTINS: tuple[Formatter, ...] = (
    Formatter("gofmt", (".go",), _binary("gofmt", "-w", "$FILE")),
    Formatter("mix", (".ex", ".exs", ".eex", ".heex", ".leex", ".neex", ".sface"), _binary("mix", "format", "$FILE")),
    Formatter("prettier", _WEB, _prettier),
    Formatter("biome", _WEB, _biome),
    Formatter("zig", (".zig", ".zon"), _binary("zig", "fmt", "$FILE")),
    Formatter("clang-format", _C, _binary_with_config("clang-format", (".clang-format",), "-i", "$FILE")),
    Formatter("ktlint", (".kt", ".kts"), _binary("ktlint", "-F", "$FILE")),
    Formatter("ruff", (".py", ".pyi"), _ruff),
    Formatter("rubocop", _RUBY, _binary("rubocop", "--autocorrect", "$FILE")),
    Formatter("standardrb", _RUBY, _binary("standardrb", "--fix", "$FILE")),
    Formatter("htmlbeautifier", (".erb", ".html.erb"), _binary("htmlbeautifier", "$FILE")),
    Formatter("dart", (".dart",), _binary("dart", "format", "$FILE")),
    Formatter("ocamlformat", (".ml", ".mli"), _binary_with_config("ocamlformat", (".ocamlformat",), "-i", "$FILE")),
    Formatter("terraform", (".tf", ".tfvars"), _binary("terraform", "fmt", "$FILE")),
    Formatter("latexindent", (".tex",), _binary("latexindent", "-w", "-s", "$FILE")),
    Formatter("gleam", (".gleam",), _binary("gleam", "format", "$FILE")),
    Formatter("shfmt", (".sh", ".bash"), _binary("shfmt", "-w", "$FILE")),
    Formatter("nixfmt", (".nix",), _binary("nixfmt", "$FILE")),
    Formatter("rustfmt", (".rs",), _binary("rustfmt", "$FILE")),
    Formatter("pint", (".php",), _pint),
    Formatter("ormolu", (".hs",), _binary("ormolu", "-i", "$FILE")),
    Formatter("cljfmt", (".clj", ".cljs", ".cljc", ".edn"), _binary("cljfmt", "fix", "--quiet", "$FILE")),
    Formatter("dfmt", (".d",), _binary("dfmt", "-i", "$FILE")),
)


def _fixed(command: list[str]) -> Detect:
    def detect(file: Path, root: Path) -> list[str] | None:
        return list(command)

    return detect


def formatters(config: bool | Mapping[str, FormatterEntry] | None) -> list[Formatter]:
    """The formatters the config leaves: built-ins, minus disabled ones, with config entries laid on."""
    if config is False:
        return []
    table = {formatter.name: formatter for formatter in BUILTINS}
    if not isinstance(config, Mapping):
        return list(table.values())
    for name, entry in config.items():
        if entry.disabled:
            table.pop(name, None)
            continue
        if not entry.command:
            continue  # opencode: an entry without a command leaves the built-in as it is
        builtin = table.get(name)
        extensions = tuple(entry.extensions) if entry.extensions else (builtin.extensions if builtin else ())
        environment = {**(builtin.environment if builtin else {}), **(entry.environment or {})}
        table[name] = Formatter(name, extensions, _fixed(list(entry.command)), environment)
    return list(table.values())


# --- running ---------------------------------------------------------------------------------


async def format_files(
    paths: Iterable[Path | str],
    root: Path,
    config: bool | Mapping[str, FormatterEntry] | None,
    *,
    timeout_s: float = FORMAT_TIMEOUT_S,
) -> list[Outcome]:
    """Run the applicable formatters on each file inside `root`; one `Outcome` per file formatted."""
    available = formatters(config)
    wanted = [p for p in paths if any(f.applies_to(Path(p)) for f in available)]
    if not wanted:
        return []  # no formatter knows these file types: nothing to look up on disk
    root, targets = await asyncio.to_thread(_inside, wanted, root)
    outcomes = await asyncio.gather(*(_format_one(path, root, available, timeout_s) for path in targets))
    return [outcome for outcome in outcomes if outcome is not None]


def _inside(paths: Iterable[Path | str], root: Path) -> tuple[Path, list[Path]]:
    """The resolved root, and the existing files among `paths` that resolve to inside it."""
    root = root.resolve()
    targets: list[Path] = []
    for given in paths:
        path = Path(given).resolve()
        if path.is_relative_to(root) and path != root and path.is_file() and path not in targets:
            targets.append(path)
    return root, targets


async def _format_one(path: Path, root: Path, available: list[Formatter], timeout_s: float) -> Outcome | None:
    matching = [formatter for formatter in available if formatter.applies_to(path)]
    if not matching:
        return None
    commands: list[tuple[Formatter, list[str]]] = []
    for formatter in matching:
        command = await asyncio.to_thread(formatter.detect, path, root)
        if command:
            commands.append((formatter, command))
    if not commands:
        return None
    outcome = Outcome(path)
    outcome.before = await asyncio.to_thread(path.read_bytes)
    for formatter, command in commands:
        error = await _run([part.replace("$FILE", str(path)) for part in command], root, formatter, timeout_s)
        if error is None:
            outcome.formatters.append(formatter.name)
        else:
            outcome.errors.append(f"{formatter.name} {error}")
    try:
        outcome.after = await asyncio.to_thread(path.read_bytes)
    except OSError as exc:
        outcome.errors.append(f"the file could not be read back after formatting: {exc}")
        outcome.after = outcome.before
    outcome.changed = outcome.after != outcome.before
    return outcome


async def _run(command: list[str], root: Path, formatter: Formatter, timeout_s: float) -> str | None:
    """Run one formatter; None when it succeeded, else what went wrong (one line)."""
    try:
        proc = await asyncio.create_subprocess_exec(
            *command,
            cwd=root,
            env={**os.environ, **formatter.environment},
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
            start_new_session=True,
        )
    except OSError as exc:
        return f"could not start ({exc.strerror or exc})"
    try:
        _, err = await asyncio.wait_for(proc.communicate(), timeout_s)
    except TimeoutError:
        return f"timed out after {timeout_s:.0f} s"
    finally:
        if proc.returncode is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)
            with contextlib.suppress(ProcessLookupError):
                await proc.wait()
    if proc.returncode == 0:
        return None
    detail = " ".join(err.decode("utf-8", errors="replace").split())
    if len(detail) > MAX_ERROR_CHARS:
        detail = detail[:MAX_ERROR_CHARS] + "..."
    return f"exited with code {proc.returncode}" + (f": {detail}" if detail else "")


# --- the engine's hook -------------------------------------------------------------------------


def changed_paths(metadata: Mapping[str, Any]) -> list[str]:
    """The files a file tool's result says it changed."""
    found: list[str] = []
    single = metadata.get("filePath")
    if isinstance(single, str) and single:
        found.append(single)
    many = metadata.get("files")
    if isinstance(many, list):
        for item in many:
            if isinstance(item, str):
                found.append(item)
            elif isinstance(item, Mapping):
                for key in ("movePath", "filePath", "path"):
                    value = item.get(key)
                    if isinstance(value, str) and value:
                        found.append(value)
                        break
    return list(dict.fromkeys(found))


async def apply_formatters(
    result: ToolResult,
    root: Path,
    config: bool | Mapping[str, FormatterEntry] | None,
    file_times: FileTimes | None = None,
    *,
    timeout_s: float = FORMAT_TIMEOUT_S,
) -> list[Outcome]:
    """Format what `result` changed; update read records, the diff metadata and the output."""
    from opencode.tool.read import relative

    paths = changed_paths(result.metadata)
    if not paths or config is False:
        return []
    outcomes = await format_files(paths, root, config, timeout_s=timeout_s)
    root = await asyncio.to_thread(root.resolve)
    notes: list[str] = []
    reformatted: list[str] = []
    for outcome in outcomes:
        label = relative(outcome.path, root)
        if outcome.changed:
            if file_times is not None:
                file_times.record(outcome.path, outcome.after)
            refresh_diff(result.metadata, label, outcome)
            reformatted.append(label)
            names = ", ".join(outcome.formatters) or "a formatter"
            notes.append(
                f"Note: {label} was reformatted by {names}; the file on disk now differs from the text you sent "
                "(layout, quotes, line breaks), so base further edits on the formatted text."
            )
        for error in outcome.errors:
            notes.append(f"Note: formatter {error} on {label}; the file was left as written.")
    if reformatted:
        result.metadata["formatted"] = reformatted
    if notes:
        result.output = (result.output.rstrip("\n") + "\n\n" + "\n".join(notes)).lstrip("\n")
    return outcomes


# --- rebuilding the diff -------------------------------------------------------------------------

_HUNK = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")


def refresh_diff(metadata: dict[str, Any], label: str, outcome: Outcome) -> None:
    """Rebuild the section of `metadata["diff"]` for `label` to end at the formatted content."""
    from opencode.tool.write import unified_diff

    diff = metadata.get("diff")
    if not isinstance(diff, str) or not diff:
        return
    sections = split_diff(diff)
    before = outcome.before.decode("utf-8", errors="replace").replace("\r\n", "\n")
    after = outcome.after.decode("utf-8", errors="replace")
    changed = False
    for index, (name, lines) in enumerate(sections):
        if name not in (label, str(outcome.path)):
            continue
        old = original_text(before, lines)
        if old is None:
            return  # the diff does not fit the file as written: leave it alone
        sections[index] = (name, unified_diff(old, after, name).split("\n"))
        changed = True
    if not changed:
        return
    text = "\n".join("\n".join(lines).strip("\n") for _, lines in sections if any(lines))
    metadata["diff"] = text + "\n" if text else ""
    if "additions" in metadata or "deletions" in metadata:
        additions = deletions = 0
        for _, lines in sections:
            for line in lines[2:]:
                if line.startswith("+"):
                    additions += 1
                elif line.startswith("-"):
                    deletions += 1
        metadata["additions"], metadata["deletions"] = additions, deletions


def split_diff(diff: str) -> list[tuple[str, list[str]]]:
    """A unified diff of one or more files as (label, lines) per file; text before the first file kept."""
    lines = diff.split("\n")
    sections: list[tuple[str, list[str]]] = []
    current: list[str] = []
    name = ""
    for index, line in enumerate(lines):
        starts = (
            line.startswith("--- ")
            and index + 1 < len(lines)
            and lines[index + 1].startswith("+++ ")
            and (index + 2 >= len(lines) or lines[index + 2].startswith("@@"))
        )
        if starts:
            if current:
                sections.append((name, current))
            label = line[4:].split("\t")[0]
            name = label[2:] if label.startswith(("a/", "b/")) else label
            current = [line]
        else:
            current.append(line)
    if current:
        sections.append((name, current))
    return sections


def original_text(new: str, section: list[str]) -> str | None:
    """The old side of a one-file unified diff, rebuilt from its new side; None if they disagree."""
    new_lines = new.splitlines(keepends=True)
    old: list[str] = []
    position = 0
    index = 2 if section and section[0].startswith("--- ") else 0
    while index < len(section):
        line = section[index]
        if not line:
            index += 1
            continue
        match = _HUNK.match(line)
        if match is None:
            return None
        start, length = int(match.group(3)), int(match.group(4) or "1")
        begin = start - 1 if length > 0 else start
        if begin < position or begin > len(new_lines):
            return None
        old += new_lines[position:begin]
        position = begin
        index += 1
        while index < len(section) and not section[index].startswith("@@"):
            body = section[index]
            if not body:
                index += 1
                continue
            tag, text = body[0], body[1:]
            following = section[index + 1] if index + 1 < len(section) else ""
            text = text if following.startswith("\\") else text + "\n"
            if tag in (" ", "+"):
                if position >= len(new_lines) or new_lines[position] != text:
                    return None
                position += 1
            if tag in (" ", "-"):
                old.append(text)
            index += 1
    old += new_lines[position:]
    return "".join(old)
