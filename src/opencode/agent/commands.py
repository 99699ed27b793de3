"""Custom commands: named prompt templates the user runs as `/name args` or `opencode run --command name args`.

    commands = load_commands(config, cwd, root)
    text = await expand(commands["review-file"], "src/app.py strict", cwd=cwd)

Layers, lowest first (a later command of the same name replaces the earlier one whole):

1. built-in `init`: explore the project and write or improve AGENTS.md
2. `$XDG_CONFIG_HOME/opencode/{command,commands}/**/*.md`
3. each project `.opencode/{command,commands}/**/*.md` from the git root down to the working
   directory, then `$OPENCODE_CONFIG_DIR` (the same directories as agents, `agents.config_dirs`)
4. config `command`

A markdown command's name is its path below the folder without `.md` (`command/git/log.md` is
`git/log`); its front matter may set description, agent, model and subtask (other keys, such as
Claude Code's `argument-hint`, are ignored), and its body is the template.

Expansion follows opencode's: `$1`..`$n` take the shell-like split arguments, the highest one
also taking the rest; `$ARGUMENTS` is the argument string as typed; a template with neither gets
the arguments appended. Then each ``!`cmd` `` is replaced by the command's output (bash in the
working directory, stdin closed, 30 s, 32 KB) and each `@path` naming a file by its content in a
fenced block. Shell output is inserted as is: an `@` in it is not read as a file reference.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shlex
import shutil
import signal
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from opencode.agent import prompts
from opencode.agent.agents import Agent, AgentError, config_dirs, parse_markdown
from opencode.aio import close_pipes
from opencode.config.errors import describe_issues, render_path
from opencode.config.schema import CommandConfig, Config

__all__ = [
    "Command",
    "builtin_commands",
    "expand",
    "load_commands",
    "mcp_commands",
    "run_shell",
    "split_arguments",
    "substitute",
]

SHELL_TIMEOUT = 30.0
OUTPUT_CAP = 32 * 1024
FILE_CAP = 64 * 1024
DRAIN_GRACE = 2.0  # seconds to finish reading once the shell has ended
BUILTIN_SOURCE = "built-in"

_PLACEHOLDER = re.compile(r"\$ARGUMENTS|\$([1-9]\d*)")
_NUMBERED = re.compile(r"\$([1-9]\d*)")
# opencode's argument split when shlex cannot read the text (an unbalanced quote): quoted runs or bare words.
_LOOSE_ARGS = re.compile(r"\"[^\"]*\"|'[^']*'|[^\s\"']+")
_SHELL = re.compile(r"!`([^`]+)`")
# `@path`, not in the middle of a word (mail addresses) or right after a backtick; a path ends
# before whitespace, quotes, brackets and sentence punctuation.
_FILE_REF = re.compile(r"(?<![\w`@])@((?:~/|\.{1,2}/|/)?[^\s`'\"()\[\]{}<>,;!?]+)")


@dataclass
class Command:
    name: str
    template: str
    description: str | None = None
    agent: str | None = None
    model: str | None = None
    subtask: bool | None = None
    source: str = BUILTIN_SOURCE

    def runs_as_subtask(self, agent: Agent | None) -> bool:
        """Whether the command runs in a child session: `subtask: true`, or a subagent unless `subtask: false`."""
        if self.subtask is not None:
            return self.subtask
        return agent is not None and agent.mode == "subagent"


# --- loading -------------------------------------------------------------------------------


def builtin_commands(root: Path) -> dict[str, Command]:
    """The commands OpenCode ships; `init` names the project root it writes AGENTS.md in."""
    init = prompts.load("commands/init").replace("${path}", str(root))
    return {"init": Command(name="init", template=init, description="create or improve AGENTS.md for this project")}


def _markdown_commands(directory: Path) -> Iterator[tuple[str, Path]]:
    for folder in ("command", "commands"):
        base = directory / folder
        if base.is_dir():
            for path in sorted(p for p in base.rglob("*.md") if p.is_file()):
                yield path.relative_to(base).with_suffix("").as_posix(), path


def _from_markdown(name: str, path: Path) -> Command:
    data, body = parse_markdown(path)
    fields: dict[str, Any] = {key: data[key] for key in ("description", "agent", "model", "subtask") if key in data}
    fields["template"] = body.strip() or data.get("template", "")
    try:
        conf = CommandConfig.model_validate(fields)
    except ValidationError as exc:
        raise AgentError(
            [
                f"{path}: {render_path(at) or 'front matter'}: {message}"
                for at, message in describe_issues(exc.errors(), fields)
            ]
        ) from None
    return _command(name, conf, str(path))


def _command(name: str, conf: CommandConfig, source: str) -> Command:
    return Command(
        name=name,
        template=conf.template,
        description=conf.description,
        agent=conf.agent,
        model=conf.model,
        subtask=conf.subtask,
        source=source,
    )


def load_commands(config: Config, cwd: Path, root: Path, *, config_dir: Path | None = None) -> dict[str, Command]:
    """Every command for a session in `cwd`; see the module docstring. Raises AgentError for a bad file."""
    commands = builtin_commands(root)
    for directory in config_dirs(cwd, root, config_dir):
        for name, path in _markdown_commands(directory):
            commands[name] = _from_markdown(name, path)
    for name, conf in (config.command or {}).items():
        commands[name] = _command(name, conf, f"config: command.{name}")
    return commands


def mcp_commands(engine: Any) -> dict[str, Command]:
    """The prompts of the engine's connected MCP servers as commands `server:prompt` (run with
    `opencode.agent.actions.command_turn`; their arguments are the prompt's, in declared order)."""
    manager = engine.mcp
    if manager is None:
        return {}
    with contextlib.suppress(RuntimeError):  # outside an event loop the servers are not started here
        asyncio.get_running_loop()
        manager.start()
    found: dict[str, Command] = {}
    for prompt in manager.prompts():
        usage = " ".join(f"<{name}>" if required else f"[{name}]" for name, required in prompt.arguments)
        described = " ".join(part for part in (prompt.description, usage) if part)
        found[prompt.command] = Command(
            name=prompt.command, template="", description=described or None, source=f"mcp:{prompt.server}"
        )
    return found


# --- expansion -----------------------------------------------------------------------------


def split_arguments(arguments: str) -> list[str]:
    """Shell-like words (quotes group and are removed; backslashes stay, as Windows paths need them)."""
    lexer = shlex.shlex(arguments, posix=True)
    lexer.whitespace_split = True
    lexer.escape = ""
    try:
        return list(lexer)
    except ValueError:
        return [word.strip("\"'") for word in _LOOSE_ARGS.findall(arguments)]


def substitute(template: str, arguments: str) -> str:
    """`$ARGUMENTS` and `$1..$n` filled in, in one pass (an argument holding `$2` stays as typed)."""
    words = split_arguments(arguments)
    numbers = [int(found) for found in _NUMBERED.findall(template)]
    last = max(numbers, default=0)

    def fill(match: re.Match[str]) -> str:
        if match.group(1) is None:
            return arguments
        index = int(match.group(1)) - 1
        if index >= len(words):
            return ""
        # The highest numbered marker takes the rest, so "$1 $2" with "fix the login bug" reads naturally.
        return " ".join(words[index:]) if index + 1 == last else words[index]

    text = _PLACEHOLDER.sub(fill, template)
    if not numbers and "$ARGUMENTS" not in template and arguments.strip():
        text = f"{text}\n\n{arguments}"
    return text


async def expand(command: Command, arguments: str, *, cwd: Path) -> str:
    """The prompt a command sends: arguments, shell output and file contents filled in (see the module docstring)."""
    text = substitute(command.template, arguments)
    shell_calls = list(_SHELL.finditer(text))
    outputs = await asyncio.gather(*(run_shell(match.group(1), cwd) for match in shell_calls))
    return await asyncio.to_thread(_assemble, text, shell_calls, outputs, cwd)


def _assemble(text: str, shell_calls: list[re.Match[str]], outputs: list[str], cwd: Path) -> str:
    """The text with shell outputs in place and file references read (outside the shell outputs only)."""
    pieces: list[str] = []
    included: set[Path] = set()
    position = 0
    for match, output in zip(shell_calls, outputs, strict=True):
        pieces += [_include_files(text[position : match.start()], cwd, included), output]
        position = match.end()
    pieces.append(_include_files(text[position:], cwd, included))
    return "".join(pieces).strip()


def _include_files(text: str, cwd: Path, included: set[Path]) -> str:
    def replace(match: re.Match[str]) -> str:
        reference = match.group(1).rstrip(".:")
        rest = match.group(1)[len(reference) :]
        path = Path(reference).expanduser()
        path = (path if path.is_absolute() else cwd / path).resolve()
        if not path.is_file():
            return match.group(0)
        if path in included:  # the content is already in the prompt once
            return reference + rest
        block = _file_block(path)
        if block is None:
            return match.group(0)
        included.add(path)
        return f"{reference}\n\n{block}\n{rest}"

    return _FILE_REF.sub(replace, text)


def _file_block(path: Path) -> str | None:
    """The file in a fenced block (a fence longer than any backtick run inside); None for a binary file."""
    try:
        with path.open("rb") as handle:
            data = handle.read(FILE_CAP + 1)
    except OSError:
        return None
    if b"\0" in data[:8192]:
        return None
    content = data[:FILE_CAP].decode("utf-8", errors="replace")
    if len(data) > FILE_CAP:
        content += f"\n... (cut at {FILE_CAP // 1024} KB; read the file for the rest)"
    longest = max((len(run) for run in re.findall(r"`+", content)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{path.suffix.lstrip('.')}\n{content.rstrip(chr(10))}\n{fence}"


async def run_shell(command: str, cwd: Path, *, timeout: float = SHELL_TIMEOUT, cap: int = OUTPUT_CAP) -> str:
    """The output of `command` run with bash in `cwd`, for a template.

    Success gives stdout; a failure gives stdout, stderr and the exit code; a run past `timeout`
    is killed (its whole process group) and says so. Output past `cap` bytes is cut, and a
    command still writing then is stopped, so a runaway command costs neither time nor memory."""
    shell = shutil.which("bash") or "/bin/sh"
    try:
        process = await asyncio.create_subprocess_exec(
            shell,
            "-c",
            command,
            cwd=cwd,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            start_new_session=True,
        )
    except OSError as exc:
        return f"(`{command}` could not start: {exc.strerror or exc})"
    buffers = {"out": bytearray(), "err": bytearray()}
    cut = False

    async def collect(stream: asyncio.StreamReader | None, key: str) -> None:
        nonlocal cut
        buffer = buffers[key]
        while stream is not None:
            chunk = await stream.read(65536)
            if not chunk:
                return
            room = cap - len(buffers["out"]) - len(buffers["err"])
            buffer += chunk[: max(room, 0)]
            if len(chunk) > room:
                cut = True
                _kill(process)
                return

    async def exited() -> None:
        # Not `process.wait()`: asyncio's waits for the pipes to close too, which a background child can delay.
        while process.returncode is None:  # noqa: ASYNC110 (no event fires on exit alone)
            await asyncio.sleep(0.02)

    readers = asyncio.gather(collect(process.stdout, "out"), collect(process.stderr, "err"))
    timed_out = False
    try:
        try:
            await asyncio.wait_for(exited(), timeout)
        except TimeoutError:
            timed_out = True
            _kill(process)
        # The shell has ended, but a child it left in the background can hold the pipes open.
        try:
            await asyncio.wait_for(asyncio.shield(readers), DRAIN_GRACE)
        except TimeoutError:
            _kill(process)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(readers), DRAIN_GRACE)
    finally:
        readers.cancel()
        if process.returncode is None:
            _kill(process)
        with contextlib.suppress(TimeoutError, ProcessLookupError):
            await asyncio.wait_for(process.wait(), DRAIN_GRACE)
        close_pipes(process)
    out = buffers["out"].decode("utf-8", errors="replace").rstrip("\n")
    err = buffers["err"].decode("utf-8", errors="replace").rstrip("\n")
    if cut:
        return (out or err) + f"\n... (output cut at {cap // 1024} KB)"
    if timed_out:
        return _joined(out, err) + f"\n(`{command}` timed out after {timeout:g} s)"
    if process.returncode == 0:
        return out
    return _joined(out, err) + f"\n(`{command}` failed with exit code {process.returncode})"


def _joined(*parts: str) -> str:
    return "\n".join(part for part in parts if part)


def _kill(process: asyncio.subprocess.Process) -> None:
    """Kill the command's whole process group: `!`make test`` leaves children behind otherwise."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        if hasattr(os, "killpg"):
            os.killpg(process.pid, signal.SIGKILL)
        else:
            process.kill()
