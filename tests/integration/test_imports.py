"""Spreadsheet imports, the way staff reach them: POST /imports, an upload to S3, the S3 event on the import
queue, the import function working through its queue, and GET /imports/{id} (moto)."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from typing import Any

import boto3
import pytest
import requests
from openpyxl import load_workbook

from crm_local.events import sqs_event
from crm_local.template import Template
from import_books import EXISTING, messy_expected, messy_workbook, simple_workbook
from integration.conftest import Call

Drain = Callable[..., list[str]]


@pytest.fixture
def drain(aws: Template, context: Any) -> Drain:
    """Deliver the import queue's messages to ImportFunction, one at a time as its event source mapping does,
    until the queue is empty; returns the bodies of the messages that failed (left for a retry)."""
    import import_worker

    sqs = boto3.client("sqs")
    url = aws.queue_url("ImportQueue")
    arn = aws.queue_arn("ImportQueue")

    def run(limit: int = 500, keep_failed: bool = False) -> list[str]:
        failed: list[str] = []
        for _ in range(limit):
            answer = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1, AttributeNames=["All"],
                                         VisibilityTimeout=0 if keep_failed else 60)
            messages = answer.get("Messages", [])
            if not messages:
                return failed
            result = import_worker.handler(sqs_event(messages, arn), context)
            if result.get("batchItemFailures"):
                failed.append(messages[0]["Body"])
                if not keep_failed:
                    continue
                return failed
            sqs.delete_message(QueueUrl=url, ReceiptHandle=messages[0]["ReceiptHandle"])
        raise AssertionError("the import queue never emptied")

    return run


def upload(api: Call, content: bytes, filename: str = "members.xlsx", **request: Any) -> dict[str, Any]:
    started = api("POST", "/imports", body={"filename": filename, **request})
    assert started.status == 201, started.body
    form = started.body["upload"]
    sent = requests.post(form["url"], data=form["fields"], files={"file": (filename, content)}, timeout=10)
    assert sent.status_code in (200, 201, 204), sent.text
    return dict(started.body["job"])


def upload_notice(aws: Template) -> dict[str, Any]:
    """The next S3 upload notice on the import queue (S3's test event, sent when the notification was set
    up, is skipped)."""
    sqs = boto3.client("sqs")
    while True:
        message = sqs.receive_message(QueueUrl=aws.queue_url("ImportQueue"), MaxNumberOfMessages=1)["Messages"][0]
        if "Records" in json.loads(message["Body"]):
            return dict(message)
        sqs.delete_message(QueueUrl=aws.queue_url("ImportQueue"), ReceiptHandle=message["ReceiptHandle"])


def job(api: Call, job_id: str) -> dict[str, Any]:
    answer = api("GET", f"/imports/{job_id}")
    assert answer.status == 200, answer.body
    return dict(answer.body)


def report_rows(aws: Template, job_id: str) -> list[tuple[Any, ...]]:
    body = boto3.client("s3").get_object(Bucket=aws.buckets()["ImportsBucket"],
                                         Key=f"imports/{job_id}/report.xlsx")["Body"].read()
    sheet = load_workbook(io.BytesIO(body), read_only=True).active
    assert sheet is not None
    return [tuple(r) for r in sheet.iter_rows(values_only=True)]


def customer_count(api: Call) -> int:
    return len(api("GET", "/customers", query={"registered_within_days": 1, "limit": 100}).body["items"])


@pytest.fixture
def existing(api: Call) -> list[dict[str, Any]]:
    made = [api("POST", "/customers", body=body).body for body in EXISTING]
    assert made[0]["customer_number"] == "100001"
    return made


def test_the_messy_workbook_gets_exactly_the_right_outcome_per_row(api: Call, aws: Template, drain: Drain,
                                                                      existing: list[dict[str, Any]]) -> None:
    # Given a workbook with title rows, odd headers, a blank row, dates in three styles, bad rows and a hidden
    # sheet, uploaded the way the console uploads it
    started = upload(api, messy_workbook())
    assert started["status"] == "awaiting_upload"
    # When S3's event and the chunks have gone through the import function
    assert drain() == []
    # Then every row has its outcome and the counts add up to the data rows
    done = job(api, started["id"])
    expected = messy_expected()
    outcomes = [o for o, _ in expected.values()]
    assert done["status"] == "partial"
    assert done["rows_total"] == len(expected) == done["rows_done"]
    assert done["counts"] == {k: outcomes.count(k) for k in ("created", "updated", "unchanged", "rejected")}
    assert done["sheet"] == "Members" and done["unknown_columns"] == ["Favourite colour"]
    # And the errors name the row and the uploader's own column
    rejected = {r: c for r, (o, c) in expected.items() if o == "rejected"}
    assert {(e["row"], e["column"]) for e in done["errors"]} == set(rejected.items())
    # And the report workbook holds the rejected rows in the uploader's columns with an error column
    rows = report_rows(aws, started["id"])
    assert rows[0][0] == "Row" and rows[0][-1] == "Import errors" and rows[0][2] == "Forename"
    assert [r[0] for r in rows[1:]] == sorted(rejected)
    assert all(rejected[r[0]] in r[-1] for r in rows[1:])
    assert done["report_url"].startswith("https://") or done["report_url"].startswith("http")
    # And a readonly user sees the job but not the link to the rejected rows (personal data in bulk)
    seen = api("GET", f"/imports/{started['id']}", groups="readonly")
    assert seen.status == 200 and seen.body["counts"] == done["counts"]
    assert seen.body.get("report_url") is None and seen.body.get("report_expires_at") is None
    # And the customers are as the rows say
    updated = api("GET", f"/customers/{existing[0]['id']}").body
    assert updated["phone"] == "+44 7700 900123" and updated["version"] == 2
    found = api("GET", "/customers", query={"q": "Turing"}).body["items"]
    assert [(c["email"], c["date_of_birth"], c["phone"]) for c in found] == [
        ("alan@example.org", "1962-06-23", "+44 161 496 0000")]
    company = api("GET", "/customers", query={"q": "Initech"}).body["items"][0]
    assert company["type"] == "organization" and company["address"]["city"] == "London"
    history = api("GET", f"/customers/{found[0]['id']}/history").body["items"]
    assert history[0]["action"] == "created" and history[0]["by"] == f"test-staff (import {started['id']})"


def test_the_same_file_again_creates_nothing(api: Call, drain: Drain, existing: list[dict[str, Any]]) -> None:
    first = upload(api, messy_workbook())
    drain()
    before = customer_count(api)
    # When the same content is uploaded again
    second = upload(api, messy_workbook())
    drain()
    # Then nothing new is created: the rows that went in are unchanged now
    done = job(api, second["id"])
    assert done["counts"]["created"] == 0 and done["counts"]["updated"] == 0
    assert done["counts"]["unchanged"] == sum(job(api, first["id"])["counts"][k]
                                              for k in ("created", "updated", "unchanged"))
    assert customer_count(api) == before


def test_the_same_s3_event_twice_imports_once(api: Call, aws: Template, drain: Drain, context: Any) -> None:
    import import_worker

    # Given an upload whose S3 event is delivered twice (S3 may deliver an event more than once)
    sqs = boto3.client("sqs")
    started = upload(api, simple_workbook(30))
    event = upload_notice(aws)
    again = sqs_event([event], aws.queue_arn("ImportQueue"))
    # When both deliveries are handled
    assert import_worker.handler(again, context)["batchItemFailures"] == []
    assert import_worker.handler(again, context)["batchItemFailures"] == []
    sqs.delete_message(QueueUrl=aws.queue_url("ImportQueue"), ReceiptHandle=event["ReceiptHandle"])
    drain()
    # Then the rows went in once
    done = job(api, started["id"])
    assert done["status"] == "completed" and done["counts"]["created"] == 30
    assert customer_count(api) == 30


def test_a_poison_message_fails_alone(api: Call, aws: Template, drain: Drain, context: Any) -> None:
    import import_worker

    # Given an upload's S3 notice in one batch with S3's test event and three messages the queue never carries
    sqs = boto3.client("sqs")
    started = upload(api, simple_workbook(12))
    notice = upload_notice(aws)
    event = sqs_event([notice], aws.queue_arn("ImportQueue"))
    good = event["Records"][0]
    test_event = {"Service": "Amazon S3", "Event": "s3:TestEvent", "Bucket": aws.buckets()["ImportsBucket"]}
    bodies = {"test": json.dumps(test_event), "poison-1": "not json", "poison-2": '{"job_id": "no run"}',
              "poison-3": json.dumps({"Records": [{"eventSource": "aws:s3", "eventName": "ObjectCreated:Put"}]})}
    event["Records"] = [{**good, "messageId": n, "body": b} for n, b in bodies.items()] + [good]
    # When the import function gets the batch
    result = import_worker.handler(event, context)
    # Then only the three poison messages are reported failed (retried, then kept in the dead-letter queue)
    assert result == {"batchItemFailures": [{"itemIdentifier": f"poison-{n}"} for n in (1, 2, 3)]}
    # And the upload was read, and its rows go in
    sqs.delete_message(QueueUrl=aws.queue_url("ImportQueue"), ReceiptHandle=notice["ReceiptHandle"])
    assert drain() == []
    done = job(api, started["id"])
    assert done["status"] == "completed" and done["counts"]["created"] == 12


def test_a_dry_run_writes_nothing_and_commit_applies_it(api: Call, drain: Drain,
                                                          existing: list[dict[str, Any]]) -> None:
    before = customer_count(api)
    started = upload(api, messy_workbook(), dry_run=True)
    drain()
    checked = job(api, started["id"])
    assert checked["status"] == "partial" and checked["dry_run"] is True
    assert checked["counts"]["created"] == 4 and customer_count(api) == before
    assert api("GET", f"/customers/{existing[0]['id']}").body["version"] == 1
    # When the checked file is committed
    committed = api("POST", f"/imports/{started['id']}/commit")
    assert committed.status == 202 and committed.body["status"] == "queued"
    drain()
    # Then it is applied without a new upload
    done = job(api, started["id"])
    assert done["dry_run"] is False and done["status"] == "partial" and done["counts"] == checked["counts"]
    assert customer_count(api) == before + 4
    # And committing again is refused
    assert api("POST", f"/imports/{started['id']}/commit").status == 409


def test_a_commit_reports_its_own_rejections_not_the_dry_runs(api: Call, drain: Drain) -> None:
    # Given a dry run that rejected a row as a possible duplicate of a customer who is then deleted
    twin = api("POST", "/customers", body={"type": "individual", "first_name": "First0", "last_name": "Last0",
                                           "address": {"postcode": "ab10 1cd"}}).body
    book = simple_workbook(2)
    from openpyxl import load_workbook as load
    sheet_book = load(io.BytesIO(book))
    sheet = sheet_book.active
    assert sheet is not None
    sheet.delete_cols(3)  # no emails: rows are matched by name and postcode only
    out = io.BytesIO()
    sheet_book.save(out)
    started = upload(api, out.getvalue(), dry_run=True)
    drain()
    checked = job(api, started["id"])
    assert checked["counts"]["rejected"] == 1 and checked["report_url"]
    assert api("DELETE", f"/customers/{twin['id']}").status == 204
    # When the dry run is committed
    api("POST", f"/imports/{started['id']}/commit")
    drain()
    # Then the commit's outcome stands alone: no rejections, no stale report
    done = job(api, started["id"])
    assert done["status"] == "completed" and done["counts"]["created"] == 2
    assert done["errors"] == [] and done.get("report_url") is None


def test_revert_undoes_an_import_except_what_changed_since(api: Call, drain: Drain,
                                                            existing: list[dict[str, Any]]) -> None:
    before = customer_count(api)
    started = upload(api, messy_workbook())
    drain()
    turing = api("GET", "/customers", query={"q": "Turing"}).body["items"][0]
    # Given one created customer edited by staff after the import
    edited = api("PATCH", f"/customers/{turing['id']}", body={"version": 1, "phone": "0161 496 0000"})
    assert edited.status == 200
    # When the import is reverted
    job_before_revert = job(api, started["id"])
    assert api("POST", f"/imports/{started['id']}/revert").status == 202
    drain()
    # Then the other created customers are gone, the updated one is restored, the edited one kept and reported
    done = job(api, started["id"])
    imported = job_before_revert
    assert done["status"] == "reverted"
    assert done["revert_counts"] == {"removed": 3, "restored": 1, "kept": 1} and done["revert_rows_done"] == 5
    assert [e["reason"] for e in done["revert_errors"]] == [
        f"customer {turing['customer_number']} was changed after the import; not removed"]
    # And the job still says what the import did
    assert (done["counts"], done["errors"], done["rows_done"]) == (
        imported["counts"], imported["errors"], imported["rows_done"])
    assert customer_count(api) == before + 1
    restored = api("GET", f"/customers/{existing[0]['id']}").body
    assert restored.get("phone") is None and restored["version"] == 3
    assert api("GET", f"/customers/{turing['id']}").status == 200


def test_a_file_dropped_without_the_api_gets_a_job(api: Call, aws: Template, drain: Drain) -> None:
    # Given a workbook put straight into the bucket (as from the S3 console), marked as a dry run
    boto3.client("s3").put_object(Bucket=aws.buckets()["ImportsBucket"], Key="uploads/from the console.xlsx",
                                  Body=simple_workbook(5), Metadata={"dry-run": "true", "uploaded-by": "maria"})
    drain()
    listed = api("GET", "/imports").body["items"]
    assert [(j["filename"], j["created_by"], j["dry_run"], j["status"], j["counts"]["created"]) for j in listed] == [
        ("from the console.xlsx", "maria", True, "completed", 5)]


@pytest.mark.parametrize(("content", "reason"), [
    (b"", "the file is empty"),
    (b"Forename,Surname\nAda,Lovelace\n", "CSV"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600, ".xls"),
])
def test_a_file_that_is_no_workbook_fails_with_one_reason(api: Call, drain: Drain, content: bytes,
                                                          reason: str) -> None:
    started = api("POST", "/imports", body={"filename": "list.xlsx"}).body
    form = started["upload"]
    requests.post(form["url"], data=form["fields"], files={"file": ("list.xlsx", content)}, timeout=10)
    drain()
    done = job(api, started["job"]["id"])
    assert done["status"] == "failed" and reason in done["reason"]
    assert customer_count(api) == 0


def test_bad_requests_name_the_field(api: Call) -> None:
    answer = api("POST", "/imports", body={"filename": "list.csv"})
    assert answer.status == 422 and "filename" in json.dumps(answer.body)
    assert api("POST", "/imports", body={"filename": "a.xlsx", "colour": 1}).status == 422
    assert api("GET", "/imports/01JZZZZZZZZZZZZZZZZZZZZZZZ").status == 404


@pytest.fixture
def small_chunks(monkeypatch: pytest.MonkeyPatch, aws: Template) -> None:
    from crm_core import wiring

    monkeypatch.setenv("IMPORT_CHUNK_ROWS", "10")
    wiring.reset()


def test_an_import_that_dies_half_way_is_finished_by_the_retry(api: Call, drain: Drain, small_chunks: None,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    from crm_core.dal.customers import CustomerRepository
    from crm_core.errors import RetryLater

    # Given the database failing once in the middle of a chunk, after some of its customers were written
    real = CustomerRepository._transact
    calls = {"n": 0}

    def flaky(self: CustomerRepository, actions: Any, claims: Any) -> None:
        calls["n"] += 1
        if calls["n"] == 15:
            raise RetryLater("the database is busy; retry shortly")
        real(self, actions, claims)

    monkeypatch.setattr(CustomerRepository, "_transact", flaky)
    started = upload(api, simple_workbook(30))
    # When the failed message is delivered again
    failed = drain(keep_failed=True)
    assert len(failed) == 1 and json.loads(failed[0])["chunk"] == 1
    assert drain() == []
    # Then the import completes with each row once, and the job shows both tries
    done = job(api, started["id"])
    assert done["status"] == "completed" and done["counts"]["created"] == 30 and done["rows_done"] == 30
    assert customer_count(api) == 30
    assert [(a["stage"], a["error"]) for a in done["attempts"]] == [
        ("chunk 2 of 3", "the database is busy; retry shortly")]


def test_rows_the_database_keeps_refusing_make_the_job_partial_and_are_named(
        api: Call, drain: Drain, monkeypatch: pytest.MonkeyPatch) -> None:
    from crm_core.aws import client
    from crm_core.dal.dynamo import Backoff

    # Given DynamoDB leaving one customer's items unprocessed on every try (as it may under load)
    monkeypatch.setattr(Backoff, "pause", lambda self, attempt: None)
    ddb = client("dynamodb")
    real = ddb.batch_write_item

    def unprocessed(**kwargs: Any) -> dict[str, Any]:
        (table, requests_), = kwargs["RequestItems"].items()
        stuck = [r for r in requests_ if "person7@" in json.dumps(r) or "last7" in json.dumps(r)]
        keep = [r for r in requests_ if r not in stuck]
        answer = real(RequestItems={table: keep}) if keep else {"UnprocessedItems": {}}
        if stuck:
            answer["UnprocessedItems"] = {table: stuck}
        return answer

    monkeypatch.setattr(ddb, "batch_write_item", unprocessed)
    started = upload(api, simple_workbook(12))
    drain()
    # Then the job is partial, not completed, and names the row; the customer was not half-written
    done = job(api, started["id"])
    assert done["status"] == "partial" and done["counts"] == {"created": 11, "updated": 0, "unchanged": 0,
                                                             "rejected": 1}
    assert [(e["row"], e["column"]) for e in done["errors"]] == [(9, None)]
    assert "import the row again" in done["errors"][0]["reason"]
    assert api("GET", "/customers", query={"q": "person7"}).body["items"] == []
    assert customer_count(api) == 11


def test_the_same_s3_event_at_the_same_time_imports_once(api: Call, aws: Template, drain: Drain,
                                                         context: Any) -> None:
    import threading

    import import_worker

    sqs = boto3.client("sqs")
    started = upload(api, simple_workbook(20))
    message = upload_notice(aws)
    event = sqs_event([message], aws.queue_arn("ImportQueue"))
    results: list[dict[str, Any]] = []
    threads = [threading.Thread(target=lambda: results.append(import_worker.handler(event, context)))
               for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # One delivery reads the file; one that overlaps it fails (and is retried later) instead of reading it again
    assert len(results) == 2
    sqs.delete_message(QueueUrl=aws.queue_url("ImportQueue"), ReceiptHandle=message["ReceiptHandle"])
    if any(r["batchItemFailures"] for r in results):
        assert import_worker.handler(event, context)["batchItemFailures"] == []  # the retry, after the first
    drain()
    done = job(api, started["id"])
    assert done["status"] == "completed" and done["counts"]["created"] == 20
    assert customer_count(api) == 20


def test_a_chunk_delivered_again_after_it_was_counted_changes_nothing_and_revert_still_restores(
        api: Call, aws: Template, drain: Drain, existing: list[dict[str, Any]]) -> None:
    # Given an applied import that updated a customer
    started = upload(api, messy_workbook())
    drain()
    before = job(api, started["id"])
    # When its chunk is delivered once more (SQS delivers at least once)
    boto3.client("sqs").send_message(QueueUrl=aws.queue_url("ImportQueue"),
                                     MessageBody=json.dumps({"job_id": started["id"], "run": 1, "chunk": 0}))
    drain()
    # Then the job's counts and errors are as they were, and a revert still restores the updated customer
    after = job(api, started["id"])
    assert (after["counts"], after["errors"]) == (before["counts"], before["errors"])
    api("POST", f"/imports/{started['id']}/revert")
    drain()
    assert job(api, started["id"])["revert_counts"]["restored"] == 1
    assert api("GET", f"/customers/{existing[0]['id']}").body.get("phone") is None


def test_a_fault_while_reading_fails_the_job_with_a_reason_instead_of_leaving_it_running(
        api: Call, drain: Drain, monkeypatch: pytest.MonkeyPatch) -> None:
    from crm_core.imports import service

    # Given a reader that meets something no one foresaw
    def unforeseen(*args: Any, **kwargs: Any) -> Any:
        raise TypeError("an unforeseen cell")

    monkeypatch.setattr(service, "check_workbook", unforeseen)
    started = upload(api, simple_workbook(3))
    # When the upload is read
    assert drain() == []
    # Then the job is failed, with a reason staff can act on, and nothing was written
    done = job(api, started["id"])
    assert done["status"] == "failed" and done["reason"].startswith("the workbook could not be read (TypeError)")
    assert customer_count(api) == 0


def test_a_dry_run_checked_again_with_a_mapping_then_committed(api: Call, aws: Template, drain: Drain) -> None:
    # Given a dry run of a list whose "Name" column holds companies
    from staff_lists import companies_under_name

    started = upload(api, companies_under_name(), filename="suppliers.xlsx", dry_run=True)
    drain()
    assert job(api, started["id"])["mapping"][0]["field"] == "full_name"
    # When it is checked again with staff's mapping, and that check is delivered twice
    answer = api("POST", f"/imports/{started['id']}/dry-run", body={"mapping": {"Name": "organization_name"}})
    assert answer.status == 202 and answer.body["status"] == "queued" and answer.body["run"] == 2
    assert drain() == []
    checked = job(api, started["id"])
    assert (checked["status"], checked["read_run"], checked["counts"]["created"]) == ("completed", 2, 2)
    boto3.client("sqs").send_message(QueueUrl=aws.queue_url("ImportQueue"), MessageBody=json.dumps(
        {"job_id": started["id"], "run": 2, "start": True, "read": True}))
    assert drain() == []
    assert job(api, started["id"])["counts"] == checked["counts"]
    # Then the commit applies the rows as the mapping reads them
    assert api("POST", f"/imports/{started['id']}/commit").status == 202
    drain()
    done = job(api, started["id"])
    assert (done["status"], done["counts"]["created"]) == ("completed", 2)
    found = api("GET", "/customers", query={"q": "Globex"}).body["items"]
    assert [(c["type"], c["organization_name"]) for c in found] == [("organization", "Globex Corporation")]
    # And a dry run that is not allowed any more says why
    again = api("POST", f"/imports/{started['id']}/dry-run", body={"date_order": "day_first"})
    assert again.status == 409 and "wrote customers" in again.body["error"]["message"]


def test_a_run_the_queue_would_not_take_leaves_the_import_as_it_was(api: Call, drain: Drain) -> None:
    from botocore.stub import Stubber

    from crm_core.aws import client

    def as_seen(j: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in j.items() if k not in ("report_url", "report_expires_at")}  # links made per read

    # Given a finished dry run, with rejected rows and their report
    started = upload(api, messy_workbook(), dry_run=True)
    drain()
    checked = job(api, started["id"])
    assert checked["status"] == "partial" and checked["errors"] and checked["report_url"]
    # When staff check it again with other options, or commit it, while the import queue is failing
    for path, body in ((f"/imports/{started['id']}/dry-run", {"date_order": "month_first", "sheet": "Other"}),
                       (f"/imports/{started['id']}/commit", None)):
        with Stubber(client("sqs")) as sqs:
            sqs.add_client_error("send_message_batch", "ServiceUnavailable", "the service is unavailable",
                                 http_status_code=503)
            answer = api("POST", path, body=body)
            sqs.assert_no_pending_responses()
        # Then they get a clear answer to try again
        assert answer.status == 503 and answer.headers["Retry-After"]
        assert answer.body["error"]["message"] == (f"import {started['id']} was left as it was: the import queue is "
                                                   "not available; retry shortly")
        # And the import is exactly as it was: its options, results and report kept, nothing queued
        after = job(api, started["id"])
        assert as_seen(after) == as_seen(checked) and after["report_url"]
        assert drain() == []
    # And asking again when the queue is back works
    assert api("POST", f"/imports/{started['id']}/commit").status == 202
    drain()
    done = job(api, started["id"])
    assert (done["status"], done["dry_run"], done["run"], done["counts"]) == ("partial", False, 2, checked["counts"])
