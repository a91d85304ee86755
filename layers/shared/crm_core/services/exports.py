"""Customer exports: small ones are written at once, large ones by the background export function.

A job is one item (``dal/exports.py``). Customers are read a page at a time (100 ids a BatchGet, or one
search page) and written straight to a temporary file, so memory stays flat; the file then goes to the
exports bucket and the job's owner gets a time-limited link. Running a job twice is harmless: a completed
job is left as it is, and a re-run writes the same object key.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import TypeVar

from crm_core.clock import utcnow
from crm_core.dal.customers import CustomerRepository
from crm_core.dal.dynamo import BATCH_GET_MAX, chunks
from crm_core.dal.exports import ExportFiles, ExportJobRepository
from crm_core.dal.queues import Queue
from crm_core.dal.staff import StaffPreferencesRepository
from crm_core.errors import ConfigurationError, NotFound
from crm_core.export import CONTACT_COLUMNS, CONTENT_TYPES, check_columns, known_columns, write_export
from crm_core.ids import new_id
from crm_core.models.customer import Customer, CustomerPage, SearchParams
from crm_core.models.export import ExportJob, ExportRequest, ExportSearch
from crm_core.models.messages import ExportRequested

Search = Callable[[SearchParams], CustomerPage]
A = TypeVar("A")


@dataclass(frozen=True)
class ExportLimits:
    sync_max: int  # at most this many customers are written during the request; more go to the background
    link_seconds: int  # how long a download link works
    page_size: int  # customers read per search page


@dataclass
class Counted:
    written: int = 0
    missing: int = 0


class ExportService:
    def __init__(self, jobs: ExportJobRepository, customers: CustomerRepository, search: Search,
                 preferences: StaffPreferencesRepository, files: ExportFiles | None, queue: Queue | None,
                 limits: ExportLimits) -> None:
        self._jobs = jobs
        self._customers = customers
        self._search = search
        self._preferences = preferences
        self._files = files
        self._queue = queue
        self._limits = limits

    # ---- the API -----------------------------------------------------------------------------------

    def start(self, request: ExportRequest, actor: str) -> ExportJob:
        """Write a small export now (the job answers ``completed`` with its link) or queue a large one."""
        columns = self._columns(request, actor)
        now = utcnow()
        job = ExportJob(id=new_id(), status="queued", format=request.format, columns=columns, ids=request.ids,
                        search=request.search, requested_by=actor, created_at=now, updated_at=now)
        if request.ids is not None:
            now_or_later = "now" if len(request.ids) <= self._limits.sync_max else "later"
            found = None  # the ids are read while writing
        else:
            assert request.search is not None
            found = self._first_results(request.search, self._limits.sync_max)
            now_or_later = "later" if found is None else "now"
        if now_or_later == "now":
            job = self._write(job, found)
            self._jobs.create(job)
            return self._with_link(job)
        queue = self._need(self._queue, "EXPORT_QUEUE_URL")
        self._jobs.create(job)
        queue.send([ExportRequested(job_id=job.id)])
        return job

    def get(self, job_id: str, actor: str, admin: bool) -> ExportJob:
        """The job with its download link once completed; only its requester (or an admin) may see it."""
        job = self._jobs.get(job_id)
        if job is None or (job.requested_by != actor and not admin):
            raise NotFound(f"export {job_id} does not exist")
        return self._with_link(job)

    # ---- the background function -------------------------------------------------------------------

    def run(self, job_id: str) -> ExportJob | None:
        """Write a queued export. ``None`` when there is no such job (nothing to do); a completed job is
        returned untouched (a redelivered message). A failure is recorded on the job and raised again, so
        the message is retried (and, after the queue's attempts, kept in its dead-letter queue)."""
        job = self._jobs.get(job_id)
        if job is None or job.status == "completed":
            return job
        self._jobs.set_status(job.id, "running", error=None)
        try:
            done = self._write(job.model_copy(update={"status": "running"}), None)
        except Exception:
            self._jobs.set_status(job.id, "failed", error="the export could not be written; it is retried")
            raise
        self._jobs.set_status(job.id, "completed", rows=done.rows, missing=done.missing, key=done.key, error=None)
        return done

    # ---- writing -----------------------------------------------------------------------------------

    def _write(self, job: ExportJob, prefetched: list[Customer] | None) -> ExportJob:
        files = self._need(self._files, "EXPORTS_BUCKET")
        counted = Counted()
        source = iter(prefetched) if prefetched is not None else self._customers_of(job, counted)
        object_key = f"exports/{job.id}.{job.format}"
        with tempfile.TemporaryFile() as file:
            counted.written = write_export(file, job.format, job.columns, source)
            file.seek(0)
            filename = f"customers-{job.created_at:%Y-%m-%d}-{job.id}.{job.format}"
            files.upload(object_key, file, CONTENT_TYPES[job.format], filename)
        return job.model_copy(update={"status": "completed", "rows": counted.written, "missing": counted.missing,
                                      "key": object_key, "updated_at": utcnow()})

    def _customers_of(self, job: ExportJob, counted: Counted) -> Iterator[Customer]:
        if job.ids is not None:
            for chunk in chunks(list(dict.fromkeys(job.ids)), BATCH_GET_MAX):
                found = self._customers.get_many(chunk)
                counted.missing += len(chunk) - len(found)
                yield from (found[i] for i in chunk if i in found)
        elif job.search is not None:
            yield from self._search_all(job.search, self._limits.page_size)

    def _search_all(self, search: ExportSearch, page_size: int) -> Iterator[Customer]:
        cursor: str | None = None
        while True:
            page = self._search(SearchParams(**search.model_dump(), limit=page_size, cursor=cursor))
            yield from page.items
            if not page.next_cursor:
                return
            cursor = page.next_cursor

    def _first_results(self, search: ExportSearch, at_most: int) -> list[Customer] | None:
        """The search's customers when there are at most ``at_most``; ``None`` when there are more."""
        found: list[Customer] = []
        for customer in self._search_all(search, min(self._limits.page_size, at_most + 1)):
            found.append(customer)
            if len(found) > at_most:
                return None
        return found

    def _columns(self, request: ExportRequest, actor: str) -> list[str]:
        if request.columns is not None:
            return check_columns(request.columns)
        saved = self._preferences.get(actor)
        chosen = known_columns(saved.columns) if saved.updated_at is not None else []
        return chosen or list(CONTACT_COLUMNS)

    def _with_link(self, job: ExportJob) -> ExportJob:
        if job.status != "completed" or not job.key:
            return job
        files = self._need(self._files, "EXPORTS_BUCKET")
        seconds = self._limits.link_seconds
        return job.model_copy(update={"download_url": files.link(job.key, seconds),
                                      "download_expires_at": utcnow() + timedelta(seconds=seconds)})

    @staticmethod
    def _need(adapter: A | None, variable: str) -> A:
        if adapter is None:
            raise ConfigurationError(f"exports need {variable} in this function's environment")
        return adapter
