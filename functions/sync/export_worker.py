"""Background exports: SQS (the export queue) → this function → the export service.

Each message names one export job (``{"job_id": …}``). Messages are processed one by one with
Powertools' batch utility; a message that fails is reported back (``batchItemFailures``) so only it is
retried, and after the queue's attempts it waits in the dead-letter queue. A job that is already completed
(a redelivered message) or no longer exists is done: nothing happens.
"""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from crm_core.wiring import export_service

logger = Logger()
tracer = Tracer()
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


class BadMessage(ValueError):
    pass


def job_id_of(record: SQSRecord) -> str:
    try:
        body = json.loads(record.body)
    except (TypeError, ValueError):
        raise BadMessage("the message body is not JSON") from None
    job_id = body.get("job_id") if isinstance(body, dict) else None
    if not isinstance(job_id, str) or not job_id:
        raise BadMessage("the message names no job_id")
    return job_id


@tracer.capture_method
def export_one(record: SQSRecord) -> None:
    job_id = job_id_of(record)
    logger.append_keys(export_id=job_id)
    job = export_service().run(job_id)
    if job is None:
        logger.warning("no such export job; nothing to do")
    else:
        logger.info("export done", extra={"status": job.status, "rows": job.rows})


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return process_partial_response(event=event, record_handler=export_one, processor=processor, context=context)
