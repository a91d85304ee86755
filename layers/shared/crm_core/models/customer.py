"""The customer record: what clients send, what is stored, what the API answers."""

from __future__ import annotations

import math
import re
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StringConstraints,
    WithJsonSchema,
)

from crm_core.text import SEARCH_FIELDS

ID_PATTERN = r"^[0-9A-HJKMNP-TV-Z]{26}$"  # a ULID: customer, record and export ids
PAGE_MAX = 100  # the most items a page may ask for: the API's parameters refuse more (422), services trust them
Id = Annotated[str, StringConstraints(pattern=ID_PATTERN)]
CustomerType = Literal["individual", "organization"]
CustomerStatus = Literal["active", "enrolled", "inactive", "merged"]
SearchField = Literal["name", "customer_number", "email", "phone", "username", "postcode", "organization"]
assert set(SearchField.__args__) == set(SEARCH_FIELDS)  # type: ignore[attr-defined]

_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_EMAIL = re.compile(rf"^[^@\s<>(),;:\"\[\]\\]{{1,64}}@{_LABEL}(?:\.{_LABEL})+$")
_PHONE = re.compile(r"^\+?[0-9 ()./-]+$")
_USERNAME = re.compile(r"^[a-z0-9][a-z0-9._@-]{2,63}$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _no_control_chars(value: str) -> str:
    if _CONTROL.search(value):
        raise ValueError("must not contain control characters or line breaks")
    return value


def _email(value: str) -> str:
    if not _EMAIL.match(value):
        raise ValueError("is not a valid email address")
    local, domain = value.rsplit("@", 1)
    return f"{local}@{domain.lower()}"


def _phone(value: str) -> str:
    digits = sum(ch.isdigit() for ch in value)
    if not _PHONE.match(value) or not 6 <= digits <= 20:
        raise ValueError("must be 6 to 20 digits, optionally with +, spaces, brackets, dots or dashes")
    return value


def _country(value: str) -> str:
    code = value.upper()
    if len(code) != 2 or not code.isascii() or not code.isalpha():
        raise ValueError("must be a two-letter ISO 3166 country code, e.g. GB")
    return code


def _iso_date(value: Any) -> Any:
    """A date comes as ``YYYY-MM-DD`` text, never as a number (a count of seconds would pass for one)."""
    if isinstance(value, str) or (isinstance(value, date) and not isinstance(value, datetime)):
        return value
    raise ValueError("must be a date written YYYY-MM-DD")


def _birth_date(value: date) -> date:
    if value > date.today():
        raise ValueError("is in the future")
    if value.year < date.today().year - 130:
        raise ValueError("is more than 130 years ago")
    return value


def _username(value: str) -> str:
    lowered = value.lower()
    if not _USERNAME.match(lowered):
        raise ValueError("must be 3 to 64 characters: letters, digits, '.', '_', '-' or '@', "
                         "starting with a letter or digit")
    return lowered


Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100),
                 AfterValidator(_no_control_chars)]
LongText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200),
                     AfterValidator(_no_control_chars)]
Email = Annotated[str, StringConstraints(strip_whitespace=True, max_length=254), AfterValidator(_email)]
Phone = Annotated[str, StringConstraints(strip_whitespace=True, max_length=32), AfterValidator(_phone)]
Username = Annotated[str, StringConstraints(strip_whitespace=True, max_length=64), AfterValidator(_username)]
Country = Annotated[str, StringConstraints(strip_whitespace=True), AfterValidator(_country)]
Day = Annotated[date, BeforeValidator(_iso_date)]
BirthDate = Annotated[date, BeforeValidator(_iso_date), AfterValidator(_birth_date)]
Flag = StrictBool  # true or false, never 0, 1 or "yes"
StaffUser = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=128),
                      AfterValidator(_no_control_chars)]
def _answer(value: Any) -> Any:
    """An answer is text, true/false, or a number DynamoDB holds as sent: at most 38 digits, between 1e-130 and
    1e126 in size (or 0), never NaN or Infinity — nothing is ever stored as null instead."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int) and abs(value) >= 10**38:
        raise ValueError("has more than 38 digits: it cannot be stored")
    if isinstance(value, float) and (not math.isfinite(value) or (value != 0 and not 1e-130 <= abs(value) < 1e126)):
        raise ValueError("is a number that cannot be stored: use one between 1e-130 and 1e126 in size, or 0")
    if isinstance(value, str) and len(value) > 1000:
        raise ValueError("is longer than 1000 characters")
    return value


AnswerValue = Annotated[str | bool | int | float | None, AfterValidator(_answer), WithJsonSchema({"anyOf": [
    {"type": "string", "maxLength": 1000}, {"type": "boolean"},
    {"type": "integer", "minimum": -(10**38) + 1, "maximum": 10**38 - 1},
    {"type": "number", "minimum": -9.9e125, "maximum": 9.9e125}, {"type": "null"}]})]
Version = Annotated[int, Field(strict=True, ge=1, le=2**53, description="the version you read; a stale one is "
                                                                       "refused with 409")]
QuestionKey = Annotated[str, StringConstraints(min_length=1, max_length=64)]
Answers = Annotated[dict[QuestionKey, AnswerValue], Field(max_length=50)]


class Model(BaseModel):
    """Every model of the domain. Validators are built on first use, not at import: a cold start pays only
    for the models its request needs."""

    model_config = ConfigDict(defer_build=True)


class Strict(Model):
    """What clients send: unknown fields are refused, text is trimmed."""

    model_config = ConfigDict(defer_build=True, extra="forbid", str_strip_whitespace=True)


class Address(Strict):
    line1: LongText | None = None
    line2: LongText | None = None
    city: Text | None = None
    county: Text | None = None
    postcode: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=16)] | None = None
    country: Country | None = Field(default=None, description="ISO 3166-1 alpha-2 code, e.g. GB")


class EmailPreferences(Strict):
    """Opt-in per category of email. Marketing is opt-in; account mail (password resets) is on by default."""

    marketing: Flag = False
    account: Flag = True


class EmailPreferencesPut(Strict):
    marketing: Flag | None = None
    account: Flag | None = None


class StatusChange(Strict):
    action: Literal["enroll", "unenroll", "deactivate", "reactivate"]


class StatusOption(Model):
    action: Literal["enroll", "unenroll", "deactivate", "reactivate"]
    allowed: bool
    reason: str | None = Field(default=None, description="why the customer's state refuses it")


class StatusOptions(Model):
    """The customer's status and what each status action would do now."""

    status: str
    inactive_reason: str | None = None
    version: int
    actions: list[StatusOption]


class _CustomerFields(Strict):
    username: Username | None = Field(default=None, description="unique across customers; cannot change once saved")
    email: Email | None = None
    phone: Phone | None = None
    date_of_birth: BirthDate | None = None
    address: Address | None = None
    answers: Answers = Field(default_factory=dict, description="answers to the configurable customer questions")
    assigned_staff: Annotated[list[StaffUser], Field(max_length=2)] = Field(
        default_factory=list, description="at most two staff users tied to the customer"
    )
    email_preferences: EmailPreferences = Field(default_factory=lambda: EmailPreferences())
    confirm_duplicate: Flag = Field(
        default=False, description="create even though a customer with the same email, or name and postcode, exists"
    )


class IndividualCreate(_CustomerFields):
    type: Literal["individual"]
    first_name: Text
    last_name: Text
    organization_name: LongText | None = Field(default=None, description="the organisation the person belongs to")


class OrganizationCreate(_CustomerFields):
    type: Literal["organization"]
    organization_name: LongText


CustomerCreate = Annotated[IndividualCreate | OrganizationCreate, Field(discriminator="type")]


class CustomerPatch(Strict):
    """Only the fields present change; ``null`` clears an optional field."""

    version: Version
    first_name: Text | None = None
    last_name: Text | None = None
    organization_name: LongText | None = None
    username: Username | None = None
    email: Email | None = None
    phone: Phone | None = None
    date_of_birth: BirthDate | None = None
    address: Address | None = None
    answers: Answers | None = None
    assigned_staff: Annotated[list[StaffUser], Field(max_length=2)] | None = None
    confirm_duplicate: Flag = False


class Customer(Model):
    """A stored customer, as the API answers it."""

    id: str
    customer_number: str
    type: CustomerType
    status: CustomerStatus = "active"
    first_name: str | None = None
    last_name: str | None = None
    organization_name: str | None = None
    username: str | None = None
    email: str | None = None
    phone: str | None = None
    date_of_birth: date | None = None
    address: Address | None = None
    answers: dict[str, Any] = Field(default_factory=dict)
    assigned_staff: list[str] = Field(default_factory=list)
    inactive_reason: Literal["unenrolled", "deactivated"] | None = None
    status_before_deactivation: CustomerStatus | None = None
    email_preferences: EmailPreferences = Field(default_factory=EmailPreferences)
    merged_into: str | None = Field(default=None, description="the customer this one was merged into")
    version: int
    created_at: datetime
    updated_at: datetime
    created_by: str
    updated_by: str

    @property
    def display_name(self) -> str:
        if self.type == "organization":
            return self.organization_name or ""
        return f"{self.first_name or ''} {self.last_name or ''}".strip()


EDITABLE = ("first_name", "last_name", "organization_name", "username", "email", "phone", "date_of_birth", "address",
            "answers", "assigned_staff")


class FieldChange(Model):
    field: str
    old: Any = None
    new: Any = None


class HistoryEntry(Model):
    at: datetime
    by: str
    action: str
    changes: list[FieldChange] = Field(default_factory=list)


class DuplicateCandidate(Model):
    id: str
    customer_number: str
    name: str
    reason: Literal["same_email", "same_name_and_postcode"]


class BulkOutcome(Model):
    id: str
    outcome: Literal["deleted", "assigned", "unassigned", "unchanged", "refused"]
    code: str | None = None
    message: str | None = None


class StaffPut(Strict):
    staff: Annotated[list[StaffUser], Field(max_length=2)] = Field(description="at most two staff users")


class BulkAssign(Strict):
    ids: Annotated[list[Id], Field(min_length=1, max_length=100)]
    staff_user: StaffUser


class BulkDelete(Strict):
    ids: Annotated[list[Id], Field(min_length=1, max_length=100)]
    delete_history: Flag = False


class SearchFilters(Strict):
    """Which customers a search finds."""

    q: Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)] | None = None
    fields: list[SearchField] | None = None
    registered_within_days: Annotated[int, Field(ge=1, le=366)] | None = None
    type: CustomerType | None = None
    status: CustomerStatus | None = None
    assigned_to: StaffUser | None = None


class SearchParams(SearchFilters):
    """A search and the page of it wanted."""

    limit: Annotated[int, Field(ge=1, le=PAGE_MAX)] | None = None
    cursor: Annotated[str, StringConstraints(max_length=2000)] | None = None


class CustomerPage(Model):
    items: list[Customer]
    next_cursor: str | None = None


class HistoryPage(Model):
    items: list[HistoryEntry]
    next_cursor: str | None = None
