"""Every function reports what it did as CloudWatch metrics (EMF lines on stdout, as Lambda ships them)."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import boto3
import pytest

from crm_core import wiring
from crm_local.events import sqs_event
from crm_local.template import Template
from import_books import simple_workbook
from integration.conftest import Call
from integration.test_imports import Drain, drain, upload  # noqa: F401 - the drain fixture

ADA = {"type": "individual", "first_name": "Ada", "last_name": "Lovelace"}


def emitted(output: str) -> tuple[Counter[str], set[str]]:
    """The metrics of the EMF lines printed: their sums by name, and the namespaces they went to."""
    sums: Counter[str] = Counter()
    namespaces = set()
    for line in output.splitlines():
        if not line.startswith("{") or '"_aws"' not in line:
            continue
        blob: dict[str, Any] = json.loads(line)
        for directive in blob["_aws"]["CloudWatchMetrics"]:
            namespaces.add(directive["Namespace"])
            for metric in directive["Metrics"]:
                value = blob[metric["Name"]]
                sums[metric["Name"]] += sum(value) if isinstance(value, list) else value
    return sums, namespaces


def test_each_api_answer_counts_as_its_outcome(api: Call, aws: Template, capsys: pytest.CaptureFixture[str]) -> None:
    # Given staff creating a customer, then asking for one that does not exist
    assert api("POST", "/customers", body=ADA).status == 201
    assert api("GET", "/customers/01JZZZZZZZZZZZZZZZZZZZZZZZ").status == 404
    # When the metrics the function printed are read
    sums, namespaces = emitted(capsys.readouterr().out)
    # Then one answer counted ok and one as a client error, in the stack's namespace
    assert sums["ApiOk"] == 1 and sums["ApiClientError"] == 1 and sums["ApiServerError"] == 0
    assert namespaces == {aws.functions()["CustomersApiFunction"].environment["POWERTOOLS_METRICS_NAMESPACE"]}


def test_an_import_counts_its_rows_and_outcome(api: Call, drain: Drain,  # noqa: F811 - the fixture
                                               capsys: pytest.CaptureFixture[str]) -> None:
    # Given a workbook of 30 good rows, uploaded and worked through by the import function
    upload(api, simple_workbook(30))
    drain()
    # When the metrics it printed are read
    sums, _ = emitted(capsys.readouterr().out)
    # Then the rows applied, the rate, the job's outcome and its rows by outcome are there
    assert sums["ImportRowsApplied"] == 30 and sums["ImportRowsPerSecond"] > 0
    assert sums["ImportsCompleted"] == 1 and sums["ImportsFailed"] == 0
    assert sums["ImportRowsCreated"] == 30 and sums["ImportRowsRejected"] == 0


def test_a_corrupt_file_counts_as_a_failed_import(api: Call, drain: Drain,  # noqa: F811 - the fixture
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    upload(api, b"not a workbook at all")
    drain()
    sums, _ = emitted(capsys.readouterr().out)
    assert sums["ImportsFailed"] == 1 and sums["ImportsCompleted"] == 0


def test_an_export_counts_as_written_or_queued(api: Call, aws: Template, monkeypatch: pytest.MonkeyPatch,
                                               context: object, capsys: pytest.CaptureFixture[str]) -> None:
    import export_worker

    # Given two customers, and an export of one written during the request
    ids = [api("POST", "/customers", body={**ADA, "confirm_duplicate": True}).body["id"] for _ in range(2)]
    assert api("POST", "/exports", body={"format": "csv", "ids": ids[:1]}).status == 201
    # And, with the request's limit at one customer, an export of both sent to the export function
    monkeypatch.setenv("EXPORT_SYNC_LIMIT", "1")
    wiring.reset()
    assert api("POST", "/exports", body={"format": "csv", "ids": ids}).status == 202
    sums, _ = emitted(capsys.readouterr().out)
    # Then the customers API counted one export written and one queued
    assert sums["ExportsWritten"] == 1 and sums["ExportsQueued"] == 1
    # And the export function, given the queued one, counts it completed with its rows
    url = aws.queue_url("ExportQueue")
    messages = boto3.client("sqs").receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    assert export_worker.handler(sqs_event(messages, aws.queue_arn("ExportQueue")), context) == {
        "batchItemFailures": []}
    sums, _ = emitted(capsys.readouterr().out)
    assert sums["ExportsCompleted"] == 1 and sums["ExportRows"] == 2 and sums["ExportsWritten"] == 0


def test_an_import_whose_try_failed_and_was_retried_counts_the_try_not_a_failed_import(
        api: Call, drain: Drain, monkeypatch: pytest.MonkeyPatch,  # noqa: F811 - the fixture
        capsys: pytest.CaptureFixture[str]) -> None:
    from crm_core.dal.customers import CustomerRepository
    from crm_core.errors import RetryLater

    # Given the database failing once while the import function applies a workbook's rows
    real = CustomerRepository._transact
    calls = {"n": 0}

    def flaky(self: CustomerRepository, actions: Any, claims: Any) -> None:
        calls["n"] += 1
        if calls["n"] == 5:
            raise RetryLater("the database is busy; retry shortly")
        real(self, actions, claims)

    monkeypatch.setattr(CustomerRepository, "_transact", flaky)
    upload(api, simple_workbook(10))
    # When the failed message is delivered again and the import completes
    assert len(drain(keep_failed=True)) == 1
    assert drain() == []
    sums, _ = emitted(capsys.readouterr().out)
    # Then the failed try is counted as one, and the import once, as completed
    assert sums["ImportTriesFailed"] == 1 and sums["ImportsFailed"] == 0 and sums["ImportsCompleted"] == 1


def test_an_import_that_fails_on_every_try_counts_each_try_and_no_finished_import(
        api: Call, drain: Drain, monkeypatch: pytest.MonkeyPatch,  # noqa: F811 - the fixture
        capsys: pytest.CaptureFixture[str]) -> None:
    from crm_core.dal.customers import CustomerRepository
    from crm_core.errors import RetryLater

    def down(self: CustomerRepository, actions: Any, claims: Any) -> None:
        raise RetryLater("the database is busy; retry shortly")

    # Given the database refusing every write while a workbook's rows are applied
    monkeypatch.setattr(CustomerRepository, "_transact", down)
    upload(api, simple_workbook(10))
    # When its message is tried three times
    for _ in range(3):
        assert len(drain(keep_failed=True)) == 1
    sums, _ = emitted(capsys.readouterr().out)
    # Then each try counts, and no import is counted as ended
    assert sums["ImportTriesFailed"] == 3 and sums["ImportsFailed"] == 0 and sums["ImportsCompleted"] == 0


def test_a_check_again_that_cannot_read_the_workbook_counts_as_a_failed_import(
        api: Call, drain: Drain, capsys: pytest.CaptureFixture[str]) -> None:  # noqa: F811 - the fixture
    # Given a finished dry run
    started = upload(api, simple_workbook(3), dry_run=True)
    drain()
    capsys.readouterr()
    # When staff check it again naming a sheet the workbook does not have
    answer = api("POST", f"/imports/{started['id']}/dry-run", body={"sheet": "Nope"})
    assert answer.status == 202
    assert drain() == []
    failed = api("GET", f"/imports/{started['id']}").body
    sums, _ = emitted(capsys.readouterr().out)
    # Then the import ends failed, saying why, and counts once as a failed import
    assert failed["status"] == "failed" and "Nope" in failed["reason"]
    assert sums["ImportsFailed"] == 1 and sums["ImportTriesFailed"] == 0
