"""Loading configuration: find the files, substitute, parse, check each layer, merge.

Layers, lowest first (a later layer wins):

1. defaults (just `$schema`; everything else is decided where it is used)
2. global: `$XDG_CONFIG_HOME/opencode/` `config.json`, `opencode.json`, `opencode.jsonc`
3. project: from the git root (the nearest directory holding `.git`; without one, only the cwd)
   down to the cwd, in each directory `opencode.jsonc`, `opencode.json`, then the same two in
   `.opencode/`; `OPENCODE_DISABLE_PROJECT_CONFIG=1` skips them
4. `OPENCODE_CONFIG`: a path to one more file
5. `OPENCODE_CONFIG_CONTENT`: JSON text
6. overrides from the command line

Objects merge key by key; arrays and scalars replace, except the top-level `instructions` and
`plugin` arrays, which are concatenated without duplicates as opencode does. Each layer is
checked on its own before merging, so a problem is reported against the file it came from.

Before parsing, `{env:VAR}` becomes the variable's value ("" when unset) and `{file:path}` the
file's trimmed contents (relative to the config file's directory; `~/` is the home directory),
both escaped to sit inside a JSON string. Tokens inside comments are left alone.
"""

from __future__ import annotations

import copy
import difflib
import json
import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from pydantic import BaseModel, ValidationError

from opencode.config import jsonc
from opencode.config.errors import (
    ConfigFileError,
    ConfigSyntaxError,
    ConfigValidationError,
    describe_issues,
    has_part,
    render_path,
    show,
)
from opencode.config.paths import paths
from opencode.config.schema import SCHEMA_URL, Config, problems

__all__ = ["LoadedConfig", "find_project_files", "load_config", "mask_secrets", "merge", "substitute", "suggest"]

GLOBAL_FILES = ("config.json", "opencode.json", "opencode.jsonc")
PROJECT_FILES = ("opencode.jsonc", "opencode.json")
CONTENT_SOURCE = "OPENCODE_CONFIG_CONTENT"
OVERRIDES_SOURCE = "command line"
DEFAULTS: Mapping[str, Any] = {"$schema": SCHEMA_URL}
# Top-level arrays that accumulate across layers instead of replacing.
CONCAT_KEYS = ("instructions", "plugin")


@dataclass
class LoadedConfig:
    config: Config
    sources: list[str] = field(default_factory=list)  # every file or variable that contributed, lowest first
    warnings: list[str] = field(default_factory=list)


@dataclass
class _Layer:
    source: str
    data: dict[str, Any]


def load_config(
    cwd: Path | None = None,
    *,
    overrides: dict[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
) -> LoadedConfig:
    """The merged configuration for a session started in `cwd`. Raises ConfigError."""
    env: Mapping[str, str] = os.environ if environ is None else environ
    cwd = (cwd or Path.cwd()).resolve()
    warnings: list[str] = []
    layers: list[_Layer] = []

    files = [paths().config / name for name in GLOBAL_FILES]
    if env.get("OPENCODE_DISABLE_PROJECT_CONFIG", "").lower() not in ("1", "true"):
        files += find_project_files(cwd)
    custom = env.get("OPENCODE_CONFIG")
    if custom:
        path = Path(custom).expanduser()
        path = path if path.is_absolute() else cwd / path
        if path.exists():
            files.append(path)
        else:
            warnings.append(f"OPENCODE_CONFIG: {path} does not exist")
    for path in files:
        text = _read(path)
        if text is not None:
            layers.append(_Layer(str(path), parse_layer(text, str(path), path.parent, env)))
    content = env.get("OPENCODE_CONFIG_CONTENT", "")
    if content.strip():
        layers.append(_Layer(CONTENT_SOURCE, parse_layer(content, CONTENT_SOURCE, cwd, env)))
    if overrides:
        layers.append(_Layer(OVERRIDES_SOURCE, copy.deepcopy(dict(overrides))))

    found: list[tuple[str, str, str]] = []
    for layer in layers:
        found += _check(layer, warnings)
    if found:
        raise ConfigValidationError(found)

    merged: dict[str, Any] = dict(DEFAULTS)
    for layer in layers:
        merged = merge(merged, layer.data)
    _settle(merged)
    try:
        config = Config.model_validate(merged)
    except ValidationError as exc:
        issues = describe_issues(exc.errors(), merged)
        raise ConfigValidationError([(_blame(p, layers), render_path(p), m) for p, m in issues]) from None
    issues = problems(config)
    if issues:
        raise ConfigValidationError([(_blame(p, layers), render_path(p), m) for p, m in issues])
    return LoadedConfig(config=config, sources=[layer.source for layer in layers], warnings=warnings)


# --- finding and reading files -------------------------------------------------------------


def project_dirs(cwd: Path) -> list[Path]:
    """The directories whose config files count, outermost first: git root .. cwd, or just cwd."""
    cwd = cwd.resolve()
    chain = [cwd, *cwd.parents]
    for index, directory in enumerate(chain):
        if (directory / ".git").exists():
            return chain[: index + 1][::-1]
    return [cwd]


def find_project_files(cwd: Path) -> list[Path]:
    """Project config files that exist, lowest precedence first."""
    found: list[Path] = []
    for directory in project_dirs(cwd):
        for base in (directory, directory / ".opencode"):
            found += [base / name for name in PROJECT_FILES if (base / name).is_file()]
    return found


def _read(path: Path) -> str | None:
    """The file's text; None when it does not exist."""
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except IsADirectoryError:
        raise ConfigFileError(str(path), "is a directory, expected a JSON file") from None
    except UnicodeDecodeError:
        raise ConfigFileError(str(path), "is not UTF-8 text") from None
    except OSError as exc:
        raise ConfigFileError(str(path), f"cannot be read: {exc.strerror or exc}") from None


# --- substitution and parsing --------------------------------------------------------------

_TOKEN = re.compile(r"\{(env|file):([^}]+)\}")


@dataclass(frozen=True)
class _Edit:
    start: int  # in the original text
    end: int
    new_start: int  # in the substituted text
    new_end: int


def substitute(text: str, *, base_dir: Path, source: str, environ: Mapping[str, str]) -> tuple[str, list[_Edit]]:
    """`text` with `{env:...}` and `{file:...}` replaced outside comments, and where each replacement went."""
    comments = jsonc.comment_spans(text)
    parts: list[str] = []
    edits: list[_Edit] = []
    cursor = shift = 0
    for match in _TOKEN.finditer(text):
        if any(start <= match.start() < end for start, end in comments):
            continue
        kind, argument = match.groups()
        if kind == "env":
            value = environ.get(argument, "")
        else:
            value = _file_reference(argument, match.group(), base_dir, source)
        # Escaped as JSON string content, so quotes, backslashes and newlines cannot break the document.
        replacement = json.dumps(value, ensure_ascii=False)[1:-1]
        parts.append(text[cursor : match.start()])
        parts.append(replacement)
        new_start = match.start() + shift
        edits.append(_Edit(match.start(), match.end(), new_start, new_start + len(replacement)))
        shift += len(replacement) - (match.end() - match.start())
        cursor = match.end()
    parts.append(text[cursor:])
    return "".join(parts), edits


def _file_reference(argument: str, token: str, base_dir: Path, source: str) -> str:
    home = argument.startswith("~/")
    path = Path.home() / argument[2:] if home else Path(os.path.normpath(base_dir / argument))
    try:
        return path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        raise ConfigFileError(source, f"bad file reference {token}: {path} does not exist") from None
    except UnicodeDecodeError:
        raise ConfigFileError(source, f"bad file reference {token}: {path} is not UTF-8 text") from None
    except OSError as exc:
        raise ConfigFileError(source, f"bad file reference {token}: {path}: {exc.strerror or exc}") from None


def _original_offset(offset: int, edits: list[_Edit]) -> int:
    """Map an offset in the substituted text back to the original (a replaced token maps to its start)."""
    delta = 0
    for edit in edits:
        if offset < edit.new_start:
            break
        if offset < edit.new_end:
            return edit.start
        delta = edit.end - edit.new_end
    return offset + delta


def parse_layer(text: str, source: str, base_dir: Path, environ: Mapping[str, str]) -> dict[str, Any]:
    """One layer's text -> its JSON object; syntax errors point into `text` as the user wrote it."""
    substituted, edits = substitute(text, base_dir=base_dir, source=source, environ=environ)
    try:
        data = jsonc.loads(substituted, source)
    except ConfigSyntaxError as exc:
        if not edits:
            raise
        offset = _original_offset(exc.offset, edits)
        line, column = jsonc.line_col(text, offset)
        raise ConfigSyntaxError(source, line, column, exc.reason, offset) from None
    if not isinstance(data, dict):
        raise ConfigValidationError([(source, "", f"expected an object at the top level, got {show(data)}")])
    return data


# --- checking and merging ------------------------------------------------------------------


def _check(layer: _Layer, warnings: list[str]) -> list[tuple[str, str, str]]:
    """Validate one layer alone: its problems, and its unknown keys appended to `warnings`."""
    try:
        config = Config.model_validate(layer.data)
    except ValidationError as exc:
        return [(layer.source, render_path(p), m) for p, m in describe_issues(exc.errors(), layer.data)]
    for path, known in unknown_keys(config, layer.data):
        hint = suggest(str(path[-1]), known)
        suggestion = f' (did you mean "{hint}"?)' if hint else ""
        warnings.append(f'{layer.source}: unknown key "{render_path(path)}"{suggestion}')
    return [(layer.source, render_path(p), m) for p, m in problems(config)]


def _edits(a: str, b: str) -> int:
    """Edit distance counting a swap of neighbours as one edit (the usual typo)."""
    rows = [list(range(len(b) + 1))]
    for i in range(1, len(a) + 1):
        row = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            row[j] = min(rows[-1][j] + 1, row[j - 1] + 1, rows[-1][j - 1] + (a[i - 1] != b[j - 1]))
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                row[j] = min(row[j], rows[-2][j - 2] + 1)
        rows.append(row)
    return rows[-1][-1]


def suggest(word: str, known: list[str]) -> str | None:
    """The known key `word` was probably meant to be, if one is close (fewest edits, then same length)."""
    if not known:
        return None
    lowered = word.lower()

    def rank(candidate: str) -> tuple[int, int, float]:
        ratio = difflib.SequenceMatcher(None, lowered, candidate.lower()).ratio()
        return _edits(lowered, candidate.lower()), abs(len(candidate) - len(word)), -ratio

    best = min(known, key=rank)
    return best if rank(best)[0] <= max(1, len(word) // 3) else None


def unknown_keys(
    model: BaseModel, data: Any, at: tuple[str | int, ...] = ()
) -> Iterator[tuple[list[str | int], list[str]]]:
    """Keys in `data` that the closed objects of `model` do not know, with the keys they do know."""
    if not isinstance(data, dict):
        return
    fields = type(model).model_fields
    known = {info.alias or name: name for name, info in fields.items()}
    closed = type(model).model_config.get("extra") != "allow"
    for key, raw in data.items():
        name = known.get(key)
        if name is None:
            if closed:
                yield [*at, key], list(known)
            continue
        yield from _unknown_within(getattr(model, name), raw, (*at, key))


def _unknown_within(value: Any, raw: Any, at: tuple[str | int, ...]) -> Iterator[tuple[list[str | int], list[str]]]:
    if isinstance(value, BaseModel):
        yield from unknown_keys(value, raw, at)
    elif isinstance(value, dict) and isinstance(raw, dict):
        for key, item in value.items():
            if key in raw:
                yield from _unknown_within(item, raw[key], (*at, key))
    elif isinstance(value, list) and isinstance(raw, list):
        for index, (item, raw_item) in enumerate(zip(value, raw, strict=False)):
            yield from _unknown_within(item, raw_item, (*at, index))


def _deep_merge(base: dict[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        current = out.get(key)
        if isinstance(value, Mapping) and isinstance(current, dict):
            out[key] = _deep_merge(current, value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def merge(base: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    """`over` laid on `base`: objects merge, other values replace; `instructions` and `plugin` accumulate."""
    merged = _deep_merge(dict(base), over)
    for key in CONCAT_KEYS:
        low, high = base.get(key), over.get(key)
        if isinstance(low, list) and isinstance(high, list):
            merged[key] = _unique([*low, *high])
    return merged


def _unique(items: list[Any]) -> list[Any]:
    seen: set[str] = set()
    out: list[Any] = []
    for item in items:
        key = json.dumps(item, sort_keys=True, default=str)
        if key not in seen:
            seen.add(key)
            out.append(copy.deepcopy(item))
    return out


def _plugin_name(spec: Any) -> str:
    """opencode's canonical plugin name: a file URL's stem, or the package without its @version."""
    name = spec[0] if isinstance(spec, list) and spec else spec
    if not isinstance(name, str):
        return json.dumps(spec, default=str)
    if name.startswith("file://"):
        return Path(urlparse(name).path).stem
    at = name.rfind("@")
    return name[:at] if at > 0 else name


def _settle(merged: dict[str, Any]) -> None:
    """What opencode does once all layers are in: the autoshare migration, one entry per plugin (the last)."""
    if merged.get("autoshare") is True and not merged.get("share"):
        merged["share"] = "auto"
    plugins = merged.get("plugin")
    if isinstance(plugins, list):
        kept: dict[str, Any] = {}
        for spec in plugins:
            kept.pop(_plugin_name(spec), None)
            kept[_plugin_name(spec)] = spec
        merged["plugin"] = list(kept.values())


def _blame(path: list[str | int], layers: list[_Layer]) -> str:
    """The layer that set most of `path` (the highest on a tie): where a merged-config problem came from."""
    best, depth = "configuration", 0
    for layer in layers:
        current: Any = layer.data
        reached = 0
        for part in path:
            if not has_part(current, part):
                break
            current, reached = current[part], reached + 1
        if reached and reached >= depth:
            best, depth = layer.source, reached
    return best


# --- showing config ------------------------------------------------------------------------

_SECRET_NAMES = {"key", "apikey", "token", "secret", "password", "passwd", "authorization", "cookie", "credentials"}
_SECRET_ENDINGS = ("apikey", "token", "secret", "password", "accesskey", "secretkey", "privatekey")


def _is_secret(name: str) -> bool:
    normal = name.lower().replace("_", "").replace("-", "")
    return normal in _SECRET_NAMES or normal.endswith(_SECRET_ENDINGS)


def _mask(value: Any) -> Any:
    if isinstance(value, bool) or value is None or value == "":
        return value
    if isinstance(value, str):
        return "***" + value[-4:] if len(value) >= 12 else "***"
    if isinstance(value, int | float):
        return "***"
    return mask_secrets(value)


def mask_secrets(data: Any) -> Any:
    """A copy of `data` with the values of secret-looking keys (apiKey, token, Authorization...) hidden."""
    if isinstance(data, Mapping):
        return {key: _mask(value) if _is_secret(str(key)) else mask_secrets(value) for key, value in data.items()}
    if isinstance(data, list | tuple):
        return [mask_secrets(item) for item in data]
    return data
