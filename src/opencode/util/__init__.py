"""Small helpers that more than one face uses, below the engine and the faces.

- `fuzzy.py`  fuzzy ranking of paths (the TUI's `@` dropdown, the server's `GET /find/file`)
- `vcs.py`    the user's git repository as the faces show it: branch, changed files, per-file diffs
"""
