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
import threading
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
    """`asyncio.run(main)`; on 3.11 in the main thread, with a pidfd child watcher for its duration (the
    watcher is global and serves one loop: event loops on other threads keep 3.11's threaded one)."""
    if sys.version_info >= (3, 12) or not hasattr(os, "pidfd_open"):
        return asyncio.run(main)
    if threading.current_thread() is not threading.main_thread() or not _use_pidfd_watcher():
        return asyncio.run(main)
    try:
        return asyncio.run(main)
    finally:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            # None: the threaded default, made when next asked (typeshed leaves None out; CPython takes it).
            asyncio.get_event_loop_policy().set_child_watcher(None)  # type: ignore[arg-type]


def _use_pidfd_watcher() -> bool:
    try:
        fd = os.pidfd_open(os.getpid())  # refused by old kernels and some sandboxes
    except OSError:
        return False
    os.close(fd)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        policy = asyncio.get_event_loop_policy()
        if not isinstance(getattr(policy, "_watcher", None), asyncio.PidfdChildWatcher):
            policy.set_child_watcher(asyncio.PidfdChildWatcher())
    return True
