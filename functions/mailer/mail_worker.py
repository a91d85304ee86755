"""The mailer: the mail queue → this function → the mailing and login services; and, hourly, resuming
mailings paused because the SES quota ran out.

Messages: ``{"kind": "plan", "mailing_id"}`` (the audience into recipients and send batches), ``{"kind":
"send", "mailing_id", "ids"}`` (one batch), ``{"kind": "reset", …}`` (a password-reset email). One message
at a time, at most two functions at once (the event source's MaximumConcurrency), each at its share of the
configured rate. A batch SES kept throttling is reported back (``batchItemFailures``) and retried; its
recipients went back to pending first.
"""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from crm_core.config import get_settings
from crm_core.wiring import login_service, mailing_service

logger = Logger()
tracer = Tracer()
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


class BadMessage(ValueError):
    pass


def send_reset(message: dict[str, Any]) -> None:
    from crm_core.mail.render import render_password_reset

    settings = get_settings()
    found = login_service().reset_mail(message, settings.reset_token_minutes)
    if found is None:
        logger.info("password reset for no account that may sign in: nothing sent")
        return
    customer, token = found
    link = f"{settings.public_base_url.rstrip('/')}/reset-password?token={token}"
    rendered = render_password_reset(customer.first_name or customer.display_name, link, settings.reset_token_minutes)
    assert customer.email
    mailing_service().send_one(customer.email, rendered)
    logger.info("password reset sent", extra={"customer_id": customer.id})  # never the token or the link


@tracer.capture_method
def handle(record: SQSRecord) -> None:
    try:
        message = json.loads(record.body)
    except (TypeError, ValueError):
        raise BadMessage("the message body is not JSON") from None
    kind = message.get("kind") if isinstance(message, dict) else None
    if kind == "plan":
        count = mailing_service().plan(str(message["mailing_id"]))
        logger.info("mailing planned", extra={"mailing_id": message["mailing_id"], "recipients": count})
    elif kind == "send":
        done = mailing_service().send(str(message["mailing_id"]), [str(i) for i in message["ids"]])
        logger.info("batch sent", extra={"mailing_id": message["mailing_id"], **done})
    elif kind == "reset":
        send_reset(message)
    else:
        raise BadMessage(f"unknown message kind {kind!r}")


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    if event.get("source") == "aws.events":
        resumed = mailing_service().resume()
        logger.info("paused mailings looked at", extra={"resumed": resumed})
        return {"resumed": resumed}
    return process_partial_response(event=event, record_handler=handle, processor=processor, context=context)
