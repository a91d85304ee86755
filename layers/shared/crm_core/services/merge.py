"""Merge a source customer into a target: everything of the source moves to the target, relationships
pointing at the source are re-pointed, and the source becomes ``merged``, pointing at the target.
See ``dal/merge.py`` for how a merge cut off half-way is finished by running it again."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel

from crm_core.clock import iso, utcnow
from crm_core.dal.customers import CustomerRepository, customer_pk
from crm_core.dal.merge import MergeRefused, MergeRepository, Unit
from crm_core.dal.points import PointsRepository
from crm_core.dal.search import customer_terms
from crm_core.errors import Conflict, Invalid, NotFound, RetryLater, field_error
from crm_core.models.customer import Customer, FieldChange, HistoryEntry
from crm_core.services.customers import claims_of
from crm_core.status import refuse_merged

# The source keeps its profile and its summaries; its money records move and the target's money summary is
# rebuilt from them. The accounting link stays: the target has (or gets) its own; so does a web login an earlier
# version kept in the customer's partition (a merged customer signs in no more, and the target keeps its own).
STAYS_WITH_SOURCE = ("PROFILE", "POINTS", "TOMBSTONE", "STAFF#", "MERGE#", "MONEY", "ACCOUNTING", "LOGIN")
GOES_WITH_SOURCE = ("ACCTSYNC",)  # a merged customer is not synced to the accounts package any more


class MergeResult(BaseModel):
    target: Customer
    source_id: str
    moved: dict[str, int]
    resumed: bool


class MergePreview(BaseModel):
    """What a merge would do, read without writing: what moves (counted as ``moved`` will count it), the
    points balances that add up, and the source's username and email that are released."""

    target: Customer
    source: Customer
    moves: dict[str, int]
    points: dict[str, int]
    released: dict[str, str]


class MergeService:
    def __init__(self, customers: CustomerRepository, merges: MergeRepository, points: PointsRepository,
                 rebuild_money: Callable[[str], object] | None = None) -> None:
        self._customers = customers
        self._merges = merges
        self._points = points
        self._rebuild_money = rebuild_money

    def preview(self, target_id: str, source_id: str) -> MergePreview:
        target, source = self._pair(target_id, source_id)
        refuse_merged(source)
        moves: Counter[str] = Counter(counted for _, counted, _ in self._plan(source_id, target_id) if counted)
        points = {"source": self._points.balance(source.id)[0], "target": self._points.balance(target.id)[0]}
        return MergePreview(target=target, source=source, moves=dict(moves),
                            points={**points, "after": points["source"] + points["target"]},
                            released=self._released(source))

    def merge(self, target_id: str, source_id: str, actor: str) -> MergeResult:
        target, source = self._pair(target_id, source_id)
        marker = self._merges.marker(target_id, source_id)
        resumed = source.status == "merged"
        if resumed and source.merged_into != target_id:
            refuse_merged(source)
        if resumed and marker is None:
            return MergeResult(target=target, source_id=source_id, moved={}, resumed=True)  # done before
        if not resumed:
            marker = self._begin(source, target, actor)
        assert marker is not None
        moved = self._move(source_id, target_id)
        if self._rebuild_money and any(k in moved for k in ("invoices", "payments", "purchases")):
            self._rebuild_money(target_id)  # before the marker goes: a merge cut off here is finished again
        self._finish(source, target, marker, moved, actor)
        current = self._customers.get(target_id, consistent=True)
        return MergeResult(target=current or target, source_id=source_id, moved=dict(moved), resumed=resumed)

    def _pair(self, target_id: str, source_id: str) -> tuple[Customer, Customer]:
        """The target and the source, if a merge of the two may start (or carry on)."""
        if source_id == target_id:
            raise Invalid("a customer cannot be merged into itself",
                          fields=[field_error("source_id", "is the target customer")])
        target = self._customers.get(target_id, consistent=True)
        if target is None:
            raise NotFound(f"customer {target_id} does not exist")
        source = self._customers.get(source_id, consistent=True)
        if source is None:
            raise Invalid(f"customer {source_id} does not exist", fields=[field_error("source_id", "no such customer")])
        return refuse_merged(target), source  # merge into the customer it went to

    def _released(self, source: Customer) -> dict[str, str]:
        """The source's claims that the merge frees: its username, and its email if it holds that claim."""
        return {k: v for k, v in claims_of(source).items()
                if k == "username" or self._customers.claim_owner(k, v) == source.id}

    def _begin(self, source: Customer, target: Customer, actor: str) -> dict[str, Any]:
        for _ in range(3):
            now = utcnow()
            marker = {"source_id": source.id, "source_number": source.customer_number,
                      "source_name": source.display_name, "started_at": iso(now), "started_by": actor}
            frozen = source.model_copy(update={"status": "merged", "merged_into": target.id, "assigned_staff": [],
                                               "version": source.version + 1, "updated_at": now,
                                               "updated_by": actor})
            released = self._released(source)
            points = (self._points.balance(source.id), self._points.balance(target.id))
            try:
                self._merges.begin(source, frozen, target, marker, points, released)
                return marker
            except MergeRefused as refused:
                if refused.which == "points":
                    continue  # a points adjustment landed in between: read the balances again
                if refused.which == "target":
                    current = self._customers.get(target.id, consistent=True)
                    if current is None:
                        raise NotFound(f"customer {target.id} does not exist") from None
                    refuse_merged(current)
                raise Conflict("one of the customers changed while the merge started; look again and retry") \
                    from None
        raise RetryLater("the customers' points are being changed; retry shortly")

    def _plan(self, source_id: str, target_id: str) -> list[tuple[dict[str, Any], str | None, str]]:
        """Each of the source's items that leaves it: the item, what it is counted as (None: not counted),
        and how it goes — ``move``, ``move_aside`` (a second membership record), ``move_link`` (its other side
        re-pointed), ``drop_link`` (a link to the target, or one the target already has) or ``drop``."""
        items = [i for i in self._customers.partition(source_id) if not str(i["SK"]).startswith(STAYS_WITH_SOURCE)]
        target_items = self._customers.partition(target_id)
        target_links = {(i["related_id"], i["type"]) for i in target_items if str(i["SK"]).startswith("REL#")}
        has_membership = any(i["SK"] == "MEMBERSHIP" for i in target_items)
        plan: list[tuple[dict[str, Any], str | None, str]] = []
        for item in items:
            sk = str(item["SK"])
            if sk in GOES_WITH_SOURCE:
                plan.append((item, None, "drop"))
            elif sk.startswith("REL#"):
                if item["related_id"] == target_id or (item["related_id"], item["type"]) in target_links:
                    plan.append((item, "relationships_dropped", "drop_link"))
                else:
                    plan.append((item, "relationships", "move_link"))
            elif sk == "MEMBERSHIP" and has_membership:
                plan.append((item, "memberships", "move_aside"))
            else:
                kind = sk.split("#", 1)[0]
                plan.append((item, _COUNTED.get(kind, kind.lower()), "move"))
        return plan

    def _move(self, source_id: str, target_id: str) -> Counter[str]:
        plan = self._plan(source_id, target_id)
        others = self._merges.items([(customer_pk(i["related_id"]), i["SK"]) for i, _, how in plan
                                     if how == "move_link"])
        units: list[Unit] = []
        moved: Counter[str] = Counter()
        for item, counted, how in plan:
            key = (item["PK"], str(item["SK"]))
            if how == "drop":
                units.append(self._merges.dropped(key))
            elif how == "drop_link":
                units.append(self._merges.dropped(key, (customer_pk(item["related_id"]), key[1])))
            elif how == "move_link":
                unit = self._merges.moved(item, target_id)
                other = (customer_pk(item["related_id"]), key[1])
                if other in others:
                    unit += self._merges.repointed(*other, target_id)
                units.append(unit)
            elif how == "move_aside":
                units.append(self._merges.moved(item, target_id, sk=f"MEMBERSHIP#{source_id}"))
            else:
                units.append(self._merges.moved(item, target_id))
            if counted:
                moved[counted] += 1
        self._merges.apply(units)
        return moved

    def _finish(self, source: Customer, target: Customer, marker: dict[str, Any], moved: Counter[str],
                actor: str) -> None:
        self._customers.remove_items(self._customers.search_item_keys(source.id, customer_terms(source)))
        now = utcnow()
        summary = {"source_id": source.id, "source_number": marker.get("source_number"), **moved}
        self._merges.finish(source.id, target.id, [
            (target.id, HistoryEntry(at=now, by=actor, action="merged_from",
                                     changes=[FieldChange(field="merged_from", new=summary)])),
            (source.id, HistoryEntry(at=now, by=actor, action="merged_into", changes=[
                FieldChange(field="status", old=source.status if source.status != "merged" else None, new="merged"),
                FieldChange(field="merged_into", new=target.id)])),
        ])


_COUNTED = {"NOTE": "notes", "TASK": "tasks", "BENEFIT": "benefits", "PTS": "points_entries", "HIST": "history",
            "MEMBERSHIP": "memberships", "INV": "invoices", "PAY": "payments", "PURCH": "purchases"}
