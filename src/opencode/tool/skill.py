"""Skills, and the `skill` tool that loads one into the conversation.

A skill is a folder holding a `SKILL.md`: YAML front matter with `name` and `description`, then
the instructions as markdown. Other files in the folder (scripts, references, templates) are
the skill's own; the tool lists them so the model can read or run them. Where skills are found,
lowest precedence first (a later skill of the same name replaces an earlier one, with a logged
warning):

1. `~/.claude/skills/` and `~/.agents/skills/` (Claude Code's and the cross-tool folders), then
   the same folders in the project, from the git root down to the working directory; all of
   them skipped when `OPENCODE_DISABLE_EXTERNAL_SKILLS` is set
2. `skill/` and `skills/` in each config directory (`opencode.agent.agents.config_dirs`): the
   global `$XDG_CONFIG_HOME/opencode/`, each project `.opencode/` from the root down, then
   `$OPENCODE_CONFIG_DIR`
3. config `skills.paths`: more folders (`~/` expanded, relative ones from the working directory)
4. config `skills.urls`: remote indexes as opencode reads them: `<url>/index.json` lists
   `{"skills": [{"name", "files": [...]}]}`, each file fetched from `<url>/<name>/<file>` into
   `$XDG_CACHE_HOME/opencode/skills/<name>/` (files already there are kept; names and paths
   that would leave the cache, or files on another host, drop the skill)

Front matter that does not parse, or lacks a name or a description, skips the skill with a
warning naming the file (logged, and kept in `Catalog.warnings` for the faces). The engine lists
the skills in the tool's description, leaving out those the agent's `skill` permission denies,
and offers no `skill` tool when there are none. Loading a skill asks the `skill` permission
with the skill's name.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field

from opencode.tool.tool import PermissionRequest, Tool, ToolContext, ToolError, ToolResult

if TYPE_CHECKING:
    from opencode.config.schema import SkillsConfig

log = logging.getLogger(__name__)

SKILL_FILE = "SKILL.md"
EXTERNAL_DIRS = (".claude", ".agents")
MAX_FILES = 50
MAX_WALK = 5000
MAX_DESCRIPTION = 1024
FETCH_TIMEOUT_S = 10.0
MAX_FETCH_BYTES = 5 * 1024 * 1024


@dataclass(frozen=True)
class Skill:
    name: str
    description: str
    location: Path
    """The SKILL.md file."""
    content: str
    """The instructions: the file without its front matter."""

    @property
    def directory(self) -> Path:
        return self.location.parent


@dataclass
class Catalog:
    skills: dict[str, Skill] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def add(self, skill: Skill) -> None:
        previous = self.skills.get(skill.name)
        if previous is not None and previous.location != skill.location:
            log.warning("skill %r in %s replaces the one in %s", skill.name, skill.location, previous.location)
        self.skills[skill.name] = skill

    def warn(self, message: str) -> None:
        log.warning("%s", message)
        self.warnings.append(message)

    def available(self, allowed: Callable[[str], bool] | None = None) -> list[Skill]:
        """The skills by name, those `allowed(name)` refuses left out."""
        return [s for _, s in sorted(self.skills.items()) if allowed is None or allowed(s.name)]


# --- discovery -----------------------------------------------------------------------------


def discover(cwd: Path, root: Path, config: SkillsConfig | None = None, *, config_dir: Path | None = None) -> Catalog:
    """Every skill for a session in `cwd` (project root `root`); see the module docstring."""
    from opencode.agent.agents import config_dirs

    catalog = Catalog()
    cwd, root = cwd.resolve(), root.resolve()
    if os.environ.get("OPENCODE_DISABLE_EXTERNAL_SKILLS", "").lower() not in ("1", "true"):
        home = Path.home()
        for name in EXTERNAL_DIRS:
            _scan(catalog, home / name / "skills")
        for directory in _project_chain(cwd, root):
            if directory == home:
                continue  # already scanned as the global folder
            for name in EXTERNAL_DIRS:
                _scan(catalog, directory / name / "skills")
    for directory in config_dirs(cwd, root, config_dir):
        for folder in ("skill", "skills"):
            _scan(catalog, directory / folder)
    if config is not None:
        for item in config.paths or []:
            path = Path(item).expanduser()
            path = path if path.is_absolute() else cwd / path
            if not path.is_dir():
                catalog.warn(f"skills.paths: {path} is not a directory; skipped")
                continue
            _scan(catalog, path)
        for url in config.urls or []:
            for directory in pull(url, catalog):
                _scan(catalog, directory)
    return catalog


def _project_chain(cwd: Path, root: Path) -> list[Path]:
    """The git root down to `cwd` (just `cwd` when it is not under `root`)."""
    chain = [cwd, *cwd.parents]
    return chain[: chain.index(root) + 1][::-1] if root in chain else [cwd]


def _scan(catalog: Catalog, base: Path) -> None:
    """Add each `**/SKILL.md` under `base` (links followed, as skills are often linked in)."""
    if not base.is_dir():
        return
    found: list[Path] = []
    for current, dirs, files in os.walk(base, followlinks=True):
        dirs[:] = sorted(d for d in dirs if d not in ("node_modules", ".git"))
        if SKILL_FILE in files:
            found.append(Path(current) / SKILL_FILE)
        if len(found) > 1000:
            break
    for path in sorted(found):
        skill = load_skill(path, catalog)
        if skill is not None:
            catalog.add(skill)


def load_skill(path: Path, catalog: Catalog | None = None) -> Skill | None:
    """One SKILL.md; None (with a warning) when its front matter is not usable."""
    from opencode.agent.agents import parse_markdown
    from opencode.config.errors import ConfigError

    problems = catalog if catalog is not None else Catalog()
    try:
        data, body = parse_markdown(path)
    except ConfigError as exc:
        problems.warn(f"skill skipped: {exc}")
        return None
    missing = [key for key in ("name", "description") if not isinstance(data.get(key), str) or not data[key].strip()]
    if missing:
        problems.warn(
            f"skill skipped: {path}: its front matter needs {' and '.join(missing)} "
            "(a YAML block between --- lines at the top, with name: and description:)"
        )
        return None
    name = " ".join(data["name"].split())
    description = " ".join(data["description"].split())
    if len(description) > MAX_DESCRIPTION:
        description = description[: MAX_DESCRIPTION - 3] + "..."
    return Skill(name, description, path.resolve(), body.strip())


def pull(url: str, catalog: Catalog) -> list[Path]:
    """Fetch the skills a remote index lists into the cache; the folders that hold a SKILL.md."""
    import httpx

    from opencode.config.paths import paths

    cache = (paths().cache / "skills").resolve()
    base = url if url.endswith("/") else url + "/"
    parsed = httpx.URL(base)
    if parsed.scheme not in ("http", "https"):
        catalog.warn(f"skills.urls: {url} is not an http(s) URL; skipped")
        return []
    try:
        with httpx.Client(timeout=FETCH_TIMEOUT_S, follow_redirects=True, max_redirects=5) as client:
            response = client.get(parsed.join("index.json"), headers={"accept": "application/json"})
            response.raise_for_status()
            index = response.json()
            entries = index.get("skills") if isinstance(index, dict) else None
            if not isinstance(entries, list):
                catalog.warn(f'skills.urls: {url}index.json has no "skills" list; skipped')
                return []
            folders: list[Path] = []
            for entry in entries:
                try:
                    folder = _pull_one(client, parsed, entry, cache, catalog)
                except httpx.HTTPError as exc:
                    catalog.warn(
                        f"skills.urls: a skill of {base}index.json could not be fetched: {_problem(exc)}; skipped"
                    )
                    continue
                if folder is not None:
                    folders.append(folder)
            return folders
    except (httpx.HTTPError, ValueError) as exc:
        catalog.warn(f"skills.urls: could not fetch {base}index.json: {_problem(exc)}")
        return []


def _problem(exc: Exception) -> str:
    """One line for an HTTP failure: httpx's own messages run over several."""
    import httpx

    if isinstance(exc, httpx.HTTPStatusError):
        return f"HTTP {exc.response.status_code} from {exc.request.url}"
    return (str(exc).splitlines() or [type(exc).__name__])[0]


def _pull_one(client: Any, source: Any, entry: object, cache: Path, catalog: Catalog) -> Path | None:
    from urllib.parse import quote

    if not isinstance(entry, dict) or not _safe_segment(entry.get("name")):
        catalog.warn(f"skills.urls: an entry of {source}index.json has no usable name; skipped")
        return None
    name: str = entry["name"]
    files = entry.get("files")
    if not isinstance(files, list) or SKILL_FILE not in files or not all(_safe_relative(f) for f in files):
        catalog.warn(f"skills.urls: {name} in {source}index.json lists no SKILL.md or unsafe file paths; skipped")
        return None
    folder = cache / name
    skill_url = source.join(f"{quote(name)}/")
    for file in files:
        destination = (folder / file).resolve()
        if not destination.is_relative_to(folder) or destination == folder:
            return None
        if destination.exists():
            continue
        address = skill_url.join(file)
        if address.host != source.host or address.scheme != source.scheme:
            return None
        response = client.get(address)
        response.raise_for_status()
        if len(response.content) > MAX_FETCH_BYTES:
            catalog.warn(f"skills.urls: {address} is larger than {MAX_FETCH_BYTES} bytes; skipped")
            continue
        destination.parent.mkdir(parents=True, exist_ok=True)
        destination.write_bytes(response.content)
    return folder if (folder / SKILL_FILE).is_file() else None


def _safe_segment(value: object) -> bool:
    return (
        isinstance(value, str) and value not in ("", ".", "..") and not any(char in value for char in ("/", "\\", "\0"))
    )


def _safe_relative(value: object) -> bool:
    if not isinstance(value, str) or not value or value.startswith("/") or "://" in value:
        return False
    if any(char in value for char in ("\\", "\0", "?", "#", ":")):
        return False
    return all(_safe_segment(part) for part in value.split("/"))


# --- the tool ------------------------------------------------------------------------------


class SkillParams(BaseModel):
    name: str = Field(description="The skill's name, as listed below")


class SkillTool(Tool[SkillParams]):
    name = "skill"
    params = SkillParams
    description_file = "skill.txt"

    def __init__(self) -> None:
        self._catalogs: dict[tuple[Path, Path], Catalog] = {}

    def catalog(self, cwd: Path, root: Path, config: SkillsConfig | None = None, *, refresh: bool = False) -> Catalog:
        """The skills for `cwd` and `root`, found once (the engine passes the config's `skills`)."""
        key = (cwd.resolve(), root.resolve())
        found = self._catalogs.get(key)
        if found is None or refresh:
            found = self._catalogs[key] = discover(cwd, root, config)
        return found

    def describe(self, skills: Iterable[Skill]) -> str:
        """This tool's description with the skills the model may load."""
        lines = [f"- {skill.name}: {skill.description}" for skill in skills]
        listing = "\n".join(lines) if lines else "(none)"
        return f"{self.description}\n\nAvailable skills (name: when to use it):\n{listing}"

    async def run(self, params: SkillParams, ctx: ToolContext) -> ToolResult:
        name = params.name.strip()
        catalog = await asyncio.to_thread(self.catalog, ctx.cwd, ctx.root)
        skill = catalog.skills.get(name)
        if skill is None:
            known = ", ".join(sorted(catalog.skills)) or "none"
            raise ToolError(f"No skill named {name!r}. Available skills: {known}.")
        await ctx.ask(
            PermissionRequest("skill", [skill.name], f"Load skill {skill.name}", {"name": skill.name}, [skill.name])
        )
        files, more = await asyncio.to_thread(skill_files, skill.directory)
        listed = "\n".join(str(path) for path in files) or "(no other files)"
        if more:
            listed += f"\n... {more} more files (list the folder to see them)"
        output = "\n".join(
            [
                f'<skill_content name="{skill.name}">',
                f"# Skill: {skill.name}",
                "",
                skill.content,
                "",
                f"Base directory for this skill: {skill.directory}",
                "Relative paths in this skill (scripts/, reference/...) are relative to that directory.",
                "",
                "<skill_files>",
                listed,
                "</skill_files>",
                "</skill_content>",
            ]
        )
        metadata = {"name": skill.name, "dir": str(skill.directory), "files": len(files) + more}
        return ToolResult(output, f"Loaded skill: {skill.name}", metadata)


def skill_files(directory: Path) -> tuple[list[Path], int]:
    """The folder's files other than SKILL.md (hidden ones too), sorted; at most `MAX_FILES`, and how
    many more there are."""
    found: list[Path] = []
    seen = 0
    for current, dirs, files in os.walk(directory):
        dirs[:] = sorted(d for d in dirs if d not in (".git", "node_modules", "__pycache__"))
        for name in sorted(files):
            path = Path(current) / name
            if path == directory / SKILL_FILE:
                continue
            seen += 1
            if len(found) < MAX_FILES:
                found.append(path)
        if seen >= MAX_WALK:
            break
    found.sort()
    return found, seen - len(found)
