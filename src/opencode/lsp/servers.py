"""Which language servers exist: the built-in definitions, config `lsp`, roots and binaries.

A `ServerDef` says which files a server takes (extensions), how to find the folder it should
run in (root markers, looked for from the file's folder up to the project root; the project
root when none is found) and how to start it (`command`: candidates tried in order, each
looked up in the project's `.venv`/`venv`, our own interpreter's folder, `node_modules/.bin`
from the root up, then PATH). Built-ins follow opencode's names (`pyright`, `typescript`,
`gopls`, `rust`, `clangd`, ...) so config written for opencode works here:

    "lsp": false                                               no language servers
    "lsp": {"pyright": {"disabled": true}}                     turn one built-in off
    "lsp": {"mine": {"command": ["my-ls", "--stdio"], "extensions": [".foo"]}}
    "lsp": {"typescript": {"env": {...}, "initialization": {...}}}   tune a built-in

Left out: servers that opencode downloads itself (jdtls, vue's and others that need a
companion install); any of them runs here when config gives its `command`.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from opencode.config.schema import LspServerConfig

Initialization = Callable[[Path], dict[str, Any]]
"""(server root) -> initializationOptions / settings for workspace/configuration."""


@dataclass(frozen=True)
class ServerDef:
    id: str
    extensions: tuple[str, ...]
    commands: tuple[tuple[str, ...], ...]
    """Candidates in order; the first whose binary is found runs."""
    markers: tuple[str, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict)
    initialization: Mapping[str, Any] | None = None
    dynamic_init: Initialization | None = None
    custom: bool = False
    """From config: the command is used as given (its binary still has to exist)."""

    def handles(self, path: Path) -> bool:
        name = path.name
        return any(name.endswith(ext) or name == ext for ext in self.extensions)

    def binaries(self) -> str:
        return " or ".join(dict.fromkeys(c[0] for c in self.commands))

    def resolve(self, root: Path, project: Path) -> list[str] | None:
        """The command to run for `root`, with its binary's full path; None when none is installed."""
        for candidate in self.commands:
            found = find_binary(candidate[0], root, project)
            if found is not None:
                return [found, *candidate[1:]]
        return None

    def settings(self, root: Path) -> dict[str, Any]:
        merged: dict[str, Any] = dict(self.dynamic_init(root)) if self.dynamic_init else {}
        merged.update(self.initialization or {})
        return merged


def find_binary(name: str, root: Path, project: Path) -> str | None:
    if os.sep in name:
        return name if os.access(name, os.X_OK) else None
    folders: list[Path] = []
    for base in dict.fromkeys((root, project)):
        folders += [base / ".venv" / "bin", base / "venv" / "bin"]
    folders.append(Path(sys.executable).parent)
    for directory in _up(root, project):
        folders.append(directory / "node_modules" / ".bin")
    for folder in folders:
        candidate = folder / name
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    return shutil.which(name)


def _up(start: Path, stop: Path) -> list[Path]:
    found = [start]
    for parent in start.parents:
        if parent == stop or stop in parent.parents:
            found.append(parent)
        else:
            break
    return found


def find_root(path: Path, markers: tuple[str, ...], project: Path) -> Path:
    """The nearest folder from `path`'s up to `project` holding one of `markers`; else `project`."""
    start = path.parent
    if start != project and project not in start.parents:
        return start  # a file outside the project: its own folder
    for directory in _up(start, project):
        if any((directory / marker).exists() for marker in markers):
            return directory
    return project


def _python_init(root: Path) -> dict[str, Any]:
    for venv in (".venv", "venv"):
        python = root / venv / "bin" / "python"
        if python.exists():
            return {"python": {"pythonPath": str(python)}}
    return {}


_JS = (".ts", ".tsx", ".js", ".jsx", ".mjs", ".cjs", ".mts", ".cts")
_C = (".c", ".cpp", ".cc", ".cxx", ".c++", ".h", ".hpp", ".hh", ".hxx", ".h++")

BUILTIN: tuple[ServerDef, ...] = (
    ServerDef(
        "pyright",
        (".py", ".pyi"),
        (("basedpyright-langserver", "--stdio"), ("pyright-langserver", "--stdio"), ("pylsp",)),
        ("pyproject.toml", "setup.py", "setup.cfg", "requirements.txt", "Pipfile", "pyrightconfig.json"),
        dynamic_init=_python_init,
    ),
    ServerDef(
        "typescript",
        _JS,
        (("typescript-language-server", "--stdio"),),
        ("package-lock.json", "bun.lockb", "bun.lock", "pnpm-lock.yaml", "yarn.lock", "tsconfig.json", "package.json"),
    ),
    ServerDef("gopls", (".go",), (("gopls",),), ("go.work", "go.mod", "go.sum")),
    ServerDef("rust", (".rs",), (("rust-analyzer",),), ("Cargo.toml", "Cargo.lock")),
    ServerDef(
        "clangd",
        _C,
        (("clangd", "--background-index"),),
        ("compile_commands.json", "compile_flags.txt", ".clangd", "CMakeLists.txt", "Makefile"),
    ),
    ServerDef("ruby-lsp", (".rb", ".rake", ".gemspec", ".ru"), (("ruby-lsp",),), ("Gemfile",)),
    ServerDef("elixir-ls", (".ex", ".exs"), (("elixir-ls",), ("language_server.sh",)), ("mix.exs",)),
    ServerDef("zls", (".zig", ".zon"), (("zls",),), ("build.zig",)),
    ServerDef("bash", (".sh", ".bash", ".zsh", ".ksh"), (("bash-language-server", "start"),)),
    ServerDef("lua-ls", (".lua",), (("lua-language-server",),), (".luarc.json", ".luarc.jsonc", ".stylua.toml")),
    ServerDef("yaml-ls", (".yaml", ".yml"), (("yaml-language-server", "--stdio"),)),
    ServerDef("dockerfile", ("Dockerfile", ".dockerfile"), (("docker-langserver", "--stdio"),)),
    ServerDef("terraform", (".tf", ".tfvars"), (("terraform-ls", "serve"),), (".terraform.lock.hcl",)),
    ServerDef("texlab", (".tex", ".bib"), (("texlab",),), (".latexmkrc", "latexmkrc", ".texlabroot")),
    ServerDef("gleam", (".gleam",), (("gleam", "lsp"),), ("gleam.toml",)),
    ServerDef("nixd", (".nix",), (("nixd",),), ("flake.nix",)),
    ServerDef("tinymist", (".typ", ".typc"), (("tinymist",),), ("typst.toml",)),
    ServerDef(
        "haskell-language-server",
        (".hs", ".lhs"),
        (("haskell-language-server-wrapper", "--lsp"),),
        ("stack.yaml", "cabal.project", "hie.yaml"),
    ),
    ServerDef("clojure-lsp", (".clj", ".cljs", ".cljc", ".edn"), (("clojure-lsp",),), ("deps.edn", "project.clj")),
    ServerDef("ocaml-lsp", (".ml", ".mli"), (("ocamllsp",),), ("dune-project", "dune-workspace")),
    ServerDef("sourcekit-lsp", (".swift",), (("sourcekit-lsp",),), ("Package.swift",)),
    ServerDef("dart", (".dart",), (("dart", "language-server", "--lsp"),), ("pubspec.yaml",)),
    ServerDef("csharp", (".cs",), (("csharp-ls",),), (".sln", ".csproj", "global.json")),
    ServerDef("fsharp", (".fs", ".fsi", ".fsx"), (("fsautocomplete",),), (".sln", ".fsproj", "global.json")),
    ServerDef("php intelephense", (".php",), (("intelephense", "--stdio"),), ("composer.json",)),
    ServerDef("kotlin-ls", (".kt", ".kts"), (("kotlin-lsp", "--stdio"),), ("settings.gradle.kts", "build.gradle.kts")),
)


def configured(config: bool | Mapping[str, LspServerConfig] | None) -> list[ServerDef]:
    """The servers config `lsp` leaves on: the built-ins, tuned, disabled or replaced, plus custom ones."""
    if config is False:
        return []
    servers = {server.id: server for server in BUILTIN}
    for name, entry in (config if isinstance(config, Mapping) else {}).items():
        if entry.disabled:
            servers.pop(name, None)
            continue
        base = servers.get(name)
        if base is None:
            if not entry.command or not entry.extensions:
                continue  # a built-in of opencode's that we do not ship, tuned without a command
            base = ServerDef(name, (), (), custom=True)
        if entry.command:
            base = replace(base, commands=(tuple(entry.command),), custom=True)
        if entry.extensions:
            base = replace(base, extensions=tuple(entry.extensions))
        if entry.env:
            base = replace(base, env={**base.env, **entry.env})
        if entry.initialization:
            base = replace(base, initialization={**(base.initialization or {}), **entry.initialization})
        servers[name] = base
    return list(servers.values())


LANGUAGE_IDS = {
    ".py": "python",
    ".pyi": "python",
    ".ts": "typescript",
    ".mts": "typescript",
    ".cts": "typescript",
    ".tsx": "typescriptreact",
    ".js": "javascript",
    ".mjs": "javascript",
    ".cjs": "javascript",
    ".jsx": "javascriptreact",
    ".go": "go",
    ".rs": "rust",
    ".c": "c",
    ".h": "c",
    ".cpp": "cpp",
    ".cc": "cpp",
    ".cxx": "cpp",
    ".hpp": "cpp",
    ".hh": "cpp",
    ".rb": "ruby",
    ".ex": "elixir",
    ".exs": "elixir",
    ".zig": "zig",
    ".sh": "shellscript",
    ".bash": "shellscript",
    ".lua": "lua",
    ".yaml": "yaml",
    ".yml": "yaml",
    ".tf": "terraform",
    ".tex": "latex",
    ".nix": "nix",
    ".hs": "haskell",
    ".swift": "swift",
    ".dart": "dart",
    ".cs": "csharp",
    ".fs": "fsharp",
    ".php": "php",
    ".kt": "kotlin",
    ".java": "java",
    ".json": "json",
}


def language_id(path: Path) -> str:
    if path.name == "Dockerfile":
        return "dockerfile"
    return LANGUAGE_IDS.get(path.suffix.lower(), path.suffix.lstrip(".").lower() or "plaintext")
