"""Spreadsheet imports: a workbook in the upload bucket becomes created, updated or unchanged customers — or
rejected rows with their reasons — without one bad row stopping the others.

How a file goes through (each step runs in the import function; see functions/sync/README.md):

1. **Upload.** ``POST /imports`` makes a job and a presigned upload to ``uploads/<job id>/<file>``; a file
   dropped anywhere else under ``uploads/`` gets a job of its own. S3 tells the import queue.
2. **Read** (``receive_upload``): the workbook is checked for hostile content, streamed row by row, each row
   checked alone (``import_rows``) and against the rows before it. Good rows are written to the bucket in
   chunks of ``chunk_rows``; refused rows to a rejected file. Nothing touches the customers yet, so a
   refused file leaves nothing behind. One queue message per chunk follows.
3. **Apply** (``work``): each chunk is matched against the table with BatchGetItem (customer number, else
   username, else email), then written: new customers in full batches (their uniqueness claims in a
   transaction with the profile), changed ones one by one with their version checked. A dry run decides
   and reports but writes nothing. Each chunk's counts are added to the job once, however often the chunk
   is delivered; the chunk that completes the set finishes the job and writes the report workbook.
4. **Commit** applies a dry run's chunks; **revert** walks the applied run's outcomes back.

Retries are safe: a new customer's id is derived from the job and its row, so a chunk tried again finds
what its earlier try created instead of creating it twice.
"""

from __future__ import annotations

import contextlib
import gzip
import heapq
import json
import re
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import unquote_plus

from crm_core.clock import utcnow
from crm_core.cursor import CursorCodec
from crm_core.dal.customers import CustomerRepository, NewCustomer
from crm_core.dal.imports import (
    KEEP_DAYS,
    ImportFiles,
    ImportJobRepository,
    ImportQueue,
    JobMoved,
    decode_cell,
    encode_cell,
    outcomes_key,
    rejected_key,
    report_key,
    rows_key,
    upload_key,
)
from crm_core.errors import Conflict, DomainError, NotFound, RetryLater
from crm_core.ids import derived_id, format_customer_number, new_id
from crm_core.import_rows import FileMatches, PreparedRow, Problem, prepare_row
from crm_core.models.customer import ID_PATTERN, Customer, FieldChange, HistoryEntry
from crm_core.models.imports import (
    FINISHED,
    MAX_ERRORS_SHOWN,
    Attempt,
    ImportCounts,
    ImportCreated,
    ImportJob,
    ImportPage,
    ImportRequest,
    RevertCounts,
    RowError,
)
from crm_core.services.customers import CustomerService, claims_of, customer_terms, dedupe_of, diffable
from crm_core.workbook import Limits, WorkbookRefused, read_customer_rows

HEADER = "imports/{job}/header.json"


@dataclass(frozen=True)
class ImportLimits:
    chunk_rows: int = 1000
    max_upload_bytes: int = 50 * 2**20
    upload_seconds: int = 900
    link_seconds: int = 900
    reader: Limits = field(default_factory=Limits)


@dataclass
class Decision:
    row: dict[str, Any]
    outcome: str
    customer: Customer | None = None
    changes: dict[str, Any] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)


def import_actor(job: ImportJob) -> str:
    return f"{job.created_by} (import {job.id})"


def revert_actor(job: ImportJob) -> str:
    return f"{job.created_by} (revert of import {job.id})"


class ImportService:
    def __init__(self, jobs: ImportJobRepository, files: ImportFiles, queue: ImportQueue | None,
                 customers: CustomerRepository, customer_service: CustomerService, cursors: CursorCodec,
                 limits: ImportLimits) -> None:
        self._jobs = jobs
        self._files = files
        self._queue = queue
        self._customers = customers
        self._service = customer_service
        self._cursors = cursors
        self._limits = limits

    # ---- the API -----------------------------------------------------------------------------------

    def start(self, request: ImportRequest, actor: str) -> ImportCreated:
        now = utcnow()
        job_id = new_id()
        job = ImportJob(id=job_id, filename=request.filename, status="awaiting_upload", dry_run=request.dry_run,
                        sheet=request.sheet, created_at=now, created_by=actor, updated_at=now,
                        source_key=upload_key(job_id, request.filename))
        self._jobs.create(job)
        upload = self._files.upload_form(job.source_key, self._limits.max_upload_bytes, self._limits.upload_seconds)
        return ImportCreated(job=job, upload=upload)

    def get(self, job_id: str) -> ImportJob:
        job = self._jobs.get(job_id)
        if job is None:
            raise NotFound(f"import {job_id} does not exist")
        if job.report_key:
            name = job.filename.removesuffix(".xlsx") + " - rejected rows.xlsx"
            job.report_url = self._files.link(job.report_key, self._limits.link_seconds, name)
            job.report_expires_at = utcnow().replace(microsecond=0) + timedelta(seconds=self._limits.link_seconds)
        return job

    def page(self, limit: int, cursor: str | None) -> ImportPage:
        before = self._cursors.decode(cursor, "imports") if cursor else None
        jobs, last = self._jobs.newest(limit, before)
        return ImportPage(items=jobs, next_cursor=self._cursors.encode("imports", last) if last else None)

    def commit(self, job_id: str, actor: str) -> ImportJob:
        """Apply a dry run's rows, as they were checked, without a new upload."""
        job = self.get(job_id)
        if not job.dry_run or job.status not in ("completed", "partial"):
            raise Conflict(f"import {job_id} is {'not a dry run' if not job.dry_run else job.status}: only a "
                           "finished dry run can be committed")
        return self._begin_run(job, {"dry_run": False, "committed_at": utcnow(), "committed_by": actor,
                                     "rows_done": job.rejected_reading,
                                     "counts": ImportCounts(rejected=job.rejected_reading)}, "queued",
                               remove=["finished_at", "report_key", "errors"])

    def revert(self, job_id: str, actor: str) -> ImportJob:
        """Undo an applied import: created customers removed, updated ones restored, unless changed since."""
        job = self.get(job_id)
        if job.dry_run or job.status not in ("completed", "partial"):
            raise Conflict(f"import {job_id} is {'a dry run' if job.dry_run else job.status}: only a finished "
                           "import that wrote customers can be reverted")
        return self._begin_run(job, {"applied_run": job.run, "revert_counts": RevertCounts(), "reverted_by": actor,
                                     "revert_rows_done": 0}, "reverting",
                               remove=["finished_at", "revert_errors"])

    def _begin_run(self, job: ImportJob, fields: dict[str, Any], status: str, remove: list[str]) -> ImportJob:
        if self._queue is None:
            raise DomainError("imports are not available here")
        if utcnow() - job.created_at > timedelta(days=KEEP_DAYS - 1):
            raise Conflict(f"import {job.id} is older than {KEEP_DAYS - 1} days: its files are gone; upload again")
        run = job.run + 1
        try:
            self._jobs.change(job.id, {**fields, "status": status, "run": run, "chunks_done": 0,
                                       "updated_at": utcnow()},
                              statuses=[job.status], run=job.run, remove=remove)
        except JobMoved:
            raise Conflict(f"import {job.id} changed meanwhile; look at it again") from None
        try:
            self._queue.send([{"job_id": job.id, "run": run, "start": True}])
        except Exception:
            # the run never started: put the job back as it was, so asking again works
            self._jobs.change(job.id, {"status": job.status, "run": job.run, "updated_at": utcnow()},
                              statuses=[fields.get("status", status), status], run=run)
            raise
        return self.get(job.id)

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
                                       "updated_at": utcnow()}, statuses=["awaiting_upload"])
        except JobMoved:
            current = self._jobs.get(job.id)  # a try that died while reading this same file is taken over
            if current is None or current.status != "running" or current.source_version != source:
                return current
            job = current
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "upload.xlsx"
            self._files.download(object_key, path, version)
            try:
                job = self._read(job, path)
            except WorkbookRefused as refused:
                self._jobs.change(job.id, {"status": "failed", "reason": refused.reason, "finished_at": utcnow(),
                                           "updated_at": utcnow()})
                return self._jobs.get(job.id)
        if job.chunks_total:
            self._send_chunks(job)
        else:
            self._finish(job)
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
        job = ImportJob(id=job_id, filename=parts[-1] or "upload.xlsx", status="awaiting_upload",
                        dry_run=metadata.get("dry-run", "").lower() == "true", sheet=metadata.get("sheet") or None,
                        created_at=event_time, created_by=metadata.get("uploaded-by") or "s3-upload",
                        updated_at=utcnow(), source_key=object_key)
        self._jobs.create(job)
        found = self._jobs.get(job_id)
        assert found is not None
        return found

    def _read(self, job: ImportJob, path: Path) -> ImportJob:
        sheet = read_customer_rows(path, job.sheet, self._limits.reader)
        titles = {name: sheet.header.titles[index] for index, name in sheet.header.columns.items()}
        self._files.put_lines(HEADER.format(job=job.id), [{"titles": sheet.header.titles, "columns": titles}])
        matches = FileMatches()
        chunk: list[dict[str, Any]] = []
        chunks = rows = 0
        errors: list[RowError] = []
        with tempfile.NamedTemporaryFile(suffix=".jsonl.gz") as spool:
            rejected = 0
            with gzip.open(spool.name, "wt", compresslevel=6) as refused:
                for number, values, raw in sheet.rows:
                    rows += 1
                    prepared = prepare_row(number, values)
                    problems = prepared if isinstance(prepared, list) else []
                    if isinstance(prepared, PreparedRow) and (clash := matches.clash(prepared)):
                        problems = [clash]
                    cells = [encode_cell(v) for v in raw]
                    if problems:
                        rejected += 1
                        record = _rejected(number, problems, titles, cells)
                        refused.write(json.dumps(record) + "\n")
                        if len(errors) < MAX_ERRORS_SHOWN:
                            errors += [RowError.model_validate(e) for e in record["errors"]][:MAX_ERRORS_SHOWN]
                        continue
                    assert isinstance(prepared, PreparedRow)
                    chunk.append({"row": number, "id": derived_id(job.created_at, f"{job.id}#{number}"),
                                  "fields": prepared.fields, "customer_number": prepared.customer_number,
                                  "username": prepared.username, "email": prepared.email, "dedupe": prepared.dedupe,
                                  "cells": cells})
                    if len(chunk) == self._limits.chunk_rows:
                        self._files.put_lines(rows_key(job.id, chunks), chunk)
                        chunks, chunk = chunks + 1, []
            if chunk:
                self._files.put_lines(rows_key(job.id, chunks), chunk)
                chunks += 1
            if rejected:
                self._files.put_file(rejected_key(job.id), Path(spool.name), "application/gzip")
        if rows == 0:
            raise WorkbookRefused(f"the sheet {sheet.sheet!r} has no data rows under its header row")
        fields: dict[str, Any] = {
            "sheet": sheet.sheet, "rows_total": rows, "rejected_reading": rejected, "rows_done": rejected,
            "chunks_total": chunks, "chunks_done": 0, "counts": ImportCounts(rejected=rejected),
            "errors": errors[:MAX_ERRORS_SHOWN], "unknown_columns": sheet.header.unknown, "updated_at": utcnow()}
        self._jobs.change(job.id, fields, statuses=["running"], run=1)
        found = self._jobs.get(job.id)
        assert found is not None
        return found

    def _send_chunks(self, job: ImportJob) -> None:
        if self._queue is None:
            raise DomainError("imports are not available here")
        done = self._jobs.chunk_markers(job.id, job.run)
        self._queue.send([{"job_id": job.id, "run": job.run, "chunk": n}
                          for n in range(job.chunks_total) if n not in done])

    # ---- step 3: the queue's work ----------------------------------------------------------------------

    def work(self, job_id: str, run: int, chunk: int | None) -> str:
        """One queued message: start a run (``chunk`` None) or apply / revert one chunk. Says what it did."""
        job = self._jobs.get(job_id)
        if job is None or job.run != run or job.status in FINISHED:
            return "stale"  # a redelivered message of a run that is over, or a job that is gone
        if chunk is None:
            if job.status == "queued":
                self._jobs.change(job_id, {"status": "running", "updated_at": utcnow()}, statuses=["queued"], run=run)
            if job.chunks_total:
                self._send_chunks(job)
            else:
                self._finish(job)
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
        rows = list(self._files.lines(rows_key(job.id, chunk)))
        titles = self._titles(job)
        kept = None if job.dry_run else self._jobs.numbers(job.id, job.run, chunk)
        decisions = self._decide(job, rows, retry=kept is not None)
        if not job.dry_run:
            self._write(job, chunk, decisions, kept)
        counts = {"created": 0, "updated": 0, "unchanged": 0, "rejected": 0}
        records = []
        for d in decisions:
            counts[d.outcome] += 1
            record: dict[str, Any] = {"row": d.row["row"], "outcome": d.outcome}
            if d.customer is not None:
                record.update(customer_id=d.customer.id, customer_number=d.customer.customer_number,
                              version=d.customer.version)
            if d.outcome == "rejected":
                record.update(_rejected(d.row["row"], d.problems, titles, d.row["cells"]))
            records.append(record)
        self._files.put_lines(written, records)
        return counts, len(rows)

    def _decide(self, job: ImportJob, rows: list[dict[str, Any]], retry: bool) -> list[Decision]:
        """Match the rows. A retry also looks for the customers its earlier try created (by their ids)."""
        actor = import_actor(job)
        found = self._customers.lookups({r["customer_number"] for r in rows if r["customer_number"]},
                                        {r["username"] for r in rows if r["username"]},
                                        {r["email"] for r in rows if r["email"]})
        profiles = self._customers.get_many(list(found.values()) + ([r["id"] for r in rows] if retry else []))
        decisions = []
        for row in rows:
            decision = self._decide_row(row, found, profiles, actor)
            decisions.append(decision)
        return decisions

    def _decide_row(self, row: dict[str, Any], found: dict[tuple[str, str], str], profiles: dict[str, Customer],
                    actor: str) -> Decision:
        if row["id"] in profiles:  # an earlier try of this chunk created it
            return Decision(row, "created", profiles[row["id"]])
        target: str | None = None
        if row["customer_number"]:
            target = found.get(("customer_number", row["customer_number"]))
            if target is None or target not in profiles:
                return _reject(row, "customer_number", "no customer has this number")
        for kind in ("username", "email"):
            if target is None and row[kind]:
                target = found.get((kind, row[kind]))
        if target is not None and target in profiles:
            return self._decide_update(row, profiles[target], found, profiles, actor)
        if not (row["customer_number"] or row["username"] or row["email"]) and row["dedupe"]:
            same = [i for i in self._customers.with_dedupe_key(row["dedupe"])]
            if same:
                existing = self._customers.get_many(same[:5])
                for candidate in existing.values():
                    if not _differences(candidate, row["fields"]):
                        return Decision(row, "unchanged", candidate)
                numbers = ", ".join(sorted(c.customer_number for c in existing.values()))
                return _reject(row, None, f"may already be customer {numbers} (same name and postcode): add the "
                                          "customer number to update it, or an email to add a new customer")
        return Decision(row, "created")

    def _decide_update(self, row: dict[str, Any], customer: Customer, found: dict[tuple[str, str], str],
                       profiles: dict[str, Customer], actor: str) -> Decision:
        fields = row["fields"]
        number = customer.customer_number
        if customer.status == "merged":
            merged = profiles.get(customer.merged_into or "")
            into = f" {merged.customer_number}" if merged else ""
            return _reject(row, None, f"customer {number} was merged into customer{into}: update that one instead")
        if fields["type"] != customer.type:
            kind = "an organisation" if customer.type == "organization" else "an individual"
            return _reject(row, "type", f"customer {number} is {kind}; the type cannot change")
        if row["username"]:
            owner = found.get(("username", row["username"]))
            if owner not in (None, customer.id):
                other = profiles.get(owner or "")
                return _reject(row, "username", f"is taken by customer {other.customer_number if other else owner}")
            if customer.username and customer.username != row["username"]:
                return _reject(row, "username", f"cannot be changed once saved (customer {number} has "
                                                f"{customer.username!r})")
        changes = _differences(customer, fields)
        if not changes:
            return Decision(row, "updated" if customer.updated_by == actor else "unchanged", customer)
        return Decision(row, "updated", customer, changes)

    def _write(self, job: ImportJob, chunk: int, decisions: list[Decision], kept: dict[int, str] | None) -> None:
        actor = import_actor(job)
        new = [d for d in decisions if d.outcome == "created" and d.customer is None]
        if new:
            numbers = dict(kept or {})
            missing = [d.row["row"] for d in new if d.row["row"] not in numbers]
            if missing:
                fresh = iter(self._customers.allocate_numbers(len(missing)))
                numbers.update({row: format_customer_number(next(fresh)) for row in missing})
                numbers = self._jobs.keep_numbers(job.id, job.run, chunk, numbers) if kept is None else numbers
            batch = []
            for d in new:
                d.customer = _new_customer(d.row, numbers[d.row["row"]], job, actor)
                entry = HistoryEntry(at=d.customer.created_at, by=actor, action="created", changes=[
                    FieldChange(field=f, new=v) for f, v in diffable(d.customer).items() if v not in (None, [], {})])
                batch.append(NewCustomer(d.customer, customer_terms(d.customer), entry, claims_of(d.customer),
                                         dedupe_of(d.customer)))
            failed = self._customers.create_many(batch)
            for d in new:
                assert d.customer is not None
                if d.customer.id in failed:
                    reason = failed[d.customer.id]
                    column, _, text = reason.partition(": ") if ": " in reason else ("", "", reason)
                    d.outcome, d.customer = "rejected", None
                    d.problems = [Problem(column or None, text)]
        for d in decisions:
            if d.outcome == "updated" and d.changes:
                assert d.customer is not None
                try:
                    d.customer = self._service.change(d.customer, d.changes, actor, refuse_duplicates=False,
                                                      action="imported")
                except RetryLater:
                    raise  # the database is busy: the chunk is tried again, not the row rejected
                except DomainError as refused:
                    d.outcome, d.customer = "rejected", None
                    d.problems = [Problem(f.get("field"), f.get("message", "")) for f in refused.fields] or \
                        [Problem(None, refused.message)]

    # ---- step 4: revert --------------------------------------------------------------------------------

    def _revert_chunk(self, job: ImportJob, chunk: int, written: str) -> tuple[dict[str, int], int]:
        applied = job.applied_run or 0
        counts = {"removed": 0, "restored": 0, "kept": 0}
        records = []
        applied_outcomes = self._jobs.chunk_markers(job.id, applied).get(chunk)
        outcomes = [o for o in (self._files.lines(applied_outcomes) if applied_outcomes else iter(()))
                    if o["outcome"] in ("created", "updated") and o.get("customer_id")]
        current = self._customers.get_many([o["customer_id"] for o in outcomes])
        for outcome in outcomes:
            result, reason = self._revert_one(outcome, current.get(outcome["customer_id"]), job)
            counts[result] += 1
            if reason:
                records.append({"row": outcome["row"], "outcome": "kept",
                                "errors": [{"row": outcome["row"], "column": None, "reason": reason}]})
        self._files.put_lines(written, records)
        return counts, len(outcomes)

    def _revert_one(self, outcome: dict[str, Any], customer: Customer | None, job: ImportJob) -> tuple[str, str | None]:
        number = outcome.get("customer_number")
        actor = revert_actor(job)
        if outcome["outcome"] == "created":
            if customer is None:
                return "removed", None  # removed already (by an earlier try, or by staff)
            if customer.version != outcome["version"]:
                return "kept", f"customer {number} was changed after the import; not removed"
            try:
                self._service.delete(customer.id, delete_history=True, actor=actor)
            except RetryLater:
                raise
            except DomainError as refused:
                return "kept", f"customer {number} not removed: {refused.message}"
            return "removed", None
        if customer is None:
            return "kept", f"customer {number} no longer exists"
        if customer.updated_by == actor:
            return "restored", None  # an earlier try restored it
        if customer.version != outcome["version"]:
            return "kept", f"customer {number} was changed after the import; not restored"
        old = self._values_before(customer, import_actor(job))
        if old is None:
            return "kept", f"customer {number}: the import's change is not in its history; not restored"
        try:
            self._service.change(customer, old, actor, refuse_duplicates=False, action="import reverted")
        except RetryLater:
            raise
        except DomainError as refused:
            detail = "; ".join(f"{f.get('field')} {f.get('message')}" for f in refused.fields) or refused.message
            return "kept", f"customer {number} not restored: {detail}"
        return "restored", None

    def _values_before(self, customer: Customer, importer: str) -> dict[str, Any] | None:
        """The values the import's change replaced, from the customer's history (nested fields put back)."""
        entry = None
        after = None
        for _ in range(10):  # up to 1,000 entries back: money and records add entries without a new version
            entries, after = self._customers.history(customer.id, limit=100, after=after)
            entry = next((e for e in entries if e.by == importer and e.action == "imported"), None)
            if entry is not None or after is None:
                break
        if entry is None:
            return None
        values: dict[str, Any] = {}
        for change in entry.changes:
            head, _, part = change.field.partition(".")
            if part:
                values.setdefault(head, {})[part] = change.old
            else:
                values[head] = change.old
        return values

    # ---- the end of a run ----------------------------------------------------------------------------------

    def _finish(self, job: ImportJob) -> None:
        """Gather the run's rejected rows (first errors, report workbook) and set the final status."""
        reverting = job.status == "reverting"
        sources: list[Iterator[dict[str, Any]]] = [
            (o for o in self._files.lines(key) if o["outcome"] in ("rejected", "kept"))
            for _, key in sorted(self._jobs.chunk_markers(job.id, job.run).items())]
        if not reverting and job.rejected_reading:
            sources.append(self._files.lines(rejected_key(job.id)))
        rejected = heapq.merge(*sources, key=lambda r: int(r["row"]))
        errors: list[RowError] = []
        report = None
        if reverting:
            errors = [RowError.model_validate(e) for r in rejected for e in r["errors"]][:MAX_ERRORS_SHOWN]
        else:
            report, errors = self._write_report(job, rejected)
        fields: dict[str, Any] = {"finished_at": utcnow(), "updated_at": utcnow()}
        if reverting:
            fields.update(status="reverted", reverted_at=utcnow(), revert_errors=errors)
        else:
            counts = job.counts
            went_in = counts.created + counts.updated + counts.unchanged
            fields["errors"] = errors
            fields["status"] = "completed" if not counts.rejected else ("partial" if went_in else "failed")
            if not went_in:
                fields["reason"] = "no row could be imported: see the errors and the report"
            if report:
                fields["report_key"] = report
        with contextlib.suppress(JobMoved):  # another delivery finished it first
            self._jobs.change(job.id, fields, statuses=["running", "reverting"], run=job.run)

    def _write_report(self, job: ImportJob, rejected: Iterator[dict[str, Any]]) -> tuple[str | None, list[RowError]]:
        from crm_core.export import XlsxExport

        header: dict[str, Any] = next(self._files.lines(HEADER.format(job=job.id)), {"titles": [], "columns": {}})
        titles: list[str] = header["titles"]
        position = {title: n for n, title in enumerate(titles)}
        errors: list[RowError] = []
        written = 0
        with tempfile.NamedTemporaryFile(suffix=".xlsx") as spool:
            with open(spool.name, "wb") as file:
                writer = XlsxExport(file, ["Row", *titles, "Import errors"], sheet="Rejected rows")
                for record in rejected:
                    row_errors = [RowError.model_validate(e) for e in record["errors"]]
                    if len(errors) < MAX_ERRORS_SHOWN:
                        errors += row_errors[:MAX_ERRORS_SHOWN - len(errors)]
                    cells = [decode_cell(c) for c in record.get("cells", [])]
                    cells += [None] * (len(titles) - len(cells))
                    marked = {position[e.column] + 1 for e in row_errors if e.column in position}
                    text = "; ".join(f"{e.column}: {e.reason}" if e.column else e.reason for e in row_errors)
                    writer.write([record["row"], *cells[:len(titles)], text], marked=marked)
                    written += 1
                writer.close()
            if not written:
                return None, errors
            self._files.put_file(report_key(job.id), Path(spool.name),
                                 "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
        return report_key(job.id), errors

    def _titles(self, job: ImportJob) -> dict[str, str]:
        header: dict[str, Any] = next(self._files.lines(HEADER.format(job=job.id)), {"columns": {}})
        return dict(header["columns"])


def _reject(row: dict[str, Any], column: str | None, reason: str) -> Decision:
    return Decision(row, "rejected", problems=[Problem(column, reason)])


def _rejected(number: int, problems: list[Problem], titles: dict[str, str], cells: list[Any]) -> dict[str, Any]:
    """A rejected row as kept for the report: its cells, and each problem named by the uploader's column."""
    errors = [{"row": number, "column": titles.get(p.field, p.field) if p.field else None, "reason": p.reason}
              for p in problems]
    return {"row": number, "outcome": "rejected", "errors": errors, "cells": cells}


def _differences(customer: Customer, fields: dict[str, Any]) -> dict[str, Any]:
    """The fields a row would change: only what the row gives (an empty cell leaves a field as it is)."""
    current = customer.model_dump(mode="json")
    changes: dict[str, Any] = {}
    for name, value in fields.items():
        if name == "type":
            continue
        if name == "address":
            have = current.get("address") or {}
            parts = {k: v for k, v in value.items() if have.get(k) != v}
            if parts:
                changes["address"] = parts
        elif current.get(name) != value:
            changes[name] = value
    return changes


def _new_customer(row: dict[str, Any], number: str, job: ImportJob, actor: str) -> Customer:
    now = utcnow()
    return Customer.model_validate({**row["fields"], "id": row["id"], "customer_number": number, "version": 1,
                                    "status": "active", "created_at": now, "updated_at": now, "created_by": actor,
                                    "updated_by": actor})


def _describe(failure: BaseException) -> str:
    if isinstance(failure, DomainError):
        return failure.message
    return f"{type(failure).__name__}: {failure}"[:500]
