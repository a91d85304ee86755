"""Staff routes for the records kept with a customer: notes, tasks, account benefits, relationships,
membership. Thin translations between HTTP and the record service."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Query

from crm_core.http import SignedIn
from crm_core.models.points import PointsAdjustment, PointsEntry, PointsPreview, PointsStatement
from crm_core.models.records import (
    Benefit,
    BenefitCreate,
    Membership,
    MembershipPut,
    Note,
    NoteCreate,
    NotePatch,
    RelationshipCreate,
    RelationshipPatch,
    RelationshipView,
    Task,
    TaskCreate,
    TaskPatch,
)
from crm_core.services.records import BENEFITS, NOTES, TASKS
from crm_core.wiring import points_service, record_service
from route_params import Cursor, CustomerId, Limit, RecordId

router = Router()


def _gone() -> Response[str]:
    return Response(status_code=204, body="")


# ---- notes ---------------------------------------------------------------------------------------

@router.get("/customers/<customer_id>/notes", tags=["notes"], summary="Internal notes, newest first")
def list_notes(customer_id: CustomerId) -> list[Note]:
    return record_service().records(NOTES, customer_id)


@router.post("/customers/<customer_id>/notes", status_code=201, tags=["notes"],
             summary="Add an internal note (operator_notice pops it up on the sales screen)")
def add_note(actor: SignedIn, customer_id: CustomerId, note: Annotated[NoteCreate, Body()]) -> Note:
    return record_service().add(NOTES, customer_id, note, actor.username)


@router.patch("/customers/<customer_id>/notes/<note_id>", tags=["notes"], summary="Edit a note")
def change_note(actor: SignedIn,
                customer_id: CustomerId, note_id: RecordId, patch: Annotated[NotePatch, Body()]) -> Note:
    return record_service().change(NOTES, customer_id, note_id, patch, actor.username)


@router.delete("/customers/<customer_id>/notes/<note_id>", tags=["notes"], summary="Remove a note")
def remove_note(actor: SignedIn, customer_id: CustomerId, note_id: RecordId) -> Response[str]:
    record_service().remove(NOTES, customer_id, note_id, actor.username)
    return _gone()


# ---- tasks (touch points) ------------------------------------------------------------------------

@router.get("/customers/<customer_id>/tasks", tags=["tasks"], summary="A customer's tasks")
def list_tasks(customer_id: CustomerId,
               status: Annotated[str | None, Query(pattern="^(open|done|cancelled)$")] = None) -> list[Task]:
    tasks = record_service().records(TASKS, customer_id)
    return [t for t in tasks if status is None or t.status == status]


@router.post("/customers/<customer_id>/tasks", status_code=201, tags=["tasks"], summary="Add a follow-up task")
def add_task(actor: SignedIn, customer_id: CustomerId, task: Annotated[TaskCreate, Body()]) -> Task:
    return record_service().add(TASKS, customer_id, task, actor.username)


@router.patch("/customers/<customer_id>/tasks/<task_id>", tags=["tasks"], summary="Edit or close a task")
def change_task(actor: SignedIn,
                customer_id: CustomerId, task_id: RecordId, patch: Annotated[TaskPatch, Body()]) -> Task:
    return record_service().change(TASKS, customer_id, task_id, patch, actor.username)


@router.delete("/customers/<customer_id>/tasks/<task_id>", tags=["tasks"], summary="Remove a task")
def remove_task(actor: SignedIn, customer_id: CustomerId, task_id: RecordId) -> Response[str]:
    record_service().remove(TASKS, customer_id, task_id, actor.username)
    return _gone()


@router.get("/tasks", tags=["tasks"], summary="A staff user's open tasks across customers, soonest due first")
def staff_tasks(actor: SignedIn,
                assignee: Annotated[str | None, Query(max_length=128, description="staff username (default: you)")
                                    ] = None) -> list[Task]:
    return record_service().open_tasks_of(assignee or actor.username)


# ---- account benefits ----------------------------------------------------------------------------

@router.get("/customers/<customer_id>/benefits", tags=["membership"], summary="Benefits on the account itself")
def list_benefits(customer_id: CustomerId) -> list[Benefit]:
    return record_service().records(BENEFITS, customer_id)


@router.post("/customers/<customer_id>/benefits", status_code=201, tags=["membership"],
             summary="Add a benefit to the account")
def add_benefit(actor: SignedIn, customer_id: CustomerId, benefit: Annotated[BenefitCreate, Body()]) -> Benefit:
    return record_service().add(BENEFITS, customer_id, benefit, actor.username)


@router.delete("/customers/<customer_id>/benefits/<benefit_id>", tags=["membership"], summary="Remove a benefit")
def remove_benefit(actor: SignedIn, customer_id: CustomerId, benefit_id: RecordId) -> Response[str]:
    record_service().remove(BENEFITS, customer_id, benefit_id, actor.username)
    return _gone()


# ---- membership ----------------------------------------------------------------------------------

@router.get("/customers/<customer_id>/membership", tags=["membership"], summary="Membership and benefit groups")
def get_membership(customer_id: CustomerId) -> Membership:
    return record_service().membership(customer_id)


@router.put("/customers/<customer_id>/membership", tags=["membership"],
            summary="Set the membership: programme, expiry, benefit groups and their dates, hand-added benefits")
def put_membership(actor: SignedIn,
                   customer_id: CustomerId, membership: Annotated[MembershipPut, Body()]) -> Membership:
    return record_service().set_membership(customer_id, membership, actor.username)


# ---- relationships -------------------------------------------------------------------------------

@router.get("/customers/<customer_id>/relationships", tags=["relationships"],
            summary="Links to other customers, seen from this one")
def list_relationships(customer_id: CustomerId) -> list[RelationshipView]:
    return record_service().relationships(customer_id)


@router.post("/customers/<customer_id>/relationships", status_code=201, tags=["relationships"],
             summary="Link another customer (contact, business, sold_for); the other side shows the inverse")
def add_relationship(actor: SignedIn,
                     customer_id: CustomerId, link: Annotated[RelationshipCreate, Body()]) -> RelationshipView:
    return record_service().relate(customer_id, link, actor.username)


@router.patch("/customers/<customer_id>/relationships/<relationship_id>", tags=["relationships"],
              summary="Change a link's type or note (both sides)")
def change_relationship(actor: SignedIn, customer_id: CustomerId, relationship_id: RecordId,
                        patch: Annotated[RelationshipPatch, Body()]) -> RelationshipView:
    return record_service().change_relationship(customer_id, relationship_id, patch, actor.username)


@router.delete("/customers/<customer_id>/relationships/<relationship_id>", tags=["relationships"],
               summary="Remove a link (both sides)")
def remove_relationship(actor: SignedIn, customer_id: CustomerId, relationship_id: RecordId) -> Response[str]:
    record_service().unrelate(customer_id, relationship_id, actor.username)
    return _gone()


# ---- points --------------------------------------------------------------------------------------

@router.get("/customers/<customer_id>/points", tags=["points"], summary="Points balance and ledger, newest first")
def points_statement(customer_id: CustomerId, limit: Limit = None, cursor: Cursor = None) -> PointsStatement:
    return points_service().statement(customer_id, limit, cursor)


@router.post("/customers/<customer_id>/points", status_code=201, tags=["points"],
             summary="Adjust points: amount (+/-), type and reason are required")
def adjust_points(actor: SignedIn,
                  customer_id: CustomerId, adjustment: Annotated[PointsAdjustment, Body()]) -> PointsEntry:
    return points_service().adjust(customer_id, adjustment, actor.username)


@router.post("/customers/<customer_id>/points/preview", tags=["points"],
             summary="The balance an adjustment would leave, checked as the adjustment is; nothing is written")
def preview_points(customer_id: CustomerId, adjustment: Annotated[PointsAdjustment, Body()]) -> PointsPreview:
    return points_service().preview(customer_id, adjustment)
