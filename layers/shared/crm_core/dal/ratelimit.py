"""Rate limits (logins, password resets…) as fixed-window counters in the customers table.

- ``RATE#<scope>#<subject digest>`` / ``<window start, epoch seconds>``: ``n``, the hits in that window, and
  ``expiration`` (the table's TTL attribute): the window's end plus one more window, after which DynamoDB
  deletes the item. The subject digest is the first 32 hex characters of the SHA-256 of the subject (trimmed,
  NFKC, case-folded), so no email address or username sits in a key, and ``Ada@Example.org`` and
  ``ada@example.org`` share a counter.

One ``UpdateItem`` (``ADD n :one``, ``ReturnValues=UPDATED_NEW``) per hit: atomic under concurrency, no read
first. A fixed window lets up to twice the limit through across a window boundary; for brute-force and
reset-flood limits that is accepted for the one write per hit.
"""

from __future__ import annotations

import hashlib
import math
import unicodedata
from typing import Any

from crm_core.clock import utcnow
from crm_core.dal.dynamo import call, key, to_item

PREFIX = "RATE#"


def subject_digest(subject: str) -> str:
    folded = unicodedata.normalize("NFKC", subject).strip().casefold()
    return hashlib.sha256(folded.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def rate_pk(scope: str, subject: str) -> str:
    if not scope or "#" in scope:
        raise ValueError(f"a rate-limit scope is a non-empty name without '#': {scope!r}")
    return f"{PREFIX}{scope}#{subject_digest(subject)}"


def window_start(window_seconds: int, now: float) -> int:
    if window_seconds < 1:
        raise ValueError(f"a rate-limit window is at least one second, not {window_seconds}")
    return int(now // window_seconds) * window_seconds


class RateLimiter:
    def __init__(self, ddb: Any, table: str) -> None:
        self._ddb = ddb
        self._table = table

    def hit(self, scope: str, subject: str, limit: int, window_seconds: int, now: float | None = None) -> bool:
        """Count one attempt by ``subject`` at ``scope``; True while it is within ``limit`` attempts in the
        current window of ``window_seconds``, False beyond. Throttling raises ``RetryLater``."""
        moment = utcnow().timestamp() if now is None else now
        start = window_start(window_seconds, moment)
        answer = call(self._ddb.update_item, TableName=self._table, Key=key(rate_pk(scope, subject), str(start)),
                      UpdateExpression="ADD #n :one SET #exp = :exp",
                      ExpressionAttributeNames={"#n": "n", "#exp": "expiration"},
                      ExpressionAttributeValues=to_item({":one": 1, ":exp": start + 2 * window_seconds}),
                      ReturnValues="UPDATED_NEW")
        return int(answer["Attributes"]["n"]["N"]) <= limit

    @staticmethod
    def retry_after(window_seconds: int, now: float | None = None) -> int:
        """Seconds until the current window ends (when a refused subject may try again), at least one."""
        moment = utcnow().timestamp() if now is None else now
        return max(1, math.ceil(window_start(window_seconds, moment) + window_seconds - moment))

    def remaining(self, scope: str, subject: str, limit: int, window_seconds: int, now: float | None = None) -> int:
        """How many more attempts ``hit`` would allow in the current window (without counting one)."""
        moment = utcnow().timestamp() if now is None else now
        start = window_start(window_seconds, moment)
        answer = call(self._ddb.get_item, TableName=self._table, Key=key(rate_pk(scope, subject), str(start)),
                      ProjectionExpression="#n", ExpressionAttributeNames={"#n": "n"}, ConsistentRead=True)
        used = int(answer["Item"]["n"]["N"]) if "n" in answer.get("Item", {}) else 0
        return max(0, limit - used)
