"""asyncio helpers: `run(coro)`, how every face starts the engine's event loop, and `close_pipes`.

The one thing it adds to `asyncio.run` is a cheaper way to wait for child processes on Python
3.11 (git for snapshots, ripgrep, bash): 3.11's default child watcher starts a thread per child
process, which costs about a millisecond per spawn under load; a pidfd watcher (the default from
3.12 on) waits on the process's file descriptor in the event loop instead.
"""

from __future__ import annotations

import asyncio
import os
import sys
import warnings
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from asyncio.subprocess import Process

T = TypeVar("T")


def close_pipes(proc: Process) -> None:
    """Close a finished child's pipes that were not read to their end (output cut short, a
    background child holding them, a run stopped midway); left open, each stays until garbage
    collection and warns then. asyncio's `Process` has no public close, hence the transport."""
    transport = getattr(proc, "_transport", None)
    if transport is not None:
        transport.close()


def run(main: Coroutine[Any, Any, T]) -> T:
    if sys.version_info < (3, 12) and hasattr(os, "pidfd_open"):
        _use_pidfd_watcher()
    return asyncio.run(main)


def _use_pidfd_watcher() -> None:
    try:
        fd = os.pidfd_open(os.getpid())  # refused by old kernels and some sandboxes
    except OSError:
        return
    os.close(fd)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        policy = asyncio.get_event_loop_policy()
        if not isinstance(getattr(policy, "_watcher", None), asyncio.PidfdChildWatcher):
            policy.set_child_watcher(asyncio.PidfdChildWatcher())
