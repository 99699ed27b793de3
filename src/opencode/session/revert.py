"""Undo and redo of a session's steps: files back to a snapshot, later messages hidden, and back again.

Contract with the engine (`opencode.agent`):

- At the start of each step, `start = await snapshots.track()`; the hash goes on that step's
  `StepStartPart.snapshot`.
- At the end of the step (in a `finally`, so an aborted or failed step is recorded too),
  `end, files = await record_step(snapshots, start)`; when `files` is not empty, a
  `PatchPart(hash=start, files=files)` goes on the assistant message, and `end` goes on the
  step's `StepFinishPart.snapshot`. Files changed by bash count the same as those from edit tools.
- When a new user message arrives while `session.revert` is set, `cleanup_revert(store, id)` runs
  before the message is stored: the hidden messages are deleted for good and redo is no longer
  possible.
- The history sent to the model, and what the faces show, come from `visible_messages`.
- `revert` and `unrevert` must not run while the session is busy; the engine refuses them then.
- A `SnapshotError` (no git, a pruned snapshot) is for the face to show; it never stops a step.

`revert(store, snapshots, session_id, message_id)` puts back every file changed by the patch parts
of `message_id` and the messages after it, each to its content before the first of those steps
that changed it (the hash of its earliest patch), and hides those messages. Only those files are
touched: the user's own edits elsewhere stay as they are. Before restoring, the work tree is
tracked, and that hash is `Session.revert.snapshot`: `unrevert` puts the same files back to it
(redo). Reverting again while reverted moves the revert point, as opencode does: the pre-revert
snapshot is kept, files of the newly hidden steps are restored, and files only the now visible
steps changed go back to the pre-revert snapshot.

`revert.diff` is the unified diff from the pre-revert state to the reverted one, for the faces.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from opencode.session.model import MessageWithParts, PatchPart, Session, SessionRevert, now_ms
from opencode.session.store import NotFound, Store
from opencode.snapshot.git import Snapshots


class RevertError(Exception):
    """The revert or unrevert cannot be done (unknown message, nothing to unrevert); one line for the user."""


async def record_step(snapshots: Snapshots, start_hash: str) -> tuple[str, list[str]]:
    """The end of a step: track the work tree and list what changed since `start_hash`.
    Returns (end hash, changed files relative to the project root)."""
    end = await snapshots.track()
    files = await snapshots.changed(start_hash, end)
    return end, files


def _index(messages: Sequence[MessageWithParts], message_id: str) -> int | None:
    for i, message in enumerate(messages):
        if message.info.id == message_id:
            return i
    return None


def _hidden(messages: Sequence[MessageWithParts], message_id: str, part_id: str | None) -> list[MessageWithParts]:
    """What a revert at `message_id` (from `part_id` on, when given) takes back: that message, or its
    parts from `part_id` on, and every later message."""
    start = _index(messages, message_id)
    if start is None:
        return []
    first = messages[start]
    cut = _part_index(first, part_id)
    head = [first] if cut is None else [MessageWithParts(info=first.info, parts=first.parts[cut:])]
    return [*head, *messages[start + 1 :]]


def _part_index(message: MessageWithParts, part_id: str | None) -> int | None:
    """Where `part_id` is in `message` (None: no part given, or the first one: the whole message)."""
    if part_id is None:
        return None
    for i, part in enumerate(message.parts):
        if part.id == part_id:
            return i or None
    return None


def _plan(messages: Sequence[MessageWithParts], snapshots: Snapshots) -> dict[str, str]:
    """For each file changed by the patch parts of `messages`, the hash of the earliest patch that
    changed it: the file as it was before the agent first touched it in that range."""
    plan: dict[str, str] = {}
    for message in messages:
        for part in message.parts:
            if isinstance(part, PatchPart):
                for file in part.files:
                    plan.setdefault(snapshots.relative(file), part.hash)
    return plan


async def _restore(snapshots: Snapshots, plan: dict[str, str]) -> None:
    by_hash: dict[str, list[str]] = {}
    for file, hash in plan.items():
        by_hash.setdefault(hash, []).append(file)
    for hash, files in by_hash.items():
        await snapshots.restore(hash, files)


def _session(store: Store, session_id: str) -> Session:
    try:
        return store.get_session(session_id)
    except NotFound as e:
        raise RevertError(str(e)) from None


async def revert(
    store: Store, snapshots: Snapshots, session_id: str, message_id: str, part_id: str | None = None
) -> Session:
    """Undo `message_id` (from its part `part_id` on, when given) and everything after it: files
    restored, messages and parts hidden (see the module doc)."""
    session = _session(store, session_id)
    messages = store.list_messages(session_id)
    start = _index(messages, message_id)
    if start is None:
        raise RevertError(f"message {message_id} is not in session {session_id}")
    if part_id is not None and all(part.id != part_id for part in messages[start].parts):
        raise RevertError(f"part {part_id} is not in message {message_id}")
    if _part_index(messages[start], part_id) is None:
        part_id = None  # its first part: the whole message
    plan = _plan(_hidden(messages, message_id, part_id), snapshots)
    previous = session.revert
    if previous is not None and previous.snapshot:
        # Moving the revert point: the state to come back to stays the one before the first revert.
        pre = previous.snapshot
        for file in _plan(_hidden(messages, previous.messageID, previous.partID), snapshots):
            plan.setdefault(file, pre)
    else:
        pre = await snapshots.track()
    # Fail before touching anything when a snapshot is gone (pruned), rather than half way through.
    await snapshots.verify({pre, *plan.values()})
    # Recorded before the files move, so that a failure part way leaves a session `unrevert` can fix.
    session.revert = SessionRevert(messageID=message_id, partID=part_id, snapshot=pre)
    session.time.updated = now_ms()
    store.put_session(session)
    await _restore(snapshots, plan)
    session.revert.diff = await snapshots.diff(pre)
    store.put_session(session)
    return session


async def unrevert(store: Store, snapshots: Snapshots, session_id: str) -> Session:
    """Redo: the files the revert restored go back to the pre-revert snapshot; the messages show again."""
    session = _session(store, session_id)
    if session.revert is None:
        raise RevertError(f"session {session_id} has no revert to undo")
    if session.revert.snapshot:
        messages = store.list_messages(session_id)
        files = list(_plan(_hidden(messages, session.revert.messageID, session.revert.partID), snapshots))
        await snapshots.restore(session.revert.snapshot, files)
    session.revert = None
    session.time.updated = now_ms()
    store.put_session(session)
    return session


def visible_messages(store: Store, session: Session) -> list[MessageWithParts]:
    """The session's messages without those a revert hides (from `revert.messageID` on, or from its
    part `revert.partID` on)."""
    messages = store.list_messages(session.id)
    if session.revert is None:
        return messages
    cut = _index(messages, session.revert.messageID)
    if cut is None:
        return messages
    first = messages[cut]
    part_cut = _part_index(first, session.revert.partID)
    if part_cut is None:
        return messages[:cut]
    return [*messages[:cut], MessageWithParts(info=first.info, parts=first.parts[:part_cut])]


def cleanup_revert(store: Store, session_id: str, removed: Callable[[str], None] | None = None) -> Session:
    """A new message makes the revert final: delete the hidden messages and clear `Session.revert`;
    `removed(message_id)` is called for each message deleted (the engine publishes `message.removed`)."""
    session = _session(store, session_id)
    if session.revert is None:
        return session
    messages = store.list_messages(session_id)
    cut = _index(messages, session.revert.messageID)
    if cut is not None:
        part_cut = _part_index(messages[cut], session.revert.partID)
        if part_cut is not None:  # the message stays, without the parts from the revert point on
            for part in messages[cut].parts[part_cut:]:
                store.delete_part(session_id, part.messageID, part.id)
            cut += 1
        for message in messages[cut:]:
            store.delete_message(session_id, message.info.id)
            if removed is not None:
                removed(message.info.id)
    session.revert = None
    session.time.updated = now_ms()
    store.put_session(session)
    return session
