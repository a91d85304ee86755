"""Staff's real lists through the import's reading step (no AWS): the mapping it finds and why, the settings it
assumes, and every row made what the staff member meant."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import staff_lists
from crm_core.imports.checking import Defaults, Outlet, Reading, check_workbook
from crm_core.imports.mapping import fingerprint
from crm_core.imports.reading import Limits, Refused
from crm_core.imports.rows import ChunkRow
from crm_core.models.imports import ImportOptions, RememberedMapping


def read(tmp_path: Path, workbook: bytes, options: ImportOptions | None = None,
         remembered: dict[str, RememberedMapping] | None = None) -> tuple[Reading, dict[str, dict[str, Any]]]:
    """The reading of a workbook, and the rows ready to apply by email."""
    path = tmp_path / "list.xlsx"
    path.write_bytes(workbook)
    rows: list[ChunkRow] = []
    outlet = Outlet(lambda number, chunk: rows.extend(chunk), lambda spool: None, lambda row: f"row{row}")
    kept = remembered or {}
    reading = check_workbook(path, options or ImportOptions(), lambda prints: {p: kept[p] for p in prints if p in kept},
                             Defaults(), Limits(), 1000, outlet)
    return reading, {str(r.fields.get("email")): r.fields for r in rows}


def assert_stored_as_expected(expected: dict[str, Any], fields: dict[str, Any]) -> None:
    for name, value in expected.items():
        if name == "address":
            assert {k: fields.get("address", {}).get(k) for k in value} == value, fields
        else:
            assert fields.get(name) == value, (name, fields)


@pytest.mark.parametrize("make", staff_lists.ALL, ids=lambda make: make.__name__)
def test_each_list_is_mapped_and_read_as_staff_mean_it(tmp_path: Path, make: Callable[[], staff_lists.StaffList]
                                                       ) -> None:
    # Given a list shaped like the ones staff have
    shaped = make()
    # When the import reads it
    reading, rows = read(tmp_path, shaped.workbook)
    # Then every row goes in, each value as the staff member meant it
    assert reading.rejected == 0, reading.errors
    assert sorted(rows) == sorted(e["email"] for e in shaped.expected)
    for expected in shaped.expected:
        assert_stored_as_expected(expected, rows[expected["email"]])
    # And the answer says what it assumed, what it left out and why
    assert reading.settings.date_order.value == shaped.date_order
    assert reading.skipped == shaped.rows_skipped
    assert sorted(reading.plan.unknown) == sorted(shaped.unknown)
    assert all(c.why for c in reading.plan.columns)


def test_the_mapping_says_why_for_each_column_with_samples(tmp_path: Path) -> None:
    reading, _ = read(tmp_path, staff_lists.german().workbook)
    by_title = {c.title: c for c in reading.plan.columns}
    assert (by_title["PLZ"].field, by_title["PLZ"].why) == ("address.postcode", "the title 'PLZ' means postcode "
                                                                                "(German)")
    assert by_title["PLZ"].samples == ["1067", "80331"] and by_title["PLZ"].column == "F"
    assert by_title["Anrede"].field is None and by_title["Anrede"].samples == ["Frau", "Herr"]
    salesforce, _ = read(tmp_path, staff_lists.salesforce().workbook)
    city = next(c for c in salesforce.plan.columns if c.title == "Mailing City")
    assert city.why == "the title 'Mailing City' means town or city (Salesforce export)"
    assert salesforce.settings.date_order.why == "inferred from the dates: 12/31/1980 (row 2) can only be month first"


def test_an_excel_error_a_birthday_without_year_and_skipped_rows_are_reported(tmp_path: Path) -> None:
    reading, _ = read(tmp_path, staff_lists.messy_cells().workbook)
    assert [(n.row, n.column, n.reason) for n in reading.notices] == [
        (3, "Phone", "holds the Excel error #N/A: left empty"),
        (6, None, "hidden by a filter: not imported"),
        (7, None, "a totals row: not imported")]
    mailchimp, _ = read(tmp_path, staff_lists.mailchimp().workbook)
    assert [(n.row, n.reason) for n in mailchimp.notices] == [
        (2, "a birthday without a year (12 October) is no date of birth: not kept")]


def test_the_list_is_found_on_a_later_sheet_below_row_30(tmp_path: Path) -> None:
    reading, rows = read(tmp_path, staff_lists.cover_sheet_then_list())
    assert (reading.header.sheet, reading.header.row) == ("Data", 35)
    assert reading.settings.sheet.why == ("the first visible sheet with a header row ('Cover': rows 1 to 2 (all of "
                                          "it))")
    assert list(rows) == ["alice.ball@cover.example"]


def test_without_a_list_the_refusal_names_the_sheets_and_rows_looked_at(tmp_path: Path) -> None:
    with pytest.raises(Refused) as refused:
        read(tmp_path, staff_lists.no_list_anywhere())
    assert refused.value.reason.startswith("no header row found ('Summary': row 1 (all of it); 'Notes': row 1 (all "
                                           "of it)): the list needs a row of column titles")


def test_an_ambiguous_date_column_is_said_so_and_the_order_sent_decides(tmp_path: Path) -> None:
    reading, rows = read(tmp_path, staff_lists.ambiguous_dates())
    order = reading.settings.date_order
    assert (order.value, order.ambiguous) == ("day_first", True)
    assert order.why.startswith("ambiguous: every date could be read either way (e.g. 03/04/1985 on row 2)")
    assert rows["ida@dates.example"]["date_of_birth"] == "1985-04-03"
    reading, rows = read(tmp_path, staff_lists.ambiguous_dates(), ImportOptions(date_order="month_first"))
    assert (reading.settings.date_order.value, reading.settings.date_order.why) == ("month_first", "your setting")
    assert rows["ida@dates.example"]["date_of_birth"] == "1985-03-04"


def test_a_mapping_staff_send_changes_the_outcome(tmp_path: Path) -> None:
    # Given companies listed under "Name": read as people's full names
    reading, rows = read(tmp_path, staff_lists.companies_under_name())
    assert rows["sales@acme-trading.example"]["first_name"] == "Acme Trading"
    # When staff map the column to the organisation name
    reading, rows = read(tmp_path, staff_lists.companies_under_name(),
                         ImportOptions(mapping={"name": "organization_name"}))
    # Then the rows are organisations
    assert rows["sales@acme-trading.example"]["type"] == "organization"
    assert rows["sales@acme-trading.example"]["organization_name"] == "Acme Trading Ltd"
    assert reading.plan.columns[0].why == "your mapping"


def test_a_mapping_finds_a_list_whose_titles_nobody_knows_and_letters_name_columns(tmp_path: Path) -> None:
    people = [("Katherine Johnson", "kj@odd.example")]
    with pytest.raises(Refused, match="no header row found"):
        read(tmp_path, staff_lists.odd_headers(people))
    reading, rows = read(tmp_path, staff_lists.odd_headers(people),
                         ImportOptions(mapping={"Kontakt": "full_name", "B": "email", "Bemerkung": "ignore"}))
    assert [(c.field, c.why) for c in reading.plan.columns] == [
        ("full_name", "your mapping"), ("email", "your mapping"), (None, "your mapping: ignored")]
    assert rows["kj@odd.example"]["last_name"] == "Johnson"


def test_a_remembered_mapping_is_applied_to_the_same_headers(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    titles = ["Kontakt", "Postfach", "Bemerkung"]
    kept = RememberedMapping(fingerprint=fingerprint(titles), titles=titles,
                             columns={"kontakt": "full_name", "postfach": "email", "bemerkung": "ignore"},
                             date_order="month_first", import_id="01J0000000000000000000000A", filename="march.xlsx",
                             saved_at=datetime(2026, 3, 31, tzinfo=UTC), saved_by="maria")
    reading, rows = read(tmp_path, staff_lists.odd_headers([("Mary Jackson", "mj@odd.example")]),
                         remembered={kept.fingerprint: kept})
    assert rows["mj@odd.example"]["first_name"] == "Mary"
    assert reading.plan.columns[1].why == "remembered from march.xlsx (import 01J0000000000000000000000A, 2026-03-31)"
    assert reading.settings.date_order.value == "month_first"


def test_a_mapping_naming_a_column_the_sheet_lacks_is_refused_naming_the_columns(tmp_path: Path) -> None:
    with pytest.raises(Refused) as refused:
        read(tmp_path, staff_lists.german().workbook, ImportOptions(mapping={"Postleitzahl ": "address.postcode",
                                                                            "Vorname": "first_name", "Nope": "email"}))
    assert refused.value.reason.startswith("the mapping names columns the sheet does not have: 'Postleitzahl', "
                                           "'Nope' (its columns: A 'Anrede', B 'Vorname'")


def test_the_header_row_and_sheet_staff_send_are_used(tmp_path: Path) -> None:
    reading, rows = read(tmp_path, staff_lists.cover_sheet_then_list(), ImportOptions(sheet="Data", header_row=35))
    assert (reading.settings.sheet.why, reading.settings.header_row.why) == ("your setting", "your setting")
    assert list(rows) == ["alice.ball@cover.example"]
    with pytest.raises(Refused, match="no header row found \\('Data' has no row 3 with titles\\)"):
        read(tmp_path, staff_lists.cover_sheet_then_list(), ImportOptions(sheet="Data", header_row=3))


def test_a_chart_sheet_named_as_the_sheet_to_import_is_refused_saying_so(tmp_path: Path) -> None:
    import io

    from openpyxl import Workbook
    from openpyxl.chart import BarChart, Reference

    book = Workbook()
    data = book.active
    assert data is not None
    data.append(["Name", "Orders"])
    data.append(["Ada", 3])
    chart = BarChart()
    chart.add_data(Reference(data, min_col=2, min_row=1, max_row=2), titles_from_data=True)
    book.create_chartsheet("Orders chart").add_chart(chart)
    out = io.BytesIO()
    book.save(out)
    with pytest.raises(Refused, match="'Orders chart' is a chart, not a list"):
        read(tmp_path, out.getvalue(), ImportOptions(sheet="Orders chart"))


def test_a_megabyte_of_text_above_the_header_is_passed_over(tmp_path: Path) -> None:
    import io

    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["x" * 2**20, "y" * 2**20])  # a shared string no title is this long: never folded or compared
    sheet.append(["First Name", "Last Name", "Email"])
    sheet.append(["Ada", "Lovelace", "ada@big.example"])
    out = io.BytesIO()
    book.save(out)
    reading, rows = read(tmp_path, out.getvalue())
    assert reading.header.row == 2 and list(rows) == ["ada@big.example"]


@pytest.mark.parametrize(("titles", "fields"), [
    (["Prénom", "Nom", "Courriel", "Téléphone", "Adresse", "Code postal", "Ville", "Pays"],
     ["first_name", "last_name", "email", "phone", "address.line1", "address.postcode", "address.city",
      "address.country"]),
    (["Nome", "Sobrenome", "E-mail", "Telefone", "Endereço", "CEP", "Cidade", "Estado"],
     ["first_name", "last_name", "email", "phone", "address.line1", "address.postcode", "address.city",
      "address.county"]),
    (["Nome", "Cognome", "Email", "Cellulare", "Indirizzo", "CAP", "Città", "Data di nascita"],
     ["first_name", "last_name", "email", "phone", "address.line1", "address.postcode", "address.city",
      "date_of_birth"]),
    (["Voornaam", "Achternaam", "E-mailadres", "Telefoonnummer", "Adres", "Postcode", "Woonplaats", "Land"],
     ["first_name", "last_name", "email", "phone", "address.line1", "address.postcode", "address.city",
      "address.country"]),
    (["Nom complet", "Société", "Courriel"], ["full_name", "organization_name", "email"]),
    (["Nome", "Telefone", "E-mail"], ["full_name", "phone", "email"]),
])
def test_french_portuguese_italian_and_dutch_titles(tmp_path: Path, titles: list[str], fields: list[str]) -> None:
    import io

    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(titles)
    sheet.append(["Ana Souza" if f == "full_name" else "x@lang.example" if f == "email" else "Ana" for f in fields])
    out = io.BytesIO()
    book.save(out)
    reading, _ = read(tmp_path, out.getvalue())
    assert [c.field for c in reading.plan.columns] == fields
