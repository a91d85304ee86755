"""Notes, tasks, account benefits, relationships and membership: records staff keep with a customer.

Each change is one transaction with the customer's history entry, refused if the customer is missing or
merged; a record carries its own ``version`` so two staff editing one note cannot overwrite each other.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from pydantic import BaseModel

from crm_core.clock import utcnow
from crm_core.dal.customers import CustomerRepository
from crm_core.dal.records import Change, CustomerUnavailable, RecordChanged, RecordRepository
from crm_core.errors import Conflict, CustomerMerged, Invalid, NotFound, VersionConflict, field_error
from crm_core.ids import new_id
from crm_core.models.customer import Customer, FieldChange, HistoryEntry
from crm_core.models.records import (
    INVERSE,
    Benefit,
    Cost,
    Delivery,
    Job,
    Membership,
    MembershipPut,
    Note,
    Record,
    Relationship,
    RelationshipCreate,
    RelationshipPatch,
    RelationshipView,
    Task,
)
from crm_core.services.staff import KnownStaff
from crm_core.status import refuse_merged

R = TypeVar("R", bound=Record)
MEMBERSHIP = "MEMBERSHIP"


@dataclass(frozen=True)
class Kind(Generic[R]):
    name: str      # "note": in messages and history actions
    plural: str    # "notes": the history field
    prefix: str    # "NOTE#": the record's sort-key prefix
    model: type[R]

    def sk(self, record_id: str) -> str:
        return f"{self.prefix}{record_id}"


NOTES = Kind("note", "notes", "NOTE#", Note)
TASKS = Kind("task", "tasks", "TASK#", Task)
BENEFITS = Kind("benefit", "benefits", "BENEFIT#", Benefit)
COSTS = Kind("cost", "costs", "COST#", Cost)
JOBS = Kind("job", "jobs", "JOB#", Job)
DELIVERIES = Kind("delivery", "deliveries", "DELIVERY#", Delivery)
RELATIONSHIPS = Kind("relationship", "relationships", "REL#", Relationship)


def task_index(task: dict[str, Any]) -> dict[str, Any]:
    """Open tasks with an assignee are listed per staff user (GSI1), soonest due first."""
    if task.get("status") != "open" or not task.get("assignee"):
        return {}
    return {"GSI1PK": f"TASKS#{task['assignee']}", "GSI1SK": f"{task.get('due_date') or '9999-12-31'}#{task['id']}"}


INDEXES = {"task": task_index}
STAFF_FIELDS = {"task": "assignee", "job": "assigned_to"}  # record fields that name a staff user of the directory


class RecordService:
    def __init__(self, customers: CustomerRepository, records: RecordRepository, known_staff: KnownStaff) -> None:
        self._customers = customers
        self._records = records
        self._known_staff = known_staff

    def _staff_named(self, kind: Kind[Any], values: dict[str, Any], before: BaseModel | None = None) -> dict[str, Any]:
        """``values`` with the staff user they name checked against the directory (and spelt as it does)."""
        field = STAFF_FIELDS.get(kind.name)
        name = values.get(field) if field else None
        if not field or not name or (before is not None and getattr(before, field) == name):
            return values
        return {**values, field: self._known_staff(field, [name])[0]}

    # ---- any kind of record --------------------------------------------------------------------

    def records(self, kind: Kind[R], customer_id: str) -> list[R]:
        self.customer(customer_id)
        found = [kind.model.model_validate(r) for r in self._records.records(customer_id, kind.prefix)]
        return sorted(found, key=lambda r: r.id, reverse=True)

    def add(self, kind: Kind[R], customer_id: str, data: BaseModel, actor: str) -> R:
        now = utcnow()
        owner = {"customer_id": customer_id} if "customer_id" in kind.model.model_fields else {}
        record = kind.model.model_validate({**self._staff_named(kind, data.model_dump()), **owner, "id": new_id(),
                                            "version": 1, "created_at": now, "created_by": actor,
                                            "updated_at": now, "updated_by": actor})
        entry = HistoryEntry(at=now, by=actor, action=f"{kind.name}_added", changes=[
            FieldChange(field=f"{kind.plural}.{record.id}", new=_public(record))])
        change = Change(customers=[customer_id], history=[(customer_id, entry)])
        change.put(customer_id, kind.sk(record.id), self._stored(kind, record), None)
        self._write(change)
        return record

    def change(self, kind: Kind[R], customer_id: str, record_id: str, patch: BaseModel, actor: str) -> R:
        before = self.get(kind, customer_id, record_id)
        expected = getattr(patch, "version", before.version)
        if expected != before.version:
            raise _stale(kind, before.version)
        updates = self._staff_named(kind, patch.model_dump(include=patch.model_fields_set - {"version"}), before)
        after = kind.model.model_validate({**before.model_dump(), **updates})
        changes = _diff(f"{kind.plural}.{record_id}", _public(before), _public(after))
        if not changes:
            return before
        now = utcnow()
        after = after.model_copy(update={"version": before.version + 1, "updated_at": now, "updated_by": actor})
        entry = HistoryEntry(at=now, by=actor, action=f"{kind.name}_changed", changes=changes)
        change = Change(customers=[customer_id], history=[(customer_id, entry)])
        change.put(customer_id, kind.sk(record_id), self._stored(kind, after), before.version)
        self._write(change, kind, customer_id, record_id)
        return after

    def remove(self, kind: Kind[R], customer_id: str, record_id: str, actor: str) -> None:
        before = self.get(kind, customer_id, record_id)
        entry = HistoryEntry(at=utcnow(), by=actor, action=f"{kind.name}_removed", changes=[
            FieldChange(field=f"{kind.plural}.{record_id}", old=_public(before))])
        change = Change(customers=[customer_id], history=[(customer_id, entry)])
        change.delete(customer_id, kind.sk(record_id), before.version)
        self._write(change, kind, customer_id, record_id)

    def get(self, kind: Kind[R], customer_id: str, record_id: str) -> R:
        found = self._records.get(customer_id, kind.sk(record_id))
        if found is None:
            self.customer(customer_id)
            raise NotFound(f"customer {customer_id} has no {kind.name} {record_id}")
        return kind.model.model_validate(found)

    def customer(self, customer_id: str) -> Customer:
        customer = self._customers.get(customer_id)
        if customer is None:
            raise NotFound(f"customer {customer_id} does not exist")
        return customer

    def open_tasks_of(self, staff_user: str) -> list[Task]:
        """A staff user's open tasks across customers, soonest due first (at most 200)."""
        return [Task.model_validate(t) for t in self._records.listed_under(f"TASKS#{staff_user}")]

    def operator_notices(self, customer_id: str) -> list[Note]:
        return [n for n in self.records(NOTES, customer_id) if n.operator_notice]

    # ---- relationships: one link, shown from both sides ----------------------------------------

    def relationships(self, customer_id: str) -> list[RelationshipView]:
        links = self.records(RELATIONSHIPS, customer_id)
        related = self._customers.get_many([link.related_id for link in links])
        return [_relationship_view(link, related.get(link.related_id)) for link in links]

    def relate(self, customer_id: str, data: RelationshipCreate, actor: str) -> RelationshipView:
        this = self.customer(customer_id)
        other = self._related(this, data.related_id)
        if any(r.related_id == other.id and r.type == data.type for r in self.records(RELATIONSHIPS, this.id)):
            raise Conflict(f"{other.display_name} is already a {data.type} of this customer",
                           fields=[field_error("related_id", f"is already linked as {data.type}")])
        now = utcnow()
        link_id = new_id()
        common = {"id": link_id, "version": 1, "created_at": now, "created_by": actor, "updated_at": now,
                  "updated_by": actor, "note": data.note}
        ours = _link({**common, "type": data.type, "related_id": other.id}).model_dump(mode="json")
        theirs = _link({**common, "type": INVERSE[data.type], "related_id": this.id}).model_dump(mode="json")
        change = Change(customers=[this.id, other.id], history=[
            (this.id, _link_entry(now, actor, "relationship_added", link_id, new=ours)),
            (other.id, _link_entry(now, actor, "relationship_added", link_id, new=theirs)),
        ])
        change.put(this.id, RELATIONSHIPS.sk(link_id), ours, None)
        change.put(other.id, RELATIONSHIPS.sk(link_id), theirs, None)
        self._write(change)
        return _relationship_view(_link(ours), other)

    def change_relationship(self, customer_id: str, link_id: str, patch: RelationshipPatch,
                            actor: str) -> RelationshipView:
        ours = self.get(RELATIONSHIPS, customer_id, link_id)
        if patch.version != ours.version:
            raise _stale(RELATIONSHIPS, ours.version)
        theirs = self.get(RELATIONSHIPS, ours.related_id, link_id)
        now = utcnow()
        new_type = patch.type or ours.type
        new_note = patch.note if "note" in patch.model_fields_set else ours.note
        stamp = {"version": ours.version + 1, "updated_at": now, "updated_by": actor, "note": new_note}
        ours_after = ours.model_copy(update={**stamp, "type": new_type})
        theirs_after = theirs.model_copy(update={**stamp, "type": INVERSE[new_type]})
        field = f"relationships.{link_id}"
        changes = _diff(field, _public(ours), _public(ours_after))
        if not changes:
            return _relationship_view(ours, self._customers.get(ours.related_id))
        change = Change(customers=[customer_id, ours.related_id], history=[
            (customer_id, HistoryEntry(at=now, by=actor, action="relationship_changed", changes=changes)),
            (ours.related_id, HistoryEntry(at=now, by=actor, action="relationship_changed",
                                           changes=_diff(field, _public(theirs), _public(theirs_after)))),
        ])
        change.put(customer_id, RELATIONSHIPS.sk(link_id), ours_after.model_dump(mode="json"), ours.version)
        change.put(ours.related_id, RELATIONSHIPS.sk(link_id), theirs_after.model_dump(mode="json"), theirs.version)
        self._write(change, RELATIONSHIPS, customer_id, link_id)
        return _relationship_view(ours_after, self._customers.get(ours.related_id))

    def unrelate(self, customer_id: str, link_id: str, actor: str) -> None:
        ours = self.get(RELATIONSHIPS, customer_id, link_id)
        theirs = self.get(RELATIONSHIPS, ours.related_id, link_id)
        now = utcnow()
        change = Change(customers=[customer_id, ours.related_id], history=[
            (customer_id, _link_entry(now, actor, "relationship_removed", link_id, old=_public(ours))),
            (ours.related_id, _link_entry(now, actor, "relationship_removed", link_id, old=_public(theirs))),
        ])
        change.delete(customer_id, RELATIONSHIPS.sk(link_id), ours.version)
        change.delete(ours.related_id, RELATIONSHIPS.sk(link_id), theirs.version)
        self._write(change, RELATIONSHIPS, customer_id, link_id)

    def _related(self, this: Customer, related_id: str) -> Customer:
        if related_id == this.id:
            raise Invalid("a customer cannot be related to itself",
                          fields=[field_error("related_id", "is this customer")])
        other = self._customers.get(related_id)
        if other is None:
            raise Invalid(f"customer {related_id} does not exist",
                          fields=[field_error("related_id", "no such customer")])
        refuse_merged(this)
        try:
            return refuse_merged(other)
        except CustomerMerged as merged:
            merged.fields = [field_error("related_id", "is merged")]
            raise

    # ---- membership ------------------------------------------------------------------------------

    def membership(self, customer_id: str) -> Membership:
        found = self._records.get(customer_id, MEMBERSHIP)
        if found is None:
            self.customer(customer_id)
            raise NotFound(f"customer {customer_id} has no membership")
        return Membership.model_validate(found)

    def set_membership(self, customer_id: str, data: MembershipPut, actor: str) -> Membership:
        current = self._records.get(customer_id, MEMBERSHIP)
        before = Membership.model_validate(current) if current else None
        current_version = before.version if before else None
        if data.version != current_version:
            if before is None:
                raise Invalid("this customer has no membership yet; send it without a version",
                              fields=[field_error("version", "must be left out for a new membership")])
            raise _stale(None, before.version)
        now = utcnow()
        after = Membership.model_validate({**data.model_dump(exclude={"version"}),
                                           "version": (current_version or 0) + 1, "updated_at": now,
                                           "updated_by": actor})
        old = before.model_dump(mode="json", exclude={"version", "updated_at", "updated_by"}) if before else {}
        new = after.model_dump(mode="json", exclude={"version", "updated_at", "updated_by"})
        changes = [FieldChange(field=f"membership.{k}", old=old.get(k), new=new[k]) for k in new
                   if old.get(k) != new[k]]
        if not changes and before is not None:
            return before
        change = Change(customers=[customer_id], history=[
            (customer_id, HistoryEntry(at=now, by=actor, action="membership_changed", changes=changes))])
        change.put(customer_id, MEMBERSHIP, after.model_dump(mode="json"), current_version)
        self._write(change, None, customer_id, MEMBERSHIP)
        return after

    # ---- plumbing ----------------------------------------------------------------------------------

    def _stored(self, kind: Kind[R], record: R) -> dict[str, Any]:
        values = record.model_dump(mode="json")
        index = INDEXES.get(kind.name)
        return {**values, **(index(values) if index else {})}

    def _write(self, change: Change, kind: Kind[Any] | None = None, customer_id: str = "",
               record_id: str = "") -> None:
        try:
            self._records.write(change)
        except CustomerUnavailable as missing:
            customer = self._customers.get(missing.customer_id)
            if customer is None:
                raise NotFound(f"customer {missing.customer_id} does not exist") from None
            refuse_merged(customer)
            raise Conflict("the customer changed meanwhile; look again and retry") from None
        except RecordChanged:
            current = self._records.get(customer_id, kind.sk(record_id) if kind else record_id)
            if current is None:
                raise NotFound(f"that {kind.name if kind else 'record'} no longer exists") from None
            raise _stale(kind, int(current["version"])) from None


def _public(record: BaseModel) -> dict[str, Any]:
    """What history shows of a record: its own fields, not the bookkeeping."""
    return record.model_dump(mode="json", exclude={"id", "version", "created_at", "created_by", "updated_at",
                                                   "updated_by"})


def _diff(prefix: str, old: dict[str, Any], new: dict[str, Any]) -> list[FieldChange]:
    return [FieldChange(field=f"{prefix}.{k}", old=old.get(k), new=new.get(k))
            for k in dict.fromkeys([*old, *new]) if old.get(k) != new.get(k)]


def _link(values: dict[str, Any]) -> Relationship:
    return Relationship.model_validate(values)


def _link_entry(at: Any, actor: str, action: str, link_id: str, **change: Any) -> HistoryEntry:
    return HistoryEntry(at=at, by=actor, action=action,
                        changes=[FieldChange(field=f"relationships.{link_id}", **change)])


def _relationship_view(link: Relationship, related: Customer | None) -> RelationshipView:
    return RelationshipView(**link.model_dump(),
                            related_number=related.customer_number if related else None,
                            related_name=related.display_name if related else None,
                            related_status=related.status if related else None)


def _stale(kind: Kind[Any] | None, version: int) -> VersionConflict:
    what = kind.name if kind else "record"
    return VersionConflict(f"the {what} was changed by someone else; it is now at version {version}",
                           fields=[field_error("version", "is stale")], current_version=version)
