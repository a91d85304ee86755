"""Staff routes for a customer's money and trade: invoices, payments, credits, purchases, the balance, and
the costs, jobs and deliveries kept with the customer."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body

from crm_core.http import SignedIn
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
from crm_core.models.records import (
    Cost,
    CostCreate,
    CostPatch,
    Delivery,
    DeliveryCreate,
    DeliveryPatch,
    Job,
    JobCreate,
    JobPatch,
)
from crm_core.services.records import COSTS, DELIVERIES, JOBS
from crm_core.wiring import money_service, record_service
from route_params import Cursor, CustomerId, Limit, RecordId

router = Router()


@router.get("/customers/<customer_id>/invoices", tags=["money"], summary="A customer's invoices, newest first")
def list_invoices(customer_id: CustomerId, limit: Limit = None, cursor: Cursor = None) -> InvoicePage:
    return money_service().invoices(customer_id, limit, cursor)


@router.post("/customers/<customer_id>/invoices", status_code=201, tags=["money"],
             summary="Add an invoice (pending until paid; overdue after its due date)")
def add_invoice(actor: SignedIn, customer_id: CustomerId, invoice: Annotated[InvoiceCreate, Body()]) -> Invoice:
    return money_service().add_invoice(customer_id, invoice, actor.username)


@router.post("/customers/<customer_id>/payments", status_code=201, tags=["money"],
             summary="Record a payment: it pays the invoices named, else the oldest due; the rest is a credit")
def add_payment(actor: SignedIn, customer_id: CustomerId, payment: Annotated[PaymentCreate, Body()]) -> Payment:
    return money_service().add_payment(customer_id, payment, actor.username)


@router.post("/customers/<customer_id>/credits", status_code=201, tags=["money"],
             summary="Give a credit (a credit note): allocated like a payment")
def add_credit(actor: SignedIn, customer_id: CustomerId, credit: Annotated[CreditCreate, Body()]) -> Payment:
    return money_service().add_payment(customer_id, credit, actor.username)


@router.get("/customers/<customer_id>/purchases", tags=["money"], summary="A customer's purchases, newest first")
def list_purchases(customer_id: CustomerId, limit: Limit = None, cursor: Cursor = None) -> PurchasePage:
    return money_service().purchases(customer_id, limit, cursor)


@router.post("/customers/<customer_id>/purchases", status_code=201, tags=["money"],
             summary="Log a purchase: items with quantities and prices")
def add_purchase(actor: SignedIn, customer_id: CustomerId, purchase: Annotated[PurchaseCreate, Body()]) -> Purchase:
    return money_service().add_purchase(customer_id, purchase, actor.username)


@router.get("/customers/<customer_id>/balance", tags=["money"],
            summary="The balance as last refreshed: outstanding, credit, aging, and when it was refreshed")
def get_balance(customer_id: CustomerId) -> Balance:
    return money_service().balance(customer_id)


@router.post("/customers/<customer_id>/balance/refresh", tags=["money"],
             summary="Recompute this customer's balance now (and mark invoices past due overdue)")
def refresh_balance(customer_id: CustomerId) -> Balance:
    balance, _ = money_service().refresh(customer_id)
    return balance


@router.get("/customers/<customer_id>/costs", tags=["money"],
            summary="Costs: direct costs of purchases and other fees or charges")
def list_costs(customer_id: CustomerId) -> list[Cost]:
    return record_service().records(COSTS, customer_id)


@router.post("/customers/<customer_id>/costs", status_code=201, tags=["money"], summary="Add a cost")
def add_cost(actor: SignedIn, customer_id: CustomerId, cost: Annotated[CostCreate, Body()]) -> Cost:
    return record_service().add(COSTS, customer_id, cost, actor.username)


@router.patch("/customers/<customer_id>/costs/<cost_id>", tags=["money"], summary="Change a cost")
def change_cost(actor: SignedIn,
                customer_id: CustomerId, cost_id: RecordId, patch: Annotated[CostPatch, Body()]) -> Cost:
    return record_service().change(COSTS, customer_id, cost_id, patch, actor.username)


@router.delete("/customers/<customer_id>/costs/<cost_id>", tags=["money"], summary="Remove a cost")
def remove_cost(actor: SignedIn, customer_id: CustomerId, cost_id: RecordId) -> Response[str]:
    record_service().remove(COSTS, customer_id, cost_id, actor.username)
    return Response(status_code=204, body="")


@router.get("/customers/<customer_id>/jobs", tags=["money"],
            summary="Jobs and projects for the customer: status, dates, who is on it")
def list_jobs(customer_id: CustomerId) -> list[Job]:
    return record_service().records(JOBS, customer_id)


@router.post("/customers/<customer_id>/jobs", status_code=201, tags=["money"], summary="Add a job")
def add_job(actor: SignedIn, customer_id: CustomerId, job: Annotated[JobCreate, Body()]) -> Job:
    return record_service().add(JOBS, customer_id, job, actor.username)


@router.patch("/customers/<customer_id>/jobs/<job_id>", tags=["money"], summary="Change a job")
def change_job(actor: SignedIn, customer_id: CustomerId, job_id: RecordId, patch: Annotated[JobPatch, Body()]) -> Job:
    return record_service().change(JOBS, customer_id, job_id, patch, actor.username)


@router.delete("/customers/<customer_id>/jobs/<job_id>", tags=["money"], summary="Remove a job")
def remove_job(actor: SignedIn, customer_id: CustomerId, job_id: RecordId) -> Response[str]:
    record_service().remove(JOBS, customer_id, job_id, actor.username)
    return Response(status_code=204, body="")


@router.get("/customers/<customer_id>/deliveries", tags=["money"],
            summary="Deliveries: dates, shipment details, confirmation")
def list_deliveries(customer_id: CustomerId) -> list[Delivery]:
    return record_service().records(DELIVERIES, customer_id)


@router.post("/customers/<customer_id>/deliveries", status_code=201, tags=["money"], summary="Add a delivery")
def add_delivery(actor: SignedIn, customer_id: CustomerId, delivery: Annotated[DeliveryCreate, Body()]) -> Delivery:
    return record_service().add(DELIVERIES, customer_id, delivery, actor.username)


@router.patch("/customers/<customer_id>/deliveries/<delivery_id>", tags=["money"], summary="Change a delivery")
def change_delivery(actor: SignedIn, customer_id: CustomerId, delivery_id: RecordId,
                    patch: Annotated[DeliveryPatch, Body()]) -> Delivery:
    return record_service().change(DELIVERIES, customer_id, delivery_id, patch, actor.username)


@router.delete("/customers/<customer_id>/deliveries/<delivery_id>", tags=["money"], summary="Remove a delivery")
def remove_delivery(actor: SignedIn, customer_id: CustomerId, delivery_id: RecordId) -> Response[str]:
    record_service().remove(DELIVERIES, customer_id, delivery_id, actor.username)
    return Response(status_code=204, body="")
