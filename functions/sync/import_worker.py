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
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig, idempotent_function
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import ValidationError

from crm_core.imports.queue import ImportWork
from crm_core.wiring import import_service, upload_idempotency

logger = Logger()
tracer = Tracer()
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
    return {"job_id": job.id, "status": job.status}


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
                _receive_once(upload)
        return
    if body.get("Event") == "s3:TestEvent":
        return  # S3 checks it may write to the queue when the notification is set up
    try:
        work = ImportWork.model_validate(body)
    except ValidationError:
        raise BadMessage("the message names no job_id and run") from None
    logger.append_keys(import_id=work.job_id)
    done = import_service().work(work)
    logger.info("import work", extra={"run": work.run, "chunk": work.chunk, "result": done})


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    idempotency.register_lambda_context(context)
    return process_partial_response(event=event, record_handler=import_one, processor=processor, context=context)
