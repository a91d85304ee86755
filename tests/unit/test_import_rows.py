"""Values as staff mean them, and the rules one spreadsheet row must pass."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

import pytest

from crm_core.imports.normalising import (
    NoYear,
    clean_email,
    clean_text,
    country_code,
    normalise_phone,
    normalise_postcode,
    parse_date,
    split_name,
)
from crm_core.imports.reading import CellError
from crm_core.imports.rows import FileMatches, Problem, RowContext, is_totals_row, prepare_row


@pytest.mark.parametrize(("cell", "order", "expected"), [
    (datetime(1980, 12, 31, 0, 0), "day_first", date(1980, 12, 31)),
    ("1980-12-31", "day_first", date(1980, 12, 31)),
    ("31/12/1980", "day_first", date(1980, 12, 31)),
    ("1/2/1980", "day_first", date(1980, 2, 1)),
    ("1/2/1980", "month_first", date(1980, 1, 2)),
    ("31.12.1980", "day_first", date(1980, 12, 31)),
    ("31/12/80", "day_first", date(1980, 12, 31)),
    ("12/31/80", "month_first", date(1980, 12, 31)),
    ("31 Dec 1980", "day_first", date(1980, 12, 31)),
    ("Dec 31, 1980", "day_first", date(1980, 12, 31)),
    ("December 31st, 1980", "day_first", date(1980, 12, 31)),
    ("1st September 1980", "day_first", date(1980, 9, 1)),
    ("31. Dezember 1980", "day_first", date(1980, 12, 31)),
    ("31 de diciembre de 1980", "day_first", date(1980, 12, 31)),
    ("19801231", "day_first", date(1980, 12, 31)),
    (29586, "day_first", date(1980, 12, 31)),  # an Excel serial in a General cell
    ("29586", "day_first", date(1980, 12, 31)),  # and typed into a text cell
    ("0/0/00", "day_first", None),  # Outlook's empty date
])
def test_dates_as_staff_write_them(cell: Any, order: Any, expected: date | None) -> None:
    assert parse_date(cell, order) == expected


@pytest.mark.parametrize(("cell", "reason"), [
    ("31/02/1980", "is not a real date"),
    ("next Tuesday", "is not a date"),
    ("13/13/1980", "is not a real date"),
    (True, "is not a date"),
])
def test_cells_that_are_not_dates_are_refused_with_their_reason(cell: Any, reason: str) -> None:
    with pytest.raises(ValueError, match=re.escape(reason)):
        parse_date(cell)


@pytest.mark.parametrize("cell", ["12/31", "--12-31", "Dec 31", "31 December"])
def test_a_birthday_without_a_year_is_told_apart(cell: str) -> None:
    with pytest.raises(NoYear, match="31 December"):
        parse_date(cell, "month_first")


@pytest.mark.parametrize(("value", "country", "expected"), [
    (7700900123, "GB", ("+44 7700 900123", None)),  # a number cell lost its leading zero
    ("07700 900123", "GB", ("+44 7700 900123", None)),
    ("0161 496 0000", "GB", ("+44 161 496 0000", None)),
    ("+1 617 555 0123", "GB", ("+1 617-555-0123", None)),
    (6175550123, "US", ("+1 617-555-0123", None)),
    ("030 1234567", "DE", ("+49 30 1234567", None)),
    ("0161 496 0000 ext. 12", "GB", ("+44 161 496 0000", "extension 12 not kept")),
    ("123", "GB", ("123", "kept as written: not a possible phone number in GB (add the country code)")),
    ("call me", "GB", ("call me", None)),
])
def test_phones_are_normalised_in_the_rows_country(value: Any, country: str, expected: tuple[str, str | None]) -> None:
    assert normalise_phone(value, country) == expected


@pytest.mark.parametrize(("value", "country", "expected"), [
    (2134, "US", "02134"), ("2134", "US", "02134"), (1067, "DE", "01067"), (8001, "ES", "08001"),
    (184, "IT", "00184"), (150, "NO", "0150"), ("n1 9gu", "GB", "N1 9GU"), ("N19GU", "GB", "N1 9GU"),
    (1012, "NL", "1012"), ("SW1A 1AA", "GB", "SW1A 1AA"),
])
def test_postcodes_stay_text_with_the_zeros_their_country_needs(value: Any, country: str, expected: str) -> None:
    assert normalise_postcode(value, country) == expected


@pytest.mark.parametrize(("name", "code"), [
    ("United Kingdom", "GB"), ("UK", "GB"), ("England", "GB"), ("Great Britain", "GB"), ("USA", "US"),
    ("United States of America", "US"), ("Deutschland", "DE"), ("Allemagne", "DE"), ("España", "ES"),
    ("Espana", "ES"), ("Brasil", "BR"), ("Países Bajos", "NL"), ("Holland", "NL"), ("Italia", "IT"),
    ("Royaume-Uni", "GB"), ("gb", "GB"), ("DEU", "DE"), ("Vereinigte Staaten", "US"), ("Narnia", None),
])
def test_countries_by_name_or_code_in_the_common_languages(name: str, code: str | None) -> None:
    assert country_code(name) == code


@pytest.mark.parametrize(("full", "split"), [
    ("Ada Lovelace", ("Ada", "Lovelace")),
    ("Lovelace, Ada", ("Ada", "Lovelace")),
    ("Dr. Grace Brewster Hopper", ("Grace Brewster", "Hopper")),
    ("Ludwig van Beethoven", ("Ludwig", "van Beethoven")),
    ("María de la Cruz", ("María", "de la Cruz")),
    ("Martin Luther King Jr.", ("Martin Luther", "King Jr.")),
    ("Frau Anna  Weiß", ("Anna", "Weiß")),
    ("Cher", None),
])
def test_a_full_name_is_split_by_the_stated_rule(full: str, split: tuple[str, str] | None) -> None:
    assert split_name(full) == split


@pytest.mark.parametrize(("value", "expected"), [
    ("mailto:ada@example.org", ("ada@example.org", None)),
    ("Ada Lovelace <ada@example.org>", ("ada@example.org", None)),
    ('"ada@example.org"', ("ada@example.org", None)),
    ("ada@example.org\u200b", ("ada@example.org", None)),
    ("\u00a0ada@example.org\u00a0", ("ada@example.org", None)),
    ("ada@example.org; ada@home.example", ("ada@example.org", "a second address (ada@home.example) is not kept: a "
                                                              "customer has one email")),
])
def test_emails_are_cleaned_of_what_people_paste_with_them(value: str, expected: tuple[str, str | None]) -> None:
    assert clean_email(value) == expected


def test_excel_escapes_and_invisible_characters_are_removed_from_text() -> None:
    assert clean_text("Flat 2_x000D_\nThe Mews") == "Flat 2\r\nThe Mews"
    assert clean_text("A_x005F_x000D_B") == "A_x000D_B"  # an escaped underscore: the text really says _x000D_
    assert clean_text("\u00a0Zoë\u200b ") == "Zoë"


CONTEXT = RowContext({"customer_number": [0], "first_name": [1], "last_name": [2], "email": [3], "username": [4],
                      "address.postcode": [5], "date_of_birth": [6], "organization_name": [7], "type": [8],
                      "address.country": [9], "phone": [10]}, "day_first", "GB")


def _row(**cells: Any) -> tuple[Any, ...]:
    order = ["number", "first", "last", "email", "username", "postcode", "born", "company", "kind", "country", "phone"]
    return tuple(cells.get(name) for name in order)


def test_a_good_row_gives_its_fields_and_match_keys() -> None:
    prepared = prepare_row(7, _row(number="100042", first="Ada", last="Lovelace", email="Ada@Example.ORG",
                                   username="ALovelace", postcode="n1 9gu", born="10/12/1990"), CONTEXT)
    assert prepared.row is not None and prepared.problems == []
    assert prepared.row.fields == {"type": "individual", "first_name": "Ada", "last_name": "Lovelace",
                                   "username": "alovelace", "email": "Ada@example.org", "date_of_birth": "1990-12-10",
                                   "address": {"postcode": "N1 9GU"}}
    assert (prepared.row.customer_number, prepared.row.username, prepared.row.email) == ("100042", "alovelace",
                                                                                         "ada@example.org")
    assert prepared.row.dedupe == "ada lovelace|n19gu"


def test_the_type_comes_from_its_column_or_from_the_names() -> None:
    company = prepare_row(2, _row(company="Initech Ltd", email="info@initech.example"), CONTEXT)
    assert company.row is not None and company.row.fields["type"] == "organization"
    person = prepare_row(3, _row(first="Peter", last="Gibbons", company="Initech Ltd", postcode="EC1A 1BB"), CONTEXT)
    assert person.row is not None and person.row.fields["type"] == "individual"
    assert person.row.fields["organization_name"] == "Initech Ltd"
    assert prepare_row(4, _row(kind="Firma", first="Peter"), CONTEXT).problems == [
        Problem("organization_name", "is required for an organisation"),
        Problem("first_name", "does not apply to an organisation")]
    assert prepare_row(5, _row(kind="robot", company="X"), CONTEXT).problems == [
        Problem("type", "must be Individual or Organisation")]


def test_a_row_with_nothing_to_recognise_the_customer_by_is_refused() -> None:
    assert prepare_row(6, _row(first="Only", last="Name"), CONTEXT).problems == [Problem(
        None, "has nothing to recognise the customer by next time: add an email, a username, a postcode or the "
              "customer number")]


def test_every_problem_of_a_row_is_named_by_its_field() -> None:
    prepared = prepare_row(9, _row(number="A-1", first="Mary", email="mary@example", born="spring", country="Narnia",
                                   phone="call me"), CONTEXT)
    assert {p.field for p in prepared.problems} == {"customer_number", "last_name", "email", "date_of_birth",
                                                    "address.country", "phone"}


def test_an_error_cell_is_empty_and_noted_and_the_next_column_of_a_field_is_used() -> None:
    context = RowContext({"first_name": [0], "last_name": [1], "email": [2, 3]}, "day_first", "GB")
    prepared = prepare_row(4, ("Ada", "Lovelace", CellError("#N/A"), "ada@home.example"), context)
    assert prepared.row is not None and prepared.row.fields["email"] == "ada@home.example"
    assert prepared.notices == [Problem("email", "holds the Excel error #N/A: left empty")]


def test_rows_naming_the_same_customer_are_reported_against_the_first() -> None:
    matches = FileMatches()
    rows = [prepare_row(n, _row(**values), CONTEXT).row for n, values in enumerate([
        {"first": "Alan", "last": "Turing", "email": "alan@example.org"},
        {"first": "Al", "last": "Turing", "email": "ALAN@example.org"},
        {"first": "Jo", "last": "Bloggs", "postcode": "N1 9GU"},
        {"first": "JO", "last": "bloggs", "postcode": "n19gu"},
        {"first": "Jo", "last": "Bloggs", "postcode": "N1 9GU", "email": "jo@example.org"},
    ], start=2)]
    clashes = [matches.clash(r) for r in rows if r is not None]
    assert clashes == [None, Problem("email", "has the same email as row 2"), None,
                       Problem(None, "has the same name and postcode as row 4"), None]


@pytest.mark.parametrize(("cells", "totals"), [
    (("Total", None, 120), True), ((None, "Grand Total:", 9), True), (("Summe", 4), True), (("Totaal",), True),
    (("Total", "Person", "total@example.org"), False), (("Totally", "Real"), False), (("Ada", "Lovelace"), False),
])
def test_a_totals_row_is_told_apart(cells: tuple[Any, ...], totals: bool) -> None:
    assert is_totals_row(cells) is totals
