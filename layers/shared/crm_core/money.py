"""Money rules without storage: allocating payments to invoices, aging, and when a balance must next be
recomputed.

Aging buckets count days past the due date: ``current`` (not yet past due), 1-30, 31-60, 61-90 and over 90.
A balance changes bucket only when money changes or an open invoice crosses one of those edges, so
``next_refresh`` says the first day on which any open invoice crosses one: the nightly run looks only at
customers whose day has come.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from crm_core.models.money import Aging

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
EDGES = (0, 30, 60, 90)  # days past due after which an amount moves to the next bucket


@dataclass(frozen=True)
class OpenInvoice:
    id: str
    number: str
    issued_on: date
    due_on: date
    remaining: Decimal
    status: str  # pending or overdue


def money(value: Decimal | str | int) -> Decimal:
    """To the penny, halves rounded up (0.125 → 0.13), as invoices are."""
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def allocate(open_invoices: list[OpenInvoice], amount: Decimal) -> tuple[list[tuple[OpenInvoice, Decimal]], Decimal]:
    """Spread ``amount`` over the open invoices, the one due first first; returns what went where and the rest."""
    left = amount
    made = []
    for invoice in sorted(open_invoices, key=lambda i: (i.due_on, i.issued_on, i.number)):
        if left <= 0:
            break
        part = min(left, invoice.remaining)
        if part > 0:
            made.append((invoice, part))
            left -= part
    return made, left


def days_overdue(invoice: OpenInvoice, today: date) -> int:
    return (today - invoice.due_on).days


def is_overdue(invoice: OpenInvoice, today: date) -> bool:
    return days_overdue(invoice, today) > 0


def aging(open_invoices: list[OpenInvoice], today: date) -> Aging:
    buckets = [ZERO] * 5
    for invoice in open_invoices:
        late = days_overdue(invoice, today)
        index = sum(1 for edge in EDGES if late > edge)
        buckets[index] += invoice.remaining
    return Aging(current=buckets[0], overdue_1_30=buckets[1], overdue_31_60=buckets[2], overdue_61_90=buckets[3],
                 overdue_90_plus=buckets[4])


def next_refresh(open_invoices: list[OpenInvoice], today: date) -> date | None:
    """The first day after ``today`` on which an open invoice moves bucket (None: nothing will move)."""
    days = [invoice.due_on + timedelta(days=edge + 1) for invoice in open_invoices for edge in EDGES
            if invoice.due_on < date.max - timedelta(days=edge + 1)]  # an edge past the calendar's end never comes
    later = [d for d in days if d > today]
    return min(later) if later else None
