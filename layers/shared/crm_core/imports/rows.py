"""The rules a spreadsheet row must pass before it can become (or update) a customer, and the typed rows the
import's files carry.

``prepare_row`` takes a row's cells and the plan (which columns give which field), makes each value what the
staff member meant (``normalising.py``), and answers the customer fields the row gives and the keys it is matched
by — or every problem, each naming its field — together with the notices: what was changed or left out
without rejecting the row (an Excel error cell, a birthday without a year, a second email).

A row of a person with a company is an individual with an organisation name; a row with only a company is
an organisation; a "Type" column decides when there is one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache
from typing import Any

from pydantic import Field, TypeAdapter, ValidationError

from crm_core.imports.normalising import (
    DateOrder,
    NoYear,
    as_text,
    clean_email,
    clean_text,
    country_code,
    customer_type,
    lines,
    normalise_phone,
    normalise_postcode,
    one_line,
    parse_date,
    split_name,
)
from crm_core.imports.reading import EXCEL_ERRORS, CellError, Uncalculated
from crm_core.imports.vocabulary import fold
from crm_core.models.customer import CustomerCreate, Model
from crm_core.models.imports import RevertOutcome, RowError, RowOutcome
from crm_core.text import dedupe_key, normalise_email

_NUMBER = re.compile(r"^\d{1,12}$")
_TOTALS = {fold(w) for w in ("total", "totals", "grand total", "sum", "subtotal", "summe", "gesamt",
                                   "gesamtsumme", "total général", "total general", "somme", "totale",
                                   "totale generale", "totaal", "eindtotaal", "suma", "soma")}


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


class ChunkRow(Model):
    """A row ready to apply, as a chunk file carries it."""

    row: int
    id: str = Field(description="the id a customer created from this row gets (the same on every try)")
    fields: dict[str, Any]
    customer_number: str | None = None
    username: str | None = None
    email: str | None = None
    dedupe: str | None = None
    cells: list[Any] = Field(default_factory=list, description="the row's cells as uploaded (for the report)")


class HeaderRecord(Model):
    """The header as the header file carries it, for the report: the titles as written, and each field's column
    title (how errors name the column)."""

    titles: list[str] = Field(default_factory=list)
    columns: dict[str, str] = Field(default_factory=dict)


class RowRecord(Model):
    """What a try did to one row (or a row refused while reading), as an outcomes file carries it."""

    row: int
    outcome: RowOutcome | RevertOutcome
    customer_id: str | None = None
    customer_number: str | None = None
    version: int | None = None
    errors: list[RowError] = Field(default_factory=list)
    cells: list[Any] = Field(default_factory=list)


@dataclass
class RowContext:
    """What every row of one reading is read with."""

    fields: dict[str, list[int]]  # field → its columns, first one first
    date_order: DateOrder
    default_country: str
    epoch: datetime = datetime(1899, 12, 30)


@dataclass
class Prepared:
    row: PreparedRow | None
    problems: list[Problem] = field(default_factory=list)
    notices: list[Problem] = field(default_factory=list)


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


def is_totals_row(cells: tuple[Any, ...]) -> bool:
    """A table's totals row: "Total", "Summe", "Totaal"… as its first text, and no email in it."""
    texts = [c for c in cells if isinstance(c, str) and c.strip()]
    return bool(texts) and len(texts[0]) <= 30 and fold(texts[0]) in _TOTALS and not any("@" in t for t in texts)


def pick(cells: tuple[Any, ...], columns: list[int], name: str, notices: list[Problem]) -> Any:
    """The field's value: from its first column with one (an error cell is empty, and noted)."""
    size = len(cells)
    for index in columns:
        value = cells[index] if index < size else None
        if value is None:
            continue
        kind = type(value)
        if kind is str:
            if value[:1] == "#" and value.strip() in EXCEL_ERRORS:
                notices.append(Problem(name, f"holds the Excel error {value.strip()}: left empty"))
                continue
            value = clean_text(value)
            if value:
                return value
        elif kind is CellError:
            notices.append(Problem(name, f"holds the Excel error {value.code}: left empty"))
        elif kind is Uncalculated:
            notices.append(Problem(name, "holds a formula whose result the file does not keep: left empty (open the "
                                         "file in Excel and save it again to keep the results)"))
        else:
            return value
    return None


def prepare_row(row: int, cells: tuple[Any, ...], context: RowContext) -> Prepared:
    """Check one row: the prepared row, or every problem found (each naming its field); and the notices."""
    problems: list[Problem] = []
    notices: list[Problem] = []
    values = {name: pick(cells, columns, name, notices) for name, columns in context.fields.items()}
    values = {k: v for k, v in values.items() if v is not None}
    payload: dict[str, Any] = {}
    address: dict[str, Any] = {}
    country = context.default_country
    number: str | None = None
    if "address.country" in values:
        code = country_code(as_text(values["address.country"]))
        if code is None:
            problems.append(Problem("address.country", "is not a country we know: write its name or its two-letter "
                                                       "ISO code, e.g. GB"))
        else:
            address["country"] = country = code
    for name, value in values.items():
        if name == "customer_number":
            given = as_text(value).strip()
            if _NUMBER.match(given):
                number = given
            else:
                problems.append(Problem(name, "is not a customer number (digits only, e.g. 100042)"))
        elif name == "type":
            kind = customer_type(as_text(value))
            if kind is None:
                problems.append(Problem(name, "must be Individual or Organisation"))
            else:
                payload["type"] = kind
        elif name == "date_of_birth":
            try:
                born = parse_date(value, context.date_order, context.epoch)
            except NoYear as birthday:
                notices.append(Problem(name, f"a birthday without a year ({birthday}) is no date of birth: not kept"))
            except ValueError as bad:
                problems.append(Problem(name, str(bad)))
            else:
                if born is not None:
                    payload[name] = born
        elif name == "email":
            email, note = clean_email(as_text(value))
            payload[name] = email
            if note:
                notices.append(Problem(name, note))
        elif name == "phone":
            phone, note = normalise_phone(value, country)
            payload[name] = phone
            if note:
                notices.append(Problem(name, note))
        elif name == "address.postcode":
            address["postcode"] = normalise_postcode(value, country)
        elif name == "address.line1":
            parts = lines(as_text(value))
            if parts:
                address["line1"] = parts[0]
                if parts[1:]:  # Alt+Enter in the first address line: the next lines come before line 2
                    address["line2"] = ", ".join(parts[1:] + ([address["line2"]] if "line2" in address else []))
        elif name == "address.line2":
            address["line2"] = ", ".join([*([address["line2"]] if "line2" in address else []),
                                          *lines(as_text(value))])
        elif name.startswith("address.") and name != "address.country":
            address[name.removeprefix("address.")] = one_line(as_text(value))
        elif name in ("first_name", "last_name", "organization_name", "username"):
            payload[name] = one_line(as_text(value))
    if "full_name" in values and not (payload.get("first_name") and payload.get("last_name")):
        split = split_name(as_text(values["full_name"]))
        if split is None:
            if not payload.get("organization_name") or payload.get("type") == "individual":
                problems.append(Problem("full_name", "has one word: the first name cannot be told from the last; "
                                                     "give them in two columns"))
        else:
            payload.setdefault("first_name", split[0])
            payload.setdefault("last_name", split[1])
    if address:
        payload["address"] = address
    payload.setdefault("type", _guess_type(payload))
    try:
        customer = _create_adapter().validate_python(payload)
    except ValidationError as invalid:
        problems += [_problem(error) for error in invalid.errors()]
    if problems:
        return Prepared(None, problems, notices)
    fields = customer.model_dump(mode="json", exclude_defaults=True, exclude={"confirm_duplicate"})
    fields["type"] = customer.type
    postcode = customer.address.postcode if customer.address else None
    if not (number or customer.username or customer.email or postcode):
        # nothing would find this customer again: uploading the file twice would add them twice
        return Prepared(None, [Problem(None, "has nothing to recognise the customer by next time: add an email, a "
                                             "username, a postcode or the customer number")], notices)
    return Prepared(PreparedRow(row=row, fields=fields, customer_number=number, username=customer.username,
                                email=normalise_email(customer.email) if customer.email else None,
                                dedupe=dedupe_key(_display_name(customer), postcode)), [], notices)


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


# ---- cells as JSON: dates keep their type through the chunk files and back into the report ----------------------

_PLAIN = (str, int, float, bool)


def encode_cell(value: Any) -> Any:
    if value is None or type(value) in _PLAIN:
        return value
    if isinstance(value, datetime):
        return {"$dt": value.isoformat()}
    if isinstance(value, date):
        return {"$d": value.isoformat()}
    if isinstance(value, CellError):
        return value.code
    if isinstance(value, Uncalculated):
        return None
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def decode_cell(value: Any) -> Any:
    if isinstance(value, dict):
        if "$dt" in value:
            return datetime.fromisoformat(value["$dt"])
        if "$d" in value:
            return date.fromisoformat(value["$d"])
    return value
