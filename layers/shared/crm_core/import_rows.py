"""The rules a spreadsheet row must pass before it can become (or update) a customer.

``prepare_row`` turns the values the workbook reader found (by field) into the fields of a customer, the
keys it is matched by, and — when something is wrong — the problems, each naming its field. It checks the
row alone; matching rows against each other (``FileMatches``) and against the table happens after.

Dates come as real dates, ISO text (``1980-12-31``) or day-first text (``31/12/1980``, ``31.12.1980``,
``31 Dec 1980``); a number in a date column is refused rather than guessed at.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache
from typing import Any

from pydantic import TypeAdapter, ValidationError

from crm_core.models.customer import CustomerCreate
from crm_core.text import dedupe_key, normalise_email

_TYPES = {
    "individual": "individual", "person": "individual", "private": "individual", "i": "individual",
    "organization": "organization", "organisation": "organization", "company": "organization",
    "business": "organization", "org": "organization", "o": "organization",
}
_MONTHS = {name: n for n, names in enumerate(
    [("jan", "january"), ("feb", "february"), ("mar", "march"), ("apr", "april"), ("may",), ("jun", "june"),
     ("jul", "july"), ("aug", "august"), ("sep", "sept", "september"), ("oct", "october"), ("nov", "november"),
     ("dec", "december")], start=1) for name in names}
_ISO = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[T ]00:00(?::00)?)?$")
_DAY_FIRST = re.compile(r"^(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4})$")
_DAY_MONTH_NAME = re.compile(r"^(\d{1,2})(?:st|nd|rd|th)?[ \-]([A-Za-z]{3,9})\.?[ \-,]+(\d{4})$")
_NUMBER = re.compile(r"^\d{1,12}$")
NOT_A_DATE = "is not a date: write it as 31/12/1980 or 1980-12-31, or format the column as Date"


@dataclass
class Problem:
    field: str | None  # the customer field (e.g. ``email``, ``address.postcode``); None for the whole row
    reason: str


@dataclass
class PreparedRow:
    """A row that passed its own rules: the customer fields it gives, and what it is matched by."""

    row: int
    fields: dict[str, Any]  # JSON-ready values of the fields the row gives (empty cells are not here)
    customer_number: str | None = None
    username: str | None = None
    email: str | None = None  # normalised for matching
    dedupe: str | None = None  # normalised name + postcode, for rows with nothing else to match by

    @property
    def identified(self) -> bool:
        return bool(self.customer_number or self.username or self.email)


@dataclass
class FileMatches:
    """Rows of one file that name the same customer: the later row is reported, naming the earlier one."""

    seen: dict[tuple[str, str], int] = field(default_factory=dict)

    def clash(self, prepared: PreparedRow) -> Problem | None:
        keys = [("customer_number", prepared.customer_number), ("username", prepared.username),
                ("email", prepared.email)]
        if not prepared.identified:
            keys.append(("name", prepared.dedupe))
        problem = None
        for name, value in keys:
            if value is None:
                continue
            earlier = self.seen.setdefault((name, value), prepared.row)
            if earlier != prepared.row and problem is None:
                what = "the same name and postcode" if name == "name" else f"the same {name.replace('_', ' ')}"
                problem = Problem(None if name == "name" else name, f"has {what} as row {earlier}")
        return problem


@lru_cache(maxsize=1)
def _create_adapter() -> TypeAdapter[Any]:
    return TypeAdapter(CustomerCreate)


def parse_date(value: Any) -> date:
    """A date from a cell: a real date, ISO text or day-first text. Raises ``ValueError`` with the reason."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, int | float):  # bool is an int too
        raise ValueError("is a number, not a date: format the column as Date, or write it as 31/12/1980")
    text = str(value).strip()
    try:
        if match := _ISO.match(text):
            year, month, day = (int(g) for g in match.groups())
        elif match := _DAY_FIRST.match(text):
            day, month, year = (int(g) for g in match.groups())
        elif (match := _DAY_MONTH_NAME.match(text)) and match.group(2).lower() in _MONTHS:
            day, month, year = int(match.group(1)), _MONTHS[match.group(2).lower()], int(match.group(3))
        else:
            raise ValueError(NOT_A_DATE)
        return date(year, month, day)
    except ValueError as bad:
        if str(bad) == NOT_A_DATE:
            raise
        raise ValueError(f"is not a real date ({text})") from None


def prepare_row(row: int, values: dict[str, Any]) -> PreparedRow | list[Problem]:
    """Check one row; the prepared row, or every problem found (each naming its field)."""
    problems: list[Problem] = []
    payload: dict[str, Any] = {}
    address: dict[str, Any] = {}
    number = None
    for name, value in values.items():
        if name == "customer_number":
            number = str(value).strip()
            if not _NUMBER.match(number):
                problems.append(Problem(name, "is not a customer number (digits only, e.g. 100042)"))
                number = None
        elif name == "type":
            kind = _TYPES.get(str(value).strip().casefold())
            if kind is None:
                problems.append(Problem(name, "must be Individual or Organisation"))
            else:
                payload["type"] = kind
        elif name == "date_of_birth":
            try:
                payload[name] = parse_date(value)
            except ValueError as bad:
                problems.append(Problem(name, str(bad)))
        elif name.startswith("address."):
            address[name.removeprefix("address.")] = value
        else:
            payload[name] = value
    if address:
        payload["address"] = address
    payload.setdefault("type", _guess_type(payload))
    try:
        customer = _create_adapter().validate_python(payload)
    except ValidationError as invalid:
        problems += [_problem(error) for error in invalid.errors()]
    if problems:
        return problems
    fields = customer.model_dump(mode="json", exclude_defaults=True, exclude={"confirm_duplicate"})
    fields["type"] = customer.type
    postcode = customer.address.postcode if customer.address else None
    if not (number or customer.username or customer.email or postcode):
        # nothing would find this customer again: uploading the file twice would add them twice
        return [Problem(None, "has nothing to recognise the customer by next time: add an email, a username, "
                              "a postcode or the customer number")]
    return PreparedRow(row=row, fields=fields, customer_number=number, username=customer.username,
                       email=normalise_email(customer.email) if customer.email else None,
                       dedupe=dedupe_key(_display_name(customer), postcode))


def _guess_type(payload: dict[str, Any]) -> str:
    has_person = payload.get("first_name") or payload.get("last_name")
    return "organization" if payload.get("organization_name") and not has_person else "individual"


def _display_name(customer: Any) -> str:
    if customer.type == "organization":
        return str(customer.organization_name)
    return f"{customer.first_name} {customer.last_name}"


def _problem(error: Any) -> Problem:
    location = [str(part) for part in error["loc"][1:]]  # the first part is the customer type
    name = ".".join(location) or None
    message = error["msg"].removeprefix("Value error, ")
    if error["type"] == "missing":
        message = "is required" + (" for an individual" if name in ("first_name", "last_name") else "")
        if name == "organization_name":
            message = "is required for an organisation"
    elif error["type"] == "extra_forbidden":
        message = "does not apply to an organisation" if name in ("first_name", "last_name") else "is not a field"
    return Problem(name, message)
