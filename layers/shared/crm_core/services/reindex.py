"""Rebuild the search index: the items of every customer as the table design makes them now.

A table whose customers were indexed the earlier way (``TERM#`` items; no GSI3 keys on the profiles or staff
items) gets, for each customer, its prefix and pair items, its profile's and staff items' GSI3 keys, and
loses the ``TERM#`` items. Search items no profile makes (as it is now) are removed: those of words a
customer no longer has, of a deleted customer, or of one whose creation failed. Every write is idempotent
and checks the customer's profile is still the one read (the same item put again; the keys set only on the
version read), so the rebuild can be stopped and run again from the start, or from the position a page
reports, and can run in parallel segments. The API stays up meanwhile: a customer not reached yet is not
found by keyword, and one changed while it is rebuilt is rebuilt as it is then.

Checking the search items costs a read of their customer's profile per item seen (BatchGetItem, 100 a call,
the page's own profiles excepted): about as many reads again as the Scan's items.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from crm_core.clock import utcnow
from crm_core.dal.customers import CustomerRepository, StaleVersion
from crm_core.dal.reindex import TableScan
from crm_core.dal.search import ItemKey, Term, customer_terms, search_items
from crm_core.ids import min_id_at
from crm_core.models.customer import Customer

SCAN_PAGE = 200  # items a Scan call reads (a page's profiles are rebuilt before the next is read)
UNFINISHED_FOR = timedelta(days=1)  # a customer without a profile younger than this may still be being created


@dataclass
class ReindexProgress:
    customers: int = 0
    moved_on: int = 0  # changed while being rebuilt, and again when read once more: their change indexed them
    legacy_removed: int = 0
    stale_removed: int = 0  # search items no customer's profile makes (as it is), removed or made right
    resume: dict[str, Any] | None = field(default=None)  # where the next page starts; None: the segment is done


class SearchReindex:
    def __init__(self, customers: CustomerRepository, scan: TableScan) -> None:
        self._customers = customers
        self._scan = scan

    def run_page(self, segment: int = 0, segments: int = 1, start: dict[str, Any] | None = None,
                 progress: ReindexProgress | None = None) -> ReindexProgress:
        """Rebuild the customers of one page of one Scan segment, and remove the search items of the page that
        their customer's profile does not make; the progress says where the next page starts."""
        progress = progress or ReindexProgress()
        page = self._scan.page(segment, segments, start, SCAN_PAGE)
        for customer in page.profiles:
            if self._rebuild(customer):
                progress.customers += 1
            else:
                progress.moved_on += 1
        if page.legacy:
            self._customers.remove_items(page.legacy)
            progress.legacy_removed += len(page.legacy)
        if page.search:
            progress.stale_removed += self._sweep(page.search, {c.id: c for c in page.profiles})
        progress.resume = page.resume
        return progress

    def run(self, segment: int = 0, segments: int = 1, start: dict[str, Any] | None = None) -> ReindexProgress:
        """Rebuild a whole segment (the whole table with one segment)."""
        progress = self.run_page(segment, segments, start)
        while progress.resume:
            progress = self.run_page(segment, segments, progress.resume, progress)
        return progress

    def _rebuild(self, customer: Customer) -> bool:
        """Index the customer as read; if it changed meanwhile, as it is now (once). False if it moved on again
        (or is gone): its change wrote its index."""
        if self._customers.reindex(customer, indexed_terms(customer)):
            return True
        now = self._customers.get(customer.id, consistent=True)
        return now is not None and self._customers.reindex(now, indexed_terms(now))

    def _sweep(self, seen: list[tuple[ItemKey, str]], read: dict[str, Customer]) -> int:
        """Remove the search items seen that their customer's profile does not make (its terms changed, or it
        is gone: deleted, or its creation failed), and make right those it makes otherwise; each customer's in
        a transaction that checks its profile is still the one read. Returns how many items were wrong.

        A customer without a profile is only swept once its id (its creation time) is older than
        ``UNFINISHED_FOR``: one being created now has its search items written before its profile."""
        by_owner: dict[str, list[tuple[ItemKey, str]]] = {}
        for (pk, owner), w in seen:
            by_owner.setdefault(owner, []).append(((pk, owner), w))
        missing = [owner for owner in by_owner if owner not in read]
        profiles = {**read, **(self._customers.get_many(missing) if missing else {})}
        oldest_unfinished = min_id_at(utcnow() - UNFINISHED_FOR)
        wrong_items = 0
        for owner, items in sorted(by_owner.items()):
            customer = profiles.get(owner)
            if customer is None and owner >= oldest_unfinished:
                continue
            made = search_items(owner, indexed_terms(customer)) if customer else {}
            wrong = [k for k, w in items if k not in made or made[k]["w"] != w]
            if not wrong:
                continue
            with contextlib.suppress(StaleVersion):  # changed meanwhile: its change wrote its items
                self._customers.write_checked(owner, customer, [made[k] for k in wrong if k in made],
                                              [k for k in wrong if k not in made])
                wrong_items += len(wrong)
        return wrong_items


def indexed_terms(customer: Customer) -> set[Term]:
    """The terms a customer's search items hold: none for a merged customer, found through the one it was
    merged into (the merge removed its items)."""
    return set() if customer.status == "merged" else customer_terms(customer)
