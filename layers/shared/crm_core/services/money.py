"""Money rules with storage: invoices, payments and credits allocated to them, purchases, and the balance.

A payment (or credit) pays the invoices it names, else the open ones due first; what is left over is a credit
on the account. The balance is outstanding minus credit, with its aging; it is recomputed by ``refresh``
(nightly, or on demand), which also marks invoices past their due date ``overdue``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from crm_core.clock import utcnow
from crm_core.cursor import CursorCodec
from crm_core.dal.customers import CustomerRepository
from crm_core.dal.money import INVOICE, PAYMENT, PURCHASE, MoneyMoved, MoneyRepository, NotAllowed, NumberTaken, Summary
from crm_core.dal.runs import RunRepository
from crm_core.errors import Conflict, CustomerMerged, Invalid, NotFound, RetryLater, field_error
from crm_core.ids import new_id
from crm_core.models.customer import FieldChange, HistoryEntry
from crm_core.models.money import (
    Allocation,
    AllocationMade,
    Balance,
    CreditCreate,
    Invoice,
    InvoiceCreate,
    InvoicePage,
    Payment,
    PaymentCreate,
    Purchase,
    PurchaseCreate,
    PurchasePage,
)
from crm_core.money import ZERO, OpenInvoice, aging, allocate, is_overdue, money, next_refresh
from crm_core.status import refuse_merged

logger = logging.getLogger(__name__)
DEFAULT_CURRENCY = "GBP"
MAX_OPEN_INVOICES = 2000  # the money summary lists them; 2,000 keep it well inside DynamoDB's 400 KB item
MAX_ALLOCATIONS = 90  # invoices one payment may touch: one transaction holds at most 100 writes
ATTEMPTS = 3
FAILURES_LISTED = 20  # customers a nightly run names among those it could not refresh (all are counted)


class MoneyService:
    def __init__(self, customers: CustomerRepository, money_repo: MoneyRepository, cursors: CursorCodec,
                 today: Callable[[], date] | None = None) -> None:
        self._customers = customers
        self._money = money_repo
        self._cursors = cursors
        self._today = today or (lambda: utcnow().date())

    # ---- reads -------------------------------------------------------------------------------------

    def invoices(self, customer_id: str, limit: int | None, cursor: str | None) -> InvoicePage:
        items, last = self._page(customer_id, "invoices", INVOICE, limit, cursor)
        return InvoicePage(items=[Invoice.model_validate(i) for i in items], next_cursor=last)

    def purchases(self, customer_id: str, limit: int | None, cursor: str | None) -> PurchasePage:
        items, last = self._page(customer_id, "purchases", PURCHASE, limit, cursor)
        return PurchasePage(items=[Purchase.model_validate(i) for i in items], next_cursor=last)

    def _page(self, customer_id: str, kind: str, prefix: str, limit: int | None,
              cursor: str | None) -> tuple[list[dict[str, Any]], str | None]:
        size = limit or 25
        self._customer(customer_id)
        scope = self._cursors.scope_of(kind, customer_id)
        after = self._cursors.decode(cursor, scope) if cursor else None
        items, last = self._money.records(customer_id, prefix, size, after)
        return items, (self._cursors.encode(scope, last) if last else None)

    def balance(self, customer_id: str) -> Balance:
        self._customer(customer_id)
        summary = self._money.summary(customer_id, consistent=False)
        if summary is None:
            return Balance(currency=DEFAULT_CURRENCY, outstanding=ZERO, credit=ZERO, balance=ZERO,
                           aging=aging([], self._today()), open_invoices=0, overdue_invoices=0, as_of=self._today(),
                           refreshed_at=None, changed_since_refresh=False)
        return balance_of(summary)

    # ---- money in ------------------------------------------------------------------------------------

    def add_invoice(self, customer_id: str, request: InvoiceCreate, actor: str) -> Invoice:
        number = request.number or f"INV-{self._money.next_invoice_number()}"
        for _ in range(ATTEMPTS):
            before = self._summary_for(customer_id, request.currency)
            if len(before.open) >= MAX_OPEN_INVOICES:
                raise Conflict(f"the customer has {len(before.open):,} open invoices, the most one customer may have; "
                               "record payments or credits against them first")
            now = utcnow()
            invoice = Invoice(id=new_id(), number=number, issued_on=request.issued_on, due_on=request.due_on,
                              amount=request.amount, status="pending", currency=before.currency,
                              order_ref=request.order_ref, description=request.description, created_at=now,
                              created_by=actor)
            opened = OpenInvoice(id=invoice.id, number=number, issued_on=invoice.issued_on, due_on=invoice.due_on,
                                 remaining=invoice.amount, status="pending")
            after = self._changed(before, {**before.open, invoice.id: opened}, before.credit, now)
            history = HistoryEntry(at=now, by=actor, action="invoice_added", changes=[
                FieldChange(field=f"invoices.{number}", new={"amount": str(invoice.amount),
                                                            "due_on": invoice.due_on.isoformat()})])
            record = {**invoice.model_dump(mode="json"), "SK": INVOICE + invoice.id}
            try:
                self._money.write(before if before.version else None, after, [record], {}, history,
                                  claim_number=number)
            except MoneyMoved:
                continue
            except NumberTaken:
                raise Conflict(f"invoice number {number} is already used",
                               fields=[field_error("number", "is already used by another invoice")]) from None
            except NotAllowed:
                raise self._refused(customer_id) from None
            return invoice
        raise RetryLater("the customer's money is being changed by others; retry shortly")

    def add_payment(self, customer_id: str, request: PaymentCreate | CreditCreate, actor: str) -> Payment:
        kind = "payment" if isinstance(request, PaymentCreate) else "credit"
        for _ in range(ATTEMPTS):
            before = self._summary_for(customer_id, request.currency)
            made, left = self._allocations(before, request.amount, request.allocations)
            now = utcnow()
            payment = Payment(
                id=new_id(), kind=kind, amount=request.amount, currency=before.currency,
                on=request.received_on if isinstance(request, PaymentCreate) else request.issued_on,
                method=getattr(request, "method", None), reference=getattr(request, "reference", None),
                reason=getattr(request, "reason", None),
                allocations=[AllocationMade(invoice_id=i.id, invoice_number=i.number, amount=a) for i, a in made],
                unallocated=money(left), created_at=now, created_by=actor)
            still_open = dict(before.open)
            changes: dict[str, dict[str, Any]] = {}
            for invoice, amount in made:
                remaining = invoice.remaining - amount
                stored = self._money.invoice(customer_id, invoice.id) or {}
                paid = money(Decimal(str(stored.get("paid", "0"))) + amount)
                if remaining <= 0:
                    del still_open[invoice.id]
                    changes[invoice.id] = {"paid": str(paid), "status": "paid"}
                else:
                    still_open[invoice.id] = replace(invoice, remaining=remaining)
                    changes[invoice.id] = {"paid": str(paid)}
            after = self._changed(before, still_open, money(before.credit + left), now)
            history = HistoryEntry(at=now, by=actor, action=f"{kind}_added", changes=[
                FieldChange(field=f"{kind}s.{payment.id}", new={
                    "amount": str(payment.amount), "allocated": {i.number: str(a) for i, a in made},
                    "credit": str(payment.unallocated)})])
            record = {**payment.model_dump(mode="json"), "SK": PAYMENT + payment.id}
            try:
                self._money.write(before if before.version else None, after, [record], changes, history)
            except MoneyMoved:
                continue
            except NotAllowed:
                raise self._refused(customer_id) from None
            return payment
        raise RetryLater("the customer's money is being changed by others; retry shortly")

    def add_purchase(self, customer_id: str, request: PurchaseCreate, actor: str) -> Purchase:
        for _ in range(ATTEMPTS):
            before = self._summary_for(customer_id, request.currency)
            now = utcnow()
            total = money(sum((i.quantity * i.unit_price for i in request.items), ZERO))
            purchase = Purchase(id=new_id(), purchased_on=request.purchased_on, items=request.items, total=total,
                                currency=before.currency, order_ref=request.order_ref, created_at=now,
                                created_by=actor)
            # a purchase does not change what is owed (its invoice does), but it is a transaction on the account
            after = replace(before, version=before.version + 1, changed_at=before.changed_at or now)
            record = {**purchase.model_dump(mode="json"), "SK": PURCHASE + purchase.id}
            try:
                self._money.write(before if before.version else None, after, [record], {}, None)
            except MoneyMoved:
                continue
            except NotAllowed:
                raise self._refused(customer_id) from None
            return purchase
        raise RetryLater("the customer's money is being changed by others; retry shortly")

    # ---- the balance -------------------------------------------------------------------------------

    def refresh(self, customer_id: str, today: date | None = None) -> tuple[Balance, int]:
        """Recompute one customer's balance as of ``today``, marking invoices past due ``overdue``. Returns the
        balance and how many invoices became overdue."""
        day = today or self._today()
        for _ in range(ATTEMPTS):
            before = self._money.summary(customer_id)
            if before is None:
                return self.balance(customer_id), 0
            late = {i.id for i in before.open.values() if i.status == "pending" and is_overdue(i, day)}
            still_open = {k: replace(i, status="overdue") if k in late else i for k, i in before.open.items()}
            now = utcnow()
            after = replace(before, version=before.version + 1, open=still_open, refreshed_at=now,
                            refresh_on=next_refresh(list(still_open.values()), day), refresh_error=None)
            after.snapshot = _snapshot(after, day)
            # one transaction holds at most 100 writes: the summary and up to 90 invoices go together; the rest
            # are marked after it (each a plain, repeatable update — the summary already says they are overdue)
            marks = sorted(late)
            changes = {invoice_id: {"status": "overdue"} for invoice_id in marks[:MAX_ALLOCATIONS]}
            try:
                self._money.write(before, after, [], changes, None)
            except MoneyMoved:
                continue
            except NotAllowed:
                # a merged customer's money went to the target: nothing to keep refreshing here
                return balance_of(before), 0
            for invoice_id in marks[MAX_ALLOCATIONS:]:
                self._money.mark_invoice(customer_id, invoice_id, "overdue")
            return balance_of(after), len(late)
        raise RetryLater("the customer's money is being changed by others; retry shortly")

    def rebuild(self, customer_id: str) -> None:
        """Recompute the summary from the customer's own money records (after a merge brought others in)."""
        for _ in range(ATTEMPTS):
            before = self._money.summary(customer_id)
            invoices = self._money.all_records(customer_id, INVOICE)
            payments = self._money.all_records(customer_id, PAYMENT)
            if before is None and not invoices and not payments and not self._money.all_records(customer_id, PURCHASE):
                return
            currency = before.currency if before else str((invoices or payments or [{"currency": DEFAULT_CURRENCY}])[0]
                                                         .get("currency", DEFAULT_CURRENCY))
            still_open = {}
            for item in invoices:
                invoice = Invoice.model_validate(item)
                if invoice.status != "paid" and invoice.remaining > 0:
                    still_open[invoice.id] = OpenInvoice(id=invoice.id, number=invoice.number,
                                                         issued_on=invoice.issued_on, due_on=invoice.due_on,
                                                         remaining=invoice.remaining, status=invoice.status)
            credit = money(sum((Decimal(str(p.get("unallocated", "0"))) for p in payments), ZERO))
            start = before or Summary(customer_id=customer_id, currency=currency)
            after = self._changed(start, still_open, credit, utcnow())
            try:
                self._money.write(before, after, [], {}, None)
            except MoneyMoved:
                continue
            return
        raise RetryLater("the customer's money is being changed by others; retry shortly")

    # ---- helpers -------------------------------------------------------------------------------------

    def _customer(self, customer_id: str) -> None:
        if self._customers.get(customer_id) is None:
            raise NotFound(f"customer {customer_id} does not exist")

    def _refused(self, customer_id: str) -> Exception:
        customer = self._customers.get(customer_id, consistent=True)
        if customer is None:
            return NotFound(f"customer {customer_id} does not exist")
        try:
            refuse_merged(customer)
        except CustomerMerged as merged:
            return merged
        return Conflict(f"customer {customer.customer_number} could not take the change; look again and retry")

    def _summary_for(self, customer_id: str, currency: str | None) -> Summary:
        summary = self._money.summary(customer_id)
        if summary is None:
            self._customer(customer_id)
            return Summary(customer_id=customer_id, currency=currency or DEFAULT_CURRENCY)
        if currency and currency != summary.currency:
            raise Invalid(f"this customer's money is in {summary.currency}",
                          fields=[field_error("currency", f"must be {summary.currency}, the customer's currency")])
        return summary

    def _allocations(self, summary: Summary, amount: Decimal,
                     asked: list[Allocation] | None) -> tuple[list[tuple[OpenInvoice, Decimal]], Decimal]:
        if asked is None:
            made, left = allocate(list(summary.open.values()), amount)
            return made[:MAX_ALLOCATIONS], left + sum((a for _, a in made[MAX_ALLOCATIONS:]), ZERO)
        problems = []
        made = []
        for n, allocation in enumerate(asked):
            invoice = summary.open.get(allocation.invoice_id)
            if invoice is None:
                problems.append(field_error(f"allocations.{n}.invoice_id", "is not an open invoice of this customer"))
            elif allocation.amount > invoice.remaining:
                problems.append(field_error(f"allocations.{n}.amount",
                                            f"is more than the {invoice.remaining} left to pay on {invoice.number}"))
            else:
                made.append((invoice, allocation.amount))
        if len({i.id for i, _ in made}) != len(made):
            problems.append(field_error("allocations", "names an invoice twice"))
        total = sum((a for _, a in made), ZERO)
        if total > amount:
            problems.append(field_error("allocations", f"add up to {total}, more than the amount {amount}"))
        if problems:
            raise Invalid("the allocations do not fit the open invoices", fields=problems)
        return made, amount - total

    def _changed(self, before: Summary, still_open: dict[str, OpenInvoice], credit: Decimal,
                 now: datetime) -> Summary:
        """The summary after a money change: due for a refresh today."""
        return replace(before, version=before.version + 1, open=still_open, credit=credit, changed_at=now,
                       refresh_on=now.date())


def _snapshot(summary: Summary, day: date) -> dict[str, Any]:
    invoices = list(summary.open.values())
    outstanding = money(sum((i.remaining for i in invoices), ZERO))
    return {
        "as_of": day.isoformat(), "outstanding": str(outstanding), "credit": str(summary.credit),
        "balance": str(money(outstanding - summary.credit)),
        "aging": aging(invoices, day).model_dump(mode="json"),
        "open_invoices": len(invoices), "overdue_invoices": sum(1 for i in invoices if is_overdue(i, day)),
    }


def balance_of(summary: Summary) -> Balance:
    """The balance as last refreshed (or, before the first refresh, as of the last change)."""
    snapshot = summary.snapshot or _snapshot(summary, (summary.changed_at or utcnow()).date())
    changed = summary.changed_at is not None and (summary.refreshed_at is None
                                                  or summary.changed_at > summary.refreshed_at)
    return Balance(currency=summary.currency, outstanding=Decimal(snapshot["outstanding"]),
                   credit=Decimal(snapshot["credit"]), balance=Decimal(snapshot["balance"]),
                   aging=snapshot["aging"], open_invoices=snapshot["open_invoices"],
                   overdue_invoices=snapshot["overdue_invoices"], as_of=date.fromisoformat(snapshot["as_of"]),
                   refreshed_at=summary.refreshed_at, changed_since_refresh=changed,
                   refresh_error=summary.refresh_error)


class NightlyRefresh:
    """The nightly balance refresh: only the customers whose day has come (money changed, or an open invoice
    crossed a due date or aging edge), read from the ``REFRESH#<day>`` index partitions since the last
    completed run. The same day's schedule delivered twice runs once; a run that died is taken over once it
    is stale, and in any case the next day's run reads from the last completed day on."""

    JOB = "balance-refresh"
    FIRST_LOOK_BACK = timedelta(days=400)

    def __init__(self, money_service: MoneyService, money_repo: MoneyRepository, runs: RunRepository,
                 stale_after: timedelta = timedelta(minutes=20)) -> None:
        self._service = money_service
        self._money = money_repo
        self._runs = runs
        self._stale_after = stale_after

    def run(self, today: date, delivery: str) -> dict[str, Any] | None:
        """Refresh what is due; the run's figures, or None when this day's run is done or under way."""
        if not self._runs.start(self.JOB, today, delivery, self._stale_after):
            return None
        last = self._runs.last_completed(self.JOB)
        day = min(last, today) if last else today - self.FIRST_LOOK_BACK
        refreshed = overdue = days = 0
        failed: list[dict[str, str]] = []
        first_failed: date | None = None
        while day <= today:
            days += 1
            for customer_id in self._money.due_on(day):
                try:
                    _, late = self._service.refresh(customer_id, today)
                except Exception as failure:  # noqa: BLE001 - one bad record never stops the run for the others
                    reason = f"{type(failure).__name__}: {failure}"[:300]
                    # it stays due: the next run starts from its day and tries it again; staff see the reason on
                    # the customer's balance until a refresh succeeds
                    logger.warning("balance not refreshed", extra={"customer_id": customer_id, "reason": reason})
                    self._money.note_refresh_failure(customer_id, reason)
                    failed.append({"customer_id": customer_id, "reason": reason})
                    first_failed = first_failed or day
                    continue
                refreshed += 1
                overdue += late
            day += timedelta(days=1)
        figures: dict[str, Any] = {"customers_refreshed": refreshed, "invoices_marked_overdue": overdue,
                                   "days_read": days, "customers_failed": len(failed),
                                   "failed": failed[:FAILURES_LISTED]}
        # the next run starts from the first day a customer failed on, so it is read again
        self._runs.complete(self.JOB, today, figures, last_day=first_failed)
        return figures
