"""Matching checked rows against the customers table: each row is created, updated, unchanged or rejected.

Rows are matched by customer number, else username, else email (one BatchGetItem per 100 keys); a row with
none of those that has the name and postcode of an existing customer is ``unchanged`` if it says nothing new,
else rejected as a possible duplicate. A match is ``updated`` with the cells the row fills (an empty cell never
clears a field; the type and a saved username never change) or ``unchanged``; otherwise it is ``created``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from crm_core.dal.customers import CustomerRepository
from crm_core.imports.rows import ChunkRow, Problem
from crm_core.models.customer import Customer
from crm_core.models.imports import RowOutcome


@dataclass
class Decision:
    row: ChunkRow
    outcome: RowOutcome
    customer: Customer | None = None
    changes: dict[str, Any] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)


class Matcher:
    def __init__(self, customers: CustomerRepository) -> None:
        self._customers = customers

    def decide(self, rows: list[ChunkRow], actor: str, retry: bool) -> list[Decision]:
        """Match the rows. A retry also looks for the customers its earlier try created (by their ids)."""
        found = self._customers.lookups({r.customer_number for r in rows if r.customer_number},
                                        {r.username for r in rows if r.username},
                                        {r.email for r in rows if r.email})
        profiles = self._customers.get_many(list(found.values()) + ([r.id for r in rows] if retry else []))
        return [self._decide_row(row, found, profiles, actor) for row in rows]

    def _decide_row(self, row: ChunkRow, found: dict[tuple[str, str], str], profiles: dict[str, Customer],
                    actor: str) -> Decision:
        if row.id in profiles:  # an earlier try of this chunk created it
            return Decision(row, "created", profiles[row.id])
        target: str | None = None
        if row.customer_number:
            target = found.get(("customer_number", row.customer_number))
            if target is None or target not in profiles:
                return reject(row, "customer_number", "no customer has this number")
        if target is None and row.username:
            target = found.get(("username", row.username))
        if target is None and row.email:
            target = found.get(("email", row.email))
        if target is not None and target in profiles:
            return self._decide_update(row, profiles[target], found, profiles, actor)
        if not (row.customer_number or row.username or row.email) and row.dedupe:
            same = self._customers.with_dedupe_key(row.dedupe)
            if same:
                existing = self._customers.get_many(same[:5])
                for candidate in existing.values():
                    if not differences(candidate, row.fields):
                        return Decision(row, "unchanged", candidate)
                numbers = ", ".join(sorted(c.customer_number for c in existing.values()))
                return reject(row, None, f"may already be customer {numbers} (same name and postcode): add the "
                                         "customer number to update it, or an email to add a new customer")
        return Decision(row, "created")

    @staticmethod
    def _decide_update(row: ChunkRow, customer: Customer, found: dict[tuple[str, str], str],
                       profiles: dict[str, Customer], actor: str) -> Decision:
        number = customer.customer_number
        if customer.status == "merged":
            merged = profiles.get(customer.merged_into or "")
            into = f" {merged.customer_number}" if merged else ""
            return reject(row, None, f"customer {number} was merged into customer{into}: update that one instead")
        if row.fields["type"] != customer.type:
            kind = "an organisation" if customer.type == "organization" else "an individual"
            return reject(row, "type", f"customer {number} is {kind}; the type cannot change")
        if row.username:
            owner = found.get(("username", row.username))
            if owner not in (None, customer.id):
                other = profiles.get(owner or "")
                return reject(row, "username", f"is taken by customer {other.customer_number if other else owner}")
            if customer.username and customer.username != row.username:
                return reject(row, "username", f"cannot be changed once saved (customer {number} has "
                                               f"{customer.username!r})")
        changes = differences(customer, row.fields)
        if not changes:
            return Decision(row, "updated" if customer.updated_by == actor else "unchanged", customer)
        return Decision(row, "updated", customer, changes)


def reject(row: ChunkRow, column: str | None, reason: str) -> Decision:
    return Decision(row, "rejected", problems=[Problem(column, reason)])


def differences(customer: Customer, fields: dict[str, Any]) -> dict[str, Any]:
    """The fields a row would change: only what the row gives (an empty cell leaves a field as it is)."""
    current = customer.model_dump(mode="json")
    changes: dict[str, Any] = {}
    for name, value in fields.items():
        if name == "type":
            continue
        if name == "address":
            have = current.get("address") or {}
            parts = {k: v for k, v in value.items() if have.get(k) != v}
            if parts:
                changes["address"] = parts
        elif current.get(name) != value:
            changes[name] = value
    return changes
