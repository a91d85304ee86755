"""Customer exports written as CSV or XLSX: columns, cells made safe for spreadsheets, streamed writers.

Pure: no AWS. Rows are written one at a time to a binary file, so memory stays flat however many
customers an export has (XLSX through openpyxl's write-only mode).

**Formula injection.** A spreadsheet treats a cell beginning with ``=``, ``+``, ``-`` or ``@`` (and, in
some programs, tab, CR or LF before them) as a formula. In CSV such a text cell is prefixed with ``'``, which
spreadsheets show as text. In XLSX every text cell is written as a string cell, which Excel never
evaluates, and a dangerous one also gets the cell's "quote prefix" so that editing it keeps it text.
Values that are numbers in the data (an answer of ``-5``) stay numbers: a number is not a formula.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime
from operator import attrgetter
from typing import IO, Any, Literal

from crm_core.errors import Invalid, field_error
from crm_core.models.customer import Customer

ExportFormat = Literal["csv", "xlsx"]
DANGEROUS_FIRST = ("=", "+", "-", "@", "\t", "\r", "\n")
CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
# Every column an export can have: the customer's fields, nested ones flattened with a dot.
# ``answers.<question>`` names one answer; ``name`` is the display name of either kind of customer.
COLUMNS = (
    "id", "customer_number", "type", "status", "name", "first_name", "last_name", "organization_name",
    "username", "email", "phone", "date_of_birth",
    "address.line1", "address.line2", "address.city", "address.county", "address.postcode", "address.country",
    "email_preferences.marketing", "email_preferences.account", "assigned_staff",
    "inactive_reason", "status_before_deactivation", "merged_into",
    "version", "created_at", "created_by", "updated_at", "updated_by",
)
ANSWER_PREFIX = "answers."
# "All their contact data": what an export has when the staff user has chosen no columns.
CONTACT_COLUMNS = [
    "customer_number", "type", "status", "first_name", "last_name", "organization_name", "username", "email",
    "phone", "address.line1", "address.line2", "address.city", "address.county", "address.postcode",
    "address.country", "email_preferences.marketing", "email_preferences.account", "assigned_staff",
    "created_at", "updated_at",
]
MAX_COLUMNS = 100
_DANGEROUS_SET = frozenset(DANGEROUS_FIRST)
_LISTS_AND_TIMES = {"assigned_staff", "created_at", "updated_at"}


def is_column(name: str) -> bool:
    return name in COLUMNS or (name.startswith(ANSWER_PREFIX) and len(name) > len(ANSWER_PREFIX))


def check_columns(columns: Sequence[str], field: str = "columns") -> list[str]:
    """The columns, in order and without repeats; every unknown one is named in a 422."""
    unknown = [c for c in dict.fromkeys(columns) if not is_column(c)]
    if unknown:
        raise Invalid(f"unknown column{'s' if len(unknown) > 1 else ''}: {', '.join(unknown)}",
                      fields=[field_error(f"{field}.{c}", "is not a column of a customer") for c in unknown])
    chosen = list(dict.fromkeys(columns))
    if not chosen or len(chosen) > MAX_COLUMNS:
        raise Invalid(f"an export has 1 to {MAX_COLUMNS} columns",
                      fields=[field_error(field, f"must have 1 to {MAX_COLUMNS} columns")])
    return chosen


def known_columns(columns: Iterable[str]) -> list[str]:
    """The exportable ones of a list (a staff user's saved list columns may include others)."""
    return [c for c in dict.fromkeys(columns) if is_column(c)]


def accessor(column: str) -> Callable[[Customer], Any]:
    """Reads one column of a customer: text, a number, a bool or None. Made once per column per export."""
    if column == "name":
        return lambda c: c.display_name
    if column.startswith(ANSWER_PREFIX):
        question = column[len(ANSWER_PREFIX):]
        return lambda c: c.answers.get(question)
    head, _, tail = column.partition(".")
    if tail:
        def nested(c: Customer) -> Any:
            part = getattr(c, head)
            return None if part is None else getattr(part, tail)
        return nested
    if column in _LISTS_AND_TIMES:
        return lambda c: _plain(getattr(c, head))
    return attrgetter(head)


def _plain(value: Any) -> Any:
    if isinstance(value, list):
        return "; ".join(str(v) for v in value)
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def value_of(customer: Customer, column: str) -> Any:
    return accessor(column)(customer)


def row_of(customer: Customer, columns: Sequence[str]) -> list[Any]:
    return [value_of(customer, c) for c in columns]


def is_dangerous(text: str) -> bool:
    return text.startswith(DANGEROUS_FIRST)


def csv_cell(value: Any) -> str:
    """A value as a CSV cell; text a spreadsheet would run as a formula is prefixed with ``'``."""
    if type(value) is str:
        return "'" + value if value[:1] in _DANGEROUS_SET else value
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value) if isinstance(value, float) else str(value)
    text = str(value)
    return "'" + text if is_dangerous(text) else text


class CsvExport:
    """Writes UTF-8 CSV (with a BOM, so Excel reads the accents right) to a binary file, row by row."""

    def __init__(self, file: IO[bytes], columns: Sequence[str]) -> None:
        self._text = io.TextIOWrapper(file, encoding="utf-8-sig", newline="", write_through=False)
        self._writer = csv.writer(self._text, lineterminator="\r\n")
        self._writer.writerow([csv_cell(c) for c in columns])

    def write(self, row: Sequence[Any]) -> None:
        self._writer.writerow([csv_cell(v) for v in row])

    def close(self) -> None:
        self._text.flush()
        self._text.detach()


class XlsxExport:
    """Writes one sheet with openpyxl's write-only mode (constant memory); text is always a string cell."""

    def __init__(self, file: IO[bytes], columns: Sequence[str], sheet: str = "Customers") -> None:
        from openpyxl import Workbook
        from openpyxl.cell import WriteOnlyCell
        from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
        from openpyxl.styles import PatternFill

        self._file = file
        self._cell = WriteOnlyCell
        self._illegal = ILLEGAL_CHARACTERS_RE
        self._mark = PatternFill(fill_type="solid", start_color="FFFFC7CE", end_color="FFFFC7CE")
        self._book = Workbook(write_only=True)
        self._sheet = self._book.create_sheet(sheet)
        self.write(list(columns))

    def _xlsx_cell(self, value: Any, marked: bool = False) -> Any:
        if not marked and (value is None or isinstance(value, bool | int | float | datetime | date)):
            return value
        if value is None or isinstance(value, bool | int | float | datetime | date):
            cell = self._cell(self._sheet, value=value)
        else:
            text = self._illegal.sub("", str(value))  # control characters XML cannot hold
            if not is_dangerous(text) and not marked:
                return text  # openpyxl writes it as a string cell
            cell = self._cell(self._sheet, value=text)
            if is_dangerous(text):
                cell.data_type = "s"  # never a formula, whatever it begins with
                cell.quotePrefix = True  # and Excel keeps it text when the cell is edited
        if marked:
            cell.fill = self._mark  # the cell a problem was found in (import reports)
        return cell

    def write(self, row: Sequence[Any], marked: Iterable[int] = ()) -> None:
        """Append a row; the cells at the ``marked`` positions are filled red."""
        flagged = set(marked)
        self._sheet.append([self._xlsx_cell(v, n in flagged) for n, v in enumerate(row)])

    def close(self) -> None:
        self._book.save(self._file)


def write_export(file: IO[bytes], fmt: ExportFormat, columns: Sequence[str], customers: Iterable[Customer]) -> int:
    """Write a header row and one row per customer; returns the number of customers written."""
    writer: CsvExport | XlsxExport = CsvExport(file, columns) if fmt == "csv" else XlsxExport(file, columns)
    read = [accessor(c) for c in columns]
    count = 0
    for customer in customers:
        writer.write([get(customer) for get in read])
        count += 1
    writer.close()
    return count
