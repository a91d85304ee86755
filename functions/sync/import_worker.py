"""Spreadsheet imports: the import queue → this function → the import service.

The queue carries two kinds of message:

- S3's notice that a workbook arrived under ``uploads/`` (``{"Records": [{"s3": …}]}``). Each upload is read
  once: Powertools idempotency, keyed on bucket, key and version (or ETag), turns a second delivery — one
  after the other or at the same time — into the first one's result, and the read itself is safe to repeat.
- The service's own work (``ImportWork``): ``{"job_id", "run", "chunk"}`` applies (or reverts) one chunk of
  rows, and ``{"job_id", "run", "start": true}`` starts a commit, a revert, or (``"read": true``) a new
  reading of the uploaded workbook with other options.

Messages are processed one by one with Powertools' batch utility; one that fails is reported back
(``batchItemFailures``), retried by SQS, and after the queue's attempts waits in the dead-letter queue.

Each message's work runs under its correlation id (the one it carries, else S3's request id for an upload).
Metrics: ``ImportRowsApplied`` and ``ImportRowsPerSecond`` per chunk; when a job ends, ``ImportsCompleted``,
``ImportsPartial`` or ``ImportsFailed`` and its rows by outcome (``ImportRowsCreated``…); ``ImportsFailed``
also counts each try that failed (the import alarm watches it).
"""

from __future__ import annotations

import json
import time
from datetime import datetime
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig, idempotent_function
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import ValidationError

from crm_core import correlation
from crm_core.config import get_settings
from crm_core.imports.queue import ImportWork
from crm_core.models.imports import ImportJob
from crm_core.wiring import import_service, upload_idempotency

logger = Logger()
tracer = Tracer()
metrics = Metrics()
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
idempotency = IdempotencyConfig(
    event_key_jmespath='[s3.bucket.name, s3.object.key, s3.object.versionId || s3.object.eTag]',
    raise_on_no_idempotency_key=True,
    expires_after_seconds=7 * 24 * 3600,  # S3 redelivers within hours; a week is plenty
)


class BadMessage(ValueError):
    pass


def _receive_once(upload: dict[str, Any]) -> dict[str, Any]:
    """The upload reader behind Powertools idempotency (its records live in the customers table)."""
    once = idempotent_function(data_keyword_argument="upload", persistence_store=upload_idempotency(),
                               config=idempotency)(receive_upload)
    result: dict[str, Any] = once(upload=upload)
    return result


def receive_upload(upload: dict[str, Any]) -> dict[str, Any]:
    s3 = upload["s3"]
    job = import_service().receive_upload(
        s3["bucket"]["name"], s3["object"]["key"], s3["object"].get("versionId"), s3["object"].get("eTag", ""),
        datetime.fromisoformat(upload["eventTime"].replace("Z", "+00:00")))
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
    for outcome, rows in job.counts.model_dump().items():
        count(f"ImportRows{outcome.title()}", rows)


def apply(work: ImportWork) -> None:
    started = time.perf_counter()
    try:
        done = import_service().work(work)
    except Exception:
        count("ImportsFailed", 1)  # a try that failed: the message is retried
        raise
    logger.info("import work", extra={"run": work.run, "chunk": work.chunk, "result": done})
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
def import_one(record: SQSRecord) -> None:
    try:
        body = json.loads(record.body)
    except (TypeError, ValueError):
        raise BadMessage("the message body is not JSON") from None
    if not isinstance(body, dict):
        raise BadMessage("the message body is not a JSON object")
    if "Records" in body:
        for upload in body["Records"]:
            if upload.get("eventSource") == "aws:s3" and str(upload.get("eventName", "")).startswith("ObjectCreated"):
                correlation.use((upload.get("responseElements") or {}).get("x-amz-request-id") or record.message_id,
                                logger)
                _receive_once(upload)
        return
    if body.get("Event") == "s3:TestEvent":
        return  # S3 checks it may write to the queue when the notification is set up
    try:
        work = ImportWork.model_validate(body)
    except ValidationError:
        raise BadMessage("the message names no job_id and run") from None
    correlation.use(work.correlation_id or record.message_id, logger)
    logger.append_keys(import_id=work.job_id)
    apply(work)


@logger.inject_lambda_context
@metrics.log_metrics(capture_cold_start_metric=True)
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    idempotency.register_lambda_context(context)
    return process_partial_response(event=event, record_handler=import_one, processor=processor, context=context)
