"""The messages of the stack's queues, as types: what the senders write and what the batch processor parses.

Every message carries the correlation id of the work that caused it (``crm_core.correlation``); the queue
adapter (``crm_core.dal.queues``) fills it in. A body that is not one of its queue's messages fails alone
(``batchItemFailures``) and, after the queue's tries, waits in its dead-letter queue.

- export queue: ``ExportRequested``;
- mail queue: ``MailMessage`` — ``PlanMailing``, ``SendBatch``, ``SendPasswordReset``, ``MarketingOptOut``;
- accounting queue: ``AccountingRunRequested``;
- import queue: ``crm_core.imports.queue.ImportMessage`` — ``ImportWork``, beside S3's own notices
  (``UploadNotices``, ``S3TestEvent``).
"""

from __future__ import annotations

from typing import Annotated, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, Json, model_validator

from crm_core.mail import RECIPIENTS_PER_MESSAGE

Id = Annotated[str, Field(min_length=1, max_length=100)]


class QueueMessage(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)  # built on first use

    correlation_id: str | None = Field(default=None, max_length=200,
                                       description="the request or event the work comes from")


class ExportRequested(QueueMessage):
    """Write a queued export (the job holds what to write)."""

    kind: Literal["export"] = "export"
    job_id: Id


class PlanMailing(QueueMessage):
    """Turn a mailing's audience into recipients and send batches."""

    kind: Literal["plan"] = "plan"
    mailing_id: Id


class SendBatch(QueueMessage):
    """Send one batch of a mailing's recipients."""

    kind: Literal["send"] = "send"
    mailing_id: Id
    ids: list[Id] = Field(min_length=1, max_length=RECIPIENTS_PER_MESSAGE)


class SendPasswordReset(QueueMessage):
    """A password-reset email, for the customer named one of three ways (staff name the customer; the public
    form a username or an email, which may match no one)."""

    kind: Literal["reset"] = "reset"
    customer_id: Id | None = None
    username: str | None = Field(default=None, max_length=320)
    email: str | None = Field(default=None, max_length=320)
    asked_by: str | None = Field(default=None, max_length=200)

    @model_validator(mode="after")
    def _names_one(self) -> SendPasswordReset:
        if sum(v is not None for v in (self.customer_id, self.username, self.email)) != 1:
            raise ValueError("name the customer by one of customer_id, username or email")
        return self


class MarketingOptOut(QueueMessage):
    """A customer used an unsubscribe link: their marketing email goes off (the mailer writes it, with its history
    entry; the public function that takes the click writes no customer's records)."""

    kind: Literal["opt_out"] = "opt_out"
    customer_id: Id


MailMessage = Annotated[PlanMailing | SendBatch | SendPasswordReset | MarketingOptOut, Field(discriminator="kind")]


class AccountingRunRequested(QueueMessage):
    """Run the accounting sync now (every customer marked for it)."""

    kind: Literal["run"] = "run"


M = TypeVar("M")


class SqsRecord(BaseModel, Generic[M]):
    """One record of an SQS event as Lambda hands it over, its body parsed as a message of its queue: the
    ``model`` of Powertools' batch processor (a record that does not parse fails alone)."""

    model_config = ConfigDict(extra="ignore")

    messageId: str
    body: Json[M]
