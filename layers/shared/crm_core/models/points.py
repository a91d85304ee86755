"""The points ledger: adjustments with a type and a reason; the balance is their sum."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import Field, StringConstraints, field_validator

from crm_core.models.customer import LongText, Model, Strict

PointsType = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)]


class PointsAdjustment(Strict):
    amount: int = Field(strict=True, ge=-1_000_000, le=1_000_000, description="points to add (+) or remove (-)")
    type: PointsType = Field(description="the points type, e.g. loyalty, bonus, correction")
    reason: LongText

    @field_validator("amount")
    @classmethod
    def _not_zero(cls, value: int) -> int:
        if value == 0:
            raise ValueError("must not be zero")
        return value


class PointsEntry(Model):
    id: str
    amount: int
    type: str
    reason: str
    balance_after: int
    at: datetime
    by: str


class PointsPreview(Model):
    """What an adjustment would do, checked as the adjustment itself is, without writing it."""

    balance: int
    amount: int
    balance_after: int


class PointsStatement(Model):
    balance: int
    entries: list[PointsEntry]
    next_cursor: str | None = None
