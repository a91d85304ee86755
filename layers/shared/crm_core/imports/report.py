"""The report of a run: the first errors for the job, and the rejected rows as a workbook in the uploader's own
columns — the faulty cells marked and an *Import errors* column added — so staff can fix the file and upload
it again."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

from crm_core.imports.files import ImportFiles, report_key
from crm_core.imports.rows import HeaderRecord, RowRecord, decode_cell
from crm_core.models.imports import MAX_ERRORS_SHOWN, ImportJob, RowError

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def write_report(files: ImportFiles, job: ImportJob, header: HeaderRecord,
                 rejected: Iterator[RowRecord]) -> tuple[str | None, list[RowError]]:
    """The report workbook's key (None when no row was rejected) and the first errors."""
    from crm_core.export import XlsxExport

    titles = header.titles
    position = {title: n for n, title in enumerate(titles)}
    errors: list[RowError] = []
    written = 0
    with tempfile.NamedTemporaryFile(suffix=".xlsx") as spool:
        with open(spool.name, "wb") as file:
            writer = XlsxExport(file, ["Row", *titles, "Import errors"], sheet="Rejected rows")
            for record in rejected:
                if len(errors) < MAX_ERRORS_SHOWN:
                    errors += record.errors[:MAX_ERRORS_SHOWN - len(errors)]
                cells = [decode_cell(c) for c in record.cells]
                cells += [None] * (len(titles) - len(cells))
                marked = {position[e.column] + 1 for e in record.errors if e.column in position}
                text = "; ".join(f"{e.column}: {e.reason}" if e.column else e.reason for e in record.errors)
                writer.write([record.row, *cells[:len(titles)], text], marked=marked)
                written += 1
            writer.close()
        if not written:
            return None, errors
        files.put_file(report_key(job.id), Path(spool.name), XLSX)
    return report_key(job.id), errors
