"""Identifiers that sort by creation time, in opencode's format: `ses_`, `msg_`, `prt_` + 26 chars.

The first 12 hex digits encode the creation time in milliseconds (times 4096, plus a counter
for ids made in the same millisecond), so ids of one process sort in creation order as strings;
14 random base-62 characters follow. Parsing the time back out is `timestamp(id)`.
"""

from __future__ import annotations

import secrets
import threading
import time
from typing import Literal

Prefix = Literal["ses", "msg", "prt", "per", "que", "usr", "tool"]
_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_lock = threading.Lock()
_last = 0
_counter = 0


def ascending(prefix: Prefix) -> str:
    global _last, _counter
    with _lock:
        now = int(time.time() * 1000)
        if now != _last:
            _last, _counter = now, 0
        _counter += 1
        value = now * 0x1000 + _counter
    # One read of the OS's randomness per id (secrets.choice per character costs a syscall each):
    # 88 random bits, of which 14 base-62 digits use about 83.
    number = int.from_bytes(secrets.token_bytes(11), "big")
    digits = []
    for _ in range(14):
        number, digit = divmod(number, 62)
        digits.append(_ALPHABET[digit])
    return f"{prefix}_{value & 0xFFFFFFFFFFFF:012x}{''.join(digits)}"


def timestamp(identifier: str) -> int:
    """Milliseconds since the epoch at which `identifier` was made (modulo 2**48 / 4096)."""
    hex_part = identifier.split("_", 1)[1][:12]
    return int(hex_part, 16) // 0x1000
