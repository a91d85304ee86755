"""The accounting sync: an EventBridge schedule, or a message from ``POST /accounting/sync``, → this
function → ``AccountingSync``. Every run syncs every customer marked for it (new, changed, asked for);
one run at a time (a lease), so a schedule and a request arriving together run once each, one after the
other. A request that finds a run under way is reported back and retried by the queue later.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from crm_core.wiring import accounting_sync

logger = Logger()
tracer = Tracer()
metrics = Metrics()


@metrics.log_metrics
@logger.inject_lambda_context
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    records = event.get("Records") or []
    figures = accounting_sync().run(holder=context.aws_request_id,
                                    seconds_left=lambda: context.get_remaining_time_in_millis() / 1000)
    if figures is None:
        metrics.add_metric(name="SyncRunsSkipped", unit=MetricUnit.Count, value=1)
        logger.info("another sync run is under way")
        # a request waits for the queue's next delivery; a schedule's run is covered by the one under way
        return {"batchItemFailures": [{"itemIdentifier": r["messageId"]} for r in records]} if records else {
            "ran": False}
    for name in ("created", "linked", "updated", "held", "error"):
        metrics.add_metric(name=f"Accounts{name.title()}", unit=MetricUnit.Count, value=figures.get(name, 0))
    logger.info("accounting sync done", extra={"figures": figures})
    return {"batchItemFailures": []} if records else {"ran": True, **figures}
