"""Reading customer lists from ``.xlsx`` workbooks as staff really keep them — and refusing hostile files.

``inspect_file`` looks at the bytes before any XML is parsed: an empty file, an old ``.xls``, a CSV or
random bytes renamed ``.xlsx``, a damaged zip, a zip that is no workbook, and a zip bomb (the unpacked size
is read from the zip's directory, not by unpacking) each get one clear reason. openpyxl then parses with
``defusedxml`` (installed with the layer), so XML entity bombs and external entities are refused too.

``read_customer_rows`` streams the first visible sheet (or a named one) in read-only mode, finds the header
row even below title rows, maps headers by their many spellings ("Forename", "E-mail Address", "Post Code",
"Tel"), reports the columns it does not know, skips blank rows, trims text, and keeps phone numbers that
were stored as numbers as text. It never trusts the sheet's ``<dimension>``.
"""

from __future__ import annotations

import re
import unicodedata
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # old .xls (and password-protected .xlsx)
ZIP = b"PK\x03\x04"

# Each field, and the header spellings staff use for it (compared case-, space- and punctuation-blind).
SYNONYMS: dict[str, tuple[str, ...]] = {
    "customer_number": ("customer number", "customer no", "customer #", "cust no", "customer id", "account number",
                        "account no", "customer ref", "customer reference"),
    "type": ("type", "customer type"),
    "first_name": ("first name", "forename", "forenames", "given name", "firstname", "first"),
    "last_name": ("last name", "surname", "family name", "lastname", "last"),
    "organization_name": ("organisation", "organization", "organisation name", "organization name", "company",
                          "company name", "business", "business name"),
    "username": ("username", "user name", "login", "user id"),
    "email": ("email", "e-mail", "email address", "e-mail address", "mail"),
    "phone": ("phone", "tel", "telephone", "phone number", "telephone number", "mobile", "mobile number"),
    "date_of_birth": ("date of birth", "dob", "d.o.b.", "birth date", "birthdate", "birthday", "born"),
    "address.line1": ("address", "address 1", "address line 1", "address1", "street"),
    "address.line2": ("address 2", "address line 2", "address2"),
    "address.city": ("city", "town", "town/city", "town city"),
    "address.county": ("county", "region", "state"),
    "address.postcode": ("postcode", "post code", "postal code", "zip", "zip code"),
    "address.country": ("country", "country code"),
}
DATE_FIELDS = {"date_of_birth"}
IDENTIFYING = {"customer_number", "first_name", "last_name", "organization_name", "email", "username"}


def header_key(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()
    return re.sub(r"[^0-9a-z#]+", "", plain)


_BY_KEY = {header_key(spelling): name for name, spellings in SYNONYMS.items() for spelling in spellings}


class WorkbookRefused(Exception):
    """The file cannot be imported at all; ``reason`` says why, for the person who uploaded it."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Limits:
    max_unpacked_bytes: int = 256 * 2**20
    max_ratio: int = 200  # unpacked / packed size of one member above which it is treated as a bomb
    max_rows: int = 200_000
    header_scan_rows: int = 30


@dataclass
class Header:
    row: int  # 1-based row number of the header in the sheet
    columns: dict[int, str]  # column index → field
    titles: list[str]  # the uploader's own column titles, as written
    unknown: list[str] = field(default_factory=list)  # titles no field answers to (ignored)
    repeated: list[str] = field(default_factory=list)  # fields two columns answer to (the first one is read)


@dataclass
class SheetRows:
    sheet: str
    header: Header
    rows: Iterator[tuple[int, dict[str, Any], list[Any]]]  # (row number, values by field, the raw cells)


def inspect_file(path: Path, limits: Limits = Limits()) -> None:
    """Refuse what is not a sound ``.xlsx`` before parsing any XML."""
    size = path.stat().st_size
    if size == 0:
        raise WorkbookRefused("the file is empty")
    with path.open("rb") as handle:
        head = handle.read(512)
    if head.startswith(OLE2):
        raise WorkbookRefused("this is an old Excel .xls workbook or a password-protected one: "
                              "save it as an Excel Workbook (.xlsx) without a password and upload it again")
    if not head.startswith(ZIP):
        kind = "a text file (CSV?)" if _looks_like_text(head) else "not a spreadsheet"
        raise WorkbookRefused(f"this is {kind}, not an Excel .xlsx workbook")
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, OSError):
        raise WorkbookRefused("the workbook is damaged: it cannot be opened as an .xlsx file") from None
    names = {m.filename for m in members}
    if "xl/workbook.xml" not in names or "[Content_Types].xml" not in names:
        raise WorkbookRefused("this zip file is not an Excel workbook")
    unpacked = sum(m.file_size for m in members)
    if unpacked > limits.max_unpacked_bytes:
        raise WorkbookRefused(f"the workbook would unpack to {unpacked / 2**20:.0f} MB, more than the "
                              f"{limits.max_unpacked_bytes / 2**20:.0f} MB allowed; split it into smaller files")
    for member in members:
        if member.file_size > 2**20 and member.file_size > limits.max_ratio * max(member.compress_size, 1):
            ratio = member.file_size // max(member.compress_size, 1)
            raise WorkbookRefused(f"the workbook part {member.filename} is compressed {ratio} to 1, which only a "
                                  "zip bomb does; refused")


def read_customer_rows(path: Path, sheet: str | None = None, limits: Limits = Limits()) -> SheetRows:
    """The header and a stream of data rows of the sheet to import. Raises ``WorkbookRefused``."""
    inspect_file(path, limits)
    book = _open(path)
    worksheet = _sheet(book, sheet)
    worksheet.reset_dimensions()  # a lying <dimension> must not decide what is read
    cells = _guarded(worksheet.iter_rows(values_only=True))
    header = _find_header(cells, limits.header_scan_rows)
    return SheetRows(worksheet.title, header, _data_rows(cells, header, limits.max_rows))


def _open(path: Path) -> Any:
    from defusedxml import DefusedXmlException  # openpyxl parses through defusedxml when it is installed
    from openpyxl import load_workbook

    try:
        return load_workbook(path, read_only=True, data_only=True)
    except (DefusedXmlException, KeyError, ValueError, TypeError, IndexError, AttributeError, OSError, EOFError,
            zipfile.BadZipFile, zlib.error) as exc:
        raise _unreadable(exc) from None


def _unreadable(exc: BaseException) -> WorkbookRefused:
    from defusedxml import DefusedXmlException

    if isinstance(exc, DefusedXmlException) or isinstance(exc.__cause__, DefusedXmlException):
        return WorkbookRefused("the workbook declares XML entities, which spreadsheets do not need; refused")
    return WorkbookRefused(f"the workbook is damaged and cannot be read ({type(exc).__name__})")


def _guarded(cells: Iterator[tuple[Any, ...]]) -> Iterator[tuple[Any, ...]]:
    """Rows are parsed as they are read: a fault found on the way is a refusal too, not a crash."""
    from xml.etree.ElementTree import ParseError

    try:
        yield from cells
    except (ValueError, KeyError, TypeError, IndexError, AttributeError, ParseError, zipfile.BadZipFile, zlib.error,
            EOFError, OSError) as exc:  # what a damaged part of the zip or its XML raises while it is read
        raise _unreadable(exc) from None


def _sheet(book: Any, wanted: str | None) -> Any:
    if wanted is not None:
        if wanted not in book.sheetnames:
            names = ", ".join(book.sheetnames)
            raise WorkbookRefused(f"the workbook has no sheet named {wanted!r} (it has: {names})")
        return book[wanted]
    for worksheet in book.worksheets:
        if worksheet.sheet_state == "visible":
            return worksheet
    raise WorkbookRefused("the workbook has no visible sheet")


def _find_header(cells: Iterator[tuple[Any, ...]], scan: int) -> Header:
    for number, values in enumerate(cells, start=1):
        titles = ["" if v is None else str(v).strip() for v in values]
        columns: dict[int, str] = {}
        unknown, repeated = [], []
        for index, title in enumerate(titles):
            if not title:
                continue
            name = _BY_KEY.get(header_key(title))
            if name is None:
                unknown.append(title)
            elif name in columns.values():
                repeated.append(title)
            else:
                columns[index] = name
        if len(columns) >= 2 and IDENTIFYING & set(columns.values()):
            return Header(number, columns, titles, unknown, repeated)
        if number >= scan:
            break
    raise WorkbookRefused(f"no header row found in the first {scan} rows: the sheet needs a row of column titles "
                          "such as First Name, Last Name, Email, Post Code")


def _data_rows(cells: Iterator[tuple[Any, ...]], header: Header,
               max_rows: int) -> Iterator[tuple[int, dict[str, Any], list[Any]]]:
    seen = 0
    for number, values in enumerate(cells, start=header.row + 1):
        raw = list(values)
        if all(v is None or (isinstance(v, str) and not v.strip()) for v in raw):
            continue
        seen += 1
        if seen > max_rows:
            raise WorkbookRefused(f"the sheet has more than {max_rows:,} data rows; split it into smaller files")
        row = {name: _clean(name, raw[index]) for index, name in header.columns.items() if index < len(raw)}
        yield number, {k: v for k, v in row.items() if v is not None}, raw


def _clean(name: str, value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, str):
        text = value.strip()
        return text or None
    if isinstance(value, datetime | date) or name in DATE_FIELDS:
        return value  # a number in a date column is refused by the row rules, with its own reason
    if isinstance(value, int | float) and not isinstance(value, bool):
        # phones and customer numbers stored as numbers come back as text ("7700900123", not "7700900123.0")
        return str(int(value)) if float(value).is_integer() else str(value)
    return value


def _looks_like_text(head: bytes) -> bool:
    try:
        text = head.decode("utf-8-sig")
    except UnicodeDecodeError:
        return False
    return all(ch.isprintable() or ch in "\r\n\t" for ch in text)
