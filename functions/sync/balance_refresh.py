"""The nightly balance refresh: an EventBridge schedule → this function → ``NightlyRefresh``.

Invoices past their due date become ``overdue`` and balances are recomputed — only for the customers whose
money changed or whose open invoices crossed a due date or aging edge since the last run. The schedule's
event delivered twice runs once (a run record per day); a run that died is finished by the next one.
Figures go to CloudWatch as metrics (customers refreshed, invoices marked overdue, duration), and each
completed run counts one ``RunCompleted``: the alarm that the night's run has not completed watches it.
"""

from __future__ import annotations

import time
from datetime import date, datetime
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from crm_core import correlation
from crm_core.clock import utcnow
from crm_core.wiring import nightly_refresh

logger = Logger()
tracer = Tracer()
metrics = Metrics()


def run_day(event: dict[str, Any]) -> date:
    """The day the run is for: the scheduled event's time (UTC), so a late retry still runs for its own day;
    an event without one (run by hand) is for today."""
    moment = str(event.get("time") or "")
    return datetime.fromisoformat(moment.replace("Z", "+00:00")).date() if moment else utcnow().date()


@logger.inject_lambda_context
@metrics.log_metrics(capture_cold_start_metric=True)
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    started = time.perf_counter()
    day = run_day(event)
    run_id = str(event.get("id") or context.aws_request_id)
    correlation.use(run_id, logger)
    figures = nightly_refresh().run(day, run_id)
    if figures is None:
        metrics.add_metric(name="RefreshRunsSkipped", unit=MetricUnit.Count, value=1)
        logger.info("this day's refresh is done or under way; nothing to do", extra={"day": day.isoformat()})
        return {"day": day.isoformat(), "ran": False}
    elapsed = time.perf_counter() - started
    metrics.add_metric(name="CustomersRefreshed", unit=MetricUnit.Count, value=figures["customers_refreshed"])
    metrics.add_metric(name="InvoicesMarkedOverdue", unit=MetricUnit.Count, value=figures["invoices_marked_overdue"])
    metrics.add_metric(name="CustomersNotRefreshed", unit=MetricUnit.Count, value=figures["customers_failed"])
    metrics.add_metric(name="RefreshDuration", unit=MetricUnit.Seconds, value=round(elapsed, 3))
    metrics.add_metric(name="RunCompleted", unit=MetricUnit.Count, value=1)
    logger.info("balances refreshed", extra={"day": day.isoformat(), **figures, "seconds": round(elapsed, 3)})
    return {"day": day.isoformat(), "ran": True, **figures}
