"""The customers table: one DynamoDB table, several item kinds (single-table design).

Items, each as PK / SK (and GSI keys), and the access pattern it serves:

- profile: ``CUST#<id>`` / ``PROFILE``; GSI1 ``REG#<yyyy-mm>`` / ``<id>``; GSI2 ``DEDUPE#<name|postcode>`` /
  ``<id>``; GSI3 ``REGTS#<type>#<status>#<yyyy-mm>`` / ``<id>``. Get by id; "registered in the last N days"
  (GSI1), the same list of one type and/or status (GSI3: one to four partitions a month, merged newest
  first); the duplicate warning.
- staff assignment: ``CUST#<id>`` / ``STAFF#<user>``; GSI1 ``STAFF#<user>`` / ``<id>``; GSI3
  ``STAFFTS#<user>#<type>#<status>`` / ``<id>``. A staff user's customers newest first, a page at a time (GSI1),
  the same of one type and/or status (GSI3: one to four partitions, merged newest first). Rewritten with the
  customer's type or status.
- history entry: ``CUST#<id>`` / ``HIST#<iso time>#<n>``. Change history, newest first.
- number lookup: ``CUSTNO#<number>`` / ``CUSTNO``. Find by customer number (BatchGet-able, for imports).
- username claim: ``USERNAME#<username>`` / ``CLAIM``. Username unique: a conditional put in the same
  transaction as the customer.
- email claim: ``EMAIL#<email>`` / ``CLAIM``. Duplicate warning; match by email; the account a reset mail
  goes to. The first customer with an email owns its claim.
- search prefix: ``S#<prefix>`` / ``<id>``, one per prefix (2 characters or more) of each search term; search
  pair: ``P#<x>#<y>`` / ``<id>``, one per two different two-character starts of the customer's terms that are
  not all digits. Keyword search reads one partition newest first and stops when the page is full; see
  ``dal/search.py``. Written in the customer's transaction (the few that do not fit in DynamoDB's 100
  actions are put before it and deleted after it; search checks every customer it shows on the profile). If
  that transaction fails, the items put before it are made again what the profile, as it is then, makes them.
- counter: ``COUNTER`` / ``customer_number``. Allocates customer numbers (in blocks, for imports).
- accounting sync marker: ``CUST#<id>`` / ``ACCTSYNC``; GSI1 ``ACCTSYNC#<shard>`` / ``<id>``. Written with a
  new customer and with every change to what the accounts package holds; see ``dal/accounting.py``.
- tombstone: ``CUST#<id>`` / ``TOMBSTONE``. Left by a deletion: who deleted the customer and the search
  terms whose items are still to remove, so the history stays readable and an interrupted deletion can be
  finished.

The customer's records (notes, tasks, relationships, benefits, membership) and points live in the same
partition: see ``dal/records.py`` and ``dal/points.py``.

Every ``id`` is a ULID, so sorting ids sorts by registration time. Nothing here scans the table.
GSI1 projects ``type`` and ``status``; GSI3 is keys only.
"""

from __future__ import annotations

import contextlib
import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from crm_core.clock import iso, utcnow
from crm_core.dal.dynamo import (
    TRANSACTION_MAX,
    ConditionFailed,
    UnprocessedAfterRetries,
    batch_get,
    batch_write,
    call,
    from_item,
    key,
    query_all,
    to_item,
    transact,
)
from crm_core.dal.search import (
    ItemKey,
    PostingPage,
    SearchItemChanges,
    Term,
    customer_terms,
    is_search_item,
    keyword_filter,
    search_item_changes,
    search_items,
)
from crm_core.errors import RetryLater
from crm_core.ids import id_time, min_id_at, new_id
from crm_core.models.customer import Customer, HistoryEntry

PROFILE = "PROFILE"
CLAIM = "CLAIM"
TOMBSTONE = "TOMBSTONE"
POINTS_SUMMARY = "POINTS"
MONEY_SUMMARY = "MONEY"
# Items whose presence means the customer has transactions logged against it (and so cannot be deleted)
TRANSACTION_MARKERS = (POINTS_SUMMARY, MONEY_SUMMARY)
FIRST_CUSTOMER_NUMBER = 100_000
SYNC_MARKER = "ACCTSYNC"
SYNC_SHARDS = 8
# What the accounts package holds of a customer: a change to one of these asks for a sync
ACCOUNTING_FIELDS = ("type", "first_name", "last_name", "organization_name", "email", "phone", "address")
TYPES = ("individual", "organization")
STATUSES = ("active", "enrolled", "inactive", "merged")
SETTLE_ATTEMPTS = 3
# A stretch of one partition of an index, by id (registration month or staff user: GSI1; type and status: GSI3)
_GSI1 = {"IndexName": "GSI1", "KeyConditionExpression": "GSI1PK = :pk AND GSI1SK BETWEEN :low AND :high",
         "ProjectionExpression": "GSI1SK"}
_GSI3 = {"IndexName": "GSI3", "KeyConditionExpression": "GSI3PK = :pk AND GSI3SK BETWEEN :low AND :high",
         "ProjectionExpression": "GSI3SK"}


@dataclass
class NewCustomer:
    """A customer to create in bulk, with everything written with it."""

    customer: Customer
    terms: set[Term]
    entry: HistoryEntry
    claims: dict[str, str]
    dedupe: str | None


NOT_WRITTEN = "the database kept refusing this row's writes; import the row again"


class ClaimTaken(Exception):
    def __init__(self, kind: str, value: str) -> None:
        super().__init__(f"{kind} {value!r} is taken")
        self.kind = kind
        self.value = value


class StaleVersion(Exception):
    pass


class HasTransactions(Exception):
    pass


def customer_pk(customer_id: str) -> str:
    return f"CUST#{customer_id}"


def claim_pk(kind: str, value: str) -> str:
    return f"{kind.upper()}#{value}"


def sync_marker(customer_id: str) -> dict[str, Any]:
    """The "sync me" item for the accounting sync (plain values, ready for a put)."""
    shard = hashlib.sha256(customer_id.encode()).digest()[0] % SYNC_SHARDS
    return {"PK": customer_pk(customer_id), "SK": SYNC_MARKER, "at": iso(utcnow()),
            "GSI1PK": f"{SYNC_MARKER}#{shard}", "GSI1SK": customer_id}


def registration_bucket(moment: datetime) -> str:
    return f"REG#{moment:%Y-%m}"


def kind_bucket(type_: str, status: str, moment: datetime) -> str:
    """GSI3's partition: customers of one type and status registered in one month."""
    return f"REGTS#{type_}#{status}#{moment:%Y-%m}"


def staff_bucket(staff_user: str, type_: str, status: str) -> str:
    """GSI3's partition: the customers of one type and status assigned to a staff user."""
    return f"STAFFTS#{staff_user}#{type_}#{status}"


def _kinds(type_: str | None, status: str | None) -> list[tuple[str, str]]:
    """The (type, status) pairs a filter asks for (commonest first)."""
    return [(t, s) for t in ([type_] if type_ else TYPES) for s in ([status] if status else STATUSES)]


class CustomerRepository:
    def __init__(self, ddb: Any, table: str) -> None:
        self._ddb = ddb
        self._table = table

    # ---- reads -------------------------------------------------------------------------------------

    def get(self, customer_id: str, consistent: bool = False) -> Customer | None:
        answer = call(self._ddb.get_item, TableName=self._table, Key=key(customer_pk(customer_id), PROFILE),
                      ConsistentRead=consistent)
        item = answer.get("Item")
        return customer_from_item(item) if item else None

    def get_many(self, ids: list[str]) -> dict[str, Customer]:
        keys = [key(customer_pk(i), PROFILE) for i in dict.fromkeys(ids)]
        return {c.id: c for c in (customer_from_item(item) for item in batch_get(self._ddb, self._table, keys))}

    def types_and_statuses(self, ids: list[str]) -> dict[str, tuple[str, str]]:
        keys = [key(customer_pk(i), PROFILE) for i in dict.fromkeys(ids)]
        items = batch_get(self._ddb, self._table, keys, projection="id, #t, #s", names={"#t": "type", "#s": "status"})
        return {i["id"]["S"]: (i["type"]["S"], i["status"]["S"]) for i in items}

    def lookups(self, numbers: set[str], usernames: set[str], emails: set[str]) -> dict[tuple[str, str], str]:
        """Which customer each number, username and email belongs to, in BatchGetItem calls of 100 keys."""
        keys = [key(f"CUSTNO#{n}", "CUSTNO") for n in sorted(numbers)]
        keys += [key(claim_pk("username", u), CLAIM) for u in sorted(usernames)]
        keys += [key(claim_pk("email", e), CLAIM) for e in sorted(emails)]
        found: dict[tuple[str, str], str] = {}
        for item in batch_get(self._ddb, self._table, keys, projection="PK, customer_id"):
            kind, value = item["PK"]["S"].split("#", 1)
            found[({"CUSTNO": "customer_number", "USERNAME": "username", "EMAIL": "email"}[kind], value)] = \
                item["customer_id"]["S"]
        return found

    def claim_owner(self, kind: str, value: str) -> str | None:
        answer = call(self._ddb.get_item, TableName=self._table, Key=key(claim_pk(kind, value), CLAIM))
        item = answer.get("Item")
        return item["customer_id"]["S"] if item else None

    def with_dedupe_key(self, dedupe: str) -> list[str]:
        items = query_all(self._ddb, TableName=self._table, IndexName="GSI2",
                          KeyConditionExpression="GSI2PK = :pk",
                          ExpressionAttributeValues={":pk": {"S": f"DEDUPE#{dedupe}"}})
        return [i["GSI2SK"]["S"] for i in items]

    def postings(self, pk: str, below: str | None, lowest: str | None, limit: int, words: list[str],
                 fields: set[str] | None) -> PostingPage:
        """Up to ``limit`` items of search partition ``pk`` with ids below ``below`` (and not below ``lowest``),
        newest first, keeping those whose ``w`` has every word of ``words`` (in ``fields``; ``None``: any)."""
        names: dict[str, str] = {}
        values: dict[str, Any] = {":pk": {"S": pk}}
        condition = "PK = :pk"
        if below and lowest:
            condition += " AND SK BETWEEN :low AND :high"  # the cursor's own item is read again, then left out
            values.update({":low": {"S": lowest}, ":high": {"S": below}})
        elif below:
            condition += " AND SK < :high"
            values[":high"] = {"S": below}
        elif lowest:
            condition += " AND SK >= :low"
            values[":low"] = {"S": lowest}
        request: dict[str, Any] = {"TableName": self._table, "KeyConditionExpression": condition,
                                   "ScanIndexForward": False, "Limit": limit, "ProjectionExpression": "SK"}
        if words:
            request["FilterExpression"] = keyword_filter(words, fields, names, values)
            request["ExpressionAttributeNames"] = names
        request["ExpressionAttributeValues"] = values
        answer = call(self._ddb.query, **request)
        ids = [i["SK"]["S"] for i in answer.get("Items", []) if i["SK"]["S"] != below]
        last = answer.get("LastEvaluatedKey")
        return PostingPage(ids=ids, scanned=int(answer.get("ScannedCount", 0)), last=last["SK"]["S"] if last else None)

    def registered_page(self, since: datetime, before: str | None, limit: int, type_: str | None = None,
                        status: str | None = None) -> list[str]:
        """Up to ``limit`` ids registered since ``since`` and older than id ``before``, newest first.

        Reads the month buckets backwards and stops once the page is full: GSI1's month without a type or
        status, else GSI3's partitions of that month for the type and status asked (one to four, commonest
        first, each read for at most the rest of the page and merged), so a page reads about ``limit`` items
        (at most four times that), whatever the window holds and however rare the type or status.
        """
        low = min_id_at(since)
        high = before or "~"  # "~" sorts after every id
        newest = id_time(before) if before else utcnow()
        month = datetime(newest.year, newest.month, 1, tzinfo=newest.tzinfo)
        first = datetime(since.year, since.month, 1, tzinfo=since.tzinfo)
        kinds_asked = bool(type_ or status)
        request = _GSI3 if kinds_asked else _GSI1
        found: list[str] = []
        while month >= first and len(found) < limit:
            buckets = ([kind_bucket(t, s, month) for t, s in _kinds(type_, status)] if kinds_asked
                       else [registration_bucket(month)])
            found += self._newest(request, buckets, low, high, limit - len(found), before)
            month = datetime(month.year - (month.month == 1), (month.month - 2) % 12 + 1, 1, tzinfo=month.tzinfo)
        return found[:limit]

    def assigned_page(self, staff_user: str, lowest: str | None, before: str | None, limit: int,
                      type_: str | None = None, status: str | None = None) -> list[str]:
        """Up to ``limit`` ids of the customers assigned to ``staff_user``, not below id ``lowest`` (a registration
        window) and older than id ``before``, newest first: GSI1's ``STAFF#<user>`` partition, or with a type or
        status GSI3's partitions of the staff user for that type and status (one to four, each read for at most
        the rest of the page, merged), so a page reads about ``limit`` items however many customers the staff
        user has and however rare the type or status."""
        if type_ or status:
            buckets = [staff_bucket(staff_user, t, s) for t, s in _kinds(type_, status)]
            return self._newest(_GSI3, buckets, lowest or "0", before or "~", limit, before)
        return self._newest(_GSI1, [f"STAFF#{staff_user}"], lowest or "0", before or "~", limit, before)

    def _newest(self, index: dict[str, str], buckets: list[str], low: str, high: str, wanted: int,
                before: str | None) -> list[str]:
        """The newest ``wanted`` ids of some partitions of an index between ``low`` and ``high``, merged.

        Once the partitions read so far fill the page, a later one is read only down to the oldest id the page
        can still take: a rare status's partition costs its few newer ids."""
        merged: list[str] = []
        for bucket in buckets:
            floor = sorted(merged, reverse=True)[wanted - 1] if len(merged) >= wanted else low
            merged += self._bucket_ids(index, bucket, floor, high, wanted, before)
        return sorted(merged, reverse=True)[:wanted]

    def _bucket_ids(self, index: dict[str, str], bucket: str, low: str, high: str, wanted: int,
                    before: str | None) -> list[str]:
        """The newest ``wanted`` ids of one month bucket of an index between ``low`` and ``high`` (the cursor's id
        left out)."""
        sort_key = index["ProjectionExpression"]
        request: dict[str, Any] = {
            **index, "TableName": self._table, "ScanIndexForward": False,
            "ExpressionAttributeValues": {":pk": {"S": bucket}, ":low": {"S": low}, ":high": {"S": high}},
            "Limit": wanted + (1 if before else 0),  # the page's cursor item is read again
        }
        ids: list[str] = []
        while len(ids) < wanted:
            answer = call(self._ddb.query, **request)
            ids += [i[sort_key]["S"] for i in answer.get("Items", []) if i[sort_key]["S"] != before]
            if "LastEvaluatedKey" not in answer:
                break
            request["ExclusiveStartKey"] = answer["LastEvaluatedKey"]
        return ids[:wanted]

    def history(self, customer_id: str, limit: int, after: str | None) -> tuple[list[HistoryEntry], str | None]:
        request: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "PK = :pk AND begins_with(SK, :h)",
            "ExpressionAttributeValues": {":pk": {"S": customer_pk(customer_id)}, ":h": {"S": "HIST#"}},
            "ScanIndexForward": False,
            "Limit": limit,
        }
        if after:
            request["ExclusiveStartKey"] = key(customer_pk(customer_id), after)
        answer = call(self._ddb.query, **request)
        entries = [HistoryEntry.model_validate(from_item(i)["entry"]) for i in answer.get("Items", [])]
        last = answer.get("LastEvaluatedKey")
        return entries, (last["SK"]["S"] if last else None)

    # ---- writes ------------------------------------------------------------------------------------

    def allocate_numbers(self, count: int = 1) -> range:
        """Reserve ``count`` consecutive customer numbers with one atomic update."""
        answer = call(self._ddb.update_item,
                      TableName=self._table, Key=key("COUNTER", "customer_number"),
                      UpdateExpression="SET #v = if_not_exists(#v, :start) + :n",
                      ExpressionAttributeNames={"#v": "value"},
                      ExpressionAttributeValues={":start": {"N": str(FIRST_CUSTOMER_NUMBER)}, ":n": {"N": str(count)}},
                      ReturnValues="UPDATED_NEW")
        last = int(answer["Attributes"]["value"]["N"])
        return range(last - count + 1, last + 1)

    def create(self, customer: Customer, terms: set[Term], entry: HistoryEntry, claims: dict[str, str],
               dedupe: str | None) -> None:
        """Write a new customer, its lookups, claims, search terms and first history entry atomically."""
        actions: list[tuple[str | None, dict[str, Any]]] = [
            (None, put_action(self._table, profile_item(customer, dedupe), "attribute_not_exists(PK)")),
            (None, put_action(self._table, {"PK": f"CUSTNO#{customer.customer_number}", "SK": "CUSTNO",
                                      "customer_id": customer.id}, "attribute_not_exists(PK)")),
        ]
        actions += [(kind, put_action(self._table, _claim_item(kind, value, customer.id), "attribute_not_exists(PK)"))
                    for kind, value in claims.items()]
        actions += [(None, put_action(self._table, _staff_item(customer, user))) for user in customer.assigned_staff]
        actions.append((None, put_action(self._table, history_item(customer.id, entry))))
        actions.append((None, put_action(self._table, sync_marker(customer.id))))
        self._transact_with_search(customer.id, actions, claims, search_item_changes(customer.id, set(), terms))

    def create_many(self, batch: list[NewCustomer]) -> dict[str, str]:
        """Create many customers; returns the ids that could not be written, with the reason.

        Lookups, search terms and history go first, in full BatchWriteItem calls; the profile, which makes the
        customer exist, goes last — in one transaction with its uniqueness claims when it has any, else in a
        batch. A customer whose writes DynamoDB kept refusing never gets its profile (and its other items are
        removed), so nothing is left half-written. Writing a customer that already exists (a retried import)
        changes nothing and is not a failure.
        """
        failed: dict[str, str] = {}
        extras: list[dict[str, Any]] = []
        for new in batch:
            c = new.customer
            extras.append({"customer_id": c.id, "PK": f"CUSTNO#{c.customer_number}", "SK": "CUSTNO"})
            extras += [item for _, item in sorted(search_items(c.id, new.terms).items())]
            extras.append(history_item(c.id, new.entry, suffix=c.id[-6:]))
            extras.append(sync_marker(c.id))
        failed.update(self._put_all(extras, NOT_WRITTEN))
        plain = [profile_item(n.customer, n.dedupe) for n in batch if not n.claims and n.customer.id not in failed]
        failed.update(self._put_all(plain, NOT_WRITTEN))
        for new in batch:
            if not new.claims or new.customer.id in failed:
                continue
            c = new.customer
            actions: list[tuple[str | None, dict[str, Any]]] = [
                (None, put_action(self._table, profile_item(c, new.dedupe), "attribute_not_exists(PK)"))]
            actions += [(kind, put_action(self._table, _claim_item(kind, value, c.id), "attribute_not_exists(PK)"))
                        for kind, value in new.claims.items()]
            try:
                self._transact(actions, new.claims)
            except ClaimTaken as taken:
                failed[c.id] = f"{taken.kind}: taken by another customer while the file was being imported"
            except StaleVersion:
                pass  # the profile is there already: an earlier try of this import wrote it
        gone = [e for e in extras if _owner(e) in failed]
        if gone:
            self._remove_leftovers(gone)
        return failed

    def _put_all(self, items: list[dict[str, Any]], reason: str) -> dict[str, str]:
        try:
            batch_write(self._ddb, self._table, [{"PutRequest": {"Item": to_item(i)}} for i in items])
        except UnprocessedAfterRetries as left:
            return {_owner(from_item(r["PutRequest"]["Item"])): reason for r in left.leftovers}
        return {}

    def _remove_leftovers(self, items: list[dict[str, Any]]) -> None:
        """Take back what was written for customers that were not created. What cannot be removed now stays
        unreachable: lookups and terms are only followed to profiles that exist."""
        with contextlib.suppress(UnprocessedAfterRetries):
            self.remove_items([(i["PK"], i["SK"]) for i in items])

    def update(self, before: Customer, after: Customer, terms_before: set[Term], terms_after: set[Term],
               entry: HistoryEntry, claim: dict[str, str], release: dict[str, str], dedupe: str | None) -> None:
        """Replace the profile if its version is still ``before.version``, with every index change, at once."""
        table = self._table
        actions: list[tuple[str | None, dict[str, Any]]] = [
            (None, put_action(table, profile_item(after, dedupe), "#v = :v",
                        names={"#v": "version"}, values={":v": {"N": str(before.version)}})),
        ]
        actions += [(kind, put_action(table, _claim_item(kind, value, after.id), "attribute_not_exists(PK)"))
                    for kind, value in claim.items()]
        actions += [(None, delete_action(table, key(claim_pk(kind, value), CLAIM), "customer_id = :me",
                                   values={":me": {"S": after.id}})) for kind, value in release.items()]
        old_staff, new_staff = set(before.assigned_staff), set(after.assigned_staff)
        pk = customer_pk(after.id)
        # a staff item carries the customer's type and status (GSI3): all are put again when either changes
        kind_changed = (before.type, before.status) != (after.type, after.status)
        actions += [(None, delete_action(table, key(pk, f"STAFF#{u}"))) for u in sorted(old_staff - new_staff)]
        actions += [(None, put_action(table, _staff_item(after, u)))
                    for u in sorted(new_staff if kind_changed else new_staff - old_staff)]
        actions.append((None, put_action(table, history_item(after.id, entry))))
        if any(getattr(before, f) != getattr(after, f) for f in ACCOUNTING_FIELDS):
            actions.append((None, put_action(table, sync_marker(after.id))))
        self._transact_with_search(after.id, actions, claim, search_item_changes(after.id, terms_before, terms_after))

    def reindex(self, customer: Customer, terms: set[Term]) -> bool:
        """Write a customer's search and staff items and its profile's GSI3 keys as they are made now (the index
        rebuild), if its profile is still at ``customer.version``: each transaction holds that check (the first
        one by setting the GSI3 keys), so nothing is written for a version that has moved on; False then. The
        items are put again (the same item twice changes nothing)."""
        items = [item for _, item in sorted(search_items(customer.id, terms).items())]
        items += [_staff_item(customer, user) for user in customer.assigned_staff]
        bucket = kind_bucket(customer.type, customer.status, id_time(customer.id))
        keys = {"Update": {
            "TableName": self._table, "Key": key(customer_pk(customer.id), PROFILE),
            "UpdateExpression": "SET GSI3PK = :pk, GSI3SK = :id", "ConditionExpression": "version = :v",
            "ExpressionAttributeValues": {":pk": {"S": bucket}, ":id": {"S": customer.id},
                                          ":v": {"N": str(customer.version)}}}}
        try:
            self.write_checked(customer.id, customer, items, [], first=keys)
        except StaleVersion:
            return False
        return True

    def write_checked(self, customer_id: str, customer: Customer | None, puts: list[dict[str, Any]],
                      deletes: list[ItemKey], first: dict[str, Any] | None = None) -> None:
        """Put and delete items that follow a customer's profile, in transactions that each check the profile is
        still ``customer`` (its version; ``None``: that there is none), so none is written for a profile that
        has moved on meanwhile: ``StaleVersion`` then (the transactions before it stand, right for the version
        they checked). ``first``, an action on the profile that checks its version, stands in for the check of
        the first transaction."""
        writes = [put_action(self._table, item) for item in puts]
        writes += [delete_action(self._table, key(pk, sk)) for pk, sk in deletes]
        profile = key(customer_pk(customer_id), PROFILE)
        if customer is None:
            check = {"TableName": self._table, "Key": profile, "ConditionExpression": "attribute_not_exists(PK)"}
        else:
            check = {"TableName": self._table, "Key": profile, "ConditionExpression": "version = :v",
                     "ExpressionAttributeValues": {":v": {"N": str(customer.version)}}}
        guard = first
        room = TRANSACTION_MAX - 1
        for start in range(0, len(writes), room):
            actions = [guard or {"ConditionCheck": check}, *writes[start:start + room]]
            self._transact([(None, a) for a in actions], {})
            guard = None
        if not writes and first:
            self._transact([(None, first)], {})

    def settle_search_items(self, customer_id: str, keys: list[ItemKey]) -> bool:
        """Make the search items at ``keys`` what the customer's profile, read now, makes them (gone where it
        makes none, or there is no profile), checking the profile meanwhile; read again if it moved on. For the
        items a failed transaction put before it. False if the profile kept moving (the items stay as they are:
        search checks every customer it shows on the profile; the index rebuild removes them)."""
        for _ in range(SETTLE_ATTEMPTS):
            customer = self.get(customer_id, consistent=True)
            made = search_items(customer_id, customer_terms(customer)) if customer else {}
            try:
                self.write_checked(customer_id, customer, [made[k] for k in keys if k in made],
                                   [k for k in keys if k not in made])
            except (StaleVersion, RetryLater):
                continue
            return True
        return False

    def search_item_keys(self, customer_id: str, terms: set[Term]) -> list[ItemKey]:
        """The keys of the search items a customer with these terms has (to remove them)."""
        return sorted(search_items(customer_id, terms))

    # ---- deletion ----------------------------------------------------------------------------------

    def has_transactions(self, customer_id: str) -> bool:
        keys = [key(customer_pk(customer_id), marker) for marker in TRANSACTION_MARKERS]
        return bool(batch_get(self._ddb, self._table, keys, projection="PK"))

    def tombstone(self, customer_id: str) -> dict[str, Any] | None:
        answer = call(self._ddb.get_item, TableName=self._table, Key=key(customer_pk(customer_id), TOMBSTONE),
                      ConsistentRead=True)
        return from_item(answer["Item"]) if "Item" in answer else None

    def delete(self, customer: Customer, released: dict[str, str], entry: HistoryEntry,
               tombstone: dict[str, Any]) -> None:
        """Remove the profile, its lookups and claims, and leave a tombstone and the last history entry, at once,
        if the customer is unchanged and has no transactions. ``purge`` then removes what else it had."""
        table, pk = self._table, customer_pk(customer.id)
        actions: list[tuple[str | None, dict[str, Any]]] = [
            (None, delete_action(table, key(pk, PROFILE), "#v = :v", names={"#v": "version"},
                           values={":v": {"N": str(customer.version)}})),
        ]
        actions += [("transactions", {"ConditionCheck": {"TableName": table, "Key": key(pk, marker),
                                                         "ConditionExpression": "attribute_not_exists(PK)"}})
                    for marker in TRANSACTION_MARKERS]
        actions.append((None, put_action(table, {**tombstone, "PK": pk, "SK": TOMBSTONE})))
        actions.append((None, put_action(table, history_item(customer.id, entry))))
        actions.append((None, delete_action(table, key(f"CUSTNO#{customer.customer_number}", "CUSTNO"))))
        actions += [(None, delete_action(table, key(claim_pk(kind, value), CLAIM), "customer_id = :me",
                                   values={":me": {"S": customer.id}})) for kind, value in released.items()]
        actions += [(None, delete_action(table, key(pk, f"STAFF#{u}"))) for u in customer.assigned_staff]
        try:
            self._transact(actions, {})
        except ClaimTaken as taken:  # a ConditionCheck on a transaction marker failed
            raise HasTransactions() from taken

    def add_history(self, customer_id: str, entry: HistoryEntry) -> None:
        call(self._ddb.put_item, TableName=self._table, Item=to_item(history_item(customer_id, entry)))

    def partition(self, customer_id: str) -> list[dict[str, Any]]:
        """Every item of the customer's partition, as plain values with their keys."""
        items = query_all(self._ddb, TableName=self._table, KeyConditionExpression="PK = :pk",
                          ExpressionAttributeValues={":pk": {"S": customer_pk(customer_id)}})
        return [from_item(i) for i in items]

    def remove_items(self, keys: list[tuple[str, str]]) -> None:
        """Delete items by (PK, SK), 25 a call, retrying what DynamoDB leaves unprocessed."""
        batch_write(self._ddb, self._table, [{"DeleteRequest": {"Key": key(pk, sk)}} for pk, sk in keys])

    def _transact_with_search(self, customer_id: str, actions: list[tuple[str | None, dict[str, Any]]],
                              claims: dict[str, str], search: SearchItemChanges) -> None:
        """The transaction with the search item changes in it. Those that do not fit in one transaction are
        put before it (an item for a term the profile does not have yet is never shown: search checks the
        profile) and deleted after it (likewise harmless if the deletion never happens). If the transaction
        fails, the items put before it are settled on the profile as it is then: none is left over."""
        room = TRANSACTION_MAX - len(actions)
        puts, early = search.put[:room], search.put[room:]
        room -= len(puts)
        deletes, late = search.delete[:room], search.delete[room:]
        actions = actions + [(None, put_action(self._table, item)) for item in puts]
        actions += [(None, delete_action(self._table, key(pk, sk))) for pk, sk in deletes]
        if early:
            batch_write(self._ddb, self._table, [{"PutRequest": {"Item": to_item(i)}} for i in early])
        try:
            self._transact(actions, claims)
        except Exception:
            if early:
                with contextlib.suppress(RetryLater):  # then they stay over, harmless; the rebuild removes them
                    self.settle_search_items(customer_id, [(i["PK"], i["SK"]) for i in early])
            raise
        if late:
            self.remove_items(late)

    def _transact(self, actions: list[tuple[str | None, dict[str, Any]]], claims: dict[str, str]) -> None:
        """Claims are tagged with their kind; any other failed condition is the profile's version."""
        try:
            transact(self._ddb, actions)
        except ConditionFailed as failed:
            if failed.tag is not None:
                raise ClaimTaken(failed.tag, claims.get(failed.tag, "")) from failed
            raise StaleVersion() from failed


def profile_item(customer: Customer, dedupe: str | None) -> dict[str, Any]:
    record = customer.model_dump(mode="json", exclude_none=True)
    registered = id_time(customer.id)
    record.update({"PK": customer_pk(customer.id), "SK": PROFILE, "entity": "customer",
                   "GSI1PK": registration_bucket(registered), "GSI1SK": customer.id,
                   "GSI3PK": kind_bucket(customer.type, customer.status, registered), "GSI3SK": customer.id})
    if dedupe:
        record.update({"GSI2PK": f"DEDUPE#{dedupe}", "GSI2SK": customer.id})
    return record


def customer_from_item(item: dict[str, Any]) -> Customer:
    return Customer.model_validate(from_item(item))


def put_action(table: str, item: dict[str, Any], condition: str | None = None, names: dict[str, str] | None = None,
               values: dict[str, Any] | None = None) -> dict[str, Any]:
    put: dict[str, Any] = {"TableName": table, "Item": to_item(item)}
    _conditioned(put, condition, names, values)
    return {"Put": put}


def delete_action(table: str, item_key: dict[str, Any], condition: str | None = None,
                  names: dict[str, str] | None = None, values: dict[str, Any] | None = None) -> dict[str, Any]:
    delete: dict[str, Any] = {"TableName": table, "Key": item_key}
    _conditioned(delete, condition, names, values)
    return {"Delete": delete}


def _conditioned(action: dict[str, Any], condition: str | None, names: dict[str, str] | None,
                 values: dict[str, Any] | None) -> None:
    if condition:
        action["ConditionExpression"] = condition
    if names:
        action["ExpressionAttributeNames"] = names
    if values:
        action["ExpressionAttributeValues"] = values


def _owner(item: dict[str, Any]) -> str:
    """The customer an item belongs to."""
    if is_search_item(item["PK"]):
        return str(item["SK"])
    return str(item.get("customer_id") or item.get("id") or item["PK"].removeprefix("CUST#"))


def _claim_item(kind: str, value: str, customer_id: str) -> dict[str, Any]:
    return {"PK": claim_pk(kind, value), "SK": CLAIM, "customer_id": customer_id}


def _staff_item(customer: Customer, user: str) -> dict[str, Any]:
    return {"PK": customer_pk(customer.id), "SK": f"STAFF#{user}", "GSI1PK": f"STAFF#{user}", "GSI1SK": customer.id,
            "GSI3PK": staff_bucket(user, customer.type, customer.status), "GSI3SK": customer.id}


def history_item(customer_id: str, entry: HistoryEntry, suffix: str | None = None) -> dict[str, Any]:
    """A history entry; a fixed ``suffix`` makes writing the same entry again overwrite it (retried imports)."""
    return {"PK": customer_pk(customer_id), "SK": f"HIST#{iso(entry.at)}#{suffix or new_id()[-6:]}",
            "entry": entry.model_dump(mode="json")}

