"""The import queue: the work of the import function, one message per chunk of rows (and one to start a run),
beside S3's notices of uploads under ``uploads/``.

Its own messages are ``ImportWork`` (pydantic), sent through the stack's queue adapter (``crm_core.dal.queues``:
batches, retries, throttling, the correlation id). S3 writes ``UploadNotices`` (its event notification) and,
once, when the notification is set up, an ``S3TestEvent``. ``ImportMessage`` is any of the three: the body the
import function's batch processor parses (a body that is none of them fails alone).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag

from crm_core.dal.queues import Queue
from crm_core.models.messages import QueueMessage


class ImportWork(QueueMessage):
    """Start a run (``chunk`` absent; ``read``: read the uploaded workbook again first) or apply / revert a chunk."""

    job_id: str
    run: int = Field(ge=1)
    chunk: int | None = Field(default=None, ge=0)
    start: bool = False
    read: bool = False


class _S3Shape(BaseModel):
    """Part of an S3 event notification, as S3 writes it: only what the import reads; S3's other fields pass."""

    model_config = ConfigDict(extra="ignore", frozen=True, defer_build=True)


class S3Bucket(_S3Shape):
    name: str


class S3Object(_S3Shape):
    key: str  # URL-encoded, as S3 writes it
    versionId: str | None = None  # S3's names: the upload's idempotency key reads them
    eTag: str | None = None


class S3Entity(_S3Shape):
    bucket: S3Bucket
    object: S3Object


class UploadNotice(_S3Shape):
    """One record of an S3 event notification."""

    eventSource: str
    eventName: str
    eventTime: datetime
    s3: S3Entity
    responseElements: dict[str, str] | None = None

    @property
    def is_upload(self) -> bool:
        """An object was created (other S3 events on the prefix are not uploads)."""
        return self.eventSource == "aws:s3" and self.eventName.startswith("ObjectCreated")

    @property
    def request_id(self) -> str | None:
        """S3's id of the upload request: the correlation id of the import it starts."""
        return (self.responseElements or {}).get("x-amz-request-id")


class UploadNotices(_S3Shape):
    """S3's event notification: objects created under ``uploads/``."""

    Records: list[UploadNotice]


class S3TestEvent(_S3Shape):
    """What S3 sends when the notification is set up, to check it may write to the queue: nothing to do."""

    Event: Literal["s3:TestEvent"]


def _kind(body: Any) -> str | None:
    """Which of the queue's messages a body is meant to be (so a bad one is refused for what it is)."""
    if not isinstance(body, dict):
        return None
    return "upload" if "Records" in body else "test" if "Event" in body else "work"


ImportMessage = Annotated[Annotated[UploadNotices, Tag("upload")] | Annotated[S3TestEvent, Tag("test")]
                          | Annotated[ImportWork, Tag("work")], Discriminator(_kind)]


class ImportQueue:
    """Work for the import function: one message per chunk of rows (and one to start a run)."""

    def __init__(self, sqs: Any, url: str) -> None:
        self._queue = Queue(sqs, url, "the import queue")

    def send(self, messages: list[ImportWork]) -> None:
        self._queue.send(messages)
