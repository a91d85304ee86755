"""Reading workbooks: hostile files refused before any XML is parsed, then the cells of a sheet, row by row.

``inspect_file`` looks at the bytes first: an empty file, an old ``.xls`` (or a password-protected workbook,
which is an OLE2 file too), a CSV or random bytes renamed ``.xlsx``, a damaged zip, a zip that holds no
workbook, and a zip bomb (the unpacked sizes are read from the zip's directory, not by unpacking) each get
one clear reason.

``open_book`` then opens it with one of two readers, chosen by what each does best (``bench/import_read.py``
and ``bench/import_corpus.py`` measure both):

- **openpyxl**, read-only, first. Its sheet XML is parsed as it streams, through openpyxl's own parser
  (``defusedxml``: XML entity bombs and external entities are refused), so memory stays flat however long
  the list. The rows are taken from the XML here rather than through ``iter_rows``, to keep what the import
  needs and ``iter_rows`` drops: Excel's error cells (``#N/A``), formulas Excel never calculated, rows hidden
  by a filter, and a bound on the row width (one styled cell in column XFD must not make every row 16,384
  cells wide). The East-Asian built-in date formats (ids 27 to 36 and 50 to 58), which openpyxl does not know, are
  read as dates.
- **python-calamine** when openpyxl cannot open the workbook or finds no sheet in it: Strict Open XML, parts
  outside ``xl/``, zips written with backslashes, style sheets openpyxl refuses. It reads the whole sheet
  into memory before the first row, so it is used only for workbooks whose XML unpacks to at most
  ``Limits.max_held_bytes``.

Every failure while reading becomes ``Refused`` with a reason written for the person who uploaded the file.
"""

from __future__ import annotations

import contextlib
import re
import warnings
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Literal, NamedTuple, Protocol

OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # old .xls (and password-protected .xlsx)
ZIP = b"PK\x03\x04"
EXCEL_ERRORS = frozenset({"#N/A", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#NULL!", "#GETTING_DATA",
                          "#SPILL!", "#CALC!", "#FIELD!", "#BLOCKED!", "#CONNECT!", "#BUSY!", "#UNKNOWN!"})
# Built-in number formats that are dates in Excel's East-Asian locales, absent from openpyxl's table.
EAST_ASIAN_DATE_FORMATS = frozenset(range(27, 37)) | frozenset(range(50, 59))
_DAMAGED = "the workbook is damaged and cannot be read"
_RESAVE = "open it in Excel and save it again as an Excel Workbook (.xlsx)"


class Refused(Exception):
    """The file cannot be imported at all; ``reason`` says why, for the person who uploaded it."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Limits:
    max_unpacked_bytes: int = 256 * 2**20
    max_ratio: int = 200  # unpacked / packed size of one member above which it is treated as a bomb
    max_rows: int = 200_000
    header_scan_rows: int = 100  # rows of each sheet looked at for the header
    max_columns: int = 1024  # cells read per row; a cell further right is not read
    max_title_chars: int = 120  # longer text is no column title (and is never folded to be compared)
    max_held_bytes: int = 48 * 2**20  # the most XML a reader that holds the sheet (calamine) may take


@dataclass(frozen=True)
class CellError:
    """An Excel error value (``#N/A``, ``#DIV/0!``…): no value at all, and said so."""

    code: str


@dataclass(frozen=True)
class Uncalculated:
    """A formula whose result the file does not hold (written by a program that never calculated it)."""


UNCALCULATED = Uncalculated()


class RawRow(NamedTuple):
    number: int  # the row number in the sheet (1-based)
    cells: tuple[Any, ...]  # str, int, float, bool, date, datetime, time, CellError, Uncalculated or None
    hidden: bool


@dataclass(frozen=True)
class SheetInfo:
    name: str
    kind: Literal["worksheet", "chartsheet"]
    visible: bool


class Book(Protocol):
    reader: str
    sheets: list[SheetInfo]
    epoch: datetime  # where the workbook's date serials count from (1900 or 1904)

    def rows(self, sheet: str) -> Iterator[RawRow]: ...

    def filtered(self, sheet: str) -> bool: ...

    def close(self) -> None: ...


def inspect_file(path: Path, limits: Limits = Limits()) -> None:
    """Refuse what is not a sound ``.xlsx`` before parsing any XML."""
    size = path.stat().st_size
    if size == 0:
        raise Refused("the file is empty")
    with path.open("rb") as handle:
        head = handle.read(512)
    if head.startswith(OLE2):
        raise Refused("this is an old Excel .xls workbook or a password-protected one: "
                      "save it as an Excel Workbook (.xlsx) without a password and upload it again")
    if not head.startswith(ZIP):
        kind = "a text file (CSV?)" if _looks_like_text(head) else "not a spreadsheet"
        raise Refused(f"this is {kind}, not an Excel .xlsx workbook")
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        raise Refused("the workbook is damaged: it cannot be opened as an .xlsx file") from None
    names = {_part_name(m.filename) for m in members}
    if any(n.endswith("workbook.bin") for n in names):
        raise Refused("this is an Excel Binary Workbook (.xlsb): save it as an Excel Workbook (.xlsx) and upload "
                      "it again")
    if not any(n == "workbook.xml" or n.endswith("/workbook.xml") for n in names):
        raise Refused("this zip file is not an Excel workbook")
    unpacked = sum(m.file_size for m in members)
    if unpacked > limits.max_unpacked_bytes:
        raise Refused(f"the workbook would unpack to {unpacked / 2**20:.0f} MB, more than the "
                      f"{limits.max_unpacked_bytes / 2**20:.0f} MB allowed; split it into smaller files")
    for member in members:
        if member.file_size > 2**20 and member.file_size > limits.max_ratio * max(member.compress_size, 1):
            ratio = member.file_size // max(member.compress_size, 1)
            raise Refused(f"the workbook part {member.filename} is compressed {ratio} to 1, which only a zip "
                          "bomb does; refused")


def open_book(path: Path, limits: Limits = Limits()) -> Book:
    """The workbook, opened by openpyxl or else by python-calamine. Raises ``Refused``."""
    inspect_file(path, limits)
    try:
        book = OpenpyxlBook(path, limits)
    except Refused as refused:
        if refused.reason.startswith("the workbook declares XML entities"):
            raise
        return calamine_book(path, limits, refused)
    if not book.sheets:
        book.close()
        return calamine_book(path, limits, Refused("the workbook has no sheets"))
    return book


def calamine_book(path: Path, limits: Limits, openpyxl_refusal: Refused) -> Book:
    """The fallback reader, for workbooks openpyxl cannot open (``openpyxl_refusal`` says why)."""
    with zipfile.ZipFile(path) as archive:
        xml = sum(m.file_size for m in archive.infolist() if _part_name(m.filename).endswith(".xml"))
    if xml > limits.max_held_bytes:
        raise Refused(f"{openpyxl_refusal.reason}; this kind of workbook is read whole, and this one is too big for "
                      f"that ({xml / 2**20:.0f} MB of data): {_RESAVE}")
    return CalamineBook(path, limits, openpyxl_refusal)


# ---- openpyxl -------------------------------------------------------------------------------------------------

_NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_ROW, _CELL, _VALUE, _FORMULA, _INLINE = f"{_NS}row", f"{_NS}c", f"{_NS}v", f"{_NS}f", f"{_NS}is"
_TEXT, _RUN, _ITEM = f"{_NS}t", f"{_NS}r", f"{_NS}si"
_FILTERS = {f"{_NS}autoFilter", f"{_NS}tableParts"}
_LETTERS = re.compile(r"[A-Z]+")


class OpenpyxlBook:
    reader = "openpyxl"

    def __init__(self, path: Path, limits: Limits) -> None:
        self._limits = limits
        self._filtered: dict[str, bool] = {}
        self._columns: dict[str, int] = {}
        self._worksheets: dict[str, str] = {}
        self._strings: list[str] = []
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # openpyxl warns of every part it does not keep; a list needs none
                self._load(path)
        except Refused:
            raise
        except Exception as failure:  # noqa: BLE001 - openpyxl raises whatever its parsers meet in a damaged file
            raise _unreadable(failure) from None

    def _load(self, path: Path) -> None:
        """openpyxl's read-only loading, less what a list does not need (properties, theme, named styles, charts):
        a workbook with a style sheet openpyxl would refuse, or 20,000 named styles, is read all the same."""
        from openpyxl.reader.excel import ExcelReader

        reader = ExcelReader(path, read_only=True, data_only=True, keep_links=False)
        self._archive = reader.archive
        reader.read_manifest()
        strings = _shared_strings(reader)
        reader.read_workbook()
        self._book = reader.wb
        self.epoch = self._book.epoch
        self._book._date_formats, self._book._timedelta_formats = _date_styles(reader.archive, reader.valid_files)
        self.sheets = []
        for sheet, relation in reader.parser.find_sheets():
            if relation.target not in reader.valid_files:
                continue
            visible = (sheet.state or "visible") == "visible"
            if "chartsheet" in relation.Type:
                self.sheets.append(SheetInfo(sheet.name, "chartsheet", visible))
                continue
            self._worksheets[sheet.name] = relation.target  # the part; its <dimension> is never trusted nor read
            self.sheets.append(SheetInfo(sheet.name, "worksheet", visible))
        self._strings = strings

    def rows(self, sheet: str) -> Iterator[RawRow]:
        """The sheet's rows as its XML holds them (rows without cells are not there)."""
        part = self._worksheets[sheet]
        try:
            with self._archive.open(part) as source:
                yield from self._parse(sheet, source)
        except Refused:
            raise
        except Exception as failure:  # noqa: BLE001 - a damaged part of the zip or its XML, met while streaming
            raise _unreadable(failure) from None

    def filtered(self, sheet: str) -> bool:
        return self._filtered.get(sheet, False)

    def close(self) -> None:
        self._archive.close()

    def _parse(self, sheet: str, source: Any) -> Iterator[RawRow]:
        from openpyxl.xml.functions import iterparse

        counter = 0
        for _, element in iterparse(source):
            tag = element.tag
            if tag == _ROW:
                number = element.get("r")
                counter = int(number) if number else counter + 1
                hidden = element.get("hidden") in ("1", "true")
                yield RawRow(counter, self._cells(element), hidden)
                element.clear()
            elif tag in _FILTERS:
                self._filtered[sheet] = True

    def _cells(self, row: Any) -> tuple[Any, ...]:
        values: list[Any] = []
        column = 0
        width = self._limits.max_columns
        for cell in row:
            if cell.tag != _CELL:
                continue
            reference = cell.get("r")
            column = self._column(reference) if reference else column + 1
            if column > width:
                continue
            value = self._value(cell)
            if value is None:
                continue
            if column > len(values):
                values.extend([None] * (column - len(values)))
            values[column - 1] = value
        return tuple(values)

    def _column(self, reference: str) -> int:
        letters = _LETTERS.match(reference)
        key = letters.group() if letters else ""
        index = self._columns.get(key)
        if index is None:
            from openpyxl.utils.cell import column_index_from_string

            try:
                index = column_index_from_string(key)
            except ValueError:
                index = 16_385  # no column: beyond any width read
            self._columns[key] = index
        return index

    def _value(self, cell: Any) -> Any:
        from openpyxl.utils.datetime import from_excel, from_ISO8601

        kind = cell.get("t", "n")
        text = cell.findtext(_VALUE)
        if kind == "s":
            return self._strings[int(text)] if text else None
        if kind == "inlineStr":
            inline = cell.find(_INLINE)
            return None if inline is None else _inline_text(inline)
        if not text:
            return UNCALCULATED if cell.find(_FORMULA) is not None else (None if kind != "str" else "")
        if kind == "n":
            number: int | float = int(text) if text.isdigit() else float(text)
            style = int(cell.get("s", 0))
            if style in self._book._date_formats:
                try:
                    moment: Any = from_excel(number, self.epoch, timedelta=style in self._book._timedelta_formats)
                except (OverflowError, ValueError):
                    return CellError("#VALUE!")
                return moment
            return int(number) if isinstance(number, float) and number.is_integer() and abs(number) < 2**53 \
                else number
        if kind == "str":
            return text
        if kind == "b":
            return text in ("1", "true")
        if kind == "e":
            return CellError(text)
        if kind == "d":
            return from_ISO8601(text)
        return text


def _shared_strings(reader: Any) -> list[str]:
    """The workbook's shared strings, as written (openpyxl's own reading builds an object per string first)."""
    from openpyxl.xml.constants import SHARED_STRINGS
    from openpyxl.xml.functions import iterparse

    part = reader.package.find(SHARED_STRINGS)
    if part is None:
        return []
    strings: list[str] = []
    with reader.archive.open(part.PartName[1:]) as source:
        for _, element in iterparse(source):
            if element.tag == _ITEM:
                strings.append(_inline_text(element))
                element.clear()
    return strings


def _date_styles(archive: zipfile.ZipFile, names: list[str]) -> tuple[set[int], set[int]]:
    """Which cell styles show dates (and which durations): all a list needs of the style sheet."""
    from openpyxl.styles.numbers import BUILTIN_FORMATS, is_date_format, is_timedelta_format
    from openpyxl.xml.functions import iterparse

    if "xl/styles.xml" not in names:
        return set(), set()
    formats: dict[int, str] = dict(BUILTIN_FORMATS)
    styles: list[int] = []
    inside = False
    with archive.open("xl/styles.xml") as source:
        for event, element in iterparse(source, events=("start", "end")):
            tag = element.tag
            if tag == f"{_NS}cellXfs":
                inside = event == "start"
            elif event == "end" and tag == f"{_NS}numFmt":
                with contextlib.suppress(TypeError, ValueError):
                    formats[int(element.get("numFmtId"))] = element.get("formatCode") or ""
            elif event == "end" and tag == f"{_NS}xf" and inside:
                try:
                    styles.append(int(element.get("numFmtId") or 0))
                except ValueError:
                    styles.append(0)
    dates, durations = set(), set()
    for index, number in enumerate(styles):
        code = formats.get(number)
        if (number in EAST_ASIAN_DATE_FORMATS and number not in formats) or (code is not None and is_date_format(code)):
            dates.add(index)
        if code is not None and is_timedelta_format(code):
            durations.add(index)
    return dates, durations


def _inline_text(inline: Any) -> str:
    parts = []
    for child in inline:
        if child.tag == _TEXT:
            parts.append(child.text or "")
        elif child.tag == _RUN:
            parts.append(child.findtext(_TEXT) or "")
    return "".join(parts)


# ---- python-calamine --------------------------------------------------------------------------------------------

class CalamineBook:
    reader = "calamine"
    epoch = datetime(1899, 12, 30)  # calamine converts date cells itself; serials typed as text count from 1900

    def __init__(self, path: Path, limits: Limits, openpyxl_refusal: Refused) -> None:
        from python_calamine import CalamineWorkbook

        self._limits = limits
        try:
            self._book = CalamineWorkbook.from_path(str(path))
            metadata = self._book.sheets_metadata
        except Exception as failure:  # noqa: BLE001 - calamine's errors are its own classes, one per fault
            raise _both_failed(openpyxl_refusal, failure) from None
        self._openpyxl_refusal = openpyxl_refusal
        self.sheets = [SheetInfo(m.name, "worksheet" if str(m.typ).endswith("WorkSheet") else "chartsheet",
                                 str(m.visible).endswith(".Visible")) for m in metadata]

    def rows(self, sheet: str) -> Iterator[RawRow]:
        try:
            worksheet = self._book.get_sheet_by_name(sheet)
        except Exception as failure:  # noqa: BLE001
            if type(failure).__name__ == "WorksheetNotFound":
                raise Refused(f"the workbook has no sheets: it names {sheet!r}, but does not hold it") from None
            raise _both_failed(self._openpyxl_refusal, failure) from None
        try:
            left = (None,) * (worksheet.start or (0, 0))[1]  # rows start at row 1, but cells at the first column used
            width = self._limits.max_columns - len(left)
            for offset, values in enumerate(worksheet.iter_rows(), start=1):
                cells = left + tuple(_calamine_cell(v) for v in values[:max(width, 0)])
                yield RawRow(offset, cells, False)
        except Exception as failure:  # noqa: BLE001
            raise _both_failed(self._openpyxl_refusal, failure) from None

    def filtered(self, sheet: str) -> bool:
        return False

    def close(self) -> None:
        self._book.close()


def _calamine_cell(value: Any) -> Any:
    if value == "":
        return None
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    if isinstance(value, timedelta):
        return (datetime.min + value).time() if value < timedelta(days=1) else value
    return value


# ---- reasons ----------------------------------------------------------------------------------------------------

def _unreadable(failure: BaseException) -> Refused:
    from xml.etree.ElementTree import ParseError

    from defusedxml import DefusedXmlException

    if isinstance(failure, DefusedXmlException) or isinstance(failure.__cause__, DefusedXmlException):
        return Refused("the workbook declares XML entities, which spreadsheets do not need; refused")
    if isinstance(failure, zipfile.BadZipFile | zlib.error | EOFError):
        what = "a part of the zip is corrupt"
    elif isinstance(failure, KeyError):
        what = "a part it refers to is missing"
    elif isinstance(failure, ParseError) or isinstance(failure.__cause__, ParseError):
        what = "a part of it is not well-formed XML"
    else:
        what = "a part of it is not as Excel writes it"
    return Refused(f"{_DAMAGED}: {what}; {_RESAVE}")


def _both_failed(openpyxl_refusal: Refused, failure: BaseException) -> Refused:
    name = type(failure).__name__
    if name == "PasswordError":
        return Refused("the workbook is password-protected: save it without a password and upload it again")
    if "entity" in str(failure):
        return Refused("the workbook declares XML entities, which spreadsheets do not need; refused")
    if openpyxl_refusal.reason.startswith(_DAMAGED):
        return openpyxl_refusal
    return Refused(f"{_DAMAGED}: {openpyxl_refusal.reason}; {_RESAVE}")


def _part_name(name: str) -> str:
    return name.replace("\\", "/").lstrip("/")


def _looks_like_text(head: bytes) -> bool:
    try:
        text = head.decode("utf-8-sig")
    except UnicodeDecodeError:
        return False
    return all(ch.isprintable() or ch in "\r\n\t" for ch in text)


