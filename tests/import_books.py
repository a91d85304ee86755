"""Workbooks for the import tests: a messy real-world-style list with a known outcome for every row."""

from __future__ import annotations

import io
from datetime import datetime
from typing import Any

from openpyxl import Workbook

HEADER = ["Cust No", "Forename", "SURNAME", "Company", "E-mail Address", "Tel", "Post Code", "Town",
          "Date of Birth", "Favourite colour"]

# (cells, the outcome on a table that holds only EXISTING, the column of the problem when rejected)
MESSY_ROWS: list[tuple[list[Any], str, str | None]] = [
    (["", " Ada ", "Lovelace ", None, "Ada@Example.org ", 2079460000, "n1 9gu", "London", datetime(1815, 12, 10),
      "green"], "rejected", "Date of Birth"),  # more than 130 years ago
    ([None, "Grace", "Hopper", None, "grace@navy.example", "+44 117 496 0555", "BS1 5TT", "Bristol", "1906-12-09",
      None], "created", None),
    ([None, "Alan", "Turing", None, "alan@example.org", 1614960000, "M13 9PL", "Manchester", "23/06/1962", None],
     "created", None),
    ([None, "Katherine", "Johnson", None, "kj@example.org", None, "WV1 1AA", None, "26 Aug 1968", None],
     "created", None),
    ([None, "Mary", "Jackson", None, "mary@example", None, None, None, None, None], "rejected", "E-mail Address"),
    ([None, "Dorothy", "Vaughan", None, "dorothy@example.org", None, None, None, "spring 1980", None],
     "rejected", "Date of Birth"),  # words that are not a date
    ([None, "Alan", "Turing", None, "ALAN@example.org", None, None, None, None, None],
     "rejected", "E-mail Address"),  # the same email as an earlier row
    ([None, None, None, "Initech Ltd", "accounts@initech.example", "020 7946 0999", "EC1A 1BB", "London", None,
      None], "created", None),
    (["100001", "Existing", "Person", None, None, "07700 900123", None, None, None, None],
     "updated", None),  # matched by customer number: phone added
    ([None, "Existing", "Twin", None, "twin@example.org", None, None, None, None, None],
     "unchanged", None),  # matched by email, nothing new
    (["999999", "Nobody", "Here", None, None, None, None, None, None, None], "rejected", "Cust No"),
    ([None, "Linus", None, None, "linus@example.org", None, None, None, None, None], "rejected", "SURNAME"),
]
# Customers the table holds before the messy file is imported (created through the API).
EXISTING = [
    {"type": "individual", "first_name": "Existing", "last_name": "Person"},  # gets customer number 100001
    {"type": "individual", "first_name": "Existing", "last_name": "Twin", "email": "twin@example.org"},
]


def messy_workbook() -> bytes:
    """Two title rows, odd headers, an unknown column, a blank row, dates in three styles, a hidden sheet."""
    book = Workbook()
    hidden = book.active
    assert hidden is not None
    hidden.title = "Old list"
    hidden.append(["Forename", "Surname", "Email"])
    hidden.append(["Hidden", "Row", "hidden@example.org"])
    hidden.sheet_state = "hidden"
    sheet = book.create_sheet("Members")
    sheet.append(["Northern Arts Trust — member list"])
    sheet.append(["exported 2026-11-01"])
    sheet.append(HEADER)
    for n, (cells, _, _) in enumerate(MESSY_ROWS):
        sheet.append(cells)
        if n == 3:
            sheet.append([None] * len(HEADER))  # a blank row in the middle
    return _bytes(book)


def messy_expected() -> dict[int, tuple[str, str | None]]:
    """Sheet row number → (outcome, column of the problem)."""
    expected = {}
    number = 4  # the header is on row 3
    for n, (_, outcome, column) in enumerate(MESSY_ROWS):
        expected[number] = (outcome, column)
        number += 2 if n == 3 else 1
    return expected


def simple_workbook(rows: int, start: int = 0, domain: str = "example.com") -> bytes:
    """``rows`` distinct individuals with emails, header on row 1."""
    book = Workbook(write_only=True)
    sheet = book.create_sheet("Customers")
    sheet.append(["First Name", "Last Name", "Email", "Postcode"])
    for n in range(start, start + rows):
        sheet.append([f"First{n}", f"Last{n}", f"person{n}@{domain}", f"AB{n % 90 + 10} 1CD"])
    return _bytes(book)


def _bytes(book: Workbook) -> bytes:
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
