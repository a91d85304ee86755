"""Records kept in a customer's partition beside the profile: notes, tasks, relationships, benefits,
membership. Each lives at ``CUST#<id>`` / ``<KIND>#<record id>`` with its own ``version``.

Every change to a record is written in one transaction with the customer's history entry and a check
that the customer exists and is not merged; a change that touches two customers (a relationship,
shown from both sides) checks both.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from crm_core.dal.customers import PROFILE, customer_pk, history_item
from crm_core.dal.dynamo import (
    ConditionFailed,
    batch_get,
    call,
    from_item,
    key,
    query_all,
    to_item,
    transact,
)
from crm_core.models.customer import HistoryEntry


class CustomerUnavailable(Exception):
    """The customer a change needs is missing or merged."""

    def __init__(self, customer_id: str) -> None:
        super().__init__(customer_id)
        self.customer_id = customer_id


class RecordChanged(Exception):
    """A record is not at the version the change expected (or exists when it should not)."""


@dataclass
class Change:
    """A set of writes that must happen together, with the history they leave."""

    puts: list[tuple[str, str, dict[str, Any], int | None]] = field(default_factory=list)
    deletes: list[tuple[str, str, int]] = field(default_factory=list)
    customers: list[str] = field(default_factory=list)  # must exist and not be merged
    history: list[tuple[str, HistoryEntry]] = field(default_factory=list)

    def put(self, customer_id: str, sk: str, item: dict[str, Any], expected_version: int | None) -> Change:
        """Write ``item``; ``expected_version=None`` means it must not exist yet."""
        self.puts.append((customer_id, sk, item, expected_version))
        return self

    def delete(self, customer_id: str, sk: str, expected_version: int) -> Change:
        self.deletes.append((customer_id, sk, expected_version))
        return self


class RecordRepository:
    def __init__(self, ddb: Any, table: str) -> None:
        self._ddb = ddb
        self._table = table

    def records(self, customer_id: str, prefix: str) -> list[dict[str, Any]]:
        items = query_all(self._ddb, TableName=self._table,
                          KeyConditionExpression="PK = :pk AND begins_with(SK, :prefix)",
                          ExpressionAttributeValues={":pk": {"S": customer_pk(customer_id)}, ":prefix": {"S": prefix}})
        return [_record(i) for i in items]

    def listed_under(self, gsi1pk: str, limit: int = 200) -> list[dict[str, Any]]:
        """Records GSI1 lists under ``gsi1pk`` (e.g. a staff user's open tasks), in the index's order."""
        answer = call(self._ddb.query, TableName=self._table, IndexName="GSI1",
                      KeyConditionExpression="GSI1PK = :pk", ExpressionAttributeValues={":pk": {"S": gsi1pk}},
                      Limit=limit)
        keys = [{"PK": i["PK"], "SK": i["SK"]} for i in answer.get("Items", [])]
        found = {(i["PK"]["S"], i["SK"]["S"]): i for i in batch_get(self._ddb, self._table, keys)}
        return [_record(found[(k["PK"]["S"], k["SK"]["S"])]) for k in keys if (k["PK"]["S"], k["SK"]["S"]) in found]

    def get(self, customer_id: str, sk: str) -> dict[str, Any] | None:
        answer = call(self._ddb.get_item, TableName=self._table, Key=key(customer_pk(customer_id), sk),
                      ConsistentRead=True)
        return _record(answer["Item"]) if "Item" in answer else None

    def write(self, change: Change) -> None:
        actions: list[tuple[str, str, dict[str, Any]]] = []  # (kind, customer id, action)
        for customer_id in dict.fromkeys(change.customers):
            actions.append(("customer", customer_id, {"ConditionCheck": {
                "TableName": self._table, "Key": key(customer_pk(customer_id), PROFILE),
                "ConditionExpression": "attribute_exists(PK) AND #status <> :merged",
                "ExpressionAttributeNames": {"#status": "status"},
                "ExpressionAttributeValues": {":merged": {"S": "merged"}}}}))
        for customer_id, sk, item, expected in change.puts:
            put: dict[str, Any] = {"TableName": self._table,
                                   "Item": to_item({**item, "PK": customer_pk(customer_id), "SK": sk})}
            put.update(_version_condition(expected))
            actions.append(("record", customer_id, {"Put": put}))
        for customer_id, sk, expected in change.deletes:
            delete: dict[str, Any] = {"TableName": self._table, "Key": key(customer_pk(customer_id), sk)}
            delete.update(_version_condition(expected))
            actions.append(("record", customer_id, {"Delete": delete}))
        for customer_id, entry in change.history:
            actions.append(("history", customer_id, {"Put": {"TableName": self._table,
                                                             "Item": to_item(history_item(customer_id, entry))}}))
        try:
            transact(self._ddb, [((kind, customer_id), action) for kind, customer_id, action in actions])
        except ConditionFailed as failed:
            kind, customer_id = failed.tag
            if kind == "customer":
                raise CustomerUnavailable(customer_id) from failed
            raise RecordChanged() from failed


def _version_condition(expected: int | None) -> dict[str, Any]:
    if expected is None:
        return {"ConditionExpression": "attribute_not_exists(PK)"}
    return {"ConditionExpression": "#v = :v", "ExpressionAttributeNames": {"#v": "version"},
            "ExpressionAttributeValues": {":v": {"N": str(expected)}}}


def _record(item: dict[str, Any]) -> dict[str, Any]:
    values = from_item(item)
    for internal in ("PK", "SK", "GSI1PK", "GSI1SK", "GSI2PK", "GSI2SK", "entity"):
        values.pop(internal, None)
    return values
