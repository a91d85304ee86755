"""SES (API v2) as the mailer sends through it: one MIME message per recipient, paced at the account's rate.

Throttling (``TooManyRequestsException``) is retried with growing backoff, then surfaces as ``Throttled``
(the batch is retried by the queue); the daily quota running out, or sending being paused for the account,
is ``QuotaExhausted`` (the mailing pauses and resumes later); an address SES refuses is ``Rejected`` (that
recipient fails, the others go on).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import make_msgid
from typing import Any

from botocore.exceptions import ClientError

from crm_core.dal.dynamo import Backoff, error_code

SMTP_POLICY = SMTP.clone(max_line_length=998)  # long header values (unsubscribe URLs) stay whole, not encoded
THROTTLED = {"TooManyRequestsException", "Throttling", "ThrottlingException"}
QUOTA = {"LimitExceededException", "SendingPausedException", "AccountSuspendedException"}
REJECTED = {"MessageRejected", "BadRequestException", "NotFoundException", "MailFromDomainNotVerifiedException"}


class Throttled(Exception):
    pass


class QuotaExhausted(Exception):
    pass


class Rejected(Exception):
    pass


class SesMail:
    def __init__(self, sesv2: Any, from_address: str, rate_per_second: float, configuration_set: str | None = None,
                 backoff: Backoff | None = None, sleep: Callable[[float], None] | None = None,
                 clock: Callable[[], float] | None = None) -> None:
        self._ses = sesv2
        self._from = from_address
        self._gap = 1.0 / rate_per_second
        self._configuration_set = configuration_set
        self._backoff = backoff or Backoff(attempts=6, base=0.2, cap=5.0)
        self._sleep = sleep or (lambda seconds: time.sleep(seconds))
        self._clock = clock or time.monotonic
        self._next = 0.0
        self.sent = 0

    def send(self, to: str, subject: str, text: str, html: str, headers: dict[str, str]) -> str:
        """Send one email; its SES message id."""
        message = EmailMessage(policy=SMTP_POLICY)
        message["From"] = self._from
        message["To"] = to
        message["Subject"] = subject
        message["Message-ID"] = make_msgid(domain=self._from.rsplit("@", 1)[-1].rstrip(">"))
        for name, value in headers.items():
            message[name] = value
        message.set_content(text)
        message.add_alternative(html, subtype="html")
        request: dict[str, Any] = {"FromEmailAddress": self._from, "Destination": {"ToAddresses": [to]},
                                   "Content": {"Raw": {"Data": message.as_bytes()}}}
        if self._configuration_set:
            request["ConfigurationSetName"] = self._configuration_set
        for attempt in range(self._backoff.attempts):
            self._pace()
            try:
                answer = self._ses.send_email(**request)
            except ClientError as exc:
                code = error_code(exc)
                if code in THROTTLED:
                    self._backoff.pause(attempt)
                    continue
                if code in QUOTA:
                    raise QuotaExhausted(code) from exc
                if code in REJECTED:
                    raise Rejected(f"{code}: {exc.response.get('Error', {}).get('Message', '')}"[:300]) from exc
                raise
            self.sent += 1
            return str(answer.get("MessageId", ""))
        raise Throttled("SES kept throttling the sends")

    def _pace(self) -> None:
        """At most ``rate_per_second`` sends a second from this sender (the mailer runs one at a time)."""
        now = self._clock()
        if now < self._next:
            self._sleep(self._next - now)
            now = self._next
        self._next = now + self._gap
