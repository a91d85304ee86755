"""Records kept with a customer: notes, tasks (touch points), relationships, account benefits, membership."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal, Self

from pydantic import Field, StringConstraints, model_validator

from crm_core.models.customer import Customer, Day, Flag, Id, LongText, Model, StaffUser, Strict, Text, Version

NoteText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=5000)]
TaskStatus = Literal["open", "done", "cancelled"]
RelationshipType = Literal["contact", "business", "sold_for", "sold_by"]
INVERSE: dict[str, RelationshipType] = {"contact": "business", "business": "contact", "sold_for": "sold_by",
                                        "sold_by": "sold_for"}
CustomerId = Id


def _no_default(schema: dict[str, Any]) -> None:
    schema.pop("default", None)


def unchanged() -> Any:
    """A field of a change that may be left out (it stays as it is) but not set to null: the record needs it."""
    return Field(default=None, json_schema_extra=_no_default)



class Record(Model):
    """What every stored record carries besides its own fields."""

    id: str
    version: int
    created_at: datetime
    created_by: str
    updated_at: datetime
    updated_by: str


# ---- notes -----------------------------------------------------------------------------------------

class NoteCreate(Strict):
    text: NoteText
    operator_notice: Flag = Field(default=False, description="pop the note up on the sales screen")


class NotePatch(Strict):
    version: Version
    text: NoteText = unchanged()
    operator_notice: Flag = unchanged()


class Note(Record):
    text: str
    operator_notice: bool = False


# ---- tasks (touch points) ------------------------------------------------------------------------

class TaskCreate(Strict):
    title: LongText
    details: NoteText | None = None
    due_date: Day | None = None
    assignee: StaffUser | None = None
    status: TaskStatus = "open"


class TaskPatch(Strict):
    version: Version
    title: LongText = unchanged()
    details: NoteText | None = None
    due_date: Day | None = None
    assignee: StaffUser | None = None
    status: TaskStatus = unchanged()


class Task(Record):
    customer_id: str
    title: str
    details: str | None = None
    due_date: date | None = None
    assignee: str | None = None
    status: TaskStatus = "open"


# ---- relationships -------------------------------------------------------------------------------

class RelationshipCreate(Strict):
    type: RelationshipType = Field(description="what the other customer is to this one")
    related_id: CustomerId
    note: LongText | None = None


class RelationshipPatch(Strict):
    version: Version
    type: RelationshipType = unchanged()
    note: LongText | None = None


class Relationship(Record):
    type: RelationshipType
    related_id: str
    note: str | None = None


class RelationshipView(Relationship):
    """A relationship as staff see it: with the related customer's current number, name and status."""

    related_number: str | None = None
    related_name: str | None = None
    related_status: str | None = None


# ---- account benefits and membership -------------------------------------------------------------

class Dated(Strict):
    """Something with its own start and end dates, the end not before the start."""

    starts_on: Day | None = None
    ends_on: Day | None = None

    @model_validator(mode="after")
    def _dates_in_order(self) -> Self:
        if self.starts_on and self.ends_on and self.ends_on < self.starts_on:
            raise ValueError("ends_on is before starts_on")
        return self


class BenefitCreate(Dated):
    name: LongText
    description: NoteText | None = None


class Benefit(Record):
    name: str
    description: str | None = None
    starts_on: date | None = None
    ends_on: date | None = None


class BenefitGroup(Dated):
    name: Text


class MembershipPut(Strict):
    programme: Text
    expires_on: Day | None = None
    benefit_groups: Annotated[list[BenefitGroup], Field(max_length=50)] = Field(default_factory=list)
    benefits: Annotated[list[LongText], Field(max_length=100)] = Field(
        default_factory=list, description="benefits added by hand")
    version: Version | None = Field(default=None, description="the version you read; omit for a new membership")


class Membership(Model):
    programme: str
    expires_on: date | None = None
    benefit_groups: list[BenefitGroup] = Field(default_factory=list)
    benefits: list[str] = Field(default_factory=list)
    version: int
    updated_at: datetime
    updated_by: str


class CustomerDetail(Customer):
    """The record as the sales screen opens it: with the notes flagged to pop up."""

    operator_notices: list[Note] = Field(default_factory=list)


# ---- costs, jobs and deliveries -------------------------------------------------------------------

Money = Annotated[Decimal, Field(ge=0, max_digits=12, decimal_places=2, description="e.g. \"12.50\"")]
JobStatus = Literal["planned", "in_progress", "done", "cancelled"]


class CostCreate(Strict):
    description: LongText
    amount: Money
    incurred_on: Day
    category: Text | None = Field(default=None, description="e.g. materials, delivery fee, commission")
    purchase_id: Id | None = Field(default=None, description="the purchase the cost comes from, if any")


class CostPatch(Strict):
    version: Version
    description: LongText = unchanged()
    amount: Money = unchanged()
    incurred_on: Day = unchanged()
    category: Text | None = None


class Cost(Record):
    description: str
    amount: Decimal
    incurred_on: date
    category: str | None = None
    purchase_id: str | None = None


class JobCreate(Strict):
    title: LongText
    description: NoteText | None = None
    status: JobStatus = "planned"
    starts_on: Day | None = None
    due_on: Day | None = None
    assigned_to: StaffUser | None = None

    @model_validator(mode="after")
    def _dates_in_order(self) -> Self:
        if self.starts_on and self.due_on and self.due_on < self.starts_on:
            raise ValueError("due_on must not be before starts_on")
        return self


class JobPatch(Strict):
    version: Version
    title: LongText = unchanged()
    description: NoteText | None = None
    status: JobStatus = unchanged()
    starts_on: Day | None = None
    due_on: Day | None = None
    assigned_to: StaffUser | None = None


class Job(Record):
    title: str
    description: str | None = None
    status: JobStatus = "planned"
    starts_on: date | None = None
    due_on: date | None = None
    assigned_to: str | None = None


class DeliveryCreate(Strict):
    description: LongText = Field(description="what is delivered: the shipment's details")
    order_ref: Text | None = None
    scheduled_on: Day | None = None
    delivered_on: Day | None = None
    carrier: Text | None = None
    tracking_ref: Text | None = None
    confirmed: Flag = Field(default=False, description="the customer confirmed receipt")


class DeliveryPatch(Strict):
    version: Version
    description: LongText = unchanged()
    scheduled_on: Day | None = None
    delivered_on: Day | None = None
    carrier: Text | None = None
    tracking_ref: Text | None = None
    confirmed: Flag = unchanged()


class Delivery(Record):
    description: str
    order_ref: str | None = None
    scheduled_on: date | None = None
    delivered_on: date | None = None
    carrier: str | None = None
    tracking_ref: str | None = None
    confirmed: bool = False
