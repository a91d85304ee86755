"""Money in the customer's partition.

- ``CUST#<id>`` / ``MONEY``: the money summary — currency, version, every open invoice (number, dates, what
  is left to pay, status), unallocated credit, and the balance as last refreshed (aging, when). GSI2
  ``REFRESH#<yyyy-mm-dd>`` / ``<id>``: the day the balance must next be recomputed — today when money
  changed, else the day an open invoice next crosses a due date or aging edge; absent when nothing is
  open. The nightly run reads only the partitions of the days that have come.
- ``CUST#<id>`` / ``INV#<id>``: an invoice; ``PAY#<id>``: a payment or credit with its allocations;
  ``PURCH#<id>``: a purchase.
- ``INVNO#<number>`` / ``CLAIM``: invoice numbers are unique (claimed in the invoice's transaction);
  ``COUNTER`` / ``invoice_number`` gives numbers to invoices sent without one.

Every money change is one transaction: the record, the invoices it touches, the summary (only if its
version is still the one read), and the customer's history entry. The summary's presence is what marks a
customer as having transactions (see ``TRANSACTION_MARKERS``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from botocore.exceptions import ClientError

from crm_core.dal.customers import MONEY_SUMMARY, PROFILE, customer_pk, history_item, put_action
from crm_core.dal.dynamo import ConditionFailed, call, error_code, from_item, key, query_all, to_item, transact
from crm_core.models.customer import HistoryEntry
from crm_core.money import OpenInvoice

SUMMARY = MONEY_SUMMARY
INVOICE, PAYMENT, PURCHASE = "INV#", "PAY#", "PURCH#"
FIRST_INVOICE_NUMBER = 1000


class MoneyMoved(Exception):
    """The summary changed since it was read (another money change, or a refresh)."""


class NotAllowed(Exception):
    """The customer is missing or merged."""


class NumberTaken(Exception):
    pass


@dataclass
class Summary:
    customer_id: str
    currency: str
    version: int = 0
    open: dict[str, OpenInvoice] = field(default_factory=dict)
    credit: Decimal = Decimal("0.00")
    changed_at: datetime | None = None
    refreshed_at: datetime | None = None
    snapshot: dict[str, Any] = field(default_factory=dict)
    refresh_on: date | None = None
    refresh_error: str | None = None  # why the last refresh failed (until one succeeds)


class MoneyRepository:
    def __init__(self, ddb: Any, table: str) -> None:
        self._ddb = ddb
        self._table = table

    def summary(self, customer_id: str, consistent: bool = True) -> Summary | None:
        answer = call(self._ddb.get_item, TableName=self._table, Key=key(customer_pk(customer_id), SUMMARY),
                      ConsistentRead=consistent)
        return _summary(customer_id, from_item(answer["Item"])) if "Item" in answer else None

    def summaries(self, ids: list[str]) -> dict[str, Summary]:
        from crm_core.dal.dynamo import batch_get

        items = batch_get(self._ddb, self._table, [key(customer_pk(i), SUMMARY) for i in dict.fromkeys(ids)])
        found = [from_item(i) for i in items]
        return {str(v["PK"]).removeprefix("CUST#"): _summary(str(v["PK"]).removeprefix("CUST#"), v) for v in found}

    def invoice(self, customer_id: str, invoice_id: str) -> dict[str, Any] | None:
        answer = call(self._ddb.get_item, TableName=self._table, Key=key(customer_pk(customer_id),
                                                                           INVOICE + invoice_id), ConsistentRead=True)
        return from_item(answer["Item"]) if "Item" in answer else None

    def records(self, customer_id: str, prefix: str, limit: int, after: str | None) -> tuple[list[dict[str, Any]],
                                                                                             str | None]:
        request: dict[str, Any] = {
            "TableName": self._table, "ScanIndexForward": False, "Limit": limit,
            "KeyConditionExpression": "PK = :pk AND begins_with(SK, :p)",
            "ExpressionAttributeValues": {":pk": {"S": customer_pk(customer_id)}, ":p": {"S": prefix}},
        }
        if after:
            request["ExclusiveStartKey"] = key(customer_pk(customer_id), after)
        answer = call(self._ddb.query, **request)
        last = answer.get("LastEvaluatedKey")
        return [from_item(i) for i in answer.get("Items", [])], (last["SK"]["S"] if last else None)

    def all_records(self, customer_id: str, prefix: str) -> list[dict[str, Any]]:
        items = query_all(self._ddb, TableName=self._table, KeyConditionExpression="PK = :pk AND begins_with(SK, :p)",
                          ExpressionAttributeValues={":pk": {"S": customer_pk(customer_id)}, ":p": {"S": prefix}})
        return [from_item(i) for i in items]

    def due_on(self, day: date) -> list[str]:
        """Customers whose balance is due to be recomputed on ``day`` (ids only, from a keys-only index)."""
        items = query_all(self._ddb, TableName=self._table, IndexName="GSI2",
                          KeyConditionExpression="GSI2PK = :pk",
                          ExpressionAttributeValues={":pk": {"S": f"REFRESH#{day.isoformat()}"}})
        return [i["GSI2SK"]["S"] for i in items]

    def mark_invoice(self, customer_id: str, invoice_id: str, status: str) -> None:
        call(self._ddb.update_item, TableName=self._table, Key=key(customer_pk(customer_id), INVOICE + invoice_id),
             UpdateExpression="SET #s = :s", ConditionExpression="attribute_exists(PK) AND #s <> :paid",
             ExpressionAttributeNames={"#s": "status"},
             ExpressionAttributeValues={":s": {"S": status}, ":paid": {"S": "paid"}})

    def note_refresh_failure(self, customer_id: str, reason: str) -> None:
        """Say on the summary why its refresh failed (it stays as it is otherwise, due as it was)."""
        try:
            call(self._ddb.update_item, TableName=self._table, Key=key(customer_pk(customer_id), SUMMARY),
                 UpdateExpression="SET refresh_error = :r", ConditionExpression="attribute_exists(PK)",
                 ExpressionAttributeValues={":r": {"S": reason}})
        except ClientError as exc:
            if error_code(exc) != "ConditionalCheckFailedException":
                raise

    def next_invoice_number(self) -> int:
        answer = call(self._ddb.update_item,
                      TableName=self._table, Key=key("COUNTER", "invoice_number"),
                      UpdateExpression="SET #v = if_not_exists(#v, :start) + :one",
                      ExpressionAttributeNames={"#v": "value"},
                      ExpressionAttributeValues={":start": {"N": str(FIRST_INVOICE_NUMBER)}, ":one": {"N": "1"}},
                      ReturnValues="UPDATED_NEW")
        return int(answer["Attributes"]["value"]["N"])

    def write(self, before: Summary | None, after: Summary, records: list[dict[str, Any]],
              invoice_changes: dict[str, dict[str, Any]], history: HistoryEntry | None,
              claim_number: str | None = None) -> None:
        """One money change, all or nothing: refused if the summary moved, the customer is gone or merged, or
        the invoice number is taken."""
        pk = customer_pk(after.customer_id)
        table = self._table
        condition = "#version = :version" if before and before.version else "attribute_not_exists(PK)"
        summary = put_action(table, summary_item(after), condition, names={"#version": "version"} if before and
                             before.version else None,
                             values={":version": {"N": str(before.version)}} if before and before.version else None)
        actions: list[tuple[str, dict[str, Any]]] = [
            ("customer", {"ConditionCheck": {"TableName": table, "Key": key(pk, PROFILE),
                                             "ConditionExpression": "attribute_exists(PK) AND #s <> :merged",
                                             "ExpressionAttributeNames": {"#s": "status"},
                                             "ExpressionAttributeValues": {":merged": {"S": "merged"}}}}),
            ("summary", summary),
        ]
        actions += [("record", put_action(table, {**r, "PK": pk}, "attribute_not_exists(PK)")) for r in records]
        for invoice_id, changes in invoice_changes.items():
            names = {f"#f{n}": name for n, name in enumerate(changes)}
            values = {f":f{n}": value for n, value in enumerate(changes.values())}
            actions.append(("invoice", {"Update": {
                "TableName": table, "Key": key(pk, INVOICE + invoice_id), "ConditionExpression": "attribute_exists(PK)",
                "UpdateExpression": "SET " + ", ".join(f"#f{n} = :f{n}" for n in range(len(changes))),
                "ExpressionAttributeNames": names, "ExpressionAttributeValues": to_item(values)}}))
        if claim_number:
            actions.append(("number", put_action(table, {"PK": f"INVNO#{claim_number}", "SK": "CLAIM",
                                                         "customer_id": after.customer_id},
                                                 "attribute_not_exists(PK)")))
        if history:
            actions.append(("history", put_action(table, history_item(after.customer_id, history))))
        try:
            transact(self._ddb, actions)
        except ConditionFailed as failed:
            if failed.tag == "customer":
                raise NotAllowed() from failed
            if failed.tag == "number":
                raise NumberTaken() from failed
            raise MoneyMoved() from failed


def summary_item(s: Summary) -> dict[str, Any]:
    item: dict[str, Any] = {
        "SK": SUMMARY, "PK": customer_pk(s.customer_id), "currency": s.currency, "version": s.version,
        "credit": str(s.credit), "snapshot": s.snapshot,
        "open": {i.id: {"number": i.number, "issued_on": i.issued_on.isoformat(), "due_on": i.due_on.isoformat(),
                        "remaining": str(i.remaining), "status": i.status} for i in s.open.values()},
    }
    if s.changed_at:
        item["changed_at"] = s.changed_at.isoformat()
    if s.refreshed_at:
        item["refreshed_at"] = s.refreshed_at.isoformat()
    if s.refresh_error:
        item["refresh_error"] = s.refresh_error
    if s.refresh_on:
        item.update(GSI2PK=f"REFRESH#{s.refresh_on.isoformat()}", GSI2SK=s.customer_id)
    return item


def _summary(customer_id: str, v: dict[str, Any]) -> Summary:
    return Summary(
        customer_id=customer_id, currency=str(v["currency"]), version=int(v["version"]),
        open={i: OpenInvoice(id=i, number=str(o["number"]), issued_on=date.fromisoformat(o["issued_on"]),
                             due_on=date.fromisoformat(o["due_on"]), remaining=Decimal(str(o["remaining"])),
                             status=str(o["status"])) for i, o in (v.get("open") or {}).items()},
        credit=Decimal(str(v.get("credit", "0.00"))),
        changed_at=datetime.fromisoformat(v["changed_at"]) if v.get("changed_at") else None,
        refreshed_at=datetime.fromisoformat(v["refreshed_at"]) if v.get("refreshed_at") else None,
        snapshot=dict(v.get("snapshot") or {}),
        refresh_on=date.fromisoformat(str(v["GSI2PK"]).removeprefix("REFRESH#")) if v.get("GSI2PK") else None,
        refresh_error=str(v["refresh_error"]) if v.get("refresh_error") else None,
    )
