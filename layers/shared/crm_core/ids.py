"""Identifiers: time-ordered customer ids (ULID) and short customer numbers."""

from __future__ import annotations

import hashlib
import os
import time
from datetime import UTC, datetime

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def new_id(now_ms: int | None = None, randomness: bytes | None = None) -> str:
    """A 26-character ULID: sorts by creation time, so newest-first is a reverse sort of ids."""
    ms = int(time.time() * 1000) if now_ms is None else now_ms
    value = (ms << 80) | int.from_bytes(randomness or os.urandom(10), "big")
    chars = []
    for _ in range(26):
        chars.append(_CROCKFORD[value & 31])
        value >>= 5
    return "".join(reversed(chars))


def derived_id(at: datetime, seed: str) -> str:
    """The same ULID every time for the same moment and seed: lets a retried step recognise its own writes."""
    return new_id(int(at.timestamp() * 1000), hashlib.sha256(seed.encode()).digest()[:10])


def id_time(ulid: str) -> datetime:
    """When an id was made (to the millisecond)."""
    value = 0
    for ch in ulid[:10]:
        value = value * 32 + _CROCKFORD.index(ch)
    return datetime.fromtimestamp(value / 1000, tz=UTC)


def min_id_at(moment: datetime) -> str:
    """The smallest id that could have been made at ``moment``: ids ≥ it are that new or newer."""
    ms = int(moment.timestamp() * 1000)
    chars = []
    for _ in range(10):
        chars.append(_CROCKFORD[ms & 31])
        ms >>= 5
    return "".join(reversed(chars)) + "0" * 16


def format_customer_number(n: int) -> str:
    """Customer numbers are plain digits (``100042``): short, readable over the phone, never reused."""
    return str(n)
