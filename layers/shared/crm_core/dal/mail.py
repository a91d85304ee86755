"""Web login, password-reset tokens, mailings, mail lists and suppressed addresses, in the customers table.

- login: ``LOGIN#<customer id>`` / ``LOGIN`` — the Argon2id hash, whether it must be changed at the next login,
  its ``generation``, one more each time a password is set, by any route, and its recovery address (``email``:
  where reset links go — the customer's email when an admin last set a password). A partition of its own, so
  the public function, which sets passwords, writes no customer's partition. A login kept where logins were
  kept before (``CUST#<id>`` / ``LOGIN``, in a table deployed earlier) is copied here the first time it is
  read (``login``), carrying its generation on; from then on this one is the login.
- reset token: ``RESET#<sha-256 of the token>`` / ``TOKEN`` — the customer, the login's generation when it was
  made, and when it expires (and an ``expiration`` for TTL). Only the hash is stored. Using it deletes it in
  the same transaction that sets the new password, on the condition that it is still there, unexpired, and of
  the login's current generation: single use even when two requests race, and dead once any password is set
  after it (a newer reset used, staff setting one, the customer changing theirs).
- trusted address: ``SIGNIN#<username digest>`` / ``<address digest>`` — an address the customer signed in
  from (90 days, TTL): past the username's ceiling of failures, only such addresses may still try.
- suppressed address: ``SUPPRESSED#<normalised email>`` / ``SUPPRESSION`` — set by bounces and complaints.
- mailing: ``MAILING#<id>`` / ``JOB`` (GSI1 ``MAILINGS`` / ``<id>``) with its counts; each recipient
  ``MAILING#<id>`` / ``R#<customer id>`` with its outcome. A recipient moves ``pending`` → ``sending`` →
  ``sent`` / ``skipped`` / ``failed`` with conditional writes, so a redelivered batch never sends twice.
- mail list: ``MAILLIST#<id>`` / ``LIST`` (GSI1 ``MAILLISTS`` / ``<id>``): a name and the customer ids.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from crm_core.clock import iso, utcnow
from crm_core.dal.customers import customer_pk
from crm_core.dal.dynamo import (
    ConditionFailed,
    batch_write,
    call,
    error_code,
    from_item,
    key,
    query_all,
    to_item,
    transact,
)

LOGIN = "LOGIN"


def login_pk(customer_id: str) -> str:
    return f"LOGIN#{customer_id}"


class TokenSpent(Exception):
    """The reset token is unknown, used or expired."""


class MailRepository:
    def __init__(self, ddb: Any, table: str) -> None:
        self._ddb = ddb
        self._table = table

    # ---- login ---------------------------------------------------------------------------------------

    def login(self, customer_id: str) -> dict[str, Any] | None:
        answer = call(self._ddb.get_item, TableName=self._table, Key=key(login_pk(customer_id), LOGIN),
                      ConsistentRead=True)
        return from_item(answer["Item"]) if "Item" in answer else self._adopt(customer_id)

    def _adopt(self, customer_id: str) -> dict[str, Any] | None:
        """The login kept in the customer's partition by an earlier version, copied to its own (None: none)."""
        answer = call(self._ddb.get_item, TableName=self._table, Key=key(customer_pk(customer_id), LOGIN),
                      ConsistentRead=True)
        if "Item" not in answer:
            return None
        try:
            call(self._ddb.put_item, TableName=self._table, ConditionExpression="attribute_not_exists(PK)",
                 Item={**answer["Item"], "PK": {"S": login_pk(customer_id)}})
        except ClientError as exc:
            if error_code(exc) != "ConditionalCheckFailedException":
                raise
        return self.login(customer_id)  # this copy, or the one another request made meanwhile

    def set_password(self, customer_id: str, password_hash: str, must_change: bool, by: str,
                     rebind: bool = False, recovery: str | None = None) -> None:
        """Set the password (a new login, or a new generation of it: every reset link made before is dead).
        ``rebind``: reset links go to ``recovery`` from now on (none: no reset links); else where they went."""
        self.login(customer_id)  # an earlier version's login is carried over first, with its generation
        call(self._ddb.update_item, **_set_password(self._table, customer_id, password_hash, must_change, by,
                                                    rebind, recovery))

    def email_when_set(self, customer_id: str, set_at: str | None) -> tuple[bool, str | None]:
        """For a login kept before recovery addresses were: whether the customer's email changed after its
        password was set (``set_at``), and if so what it was then (the first change's old value) — read from the
        customer's history."""
        request: dict[str, Any] = {
            "TableName": self._table, "KeyConditionExpression": "PK = :pk AND SK BETWEEN :from AND :to",
            "ExpressionAttributeValues": {":pk": {"S": customer_pk(customer_id)},
                                          ":from": {"S": f"HIST#{set_at or ''}"}, ":to": {"S": "HIST#~"}},
            "Limit": 200}
        while True:
            answer = call(self._ddb.query, **request)
            for item in answer.get("Items", []):
                for change in from_item(item)["entry"].get("changes") or []:
                    if change.get("field") == "email":
                        old = change.get("old")
                        return True, str(old) if old else None
            if "LastEvaluatedKey" not in answer:
                return False, None
            request["ExclusiveStartKey"] = answer["LastEvaluatedKey"]

    def generation(self, customer_id: str) -> int | None:
        """The login's generation (0 for one set before generations were counted); None without a login."""
        if self.login(customer_id) is None:
            return None
        try:
            answer = call(self._ddb.update_item, TableName=self._table, Key=key(login_pk(customer_id), LOGIN),
                          UpdateExpression="ADD #g :zero", ConditionExpression="attribute_exists(PK)",
                          ExpressionAttributeNames={"#g": "generation"},
                          ExpressionAttributeValues={":zero": {"N": "0"}}, ReturnValues="ALL_NEW")
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                return None
            raise
        return int(answer["Attributes"]["generation"]["N"])

    def put_token(self, token_hash: str, customer_id: str, generation: int, expires_at: datetime) -> None:
        call(self._ddb.put_item, TableName=self._table, Item=to_item({
            "PK": f"RESET#{token_hash}", "SK": "TOKEN", "customer_id": customer_id, "generation": generation,
            "expires_at": iso(expires_at), "expiration": int((expires_at + timedelta(days=1)).timestamp())}))

    def trust(self, user_digest: str, address_digest: str, days: int = 90) -> None:
        call(self._ddb.put_item, TableName=self._table, Item=to_item({
            "PK": f"SIGNIN#{user_digest}", "SK": address_digest,
            "expiration": int((utcnow() + timedelta(days=days)).timestamp())}))

    def trusted(self, user_digest: str, address_digest: str) -> bool:
        answer = call(self._ddb.get_item, TableName=self._table, Key=key(f"SIGNIN#{user_digest}", address_digest))
        item = answer.get("Item") or {}
        return "expiration" in item and int(item["expiration"]["N"]) > utcnow().timestamp()

    def token_owner(self, token_hash: str) -> str | None:
        answer = call(self._ddb.get_item, TableName=self._table, Key=key(f"RESET#{token_hash}", "TOKEN"),
                      ConsistentRead=True)
        if "Item" not in answer:
            return None
        item = from_item(answer["Item"])
        return str(item["customer_id"]) if str(item["expires_at"]) > iso(utcnow()) else None

    def spend_token(self, token_hash: str, customer_id: str, password_hash: str) -> None:
        """Delete the token (if still there, unexpired and of the login's generation) and set the password, at
        once."""
        token = self.token(token_hash)
        generation = int((token or {}).get("generation", -1))
        self.login(customer_id)  # a link sent before the login moved to its own partition still works
        update = _set_password(self._table, customer_id, password_hash, False, "password reset")
        update["ConditionExpression"] = "attribute_exists(PK) AND #g = :g"
        update["ExpressionAttributeValues"][":g"] = {"N": str(generation)}
        try:
            transact(self._ddb, [
                ("token", {"Delete": {"TableName": self._table, "Key": key(f"RESET#{token_hash}", "TOKEN"),
                                      "ConditionExpression": "customer_id = :c AND expires_at > :now AND #g = :g",
                                      "ExpressionAttributeNames": {"#g": "generation"},
                                      "ExpressionAttributeValues": to_item({":c": customer_id, ":now": iso(utcnow()),
                                                                            ":g": generation})}}),
                ("login", {"Update": update}),
            ])
        except ConditionFailed as failed:
            raise TokenSpent() from failed

    def token(self, token_hash: str) -> dict[str, Any] | None:
        answer = call(self._ddb.get_item, TableName=self._table, Key=key(f"RESET#{token_hash}", "TOKEN"),
                      ConsistentRead=True)
        return from_item(answer["Item"]) if "Item" in answer else None

    # ---- suppression ----------------------------------------------------------------------------------

    def suppress(self, email: str, reason: str, detail: str) -> None:
        call(self._ddb.put_item, TableName=self._table, Item=to_item({
            "PK": f"SUPPRESSED#{email}", "SK": "SUPPRESSION", "reason": reason, "detail": detail[:500],
            "at": iso(utcnow())}))

    def suppressed(self, emails: list[str]) -> dict[str, str]:
        from crm_core.dal.dynamo import batch_get

        keys = [key(f"SUPPRESSED#{e}", "SUPPRESSION") for e in dict.fromkeys(emails)]
        items = batch_get(self._ddb, self._table, keys)
        return {str(i["PK"]["S"]).removeprefix("SUPPRESSED#"): i["reason"]["S"] for i in items}

    # ---- mailings --------------------------------------------------------------------------------------

    def create_mailing(self, mailing: dict[str, Any]) -> None:
        call(self._ddb.put_item, TableName=self._table, ConditionExpression="attribute_not_exists(PK)",
             Item=to_item({**mailing, "PK": f"MAILING#{mailing['id']}", "SK": "JOB", "GSI1PK": "MAILINGS",
                           "GSI1SK": mailing["id"]}))

    def mailing(self, mailing_id: str) -> dict[str, Any] | None:
        answer = call(self._ddb.get_item, TableName=self._table, Key=key(f"MAILING#{mailing_id}", "JOB"),
                      ConsistentRead=True)
        return from_item(answer["Item"]) if "Item" in answer else None

    def set_mailing(self, mailing_id: str, fields: dict[str, Any], only_if: str | None = None) -> bool:
        names = {f"#f{n}": name for n, name in enumerate(fields)}
        values = {f":f{n}": value for n, value in enumerate(fields.values())}
        request: dict[str, Any] = {
            "TableName": self._table, "Key": key(f"MAILING#{mailing_id}", "JOB"),
            "UpdateExpression": "SET " + ", ".join(f"#f{n} = :f{n}" for n in range(len(fields))),
            "ExpressionAttributeNames": names, "ExpressionAttributeValues": to_item(values),
            "ConditionExpression": "attribute_exists(PK)"}
        if only_if:
            request["ConditionExpression"] += " AND #status = :only"
            request["ExpressionAttributeNames"]["#status"] = "status"
            request["ExpressionAttributeValues"][":only"] = {"S": only_if}
        try:
            call(self._ddb.update_item, **request)
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def count(self, mailing_id: str, outcomes: dict[str, int]) -> dict[str, Any]:
        """Add outcomes to the mailing's counts (and take them off pending) in one update; the mailing after."""
        names = {f"#o{n}": outcome for n, outcome in enumerate(outcomes)}
        values = {f":n{n}": {"N": str(count)} for n, count in enumerate(outcomes.values())}
        values[":minus"] = {"N": str(-sum(outcomes.values()))}
        adds = [f"counts.#o{n} :n{n}" for n in range(len(outcomes))] + ["counts.pending :minus"]
        answer = call(self._ddb.update_item, TableName=self._table, Key=key(f"MAILING#{mailing_id}", "JOB"),
                      UpdateExpression="ADD " + ", ".join(adds), ExpressionAttributeNames=names,
                      ExpressionAttributeValues=values, ReturnValues="ALL_NEW")
        return from_item(answer["Attributes"])

    def add_recipients(self, mailing_id: str, ids: list[str]) -> None:
        """Recipients start ``pending``; written again (a redelivered plan), they are overwritten only while
        still pending — a batch write cannot be conditional, so the plan writes each id once per mailing."""
        batch_write(self._ddb, self._table, [{"PutRequest": {"Item": to_item({
            "PK": f"MAILING#{mailing_id}", "SK": f"R#{i}", "customer_id": i, "status": "pending"})}} for i in ids])

    def claim_recipient(self, mailing_id: str, customer_id: str) -> bool:
        """pending → sending; False if another delivery has it (or it is done)."""
        return self._move(mailing_id, customer_id, "pending", {"status": "sending", "at": iso(utcnow())})

    def finish_recipient(self, mailing_id: str, customer_id: str, outcome: str, reason: str | None = None,
                         message_id: str | None = None, source: str = "sending") -> bool:
        fields: dict[str, Any] = {"status": outcome, "at": iso(utcnow())}
        if reason:
            fields["reason"] = reason
        if message_id:
            fields["message_id"] = message_id
        return self._move(mailing_id, customer_id, source, fields)

    def release_recipient(self, mailing_id: str, customer_id: str) -> None:
        """sending → pending (a send that did not happen: the quota ran out)."""
        self._move(mailing_id, customer_id, "sending", {"status": "pending"})

    def _move(self, mailing_id: str, customer_id: str, source: str, fields: dict[str, Any]) -> bool:
        names = {"#status": "status", **{f"#f{n}": name for n, name in enumerate(fields)}}
        values = {":from": source, **{f":f{n}": value for n, value in enumerate(fields.values())}}
        try:
            call(self._ddb.update_item, TableName=self._table, Key=key(f"MAILING#{mailing_id}", f"R#{customer_id}"),
                 UpdateExpression="SET " + ", ".join(f"#f{n} = :f{n}" for n in range(len(fields))),
                 ConditionExpression="#status = :from", ExpressionAttributeNames=names,
                 ExpressionAttributeValues=to_item(values))
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def recipients(self, mailing_id: str, limit: int, after: str | None) -> tuple[list[dict[str, Any]], str | None]:
        request: dict[str, Any] = {
            "TableName": self._table, "Limit": limit, "KeyConditionExpression": "PK = :pk AND begins_with(SK, :r)",
            "ExpressionAttributeValues": {":pk": {"S": f"MAILING#{mailing_id}"}, ":r": {"S": "R#"}}}
        if after:
            request["ExclusiveStartKey"] = key(f"MAILING#{mailing_id}", after)
        answer = call(self._ddb.query, **request)
        last = answer.get("LastEvaluatedKey")
        return [from_item(i) for i in answer.get("Items", [])], (last["SK"]["S"] if last else None)

    def pending_recipients(self, mailing_id: str) -> list[str]:
        items = query_all(self._ddb, TableName=self._table, KeyConditionExpression="PK = :pk AND begins_with(SK, :r)",
                          FilterExpression="#s = :pending", ExpressionAttributeNames={"#s": "status"},
                          ExpressionAttributeValues={":pk": {"S": f"MAILING#{mailing_id}"}, ":r": {"S": "R#"},
                                                     ":pending": {"S": "pending"}}, ProjectionExpression="customer_id")
        return [i["customer_id"]["S"] for i in items]

    def paused_mailings(self) -> list[str]:
        items = query_all(self._ddb, TableName=self._table, IndexName="GSI1", KeyConditionExpression="GSI1PK = :pk",
                          ExpressionAttributeValues={":pk": {"S": "MAILINGS"}, ":paused": {"S": "paused"}},
                          FilterExpression="#s = :paused", ExpressionAttributeNames={"#s": "status"})
        return [i["GSI1SK"]["S"] for i in items]

    # ---- mail lists ------------------------------------------------------------------------------------

    def put_list(self, mail_list: dict[str, Any], version: int | None) -> None:
        request: dict[str, Any] = {"TableName": self._table, "Item": to_item({
            **mail_list, "PK": f"MAILLIST#{mail_list['id']}", "SK": "LIST", "GSI1PK": "MAILLISTS",
            "GSI1SK": mail_list["id"]})}
        if version is None:
            request["ConditionExpression"] = "attribute_not_exists(PK)"
        else:
            request["ConditionExpression"] = "#v = :v"
            request["ExpressionAttributeNames"] = {"#v": "version"}
            request["ExpressionAttributeValues"] = {":v": {"N": str(version)}}
        call(self._ddb.put_item, **request)

    def get_list(self, list_id: str) -> dict[str, Any] | None:
        answer = call(self._ddb.get_item, TableName=self._table, Key=key(f"MAILLIST#{list_id}", "LIST"),
                      ConsistentRead=True)
        return from_item(answer["Item"]) if "Item" in answer else None

    def lists(self) -> list[dict[str, Any]]:
        items = query_all(self._ddb, TableName=self._table, IndexName="GSI1", KeyConditionExpression="GSI1PK = :pk",
                          ExpressionAttributeValues={":pk": {"S": "MAILLISTS"}})
        found = [self.get_list(i["GSI1SK"]["S"]) for i in items]
        return [f for f in found if f is not None]

    def delete_list(self, list_id: str) -> bool:
        answer = call(self._ddb.delete_item, TableName=self._table, Key=key(f"MAILLIST#{list_id}", "LIST"),
                      ReturnValues="ALL_OLD")
        return "Attributes" in answer


def _set_password(table: str, customer_id: str, password_hash: str, must_change: bool, by: str,
                  rebind: bool = False, recovery: str | None = None) -> dict[str, Any]:
    """The UpdateItem that sets a login's password and moves its generation on (``rebind``: and sets where
    reset links go, or that they go nowhere)."""
    values: dict[str, Any] = {":h": password_hash, ":m": must_change, ":at": iso(utcnow()), ":by": by, ":one": 1}
    expression = "SET password_hash = :h, must_change = :m, set_at = :at, set_by = :by"
    if rebind and recovery:
        expression += ", #e = :e"
        values[":e"] = recovery
    expression += " ADD #g :one"
    if rebind and not recovery:
        expression += " REMOVE #e"
    return {"TableName": table, "Key": key(login_pk(customer_id), LOGIN), "UpdateExpression": expression,
            "ExpressionAttributeNames": {"#g": "generation", **({"#e": "email"} if rebind else {})},
            "ExpressionAttributeValues": to_item(values)}
