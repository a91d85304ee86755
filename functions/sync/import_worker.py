"""Spreadsheet imports: the import queue → this function → the import service.

The queue's messages (``crm_core.imports.queue.ImportMessage``, parsed by Powertools' batch processor):

- ``UploadNotices``, S3's notice that a workbook arrived under ``uploads/``. Each upload is read once:
  Powertools idempotency, keyed on bucket, key and version (or ETag), turns a second delivery — one after the
  other or at the same time — into the first one's result, and the read itself is safe to repeat.
- ``ImportWork``, the service's own work: ``{"job_id", "run", "chunk"}`` applies (or reverts) one chunk of
  rows, and ``{"job_id", "run", "start": true}`` starts a commit, a revert, or (``"read": true``) a new
  reading of the uploaded workbook with other options.
- ``S3TestEvent``, sent by S3 when the notification is set up: nothing to do.

Messages are processed one by one; one that does not parse as any of them, or whose work fails, is reported
back (``batchItemFailures``), retried by SQS, and after the queue's attempts waits in the dead-letter queue.

Each message's work runs under its correlation id (the one it carries, else S3's request id for an upload).
Metrics: ``ImportRowsApplied`` and ``ImportRowsPerSecond`` per chunk; when a job ends, ``ImportsCompleted``,
``ImportsPartial`` or ``ImportsFailed`` (once per import: the import alarm watches it) and its rows by outcome
(``ImportRowsCreated``…); ``ImportTriesFailed`` for each try at a message's work that failed and is retried.
"""

from __future__ import annotations

import time
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig, idempotent_function
from aws_lambda_powertools.utilities.typing import LambdaContext

from crm_core import correlation
from crm_core.config import get_settings
from crm_core.imports.queue import ImportMessage, ImportWork, UploadNotice, UploadNotices
from crm_core.models.imports import ImportJob
from crm_core.models.messages import SqsRecord
from crm_core.wiring import import_service, upload_idempotency

logger = Logger()
tracer = Tracer()
metrics = Metrics()
processor = BatchProcessor(event_type=EventType.SQS, model=SqsRecord[ImportMessage],
                           raise_on_entire_batch_failure=False)
idempotency = IdempotencyConfig(
    event_key_jmespath='[s3.bucket.name, s3.object.key, s3.object.versionId || s3.object.eTag]',
    raise_on_no_idempotency_key=True,
    expires_after_seconds=7 * 24 * 3600,  # S3 redelivers within hours; a week is plenty
)


def _receive_once(upload: UploadNotice) -> dict[str, Any]:
    """The upload reader behind Powertools idempotency (its records live in the customers table)."""
    once = idempotent_function(data_keyword_argument="upload", persistence_store=upload_idempotency(),
                               config=idempotency)(receive_upload)
    result: dict[str, Any] = once(upload=upload)
    return result


def receive_upload(upload: UploadNotice) -> dict[str, Any]:
    s3 = upload.s3
    job = import_service().receive_upload(s3.bucket.name, s3.object.key, s3.object.versionId, s3.object.eTag or "",
                                          upload.eventTime)
    if job is None:
        return {"job_id": None}
    logger.info("upload read", extra={"import_id": job.id, "status": job.status, "rows": job.rows_total})
    if job.status == "failed":
        count_outcome(job)
    return {"job_id": job.id, "status": job.status}


def count(name: str, value: float, unit: MetricUnit = MetricUnit.Count) -> None:
    metrics.add_metric(name=name, unit=unit, value=value)


def count_outcome(job: ImportJob) -> None:
    """A finished import: its status, and its rows by outcome."""
    count({"completed": "ImportsCompleted", "partial": "ImportsPartial"}.get(job.status, "ImportsFailed"), 1)
    rows = job.counts
    for metric, value in (("ImportRowsCreated", rows.created), ("ImportRowsUpdated", rows.updated),
                          ("ImportRowsUnchanged", rows.unchanged), ("ImportRowsRejected", rows.rejected)):
        count(metric, value)


def apply(work: ImportWork) -> None:
    started = time.perf_counter()
    try:
        done = import_service().work(work)
    except Exception:
        count("ImportTriesFailed", 1)  # the message is retried; the import's outcome is counted when it ends
        raise
    logger.info("import work", extra={"run": work.run, "chunk": work.chunk, "result": done})
    if done == "refused":  # a run whose reading failed ends here, with no chunk to count it
        job = import_service().get(work.job_id)
        if job.status == "failed":
            count_outcome(job)
    if done != "applied" or work.chunk is None:
        return
    job = import_service().get(work.job_id)
    size = get_settings().import_chunk_rows  # the chunks were cut by this function, at this size
    rows = max(0, min(size, job.rows_total - job.rejected_reading - work.chunk * size))
    count("ImportRowsApplied", rows)
    count("ImportRowsPerSecond", round(rows / max(time.perf_counter() - started, 1e-3), 1), MetricUnit.CountPerSecond)
    if job.status in ("completed", "partial", "failed") and job.chunks_done >= job.chunks_total:
        count_outcome(job)


@tracer.capture_method
def import_one(record: SqsRecord[ImportMessage]) -> None:
    message = record.body
    if isinstance(message, UploadNotices):
        for upload in message.Records:
            if upload.is_upload:
                correlation.use(upload.request_id or record.messageId, logger)
                _receive_once(upload)
    elif isinstance(message, ImportWork):
        correlation.use(message.correlation_id or record.messageId, logger)
        logger.append_keys(import_id=message.job_id)
        apply(message)
    # else S3's test event: S3 checked it may write to the queue when the notification was set up


@logger.inject_lambda_context
@metrics.log_metrics(capture_cold_start_metric=True)
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    idempotency.register_lambda_context(context)
    return process_partial_response(event=event, record_handler=import_one, processor=processor, context=context)
