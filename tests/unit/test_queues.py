"""The queue adapter against SQS's own faults (botocore's Stubber: moto never fails part of a batch)."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from crm_core import correlation
from crm_core.dal.queues import Queue, QueueRefused
from crm_core.errors import RetryLater
from crm_core.models.messages import ExportRequested, PlanMailing, SendBatch, SendPasswordReset, SqsRecord

URL = "https://sqs.eu-west-2.amazonaws.com/123456789012/work"


def _queue(sleeps: list[float] | None = None) -> tuple[Queue, Stubber]:
    sqs = boto3.client("sqs", region_name="eu-west-2")
    waits = sleeps if sleeps is not None else []
    return Queue(sqs, URL, "the work queue", sleep=waits.append), Stubber(sqs)


def _entries(count: int, start: int = 0) -> list[dict[str, Any]]:
    return [{"Id": str(n), "MessageBody": json.dumps({"kind": "export", "job_id": f"job-{start + n}"},
                                                      separators=(",", ":"))} for n in range(count)]


def test_messages_go_in_batches_of_ten() -> None:
    # Given 23 messages
    queue, stub = _queue()
    messages = [ExportRequested(job_id=f"job-{n}") for n in range(23)]
    # When they are sent: three calls of 10, 10 and 3 entries
    for start, count in ((0, 10), (10, 10), (20, 3)):
        stub.add_response("send_message_batch", {"Successful": [], "Failed": []},
                          {"QueueUrl": URL, "Entries": _entries(count, start)})
    with stub:
        queue.send(messages)
    # Then every call was made as expected
    stub.assert_no_pending_responses()


def test_entries_sqs_did_not_take_are_sent_again_after_a_pause() -> None:
    # Given SQS takes a batch of three but two of them fail (not the sender's fault)
    sleeps: list[float] = []
    queue, stub = _queue(sleeps)
    failed = [{"Id": "1", "SenderFault": False, "Code": "InternalError"},
              {"Id": "2", "SenderFault": False, "Code": "InternalError"}]
    stub.add_response("send_message_batch", {"Successful": [{"Id": "0", "MessageId": "m0", "MD5OfMessageBody": "x"}],
                                             "Failed": failed}, {"QueueUrl": URL, "Entries": _entries(3)})
    stub.add_response("send_message_batch", {"Successful": [], "Failed": []},
                      {"QueueUrl": URL, "Entries": _entries(3)[1:]})
    # When they are sent
    with stub:
        queue.send([ExportRequested(job_id=f"job-{n}") for n in range(3)])
    # Then only the two failed entries are sent again, after a pause
    stub.assert_no_pending_responses()
    assert len(sleeps) == 1 and sleeps[0] > 0


def test_entries_still_refused_after_the_last_try_are_retry_later() -> None:
    queue, stub = _queue()
    for _ in range(5):
        stub.add_response("send_message_batch", {"Successful": [], "Failed": [
            {"Id": "0", "SenderFault": False, "Code": "InternalError"}]}, {"QueueUrl": URL, "Entries": _entries(1)})
    with stub, pytest.raises(RetryLater, match="the work queue did not take 1 messages"):
        queue.send([ExportRequested(job_id="job-0")])


def test_throttling_is_retry_later_and_a_malformed_message_is_refused() -> None:
    queue, stub = _queue()
    stub.add_client_error("send_message_batch", "RequestThrottled", http_status_code=400)
    with stub, pytest.raises(RetryLater, match="the work queue is busy"):
        queue.send([ExportRequested(job_id="job-0")])
    queue, stub = _queue()
    stub.add_response("send_message_batch", {"Successful": [], "Failed": [
        {"Id": "0", "SenderFault": True, "Code": "InvalidMessageContents", "Message": "bad"}]})
    with stub, pytest.raises(QueueRefused, match="InvalidMessageContents"):
        queue.send([ExportRequested(job_id="job-0")])


def test_each_message_carries_the_correlation_id_of_the_work_in_hand() -> None:
    # Given a request under way with its correlation id, and one message that already has its own
    queue, stub = _queue()
    correlation.use("req-123")
    try:
        bodies = [{"correlation_id": "req-123", "kind": "export", "job_id": "a"},
                  {"correlation_id": "earlier", "kind": "export", "job_id": "b"}]
        stub.add_response("send_message_batch", {"Successful": [], "Failed": []}, {"QueueUrl": URL, "Entries": [
            {"Id": str(n), "MessageBody": json.dumps(b, separators=(",", ":"))} for n, b in enumerate(bodies)]})
        # When they are sent
        with stub:
            queue.send([ExportRequested(job_id="a"), ExportRequested(job_id="b", correlation_id="earlier")])
        # Then the first takes the current id and the second keeps its own
        stub.assert_no_pending_responses()
    finally:
        correlation.use(None)


def test_a_record_parses_as_its_queues_message_or_not_at_all() -> None:
    from pydantic import TypeAdapter, ValidationError

    from crm_core.models.messages import MailMessage

    record = TypeAdapter(SqsRecord[MailMessage])
    parsed = record.validate_python({"messageId": "m1", "body": '{"kind":"send","mailing_id":"x","ids":["a"]}'})
    assert isinstance(parsed.body, SendBatch) and parsed.body.ids == ["a"]
    assert isinstance(record.validate_python({"messageId": "m", "body": '{"kind":"plan","mailing_id":"x"}'}).body,
                      PlanMailing)
    for bad in ('{"kind":"send","mailing_id":"x","ids":[]}', '{"kind":"nope"}', "not json",
                '{"kind":"reset","username":"a","email":"b@example.org"}', '{"kind":"plan","mailing_id":"x","x":1}'):
        with pytest.raises(ValidationError):
            record.validate_python({"messageId": "m", "body": bad})
    assert SendPasswordReset(email="a@example.org").kind == "reset"
