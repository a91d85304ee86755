"""The stack's SQS queues: typed messages sent in batches of ten, with each message's correlation id.

SQS may accept part of a batch (``Failed`` entries that are not the sender's fault); those are sent again
with growing backoff. Throttling that outlasted botocore's retries, entries still refused after the last
try, and a queue that refuses or does not answer (an outage, a timeout, a key or permission gone: logged with
its code) become ``RetryLater`` (a 503 on the API, a failed record on a queue) — nothing is dropped silently. An
entry refused as the sender's fault (a malformed message) is a bug and raises ``QueueRefused``.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Sequence
from typing import Any

from botocore.exceptions import ClientError, HTTPClientError
from botocore.exceptions import ConnectionError as NoConnection

from crm_core import correlation
from crm_core.errors import RetryLater
from crm_core.models.messages import QueueMessage

BATCH = 10  # SendMessageBatch takes at most ten entries
logger = logging.getLogger(__name__)
THROTTLING = {"ThrottlingException", "RequestThrottled", "AWS.SimpleQueueService.RequestThrottled",
              "KmsThrottled"}


class QueueRefused(RuntimeError):
    """SQS refused a message as malformed (the sender's fault): retrying cannot help."""


class Queue:
    def __init__(self, sqs: Any, url: str, name: str, attempts: int = 5,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self._sqs = sqs
        self._url = url
        self.name = name
        self._attempts = attempts
        self._sleep = sleep

    def send(self, messages: Sequence[QueueMessage]) -> None:
        """Send every message, stamped with the current correlation id where it has none."""
        now = correlation.current()
        bodies = [(m if m.correlation_id or now is None else m.model_copy(update={"correlation_id": now}))
                  .model_dump_json(exclude_none=True) for m in messages]
        for start in range(0, len(bodies), BATCH):
            self._send_batch(bodies[start:start + BATCH])

    def _send_batch(self, bodies: list[str]) -> None:
        waiting = {str(n): body for n, body in enumerate(bodies)}
        for attempt in range(self._attempts):
            if attempt:
                self._sleep(min(2.0, 0.05 * 2 ** attempt) * (0.5 + random.random() / 2))
            try:
                answer = self._sqs.send_message_batch(
                    QueueUrl=self._url, Entries=[{"Id": k, "MessageBody": v} for k, v in waiting.items()])
            except ClientError as exc:
                code = exc.response.get("Error", {}).get("Code")
                if code in THROTTLING:
                    raise RetryLater(f"{self.name} is busy; retry shortly") from exc
                logger.error("the queue refused the messages", extra={"queue": self.name, "code": code})
                raise RetryLater(f"{self.name} is not available; retry shortly") from exc
            except (NoConnection, HTTPClientError) as exc:  # no answer (a timeout, a dropped connection)
                logger.error("the queue did not answer", extra={"queue": self.name, "error": type(exc).__name__})
                raise RetryLater(f"{self.name} is not available; retry shortly") from exc
            failed = answer.get("Failed") or []
            refused = [f for f in failed if f.get("SenderFault")]
            if refused:
                first = refused[0]
                raise QueueRefused(f"{self.name} refused a message: {first.get('Code')} {first.get('Message')}")
            waiting = {f["Id"]: waiting[f["Id"]] for f in failed}
            if not waiting:
                return
        raise RetryLater(f"{self.name} did not take {len(waiting)} messages; retry shortly")
