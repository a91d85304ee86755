"""Reading workbooks as Excel and others write them, and refusing files that are not sound workbooks."""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path

import openpyxl.xml
import pytest
from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils.datetime import CALENDAR_MAC_1904

from crm_core.imports.reading import UNCALCULATED, CellError, Limits, RawRow, Refused, inspect_file, open_book


def _bytes(book: Workbook) -> bytes:
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _simple() -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["First Name", "Last Name", "Email"])
    sheet.append(["Ada", "Lovelace", "ada@example.org"])
    return _bytes(book)


def _rewritten(path: Path, content: bytes, name: Callable[[str], str] = lambda n: n,
               data: Callable[[str, bytes], bytes] = lambda n, d: d) -> Path:
    """The workbook with its parts renamed or rewritten."""
    with zipfile.ZipFile(io.BytesIO(content)) as source, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
        for item in source.infolist():
            out.writestr(name(item.filename), data(item.filename, source.read(item.filename)))
    return path


def _rows(path: Path, sheet: str | None = None) -> list[RawRow]:
    book = open_book(path)
    try:
        return list(book.rows(sheet or book.sheets[0].name))
    finally:
        book.close()


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
    with pytest.raises(Refused, match=reason):
        inspect_file(path)


def test_a_zip_that_is_no_workbook_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "archive.xlsx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("readme.txt", "hello")
    with pytest.raises(Refused, match="not an Excel workbook"):
        inspect_file(path)


def _with_sheet(path: Path, sheet_xml: bytes, compression: int = zipfile.ZIP_DEFLATED) -> Path:
    """A real workbook whose first sheet's XML is replaced."""
    with zipfile.ZipFile(io.BytesIO(_simple())) as source, zipfile.ZipFile(path, "w", compression) as out:
        for item in source.infolist():
            data = sheet_xml if item.filename == "xl/worksheets/sheet1.xml" else source.read(item.filename)
            out.writestr(item.filename, data)
    return path


def test_a_zip_bomb_is_refused_from_the_zip_directory_before_parsing(tmp_path: Path) -> None:
    path = _with_sheet(tmp_path / "bomb.xlsx", b"<" + b" " * (4 * 2**20) + b"/>")
    with pytest.raises(Refused, match="zip bomb"):
        inspect_file(path)
    with pytest.raises(Refused, match="would unpack to"):
        inspect_file(path, Limits(max_unpacked_bytes=2**20))


def test_xml_entities_are_refused_because_openpyxl_parses_with_defusedxml(tmp_path: Path) -> None:
    assert openpyxl.xml.DEFUSEDXML is True  # defusedxml is installed, and openpyxl uses it
    laughs = (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">]>'
              b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
              b'<row r="1"><c r="A1" t="inlineStr"><is><t>&lol2;</t></is></c></row></sheetData></worksheet>')
    with pytest.raises(Refused, match="XML entities"):
        _rows(_with_sheet(tmp_path / "entities.xlsx", laughs))


def test_invalid_xml_in_a_sheet_is_a_refusal_not_a_crash(tmp_path: Path) -> None:
    path = _with_sheet(tmp_path / "broken.xlsx", b"<worksheet><sheetData><row><c>")
    with pytest.raises(Refused, match="damaged"):
        _rows(path)


def test_error_cells_uncalculated_formulas_and_hidden_rows_are_kept_apart(tmp_path: Path) -> None:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["Name", "Phone", "Total"])
    sheet.append(["Ada", "#N/A", "=1+1"])  # openpyxl writes "#N/A" as an error cell and =1+1 with no result
    sheet.append(["Grace", "#DIV/0!", 3])
    sheet.row_dimensions[3].hidden = True
    sheet.auto_filter.ref = "A1:C3"
    path = tmp_path / "cells.xlsx"
    path.write_bytes(_bytes(book))
    book_read = open_book(path)
    rows = list(book_read.rows("Sheet"))
    assert rows[1] == RawRow(2, ("Ada", CellError("#N/A"), UNCALCULATED), False)
    assert rows[2] == RawRow(3, ("Grace", CellError("#DIV/0!"), 3), True)
    assert book_read.filtered("Sheet") is True


def test_a_styled_cell_in_column_xfd_does_not_widen_the_rows(tmp_path: Path) -> None:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["First Name", "Last Name"])
    sheet.append(["Ada", "Lovelace"])
    sheet.cell(row=1, column=16_384).font = Font(bold=True)
    sheet.cell(row=2, column=16_384).value = "far away"
    path = tmp_path / "wide.xlsx"
    path.write_bytes(_bytes(book))
    assert [len(r.cells) for r in _rows(path)] == [2, 2]


def test_east_asian_built_in_date_formats_are_dates(tmp_path: Path) -> None:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["Name", "Born"])
    sheet.append(["Mei", 29586])
    path = tmp_path / "cjk.xlsx"
    path.write_bytes(_bytes(book))
    # the cell's style points at built-in number format 31 (yyyy"年"m"月"d"日" in Japanese Excel)
    styled = _rewritten(tmp_path / "cjk2.xlsx", path.read_bytes(), data=lambda name, data: (
        data.replace(b'<c r="B2" t="n"', b'<c r="B2" s="1" t="n"') if name.endswith("sheet1.xml") else
        re.sub(rb'<cellXfs count="1">(.*?)</cellXfs>',
               rb'<cellXfs count="2">\1<xf numFmtId="31" applyNumberFormat="1"/></cellXfs>', data, flags=re.S)
        if name.endswith("styles.xml") else data))
    assert _rows(styled)[1].cells == ("Mei", datetime(1980, 12, 31))


def test_dates_of_a_1904_workbook_are_read_as_written(tmp_path: Path) -> None:
    book = Workbook()
    book.epoch = CALENDAR_MAC_1904
    sheet = book.active
    assert sheet is not None
    sheet.append(["Name", "Born"])
    sheet.append(["Ada", datetime(1990, 12, 10)])
    path = tmp_path / "mac.xlsx"
    path.write_bytes(_bytes(book))
    assert _rows(path)[1].cells[1] == datetime(1990, 12, 10)


def test_a_lying_dimension_does_not_hide_rows(tmp_path: Path) -> None:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for n in range(6):
        sheet.append([f"First{n}", f"Last{n}"])
    lying = _rewritten(tmp_path / "lying.xlsx", _bytes(book), data=lambda name, data: re.sub(
        rb'<dimension ref="[^"]+"', b'<dimension ref="A1"', data) if name.endswith("sheet1.xml") else data)
    assert len(_rows(lying)) == 6


def test_strict_open_xml_is_read_by_the_fallback_reader(tmp_path: Path) -> None:
    def strict(name: str, data: bytes) -> bytes:
        return data.replace(b"http://schemas.openxmlformats.org/spreadsheetml/2006/main",
                            b"http://purl.oclc.org/ooxml/spreadsheetml/main").replace(
            b"http://schemas.openxmlformats.org/officeDocument/2006/relationships",
            b"http://purl.oclc.org/ooxml/officeDocument/relationships")

    path = _rewritten(tmp_path / "strict.xlsx", _simple(), data=strict)
    book = open_book(path)
    assert book.reader == "calamine"
    assert [r.cells for r in book.rows("Sheet")] == [("First Name", "Last Name", "Email"),
                                                    ("Ada", "Lovelace", "ada@example.org")]


def test_a_zip_written_with_backslashes_is_read(tmp_path: Path) -> None:
    path = _rewritten(tmp_path / "windows.xlsx", _simple(), name=lambda n: n.replace("/", "\\"))
    assert [r.cells[0] for r in _rows(path)] == ["First Name", "Ada"]


def test_parts_outside_xl_are_read(tmp_path: Path) -> None:
    def moved(name: str) -> str:
        return name.replace("xl/", "data/")

    def pointed(name: str, data: bytes) -> bytes:
        return data.replace(b"/xl/", b"/data/").replace(b'Target="xl/', b'Target="data/')

    path = _rewritten(tmp_path / "moved.xlsx", _simple(), name=moved, data=pointed)
    assert [r.cells[0] for r in _rows(path)] == ["First Name", "Ada"]


def test_a_workbook_too_big_to_hold_is_not_given_to_the_reader_that_holds_it(tmp_path: Path) -> None:
    path = _rewritten(tmp_path / "windows.xlsx", _simple(), name=lambda n: n.replace("/", "\\"))
    with pytest.raises(Refused, match="too big for that"):
        open_book(path, Limits(max_held_bytes=100))


def test_chart_sheets_and_hidden_sheets_are_told_apart(tmp_path: Path) -> None:
    from openpyxl.chart import BarChart, Reference

    book = Workbook()
    data = book.active
    assert data is not None
    data.append(["Name", "Orders"])
    data.append(["Ada", 3])
    chart_sheet = book.create_chartsheet("Chart")
    chart = BarChart()
    chart.add_data(Reference(data, min_col=2, min_row=1, max_row=2), titles_from_data=True)
    chart_sheet.add_chart(chart)
    hidden = book.create_sheet("Old")
    hidden.sheet_state = "hidden"
    path = tmp_path / "charts.xlsx"
    path.write_bytes(_bytes(book))
    assert [(s.name, s.kind, s.visible) for s in open_book(path).sheets] == [
        ("Sheet", "worksheet", True), ("Chart", "chartsheet", True), ("Old", "worksheet", False)]


def test_merged_cells_are_read_once_in_their_first_cell(tmp_path: Path) -> None:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["First Name", "Last Name", "Town", "County"])
    sheet.append(["Ada", "Lovelace", "London", None])
    sheet.merge_cells("C2:D2")
    path = tmp_path / "merged.xlsx"
    path.write_bytes(_bytes(book))
    assert _rows(path)[1].cells == ("Ada", "Lovelace", "London")


def test_dates_stay_dates(tmp_path: Path) -> None:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["Name", "Born"])
    sheet.append(["Ada", date(1815, 12, 10)])
    path = tmp_path / "dates.xlsx"
    path.write_bytes(_bytes(book))
    assert _rows(path)[1].cells[1] == datetime(1815, 12, 10)
