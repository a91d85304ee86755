"""SES bounces and complaints: SES → the bounce topic (SNS) → this function. A permanent bounce or a complaint
suppresses the address; mail to it is skipped with that reason from then on. Invoked asynchronously: an error
is retried twice, then the notification is kept in the failed-events queue. Metrics: ``BounceNotifications``,
``AddressesSuppressed``."""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from crm_core import correlation
from crm_core.wiring import mailing_service

logger = Logger()
tracer = Tracer()
metrics = Metrics()


@logger.inject_lambda_context
@metrics.log_metrics(capture_cold_start_metric=True)
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    suppressed = 0
    for record in event.get("Records", []):
        correlation.use(str((record.get("Sns") or {}).get("MessageId") or context.aws_request_id), logger)
        try:
            notification = json.loads(record["Sns"]["Message"])
        except (KeyError, TypeError, ValueError):
            logger.warning("not an SES notification; ignored")
            continue
        metrics.add_metric(name="BounceNotifications", unit=MetricUnit.Count, value=1)
        suppressed += mailing_service().bounced(notification)
    metrics.add_metric(name="AddressesSuppressed", unit=MetricUnit.Count, value=suppressed)
    logger.info("bounces and complaints handled", extra={"suppressed": suppressed})
    return {"suppressed": suppressed}
