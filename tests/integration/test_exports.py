"""Exports through the API and the background export function, against moto."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import boto3
import pytest
from openpyxl import load_workbook

from crm_core import wiring
from crm_core.dal.exports import ExportFiles
from crm_local.events import sqs_event
from crm_local.template import Template
from integration.conftest import ADA, Call

HYPERLINK = '=HYPERLINK("http://x","y")'
EVIL = {"type": "individual", "first_name": HYPERLINK, "last_name": "+Smith", "email": "eve@example.org",
        "address": {"line1": "@home", "city": "-Leeds", "postcode": "LS1 4AP", "country": "GB"}}
STAFF_ONLY = "staff"


def _create(api: Call, body: dict[str, Any]) -> dict[str, Any]:
    created = api("POST", "/customers", body={**body, "confirm_duplicate": True})
    assert created.status == 201, created.body
    return dict(created.body)


def _object(aws: Template, export_id: str, fmt: str) -> bytes:
    bucket = aws.buckets()["ExportsBucket"]
    found: bytes = boto3.client("s3").get_object(Bucket=bucket, Key=f"exports/{export_id}.{fmt}")["Body"].read()
    return found


def _csv_rows(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))


def _queued_event(aws: Template) -> dict[str, Any]:
    sqs = boto3.client("sqs")
    url = aws.queue_url("ExportQueue")
    messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["All"])["Messages"]
    return sqs_event(messages, aws.queue_arn("ExportQueue"))


@pytest.fixture
def worker(aws: Template, context: Any) -> Any:
    import export_worker

    return lambda event: export_worker.handler(event, context)


@pytest.fixture
def background(monkeypatch: pytest.MonkeyPatch, aws: Template) -> None:
    """Every export larger than one customer runs in the background."""
    monkeypatch.setenv("EXPORT_SYNC_LIMIT", "1")
    wiring.reset()


def test_small_csv_export_is_written_at_once(api: Call, aws: Template) -> None:
    # Given two customers
    ada = _create(api, ADA)
    evil = _create(api, EVIL)
    # When a CSV of both, in chosen columns, is asked for
    answer = api("POST", "/exports", body={"format": "csv", "ids": [evil["id"], ada["id"]],
                                          "columns": ["customer_number", "first_name", "address.postcode",
                                                      "email_preferences.marketing"]})
    # Then it is written during the request, with a time-limited link
    assert answer.status == 201, answer.body
    job = answer.body
    assert job["status"] == "completed" and job["rows"] == 2 and job["missing"] == 0
    assert "X-Amz-Expires=900" in job["download_url"] or "Expires=" in job["download_url"]
    assert "ids" not in job and "key" not in job
    # And the file holds the header and one row per customer, in the order asked, formulas neutralised
    rows = _csv_rows(_object(aws, job["id"], "csv"))
    assert rows == [
        ["customer_number", "first_name", "address.postcode", "email_preferences.marketing"],
        [evil["customer_number"], "'" + HYPERLINK, "LS1 4AP", "false"],
        [ada["customer_number"], "Ada", "N1 9GU", "false"],
    ]
    # And reading it back gives the same job, with a link
    again = api("GET", f"/exports/{job['id']}")
    assert again.status == 200 and again.body["status"] == "completed" and again.body["download_url"]


def test_hyperlink_name_is_a_string_cell_in_xlsx(api: Call, aws: Template) -> None:
    # Given a customer whose first name is a formula
    evil = _create(api, EVIL)
    # When it is exported to XLSX with all contact data (no columns chosen, none saved)
    answer = api("POST", "/exports", body={"format": "xlsx", "ids": [evil["id"]]})
    assert answer.status == 201, answer.body
    sheet = load_workbook(io.BytesIO(_object(aws, answer.body["id"], "xlsx"))).active
    header = [c.value for c in sheet[1]]
    assert header[:5] == ["customer_number", "type", "status", "first_name", "last_name"]
    assert "address.line1" in header and "email_preferences.marketing" in header
    row = {h: c for h, c in zip(header, sheet[2], strict=True)}
    # Then the name is text: a string cell holding the formula's characters, never a formula
    assert row["first_name"].value == HYPERLINK
    assert row["first_name"].data_type == "s"
    assert row["first_name"].quotePrefix is True
    # And so are the other cells that begin like one
    for column, text in (("last_name", "+Smith"), ("address.line1", "@home"), ("address.city", "-Leeds")):
        assert (row[column].value, row[column].data_type, row[column].quotePrefix) == (text, "s", True)


def test_columns_default_to_the_saved_list_columns(api: Call, aws: Template) -> None:
    # Given a staff user who saved list columns (one of them not a customer field)
    ada = _create(api, ADA)
    saved = api("PUT", "/me/preferences", body={"columns": ["email", "display_badge", "customer_number"]})
    assert saved.status == 200, saved.body
    # When they export without choosing columns
    answer = api("POST", "/exports", body={"format": "csv", "ids": [ada["id"]]})
    # Then the export has their saved columns that are customer fields, in their order
    assert answer.status == 201, answer.body
    assert answer.body["columns"] == ["email", "customer_number"]
    assert _csv_rows(_object(aws, answer.body["id"], "csv"))[1] == [ADA["email"], ada["customer_number"]]


def test_unknown_columns_are_named(api: Call) -> None:
    answer = api("POST", "/exports", body={"format": "csv", "ids": ["01JB2Z6Q3M8V5K7N9P4R2T6W8X"],
                                          "columns": ["email", "password", "address.planet"]})
    assert answer.status == 422
    assert [f["field"] for f in answer.body["error"]["fields"]] == ["columns.password", "columns.address.planet"]
    assert "password" in answer.body["error"]["message"]


@pytest.mark.parametrize("body", [
    {"format": "csv"},
    {"format": "csv", "ids": ["01JB2Z6Q3M8V5K7N9P4R2T6W8X"], "search": {"q": "ada"}},
    {"format": "pdf", "ids": ["01JB2Z6Q3M8V5K7N9P4R2T6W8X"]},
    {"format": "csv", "ids": ["not-an-id"]},
])
def test_bad_requests_are_refused(api: Call, body: dict[str, Any]) -> None:
    assert api("POST", "/exports", body=body).status == 422


def test_search_export(api: Call, aws: Template) -> None:
    # Given customers of which one matches a search
    ada = _create(api, ADA)
    _create(api, EVIL)
    # When the search's customers are exported
    answer = api("POST", "/exports", body={"format": "csv", "search": {"q": "lovelace"}, "columns": ["id"]})
    # Then the file holds exactly them
    assert answer.status == 201, answer.body
    assert _csv_rows(_object(aws, answer.body["id"], "csv")) == [["id"], [ada["id"]]]


def test_large_export_runs_in_the_background(api: Call, aws: Template, worker: Any, background: None) -> None:
    # Given more customers than are exported during a request, one of them gone
    ids = [_create(api, ADA)["id"], _create(api, EVIL)["id"], "01JB2Z6Q3M8V5K7N9P4R2T6W8X"]
    # When they are exported
    answer = api("POST", "/exports", body={"format": "xlsx", "ids": ids, "columns": ["id", "first_name"]})
    # Then the export is queued
    assert answer.status == 202, answer.body
    assert answer.body["status"] == "queued" and answer.body["download_url"] is None
    assert answer.headers["Location"] == f"/exports/{answer.body['id']}"
    assert api("GET", f"/exports/{answer.body['id']}").body["status"] == "queued"
    # When the export function gets the queued message
    event = _queued_event(aws)
    message = json.loads(event["Records"][0]["body"])
    assert message["kind"] == "export" and message["job_id"] == answer.body["id"]
    assert message["correlation_id"]  # the request's id: the export function logs under it
    assert worker(event) == {"batchItemFailures": []}
    # Then the export is completed, with its link, and the file has the customers that exist
    done = api("GET", f"/exports/{answer.body['id']}").body
    assert done["status"] == "completed" and done["rows"] == 2 and done["missing"] == 1 and done["download_url"]
    sheet = load_workbook(io.BytesIO(_object(aws, done["id"], "xlsx"))).active
    assert [[c.value for c in row] for row in sheet.iter_rows()] == [["id", "first_name"], [ids[0], "Ada"],
                                                                     [ids[1], HYPERLINK]]


def test_redelivered_message_does_nothing(api: Call, aws: Template, worker: Any, background: None) -> None:
    # Given a background export that completed
    ids = [_create(api, ADA)["id"], _create(api, EVIL)["id"]]
    job_id = api("POST", "/exports", body={"format": "csv", "ids": ids}).body["id"]
    event = _queued_event(aws)
    assert worker(event) == {"batchItemFailures": []}
    before = api("GET", f"/exports/{job_id}").body
    head = boto3.client("s3").head_object(Bucket=aws.buckets()["ExportsBucket"], Key=f"exports/{job_id}.csv")
    # When the same message comes again (SQS delivers at least once)
    assert worker(event) == {"batchItemFailures": []}
    # Then the job and its file are as they were
    after = api("GET", f"/exports/{job_id}").body
    assert after["updated_at"] == before["updated_at"] and after["rows"] == before["rows"]
    again = boto3.client("s3").head_object(Bucket=aws.buckets()["ExportsBucket"], Key=f"exports/{job_id}.csv")
    assert again["LastModified"] == head["LastModified"]


def test_a_poison_message_fails_alone(api: Call, aws: Template, worker: Any, background: None) -> None:
    # Given a queued export and, in the same batch, a message that names no job
    ids = [_create(api, ADA)["id"], _create(api, EVIL)["id"]]
    job_id = api("POST", "/exports", body={"format": "csv", "ids": ids}).body["id"]
    event = _queued_event(aws)
    poison = {**event["Records"][0], "messageId": "poison-1", "body": "not json"}
    event["Records"].insert(0, poison)
    # When the export function gets the batch
    result = worker(event)
    # Then only the poison message is reported failed (it is retried, then kept in the dead-letter queue)
    assert result == {"batchItemFailures": [{"itemIdentifier": "poison-1"}]}
    # And the good one completed
    assert api("GET", f"/exports/{job_id}").body["status"] == "completed"


def test_a_failed_write_is_recorded_and_retried(api: Call, aws: Template, worker: Any, background: None,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a queued export and a bucket that refuses the file
    ids = [_create(api, ADA)["id"], _create(api, EVIL)["id"]]
    job_id = api("POST", "/exports", body={"format": "csv", "ids": ids}).body["id"]
    event = _queued_event(aws)
    def refuse(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("the bucket refused the file")

    real_upload = ExportFiles.upload
    monkeypatch.setattr(ExportFiles, "upload", refuse)
    # When the export function runs it
    result = worker(event)
    # Then the message is reported failed (SQS retries it) and the job says it failed
    assert result == {"batchItemFailures": [{"itemIdentifier": event["Records"][0]["messageId"]}]}
    failed = api("GET", f"/exports/{job_id}").body
    assert failed["status"] == "failed" and failed["error"]
    # And when the retry succeeds, the job completes
    monkeypatch.setattr(ExportFiles, "upload", real_upload)
    assert worker(event) == {"batchItemFailures": []}
    assert api("GET", f"/exports/{job_id}").body["status"] == "completed"


def test_large_search_export_is_queued(api: Call, aws: Template, worker: Any, background: None) -> None:
    # Given two customers registered today, more than a request writes
    ids = {_create(api, ADA)["id"], _create(api, EVIL)["id"]}
    # When the recent list (a search without keywords) is exported
    answer = api("POST", "/exports", body={"format": "csv", "search": {"registered_within_days": 1},
                                          "columns": ["id"]})
    assert answer.status == 202, answer.body
    assert worker(_queued_event(aws)) == {"batchItemFailures": []}
    # Then every page of the search is in the file
    rows = _csv_rows(_object(aws, answer.body["id"], "csv"))
    assert rows[0] == ["id"] and {r[0] for r in rows[1:]} == ids


def test_only_the_requester_or_an_admin_sees_an_export(api: Call) -> None:
    # Given an export made by one staff user
    ada = _create(api, ADA)
    job_id = api("POST", "/exports", body={"format": "csv", "ids": [ada["id"]]}, user="alice",
                 groups=STAFF_ONLY).body["id"]
    # When another staff user (not an admin) asks for it
    # Then it does not exist for them
    assert api("GET", f"/exports/{job_id}", user="bob", groups=STAFF_ONLY).status == 404
    # And its requester and an admin see it
    assert api("GET", f"/exports/{job_id}", user="alice", groups=STAFF_ONLY).status == 200
    assert api("GET", f"/exports/{job_id}", user="carol", groups="[admin staff]").status == 200
    # And an export that does not exist is 404 too
    assert api("GET", "/exports/01JB2Z6Q3M8V5K7N9P4R2T6W8X").status == 404
