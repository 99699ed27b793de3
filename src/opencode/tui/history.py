"""What the chat view shows: a window over a long session, and which session (a parent or a sub-agent's).

    history = History(app)
    await history.load(client.messages(session_id))   # mounts the last WINDOW messages only
    await history.mount_older()                       # the next BATCH older ones (scrolling up does it)
    await history.enter(child_session_id)             # a task block opened: show the child session
    history.leave()                                   # Esc: back to the parent

A 2,000-message session must open at once and keep typing instant, so opening one mounts only its
last `WINDOW` messages; the older ones stay as data and are mounted `BATCH` at a time, on top, when
the view is scrolled to within `NEAR_TOP` lines of its top (what the user was reading stays in
place). Live events only ever touch the newest messages, which are mounted.

A `task` tool block (`TaskBlock`) carries the child session's id in its metadata; Enter or a click
on its title posts `TaskBlock.Open`, the app calls `enter`, and the same chat view shows the child
(its live events arrive with its session id, so the app's session filter lets them in). A trail
above the chat names where the user is; Esc (`leave`) goes back one level.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual.message import Message
from textual.widgets import Static

from opencode.tui.completion import shown_text
from opencode.tui.widgets import AssistantMessageView, ToolBlock, UserMessageView

if TYPE_CHECKING:
    from textual.widgets._collapsible import CollapsibleTitle

    from opencode.session.model import MessageWithParts, ToolPart

WINDOW = 40
"""Messages mounted when a session opens."""
BATCH = 40
"""Older messages mounted each time the view reaches its top."""
NEAR_TOP = 3
"""Lines from the top at which the next batch is mounted."""


def child_session_of(part: ToolPart) -> str:
    """The sub-agent session a finished (or backgrounded) `task` call names ("" when it names none)."""
    metadata = getattr(part.state, "metadata", None) or {}
    value = metadata.get("sessionId")
    return value if part.tool == "task" and isinstance(value, str) else ""


def openable(part: ToolPart) -> bool:
    """A task block opens once its sub-agent runs (found by `History.child_of`) or has run."""
    return part.tool == "task" and (part.state.status == "running" or bool(child_session_of(part)))


class TaskBlock(ToolBlock):
    """A `task` call: Enter or a click on its title opens the sub-agent's session (Esc comes back)."""

    class Open(Message):
        def __init__(self, part: ToolPart) -> None:
            super().__init__()
            self.part = part

    def show(self, part: ToolPart) -> None:
        super().show(part)
        if openable(part):
            self.title = f"{self.title}  [dim](enter: open)[/dim]"

    def _on_collapsible_title_toggle(self, event: CollapsibleTitle.Toggle) -> None:
        if not openable(self.part):
            super()._on_collapsible_title_toggle(event)
            return
        event.stop()
        self.post_message(self.Open(self.part))


def tool_block(part: ToolPart) -> ToolBlock:
    """The block for a tool call: a `TaskBlock` for `task`, a plain `ToolBlock` otherwise."""
    return TaskBlock(part) if part.tool == "task" else ToolBlock(part)


class Trail(Static):
    """Above the chat while a sub-agent's session is shown: where the user is, and how to go back."""

    DEFAULT_CSS = """
    Trail { height: 1; padding: 0 2; color: $text-muted; background: $panel; }
    """


class History:
    """The windowed history of the session the app shows, and the stack of parents above it."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.older: list[MessageWithParts] = []
        self.parents: list[str] = []
        self.current = ""
        """The session `enter`/`leave` showed last; another one loaded (/new, /sessions) drops the trail."""
        self._watching = False
        self._loading = False

    # --- the window ----------------------------------------------------------------------------

    async def load(self, items: list[MessageWithParts]) -> None:
        """Show a session afresh: the chat emptied, its last `WINDOW` messages mounted.

        The caller holds the app's flush lock (as `load_history` does)."""
        from opencode.session.model import AssistantMessage

        app = self.app
        chat = app.chat
        if self.parents and app.session_id != self.current:
            self.parents.clear()
            await self._show_trail()
        await chat.remove_children()
        app.views.clear()
        app._retry = None
        shown = [m for m in items if not (isinstance(m.info, AssistantMessage) and m.info.summary)]
        self.older = shown[:-WINDOW] if len(shown) > WINDOW else []
        await self._mount(shown[-WINDOW:], before=None)
        chat.anchor()
        chat.scroll_end(animate=False, immediate=False)
        if not self._watching:
            self._watching = True
            app.watch(chat, "scroll_y", self._scrolled, init=False)
        chat.call_after_refresh(self._fill)

    def _fill(self) -> None:
        """Too few messages to scroll: mount older ones until the view can scroll or none are left."""
        if self.older and not self._loading and self.app.chat.max_scroll_y <= NEAR_TOP:
            self._loading = True
            self.app.run_worker(self.mount_older(), group="history")

    def _scrolled(self, y: float) -> None:
        if y <= NEAR_TOP and self.older and not self._loading:
            self._loading = True
            self.app.run_worker(self.mount_older(), group="history")

    async def mount_older(self, count: int = BATCH) -> int:
        """Mount up to `count` older messages above the oldest one shown; returns how many."""
        app = self.app
        self._loading = True
        try:
            async with app._flush_lock:
                if not self.older:
                    return 0
                batch = self.older[-count:]
                del self.older[-count:]
                chat = app.chat
                first = chat.children[0] if chat.children else None
                offset = chat.scroll_y - (first.virtual_region.y if first is not None else 0)
                await self._mount(batch, before=first)
        finally:
            self._loading = False
        if first is not None:
            # What the user was reading stays where it was, now below the batch just mounted.
            def keep() -> None:
                chat.scroll_to(y=first.virtual_region.y + offset, animate=False, immediate=True)
                self._fill()

            chat.call_after_refresh(keep)
        return len(batch)

    async def _mount(self, items: list[MessageWithParts], before: Any) -> None:
        from opencode.session.model import AssistantMessage, TextPart

        app = self.app
        views: list[UserMessageView | AssistantMessageView] = []
        for item in items:
            view: UserMessageView | AssistantMessageView
            if isinstance(item.info, AssistantMessage):
                view = AssistantMessageView(item.info.id)
            else:
                text = "".join(p.text for p in item.parts if isinstance(p, TextPart) and not p.synthetic)
                view = UserMessageView(item.info.id, text)
                view.update(Text(shown_text(text, app.client.directory)))  # attached files folded, as live
            app.views[item.info.id] = view
            views.append(view)
        if not views:
            return
        if before is not None:
            await app.chat.mount_all(views, before=before)
        elif app._retry is not None:
            await app.chat.mount_all(views, before=app._retry)
        else:
            await app.chat.mount_all(views)
        for item, view in zip(items, views, strict=True):
            if isinstance(view, AssistantMessageView) and isinstance(item.info, AssistantMessage):
                for part in item.parts:
                    await view.update_part(part)
                await view.update_info(item.info)

    # --- sub-agent sessions ---------------------------------------------------------------------

    def child_of(self, part: ToolPart) -> str:
        """The session a task block's sub-agent runs in: named in the metadata once the task is done;
        while it runs, the child of the shown session created for it (its title starts with the
        task's description, as the engine names it, and it was created after the call started)."""
        named = child_session_of(part)
        if named or part.state.status != "running":
            return named
        state = part.state
        title = str(getattr(state, "title", None) or state.input.get("description") or "")
        start = state.time.start if hasattr(state, "time") else 0
        candidates = [
            s
            for s in self.app.client.child_sessions(self.app.session_id)
            if s.time.created >= start and (not title or s.title.startswith(f"{title} (@"))
        ]
        return min(candidates, key=lambda s: s.time.created).id if candidates else ""

    async def open_task(self, part: ToolPart) -> None:
        """A task block was opened: show its sub-agent's session, or say why it cannot be shown yet."""
        child = self.child_of(part)
        if child:
            await self.enter(child)
        else:
            self.app.notify("the sub-agent has not started yet", timeout=2)

    async def enter(self, session_id: str) -> None:
        """Show `session_id` (a sub-agent's session) in place of the current one; Esc comes back."""
        app = self.app
        if not session_id or session_id == app.session_id:
            return
        self.parents.append(app.session_id)
        await self._switch(session_id)

    def leave(self) -> bool:
        """Back to the parent session, if a sub-agent's is shown (False when none is)."""
        if not self.parents:
            return False
        parent = self.parents.pop()
        self.app.run_worker(self._switch(parent), group="history-switch", exclusive=True)
        return True

    async def _switch(self, session_id: str) -> None:
        app = self.app
        app.session_id = self.current = session_id
        app._busy = False
        await app.load_history()
        app.refresh_status()
        await self._show_trail()

    async def _show_trail(self) -> None:
        app = self.app
        chat = app.chat
        trail = next(iter(chat.screen.query(Trail)), None)
        if not self.parents:
            if trail is not None:
                await trail.remove()
            return
        titles = [self._title(s) for s in [*self.parents, app.session_id]]
        line = Text("esc ‹ ", style="bold")
        line.append("  ›  ".join(titles))
        if trail is None:
            await chat.screen.mount(Trail(line, id="trail"), before=chat)
        else:
            trail.update(line)

    def _title(self, session_id: str) -> str:
        try:
            return str(self.app.client.get_session(session_id).title)
        except Exception:  # a session deleted meanwhile: its id is still a name
            return session_id
