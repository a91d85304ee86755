"""Reading staff's customer workbooks, and refusing files that are not sound workbooks."""

from __future__ import annotations

import io
import zipfile
from datetime import datetime
from pathlib import Path

import openpyxl.xml
import pytest
from openpyxl import Workbook

from crm_core.workbook import Limits, WorkbookRefused, header_key, inspect_file, read_customer_rows


def _save(book: Workbook, path: Path) -> Path:
    book.save(path)
    return path


@pytest.fixture
def messy(tmp_path: Path) -> Path:
    """Title rows above the header, odd header spellings, an unknown column, a blank row, a phone stored as a
    number, trailing spaces, and a hidden first sheet."""
    book = Workbook()
    hidden = book.active
    hidden.title = "Old list"
    hidden.append(["Surname", "Email", "Notes"])
    hidden.append(["Entry", "someone@example.org", "old"])
    hidden.sheet_state = "hidden"
    sheet = book.create_sheet("Members 2026")
    sheet.append(["Northern Arts Trust — member list"])
    sheet.append([None])
    sheet.append(["Forename", "SURNAME", "E-mail Address", "Tel", "Post Code", "Shoe size", "Joined"])
    sheet.append(["  Ada ", "Lovelace", "Ada@Example.org ", 2079460000, "n1 9gu", 7, datetime(2020, 1, 2)])
    sheet.append([None, None, None, None, None, None, None])
    sheet.append(["Grace", "Hopper", "grace@navy.example", "+44 117 496 0555", "BS1 5TT", None, None])
    return _save(book, tmp_path / "members.xlsx")


def test_header_found_below_title_rows_on_the_first_visible_sheet(messy: Path) -> None:
    rows = read_customer_rows(messy)
    assert rows.sheet == "Members 2026"
    assert rows.header.row == 3
    assert sorted(rows.header.columns.values()) == sorted(
        ["first_name", "last_name", "email", "phone", "address.postcode"])
    assert rows.header.unknown == ["Shoe size", "Joined"]


def test_rows_are_trimmed_blank_rows_skipped_and_number_phones_kept_as_text(messy: Path) -> None:
    found = list(read_customer_rows(messy).rows)
    assert [number for number, _, _ in found] == [4, 6]
    first = found[0][1]
    assert first == {"first_name": "Ada", "last_name": "Lovelace", "email": "Ada@Example.org", "phone": "2079460000",
                     "address.postcode": "n1 9gu"}
    assert found[1][1]["phone"] == "+44 117 496 0555"


def test_a_named_sheet_is_read_even_when_hidden(messy: Path) -> None:
    rows = read_customer_rows(messy, sheet="Old list")
    assert [values for _, values, _ in rows.rows] == [{"last_name": "Entry", "email": "someone@example.org"}]
    assert rows.header.unknown == ["Notes"]
    with pytest.raises(WorkbookRefused, match="no sheet named 'Nope'"):
        read_customer_rows(messy, sheet="Nope")


def test_header_spellings_fold_case_space_and_punctuation() -> None:
    assert header_key("E-mail Address") == header_key("email address") == "emailaddress"
    assert header_key("Customer #") == "customer#"


def test_more_rows_than_the_limit_refuse_the_file(messy: Path) -> None:
    with pytest.raises(WorkbookRefused, match="more than 1 data rows"):
        list(read_customer_rows(messy, limits=Limits(max_rows=1)).rows)


def test_a_sheet_without_a_header_is_refused(tmp_path: Path) -> None:
    book = Workbook()
    book.active.append(["just", "some", "words"])
    with pytest.raises(WorkbookRefused, match="no header row found"):
        read_customer_rows(_save(book, tmp_path / "x.xlsx"))


@pytest.mark.parametrize(("content", "reason"), [
    (b"", "empty"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100, "old Excel .xls"),
    (b"First Name,Last Name\nAda,Lovelace\n", "text file \\(CSV\\?\\)"),
    (bytes(range(256)) * 4, "not a spreadsheet"),
    (b"PK\x03\x04 this is not really a zip", "damaged"),
])
def test_files_that_are_not_workbooks_get_one_clear_reason(tmp_path: Path, content: bytes, reason: str) -> None:
    path = tmp_path / "upload.xlsx"
    path.write_bytes(content)
    with pytest.raises(WorkbookRefused, match=reason):
        inspect_file(path)


def test_a_zip_that_is_no_workbook_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "archive.xlsx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("readme.txt", "hello")
    with pytest.raises(WorkbookRefused, match="not an Excel workbook"):
        inspect_file(path)


def _workbook_with(path: Path, sheet_xml: bytes, compression: int = zipfile.ZIP_DEFLATED) -> Path:
    """A real workbook whose first sheet's XML is replaced."""
    buffer = io.BytesIO()
    book = Workbook()
    book.active.append(["First Name", "Last Name"])
    book.save(buffer)
    with zipfile.ZipFile(io.BytesIO(buffer.getvalue())) as source, zipfile.ZipFile(path, "w", compression) as out:
        for item in source.infolist():
            data = sheet_xml if item.filename == "xl/worksheets/sheet1.xml" else source.read(item.filename)
            out.writestr(item.filename, data)
    return path


def test_a_zip_bomb_is_refused_from_the_zip_directory_before_parsing(tmp_path: Path) -> None:
    # Given a sheet part of 4 MB of one repeated byte (it packs to a few KB)
    path = _workbook_with(tmp_path / "bomb.xlsx", b"<" + b" " * (4 * 2**20) + b"/>")
    # Then it is refused by ratio, and by total size under a smaller limit
    with pytest.raises(WorkbookRefused, match="zip bomb"):
        inspect_file(path)
    with pytest.raises(WorkbookRefused, match="would unpack to"):
        inspect_file(path, Limits(max_unpacked_bytes=2**20))


def test_xml_entities_are_refused_because_openpyxl_parses_with_defusedxml(tmp_path: Path) -> None:
    assert openpyxl.xml.DEFUSEDXML is True  # defusedxml is installed, and openpyxl uses it
    laughs = (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">]>'
              b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
              b'<row r="1"><c r="A1" t="inlineStr"><is><t>&lol2;</t></is></c></row></sheetData></worksheet>')
    path = _workbook_with(tmp_path / "entities.xlsx", laughs)
    with pytest.raises(WorkbookRefused, match="XML entities"):
        list(read_customer_rows(path).rows)
