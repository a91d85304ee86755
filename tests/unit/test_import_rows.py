"""The rules one spreadsheet row must pass, and cells as Excel really stores them (dates, epochs, merges)."""

from __future__ import annotations

import re
import zipfile
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook
from openpyxl.utils.datetime import CALENDAR_MAC_1904

from crm_core.import_rows import FileMatches, PreparedRow, Problem, parse_date, prepare_row
from crm_core.workbook import read_customer_rows


@pytest.mark.parametrize(("cell", "expected"), [
    (datetime(1980, 12, 31, 0, 0), date(1980, 12, 31)),
    (date(1980, 12, 31), date(1980, 12, 31)),
    ("1980-12-31", date(1980, 12, 31)),
    ("31/12/1980", date(1980, 12, 31)),
    ("1/2/1980", date(1980, 2, 1)),  # day first, as written in the UK
    ("31.12.1980", date(1980, 12, 31)),
    ("31-12-1980", date(1980, 12, 31)),
    ("31 Dec 1980", date(1980, 12, 31)),
    ("1st September 1980", date(1980, 9, 1)),
])
def test_dates_as_real_dates_iso_text_or_day_first_text(cell: Any, expected: date) -> None:
    assert parse_date(cell) == expected


@pytest.mark.parametrize(("cell", "reason"), [
    (29581, "is a number, not a date"),  # Excel's serial for 1980-12-31 stored in a General cell
    (29581.5, "is a number, not a date"),
    ("12/31/1980", "is not a real date"),  # month first is not guessed at
    ("31/02/1980", "is not a real date"),
    ("next Tuesday", "is not a date"),
    ("80-12-31", "is not a date"),
])
def test_cells_that_are_not_dates_are_refused_with_their_reason(cell: Any, reason: str) -> None:
    with pytest.raises(ValueError, match=re.escape(reason)):
        parse_date(cell)


def test_a_good_row_gives_its_fields_and_match_keys() -> None:
    prepared = prepare_row(7, {"customer_number": "100042", "first_name": "Ada", "last_name": "Lovelace",
                               "email": "Ada@Example.ORG", "username": "ALovelace", "address.postcode": "n1 9gu",
                               "date_of_birth": "10/12/1990"})
    assert isinstance(prepared, PreparedRow)
    assert prepared.fields == {"type": "individual", "first_name": "Ada", "last_name": "Lovelace",
                               "username": "alovelace", "email": "Ada@example.org", "date_of_birth": "1990-12-10",
                               "address": {"postcode": "n1 9gu"}}
    assert (prepared.customer_number, prepared.username, prepared.email) == ("100042", "alovelace",
                                                                             "ada@example.org")
    assert prepared.dedupe == "ada lovelace|n19gu"


def test_the_type_comes_from_its_column_or_from_the_names() -> None:
    company = prepare_row(2, {"organization_name": "Initech Ltd", "email": "info@initech.example"})
    assert isinstance(company, PreparedRow) and company.fields["type"] == "organization"
    person_at_company = prepare_row(3, {"first_name": "Peter", "last_name": "Gibbons",
                                        "organization_name": "Initech Ltd", "address.postcode": "EC1A 1BB"})
    assert isinstance(person_at_company, PreparedRow) and person_at_company.fields["type"] == "individual"
    assert prepare_row(4, {"type": "Company", "first_name": "Peter"}) == [
        Problem("organization_name", "is required for an organisation"),
        Problem("first_name", "does not apply to an organisation")]
    assert prepare_row(5, {"type": "robot", "organization_name": "X"}) == [
        Problem("type", "must be Individual or Organisation")]


def test_a_row_with_nothing_to_recognise_the_customer_by_is_refused() -> None:
    # a second upload could not find this customer again, and would add them twice
    assert prepare_row(6, {"first_name": "Only", "last_name": "Name"}) == [Problem(
        None, "has nothing to recognise the customer by next time: add an email, a username, a postcode or the "
              "customer number")]


def test_every_problem_of_a_row_is_named_by_its_field() -> None:
    problems = prepare_row(9, {"customer_number": "A-1", "first_name": "Mary", "email": "mary@example",
                               "date_of_birth": 29581, "address.country": "England", "phone": "call me"})
    assert isinstance(problems, list)
    assert {p.field for p in problems} == {"customer_number", "last_name", "email", "date_of_birth",
                                           "address.country", "phone"}


def test_rows_naming_the_same_customer_are_reported_against_the_first() -> None:
    matches = FileMatches()
    rows = [prepare_row(n, values) for n, values in enumerate([
        {"first_name": "Alan", "last_name": "Turing", "email": "alan@example.org"},
        {"first_name": "Al", "last_name": "Turing", "email": "ALAN@example.org"},
        {"first_name": "Jo", "last_name": "Bloggs", "address.postcode": "N1 9GU"},
        {"first_name": "JO", "last_name": "bloggs", "address.postcode": "n19gu"},
        {"first_name": "Jo", "last_name": "Bloggs", "address.postcode": "N1 9GU", "email": "jo@example.org"},
    ], start=2)]
    clashes = [matches.clash(r) if isinstance(r, PreparedRow) else r for r in rows]
    assert clashes == [None, Problem("email", "has the same email as row 2"), None,
                       Problem(None, "has the same name and postcode as row 4"), None]


def _sheet_rows(book: Workbook, tmp_path: Path) -> list[dict[str, Any]]:
    path = tmp_path / "book.xlsx"
    book.save(path)
    return [values for _, values, _ in read_customer_rows(path).rows]


def test_dates_of_a_1904_epoch_workbook_are_read_as_written(tmp_path: Path) -> None:
    book = Workbook()
    book.epoch = CALENDAR_MAC_1904
    sheet = book.active
    assert sheet is not None
    sheet.append(["First Name", "Last Name", "Date of Birth"])
    sheet.append(["Ada", "Lovelace", datetime(1990, 12, 10)])
    rows = _sheet_rows(book, tmp_path)
    assert parse_date(rows[0]["date_of_birth"]) == date(1990, 12, 10)


def test_merged_cells_are_read_once_in_their_first_cell(tmp_path: Path) -> None:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["First Name", "Last Name", "Town", "County"])
    sheet.append(["Ada", "Lovelace", "London", None])
    sheet.merge_cells("C2:D2")
    assert _sheet_rows(book, tmp_path) == [{"first_name": "Ada", "last_name": "Lovelace", "address.city": "London"}]


def test_a_lying_dimension_does_not_hide_rows(tmp_path: Path) -> None:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["First Name", "Last Name"])
    for n in range(5):
        sheet.append([f"First{n}", f"Last{n}"])
    path = tmp_path / "lying.xlsx"
    book.save(path)
    # the sheet claims to be one cell big
    lying = tmp_path / "lying2.xlsx"
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(lying, "w") as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = re.sub(rb'<dimension ref="[^"]+"', b'<dimension ref="A1"', data)
                assert b'<dimension ref="A1"' in data
            target.writestr(item, data)
    assert len(list(read_customer_rows(lying).rows)) == 5
