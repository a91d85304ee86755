"""Spreadsheet imports: a workbook in the upload bucket becomes created, updated or unchanged customers — or
rejected rows with their reasons — without one bad row stopping the others.

How a file goes through (each step runs in the import function):

1. **Upload.** ``POST /imports`` makes a job and a presigned upload to ``uploads/<job id>/<file>``; a file
   dropped anywhere else under ``uploads/`` gets a job of its own. S3 tells the import queue.
2. **Read** (``receive_upload``, ``checking.py``): the workbook is checked for hostile content, its list found
   and mapped, every row made what staff meant and checked alone and against the rows before it. Good rows
   are written to the bucket in chunks of ``chunk_rows``; refused rows to a rejected file. Nothing touches
   the customers yet, so a refused file leaves nothing behind. One queue message per chunk follows.
3. **Apply** (``work``): each chunk is matched against the table (``matching.py``) and written
   (``applying.py``). A dry run decides and reports but writes nothing. Each chunk's counts are added to the
   job once, however often the chunk is delivered; the chunk that completes the set finishes the job and
   writes the report workbook (``report.py``).
4. **Again, with other options**: staff answer a dry run's mapping with their own (``dry_run`` to check
   again, ``commit`` to apply): the uploaded workbook is read again as a new run. **Commit** without new
   options applies the checked chunks; **revert** walks the applied run's outcomes back.

Retries are safe: a new customer's id is derived from the job and its row, so a chunk tried again finds
what its earlier try created instead of creating it twice.
"""

from __future__ import annotations

import contextlib
import heapq
import logging
import re
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import unquote_plus

from botocore.exceptions import ClientError

from crm_core.clock import utcnow
from crm_core.cursor import CursorCodec
from crm_core.dal.customers import CustomerRepository
from crm_core.errors import ConfigurationError, Conflict, DomainError, NotFound, RetryLater
from crm_core.ids import derived_id, new_id
from crm_core.imports.applying import Applier, import_actor
from crm_core.imports.checking import Defaults, Outlet, Reading, check_workbook, header_record, rejected_record
from crm_core.imports.files import KEEP_DAYS, ImportFiles, header_key, outcomes_key, rejected_key, rows_key, upload_key
from crm_core.imports.mapping import IGNORE
from crm_core.imports.matching import Matcher
from crm_core.imports.queue import ImportQueue, ImportWork
from crm_core.imports.reading import Limits, Refused
from crm_core.imports.report import write_report
from crm_core.imports.rows import ChunkRow, HeaderRecord, RowRecord
from crm_core.imports.store import ImportJobRepository, JobMoved, MappingRepository
from crm_core.imports.vocabulary import fold
from crm_core.models.customer import ID_PATTERN
from crm_core.models.imports import (
    FINISHED,
    MAX_ERRORS_SHOWN,
    Attempt,
    ImportCounts,
    ImportCreated,
    ImportJob,
    ImportOptions,
    ImportPage,
    ImportRequest,
    RememberedMapping,
    RevertCounts,
    RowError,
    job_fields,
)

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ImportLimits:
    chunk_rows: int = 1000
    max_upload_bytes: int = 50 * 2**20
    upload_seconds: int = 900
    link_seconds: int = 900
    reader: Limits = field(default_factory=Limits)
    defaults: Defaults = field(default_factory=Defaults)


class ImportService:
    def __init__(self, jobs: ImportJobRepository, mappings: MappingRepository, files: ImportFiles,
                 queue: ImportQueue | None, customers: CustomerRepository, applier: Applier, cursors: CursorCodec,
                 limits: ImportLimits) -> None:
        self._jobs = jobs
        self._mappings = mappings
        self._files = files
        self._queue = queue
        self._matcher = Matcher(customers)
        self._applier = applier
        self._cursors = cursors
        self._limits = limits

    # ---- the API -----------------------------------------------------------------------------------

    def start(self, request: ImportRequest, actor: str) -> ImportCreated:
        now = utcnow()
        job_id = new_id()
        options = ImportOptions.model_validate(request.model_dump(include=set(ImportOptions.model_fields),
                                                                  exclude_unset=True))
        job = ImportJob(id=job_id, filename=request.filename, status="awaiting_upload", dry_run=request.dry_run,
                        sheet=request.sheet, created_at=now, created_by=actor, updated_at=now,
                        source_key=upload_key(job_id, request.filename), options=options)
        self._jobs.create(job)
        upload = self._files.upload_form(job.source_key, self._limits.max_upload_bytes, self._limits.upload_seconds)
        return ImportCreated(job=job, upload=upload)

    def get(self, job_id: str, report_link: bool = True) -> ImportJob:
        """The job; with a link to its report workbook (the rejected rows: personal data in bulk) if
        ``report_link`` — for a caller whose role may see it (``crm_core.roles.REPORT_LINK``)."""
        job = self._jobs.get(job_id)
        if job is None:
            raise NotFound(f"import {job_id} does not exist")
        if job.report_key and report_link:
            name = job.filename.removesuffix(".xlsx") + " - rejected rows.xlsx"
            job.report_url = self._files.link(job.report_key, self._limits.link_seconds, name)
            job.report_expires_at = utcnow().replace(microsecond=0) + timedelta(seconds=self._limits.link_seconds)
        return job

    def page(self, limit: int, cursor: str | None) -> ImportPage:
        before = self._cursors.decode(cursor, "imports") if cursor else None
        jobs, last = self._jobs.newest(limit, before)
        return ImportPage(items=jobs, next_cursor=self._cursors.encode("imports", last) if last else None)

    def commit(self, job_id: str, actor: str, options: ImportOptions | None = None) -> ImportJob:
        """Apply a dry run: its rows as they were checked, or — with new options — the workbook read again."""
        job = self.get(job_id)
        changed = options is not None and bool(options.model_fields_set)
        if changed:
            self._may_read_again(job)
        elif not job.dry_run or job.status not in ("completed", "partial"):
            raise Conflict(f"import {job_id} is {'not a dry run' if not job.dry_run else job.status}: only a "
                           "finished dry run can be committed")
        fields: dict[str, Any] = {"dry_run": False, "committed_at": utcnow(), "committed_by": actor}
        if changed:
            assert options is not None
            fields["options"] = _merged(job.options, options)
            return self._begin_run(job, fields, "queued", remove=["finished_at", "report_key", "errors", "reason"],
                                   read=True)
        fields.update(rows_done=job.rejected_reading, counts=ImportCounts(rejected=job.rejected_reading))
        return self._begin_run(job, fields, "queued", remove=["finished_at", "report_key", "errors"])

    def dry_run(self, job_id: str, actor: str, options: ImportOptions) -> ImportJob:
        """Check the uploaded workbook again, as a dry run, with other options (a mapping, a date order…)."""
        job = self.get(job_id)
        self._may_read_again(job)
        fields: dict[str, Any] = {"dry_run": True, "options": _merged(job.options, options)}
        logger.info("import checked again", extra={"import_id": job_id, "by": actor})
        return self._begin_run(job, fields, "queued", remove=["finished_at", "report_key", "errors", "reason"],
                               read=True)

    def revert(self, job_id: str, actor: str) -> ImportJob:
        """Undo an applied import: created customers removed, updated ones restored, unless changed since."""
        job = self.get(job_id)
        if job.dry_run or job.status not in ("completed", "partial"):
            raise Conflict(f"import {job_id} is {'a dry run' if job.dry_run else job.status}: only a finished "
                           "import that wrote customers can be reverted")
        return self._begin_run(job, {"applied_run": job.run, "revert_counts": RevertCounts(), "reverted_by": actor,
                                     "revert_rows_done": 0}, "reverting",
                               remove=["finished_at", "revert_errors"])

    @staticmethod
    def _may_read_again(job: ImportJob) -> None:
        wrote = not job.dry_run and (job.counts.created or job.counts.updated)
        if job.status not in ("completed", "partial", "failed") or wrote or job.source_version is None:
            state = "wrote customers already" if wrote else job.status
            raise Conflict(f"import {job.id} {'is ' if not wrote else ''}{state}: only a finished import that wrote "
                           "nothing can be read again with other options")

    def _begin_run(self, job: ImportJob, fields: dict[str, Any], status: str, remove: list[str],
                   read: bool = False) -> ImportJob:
        if self._queue is None:
            raise ConfigurationError("IMPORT_QUEUE_URL is not set for this function")
        if utcnow() - job.created_at > timedelta(days=KEEP_DAYS - 1):
            raise Conflict(f"import {job.id} is older than {KEEP_DAYS - 1} days: its files are gone; upload again")
        run = job.run + 1
        changed = {**fields, "status": status, "run": run, "chunks_done": 0, "updated_at": utcnow()}
        try:
            self._jobs.change(job.id, changed, statuses=[job.status], run=job.run, remove=remove)
        except JobMoved:
            raise Conflict(f"import {job.id} changed meanwhile; look at it again") from None
        try:
            self._queue.send([ImportWork(job_id=job.id, run=run, start=True, read=read)])
        except Exception as failure:
            self._put_back(job, list(dict.fromkeys([*changed, *remove])), status, run)
            if isinstance(failure, RetryLater):
                raise RetryLater(f"import {job.id} was left as it was: {failure.message}",
                                 retry_after=failure.retry_after_seconds) from failure
            raise
        return self.get(job.id)

    def _put_back(self, job: ImportJob, names: list[str], status: str, run: int) -> None:
        """The run never started (its message was not sent): every field the start changed or removed is put
        back as it was, in one write, so the job reads as before and asking again works."""
        stored = job_fields(job)
        before = {name: stored[name] for name in names if name in stored}
        try:
            self._jobs.change(job.id, before, statuses=[status], run=run,
                              remove=[name for name in names if name not in stored])
        except Exception:
            logger.exception("an import left queued: its run could not be started nor the job put back",
                             extra={"import_id": job.id, "status": status, "run": run})
            raise

    # ---- step 2: an upload arrives -------------------------------------------------------------------

    def receive_upload(self, bucket: str, object_key: str, version: str | None, etag: str,
                       event_time: datetime) -> ImportJob | None:
        """Read an uploaded workbook into checked chunks and queue them. Delivered again, it does nothing new."""
        object_key = unquote_plus(object_key)
        if bucket != self._files.bucket or not object_key.startswith("uploads/"):
            return None
        job = self._job_for(object_key, version or etag, event_time)
        source = version or etag
        if job.status != "awaiting_upload" and (job.status != "running" or job.run != 1
                                               or job.source_version != source):
            return job  # already read, or another upload to the same form: a job reads one file
        if job.chunks_total and job.status == "running":
            self._send_chunks(job)  # read before, but the try died before every chunk was queued
            return job
        try:
            self._jobs.change(job.id, {"status": "running", "run": 1, "source_version": source,
                                       **({"source_version_id": version} if version else {}),
                                       "updated_at": utcnow()}, statuses=["awaiting_upload"])
        except JobMoved:
            current = self._jobs.get(job.id)  # a try that died while reading this same file is taken over
            if current is None or current.status != "running" or current.source_version != source:
                return current
            job = current
        job = self._read(job.model_copy(update={"status": "running", "run": 1, "source_version": source,
                                                "source_version_id": version}))
        if job.status == "running":
            self._continue(job)
        return self._jobs.get(job.id)

    def _job_for(self, object_key: str, version: str, event_time: datetime) -> ImportJob:
        parts = object_key.split("/")
        if len(parts) == 3 and re.match(ID_PATTERN, parts[1]):
            job = self._jobs.get(parts[1])
            if job is not None and job.source_key == object_key:
                return job
        # A workbook dropped into the bucket without asking the API first: its job id is derived from the
        # object, so every delivery of the same upload finds the same job.
        metadata = self._files.metadata(object_key)
        job_id = derived_id(event_time, f"{object_key}#{version}")
        sheet = metadata.get("sheet") or None
        job = ImportJob(id=job_id, filename=parts[-1] or "upload.xlsx", status="awaiting_upload",
                        dry_run=metadata.get("dry-run", "").lower() == "true", sheet=sheet,
                        created_at=event_time, created_by=metadata.get("uploaded-by") or "s3-upload",
                        updated_at=utcnow(), source_key=object_key, options=ImportOptions(sheet=sheet))
        self._jobs.create(job)
        found = self._jobs.get(job_id)
        assert found is not None
        return found

    def _read(self, job: ImportJob) -> ImportJob:
        """Read the job's workbook as this run: its chunks, or the job failed with the reason."""
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "upload.xlsx"
            self._files.download(job.source_key, path, job.source_version_id)
            try:
                reading = check_workbook(path, job.options, self._mappings.get_many, self._limits.defaults,
                                         self._limits.reader, self._limits.chunk_rows, self._outlet(job))
            except Refused as refused:
                return self._fail(job, refused.reason)
            except (RetryLater, ClientError):
                raise  # AWS is busy or failing: the message is tried again
            except Exception as failure:
                logger.exception("reading the workbook failed", extra={"import_id": job.id})
                return self._fail(job, f"the workbook could not be read ({type(failure).__name__}); save it again "
                                       "as an Excel Workbook (.xlsx) and upload it, or ask for help with this file")
        self._files.put_models(header_key(job.id, job.run), [header_record(reading)])
        if job.options.mapping:
            self._remember(job, reading)
        fields: dict[str, Any] = {
            "sheet": reading.header.sheet, "rows_total": reading.rows, "rejected_reading": reading.rejected,
            "rows_done": reading.rejected, "chunks_total": reading.chunks, "chunks_done": 0,
            "counts": ImportCounts(rejected=reading.rejected), "errors": reading.errors,
            "unknown_columns": reading.plan.unknown, "mapping": reading.plan.columns,
            "settings": reading.settings, "notices": reading.notices, "rows_skipped": reading.skipped,
            "read_run": job.run, "updated_at": utcnow()}
        self._jobs.change(job.id, fields, statuses=["running"], run=job.run)
        found = self._jobs.get(job.id)
        assert found is not None
        return found

    def _outlet(self, job: ImportJob) -> Outlet:
        def chunk(number: int, rows: list[ChunkRow]) -> None:
            self._files.put_models(rows_key(job.id, job.run, number), rows)

        def rejected(path: Path) -> None:
            self._files.put_file(rejected_key(job.id, job.run), path, "application/gzip")

        def row_id(number: int) -> str:
            return derived_id(job.created_at, f"{job.id}#{number}")

        return Outlet(chunk, rejected, row_id)

    def _remember(self, job: ImportJob, reading: Reading) -> None:
        """Keep staff's mapping for the next list with the same headers."""
        columns = {fold(c.title): c.field or IGNORE for c in reading.plan.columns if c.title}
        self._mappings.put(RememberedMapping(
            fingerprint=reading.fingerprint, titles=reading.header.titles, columns=columns,
            date_order=job.options.date_order, default_country=job.options.default_country, import_id=job.id,
            filename=job.filename, saved_at=utcnow(), saved_by=job.committed_by or job.created_by))

    def _fail(self, job: ImportJob, reason: str) -> ImportJob:
        self._jobs.change(job.id, {"status": "failed", "reason": reason, "finished_at": utcnow(),
                                   "updated_at": utcnow(), "rows_total": 0, "rows_done": 0, "chunks_total": 0,
                                   "counts": ImportCounts(), "read_run": job.run},
                          remove=["mapping", "settings", "notices", "errors", "unknown_columns"])
        logger.info("import refused", extra={"import_id": job.id, "reason": reason})
        found = self._jobs.get(job.id)
        assert found is not None
        return found

    def _continue(self, job: ImportJob) -> None:
        if job.chunks_total:
            self._send_chunks(job)
        else:
            self._finish(job)

    def _send_chunks(self, job: ImportJob) -> None:
        if self._queue is None:
            raise ConfigurationError("IMPORT_QUEUE_URL is not set for this function")
        done = self._jobs.chunk_markers(job.id, job.run)
        self._queue.send([ImportWork(job_id=job.id, run=job.run, chunk=n)
                          for n in range(job.chunks_total) if n not in done])

    # ---- step 3: the queue's work ----------------------------------------------------------------------

    def work(self, message: ImportWork) -> str:
        """One queued message: start a run (``chunk`` None) or apply / revert one chunk. Says what it did."""
        job_id, run, chunk = message.job_id, message.run, message.chunk
        job = self._jobs.get(job_id)
        if job is None or job.run != run or job.status in FINISHED:
            return "stale"  # a redelivered message of a run that is over, or a job that is gone
        if chunk is None:
            if job.status == "queued":
                self._jobs.change(job_id, {"status": "running", "updated_at": utcnow()}, statuses=["queued"], run=run)
                job = job.model_copy(update={"status": "running"})
            if message.read and job.read_run != run:
                job = self._read(job)
                if job.status != "running":
                    return "refused"
            self._continue(job)
            return "started"
        try:
            attempt = new_id()[-10:]
            written = outcomes_key(job_id, run, chunk, attempt)
            if job.status == "reverting":
                counts, rows = self._revert_chunk(job, chunk, written)
                counted = self._jobs.chunk_done(job_id, run, chunk, counts, rows, written,
                                                counts_field="revert_counts", rows_field="revert_rows_done")
            else:
                counts, rows = self._apply_chunk(job, chunk, written)
                counted = self._jobs.chunk_done(job_id, run, chunk, counts, rows, written)
        except JobMoved:
            return "stale"
        except Exception as failure:
            self._jobs.add_attempt(job_id, Attempt(at=utcnow(), stage=f"chunk {chunk + 1} of {job.chunks_total}",
                                                   error=_describe(failure)))
            raise  # the message is retried; the next try finds what this one wrote
        current = self._jobs.get(job_id)
        if (current is not None and current.run == run and current.status in ("running", "reverting")
                and current.chunks_done >= current.chunks_total):
            self._finish(current)  # also when a try died while finishing: its redelivery finishes
        return "applied" if counted else "already counted"

    def _apply_chunk(self, job: ImportJob, chunk: int, written: str) -> tuple[dict[str, int], int]:
        rows = list(self._files.models(rows_key(job.id, job.read_run, chunk), ChunkRow))
        titles = self._header(job).columns
        kept = None if job.dry_run else self._jobs.numbers(job.id, job.run, chunk)
        decisions = self._matcher.decide(rows, import_actor(job), retry=kept is not None)
        if not job.dry_run:
            self._applier.write(job, chunk, decisions, kept)
        counts = {"created": 0, "updated": 0, "unchanged": 0, "rejected": 0}
        records = []
        for d in decisions:
            counts[d.outcome] += 1
            if d.outcome == "rejected":
                records.append(rejected_record(d.row.row, d.problems, titles, d.row.cells))
                continue
            record = RowRecord(row=d.row.row, outcome=d.outcome)
            if d.customer is not None:
                record = RowRecord(row=d.row.row, outcome=d.outcome, customer_id=d.customer.id,
                                   customer_number=d.customer.customer_number, version=d.customer.version)
            records.append(record)
        self._files.put_models(written, records)
        return counts, len(rows)

    # ---- step 4: revert --------------------------------------------------------------------------------

    def _revert_chunk(self, job: ImportJob, chunk: int, written: str) -> tuple[dict[str, int], int]:
        applied = self._jobs.chunk_markers(job.id, job.applied_run or 0).get(chunk)
        records = list(self._files.models(applied, RowRecord)) if applied else []
        counts, kept = self._applier.revert(job, records)
        self._files.put_models(written, kept)
        return counts, sum(counts.values())

    # ---- the end of a run ----------------------------------------------------------------------------------

    def _finish(self, job: ImportJob) -> None:
        """Gather the run's rejected rows (first errors, report workbook) and set the final status."""
        reverting = job.status == "reverting"
        sources: list[Iterator[RowRecord]] = [
            (o for o in self._files.models(key, RowRecord) if o.outcome in ("rejected", "kept"))
            for _, key in sorted(self._jobs.chunk_markers(job.id, job.run).items())]
        if not reverting and job.rejected_reading:
            sources.append(self._files.models(rejected_key(job.id, job.read_run), RowRecord))
        rejected = heapq.merge(*sources, key=lambda r: r.row)
        errors: list[RowError] = []
        report = None
        if reverting:
            errors = [e for r in rejected for e in r.errors][:MAX_ERRORS_SHOWN]
        else:
            report, errors = write_report(self._files, job, self._header(job), rejected)
        fields: dict[str, Any] = {"finished_at": utcnow(), "updated_at": utcnow()}
        if reverting:
            fields.update(status="reverted", reverted_at=utcnow(), revert_errors=errors)
        else:
            counts = job.counts
            went_in = counts.created + counts.updated + counts.unchanged
            fields["errors"] = errors
            fields["status"] = "completed" if not counts.rejected else ("partial" if went_in else "failed")
            if counts.rejected and not went_in:
                fields["reason"] = "no row could be imported: see the errors and the report"
            if report:
                fields["report_key"] = report
        with contextlib.suppress(JobMoved):  # another delivery finished it first
            self._jobs.change(job.id, fields, statuses=["running", "reverting"], run=job.run)

    def _header(self, job: ImportJob) -> HeaderRecord:
        """The header of the reading the run's rows come from (for the report)."""
        return next(self._files.models(header_key(job.id, job.read_run), HeaderRecord), HeaderRecord())


def _merged(before: ImportOptions, after: ImportOptions) -> ImportOptions:
    """Options sent again replace those they name; the others stay as they were."""
    return before.model_copy(update=after.model_dump(exclude_unset=True))


def _describe(failure: BaseException) -> str:
    if isinstance(failure, DomainError):
        return failure.message
    return f"{type(failure).__name__}: {failure}"[:500]
