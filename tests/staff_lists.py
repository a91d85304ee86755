"""Customer lists shaped the way staff really have them — exports of HubSpot, Salesforce, Mailchimp, Outlook and
Google Contacts, German and Spanish lists, a letterhead above the list, a two-row merged header, numbers where
text was meant, US and UK dates, country names, one "Full Name" column — each with the customers a staff
member expects to find afterwards.

Every workbook is generated here with openpyxl (as Excel would hold it: numbers typed into cells are number
cells, dates typed as text stay text). ``expected`` lists each customer by email with the fields as stored.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from openpyxl import Workbook
from openpyxl.worksheet.worksheet import Worksheet


@dataclass
class StaffList:
    name: str
    filename: str
    workbook: bytes
    expected: list[dict[str, Any]]  # each customer as stored (the fields named), found by its email
    date_order: str = "day_first"
    ambiguous: bool = False
    rows_skipped: int = 0
    unknown: list[str] = field(default_factory=list)  # columns reported as not customer fields


def _book(rows: list[list[Any]], title: str = "Sheet1", edit: Callable[[Worksheet], None] | None = None) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = title
    for row in rows:
        sheet.append(row)
    if edit is not None:
        edit(sheet)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def hubspot() -> StaffList:
    header = ["Record ID", "First Name", "Last Name", "Email", "Phone Number", "Mobile Phone Number",
              "Street Address", "City", "State/Region", "Postal Code", "Country/Region", "Company Name",
              "Lifecycle Stage", "Create Date"]
    rows = [
        [51, "Leslie", "Knope", "leslie.knope@pawnee.example", "(317) 555-0143", None, "100 Main Street", "Pawnee",
         "IN", "46001", "United States", "Pawnee Parks", "customer", "2024-03-01 10:00"],
        [52, "Ron", "Swanson", "ron.swanson@pawnee.example", None, "+1 317 555 0188", "2 Woodland Way", "Pawnee",
         "IN", "46001", "United States", None, "lead", "2024-03-02 11:30"],
    ]
    expected = [
        {"email": "leslie.knope@pawnee.example", "type": "individual", "first_name": "Leslie", "last_name": "Knope",
         "organization_name": "Pawnee Parks", "phone": "+1 317-555-0143",
         "address": {"line1": "100 Main Street", "city": "Pawnee", "county": "IN", "postcode": "46001",
                     "country": "US"}},
        {"email": "ron.swanson@pawnee.example", "type": "individual", "first_name": "Ron", "last_name": "Swanson",
         "phone": "+1 317-555-0188", "address": {"line1": "2 Woodland Way", "city": "Pawnee", "county": "IN",
                                                 "postcode": "46001", "country": "US"}},
    ]
    return StaffList("HubSpot export", "hubspot-contacts.xlsx", _book([header, *rows], "contacts"), expected,
                     unknown=["Record ID", "Lifecycle Stage", "Create Date"])


def salesforce() -> StaffList:
    header = ["Contact ID", "First Name", "Last Name", "Title", "Account Name", "Mailing Street", "Mailing City",
              "Mailing State/Province", "Mailing Zip/Postal Code", "Mailing Country", "Phone", "Email", "Birthdate"]
    rows = [
        ["0035g00000AbCdEAAV", "Marcia", "Brady", "Buyer", "Westdale Supplies", "4222 Clinton Way\nSuite 200",
         "Boston", "MA", 2134, "USA", 6175550123, "marcia.brady@westdale.example", "12/31/1980"],
        ["0035g00000AbCdFAAV", "Greg", "Brady", None, None, "4222 Clinton Way", "Boston", "MA", 2134, "USA",
         "617-555-0124", "greg.brady@westdale.example", "03/04/1985"],
    ]
    expected = [
        {"email": "marcia.brady@westdale.example", "type": "individual", "organization_name": "Westdale Supplies",
         "phone": "+1 617-555-0123", "date_of_birth": "1980-12-31",
         "address": {"line1": "4222 Clinton Way", "line2": "Suite 200", "city": "Boston", "county": "MA",
                     "postcode": "02134", "country": "US"}},
        {"email": "greg.brady@westdale.example", "type": "individual", "phone": "+1 617-555-0124",
         "date_of_birth": "1985-03-04", "address": {"line1": "4222 Clinton Way", "postcode": "02134",
                                                     "country": "US"}},
    ]
    return StaffList("Salesforce report", "salesforce-contacts.xlsx", _book([header, *rows], "Report"), expected,
                     date_order="month_first", unknown=["Contact ID", "Title"])


def mailchimp() -> StaffList:
    header = ["Email Address", "First Name", "Last Name", "Address", "Phone Number", "Birthday", "MEMBER_RATING",
              "OPTIN_TIME", "TAGS"]
    rows = [
        ["ada@analytical.example", "Ada", "Lovelace", None, "+44 20 7946 0321", "12/10", 2, "2024-01-05 09:00:00",
         '"donor"'],
        ["charles@analytical.example", "Charles", "Babbage", None, "07700 900461", None, 5, "2024-01-06 09:00:00",
         None],
    ]
    expected = [
        {"email": "ada@analytical.example", "first_name": "Ada", "last_name": "Lovelace", "phone": "+44 20 7946 0321",
         "date_of_birth": None},
        {"email": "charles@analytical.example", "first_name": "Charles", "last_name": "Babbage",
         "phone": "+44 7700 900461"},
    ]
    return StaffList("Mailchimp audience export", "mailchimp-members.xlsx", _book([header, *rows], "members"),
                     expected, unknown=["MEMBER_RATING", "OPTIN_TIME", "TAGS"])


def outlook() -> StaffList:
    header = ["First Name", "Middle Name", "Last Name", "Company", "E-mail Address", "E-mail 2 Address",
              "Business Phone", "Home Phone", "Mobile Phone", "Business Street", "Business City",
              "Business Postal Code", "Home Street", "Home City", "Home State", "Home Postal Code",
              "Home Country/Region", "Birthday"]
    rows = [
        ["Jane", None, "Doe", "Acme Ltd", "jane.doe@acme.example", "jane@home.example", "020 7946 0111",
         "01632 960123", None, "1 Business Park", "Reading", "RG1 1AA", "12 Home Road", "Bath", "Somerset",
         "ba1 1aa", "United Kingdom", "5/17/1972"],
        ["John", "Q", "Public", None, None, "john.public@home.example", None, None, "07700 900777", None, None,
         None, "3 Lane End", "York", None, "YO1 7HH", "England", "0/0/00"],
    ]
    expected = [
        {"email": "jane.doe@acme.example", "type": "individual", "organization_name": "Acme Ltd",
         "phone": "+44 1632 960123", "date_of_birth": "1972-05-17",
         "address": {"line1": "12 Home Road", "city": "Bath", "county": "Somerset", "postcode": "BA1 1AA",
                     "country": "GB"}},
        {"email": "john.public@home.example", "first_name": "John", "last_name": "Public",
         "phone": "+44 7700 900777", "address": {"line1": "3 Lane End", "city": "York", "postcode": "YO1 7HH",
                                                 "country": "GB"}},
    ]
    return StaffList("Outlook contacts export", "outlook-contacts.xlsx", _book([header, *rows], "Contacts"), expected,
                     date_order="month_first",
                     unknown=["Middle Name", "Business Street", "Business City", "Business Postal Code"])


def google_contacts() -> StaffList:
    header = ["Name", "Given Name", "Family Name", "Birthday", "E-mail 1 - Type", "E-mail 1 - Value",
              "Phone 1 - Type", "Phone 1 - Value", "Address 1 - Type", "Address 1 - Formatted", "Address 1 - Street",
              "Address 1 - City", "Address 1 - Postal Code", "Address 1 - Country", "Organization 1 - Name"]
    rows = [
        ["Klara Schmidt", "Klara", "Schmidt", "1990-07-14", "* Home", "klara.schmidt@mail.example", "Mobile",
         "0151 23456789", "Home", "Invalidenstr. 1\n10115 Berlin", "Invalidenstr. 1", "Berlin", "10115", "Germany",
         None],
        ["Piet de Vries", "Piet", "de Vries", "--03-21", "* Work", "piet@bouw.example", "Work", "020 123 4567",
         "Work", "Damrak 1\n1012 LG Amsterdam", "Damrak 1", "Amsterdam", "1012 LG", "Netherlands", "Bouw BV"],
    ]
    expected = [
        {"email": "klara.schmidt@mail.example", "first_name": "Klara", "last_name": "Schmidt",
         "date_of_birth": "1990-07-14", "phone": "+49 1512 3456789",
         "address": {"line1": "Invalidenstr. 1", "city": "Berlin", "postcode": "10115", "country": "DE"}},
        {"email": "piet@bouw.example", "first_name": "Piet", "last_name": "de Vries", "organization_name": "Bouw BV",
         "phone": "+31 20 123 4567", "date_of_birth": None,
         "address": {"line1": "Damrak 1", "city": "Amsterdam", "postcode": "1012 LG", "country": "NL"}},
    ]
    return StaffList("Google Contacts export", "google-contacts.xlsx", _book([header, *rows], "contacts"), expected,
                     unknown=["Name", "E-mail 1 - Type", "Phone 1 - Type", "Address 1 - Type",
                              "Address 1 - Formatted"])


def german() -> StaffList:
    header = ["Anrede", "Vorname", "Nachname", "Firma", "Straße", "PLZ", "Ort", "Land", "Telefon", "E-Mail",
              "Geburtsdatum"]
    rows = [
        ["Frau", "Jürgen", "Müller", None, "Hauptstraße 5", 1067, "Dresden", "Deutschland", 3511234567,
         "j.mueller@beispiel.example", "31.12.1980"],
        ["Herr", "Anna", "Weiß", "Weiß & Söhne GmbH", "Am Markt 2", 80331, "München", "Deutschland", "089 1234567",
         "anna.weiss@beispiel.example", "01.02.1975"],
    ]
    expected = [
        {"email": "j.mueller@beispiel.example", "first_name": "Jürgen", "last_name": "Müller",
         "phone": "+49 351 1234567", "date_of_birth": "1980-12-31",
         "address": {"line1": "Hauptstraße 5", "city": "Dresden", "postcode": "01067", "country": "DE"}},
        {"email": "anna.weiss@beispiel.example", "first_name": "Anna", "last_name": "Weiß", "type": "individual",
         "organization_name": "Weiß & Söhne GmbH", "phone": "+49 89 1234567", "date_of_birth": "1975-02-01",
         "address": {"line1": "Am Markt 2", "city": "München", "postcode": "80331", "country": "DE"}},
    ]
    return StaffList("German list", "kunden.xlsx", _book([header, *rows], "Kunden"), expected, unknown=["Anrede"])


def spanish() -> StaffList:
    header = ["Nombre", "Apellidos", "Correo electrónico", "Teléfono", "Dirección", "Código postal", "Ciudad",
              "Provincia", "País", "Fecha de nacimiento"]
    rows = [
        ["Lucía", "García López", "lucia.garcia@ejemplo.example", 912345678, "Calle Mayor 1", 8001, "Barcelona",
         "Barcelona", "España", "31/12/1980"],
        ["José", "Fernández", "jose.fernandez@ejemplo.example", "+34 600 123 456", "Gran Vía 10", "28013", "Madrid",
         "Madrid", "ES", "05/06/1979"],
    ]
    expected = [
        {"email": "lucia.garcia@ejemplo.example", "first_name": "Lucía", "last_name": "García López",
         "phone": "+34 912 34 56 78", "date_of_birth": "1980-12-31",
         "address": {"line1": "Calle Mayor 1", "city": "Barcelona", "county": "Barcelona", "postcode": "08001",
                     "country": "ES"}},
        {"email": "jose.fernandez@ejemplo.example", "first_name": "José", "last_name": "Fernández",
         "phone": "+34 600 12 34 56", "date_of_birth": "1979-06-05",
         "address": {"line1": "Gran Vía 10", "city": "Madrid", "postcode": "28013", "country": "ES"}},
    ]
    return StaffList("Spanish list", "clientes.xlsx", _book([header, *rows], "Clientes"), expected)


def letterhead() -> StaffList:
    rows = [
        ["Northern Arts Trust"],
        ["Email", "info@nat.example", "Phone", "01632 960000"],
        [],
        ["Member list, autumn 2026"],
        ["First Name", "Last Name", "Email", "Phone", "Post Code"],
        ["Edith", "Clarke", "edith.clarke@members.example", "0113 496 0000", "LS1 4AP"],
        ["Hedy", "Lamarr", "hedy@members.example", None, "M1 1AE"],
    ]
    expected = [
        {"email": "edith.clarke@members.example", "first_name": "Edith", "phone": "+44 113 496 0000",
         "address": {"postcode": "LS1 4AP"}},
        {"email": "hedy@members.example", "first_name": "Hedy", "address": {"postcode": "M1 1AE"}},
    ]
    return StaffList("letterhead above the list", "members-autumn.xlsx", _book(rows, "Members"), expected)


def merged_header() -> StaffList:
    def merge(sheet: Worksheet) -> None:
        sheet.merge_cells("A1:B1")
        sheet.merge_cells("C1:D1")
        sheet.merge_cells("E1:F1")

    rows = [
        ["Name", None, "Contact", None, "Address", None],
        ["First", "Last", "Email", "Phone", "Street", "Postcode"],
        ["Rosalind", "Franklin", "rosalind@kings.example", "020 7946 0555", "Strand", "WC2R 2LS"],
        ["Dorothy", "Hodgkin", "dorothy@oxford.example", None, "Parks Road", "OX1 3PU"],
    ]
    expected = [
        {"email": "rosalind@kings.example", "first_name": "Rosalind", "last_name": "Franklin",
         "phone": "+44 20 7946 0555", "address": {"line1": "Strand", "postcode": "WC2R 2LS"}},
        {"email": "dorothy@oxford.example", "first_name": "Dorothy", "last_name": "Hodgkin",
         "address": {"line1": "Parks Road", "postcode": "OX1 3PU"}},
    ]
    return StaffList("two-row merged header", "merged-header.xlsx", _book(rows, "List", merge), expected)


def numbers_as_numbers() -> StaffList:
    rows = [
        ["First Name", "Last Name", "Email", "Phone", "ZIP", "State", "Country"],
        ["Paul", "Revere", "paul@boston.example", 6175550199, 2134, "MA", "US"],
        ["Mary", "Shelley", "mary@london.example", 7700900123, None, None, None],
    ]
    expected = [
        {"email": "paul@boston.example", "phone": "+1 617-555-0199",
         "address": {"postcode": "02134", "county": "MA", "country": "US"}},
        {"email": "mary@london.example", "phone": "+44 7700 900123"},
    ]
    return StaffList("phones and ZIPs stored as numbers", "numbers.xlsx", _book(rows), expected)


def us_dates() -> StaffList:
    rows = [
        ["First Name", "Last Name", "Email", "Date of Birth"],
        ["Amelia", "Earhart", "amelia@flight.example", "03/04/1985"],
        ["Orville", "Wright", "orville@flight.example", "12/31/1980"],
        ["Wilbur", "Wright", "wilbur@flight.example", "Dec 31, 1979"],
    ]
    expected = [
        {"email": "amelia@flight.example", "date_of_birth": "1985-03-04"},
        {"email": "orville@flight.example", "date_of_birth": "1980-12-31"},
        {"email": "wilbur@flight.example", "date_of_birth": "1979-12-31"},
    ]
    return StaffList("US dates", "us-dates.xlsx", _book(rows), expected, date_order="month_first")


def uk_dates() -> StaffList:
    rows = [
        ["First Name", "Last Name", "Email", "DOB"],
        ["Florence", "Nightingale", "florence@nursing.example", "03/04/1985"],
        ["Mary", "Seacole", "mary.seacole@nursing.example", "31/12/80"],
        ["Edith", "Cavell", "edith.cavell@nursing.example", 29586],
    ]
    expected = [
        {"email": "florence@nursing.example", "date_of_birth": "1985-04-03"},
        {"email": "mary.seacole@nursing.example", "date_of_birth": "1980-12-31"},
        {"email": "edith.cavell@nursing.example", "date_of_birth": "1980-12-31"},  # an Excel serial
    ]
    return StaffList("UK dates", "uk-dates.xlsx", _book(rows), expected)


def country_names() -> StaffList:
    rows = [["First Name", "Last Name", "Email", "Country"]]
    names = {"United Kingdom": "GB", "England": "GB", "USA": "US", "Deutschland": "DE", "France": "FR",
             "España": "ES", "Nederland": "NL", "Italia": "IT", "Brasil": "BR", "de": "DE"}
    expected = []
    for n, (name, code) in enumerate(names.items()):
        rows.append(["Country", f"Person{n}", f"country{n}@places.example", name])
        expected.append({"email": f"country{n}@places.example", "address": {"country": code}})
    return StaffList("country names", "countries.xlsx", _book(rows), expected)


def full_names() -> StaffList:
    rows = [
        ["Full Name", "Email", "Company"],
        ["Ada Lovelace", "ada.l@names.example", None],
        ["Dr. Grace Hopper", "grace.h@names.example", "US Navy"],
        ["Ludwig van Beethoven", "ludwig@names.example", None],
        ["Turing, Alan", "alan.t@names.example", None],
        ["Martin Luther King Jr.", "mlk@names.example", None],
    ]
    expected = [
        {"email": "ada.l@names.example", "type": "individual", "first_name": "Ada", "last_name": "Lovelace"},
        {"email": "grace.h@names.example", "type": "individual", "first_name": "Grace", "last_name": "Hopper",
         "organization_name": "US Navy"},
        {"email": "ludwig@names.example", "first_name": "Ludwig", "last_name": "van Beethoven"},
        {"email": "alan.t@names.example", "first_name": "Alan", "last_name": "Turing"},
        {"email": "mlk@names.example", "first_name": "Martin Luther", "last_name": "King Jr."},
    ]
    return StaffList("one Full Name column", "full-names.xlsx", _book(rows), expected)


def messy_cells() -> StaffList:
    """Emails as people paste them, Excel's error cells, ``_x000D_``, an address typed with Alt+Enter, rows hidden
    by a filter and a totals row."""
    def filtered(sheet: Worksheet) -> None:
        sheet.auto_filter.ref = "A1:F8"
        sheet.row_dimensions[6].hidden = True

    rows = [
        ["First Name", "Last Name", "Email", "Phone", "Address", "Orders"],
        ["Mailto", "Person", "mailto:mailto.person@cells.example", None, "1 High St\n2nd floor", 3],
        ["Display", "Name", "Display Name <display@cells.example>", "#N/A", None, 1],
        ["Zero", "Width", "zero.width@cells.example\u200b", None, "Flat 2_x000D_\nThe Mews", "#DIV/0!"],
        ["No\u00a0Break", "Space", "\u00a0nbsp@cells.example\u00a0", None, None, 2],
        ["Hidden", "ByFilter", "hidden@cells.example", None, None, 0],
        ["Total", None, None, None, None, 6],
    ]
    expected = [
        {"email": "mailto.person@cells.example", "address": {"line1": "1 High St", "line2": "2nd floor"}},
        {"email": "display@cells.example", "phone": None},
        {"email": "zero.width@cells.example", "address": {"line1": "Flat 2", "line2": "The Mews"}},
        {"email": "nbsp@cells.example", "first_name": "No Break"},
    ]
    return StaffList("cells as people leave them", "cells.xlsx", _book(rows, "Orders", filtered), expected,
                     rows_skipped=2, unknown=["Orders"])


ALL: list[Callable[[], StaffList]] = [hubspot, salesforce, mailchimp, outlook, google_contacts, german, spanish,
                                      letterhead, merged_header, numbers_as_numbers, us_dates, uk_dates,
                                      country_names, full_names, messy_cells]


def cover_sheet_then_list() -> bytes:
    """A cover sheet first; the list is on the second sheet, its header below row 30."""
    book = Workbook()
    cover = book.active
    assert cover is not None
    cover.title = "Cover"
    cover.append(["Quarterly membership report"])
    cover.append(["Prepared by the membership office"])
    data = book.create_sheet("Data")
    for n in range(34):
        data.append([f"Note {n}: figures are provisional"] if n % 3 == 0 else [])
    data.append(["Forename", "Surname", "Email"])
    data.append(["Alice", "Ball", "alice.ball@cover.example"])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def no_list_anywhere() -> bytes:
    book = Workbook()
    first = book.active
    assert first is not None
    first.title = "Summary"
    first.append(["Total members", 120])
    notes = book.create_sheet("Notes")
    notes.append(["just", "some", "words"])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def odd_headers(people: list[tuple[str, str]]) -> bytes:
    """A list whose titles no vocabulary knows: only a mapping staff send can read it."""
    return _book([["Kontakt", "Postfach", "Bemerkung"], *[[name, email, "ok"] for name, email in people]])


def companies_under_name() -> bytes:
    """Organisations listed under "Name": read as people's full names until staff map the column."""
    return _book([["Name", "Email", "Postcode"], ["Acme Trading Ltd", "sales@acme-trading.example", "EC1A 1BB"],
                  ["Globex Corporation", "info@globex.example", "SW1A 2AA"]])


def ambiguous_dates() -> bytes:
    return _book([["First Name", "Last Name", "Email", "Date of Birth"],
                  ["Ida", "Wells", "ida@dates.example", "03/04/1985"],
                  ["Jane", "Addams", "jane@dates.example", "05/06/1990"]])
