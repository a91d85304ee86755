"""Customer workbooks to try the import with: the small sample the README imports (``samples/customers.xlsx``,
made by this module and committed) and large generated lists for the volume run.

    .venv/bin/python -m crm_local.samples                                   # writes samples/customers.xlsx
    .venv/bin/python -m crm_local.samples --rows 100000 /tmp/customers-100k.xlsx

The sample is a list as staff keep one: a title row above the header, headers in their own spelling, a
column the import does not know (``Notes``, reported and ignored), and two rows it rejects (an email without
a domain, a date of birth in the future) so the report has something to show. Generated lists hold
``rows`` distinct individuals, each with a unique email; the same ``rows`` and ``start`` give the same people.
"""

from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path

from openpyxl import Workbook

from crm_local.template import ROOT

SAMPLE = ROOT / "samples" / "customers.xlsx"
HEADER = ["Forename", "Surname", "Company", "E-mail Address", "Tel", "Address", "Town", "Post Code",
          "Date of Birth", "Notes"]
SAMPLE_ROWS: list[list[object]] = [
    ["Edith", "Clarke", None, "edith.clarke@example.org", "+44 20 7946 0123", "2 Mill Lane", "Leeds", "LS1 4AP",
     date(1983, 2, 10), "met at the spring fair"],
    ["Chloë", "Brontë", None, "chloe.bronte@example.org", "01535 640192", "Church Street", "Haworth", "BD22 8DR",
     date(1990, 4, 21), None],
    ["Ravi", "Shankar", None, "ravi.shankar@example.net", "07700 900456", "14 Park Row", "Bristol", "BS1 5LJ",
     "07/04/1972", None],
    [None, None, "Harbour Books Ltd", "orders@harbourbooks.example", "0117 496 0321", "1 Quay Street", "Bristol",
     "BS1 4DJ", None, "trade account"],
    ["Siobhán", "O'Neill", None, "siobhan.oneill@example.ie", "+353 1 555 0142", "8 Dame Street", "Dublin",
     "D02 HX65", date(1988, 11, 3), None],
    ["Tomasz", "Nowak", None, "t.nowak@example.com", None, "22 Oxford Road", "Manchester", "M1 5QA", None, None],
    ["Amara", "Okafor", None, "amara.okafor@example.org", "0121 496 0789", "5 Broad Street", "Birmingham", "B1 2HQ",
     date(1995, 6, 30), None],
    ["George", "Whitfield", None, "g.whitfield@example.co.uk", "01904 640 555", "3 Stonegate", "York", "YO1 8AW",
     "15 March 1961", "prefers post"],
    [None, None, "Northern Lights Theatre", "box.office@northernlights.example", "0191 496 0444", "Grey Street",
     "Newcastle", "NE1 6BR", None, None],
    ["Hannah", "Schmidt", None, "hannah.schmidt@example.de", "+49 30 555 0199", None, "Berlin", "10117",
     date(1979, 9, 12), None],
    ["Oliver", "Bennett", None, "oliver.bennett@example", "07700 900789", "9 High Street", "Oxford", "OX1 4AH",
     None, "email has no domain: rejected"],
    ["Priya", "Patel", None, "priya.patel@example.org", "0116 496 0222", "40 Granby Street", "Leicester", "LE1 1DE",
     date(2999, 1, 1), "born in the future: rejected"],
    ["Megan", "Lloyd", None, "megan.lloyd@example.cymru", "029 2018 0123", "Bute Street", "Cardiff", "CF10 5AL",
     date(2001, 12, 24), None],
    ["Fraser", "MacLeod", None, "fraser.macleod@example.scot", None, "10 Rose Street", "Edinburgh", "EH2 2PR",
     None, None],
    ["Lucía", "Fernández", None, "lucia.fernandez@example.es", "+34 91 555 0123", None, "Madrid", "28013", None,
     None],
]
FIRST_NAMES = ("Oliver", "Amelia", "George", "Isla", "Harry", "Ava", "Noah", "Mia", "Jack", "Ivy", "Leo", "Freya",
               "Arthur", "Florence", "Muhammad", "Lily", "Oscar", "Zoë", "Charlie", "Chloë", "Jacob", "Siobhán",
               "Thomas", "Grace", "Henry", "Sophia", "William", "Evie", "James", "Aoife")
LAST_NAMES = ("Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Johnson", "Davies", "Patel", "Robinson",
              "Wright", "Thompson", "Evans", "Walker", "White", "Roberts", "Green", "Hall", "Wood", "Jackson",
              "Clarke", "O'Brien", "Nowak", "Khan", "Lewis", "Murphy", "Kelly", "Hughes", "Edwards", "Brontë")
TOWNS = (("London", "N1"), ("Leeds", "LS1"), ("Bristol", "BS1"), ("Manchester", "M1"), ("York", "YO1"),
         ("Cardiff", "CF10"), ("Glasgow", "G1"), ("Norwich", "NR1"), ("Exeter", "EX1"), ("Belfast", "BT1"))


def sample_workbook(path: Path = SAMPLE) -> Path:
    """The small sample list (as committed in samples/)."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "Customers"
    sheet.append(["Spring fair sign-ups"])
    sheet.append(HEADER)
    for row in SAMPLE_ROWS:
        sheet.append(row)
    return _save(book, path)


def generated_workbook(path: Path, rows: int, start: int = 0) -> Path:
    """``rows`` distinct individuals (``start`` offsets them), each with a unique email; streamed to disk."""
    book = Workbook(write_only=True)
    sheet = book.create_sheet("Customers")
    sheet.append(["First Name", "Last Name", "Email", "Phone", "Address", "Town", "Postcode"])
    for n in range(start, start + rows):
        first, last = FIRST_NAMES[n % len(FIRST_NAMES)], LAST_NAMES[(n // len(FIRST_NAMES)) % len(LAST_NAMES)]
        town, district = TOWNS[n % len(TOWNS)]
        local = "".join(ch for ch in f"{first}.{last}".lower() if ch.isascii() and (ch.isalpha() or ch == "."))
        postcode = f"{district} {n % 9 + 1}{'ABDEFGHJL'[n % 9]}{'NPQRSTUWX'[n % 7]}"
        sheet.append([first, last, f"{local}.{n}@example.org", f"07700 {900000 + n % 100000:06d}",
                      f"{n % 200 + 1} Station Road", town, postcode])
    return _save(book, path)


def _save(book: Workbook, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    book.save(path)
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("path", nargs="?", type=Path, help=f"where to write it (default: {SAMPLE.relative_to(ROOT)})")
    parser.add_argument("--rows", type=int, help="generate this many customers instead of the small sample")
    parser.add_argument("--start", type=int, default=0, help="the first generated customer's number (default 0)")
    args = parser.parse_args(argv)
    if args.rows is None:
        written = sample_workbook(args.path or SAMPLE)
    else:
        if args.path is None:
            parser.error("--rows needs a path to write to")
        written = generated_workbook(args.path, args.rows, args.start)
    print(f"wrote {written} ({written.stat().st_size:,} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
