"""Opaque, signed, expiring pagination cursors.

A cursor is bound to the query that made it (``scope``): replaying it against another search, after it
expired, or after editing it is refused with a 400, never a 500.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Callable
from typing import Any

from crm_core.errors import InvalidCursor, field_error


class CursorCodec:
    def __init__(self, key: str | Callable[[], str], ttl_seconds: int) -> None:
        """``key``: the signing key, or where to read it when a cursor is made or read (a secret read at run
        time, so a rotated key takes effect without a deployment)."""
        self._key = key if callable(key) else (lambda: key)
        self._ttl = ttl_seconds

    @staticmethod
    def scope_of(*parts: object) -> str:
        raw = json.dumps(parts, sort_keys=True, default=str, separators=(",", ":"))
        return hashlib.sha256(raw.encode()).hexdigest()[:16]

    def encode(self, scope: str, position: Any, now: float | None = None) -> str:
        issued = int(time.time() if now is None else now)
        payload = json.dumps({"s": scope, "p": position, "x": issued + self._ttl}, separators=(",", ":")).encode()
        signature = hmac.new(self._key().encode(), payload, hashlib.sha256).digest()[:16]
        return base64.urlsafe_b64encode(payload + signature).decode().rstrip("=")

    def decode(self, cursor: str, scope: str, now: float | None = None) -> Any:
        try:
            raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        except (ValueError, TypeError):
            raise _bad("is not a cursor this API issued") from None
        payload, signature = raw[:-16], raw[-16:]
        expected = hmac.new(self._key().encode(), payload, hashlib.sha256).digest()[:16]
        if len(raw) <= 16 or not hmac.compare_digest(signature, expected):
            raise _bad("is not a cursor this API issued")
        data = json.loads(payload)
        if data["s"] != scope:
            raise _bad("belongs to a different query; start again without it")
        if data["x"] < (time.time() if now is None else now):
            raise _bad("has expired; start again without it")
        return data["p"]


def _bad(reason: str) -> InvalidCursor:
    return InvalidCursor(f"cursor {reason}", fields=[field_error("cursor", reason)])
