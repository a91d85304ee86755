"""Merging one customer (the source) into another (the target), in steps that survive being cut off.

1. ``begin``: one transaction freezes the source (status ``merged``, pointing at the target), leaves a
   ``MERGE#<source id>`` marker in the target's partition, moves the points balance, releases the source's
   claims and drops its staff assignments. From here every write to the source is refused.
2. ``move``: the source's items (notes, tasks, benefits, membership, points entries, history, money,
   relationships) are copied to the target and deleted from the source, in transactions of at most 100
   actions; a relationship's other side is re-pointed in the same transaction. Each step is idempotent.
3. ``finish``: one transaction records the merge in both histories and removes the marker.

Cut off anywhere, the marker (or the source's ``merged`` status) says where it stands, and running the
merge again carries on from there: a customer is never left split across two records.
"""

from __future__ import annotations

from typing import Any

from crm_core.dal.customers import (
    CLAIM,
    POINTS_SUMMARY,
    PROFILE,
    claim_pk,
    customer_pk,
    delete_action,
    history_item,
    profile_item,
    put_action,
)
from crm_core.dal.dynamo import (
    TRANSACTION_MAX,
    ConditionFailed,
    batch_get,
    call,
    from_item,
    key,
    to_item,
    transact,
)
from crm_core.models.customer import Customer, HistoryEntry

MARKER = "MERGE#"


class MergeRefused(Exception):
    """A condition of the first step failed: ``which`` is ``source``, ``target``, ``marker`` or ``points``."""

    def __init__(self, which: str) -> None:
        super().__init__(which)
        self.which = which


Unit = list[dict[str, Any]]  # actions that must happen together


class MergeRepository:
    def __init__(self, ddb: Any, table: str) -> None:
        self._ddb = ddb
        self._table = table

    def marker(self, target_id: str, source_id: str) -> dict[str, Any] | None:
        answer = call(self._ddb.get_item, TableName=self._table,
                      Key=key(customer_pk(target_id), f"{MARKER}{source_id}"), ConsistentRead=True)
        return from_item(answer["Item"]) if "Item" in answer else None

    def items(self, keys: list[tuple[str, str]]) -> dict[tuple[str, str], dict[str, Any]]:
        found = batch_get(self._ddb, self._table, [key(pk, sk) for pk, sk in keys])
        return {(i["PK"]["S"], i["SK"]["S"]): from_item(i) for i in found}

    def begin(self, source: Customer, frozen: Customer, target: Customer, marker: dict[str, Any],
              points: tuple[tuple[int, int], tuple[int, int]], released: dict[str, str]) -> None:
        table, spk, tpk = self._table, customer_pk(source.id), customer_pk(target.id)
        (source_balance, source_version), (target_balance, target_version) = points
        actions: list[tuple[str, dict[str, Any]]] = [
            ("source", put_action(table, profile_item(frozen, None), "#v = :v AND #s <> :merged",
                                  names={"#v": "version", "#s": "status"},
                                  values={":v": {"N": str(source.version)}, ":merged": {"S": "merged"}})),
            ("target", {"ConditionCheck": {"TableName": table, "Key": key(tpk, PROFILE),
                                           "ConditionExpression": "attribute_exists(PK) AND #s <> :merged",
                                           "ExpressionAttributeNames": {"#s": "status"},
                                           "ExpressionAttributeValues": {":merged": {"S": "merged"}}}}),
            ("marker", put_action(table, {**marker, "PK": tpk, "SK": f"{MARKER}{source.id}"},
                                  "attribute_not_exists(PK)")),
        ]
        if source_version:
            actions.append(("points", delete_action(table, key(spk, POINTS_SUMMARY), "version = :v",
                                                    values={":v": {"N": str(source_version)}})))
            summary = {"PK": tpk, "SK": POINTS_SUMMARY, "balance": target_balance + source_balance,
                       "version": target_version + 1}
            condition = "version = :v" if target_version else "attribute_not_exists(PK)"
            values = {":v": {"N": str(target_version)}} if target_version else None
            actions.append(("points", put_action(table, summary, condition, values=values)))
        actions += [("claim", delete_action(table, key(claim_pk(kind, value), CLAIM), "customer_id = :me",
                                            values={":me": {"S": source.id}})) for kind, value in released.items()]
        actions += [("staff", delete_action(table, key(spk, f"STAFF#{user}"))) for user in source.assigned_staff]
        try:
            transact(self._ddb, actions)
        except ConditionFailed as failed:
            raise MergeRefused(failed.tag) from failed

    def apply(self, units: list[Unit]) -> int:
        """Run the units in as few transactions as fit 100 actions each; returns the transactions made."""
        transactions = 0
        batch: list[dict[str, Any]] = []
        for unit in units:
            if batch and len(batch) + len(unit) > TRANSACTION_MAX:
                self.transact(batch)
                transactions += 1
                batch = []
            batch += unit
        if batch:
            self.transact(batch)
            transactions += 1
        return transactions

    def transact(self, actions: list[dict[str, Any]]) -> None:
        call(self._ddb.transact_write_items, TransactItems=actions)

    def finish(self, source_id: str, target_id: str, entries: list[tuple[str, HistoryEntry]]) -> None:
        actions = [delete_action(self._table, key(customer_pk(target_id), f"{MARKER}{source_id}"))]
        actions += [put_action(self._table, history_item(customer_id, entry)) for customer_id, entry in entries]
        self.transact(actions)

    # ---- the actions one moved item needs ----------------------------------------------------------

    def moved(self, item: dict[str, Any], target_id: str, sk: str | None = None) -> Unit:
        """Copy an item of the source's partition to the target's (optionally under another sort key)."""
        copy = {**item, "PK": customer_pk(target_id), "SK": sk or item["SK"]}
        if "customer_id" in copy:
            copy["customer_id"] = target_id
        return [{"Put": {"TableName": self._table, "Item": to_item(copy)}},
                delete_action(self._table, key(item["PK"], item["SK"]))]

    def dropped(self, *keys: tuple[str, str]) -> Unit:
        return [delete_action(self._table, key(pk, sk)) for pk, sk in keys]

    def repointed(self, pk: str, sk: str, target_id: str) -> Unit:
        """The other side of a relationship now points at the target."""
        return [{"Update": {"TableName": self._table, "Key": key(pk, sk),
                            "UpdateExpression": "SET related_id = :t",
                            "ConditionExpression": "attribute_exists(PK)",
                            "ExpressionAttributeValues": {":t": {"S": target_id}}}}]
