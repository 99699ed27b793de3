"""The first frame of the terminal UI, drawn before anything heavy is imported.

Loading config, the engine and Textual takes most of a second; a blank terminal meanwhile feels
broken. `Splash.show()` runs with only the standard library, a few milliseconds after the
interpreter starts: it switches to the alternate screen and draws the app's layout (the prompt
box and the status line, saying what is loading), and turns echo off so that what the user types
meanwhile is neither printed over the frame nor lost: the keys wait in the terminal's input queue
and Textual reads them as its first input.

`release()` gives the terminal back just before Textual starts (its settings as they were, the
alternate screen kept for Textual to draw on); `close()` leaves the alternate screen on any other
path (the guide, an error), so what is printed next lands on the normal screen. Lines written to
stderr while the splash is up (config warnings) are held and written out after it.
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
from collections.abc import Iterator
from typing import Any

ENTER = "\x1b[?1049h\x1b[?25l\x1b[2J"
LEAVE = "\x1b[?25h\x1b[?1049l"
DIM, RESET = "\x1b[2m", "\x1b[0m"


class Splash:
    def __init__(self, fd_in: int, out: Any) -> None:
        self.fd_in = fd_in
        self.out = out
        self.saved: Any = None
        self.shown = False
        self.held = io.StringIO()
        self._stderr: Any = None

    @classmethod
    def start(cls) -> Splash | None:
        """Draw the frame when stdin and stdout are terminals (else None: nothing drawn)."""
        if not (sys.stdin.isatty() and sys.stdout.isatty()) or os.environ.get("TERM") == "dumb":
            return None
        splash = cls(sys.stdin.fileno(), sys.stdout)
        splash.show()
        return splash

    def show(self, status: str = "starting") -> None:
        import termios

        try:
            self.saved = termios.tcgetattr(self.fd_in)
            quiet = termios.tcgetattr(self.fd_in)
            quiet[3] &= ~(termios.ECHO | termios.ICANON)  # keys typed now wait, unechoed, for the app
            termios.tcsetattr(self.fd_in, termios.TCSANOW, quiet)
        except termios.error:
            self.saved = None
        self.out.write(ENTER + frame(*terminal_size(self.out), status=status))
        self.out.flush()
        self.shown = True

    @contextlib.contextmanager
    def holding_stderr(self) -> Iterator[None]:
        """Lines for stderr (config warnings) wait until the splash is gone, instead of landing on it."""
        self._stderr, sys.stderr = sys.stderr, self.held
        try:
            yield
        finally:
            sys.stderr = self._stderr

    def _restore_input(self) -> None:
        if self.saved is not None:
            import termios

            with contextlib.suppress(termios.error):
                termios.tcsetattr(self.fd_in, termios.TCSANOW, self.saved)

    def release(self) -> None:
        """Textual takes over: the terminal's settings back as they were, the alternate screen kept."""
        self._restore_input()

    def close(self) -> None:
        """Leave the frame (not going on to the UI, or the UI has ended); held stderr lines written out."""
        if self.shown:
            self._restore_input()
            self.out.write(LEAVE)
            self.out.flush()
            self.shown = False
        self.flush_held()

    def handed_over(self) -> None:
        """The UI ran and left the alternate screen itself: only the held lines remain to write."""
        self.shown = False
        self._restore_input()
        self.flush_held()

    def flush_held(self) -> None:
        text = self.held.getvalue()
        if text:
            sys.stderr.write(text)
            sys.stderr.flush()
            self.held = io.StringIO()


def terminal_size(out: Any) -> tuple[int, int]:
    """The size Textual will draw at: COLUMNS and LINES when set (as `shutil.get_terminal_size` reads
    them, without importing shutil), else the terminal's own."""
    try:
        width, height = os.get_terminal_size(out.fileno())
    except (OSError, ValueError):
        width, height = 80, 24
    for name, value in (("COLUMNS", width), ("LINES", height)):
        given = os.environ.get(name, "")
        if given.isdigit() and int(given) > 0:
            value = int(given)
        if name == "COLUMNS":
            width = value
        else:
            height = value
    return width, height


def frame(width: int, height: int, *, status: str) -> str:
    """The app's layout, empty: the prompt box near the bottom and the status line under it."""
    width, height = max(width, 20), max(height, 6)
    inner = width - 4
    hint = "Ask anything. Enter sends, Ctrl+J adds a line, /help lists commands"[: inner - 2]
    top = "┌" + "─" * (width - 2) + "┐"
    middle = "│ " + DIM + hint.ljust(width - 4) + RESET + " │"
    bottom = "└" + "─" * (width - 2) + "┘"
    status_line = f"opencode  {status}…"[:width]
    rows = [(height - 3, top), (height - 2, middle), (height - 1, bottom), (height, DIM + status_line + RESET)]
    return "".join(f"\x1b[{row};1H{text}" for row, text in rows) + f"\x1b[{height - 1};3H"
