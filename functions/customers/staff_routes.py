"""Staff routes about staff: assigned staff on customers (one or many), and each user's own preferences."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body

from crm_core.http import actor
from crm_core.models.customer import BulkAssign, BulkOutcome, Customer, StaffPut
from crm_core.models.staff import StaffPreferences, StaffPreferencesPut
from crm_core.wiring import customer_service, staff_preferences
from route_params import CustomerId

router = Router()


@router.put("/customers/<customer_id>/staff", tags=["staff"], summary="Set the customer's assigned staff (at most two)")
def set_staff(customer_id: CustomerId, staff: Annotated[StaffPut, Body()]) -> Customer:
    return customer_service().set_staff(customer_id, staff.staff, actor(router))


@router.post("/customers/assign", tags=["staff"], summary="Assign a staff user to many customers; outcome per id")
def assign(request: Annotated[BulkAssign, Body()]) -> list[BulkOutcome]:
    return customer_service().assign(request.ids, request.staff_user, actor(router), add=True)


@router.post("/customers/unassign", tags=["staff"], summary="Unassign a staff user from many customers")
def unassign(request: Annotated[BulkAssign, Body()]) -> list[BulkOutcome]:
    return customer_service().assign(request.ids, request.staff_user, actor(router), add=False)


@router.get("/me/preferences", tags=["staff"], summary="Your list columns, widths and searched fields")
def get_preferences() -> StaffPreferences:
    return staff_preferences().get(actor(router))


@router.put("/me/preferences", tags=["staff"], summary="Remember your list columns, widths and searched fields")
def put_preferences(preferences: Annotated[StaffPreferencesPut, Body()]) -> StaffPreferences:
    return staff_preferences().put(actor(router), preferences)
