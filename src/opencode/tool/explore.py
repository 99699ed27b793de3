"""The `explore` tool: a read-only overview of a project in one call.

What it shows, in this order: a tree of the top two levels with file counts and sizes, the
languages (by file extension: files and bytes), the entry points (pyproject scripts, package.json
main/bin/scripts, Cargo binaries, Go `main.go` files, `manage.py`, `__main__.py`, Dockerfiles,
Makefile and justfile targets...), the test layout (test directories, test file kinds and the
frameworks their config or dependencies name, CI workflows) and recent git activity (the last
commits, and the files changed most often in the last `HOT_COMMITS` commits).

It is built to stay fast on a 100k-file repository: one ripgrep listing (`rg --files`, so
.gitignore and the list tool's default ignores are respected), one `lstat` per listed file for
the sizes, and no reads except a few manifest files at the top of the explored directory
(`MANIFESTS`, each at most `MAX_MANIFEST_BYTES`). Lines are not counted, since that would read
every file. The git commands run alongside, with a timeout, and are skipped quietly outside a
repository or without git.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import shutil
import tomllib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from opencode.tool.glob import search_dir
from opencode.tool.ls import DEFAULT_IGNORE
from opencode.tool.read import relative
from opencode.tool.ripgrep import run_rg
from opencode.tool.tool import PermissionRequest, Tool, ToolContext, ToolError, ToolResult

MAX_TOP_FILES = 20
MAX_SUBDIRS = 8
SUBDIR_BUDGET = 48
MAX_TOP_DIRS = 30
MAX_LANGUAGES = 12
MAX_ITEMS = 12
MAX_MANIFEST_BYTES = 512 * 1024
RECENT_COMMITS = 8
HOT_COMMITS = 300
HOT_FILES = 10
GIT_TIMEOUT_S = 10.0
MANIFESTS = (
    "pyproject.toml",
    "package.json",
    "Cargo.toml",
    "go.mod",
    "Makefile",
    "makefile",
    "GNUmakefile",
    "justfile",
    "Justfile",
    "Procfile",
    "composer.json",
)

LANGUAGES = {
    "Python": ".py .pyi .pyx",
    "JavaScript": ".js .mjs .cjs .jsx",
    "TypeScript": ".ts .mts .cts .tsx",
    "Go": ".go",
    "Rust": ".rs",
    "Java": ".java",
    "Kotlin": ".kt .kts",
    "Scala": ".scala",
    "C": ".c .h",
    "C++": ".cc .cpp .cxx .hpp .hh .hxx",
    "C#": ".cs",
    "F#": ".fs .fsx",
    "Swift": ".swift",
    "Objective-C": ".m .mm",
    "Ruby": ".rb .rake .gemspec",
    "PHP": ".php",
    "Elixir": ".ex .exs",
    "Erlang": ".erl .hrl",
    "Haskell": ".hs",
    "OCaml": ".ml .mli",
    "Clojure": ".clj .cljs .cljc",
    "Dart": ".dart",
    "Lua": ".lua",
    "R": ".r",
    "Julia": ".jl",
    "Zig": ".zig",
    "Nim": ".nim",
    "Perl": ".pl .pm",
    "Shell": ".sh .bash .zsh .fish",
    "PowerShell": ".ps1",
    "SQL": ".sql",
    "HTML": ".html .htm",
    "CSS": ".css .scss .sass .less",
    "Vue": ".vue",
    "Svelte": ".svelte",
    "Markdown": ".md .mdx .rst",
    "JSON": ".json .jsonc",
    "YAML": ".yaml .yml",
    "TOML": ".toml",
    "XML": ".xml",
    "Protobuf": ".proto",
    "GraphQL": ".graphql .gql",
    "Terraform": ".tf .tfvars",
    "Nix": ".nix",
    "Jupyter": ".ipynb",
    "Text": ".txt",
}
LANGUAGE_OF = {ext: name for name, exts in LANGUAGES.items() for ext in exts.split()}
TEST_DIRS = frozenset({"test", "tests", "__tests__", "spec", "specs", "e2e", "integration_tests"})
TEST_FILES = (
    ("pytest/unittest style", re.compile(r"(^test_.*|.*_test)\.py$")),
    ("JS/TS *.test / *.spec", re.compile(r".*\.(test|spec)\.[cm]?[jt]sx?$")),
    ("Go *_test.go", re.compile(r".*_test\.go$")),
    ("JUnit *Test.java / *Test.kt", re.compile(r".*Tests?\.(java|kt)$")),
    ("RSpec *_spec.rb", re.compile(r".*_spec\.rb$")),
    ("Minitest test_*.rb / *_test.rb", re.compile(r"(^test_.*|.*_test)\.rb$")),
    (".NET *Tests.cs", re.compile(r".*Tests?\.cs$")),
    ("PHPUnit *Test.php", re.compile(r".*Test\.php$")),
)
# A framework is named when one of its config files is listed, or the manifests mention it.
FRAMEWORK_FILES = {
    "pytest": ("pytest.ini", "conftest.py"),
    "jest": ("jest.config.js", "jest.config.ts", "jest.config.mjs", "jest.config.cjs", "jest.config.json"),
    "vitest": ("vitest.config.ts", "vitest.config.js", "vitest.config.mts", "vitest.workspace.ts"),
    "mocha": (".mocharc.js", ".mocharc.json", ".mocharc.yml", ".mocharc.yaml", ".mocharc.cjs"),
    "playwright": ("playwright.config.ts", "playwright.config.js"),
    "cypress": ("cypress.config.ts", "cypress.config.js", "cypress.json"),
    "karma": ("karma.conf.js",),
    "tox": ("tox.ini",),
    "nox": ("noxfile.py",),
    "rspec": (".rspec",),
    "phpunit": ("phpunit.xml", "phpunit.xml.dist"),
}
JS_FRAMEWORKS = ("jest", "vitest", "mocha", "playwright", "cypress", "ava", "jasmine", "karma")


class ExploreParams(BaseModel):
    path: str = Field("", description="Directory to explore (default: the working directory)")


@dataclass
class Stats:
    files: int = 0
    bytes: int = 0

    def add(self, size: int) -> None:
        self.files += 1
        self.bytes += size


@dataclass
class Listing:
    """The explored directory's files (relative POSIX paths) with their sizes."""

    names: list[str]
    sizes: list[int]
    cut: bool = False
    names_set: set[str] = field(default_factory=set)
    bases: list[str] = field(default_factory=list)
    """Each file's own name (no directory), computed once: pathlib is too slow for 100k names."""

    def __post_init__(self) -> None:
        self.names_set = set(self.names)
        self.bases = [name.rpartition("/")[2] for name in self.names]

    def has(self, name: str) -> bool:
        return name in self.names_set


class ExploreTool(Tool[ExploreParams]):
    name = "explore"
    params = ExploreParams
    description_file = "explore.txt"

    async def run(self, params: ExploreParams, ctx: ToolContext) -> ToolResult:
        target = search_dir(params.path, ctx)
        title = relative(target, ctx.root)
        await ctx.ask(PermissionRequest("explore", [str(target)], f"Explore {title}", {"path": str(target)}, ["*"]))
        args = ["--files", "--no-require-git", "--no-messages", "--hidden"]
        for pattern in DEFAULT_IGNORE:
            args += ["--glob", f"!{pattern}"]
        # A task group, so that an aborted listing also stops the git commands.
        async with asyncio.TaskGroup() as group:
            listing_task = group.create_task(run_rg(args, cwd=target, ctx=ctx))
            git_task = group.create_task(git_activity(target))
        listed, git = listing_task.result(), git_task.result()
        if listed.returncode not in (0, 1) and not listed.stdout:
            raise ToolError(f"explore failed: {listed.stderr or f'rg exited with code {listed.returncode}'}")
        names = [line.replace("\\", "/") for line in listed.lines() if line]
        ctx.check_abort()
        listing = await asyncio.to_thread(measure, target, names, listed.cut)
        manifests = await asyncio.to_thread(read_manifests, target, listing)
        ctx.check_abort()

        sections = [
            header(target, listing),
            tree_section(listing),
            languages_section(listing),
            entry_points_section(listing, manifests),
            tests_section(listing, manifests),
            git_section(git, listing),
        ]
        output = "\n\n".join(section for section in sections if section)
        total = sum(listing.sizes)
        metadata = {"files": len(listing.names), "bytes": total, "truncated": listing.cut, "git": git is not None}
        return ToolResult(output, title, metadata)


# --- gathering -----------------------------------------------------------------------------


def measure(target: Path, names: list[str], cut: bool) -> Listing:
    """Sizes by `lstat` (no reads); a file that vanished since the listing counts as 0 bytes."""
    base = str(target) + os.sep
    sizes: list[int] = []
    stat = os.stat
    for name in names:
        try:
            sizes.append(stat(base + name, follow_symlinks=False).st_size)
        except OSError:
            sizes.append(0)
    return Listing(names, sizes, cut)


def read_manifests(target: Path, listing: Listing) -> dict[str, str]:
    found: dict[str, str] = {}
    for name in MANIFESTS:
        if not listing.has(name):
            continue
        path = target / name
        with contextlib.suppress(OSError):
            if path.stat().st_size <= MAX_MANIFEST_BYTES:
                found[name] = path.read_text("utf-8", errors="replace")
    return found


@dataclass
class GitActivity:
    branch: str
    commits: list[str]
    hot: list[tuple[str, int]]
    scanned: int


async def git_activity(target: Path) -> GitActivity | None:
    """The last commits and the most changed files under `target`; None outside a repository."""
    git = shutil.which("git")
    if git is None:
        return None
    recent_format = "--format=%h%x09%ad%x09%an%x09%s"
    results = await asyncio.gather(
        _git(git, target, "rev-parse", "--abbrev-ref", "HEAD"),
        _git(git, target, "log", f"-n{RECENT_COMMITS}", "--date=short", recent_format, "--", "."),
        _git(git, target, "log", f"-n{HOT_COMMITS}", "--name-only", "--relative", "--format=%x00", "--", "."),
    )
    branch, recent, names = results
    if branch is None or recent is None:
        return None
    commits = [line for line in recent.splitlines() if line.strip()]
    counts: Counter[str] = Counter()
    scanned = 0
    for block in (names or "").split("\x00"):
        files = [line for line in block.splitlines() if line.strip()]
        if files:
            scanned += 1
            counts.update(set(files))
    return GitActivity(branch.strip(), commits, counts.most_common(), scanned)


async def _git(git: str, cwd: Path, *args: str) -> str | None:
    env = {**os.environ, "GIT_OPTIONAL_LOCKS": "0", "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C"}
    try:
        proc = await asyncio.create_subprocess_exec(
            git,
            "-c",
            "core.quotepath=off",
            *args,
            cwd=cwd,
            env=env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
        )
    except OSError:
        return None
    try:
        out, _ = await asyncio.wait_for(proc.communicate(), GIT_TIMEOUT_S)
    except TimeoutError:
        return None
    finally:
        if proc.returncode is None:  # timed out, or the run was cancelled
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
    return out.decode("utf-8", errors="replace") if proc.returncode == 0 else None


# --- rendering -----------------------------------------------------------------------------


def size(count: int) -> str:
    value = float(count)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GB"


def _files(count: int) -> str:
    return f"{count:,} file{'s' if count != 1 else ''}"


def header(target: Path, listing: Listing) -> str:
    more = "+" if listing.cut else ""
    note = " (listing cut at ripgrep's output cap: counts are lower bounds)" if listing.cut else ""
    return (
        f"{target}/: {_files(len(listing.names))}{more}, {size(sum(listing.sizes))}{note}\n"
        "(Files ignored by .gitignore and bulky directories such as node_modules, dist and .venv are not counted.)"
    )


def tree_section(listing: Listing) -> str:
    top: dict[str, Stats] = {}
    second: dict[str, dict[str, Stats]] = {}
    root_files: list[tuple[str, int]] = []
    for name, length in zip(listing.names, listing.sizes, strict=True):
        first, sep, rest = name.partition("/")
        if not sep:
            root_files.append((name, length))
            continue
        top.setdefault(first, Stats()).add(length)
        sub, sep2, _ = rest.partition("/")
        key = sub + "/" if sep2 else ""  # "" collects the directory's own files
        second.setdefault(first, {}).setdefault(key, Stats()).add(length)

    lines = ["Tree (directories: files, size):"]
    # Second-level lines share one budget, so a project with many top directories stays short.
    per_dir = min(MAX_SUBDIRS, SUBDIR_BUDGET // max(1, len(top)))
    for index, name in enumerate(sorted(top)):
        if index == MAX_TOP_DIRS:
            remaining = sorted(top)[MAX_TOP_DIRS:]
            files = sum(top[n].files for n in remaining)
            lines.append(f"  ... {len(remaining)} more directories ({_files(files)})")
            break
        stats = top[name]
        lines.append(f"  {name}/  {_files(stats.files)}, {size(stats.bytes)}")
        children = second[name]
        subdirs = sorted((k for k in children if k), key=lambda k: (-children[k].files, k))
        if not per_dir:
            continue
        for sub in subdirs[:per_dir]:
            lines.append(f"    {sub}  {_files(children[sub].files)}, {size(children[sub].bytes)}")
        if len(subdirs) > per_dir:
            rest_files = sum(children[k].files for k in subdirs[per_dir:])
            lines.append(f"    ... {len(subdirs) - per_dir} more directories ({_files(rest_files)})")
        own = children.get("")
        if own is not None and subdirs:
            lines.append(f"    ({_files(own.files)} directly in {name}/, {size(own.bytes)})")
    root_files.sort()
    for name, length in root_files[:MAX_TOP_FILES]:
        lines.append(f"  {name}  {size(length)}")
    if len(root_files) > MAX_TOP_FILES:
        rest_bytes = sum(length for _, length in root_files[MAX_TOP_FILES:])
        lines.append(f"  ... {_files(len(root_files) - MAX_TOP_FILES)} more ({size(rest_bytes)})")
    return "\n".join(lines)


def language_of(base: str) -> str | None:
    """The language of a file by its name (without directory)."""
    dot = base.rfind(".")
    if dot > 0:
        return LANGUAGE_OF.get(base[dot:].lower())
    if base in ("Dockerfile", "Containerfile") or base.startswith("Dockerfile."):
        return "Dockerfile"
    if base in ("Makefile", "makefile", "GNUmakefile"):
        return "Makefile"
    return None


def languages_section(listing: Listing) -> str:
    by_language: dict[str, Stats] = {}
    other = Stats()
    for base, length in zip(listing.bases, listing.sizes, strict=True):
        language = language_of(base)
        if language is None:
            other.add(length)
        else:
            by_language.setdefault(language, Stats()).add(length)
    if not by_language:
        return ""
    ranked = sorted(by_language.items(), key=lambda item: (-item[1].bytes, item[0]))
    lines = ["Languages (by extension; files, size):"]
    for language, stats in ranked[:MAX_LANGUAGES]:
        lines.append(f"  {language}: {_files(stats.files)}, {size(stats.bytes)}")
    rest = ranked[MAX_LANGUAGES:]
    if rest:
        lines.append("  also: " + ", ".join(f"{language} ({stats.files})" for language, stats in rest))
    if other.files:
        lines.append(f"  other or no extension: {_files(other.files)}, {size(other.bytes)}")
    return "\n".join(lines)


def _toml(text: str | None) -> dict[str, Any]:
    if not text:
        return {}
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        return {}


def _table(data: dict[str, Any], key: str) -> dict[str, Any]:
    value = data.get(key)
    return value if isinstance(value, dict) else {}


def _json(text: str | None) -> dict[str, Any]:
    if not text:
        return {}
    try:
        data = json.loads(text)
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _short(text: object, limit: int = 70) -> str:
    value = " ".join(str(text).split())
    return value if len(value) <= limit else value[: limit - 3] + "..."


def _listed(items: list[str], limit: int = MAX_ITEMS) -> str:
    shown = ", ".join(items[:limit])
    return shown + (f", ... ({len(items) - limit} more)" if len(items) > limit else "")


_COMPOSE = re.compile(r"(docker-)?compose(\.[\w-]+)?\.ya?ml")
_MAKE_TARGET = re.compile(r"^([A-Za-z0-9][A-Za-z0-9_.-]*)\s*:(?!=)", re.MULTILINE)
_JUST_RECIPE = re.compile(r"^@?([A-Za-z0-9][A-Za-z0-9_-]*)(?:\s+[^:=\n]*)?:(?!=)", re.MULTILINE)


def entry_points_section(listing: Listing, manifests: dict[str, str]) -> str:
    lines: list[str] = []
    pyproject = _toml(manifests.get("pyproject.toml"))
    project = _table(pyproject, "project")
    poetry = _table(_table(pyproject, "tool"), "poetry")
    scripts: dict[str, Any] = {}
    for table in (project.get("scripts"), project.get("gui-scripts"), poetry.get("scripts")):
        if isinstance(table, dict):
            scripts.update(table)
    if scripts:
        listed = [f"{name} = {_short(value, 50)}" for name, value in scripts.items()]
        lines.append(f"  pyproject.toml scripts: {_listed(listed)}")
    elif "pyproject.toml" in manifests:
        name = project.get("name") or poetry.get("name")
        lines.append(f"  pyproject.toml: package {name}" if name else "  pyproject.toml (no scripts)")

    package = _json(manifests.get("package.json"))
    if package:
        facts = [f"package {package['name']}"] if package.get("name") else []
        for key in ("main", "module", "types"):
            if isinstance(package.get(key), str):
                facts.append(f"{key} {package[key]}")
        binary = package.get("bin")
        if isinstance(binary, str):
            facts.append(f"bin {binary}")
        elif isinstance(binary, dict):
            facts.append("bin " + ", ".join(f"{k} -> {v}" for k, v in list(binary.items())[:MAX_ITEMS]))
        if package.get("workspaces"):
            facts.append(f"workspaces {_short(package['workspaces'], 60)}")
        lines.append("  package.json: " + "; ".join(facts) if facts else "  package.json")
        npm_scripts = package.get("scripts")
        if isinstance(npm_scripts, dict) and npm_scripts:
            listed = [f"{k}: {_short(v, 50)}" for k, v in npm_scripts.items()]
            lines.append("    scripts: " + _listed(listed, 10).replace(", ", "; "))

    cargo = _toml(manifests.get("Cargo.toml"))
    if "Cargo.toml" in manifests:
        bins = [str(b.get("name")) for b in cargo.get("bin", []) if isinstance(b, dict) and b.get("name")]
        package_name = _table(cargo, "package").get("name")
        if listing.has("src/main.rs") and package_name:
            bins.insert(0, f"{package_name} (src/main.rs)")
        bins += [name for name in listing.names if name.startswith("src/bin/") and name.endswith(".rs")][:MAX_ITEMS]
        facts = [f"binaries {_listed(bins)}"] if bins else []
        if listing.has("src/lib.rs"):
            facts.append("library src/lib.rs")
        members = _table(cargo, "workspace").get("members")
        if isinstance(members, list) and members:
            facts.append(f"workspace members {_listed([str(m) for m in members])}")
        lines.append("  Cargo.toml: " + ("; ".join(facts) if facts else f"package {package_name}"))

    if "go.mod" in manifests:
        module = re.search(r"^module\s+(\S+)", manifests["go.mod"], re.MULTILINE)
        mains = [n for n, base in zip(listing.names, listing.bases, strict=True) if base == "main.go"]
        facts = [f"module {module.group(1)}"] if module else []
        if mains:
            facts.append(f"main packages {_listed(sorted(mains, key=lambda n: (n.count('/'), n)))}")
        lines.append("  go.mod: " + "; ".join(facts))
    elif mains := [n for n, base in zip(listing.names, listing.bases, strict=True) if base == "main.go"]:
        lines.append(f"  Go main packages: {_listed(sorted(mains))}")

    scripts_found = sorted(
        (name for name, base in zip(listing.names, listing.bases, strict=True) if _is_entry_script(name, base)),
        key=lambda n: (n.count("/"), n),
    )
    if scripts_found:
        lines.append(f"  scripts: {_listed(scripts_found)}")

    pairs = list(zip(listing.names, listing.bases, strict=True))
    docker = [n for n, base in pairs if base.startswith(("Dockerfile", "Containerfile"))]
    compose = [n for n, base in pairs if "compose" in base and _COMPOSE.fullmatch(base)]
    if docker or compose:
        lines.append(f"  containers: {_listed(sorted(docker + compose, key=lambda n: (n.count('/'), n)))}")

    for name in ("Makefile", "makefile", "GNUmakefile"):
        if name in manifests:
            targets = [t for t in dict.fromkeys(_MAKE_TARGET.findall(manifests[name])) if not t.startswith(".")]
            if targets:
                lines.append(f"  {name} targets: {_listed(targets, 15)}")
            break
    for name in ("justfile", "Justfile"):
        if name in manifests:
            recipes = list(dict.fromkeys(_JUST_RECIPE.findall(manifests[name])))
            if recipes:
                lines.append(f"  {name} recipes: {_listed(recipes, 15)}")
            break
    if "Procfile" in manifests:
        processes = [line.split(":", 1)[0] for line in manifests["Procfile"].splitlines() if ":" in line]
        lines.append(f"  Procfile: {_listed(processes)}")

    manifests_below = ("package.json", "pyproject.toml", "Cargo.toml", "go.mod")
    nested = sorted((n for n, base in pairs if base in manifests_below and "/" in n), key=lambda n: (n.count("/"), n))
    if nested:
        lines.append(f"  sub-projects: {_listed(nested, 8)}")
    if not lines:
        return "Entry points: none recognised (no manifest, main file or Makefile at the top)."
    return "Entry points:\n" + "\n".join(lines)


_ENTRY_SCRIPTS = frozenset({"manage.py", "wsgi.py", "asgi.py", "app.py", "main.py", "cli.py", "server.py"})
_JS_ENTRY_SCRIPTS = frozenset({"index.js", "index.ts", "server.js", "server.ts", "main.ts", "main.js"})


def _is_entry_script(name: str, base: str) -> bool:
    if base == "__main__.py":
        return True
    if base not in _ENTRY_SCRIPTS and base not in _JS_ENTRY_SCRIPTS:
        return False
    depth = name.count("/")
    return depth <= 2 if base in _ENTRY_SCRIPTS else depth <= 1


def tests_section(listing: Listing, manifests: dict[str, str]) -> str:
    dirs: dict[str, int] = {}
    kinds: Counter[str] = Counter()
    workflows: list[str] = []
    basenames = set(listing.bases)
    for name, base in zip(listing.names, listing.bases, strict=True):
        low = name.lower()
        if "test" in low or "spec" in low or "e2e" in low:
            parts = name.split("/")
            for depth, part in enumerate(parts[:-1]):
                if part in TEST_DIRS:
                    key = "/".join(parts[: depth + 1]) + "/"
                    dirs[key] = dirs.get(key, 0) + 1
                    break
            for kind, pattern in TEST_FILES:
                if pattern.match(base):
                    kinds[kind] += 1
                    break
        if name.startswith(".github/workflows/") and name.count("/") == 2:
            workflows.append(base)
        elif name in (".gitlab-ci.yml", ".circleci/config.yml", "azure-pipelines.yml", "Jenkinsfile"):
            workflows.append(name)

    frameworks: list[str] = []
    for framework, files in FRAMEWORK_FILES.items():
        if any(f in basenames for f in files):
            frameworks.append(framework)
    pyproject = manifests.get("pyproject.toml", "")
    if "pytest" not in frameworks and ("[tool.pytest" in pyproject or re.search(r"['\"]pytest\b", pyproject)):
        frameworks.append("pytest")
    package = _json(manifests.get("package.json"))
    deps: dict[str, Any] = {}
    for key in ("dependencies", "devDependencies"):
        if isinstance(package.get(key), dict):
            deps.update(package[key])
    for framework in JS_FRAMEWORKS:
        if framework not in frameworks and (framework in deps or f"@{framework}/test" in deps):
            frameworks.append(framework)
    if kinds.get("Go *_test.go"):
        frameworks.append("go test")
    if "Cargo.toml" in manifests:
        frameworks.append("cargo test")
    commands: list[str] = []
    npm_scripts = package.get("scripts")
    if isinstance(npm_scripts, dict) and isinstance(npm_scripts.get("test"), str):
        commands.append(f"npm test ({_short(npm_scripts['test'], 50)})")
    for name in ("Makefile", "makefile", "GNUmakefile"):
        if name in manifests and re.search(r"^test\s*:", manifests[name], re.MULTILINE):
            commands.append("make test")

    lines: list[str] = []
    if dirs:
        top = sorted(dirs.items(), key=lambda item: (item[0].count("/"), -item[1], item[0]))
        lines.append("  directories: " + _listed([f"{d} ({_files(n)})" for d, n in top], 10))
    if kinds:
        lines.append("  test files: " + ", ".join(f"{kind}: {count}" for kind, count in kinds.most_common()))
    if frameworks:
        lines.append(f"  frameworks: {', '.join(frameworks)}")
    if commands:
        lines.append(f"  run with: {', '.join(commands)}")
    if workflows:
        lines.append(f"  CI: {_listed(sorted(workflows), 8)}")
    if not lines:
        return "Tests: none found (no test directories or test files)."
    return "Tests:\n" + "\n".join(lines)


def git_section(git: GitActivity | None, listing: Listing) -> str:
    if git is None:
        return ""
    lines = [f"Git (branch {git.branch}):"]
    if not git.commits:
        lines.append("  no commits touch this directory yet")
        return "\n".join(lines)
    lines.append("  recent commits:")
    lines += [f"    {_short(' '.join(commit.split(chr(9))), 110)}" for commit in git.commits]
    hot = [(name, count) for name, count in git.hot if listing.has(name)][:HOT_FILES]
    if hot:
        lines.append(f"  most changed files (last {git.scanned} commits): ")
        lines[-1] = lines[-1].rstrip() + " " + ", ".join(f"{name} ({count})" for name, count in hot)
    return "\n".join(lines)
