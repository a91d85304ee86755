"""Writing a chunk's decisions, and walking an applied run back (revert).

New customers' search terms, number lookup and history go in full 25-item ``BatchWriteItem`` calls, then the
profile — in one transaction with the email/username claims when it has any (``CustomerRepository.create_many``).
Rows DynamoDB still refuses after the retries are rejected by name; their other items are taken back. A new
customer's number is set aside before anything is written (``ImportJobRepository.keep_numbers``), so a retry
writes the same customers under the same numbers. Changed customers go one by one through the customer
service, their version checked.
"""

from __future__ import annotations

from typing import Any

from crm_core.clock import utcnow
from crm_core.dal.customers import CustomerRepository, NewCustomer
from crm_core.dal.search import customer_terms
from crm_core.errors import DomainError, RetryLater
from crm_core.ids import format_customer_number
from crm_core.imports.matching import Decision
from crm_core.imports.rows import ChunkRow, Problem, RowRecord
from crm_core.imports.store import ImportJobRepository
from crm_core.models.customer import Customer, FieldChange, HistoryEntry
from crm_core.models.imports import ImportJob, RevertOutcome, RowError
from crm_core.services.customers import CustomerService, claims_of, dedupe_of, diffable


def import_actor(job: ImportJob) -> str:
    return f"{job.created_by} (import {job.id})"


def revert_actor(job: ImportJob) -> str:
    return f"{job.created_by} (revert of import {job.id})"


class Applier:
    def __init__(self, jobs: ImportJobRepository, customers: CustomerRepository, service: CustomerService) -> None:
        self._jobs = jobs
        self._customers = customers
        self._service = service

    def write(self, job: ImportJob, chunk: int, decisions: list[Decision], kept: dict[int, str] | None) -> None:
        actor = import_actor(job)
        new = [d for d in decisions if d.outcome == "created" and d.customer is None]
        if new:
            numbers = dict(kept or {})
            missing = [d.row.row for d in new if d.row.row not in numbers]
            if missing:
                fresh = iter(self._customers.allocate_numbers(len(missing)))
                numbers.update({row: format_customer_number(next(fresh)) for row in missing})
                numbers = self._jobs.keep_numbers(job.id, job.run, chunk, numbers) if kept is None else numbers
            batch = []
            for d in new:
                d.customer = _new_customer(d.row, numbers[d.row.row], actor)
                entry = HistoryEntry(at=d.customer.created_at, by=actor, action="created", changes=[
                    FieldChange(field=f, new=v) for f, v in diffable(d.customer).items() if v not in (None, [], {})])
                batch.append(NewCustomer(d.customer, customer_terms(d.customer), entry, claims_of(d.customer),
                                         dedupe_of(d.customer)))
            failed = self._customers.create_many(batch)
            for d in new:
                assert d.customer is not None
                if d.customer.id in failed:
                    reason = failed[d.customer.id]
                    column, _, text = reason.partition(": ") if ": " in reason else ("", "", reason)
                    d.outcome, d.customer = "rejected", None
                    d.problems = [Problem(column or None, text)]
        for d in decisions:
            if d.outcome == "updated" and d.changes:
                assert d.customer is not None
                try:
                    d.customer = self._service.change(d.customer, d.changes, actor, refuse_duplicates=False,
                                                      action="imported")
                except RetryLater:
                    raise  # the database is busy: the chunk is tried again, not the row rejected
                except DomainError as refused:
                    d.outcome, d.customer = "rejected", None
                    d.problems = [Problem(f.get("field"), f.get("message", "")) for f in refused.fields] or \
                        [Problem(None, refused.message)]

    def revert(self, job: ImportJob, applied: list[RowRecord]) -> tuple[dict[str, int], list[RowRecord]]:
        """Undo what the applied run did to these rows: the counts, and the rows left as they are (and why)."""
        counts = {"removed": 0, "restored": 0, "kept": 0}
        kept: list[RowRecord] = []
        outcomes = [o for o in applied if o.outcome in ("created", "updated") and o.customer_id]
        current = self._customers.get_many([o.customer_id for o in outcomes if o.customer_id])
        for outcome in outcomes:
            result, reason = self._revert_one(outcome, current.get(outcome.customer_id or ""), job)
            counts[result] += 1
            if reason:
                kept.append(RowRecord(row=outcome.row, outcome="kept",
                                      errors=[RowError(row=outcome.row, column=None, reason=reason)]))
        return counts, kept

    def _revert_one(self, outcome: RowRecord, customer: Customer | None,
                    job: ImportJob) -> tuple[RevertOutcome, str | None]:
        number = outcome.customer_number
        actor = revert_actor(job)
        if outcome.outcome == "created":
            if customer is None:
                return "removed", None  # removed already (by an earlier try, or by staff)
            if customer.version != outcome.version:
                return "kept", f"customer {number} was changed after the import; not removed"
            try:
                self._service.delete(customer.id, delete_history=True, actor=actor)
            except RetryLater:
                raise
            except DomainError as refused:
                return "kept", f"customer {number} not removed: {refused.message}"
            return "removed", None
        if customer is None:
            return "kept", f"customer {number} no longer exists"
        if customer.updated_by == actor:
            return "restored", None  # an earlier try restored it
        if customer.version != outcome.version:
            return "kept", f"customer {number} was changed after the import; not restored"
        old = self._values_before(customer, import_actor(job))
        if old is None:
            return "kept", f"customer {number}: the import's change is not in its history; not restored"
        try:
            self._service.change(customer, old, actor, refuse_duplicates=False, action="import reverted")
        except RetryLater:
            raise
        except DomainError as refused:
            detail = "; ".join(f"{f.get('field')} {f.get('message')}" for f in refused.fields) or refused.message
            return "kept", f"customer {number} not restored: {detail}"
        return "restored", None

    def _values_before(self, customer: Customer, importer: str) -> dict[str, Any] | None:
        """The values the import's change replaced, from the customer's history (nested fields put back)."""
        entry = None
        after = None
        for _ in range(10):  # up to 1,000 entries back: money and records add entries without a new version
            entries, after = self._customers.history(customer.id, limit=100, after=after)
            entry = next((e for e in entries if e.by == importer and e.action == "imported"), None)
            if entry is not None or after is None:
                break
        if entry is None:
            return None
        values: dict[str, Any] = {}
        for change in entry.changes:
            head, _, part = change.field.partition(".")
            if part:
                values.setdefault(head, {})[part] = change.old
            else:
                values[head] = change.old
        return values


def _new_customer(row: ChunkRow, number: str, actor: str) -> Customer:
    now = utcnow()
    return Customer.model_validate({**row.fields, "id": row.id, "customer_number": number, "version": 1,
                                    "status": "active", "created_at": now, "updated_at": now, "created_by": actor,
                                    "updated_by": actor})
