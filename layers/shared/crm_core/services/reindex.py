"""Rebuild the search index: the items of every customer as the table design makes them now.

A table whose customers were indexed the earlier way (``TERM#`` items; no GSI3 keys on the profiles) gets,
for each customer, its prefix and pair items and its profile's GSI3 keys, and loses the ``TERM#`` items.
Every write is idempotent (the same item put again; the keys set only on the version read), so the rebuild
can be stopped and run again from the start, or from the position a page reports, and can run in
parallel segments. The API stays up meanwhile: a customer not reached yet is not found by keyword, and one
changed while it is rebuilt keeps what its change wrote.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from crm_core.dal.customers import CustomerRepository
from crm_core.dal.reindex import TableScan
from crm_core.services.customers import customer_terms

SCAN_PAGE = 200  # items a Scan call reads (a page's profiles are rebuilt before the next is read)


@dataclass
class ReindexProgress:
    customers: int = 0
    moved_on: int = 0  # changed while being rebuilt: their change wrote their index
    legacy_removed: int = 0
    resume: dict[str, Any] | None = field(default=None)  # where the next page starts; None: the segment is done


class SearchReindex:
    def __init__(self, customers: CustomerRepository, scan: TableScan) -> None:
        self._customers = customers
        self._scan = scan

    def run_page(self, segment: int = 0, segments: int = 1, start: dict[str, Any] | None = None,
                 progress: ReindexProgress | None = None) -> ReindexProgress:
        """Rebuild the customers of one page of one Scan segment; the progress says where the next starts."""
        progress = progress or ReindexProgress()
        profiles, legacy, resume = self._scan.page(segment, segments, start, SCAN_PAGE)
        for customer in profiles:
            if self._customers.reindex(customer, customer_terms(customer)):
                progress.customers += 1
            else:
                progress.moved_on += 1
        if legacy:
            self._customers.remove_items(legacy)
            progress.legacy_removed += len(legacy)
        progress.resume = resume
        return progress

    def run(self, segment: int = 0, segments: int = 1, start: dict[str, Any] | None = None) -> ReindexProgress:
        """Rebuild a whole segment (the whole table with one segment)."""
        progress = self.run_page(segment, segments, start)
        while progress.resume:
            progress = self.run_page(segment, segments, progress.resume, progress)
        return progress
