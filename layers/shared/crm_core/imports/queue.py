"""The import queue: the work of the import function, one message per chunk of rows (and one to start a run).

Its messages are ``ImportWork`` (pydantic); S3's notices of uploads arrive on the same queue and are read by
the function's handler.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError
from pydantic import Field

from crm_core.dal.dynamo import error_code
from crm_core.dal.exports import SQS_THROTTLING
from crm_core.errors import RetryLater
from crm_core.models.customer import Model

SEND_BATCH = 10  # SQS SendMessageBatch's limit


class ImportWork(Model):
    """Start a run (``chunk`` absent; ``read``: read the uploaded workbook again first) or apply / revert a chunk."""

    job_id: str
    run: int = Field(ge=1)
    chunk: int | None = Field(default=None, ge=0)
    start: bool = False
    read: bool = False


class ImportQueue:
    """Work for the import function: one message per chunk of rows (and one to start a run)."""

    def __init__(self, sqs: Any, url: str) -> None:
        self._sqs = sqs
        self._url = url

    def send(self, messages: list[ImportWork]) -> None:
        for start in range(0, len(messages), SEND_BATCH):
            batch = messages[start:start + SEND_BATCH]
            entries = [{"Id": str(n), "MessageBody": m.model_dump_json(exclude_defaults=True)}
                       for n, m in enumerate(batch)]
            for _ in range(5):
                try:
                    answer = self._sqs.send_message_batch(QueueUrl=self._url, Entries=entries)
                except ClientError as exc:
                    if error_code(exc) in SQS_THROTTLING:
                        raise RetryLater("the queue is busy; retry shortly") from exc
                    raise
                failed = {f["Id"] for f in answer.get("Failed", [])}
                entries = [e for e in entries if e["Id"] in failed]
                if not entries:
                    break
            else:
                raise RetryLater(f"the queue refused {len(entries)} messages; retry shortly")
