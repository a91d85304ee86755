"""DynamoDB plumbing shared by the repositories: (de)serialisation, batches, transactions, errors."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from crm_core.errors import RetryLater

BATCH_WRITE_MAX = 25
BATCH_GET_MAX = 100
TRANSACTION_MAX = 100
THROTTLING = {
    "ProvisionedThroughputExceededException",
    "ThrottlingException",
    "RequestLimitExceeded",
    "LimitExceededException",
}

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


def to_item(values: Mapping[str, Any]) -> dict[str, Any]:
    return {k: _serializer.serialize(_dynamo_safe(v)) for k, v in values.items() if v is not None}


def from_item(item: Mapping[str, Any]) -> dict[str, Any]:
    return {k: _plain(_deserializer.deserialize(v)) for k, v in item.items()}


def key(pk: str, sk: str) -> dict[str, Any]:
    return {"PK": {"S": pk}, "SK": {"S": sk}}


def _dynamo_safe(value: Any) -> Any:
    if isinstance(value, float):
        return Decimal(str(value))
    if isinstance(value, dict):
        return {k: _dynamo_safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_dynamo_safe(v) for v in value]
    return value


def _plain(value: Any) -> Any:
    """Decimals become ints or floats: no ``Decimal`` leaves the data layer."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | set):
        return [_plain(v) for v in value]
    return value


def error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def raise_if_throttled(exc: ClientError) -> None:
    if error_code(exc) in THROTTLING:
        raise RetryLater("the database is busy; retry shortly") from exc


def call(operation: Callable[..., dict[str, Any]], **kwargs: Any) -> dict[str, Any]:
    """One DynamoDB call; throttling that outlasted botocore's retries becomes ``RetryLater``."""
    try:
        return operation(**kwargs)
    except ClientError as exc:
        raise_if_throttled(exc)
        raise


def chunks(items: list[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


class Backoff:
    """Exponential backoff with full jitter; ``sleep`` is injectable so tests do not wait."""

    def __init__(self, attempts: int = 8, base: float = 0.05, cap: float = 5.0,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.attempts = attempts
        self.base = base
        self.cap = cap
        self.sleep = sleep

    def pause(self, attempt: int) -> None:
        self.sleep(random.uniform(0, min(self.cap, self.base * 2**attempt)))


class UnprocessedAfterRetries(Exception):
    """Items DynamoDB still had not written (or read) after every retry; they are carried on the error."""

    def __init__(self, leftovers: list[dict[str, Any]]) -> None:
        super().__init__(f"{len(leftovers)} items unprocessed after retries")
        self.leftovers = leftovers


def batch_write(ddb: Any, table: str, requests: Iterable[dict[str, Any]], backoff: Backoff | None = None) -> int:
    """Write ``{"PutRequest": …}`` / ``{"DeleteRequest": …}`` requests, 25 a call, retrying UnprocessedItems.

    Returns the number of calls made. Every chunk is tried; then ``UnprocessedAfterRetries`` names what never
    went in.
    """
    backoff = backoff or Backoff()
    calls = 0
    leftovers: list[dict[str, Any]] = []
    for chunk in chunks(list(requests), BATCH_WRITE_MAX):
        pending = chunk
        for attempt in range(backoff.attempts):
            answer = call(ddb.batch_write_item, RequestItems={table: pending})
            calls += 1
            pending = answer.get("UnprocessedItems", {}).get(table, [])
            if not pending:
                break
            backoff.pause(attempt)
        else:
            leftovers += pending  # the other chunks are still written: the caller learns exactly what is missing
    if leftovers:
        raise UnprocessedAfterRetries(leftovers)
    return calls


def batch_get(ddb: Any, table: str, keys: list[dict[str, Any]], projection: str | None = None,
              names: dict[str, str] | None = None, backoff: Backoff | None = None) -> list[dict[str, Any]]:
    """Read items by key, 100 a call, retrying UnprocessedKeys. Order of the answer is not the keys' order."""
    backoff = backoff or Backoff()
    found: list[dict[str, Any]] = []
    for chunk in chunks(keys, BATCH_GET_MAX):
        request: dict[str, Any] = {"Keys": chunk}
        if projection:
            request["ProjectionExpression"] = projection
        if names:
            request["ExpressionAttributeNames"] = names
        for attempt in range(backoff.attempts):
            answer = call(ddb.batch_get_item, RequestItems={table: request})
            found.extend(answer.get("Responses", {}).get(table, []))
            unprocessed = answer.get("UnprocessedKeys", {}).get(table)
            if not unprocessed:
                break
            request = unprocessed
            backoff.pause(attempt)
        else:
            raise RetryLater("the database is busy; retry shortly")
    return found


def query_all(ddb: Any, **kwargs: Any) -> Iterator[dict[str, Any]]:
    """Every item of a Query, following LastEvaluatedKey."""
    while True:
        answer = call(ddb.query, **kwargs)
        yield from answer.get("Items", [])
        last = answer.get("LastEvaluatedKey")
        if not last:
            return
        kwargs["ExclusiveStartKey"] = last


class ConditionFailed(Exception):
    """A condition of a transaction failed; ``tag`` names the first action whose condition did."""

    def __init__(self, tag: Any) -> None:
        super().__init__(f"condition failed: {tag}")
        self.tag = tag


_CONTENTION = {"TransactionConflict", "ThrottlingError", "ProvisionedThroughputExceeded"}


def transact(ddb: Any, tagged: list[tuple[Any, dict[str, Any]]]) -> None:
    """One TransactWriteItems of ``(tag, action)`` pairs. A failed condition raises ``ConditionFailed`` with the
    action's tag; contention with other requests, or throttling, raises ``RetryLater``."""
    if len(tagged) > TRANSACTION_MAX:
        raise ValueError(f"{len(tagged)} actions exceed DynamoDB's {TRANSACTION_MAX} per transaction")
    try:
        ddb.transact_write_items(TransactItems=[action for _, action in tagged])
    except ClientError as exc:
        if error_code(exc) != "TransactionCanceledException":
            raise_if_throttled(exc)
            raise
        codes = cancellation_codes(exc)
        for (tag, _), code in zip(tagged, codes, strict=False):
            if code == "ConditionalCheckFailed":
                raise ConditionFailed(tag) from exc
        if _CONTENTION & set(codes):
            raise RetryLater("the customer is being changed by another request; retry shortly") from exc
        raise


def cancellation_codes(exc: ClientError) -> list[str]:
    """Per-action outcome of a cancelled transaction (``"None"`` for the actions that were fine)."""
    reasons = exc.response.get("CancellationReasons") or []
    return [str(r.get("Code", "None")) for r in reasons]


class ReadMeter:
    """Counts the items DynamoDB read for a client (Query ScannedCount, GetItem, BatchGetItem).

    Attach it to a client to measure how reads grow: ``meter = ReadMeter.attach(client)``.
    """

    def __init__(self) -> None:
        self.items_read = 0
        self.calls = 0

    @classmethod
    def attach(cls, ddb: Any) -> ReadMeter:
        meter = cls()
        ddb.meta.events.register("after-call.dynamodb", meter._count)
        return meter

    def reset(self) -> None:
        self.items_read = 0
        self.calls = 0

    def _count(self, http_response: Any, parsed: dict[str, Any], model: Any, **_: Any) -> None:
        name = model.name
        if name in ("Query", "Scan"):
            self.items_read += int(parsed.get("ScannedCount", parsed.get("Count", 0)))
        elif name == "GetItem":
            self.items_read += 1 if parsed.get("Item") else 0
        elif name == "BatchGetItem":
            self.items_read += sum(len(v) for v in parsed.get("Responses", {}).values())
        elif name == "TransactGetItems":
            self.items_read += sum(1 for r in parsed.get("Responses", []) if r.get("Item"))
        else:
            return
        self.calls += 1
