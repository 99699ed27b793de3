"""OpenCode Python: an open-source AI coding agent.

Importing this package does no work: no I/O, no heavy imports. Faces (CLI, TUI, server) start
the engine explicitly.
"""

__version__ = "0.1.0"
