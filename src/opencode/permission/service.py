"""The permission service: decides each tool call's request, and runs the ask flow.

    service = PermissionService(bus, root, interactive=True)
    ctx.ask = service.asker(ruleset, session_id=..., message_id=..., call_id=...)

`ask(request, ruleset=...)` returns when the call may go ahead and raises `ToolError` when it may
not; the model reads the message. In order:

1. The request's own verdict: for `bash` every simple command in the command line
   (`opencode.permission.bash`), for other permissions each of the request's patterns (paths are
   matched relative to the project root and absolute). A deny stops here, naming the rule; the
   user is never asked about something a rule denies.
2. Paths outside the project root, after resolving `..` and symlinks: the file tools' path
   (`metadata["filePath"|"path"]` or the pattern), bash's `workdir` and the path arguments of
   file commands such as `rm` and `cp` (`PATH_COMMANDS`) need `external_directory` (ask by
   default). Tool output the registry saved (`safe_dirs`) does not.
3. What is left to ask: an "always" answer given earlier in the session for a matching pattern
   allows it; otherwise `permission.asked` is published and the call waits for `reply()` from a
   face (once / always / reject), or for the `prompt` callback (the CLI's terminal prompt). With
   neither (`interactive=False`, no prompt) the ask is refused at once, and the message tells the
   model which rule the user could add to allow it.

A reject also rejects the session's other pending asks (opencode does the same: the user said
no to what the model is doing). `reject_session` rejects them all when a run is aborted.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from opencode import id as ids
from opencode.bus import Bus, PermissionAsked, PermissionReplied, ToolRef
from opencode.permission.rules import GLOBAL_LAYER, Rule, Ruleset, Verdict, wildcard_match
from opencode.tool.tool import Ask, PermissionRequest, ToolError

Reply = Literal["once", "always", "reject"]

PATH_PERMISSIONS = frozenset({"read", "edit", "write", "list"})
"""Permissions whose patterns are file paths."""
PATH_COMMANDS = frozenset(
    {"cd", "rm", "rmdir", "cp", "mv", "mkdir", "touch", "chmod", "chown", "chgrp", "ln", "tee", "truncate", "shred"}
)
"""Shell commands whose operands are paths, checked against `external_directory` like a tool's path."""
HARMLESS_PATHS = frozenset({"/dev/null", "/dev/stdout", "/dev/stderr", "/dev/stdin", "/dev/tty"})

_NOT_DONE = {"bash": "the command was not run", "edit": "the file was not changed", "read": "the file was not read"}


@dataclass(frozen=True)
class Answer:
    """A face's or the terminal's reply to an ask."""

    reply: Reply
    message: str | None = None


Prompt = Callable[[PermissionAsked], Awaitable[Answer]]


@dataclass
class _Item:
    """One thing to approve: its spellings for matching "always" rules (empty: never remembered)."""

    spellings: list[str]
    always: list[str]


@dataclass
class _Pending:
    info: PermissionAsked
    items: list[_Item]
    future: asyncio.Future[Answer]


@dataclass
class _Ask:
    """What step 3 asks about, with the verdict behind it."""

    permission: str
    verdict: Verdict
    items: list[_Item]
    title: str
    metadata: dict[str, object]
    patterns: list[str] = field(default_factory=list)
    tool_permission: str = ""
    """The permission of the request it came from (edit, for an external_directory ask from write)."""

    @property
    def not_done(self) -> str:
        return _NOT_DONE.get(self.tool_permission or self.permission, "the tool call was not carried out")


class PermissionService:
    def __init__(
        self,
        bus: Bus,
        root: Path,
        *,
        prompt: Prompt | None = None,
        interactive: bool = False,
        safe_dirs: Iterable[Path] = (),
    ) -> None:
        self.bus = bus
        self.root = root.resolve()
        self.prompt = prompt
        self.interactive = interactive
        """True when a face will answer asks with `reply()`; otherwise they are refused at once."""
        self.safe_dirs = [path.resolve() for path in safe_dirs]
        self._pending: dict[str, _Pending] = {}
        self._approved: dict[str, list[Rule]] = {}
        self._prompt_lock = asyncio.Lock()

    # --- the flow ----------------------------------------------------------------------------

    def asker(self, ruleset: Ruleset, *, session_id: str, message_id: str = "", call_id: str = "") -> Ask:
        """`ask` bound to one tool call, the shape `ToolContext.ask` takes."""

        async def ask(request: PermissionRequest) -> None:
            await self.ask(request, ruleset=ruleset, session_id=session_id, message_id=message_id, call_id=call_id)

        return ask

    async def ask(
        self,
        request: PermissionRequest,
        *,
        ruleset: Ruleset,
        session_id: str,
        message_id: str = "",
        call_id: str = "",
    ) -> None:
        tool = ToolRef(messageID=message_id, callID=call_id) if message_id or call_id else None
        own = self._bash(request, ruleset) if request.permission == "bash" else self._plain(request, ruleset)
        if own.verdict.action == "deny":
            raise ToolError(_denied(own.verdict, request.permission))
        for path in self._external_paths(request):
            external = self._external(path, ruleset)
            if external.verdict.action == "deny":
                raise ToolError(_denied(external.verdict, request.permission))
            if external.verdict.action == "ask":
                external.tool_permission = request.permission
                await self._settle(external, session_id, tool, ruleset)
        if own.verdict.action == "ask":
            await self._settle(own, session_id, tool, ruleset)

    def explain(self, request: PermissionRequest, ruleset: Ruleset) -> list[tuple[str, Verdict]]:
        """What `ask` would decide, without asking: each checked part with its verdict (a dry run)."""
        lines: list[tuple[str, Verdict]] = []
        if request.permission == "bash":
            from opencode.permission.bash import explain_bash

            command = str(request.metadata.get("command") or (request.patterns[0] if request.patterns else ""))
            for part, verdict in explain_bash(ruleset, command):
                label = part.text if not part.via else f"{part.text}  [via {' > '.join(part.via)}]"
                lines.append((label, verdict))
            if not lines:
                lines.append((command, ruleset.evaluate("bash", command.strip())))
        else:
            for pattern in request.patterns or ["*"]:
                spellings = self._spellings(pattern) if request.permission in PATH_PERMISSIONS else [pattern]
                lines.append((pattern, ruleset.evaluate(request.permission, spellings)))
        for path in self._external_paths(request):
            lines.append((f"outside the project: {path}", self._external(path, ruleset).verdict))
        return lines

    def reply(self, request_id: str, reply: Reply, message: str | None = None) -> bool:
        """A face's answer to a pending ask; False when no such ask is pending (already answered)."""
        pending = self._pending.pop(request_id, None)
        if pending is None:
            return False
        session_id = pending.info.sessionID
        self.bus.publish(PermissionReplied(sessionID=session_id, requestID=request_id, reply=reply))
        if not pending.future.done():
            pending.future.set_result(Answer(reply, message))
        if reply == "reject":
            self.reject_session(session_id)
        elif reply == "always":
            approved = self._approved.setdefault(session_id, [])
            for pattern in pending.info.always:
                approved.append(Rule(pending.info.permission, pattern, "allow", "this session", "always"))
            # Asks that the new approval covers need no answer of their own.
            for other in [p for p in self._pending.values() if p.info.sessionID == session_id]:
                if self._covered(session_id, other.info.permission, other.items):
                    self.reply(other.info.id, "always")
        return True

    def pending(self, session_id: str | None = None) -> list[PermissionAsked]:
        return [p.info for p in self._pending.values() if session_id is None or p.info.sessionID == session_id]

    def reject_session(self, session_id: str) -> int:
        """Reject every pending ask of the session (the run was aborted); returns how many."""
        waiting = [p for p in self._pending.values() if p.info.sessionID == session_id]
        for pending in waiting:
            self.reply(pending.info.id, "reject")
        return len(waiting)

    def forget_session(self, session_id: str) -> None:
        """Drop the session's "always" approvals."""
        self._approved.pop(session_id, None)

    # --- step 1: the request's own verdict -------------------------------------------------------

    def _bash(self, request: PermissionRequest, ruleset: Ruleset) -> _Ask:
        from opencode.permission.bash import always_pattern, explain_bash

        command = str(request.metadata.get("command") or (request.patterns[0] if request.patterns else ""))
        explained = explain_bash(ruleset, command)
        metadata: dict[str, object] = dict(request.metadata)
        if not explained:
            verdict = ruleset.evaluate("bash", command.strip())
            return _Ask("bash", verdict, [_Item([command.strip()], [])], request.title, metadata, [command])
        verdicts = [verdict for _, verdict in explained]
        worst = next((v for v in verdicts if v.action == "deny"), None) or next(
            (v for v in verdicts if v.action == "ask"), verdicts[0]
        )
        items: list[_Item] = []
        for part, verdict in explained:
            if verdict.action != "ask":
                continue
            always = [] if part.unknown else [always_pattern(part.words)]
            items.append(_Item([] if part.unknown else part.subjects(), always))
        patterns = list(dict.fromkeys(p.text for p, v in explained if v.action == "ask")) or [command]
        return _Ask("bash", worst, items, request.title or command, metadata, patterns)

    def _plain(self, request: PermissionRequest, ruleset: Ruleset) -> _Ask:
        permission = request.permission
        items: list[_Item] = []
        verdicts: list[Verdict] = []
        for pattern in request.patterns or ["*"]:
            spellings = self._spellings(pattern) if permission in PATH_PERMISSIONS else [pattern]
            verdict = ruleset.evaluate(permission, spellings)
            verdicts.append(verdict)
            if verdict.action == "ask":
                items.append(_Item(spellings, list(request.always)))
        worst = next((v for v in verdicts if v.action == "deny"), None) or next(
            (v for v in verdicts if v.action == "ask"), verdicts[0]
        )
        patterns = list(request.patterns)
        return _Ask(permission, worst, items, request.title, dict(request.metadata), patterns)

    def _spellings(self, pattern: str) -> list[str]:
        """A path as rules may name it: as given, absolute, and relative to the project root."""
        resolved = self._resolve(pattern, self.root)
        spellings = [pattern, str(resolved)]
        if resolved.is_relative_to(self.root):
            spellings.append(resolved.relative_to(self.root).as_posix() or ".")
        return list(dict.fromkeys(spellings))

    # --- step 2: paths outside the project ----------------------------------------------------

    def _external_paths(self, request: PermissionRequest) -> list[Path]:
        candidates: list[Path] = []
        for key in ("filePath", "path", "workdir"):
            value = request.metadata.get(key)
            if isinstance(value, str) and value:
                candidates.append(self._resolve(value, self.root))
        if request.permission in PATH_PERMISSIONS:
            candidates += [self._resolve(pattern, self.root) for pattern in request.patterns if pattern != "*"]
        if request.permission == "bash":
            candidates += self._command_paths(request)
        outside = [path for path in dict.fromkeys(candidates) if self._outside(path)]
        # One ask per directory: `always` for it covers the rest.
        by_dir: dict[Path, Path] = {}
        for path in outside:
            by_dir.setdefault(_directory(path), path)
        return list(by_dir.values())

    def _command_paths(self, request: PermissionRequest) -> list[Path]:
        """Operands of file commands (rm, cp, cd...) in a bash command line, resolved from its workdir."""
        from opencode.permission.bash import parse_command

        command = str(request.metadata.get("command") or (request.patterns[0] if request.patterns else ""))
        given = request.metadata.get("workdir")
        workdir = self._resolve(given, self.root) if isinstance(given, str) and given else self.root
        found: list[Path] = []
        for part in parse_command(command):
            if part.unknown or part.name not in PATH_COMMANDS:
                continue
            for operand in part.words[1:]:
                if operand.startswith("-") or "$" in operand or "`" in operand or operand in HARMLESS_PATHS:
                    continue
                found.append(self._resolve(operand, workdir))
        return found

    def _outside(self, path: Path) -> bool:
        if str(path) in HARMLESS_PATHS or path.is_relative_to(self.root):
            return False
        return not any(path.is_relative_to(safe) for safe in self.safe_dirs)

    def _external(self, path: Path, ruleset: Ruleset) -> _Ask:
        directory = _directory(path)
        pattern = str(directory / "*")
        verdict = ruleset.evaluate("external_directory", [str(path), str(directory), pattern])
        metadata: dict[str, object] = {"filepath": str(path), "parentDir": str(directory)}
        item = _Item([str(path), str(directory), pattern], [pattern])
        title = f"Access {path}, outside the project"
        return _Ask("external_directory", verdict, [item], title, metadata, [pattern])

    @staticmethod
    def _resolve(text: str, base: Path) -> Path:
        path = Path(os.path.expanduser(text))
        if not path.is_absolute():
            path = base / path
        # resolve() follows symlinks and folds `..`, so a link inside the project that points
        # outside it is seen for what it is.
        return path.resolve(strict=False)

    # --- step 3: asking ----------------------------------------------------------------------

    def _covered(self, session_id: str, permission: str, items: list[_Item]) -> bool:
        approved = [rule for rule in self._approved.get(session_id, []) if rule.applies_to(permission)]
        return bool(items) and all(
            item.spellings and any(wildcard_match(text, rule.pattern) for rule in approved for text in item.spellings)
            for item in items
        )

    async def _settle(self, ask: _Ask, session_id: str, tool: ToolRef | None, ruleset: Ruleset) -> None:
        if self._covered(session_id, ask.permission, ask.items):
            return
        always = list(dict.fromkeys(pattern for item in ask.items for pattern in item.always))
        info = PermissionAsked(
            id=ids.ascending("per"),
            sessionID=session_id,
            permission=ask.permission,
            patterns=ask.patterns,
            metadata=ask.metadata,
            always=always,
            tool=tool,
        )
        if self.prompt is None and not self.interactive:
            self.bus.publish(info)
            self.bus.publish(PermissionReplied(sessionID=session_id, requestID=info.id, reply="reject"))
            raise ToolError(_unanswerable(ask, ruleset))
        future: asyncio.Future[Answer] = asyncio.get_running_loop().create_future()
        self._pending[info.id] = _Pending(info, ask.items, future)
        try:
            self.bus.publish(info)
            if self.prompt is not None:
                # One question on the terminal at a time, even when tools run concurrently.
                async with self._prompt_lock:
                    if not future.done():
                        try:
                            answer = await self.prompt(info)
                        except EOFError:
                            answer = Answer("reject", "no answer: the terminal closed")
                        self.reply(info.id, answer.reply, answer.message)
            answer = await future
        finally:
            if self._pending.pop(info.id, None) is not None:
                # Cancelled while waiting: tell the faces the question is gone.
                self.bus.publish(PermissionReplied(sessionID=session_id, requestID=info.id, reply="reject"))
        if answer.reply == "reject":
            raise ToolError(_rejected(ask, answer.message))


def _directory(path: Path) -> Path:
    return path if path.is_dir() else path.parent


def _denied(verdict: Verdict, permission: str) -> str:
    part = f" ({verdict.subject})" if verdict.subject else ""
    not_done = _NOT_DONE.get(permission, "the tool call was not carried out")
    return f"Blocked by permission rule {verdict.sentence}{part}; {not_done}."


def _rejected(ask: _Ask, message: str | None) -> str:
    text = f"The user rejected permission for {ask.title}; {ask.not_done}."
    if message:
        text += f" The user said: {message}"
    return text


def _unanswerable(ask: _Ask, ruleset: Ruleset) -> str:
    """Why an ask was refused without a face, and the rule that would allow it next time."""
    head = (
        f"{ask.title} needs approval ({ask.verdict.description}), and this session cannot ask the user, "
        f"so it was refused; {ask.not_done}."
    )
    patterns = [pattern for item in ask.items for pattern in item.always]
    if not patterns or any(not item.always for item in ask.items):
        return head + (
            " Part of it cannot be checked, so no rule can allow it: write it as plain commands whose names are "
            "literal words, or ask the user to run it."
        )
    rules = {pattern: "allow" for pattern in dict.fromkeys(patterns)}
    suggestion = json.dumps({"permission": {ask.permission: rules}})
    extra = [Rule(ask.permission, pattern, "allow", "suggested", "", GLOBAL_LAYER, 1 << 30) for pattern in rules]
    trial = ruleset.with_rules(extra)
    if any(trial.evaluate(ask.permission, item.spellings).action != "allow" for item in ask.items):
        return head + f" A more specific rule asks ({ask.verdict.description}); the user would have to change it."
    return head + f" To allow it, the user can add to opencode.json: {suggestion}"
