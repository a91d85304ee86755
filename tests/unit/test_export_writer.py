"""Export files: columns, and cells that a spreadsheet would run as formulas neutralised (CSV and XLSX)."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from typing import Any

import pytest
from openpyxl import load_workbook

from crm_core.errors import Invalid
from crm_core.export import CONTACT_COLUMNS, check_columns, csv_cell, known_columns, row_of, write_export
from crm_core.models.customer import Address, Customer

DANGEROUS = ["=1+1", "+44 20 7946 0000", "-2+3", "@SUM(A1:A2)", "\t=cmd", "\r=cmd", "\n=cmd",
             '=HYPERLINK("http://x","y")']
SAFE = ["Ada", "1 High Street", "a=b", "x+y", "ada@example.org", ""]
NOW = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)


def customer(**fields: Any) -> Customer:
    values: dict[str, Any] = {"id": "01JB2Z6Q3M8V5K7N9P4R2T6W8X", "customer_number": "100001", "type": "individual",
                              "first_name": "Ada", "last_name": "Lovelace", "version": 3, "created_at": NOW,
                              "updated_at": NOW, "created_by": "s", "updated_by": "s", **fields}
    return Customer(**values)


def _csv(customers: list[Customer], columns: list[str]) -> list[list[str]]:
    out = io.BytesIO()
    write_export(out, "csv", columns, customers)
    return list(csv.reader(io.StringIO(out.getvalue().decode("utf-8-sig"))))


def _xlsx(customers: list[Customer], columns: list[str]) -> Any:
    out = io.BytesIO()
    write_export(out, "xlsx", columns, customers)
    return load_workbook(io.BytesIO(out.getvalue())).active


@pytest.mark.parametrize("text", DANGEROUS, ids=repr)
def test_csv_prefixes_every_dangerous_first_character(text: str) -> None:
    # Given a text value that begins like a formula
    # When it is written to a CSV file and read back
    rows = _csv([customer(answers={"q": text})], ["answers.q"])
    # Then the cell is the text behind an apostrophe, which spreadsheets show as text
    assert rows[1] == ["'" + text]


@pytest.mark.parametrize("text", SAFE, ids=repr)
def test_csv_leaves_other_text_alone(text: str) -> None:
    assert csv_cell(text) == text


@pytest.mark.parametrize("text", DANGEROUS, ids=repr)
def test_xlsx_writes_every_dangerous_value_as_a_string_cell(text: str) -> None:
    # Given a text value that begins like a formula
    # When it is written to an XLSX file and read back with openpyxl
    sheet = _xlsx([customer(answers={"q": text})], ["answers.q"])
    cell = sheet["A2"]
    # Then it is a string cell holding exactly the text (never a formula), kept text when edited in Excel
    # (XML reads a lone CR back as LF)
    assert (cell.value, cell.data_type, cell.quotePrefix) == (text.replace("\r", "\n"), "s", True)


def test_xlsx_header_and_plain_values() -> None:
    sheet = _xlsx([customer(answers={"n": -5, "ok": True})], ["customer_number", "answers.n", "answers.ok",
                                                               "created_at"])
    assert [c.value for c in sheet[1]] == ["customer_number", "answers.n", "answers.ok", "created_at"]
    # numbers stay numbers (a number is not a formula); the customer number stays text
    assert [c.value for c in sheet[2]] == ["100001", -5, True, NOW.isoformat()]
    assert sheet["A2"].data_type == "s" and sheet["B2"].data_type == "n"


def test_xlsx_drops_characters_xml_cannot_hold() -> None:
    sheet = _xlsx([customer(answers={"q": "bell\x07 and nul\x00"})], ["answers.q"])
    assert sheet["A2"].value == "bell and nul"


def test_csv_numbers_booleans_and_empty_values() -> None:
    rows = _csv([customer(answers={"n": -5, "f": 1.5})], ["answers.n", "answers.f", "email", "address.city",
                                                          "email_preferences.account"])
    assert rows[1] == ["-5", "1.5", "", "", "true"]


def test_row_flattens_nested_fields_lists_and_the_display_name() -> None:
    c = customer(address=Address(postcode="N1 9GU", country="GB"), assigned_staff=["amy", "bob"])
    columns = ["name", "address.postcode", "address.country", "assigned_staff", "email_preferences.marketing",
               "answers.missing", "created_at"]
    assert row_of(c, columns) == ["Ada Lovelace", "N1 9GU", "GB", "amy; bob", False, None, NOW.isoformat()]


def test_check_columns_keeps_order_and_drops_repeats() -> None:
    assert check_columns(["email", "address.postcode", "email", "answers.colour"]) == [
        "email", "address.postcode", "answers.colour"]


def test_unknown_columns_are_each_named() -> None:
    with pytest.raises(Invalid) as refused:
        check_columns(["email", "password", "address.planet", "answers."])
    assert [f["field"] for f in refused.value.fields] == ["columns.password", "columns.address.planet",
                                                          "columns.answers."]
    assert "password" in refused.value.message


def test_saved_list_columns_keep_only_exportable_ones() -> None:
    assert known_columns(["email", "badge", "status"]) == ["email", "status"]


def test_contact_columns_are_all_exportable_and_hold_the_contact_data() -> None:
    assert check_columns(CONTACT_COLUMNS) == CONTACT_COLUMNS
    assert {"email", "phone", "address.line1", "address.postcode", "first_name", "organization_name"} <= set(
        CONTACT_COLUMNS)
