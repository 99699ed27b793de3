"""OpenCode Python: an open-source AI coding agent.

Importing this package does no work: no I/O, no heavy imports. Faces (CLI, TUI, server) start
the engine explicitly.
"""

import sys as _sys

__version__ = "0.1.0"

# httpx imports its command-line client (click, pygments, rich: ~20 ms) whenever those happen to
# be installed; we never use it, so its module is marked absent and httpx falls back to its plain behaviour.
_sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]
