"""Money on the customer record: invoices, payments and credits allocated to them, purchases, and the
balance with its aging. Amounts are exact decimals (two places) in one currency per customer; JSON carries
them as strings ("120.50") so no float ever touches them."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, StringConstraints, model_validator

from crm_core.models.customer import Day, Id, LongText, Model, Strict, Text

InvoiceStatus = Literal["pending", "paid", "overdue"]
Amount = Annotated[Decimal, Field(gt=0, max_digits=12, decimal_places=2, description="e.g. \"120.50\"")]


def _currency(value: str) -> str:
    code = value.upper()
    if len(code) != 3 or not code.isascii() or not code.isalpha():
        raise ValueError("must be a three-letter ISO 4217 currency code, e.g. GBP")
    return code


Currency = Annotated[str, StringConstraints(strip_whitespace=True), AfterValidator(_currency)]
Reference = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40,
                                             pattern=r"^[A-Za-z0-9][A-Za-z0-9 ./_-]*$")]


class InvoiceCreate(Strict):
    number: Reference | None = Field(default=None, description="the invoice number; given by the system if absent")
    issued_on: Day
    due_on: Day
    amount: Amount
    currency: Currency | None = Field(default=None, description="the customer's currency (GBP unless set by the "
                                                                "first money record)")
    order_ref: Reference | None = Field(default=None, description="the order this invoice bills")
    description: LongText | None = None

    @model_validator(mode="after")
    def _due_after_issue(self) -> InvoiceCreate:
        if self.due_on < self.issued_on:
            raise ValueError("due_on must not be before issued_on")
        return self


class Allocation(Strict):
    invoice_id: Id
    amount: Amount


class PaymentCreate(Strict):
    amount: Amount
    received_on: Day
    currency: Currency | None = None
    method: Text | None = Field(default=None, description="e.g. card, bank transfer, cheque")
    reference: Reference | None = None
    allocations: Annotated[list[Allocation], Field(max_length=50)] | None = Field(
        default=None, description="which invoices it pays; by default the oldest due first. What is left over "
                                  "becomes a credit on the account")


class CreditCreate(Strict):
    amount: Amount
    issued_on: Day
    currency: Currency | None = None
    reason: LongText
    allocations: Annotated[list[Allocation], Field(max_length=50)] | None = None


class PurchaseItem(Strict):
    description: LongText
    quantity: Annotated[Decimal, Field(gt=0, max_digits=10, decimal_places=3)]
    unit_price: Annotated[Decimal, Field(ge=0, max_digits=12, decimal_places=2)]


class PurchaseCreate(Strict):
    purchased_on: Day
    items: Annotated[list[PurchaseItem], Field(min_length=1, max_length=200)]
    currency: Currency | None = None
    order_ref: Reference | None = None


class Invoice(Model):
    id: str
    number: str
    issued_on: date
    due_on: date
    amount: Decimal
    paid: Decimal = Decimal("0.00")
    status: InvoiceStatus
    currency: str
    order_ref: str | None = None
    description: str | None = None
    created_at: datetime
    created_by: str

    @property
    def remaining(self) -> Decimal:
        return self.amount - self.paid


class AllocationMade(Model):
    invoice_id: str
    invoice_number: str
    amount: Decimal


class Payment(Model):
    id: str
    kind: Literal["payment", "credit"]
    amount: Decimal
    currency: str
    on: date
    method: str | None = None
    reference: str | None = None
    reason: str | None = None
    allocations: list[AllocationMade] = Field(default_factory=list)
    unallocated: Decimal = Field(description="what was left over: a credit on the account")
    created_at: datetime
    created_by: str


class Purchase(Model):
    id: str
    purchased_on: date
    items: list[PurchaseItem]
    total: Decimal
    currency: str
    order_ref: str | None = None
    created_at: datetime
    created_by: str


class Aging(Model):
    current: Decimal = Decimal("0.00")
    overdue_1_30: Decimal = Decimal("0.00")
    overdue_31_60: Decimal = Decimal("0.00")
    overdue_61_90: Decimal = Decimal("0.00")
    overdue_90_plus: Decimal = Decimal("0.00")


class Balance(Model):
    currency: str
    outstanding: Decimal = Field(description="what open invoices still ask for")
    credit: Decimal = Field(description="payments and credits not allocated to any invoice")
    balance: Decimal = Field(description="outstanding minus credit: what the customer owes (negative: in credit)")
    aging: Aging
    open_invoices: int
    overdue_invoices: int
    as_of: date = Field(description="the day the aging was computed for")
    refreshed_at: datetime | None = Field(description="when the balance was last recomputed")
    changed_since_refresh: bool = Field(description="money changed after that: the nightly run (or POST "
                                                    "…/balance/refresh) brings it up to date")
    refresh_error: str | None = Field(default=None, description="why the last nightly refresh of this balance "
                                                                "failed (it is tried again each night)")


class InvoicePage(Model):
    items: list[Invoice]
    next_cursor: str | None = None


class PurchasePage(Model):
    items: list[Purchase]
    next_cursor: str | None = None
