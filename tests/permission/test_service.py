"""The permission service: denies as tool errors, the ask flow on the bus, external paths."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from opencode.bus import Bus, BusEvent, PermissionAsked, PermissionReplied
from opencode.permission.rules import Ruleset
from opencode.permission.service import Answer, PermissionService
from opencode.tool.bash import BashParams, BashTool
from opencode.tool.read import ReadParams, ReadTool
from opencode.tool.tool import PermissionRequest, ToolContext, ToolError
from opencode.tool.write import WriteParams, WriteTool

SESSION = "ses_a"


class Recorder:
    """Bus events as they are published, and a way to wait for the next ask."""

    def __init__(self, bus: Bus) -> None:
        self.events: list[BusEvent] = []
        self._asked = asyncio.Event()
        bus.on(self._seen)

    def _seen(self, event: BusEvent) -> None:
        self.events.append(event)
        if isinstance(event, PermissionAsked):
            self._asked.set()

    @property
    def asked(self) -> list[PermissionAsked]:
        return [e for e in self.events if isinstance(e, PermissionAsked)]

    @property
    def replied(self) -> list[PermissionReplied]:
        return [e for e in self.events if isinstance(e, PermissionReplied)]

    async def next_ask(self) -> PermissionAsked:
        await asyncio.wait_for(self._asked.wait(), 5)
        self._asked.clear()
        return self.asked[-1]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    root.mkdir()
    return root.resolve()


@pytest.fixture
def bus() -> Bus:
    return Bus()


@pytest.fixture
def recorder(bus: Bus) -> Recorder:
    return Recorder(bus)


def bash(command: str, workdir: str | None = None) -> PermissionRequest:
    metadata = {"command": command, "description": ""}
    if workdir is not None:
        metadata["workdir"] = workdir
    return PermissionRequest("bash", [command], command, metadata, [f"{command.split()[0]} *"])


def context(project: Path, service: PermissionService, ruleset: Ruleset, tmp_path: Path) -> ToolContext:
    ctx = ToolContext(
        session_id=SESSION,
        message_id="msg_1",
        call_id="call_1",
        agent="build",
        root=project,
        cwd=project,
        data_dir=tmp_path / "data",
    )
    ctx.ask = service.asker(ruleset, session_id=SESSION, message_id="msg_1", call_id="call_1")
    return ctx


async def test_deny_raises_naming_the_rule_and_the_command_is_not_run(
    project: Path, bus: Bus, recorder: Recorder, tmp_path: Path
) -> None:
    (project / "x").mkdir()
    service = PermissionService(bus, project, interactive=True)
    ctx = context(project, service, Ruleset.from_config({"bash": {"rm *": "deny"}}), tmp_path)
    with pytest.raises(ToolError) as caught:
        await BashTool().run(BashParams(command="echo ok && rm -rf x"), ctx)
    message = str(caught.value)
    assert 'blocked by permission rule permission.bash."rm *" = deny in opencode.json' in message.lower()
    assert "(rm -rf x)" in message
    assert "the command was not run" in message
    assert (project / "x").is_dir()
    assert recorder.events == []  # a denied call is never put to the user


async def test_ask_publishes_and_resumes_on_reply_once(project: Path, bus: Bus, recorder: Recorder) -> None:
    service = PermissionService(bus, project, interactive=True)
    rules = Ruleset.from_config({"bash": {"git push*": "ask"}})
    task = asyncio.create_task(
        service.ask(bash("git push origin"), ruleset=rules, session_id=SESSION, message_id="msg_1", call_id="c1")
    )
    asked = await recorder.next_ask()
    assert asked.type == "permission.asked"
    assert asked.id.startswith("per_")
    assert asked.sessionID == SESSION
    assert asked.permission == "bash"
    assert asked.patterns == ["git push origin"]
    assert asked.always == ["git push *"]
    assert asked.tool is not None and asked.tool.callID == "c1"
    assert [p.id for p in service.pending()] == [asked.id]
    assert not task.done()

    assert service.reply(asked.id, "once") is True
    await asyncio.wait_for(task, 5)
    assert recorder.replied[-1].reply == "once"
    assert service.pending() == []
    # "once" is not remembered.
    again = asyncio.create_task(service.ask(bash("git push origin"), ruleset=rules, session_id=SESSION))
    second = await recorder.next_ask()
    service.reply(second.id, "once")
    await again


async def test_always_is_remembered_for_that_pattern_in_that_session_only(
    project: Path, bus: Bus, recorder: Recorder
) -> None:
    service = PermissionService(bus, project, interactive=True)
    rules = Ruleset.from_config({"bash": {"git *": "ask"}})
    first = asyncio.create_task(service.ask(bash("git push origin main"), ruleset=rules, session_id=SESSION))
    asked = await recorder.next_ask()
    service.reply(asked.id, "always")
    await first

    await service.ask(bash("git push upstream dev"), ruleset=rules, session_id=SESSION)  # no new ask
    assert len(recorder.asked) == 1

    other_pattern = asyncio.create_task(service.ask(bash("git status"), ruleset=rules, session_id=SESSION))
    asked = await recorder.next_ask()
    assert asked.patterns == ["git status"]
    service.reply(asked.id, "once")
    await other_pattern

    other_session = asyncio.create_task(service.ask(bash("git push origin"), ruleset=rules, session_id="ses_b"))
    asked = await recorder.next_ask()
    assert asked.sessionID == "ses_b"
    service.reply(asked.id, "reject")
    with pytest.raises(ToolError):
        await other_session


async def test_always_never_overrides_a_deny(project: Path, bus: Bus, recorder: Recorder) -> None:
    service = PermissionService(bus, project, interactive=True)
    rules = Ruleset.from_config({"bash": {"git *": "ask", "git push --force*": "deny"}})
    first = asyncio.create_task(service.ask(bash("git push origin"), ruleset=rules, session_id=SESSION))
    service.reply((await recorder.next_ask()).id, "always")
    await first
    with pytest.raises(ToolError, match="deny"):
        await service.ask(bash("git push --force origin"), ruleset=rules, session_id=SESSION)


async def test_reject_raises_with_the_users_message(project: Path, bus: Bus, recorder: Recorder) -> None:
    service = PermissionService(bus, project, interactive=True)
    rules = Ruleset.from_config({"bash": "ask"})
    task = asyncio.create_task(service.ask(bash("make deploy"), ruleset=rules, session_id=SESSION))
    asked = await recorder.next_ask()
    service.reply(asked.id, "reject", "run the tests first")
    with pytest.raises(ToolError) as caught:
        await task
    assert "The user rejected permission for make deploy" in str(caught.value)
    assert "The user said: run the tests first" in str(caught.value)
    assert recorder.replied[-1].reply == "reject"


async def test_a_reject_rejects_the_sessions_other_pending_asks(project: Path, bus: Bus, recorder: Recorder) -> None:
    service = PermissionService(bus, project, interactive=True)
    rules = Ruleset.from_config({"bash": "ask"})
    first = asyncio.create_task(service.ask(bash("make a"), ruleset=rules, session_id=SESSION))
    asked = await recorder.next_ask()
    second = asyncio.create_task(service.ask(bash("make b"), ruleset=rules, session_id=SESSION))
    await recorder.next_ask()
    service.reply(asked.id, "reject")
    for task in (first, second):
        with pytest.raises(ToolError, match="rejected"):
            await task
    assert service.pending() == []


async def test_always_answers_other_pending_asks_it_covers(project: Path, bus: Bus, recorder: Recorder) -> None:
    service = PermissionService(bus, project, interactive=True)
    rules = Ruleset.from_config({"bash": "ask"})
    first = asyncio.create_task(service.ask(bash("npm run test"), ruleset=rules, session_id=SESSION))
    asked = await recorder.next_ask()
    second = asyncio.create_task(service.ask(bash("npm run test -- -k x"), ruleset=rules, session_id=SESSION))
    await recorder.next_ask()
    service.reply(asked.id, "always")
    await asyncio.wait_for(asyncio.gather(first, second), 5)
    assert [r.reply for r in recorder.replied] == ["always", "always"]


async def test_non_interactive_ask_is_refused_with_the_rule_to_add(project: Path, bus: Bus, recorder: Recorder) -> None:
    service = PermissionService(bus, project)
    rules = Ruleset.from_config({"bash": {"git push*": "ask"}})
    with pytest.raises(ToolError) as caught:
        await service.ask(bash("git push origin main"), ruleset=rules, session_id=SESSION)
    message = str(caught.value)
    assert 'opencode.json permission.bash."git push*"' in message
    assert "cannot ask the user" in message
    suggestion = json.dumps({"permission": {"bash": {"git push *": "allow"}}})
    assert suggestion in message
    # The suggestion works.
    fixed = Ruleset.from_config({"bash": {"git push*": "ask", "git push *": "allow"}})
    await service.ask(bash("git push origin main"), ruleset=fixed, session_id=SESSION)
    assert [r.reply for r in recorder.replied] == ["reject"]


async def test_non_interactive_unknown_command_cannot_be_allowed_by_a_rule(project: Path, bus: Bus) -> None:
    service = PermissionService(bus, project)
    with pytest.raises(ToolError) as caught:
        await service.ask(bash("x=ls; $x -la"), ruleset=Ruleset.from_config(None), session_id=SESSION)
    assert "cannot be checked" in str(caught.value)
    assert "literal words" in str(caught.value)


async def test_prompt_callback_answers_instead_of_a_face(project: Path, bus: Bus, recorder: Recorder) -> None:
    seen: list[PermissionAsked] = []

    async def prompt(info: PermissionAsked) -> Answer:
        seen.append(info)
        return Answer("reject", "not now") if "deploy" in info.patterns[0] else Answer("once")

    service = PermissionService(bus, project, prompt=prompt)
    rules = Ruleset.from_config({"bash": "ask"})
    await service.ask(bash("make test"), ruleset=rules, session_id=SESSION)
    with pytest.raises(ToolError, match="not now"):
        await service.ask(bash("make deploy"), ruleset=rules, session_id=SESSION)
    assert [info.patterns for info in seen] == [["make test"], ["make deploy"]]
    assert [r.reply for r in recorder.replied] == ["once", "reject"]


async def test_reject_session_rejects_every_pending_ask_of_that_session(
    project: Path, bus: Bus, recorder: Recorder
) -> None:
    service = PermissionService(bus, project, interactive=True)
    rules = Ruleset.from_config({"bash": "ask"})
    mine = asyncio.create_task(service.ask(bash("make a"), ruleset=rules, session_id=SESSION))
    await recorder.next_ask()
    theirs = asyncio.create_task(service.ask(bash("make b"), ruleset=rules, session_id="ses_other"))
    other = await recorder.next_ask()
    assert service.reject_session(SESSION) == 1
    with pytest.raises(ToolError):
        await mine
    assert [p.id for p in service.pending()] == [other.id]
    service.reply(other.id, "once")
    await theirs


# --- paths outside the project ------------------------------------------------------------------


@pytest.mark.parametrize("how", ["dotdot", "symlink"])
async def test_writing_outside_the_project_is_asked_and_a_reject_leaves_it_untouched(
    how: str, project: Path, bus: Bus, recorder: Recorder, tmp_path: Path
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "keep.txt").write_text("precious\n")
    if how == "symlink":
        (project / "link").symlink_to(outside, target_is_directory=True)
        prefix = "link"
    else:
        prefix = "../outside"
    service = PermissionService(bus, project, interactive=True)
    ctx = context(project, service, Ruleset.from_config(None), tmp_path)
    ctx.file_times.record((outside / "keep.txt").resolve(), b"precious\n")

    for name in ("keep.txt", "new.txt"):
        task = asyncio.create_task(WriteTool().run(WriteParams(filePath=f"{prefix}/{name}", content="changed\n"), ctx))
        asked = await recorder.next_ask()
        assert asked.permission == "external_directory"
        assert asked.metadata["filepath"] == str((outside / name).resolve())
        assert asked.patterns == [str(outside.resolve() / "*")]
        service.reply(asked.id, "reject")
        with pytest.raises(ToolError, match="the file was not changed"):
            await task
    assert (outside / "keep.txt").read_text() == "precious\n"
    assert not (outside / "new.txt").exists()

    # Allowed once, the write goes ahead.
    task = asyncio.create_task(WriteTool().run(WriteParams(filePath=f"{prefix}/new.txt", content="ok\n"), ctx))
    service.reply((await recorder.next_ask()).id, "once")
    await task
    assert (outside / "new.txt").read_text() == "ok\n"


async def test_inside_the_project_nothing_is_asked(project: Path, bus: Bus, recorder: Recorder, tmp_path: Path) -> None:
    service = PermissionService(bus, project)  # non-interactive: any ask would fail
    ctx = context(project, service, Ruleset.from_config(None), tmp_path)
    await WriteTool().run(WriteParams(filePath="sub/../a.txt", content="a\n"), ctx)
    await ReadTool().run(ReadParams(filePath="a.txt"), ctx)
    assert recorder.events == []


async def test_reading_outside_is_asked_and_always_covers_the_directory(
    project: Path, bus: Bus, recorder: Recorder, tmp_path: Path
) -> None:
    outside = tmp_path / "docs"
    outside.mkdir()
    (outside / "a.md").write_text("a\n")
    (outside / "b.md").write_text("b\n")
    service = PermissionService(bus, project, interactive=True)
    ctx = context(project, service, Ruleset.from_config(None), tmp_path)
    task = asyncio.create_task(ReadTool().run(ReadParams(filePath=str(outside / "a.md")), ctx))
    asked = await recorder.next_ask()
    assert asked.permission == "external_directory"
    service.reply(asked.id, "always")
    await task
    await ReadTool().run(ReadParams(filePath=str(outside / "b.md")), ctx)
    assert len(recorder.asked) == 1


async def test_external_directory_rules_apply(project: Path, bus: Bus, tmp_path: Path) -> None:
    outside = (tmp_path / "shared").resolve()
    outside.mkdir()
    service = PermissionService(bus, project)
    allowed = Ruleset.from_config({"external_directory": {f"{outside}/*": "allow"}})
    request = PermissionRequest("read", [str(outside / "x")], "Read x", {"filePath": str(outside / "x")})
    await service.ask(request, ruleset=allowed, session_id=SESSION)
    denied = Ruleset.from_config({"external_directory": "deny"})
    with pytest.raises(ToolError, match=r"permission\.external_directory = deny in opencode.json"):
        await service.ask(request, ruleset=denied, session_id=SESSION)


async def test_bash_workdir_outside_the_project_is_asked(
    project: Path, bus: Bus, recorder: Recorder, tmp_path: Path
) -> None:
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    service = PermissionService(bus, project, interactive=True)
    ctx = context(project, service, Ruleset.from_config(None), tmp_path)
    task = asyncio.create_task(BashTool().run(BashParams(command="touch made", workdir=str(outside)), ctx))
    asked = await recorder.next_ask()
    assert asked.permission == "external_directory"
    assert asked.metadata["filepath"] == str(outside.resolve())
    service.reply(asked.id, "reject")
    with pytest.raises(ToolError, match="the command was not run"):
        await task
    assert not (outside / "made").exists()


async def test_bash_path_arguments_outside_the_project_are_asked(project: Path, bus: Bus, tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("keep\n")
    service = PermissionService(bus, project)
    rules = Ruleset.from_config(None)
    with pytest.raises(ToolError, match="external_directory"):
        await service.ask(bash("rm ../victim.txt", str(project)), ruleset=rules, session_id=SESSION)
    await service.ask(bash("rm inside.txt && cp a.txt /dev/null", str(project)), ruleset=rules, session_id=SESSION)


async def test_explain_is_a_dry_run(project: Path, bus: Bus, recorder: Recorder) -> None:
    service = PermissionService(bus, project)
    lines = service.explain(bash("echo ok && rm x"), Ruleset.from_config({"bash": {"rm *": "deny"}}))
    assert [(label, verdict.action) for label, verdict in lines] == [("echo ok", "allow"), ("rm x", "deny")]
    assert recorder.events == []


async def test_a_cancelled_wait_withdraws_the_question(project: Path, bus: Bus, recorder: Recorder) -> None:
    service = PermissionService(bus, project, interactive=True)
    task = asyncio.create_task(service.ask(bash("make a"), ruleset=Ruleset.from_config("ask"), session_id=SESSION))
    asked = await recorder.next_ask()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert service.pending() == []
    assert recorder.replied[-1].requestID == asked.id
    assert recorder.replied[-1].reply == "reject"
    assert service.reply(asked.id, "once") is False
