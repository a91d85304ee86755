"""Records kept with a customer: notes, tasks (touch points), relationships, account benefits, membership; and
the kinds of record the record service keeps (costs, jobs and deliveries: ``crm_core.models.jobs``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Any, Generic, Literal, Self, TypeVar

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


# ---- the kinds of record -----------------------------------------------------------------------------

R = TypeVar("R", bound=Record)


@dataclass(frozen=True)
class Kind(Generic[R]):
    """A kind of record kept with a customer, as the record service and its routes name it."""

    name: str      # "note": in messages and history actions
    plural: str    # "notes": the history field
    prefix: str    # "NOTE#": the record's sort-key prefix
    model: type[R]

    def sk(self, record_id: str) -> str:
        return f"{self.prefix}{record_id}"


NOTES = Kind("note", "notes", "NOTE#", Note)
TASKS = Kind("task", "tasks", "TASK#", Task)
BENEFITS = Kind("benefit", "benefits", "BENEFIT#", Benefit)
RELATIONSHIPS = Kind("relationship", "relationships", "REL#", Relationship)
