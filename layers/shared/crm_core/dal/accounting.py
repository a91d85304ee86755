"""Each customer's link to the accounts package, in the customers table.

- ``CUST#<id>`` / ``ACCTSYNC``: "sync me" — put in the same transaction that creates a customer or changes
  what the package holds (name, email, phone, address), and by staff asking for a sync. Sparse GSI1
  ``ACCTSYNC#<shard>`` / ``<id>`` (8 shards, so a busy day's changes do not all write one index partition):
  the sync reads only these. Removed by the sync that handled it — only if it was not put again meanwhile.
- ``CUST#<id>`` / ``ACCOUNTING``: the sync state — ``synced`` / ``held`` / ``error`` with the reason, the
  account reference, when last synced, the candidates of an ambiguous match, the package's balance.
- ``ACCTREF#<adapter>#<ref>`` / ``CLAIM``: one account is linked to one customer (claimed with the state).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from crm_core.dal.customers import SYNC_MARKER, customer_pk, put_action, sync_marker
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

MARKER = SYNC_MARKER
STATE = "ACCOUNTING"
SHARDS = 8


def ref_claim(adapter: str, ref: str) -> dict[str, Any]:
    return key(f"ACCTREF#{adapter}#{ref}", "CLAIM")


class StateMoved(Exception):
    """The sync state changed since it was read (staff chose an account meanwhile)."""


class RefTaken(Exception):
    def __init__(self, owner: str | None) -> None:
        super().__init__(f"linked to customer {owner}")
        self.owner = owner


class AccountingRepository:
    def __init__(self, ddb: Any, table: str) -> None:
        self._ddb = ddb
        self._table = table

    def pending(self, page: int = 100) -> Iterator[list[tuple[str, str]]]:
        """Customers waiting to be synced, as (id, when marked), a page at a time, shard by shard."""
        for shard in range(SHARDS):
            batch: list[tuple[str, str]] = []
            for item in query_all(self._ddb, TableName=self._table, IndexName="GSI1",
                                  KeyConditionExpression="GSI1PK = :pk",
                                  ExpressionAttributeValues={":pk": {"S": f"{MARKER}#{shard}"}}):
                batch.append((item["GSI1SK"]["S"], ""))
                if len(batch) == page:
                    yield self._with_times(batch)
                    batch = []
            if batch:
                yield self._with_times(batch)

    def _with_times(self, batch: list[tuple[str, str]]) -> list[tuple[str, str]]:
        """The markers' own times (the index keeps only keys): a marker put again meanwhile is newer."""
        items = batch_get(self._ddb, self._table, [key(customer_pk(i), MARKER) for i, _ in batch],
                          projection="PK, #at", names={"#at": "at"})
        times = {i["PK"]["S"].removeprefix("CUST#"): i["at"]["S"] for i in items}
        return [(customer_id, times[customer_id]) for customer_id, _ in batch if customer_id in times]

    def mark(self, ids: list[str]) -> None:
        from crm_core.dal.dynamo import batch_write

        batch_write(self._ddb, self._table, [{"PutRequest": {"Item": to_item(sync_marker(i))}} for i in ids])

    def states(self, ids: list[str]) -> dict[str, dict[str, Any]]:
        items = batch_get(self._ddb, self._table, [key(customer_pk(i), STATE) for i in dict.fromkeys(ids)])
        return {str(v["PK"]).removeprefix("CUST#"): v for v in (from_item(i) for i in items)}

    def state(self, customer_id: str) -> dict[str, Any] | None:
        answer = call(self._ddb.get_item, TableName=self._table, Key=key(customer_pk(customer_id), STATE),
                      ConsistentRead=True)
        return from_item(answer["Item"]) if "Item" in answer else None

    def is_pending(self, customer_id: str) -> bool:
        answer = call(self._ddb.get_item, TableName=self._table, Key=key(customer_pk(customer_id), MARKER),
                      ProjectionExpression="PK")
        return "Item" in answer

    def save(self, customer_id: str, state: dict[str, Any], marked_at: str | None, adapter: str,
             claim_ref: str | None, take_over_from: str | None = None, expected_rev: int | None = None) -> bool:
        """Store the state (and claim the linked account) and clear the marker if it is still the one read.
        False when the marker was put again meanwhile (the customer changed during the sync): it stays, and
        the next run syncs again. Raises ``RefTaken`` when another customer holds that account."""
        pk = customer_pk(customer_id)
        # the state is written only over the revision it was worked out from: a staff choice made meanwhile wins
        rev = int(expected_rev or 0)
        condition = "attribute_not_exists(PK) OR #rev = :rev" if not rev else "#rev = :rev"
        actions: list[tuple[str, dict[str, Any]]] = [
            ("state", put_action(self._table, {**state, "rev": rev + 1, "PK": pk, "SK": STATE}, condition,
                                 names={"#rev": "rev"}, values={":rev": {"N": str(rev)}}))]
        if claim_ref:
            claim = ref_claim(adapter, claim_ref)
            # the claim is this customer's, or free, or held by a deleted or merged customer being taken over
            condition = "attribute_not_exists(PK) OR customer_id = :me" + (" OR customer_id = :old"
                                                                           if take_over_from else "")
            values = {":me": {"S": customer_id}, **({":old": {"S": take_over_from}} if take_over_from else {})}
            actions.append(("ref", put_action(self._table, {"PK": claim["PK"]["S"], "SK": "CLAIM",
                                                            "customer_id": customer_id}, condition, values=values)))
        if marked_at is not None:
            actions.append(("marker", {"Delete": {"TableName": self._table, "Key": key(pk, MARKER),
                                                  "ConditionExpression": "#at = :at",
                                                  "ExpressionAttributeNames": {"#at": "at"},
                                                  "ExpressionAttributeValues": {":at": {"S": marked_at}}}}))
        try:
            transact(self._ddb, actions)
        except ConditionFailed as failed:
            if failed.tag == "ref" and claim_ref:
                raise RefTaken(self.ref_owner(adapter, claim_ref)) from failed
            if failed.tag == "marker":
                self.save(customer_id, state, None, adapter, claim_ref, take_over_from, expected_rev)
                return False
            if failed.tag == "state":
                raise StateMoved() from failed
            raise
        return True

    def clear(self, customer_id: str, marked_at: str) -> None:
        """Drop a marker nothing can be done for (the customer is gone or merged)."""
        with contextlib.suppress(ConditionFailed):  # put again meanwhile: the next run looks again
            transact(self._ddb, [("marker", {"Delete": {
                "TableName": self._table, "Key": key(customer_pk(customer_id), MARKER),
                "ConditionExpression": "#at = :at", "ExpressionAttributeNames": {"#at": "at"},
                "ExpressionAttributeValues": {":at": {"S": marked_at}}}})])

    def ref_owner(self, adapter: str, ref: str) -> str | None:
        answer = call(self._ddb.get_item, TableName=self._table, Key=ref_claim(adapter, ref), ConsistentRead=True)
        return str(answer["Item"]["customer_id"]["S"]) if "Item" in answer else None

    def owners(self, adapter: str, refs: list[str]) -> dict[str, str]:
        items = batch_get(self._ddb, self._table, [ref_claim(adapter, r) for r in dict.fromkeys(refs)],
                          projection="PK, customer_id")
        return {i["PK"]["S"].split("#", 2)[2]: i["customer_id"]["S"] for i in items}

    def set_balance(self, customer_id: str, amount: str, at: str) -> None:
        call(self._ddb.update_item, TableName=self._table, Key=key(customer_pk(customer_id), STATE),
             UpdateExpression="SET package_balance = :b, package_balance_at = :at",
             ConditionExpression="attribute_exists(PK)",
             ExpressionAttributeValues=to_item({":b": amount, ":at": at}))
