"""The import queue: the work of the import function, one message per chunk of rows (and one to start a run).

Its messages are ``ImportWork`` (pydantic), sent through the stack's queue adapter (``crm_core.dal.queues``:
batches, retries, throttling, the correlation id); S3's notices of uploads arrive on the same queue and are
read by the function's handler.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from crm_core.dal.queues import Queue
from crm_core.models.messages import QueueMessage


class ImportWork(QueueMessage):
    """Start a run (``chunk`` absent; ``read``: read the uploaded workbook again first) or apply / revert a chunk."""

    job_id: str
    run: int = Field(ge=1)
    chunk: int | None = Field(default=None, ge=0)
    start: bool = False
    read: bool = False


class ImportQueue:
    """Work for the import function: one message per chunk of rows (and one to start a run)."""

    def __init__(self, sqs: Any, url: str) -> None:
        self._queue = Queue(sqs, url, "the import queue")

    def send(self, messages: list[ImportWork]) -> None:
        self._queue.send(messages)
