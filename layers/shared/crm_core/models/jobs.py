"""Costs, jobs and deliveries kept with a customer: the records of the money screens, beside invoices and
purchases (``crm_core.models.money``), kept by the record service like notes and tasks."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Literal, Self

from pydantic import Field, model_validator

from crm_core.models.customer import Day, Flag, Id, LongText, StaffUser, Strict, Text, Version
from crm_core.models.records import Kind, NoteText, Record, unchanged

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


COSTS = Kind("cost", "costs", "COST#", Cost)
JOBS = Kind("job", "jobs", "JOB#", Job)
DELIVERIES = Kind("delivery", "deliveries", "DELIVERY#", Delivery)
