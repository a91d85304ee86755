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


def test_a_queue_that_fails_or_does_not_answer_is_retry_later() -> None:
    from botocore.exceptions import EndpointConnectionError, ReadTimeoutError

    queue, stub = _queue()
    stub.add_client_error("send_message_batch", "KMS.DisabledException", http_status_code=400)
    with stub, pytest.raises(RetryLater, match="the work queue is not available"):
        queue.send([ExportRequested(job_id="job-0")])
    for fault in (EndpointConnectionError(endpoint_url=URL), ReadTimeoutError(endpoint_url=URL)):
        queue, stub = _queue()

        def no_answer(fault: Exception = fault, **_: Any) -> None:
            raise fault

        stub.client.meta.events.register_first("before-send.sqs.SendMessageBatch", no_answer)
        with pytest.raises(RetryLater, match="the work queue is not available"):
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


def test_an_import_queue_record_is_s3s_notice_its_test_event_or_import_work() -> None:
    from pydantic import TypeAdapter, ValidationError

    from crm_core.imports.queue import ImportMessage, ImportWork, S3TestEvent, UploadNotices

    record = TypeAdapter(SqsRecord[ImportMessage])
    notice = {"eventSource": "aws:s3", "eventName": "ObjectCreated:Put", "eventTime": "2026-11-02T09:30:00.000Z",
              "responseElements": {"x-amz-request-id": "C3D13FE58DE4C810"},
              "s3": {"bucket": {"name": "imports", "arn": "arn:aws:s3:::imports"},
                     "object": {"key": "uploads/a%20b.xlsx", "size": 10, "eTag": "e1", "sequencer": "00"}}}
    # Given S3's notice of an upload (S3's fields the import does not read pass)
    parsed = record.validate_python({"messageId": "m1", "body": json.dumps({"Records": [notice]})}).body
    # Then it is read as such, with what the import reads from it
    assert isinstance(parsed, UploadNotices) and parsed.Records[0].is_upload
    upload = parsed.Records[0]
    assert (upload.s3.bucket.name, upload.s3.object.key, upload.s3.object.eTag, upload.s3.object.versionId) == (
        "imports", "uploads/a%20b.xlsx", "e1", None)
    assert upload.request_id == "C3D13FE58DE4C810" and upload.eventTime.year == 2026
    removed = {**notice, "eventName": "ObjectRemoved:Delete"}
    assert not record.validate_python({"messageId": "m", "body": json.dumps({"Records": [removed]})}).body.Records[
        0].is_upload
    # And S3's test event and the import's own work are read as theirs
    test_event = {"Service": "Amazon S3", "Event": "s3:TestEvent", "Bucket": "imports", "RequestId": "r"}
    assert isinstance(record.validate_python({"messageId": "m", "body": json.dumps(test_event)}).body, S3TestEvent)
    work = record.validate_python({"messageId": "m", "body": '{"job_id":"j","run":2,"chunk":3}'}).body
    assert work == ImportWork(job_id="j", run=2, chunk=3)
    # And anything else is refused: not JSON, not an object, another queue's message, work without its run,
    # a notice without its object, another S3 event
    for bad in ("not json", "[1]", '{"kind":"export","job_id":"x"}', '{"job_id":"j"}', '{"job_id":"j","run":0}',
                json.dumps({"Records": [{k: v for k, v in notice.items() if k != "s3"}]}),
                json.dumps({**test_event, "Event": "s3:ObjectCreated"})):
        with pytest.raises(ValidationError):
            record.validate_python({"messageId": "m", "body": bad})
