"""What can go wrong while loading configuration, and how problems are worded for the user.

```
ConfigError                  one line per problem in `.errors`; str() is the first line
 ├── ConfigSyntaxError       broken JSON: `<source>:<line>:<column>: <reason>`
 ├── ConfigFileError         a file that cannot be read, or a `{file:...}` that points nowhere
 └── ConfigValidationError   values the schema rejects: `<source>: <dotted.path>: <what>`
```

`describe_issues` turns pydantic's error dicts into short plain sentences ("expected a number,
got "hot""). It works on the plain data pydantic returns, so this module imports nothing heavy.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

__all__ = [
    "ConfigError",
    "ConfigFileError",
    "ConfigSyntaxError",
    "ConfigValidationError",
    "clean_loc",
    "describe_issues",
    "has_part",
    "render_path",
    "show",
]


class ConfigError(Exception):
    """A configuration problem the user must fix. `errors` holds every problem, one line each."""

    def __init__(self, errors: str | Sequence[str]) -> None:
        self.errors: list[str] = [errors] if isinstance(errors, str) else list(errors)
        super().__init__(self.errors[0] if self.errors else "invalid configuration")

    def __str__(self) -> str:
        return self.errors[0] if self.errors else "invalid configuration"


class ConfigSyntaxError(ConfigError):
    """The text is not valid JSON with comments."""

    def __init__(self, source: str, line: int, column: int, reason: str, offset: int = 0) -> None:
        self.source = source
        self.line = line
        self.column = column
        self.reason = reason
        self.offset = offset
        super().__init__(f"{source}:{line}:{column}: {reason}")


class ConfigFileError(ConfigError):
    """A configuration file, or a file it refers to, could not be read."""

    def __init__(self, source: str, message: str) -> None:
        self.source = source
        super().__init__(f"{source}: {message}")


class ConfigValidationError(ConfigError):
    """Values the schema rejects. `problems` holds (source, path, message) for each."""

    def __init__(self, problems: Sequence[tuple[str, str, str]]) -> None:
        self.problems = list(problems)
        super().__init__([_line(source, path, message) for source, path, message in self.problems])


def _line(source: str, path: str, message: str) -> str:
    return f"{source}: {path}: {message}" if path else f"{source}: {message}"


_SIMPLE_KEY = re.compile(r"^[A-Za-z0-9_$-]+$")


def render_path(parts: Iterable[str | int]) -> str:
    """`agent.build.temperature`; list items as `[0]`, awkward keys (dots, spaces) as `["git *"]`."""
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        elif _SIMPLE_KEY.match(part):
            out += f".{part}" if out else part
        else:
            out += f"[{json.dumps(part, ensure_ascii=False)}]"
    return out


# pydantic error type -> what was expected, as a noun phrase
_EXPECTED = {
    "float_type": "a number",
    "float_parsing": "a number",
    "finite_number": "a finite number",
    "int_type": "a whole number",
    "int_parsing": "a whole number",
    "int_from_float": "a whole number",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "string_type": "a string",
    "list_type": "a list",
    "tuple_type": "a list",
    "dict_type": "an object",
    "model_type": "an object",
    "model_attributes_type": "an object",
}
_BOUNDS = {
    "greater_than": ("gt", "greater than"),
    "greater_than_equal": ("ge", "of at least"),
    "less_than": ("lt", "less than"),
    "less_than_equal": ("le", "of at most"),
}
_QUOTED = re.compile(r"'((?:[^'\\]|\\.)*)'|\b(True|False|None|-?\d+(?:\.\d+)?)\b")


def show(value: Any) -> str:
    """A value as the user wrote it in JSON, short."""
    try:
        text = json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        text = repr(value)
    if isinstance(value, Mapping | list | tuple) and len(text) > 40:
        return "an object" if isinstance(value, Mapping) else "a list"
    return text if len(text) <= 60 else text[:56] + '..."'


def _literal_choices(expected: str) -> list[str]:
    choices: list[str] = []
    for quoted, bare in _QUOTED.findall(expected):
        if bare:
            choices.append({"True": "true", "False": "false", "None": "null"}.get(bare, bare))
        else:
            choices.append(quoted)
    return choices


def _expected(error: Mapping[str, Any]) -> str | None:
    """What the value should have been, or None when the message is not of that shape."""
    kind = error.get("type", "")
    ctx = error.get("ctx") or {}
    if kind in _EXPECTED:
        return _EXPECTED[kind]
    if kind == "literal_error":
        choices = _literal_choices(str(ctx.get("expected", "")))
        if len(choices) == 1:
            only = choices[0]
            return only if only in ("true", "false", "null") else json.dumps(only)
        return "one of " + ", ".join(choices)
    if kind in _BOUNDS:
        key, words = _BOUNDS[kind]
        return f"a number {words} {ctx.get(key)}"
    message = str(error.get("msg", ""))
    if message.startswith("expected "):
        return message[len("expected ") :]
    return None


def _plain(error: Mapping[str, Any]) -> str:
    kind = error.get("type", "")
    if kind == "missing":
        return "required"
    message = str(error.get("msg", ""))
    for prefix in ("Value error, ", "Assertion failed, "):
        if message.startswith(prefix):
            message = message[len(prefix) :]
    return message[:1].lower() + message[1:]


def has_part(container: Any, part: str | int) -> bool:
    """Whether `part` (a key or a list index) is in `container`."""
    if isinstance(container, Mapping):
        return isinstance(part, str) and part in container
    return isinstance(container, list) and isinstance(part, int) and 0 <= part < len(container)


def clean_loc(loc: Sequence[str | int], data: Any, kind: str) -> list[str | int]:
    """The part of pydantic's `loc` that is a real path in `data`: union tags and validator names drop out."""
    parts: list[str | int] = []
    current = data
    for index, element in enumerate(loc):
        last = index == len(loc) - 1
        if has_part(current, element):
            parts.append(element)
            current = current[element]
        elif last and kind == "missing" and isinstance(element, str):
            parts.append(element)
    return parts


def describe_issues(errors: Iterable[Mapping[str, Any]], data: Any) -> list[tuple[list[str | int], str]]:
    """pydantic errors for `data` as (path parts, message); several errors at one path (a union) become one line."""
    order: list[tuple[str | int, ...]] = []
    expected: dict[tuple[str | int, ...], list[str]] = {}
    got: dict[tuple[str | int, ...], Any] = {}
    plain: dict[tuple[str | int, ...], list[str]] = {}
    for error in errors:
        path = tuple(clean_loc(error.get("loc", ()), data, error.get("type", "")))
        if path not in expected:
            order.append(path)
            expected[path], plain[path] = [], []
        phrase = _expected(error)
        if phrase is None:
            message = _plain(error)
            if message not in plain[path]:
                plain[path].append(message)
            continue
        if phrase not in expected[path]:
            expected[path].append(phrase)
        got.setdefault(path, error.get("input"))
    out: list[tuple[list[str | int], str]] = []
    for path in order:
        if expected[path]:
            out.append((list(path), f"expected {' or '.join(expected[path])}, got {show(got[path])}"))
        out.extend((list(path), message) for message in plain[path])
    return out
