"""Staff routes about staff: who is signed in and what they may do, the staff directory, assigned staff on
customers (one or many), and each user's own preferences."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body

from crm_core.http import SignedIn
from crm_core.models.customer import BulkAssign, BulkOutcome, Customer, StaffPut
from crm_core.models.staff import Me, StaffList, StaffPreferences, StaffPreferencesPut
from crm_core.wiring import customer_service, staff_preferences, staff_service
from route_params import CustomerId

router = Router()


@router.get("/me", tags=["staff"], summary="You: username, name, email, roles, and every staff route you may call")
def me(actor: SignedIn) -> Me:
    return staff_service().me(actor)


@router.get("/staff", tags=["staff"], summary="The staff directory: the users customers and tasks can be given to")
def staff_directory() -> StaffList:
    return staff_service().directory()


@router.put("/customers/<customer_id>/staff", tags=["staff"], summary="Set the customer's assigned staff (at most two)")
def set_staff(actor: SignedIn, customer_id: CustomerId, staff: Annotated[StaffPut, Body()]) -> Customer:
    return customer_service().set_staff(customer_id, staff.staff, actor.username)


@router.post("/customers/assign", tags=["staff"], summary="Assign a staff user to many customers; outcome per id")
def assign(actor: SignedIn, request: Annotated[BulkAssign, Body()]) -> list[BulkOutcome]:
    return customer_service().assign(request.ids, request.staff_user, actor.username, add=True)


@router.post("/customers/unassign", tags=["staff"], summary="Unassign a staff user from many customers")
def unassign(actor: SignedIn, request: Annotated[BulkAssign, Body()]) -> list[BulkOutcome]:
    return customer_service().assign(request.ids, request.staff_user, actor.username, add=False)


@router.get("/me/preferences", tags=["staff"], summary="Your list columns, widths and searched fields")
def get_preferences(actor: SignedIn) -> StaffPreferences:
    return staff_preferences().get(actor.username)


@router.put("/me/preferences", tags=["staff"], summary="Remember your list columns, widths and searched fields")
def put_preferences(actor: SignedIn, preferences: Annotated[StaffPreferencesPut, Body()]) -> StaffPreferences:
    return staff_preferences().put(actor.username, preferences)
