"""SES bounces and complaints: SES → the bounce topic (SNS) → this function. A permanent bounce or a complaint
suppresses the address; mail to it is skipped with that reason from then on."""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from crm_core.wiring import mailing_service

logger = Logger()
tracer = Tracer()


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    suppressed = 0
    for record in event.get("Records", []):
        try:
            notification = json.loads(record["Sns"]["Message"])
        except (KeyError, TypeError, ValueError):
            logger.warning("not an SES notification; ignored")
            continue
        suppressed += mailing_service().bounced(notification)
    logger.info("bounces and complaints handled", extra={"suppressed": suppressed})
    return {"suppressed": suppressed}
