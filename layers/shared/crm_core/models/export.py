"""Exports: what a staff user asks for, and the job that answers it."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field, model_validator

from crm_core.models.customer import Id, Model, SearchFilters, Strict
from crm_core.models.staff import Column

ExportFormat = Literal["csv", "xlsx"]
ExportStatus = Literal["queued", "running", "completed", "failed"]
CustomerId = Id
MAX_EXPORT_IDS = 10_000


class ExportSearch(SearchFilters):
    """The customers a search finds (the search of ``GET /customers``, every page of it)."""


class ExportRequest(Strict):
    format: ExportFormat
    ids: Annotated[list[CustomerId], Field(min_length=1, max_length=MAX_EXPORT_IDS)] | None = Field(
        default=None, description="the selected customers, in this order (at most 10,000)")
    search: ExportSearch | None = Field(default=None, description="every customer this search finds, newest first")
    columns: Annotated[list[Column], Field(min_length=1, max_length=100)] | None = Field(
        default=None, description="columns in order, e.g. customer_number, first_name, address.postcode, "
                                  "email_preferences.marketing, answers.<question>; default: your saved list "
                                  "columns, else all contact data")

    @model_validator(mode="after")
    def _one_selection(self) -> ExportRequest:
        if (self.ids is None) == (self.search is None):
            raise ValueError("send exactly one of ids and search")
        return self


class ExportJob(Model):
    id: str
    status: ExportStatus
    format: ExportFormat
    columns: list[str]
    ids: list[str] | None = Field(default=None, exclude=True)
    search: ExportSearch | None = None
    requested_by: str
    created_at: datetime
    updated_at: datetime
    rows: int | None = Field(default=None, description="customers written (once completed)")
    missing: int | None = Field(default=None, description="requested ids that no longer exist")
    key: str | None = Field(default=None, exclude=True)
    error: str | None = None
    download_url: str | None = Field(default=None, description="a time-limited link, once completed")
    download_expires_at: datetime | None = None
