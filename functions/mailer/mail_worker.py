"""The mailer: the mail queue → this function → the mailing and login services; and, hourly, resuming
mailings paused because the SES quota ran out.

Messages (``crm_core.models.messages.MailMessage``, parsed by Powertools' batch processor): ``PlanMailing``
(the audience into recipients and send batches), ``SendBatch`` (one batch), ``SendPasswordReset`` (a
password-reset email), ``MarketingOptOut`` (an unsubscribe link used: marketing email off).
One message at a time, at most two functions at once (the event source's
MaximumConcurrency), each at its share of the configured rate. A batch SES kept throttling is reported back
(``batchItemFailures``) and retried; its recipients went back to pending first. Metrics: ``MailSent``,
``MailSkipped``, ``MailFailed``, ``MailingsPaused``, ``MailingsPlanned``, ``ResetMailSent``, ``ResetMailSkipped``,
``MailingsResumed``.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.typing import LambdaContext

from crm_core import correlation
from crm_core.config import get_settings
from crm_core.models.messages import (
    MailMessage,
    MarketingOptOut,
    PlanMailing,
    SendBatch,
    SendPasswordReset,
    SqsRecord,
)
from crm_core.wiring import login_service, mailing_service

logger = Logger()
tracer = Tracer()
metrics = Metrics()
processor = BatchProcessor(event_type=EventType.SQS, model=SqsRecord[MailMessage], raise_on_entire_batch_failure=False)


def count(name: str, value: int = 1) -> None:
    metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)


def send_reset(message: SendPasswordReset) -> None:
    from crm_core.mail.render import render_password_reset

    minutes = get_settings().reset_token_minutes
    found = login_service().reset_mail(message, minutes)
    if found is None:
        count("ResetMailSkipped")
        logger.info("password reset for no account that may sign in: nothing sent")
        return
    customer, token, to = found
    link = mailing_service().link(f"/reset-password?token={token}")
    rendered = render_password_reset(customer.first_name or customer.display_name, link, minutes)
    mailing_service().send_one(to, rendered)
    count("ResetMailSent")
    logger.info("password reset sent", extra={"customer_id": customer.id})  # never the token or the link


@tracer.capture_method
def handle(record: SqsRecord[MailMessage]) -> None:
    message = record.body
    correlation.use(message.correlation_id or record.messageId, logger)
    if isinstance(message, PlanMailing):
        recipients = mailing_service().plan(message.mailing_id)
        count("MailingsPlanned")
        logger.info("mailing planned", extra={"mailing_id": message.mailing_id, "recipients": recipients})
    elif isinstance(message, SendBatch):
        done = mailing_service().send(message.mailing_id, message.ids)
        count("MailSent", done["sent"])
        count("MailSkipped", done["skipped"])
        count("MailFailed", done["failed"])
        count("MailingsPaused", done["paused"])
        logger.info("batch sent", extra={"mailing_id": message.mailing_id, **done})
    elif isinstance(message, MarketingOptOut):
        changed = mailing_service().opt_out(message.customer_id)
        logger.info("unsubscribed", extra={"customer_id": message.customer_id, "changed": changed})
    else:
        send_reset(message)


@logger.inject_lambda_context
@metrics.log_metrics(capture_cold_start_metric=True)
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    if event.get("source") == "aws.events":
        correlation.use(str(event.get("id") or context.aws_request_id), logger)
        resumed = mailing_service().resume()
        count("MailingsResumed", resumed)
        logger.info("paused mailings looked at", extra={"resumed": resumed})
        return {"resumed": resumed}
    return process_partial_response(event=event, record_handler=handle, processor=processor, context=context)
