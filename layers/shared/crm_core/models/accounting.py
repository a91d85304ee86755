"""A customer's link to the accounts package, as staff see and settle it."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import Field, StringConstraints, model_validator

from crm_core.models.customer import Flag, Id, Model, Strict


class Candidate(Model):
    """An account that may be this customer, or another customer here that may be the same one."""

    account_ref: str | None = Field(default=None, description="the account (none: another customer here, with no "
                                                              "account yet)")
    name: str
    email: str | None = None
    postcode: str | None = None
    customer_id: str | None = Field(default=None, description="the customer here the account is linked to, or the "
                                                              "other customer that may be the same one")


class AccountingView(Model):
    state: Literal["not_synced", "pending", "synced", "held", "error"]
    pending: bool = Field(description="marked for the next sync (new, changed, or asked for)")
    account_ref: str | None = None
    last_synced: datetime | None = None
    outcome: str | None = Field(default=None, description="what the last sync did: created, linked, updated…")
    reason: str | None = Field(default=None, description="why it is held or failed")
    failures: int = 0
    candidates: list[Candidate] = Field(default_factory=list, description="accounts that may be this customer")
    package_balance: Decimal | None = Field(default=None, description="what the accounts package says is owed")
    package_balance_at: datetime | None = None


class AccountingChoice(Strict):
    account_ref: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)] | None = None
    create_new: Flag = False

    @model_validator(mode="after")
    def _one(self) -> AccountingChoice:
        if bool(self.account_ref) == self.create_new:
            raise ValueError("give either account_ref (link that account) or create_new: true")
        return self


class SyncRequest(Strict):
    ids: Annotated[list[Id], Field(max_length=100)] | None = Field(
        default=None, description="customers to sync now (besides every new and changed one)")


class SyncRequested(Model):
    queued: bool
    marked: int
