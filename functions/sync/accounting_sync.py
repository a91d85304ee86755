"""The accounting sync: an EventBridge schedule, or an ``AccountingRunRequested`` message from
``POST /accounting/sync``, → this function → ``AccountingSync``. Every run syncs every customer marked for it
(new, changed, asked for); one run at a time (a lease), so a schedule and a request arriving together run
once each, one after the other. A request that finds a run under way is reported back and retried by the
queue later; several requests in one batch are answered by one run, and share its outcome: a run that fails
puts every request of the batch back on the queue, and runs once.

Metrics: ``AccountsCreated``, ``AccountsLinked``, ``AccountsUpdated``, ``AccountsHeld``, ``AccountsError``
per run, ``RunCompleted`` for each completed run (the alarm that the night's sync has not completed watches
it), ``SyncRunsSkipped``.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.typing import LambdaContext

from crm_core import correlation
from crm_core.models.messages import AccountingRunRequested, SqsRecord
from crm_core.wiring import accounting_sync

logger = Logger()
tracer = Tracer()
metrics = Metrics()
processor = BatchProcessor(event_type=EventType.SQS, model=SqsRecord[AccountingRunRequested],
                           raise_on_entire_batch_failure=False)


class RunUnderWay(Exception):
    """Another run holds the lease: the request waits for the queue's next delivery."""


def run(context: LambdaContext) -> dict[str, int] | None:
    figures = accounting_sync().run(holder=context.aws_request_id,
                                    seconds_left=lambda: context.get_remaining_time_in_millis() / 1000)
    if figures is None:
        metrics.add_metric(name="SyncRunsSkipped", unit=MetricUnit.Count, value=1)
        logger.info("another sync run is under way")
        return None
    for outcome, metric in (("created", "AccountsCreated"), ("linked", "AccountsLinked"),
                            ("updated", "AccountsUpdated"), ("held", "AccountsHeld"), ("error", "AccountsError")):
        metrics.add_metric(name=metric, unit=MetricUnit.Count, value=figures.get(outcome, 0))
    metrics.add_metric(name="RunCompleted", unit=MetricUnit.Count, value=1)
    logger.info("accounting sync done", extra={"figures": figures})
    return figures


class RunFailed(Exception):
    """The batch's run failed: every request of the batch waits for the queue's next delivery."""


class Requests:
    """The records of one batch: the first runs the sync, once; the others share its outcome (answered by that
    run, or put back on the queue with it)."""

    def __init__(self, context: LambdaContext) -> None:
        self.context = context
        self.ran: bool | None = None
        self.failure: Exception | None = None

    def __call__(self, record: SqsRecord[AccountingRunRequested]) -> None:
        correlation.use(record.body.correlation_id or record.messageId, logger)
        if self.ran is None and self.failure is None:
            try:
                self.ran = run(self.context) is not None
            except Exception as failure:
                self.failure = failure
                raise
        if self.failure is not None:
            raise RunFailed(f"the sync run failed ({type(self.failure).__name__}); the request waits for the next "
                            "delivery") from self.failure
        if not self.ran:
            raise RunUnderWay("another sync run is under way; the request waits for the next delivery")


@logger.inject_lambda_context
@metrics.log_metrics(capture_cold_start_metric=True)
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    if event.get("Records"):
        return process_partial_response(event=event, record_handler=Requests(context), processor=processor,
                                        context=context)
    correlation.use(str(event.get("id") or context.aws_request_id), logger)
    figures = run(context)  # the schedule's run; one under way already covers it
    return {"ran": False} if figures is None else {"ran": True, **figures}
