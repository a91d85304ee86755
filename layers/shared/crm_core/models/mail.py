"""Web login, password reset, mass email and mail lists: what clients send and what they get back."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import Field, StringConstraints, model_validator

from crm_core.models.customer import Id, Model, SearchFilters, Strict, Text, Username, Version

Password = Annotated[str, StringConstraints(min_length=1, max_length=256)]


class LoginPut(Strict):
    username: Username | None = Field(default=None, description="unique; cannot change once saved")
    password: Password


class Said(Model):
    message: str


class LoginSet(Model):
    customer_id: str
    username: str
    must_change_password: bool


class ResetQueued(Model):
    queued: bool
    to: str = Field(description="the address the email goes to")


class TemporaryPassword(Model):
    username: str
    temporary_password: str = Field(description="tell the customer; it must be changed at the next sign-in")
    must_change_password: bool


class LoginRequest(Strict):
    username: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=254)]
    password: Password
    new_password: Password | None = Field(default=None, description="to replace a temporary password")


class LoginAnswer(Model):
    customer_id: str
    customer_number: str
    name: str


class ResetRequest(Strict):
    username: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)] | None = None
    email: Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=254)] | None = None

    @model_validator(mode="after")
    def _one(self) -> ResetRequest:
        if bool(self.username) == bool(self.email):
            raise ValueError("give either username or email")
        return self


class ResetConfirm(Strict):
    token: Annotated[str, StringConstraints(min_length=20, max_length=200)]
    new_password: Password


class MailingContent(Strict):
    subject: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    body: Annotated[str, StringConstraints(min_length=1, max_length=50_000)] = Field(
        description='plain text; "First Name" / "Last Name" (as the old system wrote them) or {{ first_name }} '
                    "placeholders")


class MailingPreview(MailingContent):
    customer_id: Id


class MailingCreate(MailingContent):
    ids: Annotated[list[Id], Field(min_length=1, max_length=10_000)] | None = None
    list_id: Id | None = None
    search: SearchFilters | None = None

    @model_validator(mode="after")
    def _one_audience(self) -> MailingCreate:
        if sum(x is not None for x in (self.ids, self.list_id, self.search)) != 1:
            raise ValueError("give exactly one of ids, list_id or search")
        return self


class Preview(Model):
    subject: str
    text: str
    html: str
    headers: dict[str, str]


class RecipientOutcome(Model):
    customer_id: str
    status: Literal["pending", "sending", "sent", "skipped", "failed"]
    reason: str | None = None
    at: datetime | None = None


class Mailing(Model):
    id: str
    subject: str
    status: Literal["queued", "sending", "paused", "completed"]
    created_at: datetime
    created_by: str
    total: int = 0
    counts: dict[str, int] = Field(default_factory=dict, description="sent, skipped, failed, pending")
    paused_reason: str | None = None
    resume_after: datetime | None = None
    finished_at: datetime | None = None
    recipients: list[RecipientOutcome] = Field(default_factory=list)
    next_cursor: str | None = None


class MailListPut(Strict):
    name: Text
    ids: Annotated[list[Id], Field(max_length=10_000)]
    version: Version | None = Field(default=None, description="the version you read (to update)")


class MailList(Model):
    id: str
    name: str
    ids: list[str]
    version: int
    created_by: str
    updated_at: datetime


class MailListSummary(Model):
    id: str
    name: str
    size: int
    version: int
    updated_at: datetime


def plain(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if k not in ("PK", "SK", "GSI1PK", "GSI1SK")}

