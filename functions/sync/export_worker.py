"""Background exports: SQS (the export queue) → this function → the export service.

Each message is an ``ExportRequested`` naming one export job. Powertools' batch processor parses each record
with that model and processes them one by one; a record that does not parse, or whose export fails, is
reported back (``batchItemFailures``) so only it is retried, and after the queue's attempts it waits in the
dead-letter queue. A job that is already completed (a redelivered message) or no longer exists is done:
nothing happens. Metrics: ``ExportsCompleted``, ``ExportRows``, ``ExportsFailed``.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.typing import LambdaContext

from crm_core import correlation
from crm_core.models.messages import ExportRequested, SqsRecord
from crm_core.wiring import export_service

logger = Logger()
tracer = Tracer()
metrics = Metrics()
processor = BatchProcessor(event_type=EventType.SQS, model=SqsRecord[ExportRequested],
                           raise_on_entire_batch_failure=False)


@tracer.capture_method
def export_one(record: SqsRecord[ExportRequested]) -> None:
    message = record.body
    correlation.use(message.correlation_id or record.messageId, logger)
    logger.append_keys(export_id=message.job_id)
    try:
        job = export_service().run(message.job_id)
    except Exception:
        metrics.add_metric(name="ExportsFailed", unit=MetricUnit.Count, value=1)
        raise
    if job is None:
        logger.warning("no such export job; nothing to do")
        return
    metrics.add_metric(name="ExportsCompleted", unit=MetricUnit.Count, value=1)
    metrics.add_metric(name="ExportRows", unit=MetricUnit.Count, value=job.rows or 0)
    logger.info("export done", extra={"status": job.status, "rows": job.rows})


@logger.inject_lambda_context
@metrics.log_metrics(capture_cold_start_metric=True)
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return process_partial_response(event=event, record_handler=export_one, processor=processor, context=context)
