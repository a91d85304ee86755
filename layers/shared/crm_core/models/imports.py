"""Spreadsheet imports: what staff ask for, the job record, and each row's outcome."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, StringConstraints

from crm_core.models.customer import Country, Flag, Model, Strict

ImportStatus = Literal["awaiting_upload", "queued", "running", "completed", "partial", "failed", "reverting",
                       "reverted"]
RowOutcome = Literal["created", "updated", "unchanged", "rejected"]
RevertOutcome = Literal["removed", "restored", "kept"]
FINISHED: frozenset[str] = frozenset({"completed", "partial", "failed", "reverted"})
MAX_ERRORS_SHOWN = 20


def _workbook_name(value: str) -> str:
    if any(ch in value for ch in "/\\") or any(ord(ch) < 32 for ch in value):
        raise ValueError("must be a file name, without folders or control characters")
    if not value.lower().endswith(".xlsx"):
        raise ValueError("must be an Excel workbook (.xlsx); save an .xls or CSV file as .xlsx first")
    return value


WorkbookName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=6, max_length=200),
                         AfterValidator(_workbook_name)]


ImportField = Literal[
    "customer_number", "type", "first_name", "last_name", "full_name", "organization_name", "username", "email",
    "phone", "date_of_birth", "address.line1", "address.line2", "address.city", "address.county",
    "address.postcode", "address.country",
]
DateOrder = Literal["day_first", "month_first"]
ColumnName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


class ImportOptions(Strict):
    """How to read the workbook; whatever is left out is found in the file (or taken from the organisation)."""

    sheet: Annotated[str, StringConstraints(min_length=1, max_length=31)] | None = Field(
        default=None, description="the sheet to read; by default the first visible sheet that has a header row")
    header_row: int | None = Field(default=None, ge=1, le=10_000,
                                   description="the row of column titles; by default it is found")
    date_order: DateOrder | None = Field(
        default=None, description="how numeric dates are written (31/12/1980 is day_first, 12/31/1980 month_first); "
                                  "by default inferred from the column, else the organisation's default")
    default_country: Country | None = Field(
        default=None, description="ISO 3166 code of the country of phones, postcodes and addresses that do not "
                                  "name theirs; by default the organisation's")
    mapping: Annotated[dict[ColumnName, ImportField | Literal["ignore"]], Field(max_length=500)] | None = Field(
        default=None, description="your own mapping: each column (its title as written, or its letter) → a customer "
                                  "field, or \"ignore\"; columns left out are mapped as usual. Remembered for the "
                                  "next list with the same headers")


class ImportRequest(ImportOptions):
    filename: WorkbookName = Field(description="the workbook's file name, e.g. customers.xlsx")
    dry_run: Flag = Field(default=False, description="check every row and report, without writing anything")


class ImportRerun(ImportOptions):
    """A new reading of the uploaded workbook (a dry run, or a commit) with other options."""


class ColumnMapping(Model):
    column: str = Field(description="the column's letter")
    title: str = Field(description="its title as written in the header row (two-row headers: both, upper first)")
    field: ImportField | None = Field(default=None, description="the customer field it fills; null: ignored")
    why: str = Field(description="why: the title's meaning (and where that wording comes from), your mapping, or a "
                                 "remembered one")
    samples: list[str] = Field(default_factory=list, description="the first few values in it")


class Setting(Model):
    value: str | int | None = None
    why: str
    ambiguous: bool = Field(default=False, description="the file could not decide it: check the value and send "
                                                       "your own if it is wrong")


class SettingsUsed(Model):
    sheet: Setting
    header_row: Setting
    date_order: Setting
    default_country: Setting
    reader: str = Field(default="openpyxl", description="which reader read the workbook: openpyxl (streaming) or "
                                                        "calamine (for workbooks openpyxl cannot open)")


class RememberedMapping(Model):
    """A mapping staff made, kept for the next list with the same headers."""

    fingerprint: str
    titles: list[str]
    columns: dict[str, str] = Field(description="folded column title → field or ignore")
    date_order: DateOrder | None = None
    default_country: str | None = None
    import_id: str
    filename: str
    saved_at: datetime
    saved_by: str


class RowError(Model):
    row: int = Field(description="the row number in the uploaded sheet")
    column: str | None = Field(default=None, description="the column's title as written in the sheet")
    reason: str


class ImportCounts(Model):
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0


class RevertCounts(Model):
    removed: int = 0
    restored: int = 0
    kept: int = Field(default=0, description="customers changed since the import, or with transactions: left as "
                                             "they are and listed in errors")


class Attempt(Model):
    at: datetime
    stage: str
    error: str | None = None


class Upload(Model):
    """A presigned POST: send the fields and the file (as ``file``, last) as multipart/form-data to ``url``."""

    url: str
    fields: dict[str, str]
    expires_at: datetime
    max_bytes: int


class ImportJob(Model):
    id: str
    filename: str
    status: ImportStatus
    dry_run: bool = False
    sheet: str | None = Field(default=None, description="the sheet asked for, or the one read")
    created_at: datetime
    created_by: str
    updated_at: datetime
    source_key: str = Field(description="the workbook's key in the upload bucket")
    source_version: str | None = Field(default=None, description="the version of that object being read")
    source_version_id: str | None = Field(default=None, description="its S3 version id (a versioned bucket)")
    reason: str | None = Field(default=None, description="why a failed import read nothing")
    run: int = Field(default=0, description="how many times the rows have been gone through (dry run, commit, "
                                            "revert)")
    rows_total: int = Field(default=0, description="data rows in the sheet (blank rows not counted)")
    rows_done: int = 0
    rejected_reading: int = Field(default=0, description="rows refused on their own, before matching")
    chunks_total: int = 0
    chunks_done: int = 0
    counts: ImportCounts = Field(default_factory=ImportCounts)
    revert_counts: RevertCounts | None = None
    revert_rows_done: int = Field(default=0, description="rows a revert has gone through")
    revert_errors: list[RowError] = Field(default_factory=list, description="customers a revert left as they are, "
                                                                            "and why")
    errors: list[RowError] = Field(default_factory=list, description=f"the first {MAX_ERRORS_SHOWN} problems, "
                                                                     "by row")
    unknown_columns: list[str] = Field(default_factory=list, description="columns no customer field answers to "
                                                                         "(ignored)")
    options: ImportOptions = Field(default_factory=lambda: ImportOptions(),
                                   description="what staff asked for (sheet, header row, date order, country, mapping)")
    mapping: list[ColumnMapping] = Field(default_factory=list, description="each column: the field it fills and why")
    settings: SettingsUsed | None = Field(default=None, description="the settings the reading used, and why")
    notices: list[RowError] = Field(default_factory=list, description=f"the first {MAX_ERRORS_SHOWN} things "
                                    "changed or left out that did not reject a row (an Excel error cell, a totals row, "
                                    "a second email…)")
    rows_skipped: int = Field(default=0, description="rows left out on purpose (a totals row, rows hidden by a "
                                                     "filter); not in rows_total")
    read_run: int = Field(default=1, description="the run whose reading of the workbook the rows come from")
    committed_at: datetime | None = None
    committed_by: str | None = None
    applied_run: int | None = Field(default=None, description="the run whose writes a revert undoes")
    reverted_at: datetime | None = None
    reverted_by: str | None = None
    attempts: list[Attempt] = Field(default_factory=list, description="each try that failed part-way, and why")
    report_key: str | None = None
    report_url: str | None = Field(default=None, description="the rejected rows as a workbook (a link that "
                                                             "expires)")
    report_expires_at: datetime | None = None
    finished_at: datetime | None = None


class ImportCreated(Model):
    job: ImportJob
    upload: Upload


class ImportPage(Model):
    items: list[ImportJob]
    next_cursor: str | None = None


def job_fields(job: ImportJob) -> dict[str, Any]:
    """The job as stored (the download link is made when it is read)."""
    return job.model_dump(mode="json", exclude={"report_url", "report_expires_at"}, exclude_none=True)
