"""Reading an uploaded workbook into checked chunks: the import's step 2, before any customer is touched.

Two passes, at constant memory:

1. The header is found (``mapping.find_header``), then every row under it is streamed once: blank rows are
   skipped, rows are cut to the header's width, the first values of each column are kept as samples, the
   date column's text dates are looked at for the order they are written in, and the rows go to a local
   spool file. Nothing is decided yet.
2. The mapping is planned from the titles and the samples (``mapping.plan``), the settings settled (the
   date order from what pass 1 saw), and each spooled row is checked alone (``rows.prepare_row``) and against
   the rows before it (``rows.FileMatches``). Rows hidden by a filter and a table's totals row are skipped and
   reported. Good rows go out in chunks, refused ones to the rejected file.

A workbook openpyxl starts reading but then finds damaged is read again with python-calamine.
"""

from __future__ import annotations

import gzip
import pickle
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from crm_core.imports.mapping import Found, Header, Plan, Remembered, find_header, fingerprint, plan, sample_values
from crm_core.imports.normalising import DateOrder, date_order_evidence
from crm_core.imports.reading import Book, Limits, RawRow, Refused, calamine_book, open_book
from crm_core.imports.rows import (
    ChunkRow,
    FileMatches,
    HeaderRecord,
    Problem,
    RowContext,
    RowRecord,
    encode_cell,
    is_totals_row,
    prepare_row,
)
from crm_core.models.imports import MAX_ERRORS_SHOWN, ImportOptions, RememberedMapping, RowError, Setting, SettingsUsed

SPOOL_BATCH = 500  # rows pickled together in the spool file
ORDER_NAMES = {"day_first": "day first (31/12/1980)", "month_first": "month first (12/31/1980)"}


@dataclass(frozen=True)
class Defaults:
    """The organisation's: used when neither staff nor the file decide."""

    date_order: DateOrder = "day_first"
    country: str = "GB"


@dataclass
class Outlet:
    """Where a reading's results go (the bucket, in the service)."""

    chunk: Callable[[int, list[ChunkRow]], None]  # chunk number, its rows
    rejected: Callable[[Path], None]  # a gzipped JSON-lines file of RowRecord
    row_id: Callable[[int], str]  # the id a customer created from this row gets


@dataclass
class Reading:
    header: Header
    plan: Plan
    settings: SettingsUsed
    fingerprint: str
    rows: int = 0  # data rows: prepared and rejected (skipped ones not counted)
    rejected: int = 0
    skipped: int = 0
    chunks: int = 0
    errors: list[RowError] = field(default_factory=list)
    notices: list[RowError] = field(default_factory=list)


@dataclass
class _Evidence:
    """What the date column's text dates say about their order: the first example of each kind."""

    seen: dict[str, tuple[int, str]] = field(default_factory=dict)

    def add(self, row: int, value: Any) -> None:
        kind = date_order_evidence(value)
        if kind is not None and kind not in self.seen:
            self.seen[kind] = (row, str(value).strip())


def check_workbook(path: Path, options: ImportOptions, remembered: Remembered,
                   defaults: Defaults, limits: Limits, chunk_rows: int, outlet: Outlet) -> Reading:
    """Read, map and check the workbook; good rows to ``outlet.chunk``. Raises ``Refused``."""
    book = open_book(path, limits)
    try:
        return _check(book, options, remembered, defaults, limits, chunk_rows, outlet)
    except Refused as refused:
        if book.reader != "openpyxl" or "XML entities" in refused.reason or not refused.reason.startswith(
                "the workbook is damaged"):
            raise
        fallback = calamine_book(path, limits, refused)
    finally:
        book.close()
    try:
        return _check(fallback, options, remembered, defaults, limits, chunk_rows, outlet)
    finally:
        fallback.close()


def _check(book: Book, options: ImportOptions, remembered_for: Remembered,
           defaults: Defaults, limits: Limits, chunk_rows: int, outlet: Outlet) -> Reading:
    found = find_header(book, options.sheet, options.header_row, options.mapping, remembered_for, limits)
    header = found.header
    prints = fingerprint(header.titles)
    remembered = found.remembered
    titles_only = plan(header, [], options.mapping, remembered)
    date_columns = titles_only.fields.get("date_of_birth", [])
    with tempfile.TemporaryFile() as spool:
        samples, evidence, count = _first_pass(found, header.width, date_columns, spool, limits)
        the_plan = plan(header, samples, options.mapping, remembered)
        settings = _settings(book, found, options, remembered, defaults, evidence)
        reading = Reading(header, the_plan, settings, prints)
        context = RowContext(the_plan.fields, settings.date_order.value,  # type: ignore[arg-type]
                             str(settings.default_country.value), book.epoch)
        spool.seek(0)
        _second_pass(_spooled(spool), book.filtered(header.sheet), context, reading, chunk_rows, outlet)
    if reading.rows == 0 and count == 0:
        raise Refused(f"the sheet {header.sheet!r} has no data rows under its header row (row {header.row})")
    return reading


def _first_pass(found: Found, width: int, date_columns: list[int], spool: Any,
                limits: Limits) -> tuple[list[list[str]], _Evidence, int]:
    samples: list[list[str]] = [[] for _ in range(width)]
    evidence = _Evidence()
    batch: list[RawRow] = []
    count = 0
    sampling = True
    for raw in found.rows:
        cells = raw.cells[:width]
        if not any(v is not None and (not isinstance(v, str) or v.strip()) for v in cells):
            continue
        count += 1
        if count > limits.max_rows:
            raise Refused(f"the sheet has more than {limits.max_rows:,} data rows; split it into smaller files")
        if sampling:
            sample_values(samples, cells, width)
            sampling = count < 1000 and not all(len(s) >= 3 for s in samples)
        for index in date_columns:
            if index < len(cells) and isinstance(cells[index], str):
                evidence.add(raw.number, cells[index])
        batch.append(RawRow(raw.number, cells, raw.hidden))
        if len(batch) == SPOOL_BATCH:
            pickle.dump(batch, spool, protocol=pickle.HIGHEST_PROTOCOL)
            batch = []
    if batch:
        pickle.dump(batch, spool, protocol=pickle.HIGHEST_PROTOCOL)
    return samples, evidence, count


def _spooled(spool: Any) -> Iterator[RawRow]:
    while True:
        try:
            batch: list[RawRow] = pickle.load(spool)  # noqa: S301 - the file this reading wrote a moment ago
        except EOFError:
            return
        yield from batch


def _second_pass(rows: Iterator[RawRow], filtered: bool, context: RowContext, reading: Reading, chunk_rows: int,
                 outlet: Outlet) -> None:
    titles = reading.plan.titles()
    matches = FileMatches()
    chunk: list[ChunkRow] = []
    with tempfile.NamedTemporaryFile(suffix=".jsonl.gz") as spool:
        with gzip.open(spool.name, "wt", compresslevel=6) as refused:
            for raw in rows:
                if raw.hidden and filtered:
                    reading.skipped += 1
                    _notice(reading, raw.number, None, "hidden by a filter: not imported")
                    continue
                if is_totals_row(raw.cells):
                    reading.skipped += 1
                    _notice(reading, raw.number, None, "a totals row: not imported")
                    continue
                reading.rows += 1
                prepared = prepare_row(raw.number, raw.cells, context)
                for note in prepared.notices:
                    _notice(reading, raw.number, titles.get(note.field or ""), note.reason)
                if raw.hidden:
                    _notice(reading, raw.number, None, "hidden in the sheet: imported all the same")
                problems = prepared.problems
                if prepared.row is not None and (clash := matches.clash(prepared.row)):
                    problems = [clash]
                cells = [encode_cell(v) for v in raw.cells]
                if problems or prepared.row is None:
                    reading.rejected += 1
                    record = rejected_record(raw.number, problems, titles, cells)
                    refused.write(record.model_dump_json() + "\n")
                    room = MAX_ERRORS_SHOWN - len(reading.errors)
                    if room > 0:
                        reading.errors += record.errors[:room]
                    continue
                row = prepared.row
                chunk.append(ChunkRow(row=raw.number, id=outlet.row_id(raw.number), fields=row.fields,
                                      customer_number=row.customer_number, username=row.username, email=row.email,
                                      dedupe=row.dedupe, cells=cells))
                if len(chunk) == chunk_rows:
                    outlet.chunk(reading.chunks, chunk)
                    reading.chunks, chunk = reading.chunks + 1, []
        if chunk:
            outlet.chunk(reading.chunks, chunk)
            reading.chunks += 1
        if reading.rejected:
            outlet.rejected(Path(spool.name))


def _notice(reading: Reading, row: int, column: str | None, reason: str) -> None:
    if len(reading.notices) < MAX_ERRORS_SHOWN:
        reading.notices.append(RowError(row=row, column=column, reason=reason))


def rejected_record(number: int, problems: list[Problem], titles: dict[str, str], cells: list[Any]) -> RowRecord:
    """A rejected row as kept for the report: its cells, and each problem named by the uploader's column."""
    errors = [RowError(row=number, column=titles.get(p.field, p.field) if p.field else None, reason=p.reason)
              for p in problems]
    return RowRecord(row=number, outcome="rejected", errors=errors, cells=cells)


def _settings(book: Book, found: Found, options: ImportOptions, remembered: RememberedMapping | None,
              defaults: Defaults, evidence: _Evidence) -> SettingsUsed:
    header = found.header
    if options.sheet:
        sheet = Setting(value=header.sheet, why="your setting")
    else:
        passed = f" ({'; '.join(found.looked_at)})" if found.looked_at else ""
        sheet = Setting(value=header.sheet, why=f"the first visible sheet with a header row{passed}")
    if options.header_row:
        row = Setting(value=header.row, why="your setting")
    else:
        two = f", read together with row {header.row - 1} above it (a two-row header)" if header.two_rows else ""
        row = Setting(value=header.row, why=f"the row with the most column titles{two}")
    origin = f"remembered from {remembered.filename}" if remembered else ""
    if options.default_country:
        country = Setting(value=options.default_country, why="your setting")
    elif remembered and remembered.default_country:
        country = Setting(value=remembered.default_country, why=origin)
    else:
        country = Setting(value=defaults.country, why="the organisation's default; a row's own country column "
                                                      "wins for its phone and postcode")
    return SettingsUsed(sheet=sheet, header_row=row, date_order=_date_order(options, remembered, defaults, evidence),
                        default_country=country, reader=book.reader)


def _date_order(options: ImportOptions, remembered: RememberedMapping | None, defaults: Defaults,
                evidence: _Evidence) -> Setting:
    if options.date_order:
        return Setting(value=options.date_order, why="your setting")
    if remembered and remembered.date_order:
        return Setting(value=remembered.date_order, why=f"remembered from {remembered.filename}")
    seen = evidence.seen
    default = defaults.date_order
    day, month, either = seen.get("day_first"), seen.get("month_first"), seen.get("either")
    if day and not month:
        return Setting(value="day_first", why=f"inferred from the dates: {day[1]} (row {day[0]}) can only be day "
                                              "first")
    if month and not day:
        return Setting(value="month_first", why=f"inferred from the dates: {month[1]} (row {month[0]}) can only be "
                                                "month first")
    if day and month:
        return Setting(value=default, ambiguous=True,
                       why=f"the dates mix both orders ({day[1]} on row {day[0]}, {month[1]} on row {month[0]}): "
                           f"read {ORDER_NAMES[default]}, the organisation's default; dates that do not fit are "
                           "rejected")
    if either:
        return Setting(value=default, ambiguous=True,
                       why=f"ambiguous: every date could be read either way (e.g. {either[1]} on row {either[0]}); "
                           f"read {ORDER_NAMES[default]}, the organisation's default — send date_order if that is "
                           "wrong")
    return Setting(value=default, why="the organisation's default (no date in the list is written as numbers)")


def header_record(reading: Reading) -> HeaderRecord:
    """What the report needs of the header: the titles as written, and each field's column title."""
    return HeaderRecord(titles=reading.header.titles, columns=reading.plan.titles())
