"""Staff users: each one's own settings (list columns, their widths, the fields a keyword searches), the staff
directory, and the signed-in user with their roles."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import Field, StringConstraints

from crm_core.models.customer import Model, SearchField, Strict
from crm_core.roles import Role

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


class StaffMember(Model):
    """A staff user of the directory (the user pool's users in the staff groups)."""

    username: str
    name: str | None = None
    email: str | None = None
    roles: list[Role] = Field(description="admin, staff, readonly")


class StaffList(Model):
    """The staff directory."""

    items: list[StaffMember]


class Me(Model):
    """The signed-in staff user: who they are and every staff route they may call."""

    username: str
    name: str | None = None
    email: str | None = None
    roles: list[Role]
    permissions: list[str] = Field(description='"<METHOD> <path>" of each staff route you may call, the path as '
                                               'the API documents it, e.g. "DELETE /customers/{customer_id}"')
