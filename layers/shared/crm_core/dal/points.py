"""The points ledger in the customer's partition: ``POINTS`` holds the balance and its version, each
adjustment is ``PTS#<id>``. An adjustment, the new balance and the history entry are one transaction,
refused unless the customer may accrue points and the balance is still the one it was computed from."""

from __future__ import annotations

from typing import Any

from crm_core.dal.customers import POINTS_SUMMARY, PROFILE, customer_pk, history_item
from crm_core.dal.dynamo import ConditionFailed, call, from_item, key, to_item, transact
from crm_core.models.customer import HistoryEntry
from crm_core.models.points import PointsEntry

SUMMARY = POINTS_SUMMARY
ENTRY = "PTS#"


class MayNotAccrue(Exception):
    """The customer is missing, or in a status that accrues no points."""


class BalanceMoved(Exception):
    """Another adjustment changed the balance since it was read."""


class PointsRepository:
    def __init__(self, ddb: Any, table: str) -> None:
        self._ddb = ddb
        self._table = table

    def balance(self, customer_id: str) -> tuple[int, int]:
        """The balance and its version (0, 0 before the first adjustment)."""
        answer = call(self._ddb.get_item, TableName=self._table, Key=key(customer_pk(customer_id), SUMMARY),
                      ConsistentRead=True)
        item = from_item(answer["Item"]) if "Item" in answer else {"balance": 0, "version": 0}
        return int(item["balance"]), int(item["version"])

    def entries(self, customer_id: str, limit: int, after: str | None) -> tuple[list[PointsEntry], str | None]:
        request: dict[str, Any] = {
            "TableName": self._table, "ScanIndexForward": False, "Limit": limit,
            "KeyConditionExpression": "PK = :pk AND begins_with(SK, :e)",
            "ExpressionAttributeValues": {":pk": {"S": customer_pk(customer_id)}, ":e": {"S": ENTRY}},
        }
        if after:
            request["ExclusiveStartKey"] = key(customer_pk(customer_id), after)
        answer = call(self._ddb.query, **request)
        entries = [PointsEntry.model_validate(from_item(i)) for i in answer.get("Items", [])]
        last = answer.get("LastEvaluatedKey")
        return entries, (last["SK"]["S"] if last else None)

    def adjust(self, customer_id: str, entry: PointsEntry, version: int, statuses: tuple[str, ...],
               history: HistoryEntry) -> None:
        pk = customer_pk(customer_id)
        names = {"#status": "status"}
        allowed = {f":s{i}": {"S": s} for i, s in enumerate(statuses)}
        summary: dict[str, Any] = {
            "TableName": self._table, "Key": key(pk, SUMMARY),
            "UpdateExpression": "SET balance = :balance, version = :next",
            "ExpressionAttributeValues": {":balance": {"N": str(entry.balance_after)},
                                          ":next": {"N": str(version + 1)}},
        }
        if version:
            summary["ConditionExpression"] = "version = :version"
            summary["ExpressionAttributeValues"][":version"] = {"N": str(version)}
        else:
            summary["ConditionExpression"] = "attribute_not_exists(PK)"
        actions: list[tuple[str, dict[str, Any]]] = [
            ("customer", {"ConditionCheck": {"TableName": self._table, "Key": key(pk, PROFILE),
                                "ConditionExpression": f"#status IN ({', '.join(allowed)})",
                                "ExpressionAttributeNames": names, "ExpressionAttributeValues": allowed}}),
            ("balance", {"Update": summary}),
            ("entry", {"Put": {"TableName": self._table, "ConditionExpression": "attribute_not_exists(PK)",
                               "Item": to_item({**entry.model_dump(mode="json"), "PK": pk,
                                                "SK": f"{ENTRY}{entry.id}"})}}),
            ("history", {"Put": {"TableName": self._table, "Item": to_item(history_item(customer_id, history))}}),
        ]
        try:
            transact(self._ddb, actions)
        except ConditionFailed as failed:
            if failed.tag == "customer":
                raise MayNotAccrue() from failed
            raise BalanceMoved() from failed
