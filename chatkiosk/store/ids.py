"""Opaque, time-ordered ids: `<prefix>_<26 chars>` (ULID layout, Crockford base32).

Sorting ids sorts by creation time, which is what `?before=<id>` paging relies on. Within one
process ids are strictly increasing even inside the same millisecond.
"""

from __future__ import annotations

import os
import threading
import time

_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"
_lock = threading.Lock()
_last = (0, 0)


_PAIRS = [a + b for a in _ALPHABET for b in _ALPHABET]  # two digits (10 bits) at a time


def _encode(value: int, length: int) -> str:
    """The lowest `length` base32 digits of `value` (an even `length`), most significant first."""
    return "".join([_PAIRS[(value >> shift) & 1023] for shift in range(5 * length - 10, -1, -10)])


def new_id(prefix: str) -> str:
    """A new id such as `conv_01j9…`; increasing within this process."""
    global _last
    now_ms = time.time_ns() // 1_000_000
    with _lock:
        last_ms, last_rand = _last
        if now_ms <= last_ms:
            now_ms, rand = last_ms, last_rand + 1
        else:
            rand = int.from_bytes(os.urandom(10), "big") >> 1  # leave room to increment
        _last = (now_ms, rand)
    return f"{prefix}_{_encode(now_ms, 10)}{_encode(rand, 16)}"
