"""Staff routes for a customer's money: invoices, payments, credits, purchases, and the balance."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Query

from crm_core.http import actor
from crm_core.models.money import (
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
from crm_core.wiring import money_service
from route_params import CustomerId

router = Router()
Limit = Annotated[int | None, Query(ge=1)]
Cursor = Annotated[str | None, Query(max_length=2000)]


@router.get("/customers/<customer_id>/invoices", tags=["money"], summary="A customer's invoices, newest first")
def list_invoices(customer_id: CustomerId, limit: Limit = None, cursor: Cursor = None) -> InvoicePage:
    return money_service().invoices(customer_id, limit, cursor)


@router.post("/customers/<customer_id>/invoices", status_code=201, tags=["money"],
             summary="Add an invoice (pending until paid; overdue after its due date)")
def add_invoice(customer_id: CustomerId, invoice: Annotated[InvoiceCreate, Body()]) -> Invoice:
    return money_service().add_invoice(customer_id, invoice, actor(router))


@router.post("/customers/<customer_id>/payments", status_code=201, tags=["money"],
             summary="Record a payment: it pays the invoices named, else the oldest due; the rest is a credit")
def add_payment(customer_id: CustomerId, payment: Annotated[PaymentCreate, Body()]) -> Payment:
    return money_service().add_payment(customer_id, payment, actor(router))


@router.post("/customers/<customer_id>/credits", status_code=201, tags=["money"],
             summary="Give a credit (a credit note): allocated like a payment")
def add_credit(customer_id: CustomerId, credit: Annotated[CreditCreate, Body()]) -> Payment:
    return money_service().add_payment(customer_id, credit, actor(router))


@router.get("/customers/<customer_id>/purchases", tags=["money"], summary="A customer's purchases, newest first")
def list_purchases(customer_id: CustomerId, limit: Limit = None, cursor: Cursor = None) -> PurchasePage:
    return money_service().purchases(customer_id, limit, cursor)


@router.post("/customers/<customer_id>/purchases", status_code=201, tags=["money"],
             summary="Log a purchase: items with quantities and prices")
def add_purchase(customer_id: CustomerId, purchase: Annotated[PurchaseCreate, Body()]) -> Purchase:
    return money_service().add_purchase(customer_id, purchase, actor(router))


@router.get("/customers/<customer_id>/balance", tags=["money"],
            summary="The balance as last refreshed: outstanding, credit, aging, and when it was refreshed")
def get_balance(customer_id: CustomerId) -> Balance:
    return money_service().balance(customer_id)


@router.post("/customers/<customer_id>/balance/refresh", tags=["money"],
             summary="Recompute this customer's balance now (and mark invoices past due overdue)")
def refresh_balance(customer_id: CustomerId) -> Balance:
    balance, _ = money_service().refresh(customer_id)
    return balance
