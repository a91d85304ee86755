"""Staff routes for the customer record: thin translations between HTTP and the customer service."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Query
from pydantic import ValidationError

from crm_core.errors import Invalid
from crm_core.http import SignedIn, validation_fields
from crm_core.models.customer import (
    BulkDelete,
    BulkOutcome,
    Customer,
    CustomerCreate,
    CustomerPage,
    CustomerPatch,
    EmailPreferences,
    EmailPreferencesPut,
    HistoryPage,
    SearchParams,
    StatusChange,
    StatusOptions,
)
from crm_core.models.records import CustomerDetail
from crm_core.wiring import customer_service, record_service
from route_params import Cursor, CustomerId, Limit

router = Router()


@router.post("/customers", status_code=201, tags=["customers"],
             summary="Create an individual or organization customer")
def create_customer(actor: SignedIn, customer: Annotated[CustomerCreate, Body()]) -> Customer:
    return customer_service().create(customer, actor.username)  # type: ignore[arg-type]


@router.get("/customers", tags=["customers"], summary="Search customers")
def search_customers(
    q: Annotated[str | None, Query(description="keywords; each must start a word of a searched field")] = None,
    fields: Annotated[str | None, Query(description="comma-separated columns q searches (default: all)")] = None,
    registered_within_days: Annotated[int | None, Query(description="registered in the last N days")] = None,
    type: Annotated[str | None, Query(description="individual or organization")] = None,
    status: Annotated[str | None, Query(description="active, enrolled, inactive or merged")] = None,
    assigned_to: Annotated[str | None, Query(description="staff username")] = None,
    limit: Limit = None,
    cursor: Cursor = None,
) -> CustomerPage:
    raw = {"q": q, "registered_within_days": registered_within_days, "type": type, "status": status,
           "assigned_to": assigned_to, "limit": limit, "cursor": cursor,
           "fields": [f.strip() for f in fields.split(",") if f.strip()] if fields else None}
    try:
        params = SearchParams.model_validate({k: v for k, v in raw.items() if v is not None})
    except ValidationError as exc:
        raise Invalid("the search has invalid parameters",
                      fields=validation_fields(exc.errors())) from None  # type: ignore[arg-type]
    return customer_service().search(params)


@router.get("/customers/<customer_id>", tags=["customers"], summary="Get one customer, with its operator notices")
def get_customer(customer_id: CustomerId) -> CustomerDetail:
    customer = customer_service().get(customer_id)
    return CustomerDetail(**customer.model_dump(), operator_notices=record_service().operator_notices(customer_id))


@router.patch("/customers/<customer_id>", tags=["customers"],
              summary="Edit a customer (needs the current version; username cannot change)")
def patch_customer(actor: SignedIn, customer_id: CustomerId, changes: Annotated[CustomerPatch, Body()]) -> Customer:
    return customer_service().patch(customer_id, changes, actor.username)


@router.get("/customers/<customer_id>/history", tags=["customers"], summary="Change history, newest first")
def customer_history(
    customer_id: CustomerId,
    limit: Limit = None,
    cursor: Cursor = None,
) -> HistoryPage:
    return customer_service().history(customer_id, limit, cursor)


@router.get("/customers/<customer_id>/status", tags=["customers"],
            summary="The status and each status action: allowed now, or refused with the reason")
def status_options(customer_id: CustomerId) -> StatusOptions:
    return customer_service().status_options(customer_id)


@router.post("/customers/<customer_id>/status", tags=["customers"],
             summary="Enroll, un-enroll, deactivate (hold) or reactivate; a refused change says why (409)")
def change_status(actor: SignedIn, customer_id: CustomerId, change: Annotated[StatusChange, Body()]) -> Customer:
    return customer_service().change_status(customer_id, change.action, actor.username)


@router.get("/customers/<customer_id>/email-preferences", tags=["customers"], summary="Email opt-ins")
def get_email_preferences(customer_id: CustomerId) -> EmailPreferences:
    return customer_service().get(customer_id).email_preferences


@router.put("/customers/<customer_id>/email-preferences", tags=["customers"],
            summary="Opt in or out per category (marketing, account)")
def put_email_preferences(actor: SignedIn, customer_id: CustomerId,
                          preferences: Annotated[EmailPreferencesPut, Body()]) -> EmailPreferences:
    return customer_service().set_email_preferences(customer_id, preferences, actor.username).email_preferences


@router.delete("/customers/<customer_id>", tags=["customers"],
               summary="Delete a customer without transactions (409 otherwise); history kept unless delete_history")
def delete_customer(actor: SignedIn, customer_id: CustomerId,
                    delete_history: Annotated[bool, Query(description="also delete its change history")] = False,
                    ) -> Response[str]:
    customer_service().delete(customer_id, delete_history, actor.username)
    return Response(status_code=204, body="")


@router.post("/customers/delete", tags=["customers"], summary="Delete many customers; an outcome per id")
def delete_customers(actor: SignedIn, request: Annotated[BulkDelete, Body()]) -> list[BulkOutcome]:
    return customer_service().delete_many(request.ids, request.delete_history, actor.username)
