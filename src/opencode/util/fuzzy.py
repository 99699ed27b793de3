"""Fuzzy ranking of paths against what the user typed, shared by the TUI's `@` dropdown and the
server's `GET /find/file`.

    rank_files("ap", files)           # best matches first: src/app.py before docs/map.txt
    fuzzy_score("MAP", "docs/map.txt")  # a float (higher is better), None for no match
"""

from __future__ import annotations

DEFAULT_LIMIT = 10


def fuzzy_score(query: str, path: str) -> float | None:
    """How well `path` matches `query` (higher is better), None for no match. Tiers, best first:
    the file name starts with the query, holds it, the path holds it, the path holds its letters
    in order (closer together is better); within a tier shorter paths win."""
    q = query.lower()
    p = path.lower()
    if not q:
        return -len(p) / 1000
    name = p.rstrip("/").rsplit("/", 1)[-1]
    if name.startswith(q):
        tier = 4.0
    elif q in name:
        tier = 3.0
    elif q in p:
        tier = 2.0
    else:
        spread = _spread(q, p)
        if spread is None:
            return None
        return 1.0 - spread / (len(p) + 1) - len(p) / 100_000
    return tier - len(p) / 1000


def _spread(query: str, text: str) -> int | None:
    """Length of the shortest window of `text` holding `query`'s characters in order; None if none."""
    best: int | None = None
    start = text.find(query[0])
    while start != -1:
        position = start
        for char in query[1:]:
            position = text.find(char, position + 1)
            if position == -1:
                return best
        width = position - start + 1
        if best is None or width < best:
            best = width
        start = text.find(query[0], start + 1)
    return best


def rank_files(query: str, files: list[str], limit: int = DEFAULT_LIMIT) -> list[str]:
    """The paths that match `query`, best first (ties by path), at most `limit`."""
    scored = [(score, path) for path in files if (score := fuzzy_score(query, path)) is not None]
    scored.sort(key=lambda item: (-item[0], item[1]))
    return [path for _, path in scored[:limit]]
