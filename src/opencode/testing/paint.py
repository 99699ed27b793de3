"""`PaintProbe`: when the TUI put a text on screen, for tests and `bench/tui.py`.

It wraps the app's `_display`, where Textual's compositor hands each frame to the terminal driver
(headless too), renders the frame to text without escape codes, and keeps it with a timestamp.
"""

from __future__ import annotations

import re
import time
from typing import Any

_ESCAPES = re.compile(r"\x1b\[[0-9;?<>=$]*[A-Za-z~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[()][0-9A-Za-z]|\x1b[=>78]")


class PaintProbe:
    def __init__(self, app: Any) -> None:
        self.paints: list[tuple[float, str]] = []
        original = app._display

        def display(screen: Any, renderable: Any) -> None:
            original(screen, renderable)
            if renderable is not None and hasattr(renderable, "render_segments"):
                text = _ESCAPES.sub("", renderable.render_segments(app.console))
                self.paints.append((time.perf_counter(), text))

        app._display = display

    def first_after(self, start: float, text: str) -> float | None:
        """When `text` was first painted at or after `start` (perf_counter seconds), or None."""
        return next((t for t, shown in self.paints if t >= start and text in shown), None)
