"""A staff user's own settings: the list columns, their widths and the fields a keyword searches."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import Field, StringConstraints

from crm_core.models.customer import SearchField, Strict

Column = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64,
                                          pattern=r"^[A-Za-z0-9_.]+$")]
DEFAULT_COLUMNS = ["customer_number", "type", "first_name", "last_name", "organization_name", "email", "phone",
                   "address.postcode", "status"]


class StaffPreferencesPut(Strict):
    columns: Annotated[list[Column], Field(min_length=1, max_length=50)] = Field(
        default_factory=lambda: list(DEFAULT_COLUMNS), description="list columns, in order")
    widths: Annotated[dict[Column, Annotated[int, Field(ge=20, le=2000)]], Field(max_length=50)] = Field(
        default_factory=dict, description="column widths in pixels")
    search_fields: list[SearchField] | None = Field(default=None, description="what a keyword searches; null: all")


class StaffPreferences(StaffPreferencesPut):
    updated_at: datetime | None = None
