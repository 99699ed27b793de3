"""The project's files: listing, reading, git status, text search and fuzzy file find (opencode's
`file` and `find` groups).

    GET /file?path=src              entries of a directory (name, path, absolute, type, ignored)
    GET /file/content?path=a.py     a file's text, or base64 for binary; diff and patch when git has it modified
    GET /file/status                changed files (git): path, added, removed, status
    GET /find?pattern=fixme         ripgrep matches (opencode's shape: path, lines, line_number, ...)
    GET /find/file?query=app        fuzzy file (and directory) names from the project's file list
    GET /find/symbol?query=x        always [] (no language servers yet)

Every `path` stays inside the project root: `..` that climbs out, an absolute path elsewhere and a
symbolic link that resolves outside are refused with 403 before anything is read. Paths in replies
are relative to the server's working directory, as opencode's are.
"""

from __future__ import annotations

import base64
import json
import mimetypes
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, Field
from starlette.responses import JSONResponse

from opencode.server.app import engine_of
from opencode.server.errors import ApiError, bad_request, not_found, query_model
from opencode.server.openapi import api

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.responses import Response

    from opencode.agent.engine import Engine

MAX_CONTENT = 16 * 1024 * 1024
"""Bytes `GET /file/content` sends at most (a bigger file is refused with 413)."""
MAX_MATCHES = 1000
"""`GET /find` stops after this many matches (ripgrep already stops at 10 per file, as opencode asks)."""
FIND_OUTPUT_CAP = 8 * 1024 * 1024
FILE_LIST_CAP = 16 * 1024 * 1024
EXCLUDED = frozenset({".git", ".DS_Store"})
RG_LIST_FLAGS = ["--files", "--no-require-git", "--no-messages", "--hidden", "--glob", "!.git/"]


# --- the project boundary --------------------------------------------------------------------


def forbidden(message: str) -> ApiError:
    return ApiError(403, "Forbidden", message)


def inside(engine: Engine, raw: str, param: str = "path") -> tuple[Path, Path]:
    """`raw` (relative to the working directory, or absolute) as (the path as asked, the real file),
    both inside the project root; ApiError 400/403 naming `param` otherwise."""
    if "\0" in raw:
        raise bad_request(f"{param}: contains a NUL byte", field=param)
    root = engine.root
    candidate = Path(raw)
    if not candidate.is_absolute():
        candidate = engine.cwd / candidate
    asked = Path(os.path.normpath(candidate))
    if not asked.is_relative_to(root):
        raise forbidden(f"{param}: {raw!r} is outside the project ({root}); only files inside it can be read")
    real = Path(os.path.realpath(asked))
    if not real.is_relative_to(root):
        raise forbidden(f"{param}: {raw!r} is a symbolic link (or inside one) that leads outside the project")
    return asked, real


def shown(engine: Engine, path: Path) -> str:
    """A project path as replies show it: relative to the working directory, forward slashes."""
    return Path(os.path.relpath(path, engine.cwd)).as_posix()


# --- GET /file ---------------------------------------------------------------------------------


class FileNode(BaseModel):
    name: str
    path: str
    absolute: str
    type: Literal["file", "directory"]
    ignored: bool


class PathQuery(BaseModel):
    path: str = Field(description="Relative to the server's working directory (or absolute, inside the project)")


def _ignore_specs(root: Path, directory: Path) -> list[tuple[Path, Any]]:
    """The `.gitignore` and `.ignore` files from the root down to `directory`, each as (its
    directory, a pathspec matcher); deeper files come later and win."""
    import pathspec

    specs: list[tuple[Path, Any]] = []
    parts = directory.relative_to(root).parts
    chain = [root, *(root.joinpath(*parts[:depth]) for depth in range(1, len(parts) + 1))]
    for base in chain:
        for name in (".gitignore", ".ignore"):
            try:
                lines = (base / name).read_text(encoding="utf-8", errors="replace").splitlines()
            except OSError:
                continue
            specs.append((base, pathspec.GitIgnoreSpec.from_lines(lines)))
    return specs


def _ignored(specs: list[tuple[Path, Any]], path: Path, is_dir: bool) -> bool:
    verdict = False
    for base, spec in specs:
        rel = path.relative_to(base).as_posix() + ("/" if is_dir else "")
        result = spec.check_file(rel)
        if result.include is not None:
            verdict = bool(result.include)
    return verdict


async def list_files(request: Request) -> Response:
    """The entries of a directory of the project: directories first, then by name (`.git` left out)."""
    engine = engine_of(request)
    query = query_model(request, PathQuery)
    asked, real = inside(engine, query.path or ".")
    if not real.exists():
        raise not_found(f"path: {query.path!r} does not exist")
    if not real.is_dir():
        raise bad_request(f"path: {query.path!r} is a file; read it with GET /file/content", field="path")
    specs = _ignore_specs(engine.root, real)
    nodes: list[FileNode] = []
    try:
        entries = list(os.scandir(real))
    except OSError as exc:
        raise bad_request(f"path: {query.path!r} cannot be listed: {exc.strerror}", field="path") from None
    for entry in entries:
        if entry.name in EXCLUDED:
            continue
        try:
            is_dir = entry.is_dir()
        except OSError:
            is_dir = False
        full = asked / entry.name
        nodes.append(
            FileNode(
                name=entry.name,
                path=shown(engine, full),
                absolute=str(full),
                type="directory" if is_dir else "file",
                ignored=_ignored(specs, real / entry.name, is_dir),
            )
        )
    nodes.sort(key=lambda node: (node.type != "directory", node.name))
    return JSONResponse([node.model_dump() for node in nodes])


# --- GET /file/content -------------------------------------------------------------------------


class Hunk(BaseModel):
    oldStart: int
    oldLines: int
    newStart: int
    newLines: int
    lines: list[str]


class Patch(BaseModel):
    oldFileName: str
    newFileName: str
    oldHeader: str | None = None
    newHeader: str | None = None
    hunks: list[Hunk]
    index: str | None = None


class FileContent(BaseModel):
    type: Literal["text", "binary"]
    content: str
    diff: str | None = None
    patch: Patch | None = None
    encoding: Literal["base64"] | None = None
    mimeType: str | None = None


async def read_file(request: Request) -> Response:
    """A file's content: text as it is; images base64 (`type` "text", as opencode sends them);
    other binary files base64 with `type` "binary"; `diff` and `patch` when git has the file modified."""
    from opencode.util import vcs

    engine = engine_of(request)
    query = query_model(request, PathQuery)
    if not query.path:
        raise bad_request("path: give the file to read, relative to the project directory", field="path")
    _, real = inside(engine, query.path)
    if not real.exists():
        raise not_found(f"path: {query.path!r} does not exist")
    if real.is_dir():
        raise bad_request(f"path: {query.path!r} is a directory; list it with GET /file", field="path")
    if not real.is_file():
        raise bad_request(f"path: {query.path!r} is not a regular file (a pipe or a device)", field="path")
    try:
        size = real.stat().st_size
        if size > MAX_CONTENT:
            raise ApiError(413, "PayloadTooLarge", f"path: {query.path!r} is {size:,} bytes; at most {MAX_CONTENT:,}")
        data = real.read_bytes()
    except OSError as exc:
        raise bad_request(f"path: {query.path!r} cannot be read: {exc.strerror}", field="path") from None
    mime = mimetypes.guess_type(real.name)[0]
    encoded = base64.b64encode(data).decode("ascii")
    if mime is not None and mime.startswith("image/"):
        return _content(FileContent(type="text", content=encoded, encoding="base64", mimeType=mime))
    text = _text(data)
    if text is None:
        kind = mime or "application/octet-stream"
        return _content(FileContent(type="binary", content=encoded, encoding="base64", mimeType=kind))
    result = FileContent(type="text", content=text)
    rel = real.relative_to(engine.root).as_posix()
    tracked_diff = await vcs.file_diff(engine.root, rel) if await _tracked(engine.root, rel) else ""
    if tracked_diff:
        result.diff = tracked_diff
        result.patch = Patch.model_validate(vcs.parse_patch(tracked_diff, rel))
    return _content(result)


async def _tracked(root: Path, rel: str) -> bool:
    from opencode.util import vcs

    return (await vcs.git(root, "ls-files", "--error-unmatch", "--", rel)).code == 0


def _text(data: bytes) -> str | None:
    if b"\0" in data[:8192]:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def _content(content: FileContent) -> Response:
    return JSONResponse(content.model_dump(exclude_none=True))


# --- GET /file/status --------------------------------------------------------------------------


class FileStatus(BaseModel):
    path: str
    added: int
    removed: int
    status: Literal["added", "deleted", "modified"]


async def file_status(request: Request) -> Response:
    """Files git sees changed against HEAD (staged or not) and untracked ones; [] outside git."""
    from opencode.util import vcs

    engine = engine_of(request)
    found = await vcs.changes(engine.root)
    return JSONResponse(
        [
            FileStatus(
                path=shown(engine, engine.root / c.file), added=c.additions, removed=c.deletions, status=c.status
            ).model_dump()
            for c in found
        ]
    )


# --- GET /find ---------------------------------------------------------------------------------


class FindQuery(BaseModel):
    pattern: str = Field(description="A ripgrep (Rust) regular expression")


class TextOf(BaseModel):
    text: str


class Submatch(BaseModel):
    match: TextOf
    start: int
    end: int


class Match(BaseModel):
    path: TextOf
    lines: TextOf
    line_number: int
    absolute_offset: int
    submatches: list[Submatch]


def _rg_context(engine: Engine) -> Any:
    from opencode.tool.tool import ToolContext

    return ToolContext(session_id="", message_id="", call_id="", agent="", root=engine.root, cwd=engine.cwd)


async def _rg(engine: Engine, args: list[str], cap: int) -> Any:
    from opencode.tool.ripgrep import run_rg
    from opencode.tool.tool import ToolError

    try:
        return await run_rg(args, cwd=engine.cwd, ctx=_rg_context(engine), max_output=cap)
    except ToolError as exc:
        raise ApiError(500, "UnknownError", str(exc)) from None


def _plain(value: Any) -> str:
    """ripgrep's `{"text": ...}`, or `{"bytes": base64}` for text that is not UTF-8."""
    if isinstance(value, dict):
        if isinstance(value.get("text"), str):
            return str(value["text"])
        if isinstance(value.get("bytes"), str):
            return base64.b64decode(value["bytes"]).decode("utf-8", errors="replace")
    return ""


async def find_text(request: Request) -> Response:
    """Lines matching a regular expression in the project's files (ripgrep; ignore files honoured,
    hidden files searched, `.git` skipped; at most 10 matches per file and 1000 in all)."""
    engine = engine_of(request)
    query = query_model(request, FindQuery)
    if not query.pattern:
        raise bad_request("pattern: give a regular expression to search for", field="pattern")
    args = ["--json", "--hidden", "--glob", "!.git/", "--max-count", "10", "--", query.pattern]
    result = await _rg(engine, args, FIND_OUTPUT_CAP)
    matches: list[dict[str, Any]] = []
    for line in result.lines():
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if event.get("type") != "match":
            continue
        data = event.get("data", {})
        match = Match(
            path=TextOf(text=_plain(data.get("path"))),
            lines=TextOf(text=_plain(data.get("lines"))),
            line_number=int(data.get("line_number") or 0),
            absolute_offset=int(data.get("absolute_offset") or 0),
            submatches=[
                Submatch(match=TextOf(text=_plain(s.get("match"))), start=int(s["start"]), end=int(s["end"]))
                for s in data.get("submatches", [])
            ],
        )
        matches.append(match.model_dump())
        if len(matches) >= MAX_MATCHES:
            break
    if not matches and result.returncode == 2:
        problem = " ".join(result.stderr.split()) or "ripgrep failed"
        raise bad_request(f"pattern: {problem}", field="pattern")
    return JSONResponse(matches)


# --- GET /find/file ----------------------------------------------------------------------------


class FindFileQuery(BaseModel):
    query: str = ""
    dirs: Literal["true", "false"] | None = Field(default=None, description='"false" leaves directories out')
    type: Literal["file", "directory"] | None = None
    limit: int | None = Field(default=None, ge=1, le=200)
    directory: str | None = Field(default=None, description="Accepted for opencode's clients; this server has one")


async def project_listing(engine: Engine) -> tuple[list[str], list[str]]:
    """(files, directories with a trailing "/") of the project as ripgrep lists it, relative to the
    working directory: ignore files honoured, hidden files in, `.git` out, links not followed."""
    result = await _rg(engine, RG_LIST_FLAGS, FILE_LIST_CAP)
    files = sorted(path.replace("\\", "/") for path in result.lines() if path)
    dirs: set[str] = set()
    for file in files:
        parts = file.split("/")[:-1]
        for depth in range(1, len(parts) + 1):
            dirs.add("/".join(parts[:depth]) + "/")
    return files, sorted(dirs)


def _hidden(path: str) -> bool:
    return any(part.startswith(".") and len(part) > 1 for part in path.rstrip("/").split("/"))


def _hidden_last(items: list[str]) -> list[str]:
    return [item for item in items if not _hidden(item)] + [item for item in items if _hidden(item)]


async def find_files(request: Request) -> Response:
    """File and directory paths that fuzzily match `query`, best first (directories end in "/")."""
    from opencode.util.fuzzy import rank_files

    engine = engine_of(request)
    params = query_model(request, FindFileQuery)
    term = params.query.strip().replace("\\", "/")
    limit = params.limit or 10
    kind = params.type or ("file" if params.dirs == "false" else "all")
    files, dirs = await project_listing(engine)
    prefer_hidden = term.startswith(".") or "/." in term
    if not term:
        found = files[:limit] if kind == "file" else _hidden_last(dirs)[:limit]
        return JSONResponse(found)
    items = files if kind == "file" else dirs if kind == "directory" else [*files, *dirs]
    if kind == "directory" and not prefer_hidden:
        found = _hidden_last(rank_files(term, items, limit * 20))[:limit]
    else:
        found = rank_files(term, items, limit)
    return JSONResponse(found)


# --- GET /find/symbol --------------------------------------------------------------------------


class SymbolQuery(BaseModel):
    query: str


class Position(BaseModel):
    line: int
    character: int


class Range(BaseModel):
    start: Position
    end: Position


class Location(BaseModel):
    uri: str
    range: Range


class Symbol(BaseModel):
    name: str
    kind: int
    location: Location


async def find_symbols(request: Request) -> Response:
    """Workspace symbols from language servers: always [] here, since none run yet."""
    query_model(request, SymbolQuery)
    return JSONResponse([])


routes = [
    api("GET", "/find", find_text, "find.text", query=FindQuery, response=list[Match]),
    api("GET", "/find/file", find_files, "find.files", query=FindFileQuery, response=list[str]),
    api("GET", "/find/symbol", find_symbols, "find.symbols", query=SymbolQuery, response=list[Symbol]),
    api("GET", "/file", list_files, "file.list", query=PathQuery, response=list[FileNode]),
    api("GET", "/file/content", read_file, "file.read", query=PathQuery, response=FileContent),
    api("GET", "/file/status", file_status, "file.status", response=list[FileStatus]),
]
