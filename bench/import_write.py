"""Spreadsheet import into DynamoDB: wall time, items written per customer, and how full the batches are.

A moto account (in-process), fresh for each size, gets the tables, bucket and queues of template.yaml, as
tests/conftest.py builds them, with the environment of the tests, then ImportFunction's environment from
the template (``IMPORT_CHUNK_ROWS=1000``, set again here) with the log level kept at WARNING. As in
tests/integration/test_imports.py, the bucket is versioned and tells the ImportQueue of every object under
``uploads/``.

Each pass puts a workbook of N distinct individuals with emails (``tests/import_books.simple_workbook``)
straight into the bucket under ``uploads/`` (a file dropped without the API gets a job of its own), then
drains the queue one message at a time, as the template's event source mapping does (BatchSize 1), through
``import_worker.handler``. The wall time runs from the upload until the queue is empty and the job is over:
reading the workbook into chunks (the S3 message) plus applying the chunks. The same file is then uploaded
again to the same key (a new version, so a new job), with every row unchanged.

A ``before-call`` / ``after-call`` hook on the import function's DynamoDB client (``crm_core.aws.client``,
shared by the import service, the customer service and the idempotency layer) counts every call by
operation, the items each write request carries, by the kind of item (the PK prefix: ``S#`` / ``P#``,
``EMAIL#`` / ``USERNAME#``, ``CUSTNO#``, ``CUST#…HIST#``, ``CUST#…PROFILE``, ``IMPORT#``, …), and the keys
each BatchGetItem asks for. Items written are those of every BatchWriteItem request, every Put / Update /
Delete of a TransactWriteItems (not ConditionCheck), and every PutItem / UpdateItem / DeleteItem.

Nothing passes or fails on timing; the targets line says whether the batch fill and transaction counts are
as the import means them to be. Run:

    .venv/bin/python bench/import_write.py            # 2,000 and 10,000 rows
    .venv/bin/python bench/import_write.py --quick    # 500 and 2,000 rows
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import sys
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
from moto import mock_aws

from crm_core import wiring
from crm_core.aws import client
from crm_core.dal.dynamo import BATCH_GET_MAX, BATCH_WRITE_MAX
from crm_core.dal.search import is_search_item
from crm_core.imports.store import ImportJobRepository
from crm_core.models.imports import FINISHED, ImportJob
from crm_local import emulator
from crm_local.events import sqs_event
from crm_local.template import Template
from report import count, seconds, table
from search_reads import BENCH_ENV, environment, progress

emulator.install()  # moto's DynamoDB at the cost of the items (transactions copy only theirs), as everywhere

ROOT = Path(__file__).resolve().parents[1]
WORKER = ROOT / "functions" / "sync"  # import_worker
TESTS = ROOT / "tests"  # import_books

SIZES = (2_000, 10_000)
QUICK_SIZES = (500, 2_000)
CHUNK_ROWS = 1000
UPLOAD_KEY = "uploads/bench-{size}.xlsx"
AGAIN_KEY = "uploads/bench-{size} (again).xlsx"
MAX_MESSAGES = 10_000  # a queue that is still not empty after this many messages is a bug, not a slow run

TARGET_WRITE_FILL = 22  # of BATCH_WRITE_MAX items a BatchWriteItem call
TARGET_GET_FILL = 90  # of BATCH_GET_MAX keys a BatchGetItem call
AT_LEAST = "\N{GREATER-THAN OR EQUAL TO}"

OPERATIONS = ("BatchWriteItem", "TransactWriteItems", "BatchGetItem", "PutItem", "UpdateItem", "DeleteItem",
              "Query", "GetItem")
# The kinds of item, by key; the first six are the customer's own, the others the import's bookkeeping.
TERMS, CLAIMS, LOOKUP, HISTORY, PROFILE, SYNC, OTHER_CUSTOMER = (
    "search items", "claims", "number lookup", "history", "profile", "accounting sync marker", "other customer items")
JOB, IDEMPOTENCY, COUNTER, OTHER = "import job + chunk markers", "idempotency record", "number counter", "other"
CUSTOMER_KINDS = (TERMS, CLAIMS, LOOKUP, HISTORY, PROFILE, SYNC, OTHER_CUSTOMER)
OPTIONAL_KINDS = (SYNC, OTHER_CUSTOMER, OTHER)  # shown only when written
BOOKKEEPING_KINDS = (JOB, IDEMPOTENCY, COUNTER, OTHER)


def kind_of(pk: str, sk: str) -> str:
    if is_search_item(pk):
        return TERMS
    if pk.startswith(("EMAIL#", "USERNAME#")):
        return CLAIMS
    if pk.startswith("CUSTNO#"):
        return LOOKUP
    if pk.startswith("CUST#"):
        if sk.startswith("HIST#"):
            return HISTORY
        return PROFILE if sk == "PROFILE" else SYNC if sk == "ACCTSYNC" else OTHER_CUSTOMER
    if pk.startswith("IMPORT#"):
        return JOB
    if pk.startswith("IDEMPOTENCY#"):
        return IDEMPOTENCY
    if pk == "COUNTER":
        return COUNTER
    return OTHER


def _kind(item_or_key: dict[str, Any]) -> str:
    return kind_of(item_or_key.get("PK", {}).get("S", ""), item_or_key.get("SK", {}).get("S", ""))


# ---- the meter ----------------------------------------------------------------------------------------

@dataclass
class WriteMeter:
    """DynamoDB calls of one client, by operation, with the items written and the keys read.

    ``before-call`` sees each request as sent (the JSON body), once per API call whatever botocore retries;
    ``after-call`` sees each answer (errors, UnprocessedItems / UnprocessedKeys, items found).
    """

    calls: Counter[str] = field(default_factory=Counter)
    failed: Counter[str] = field(default_factory=Counter)
    written: Counter[str] = field(default_factory=Counter)  # kind -> items
    batch_write_items: int = 0
    batch_get_keys: Counter[str] = field(default_factory=Counter)  # kind -> keys asked for
    batch_get_found: int = 0
    unprocessed: int = 0
    transactions: Counter[str] = field(default_factory=Counter)  # "customer" (holds a profile) / JOB / other
    seconds: defaultdict[str, float] = field(default_factory=lambda: defaultdict(float))  # operation -> time in calls
    jobs: list[str] = field(default_factory=list)  # import jobs created (their PutItem)
    _began: float = 0.0

    @classmethod
    def attach(cls, ddb: Any) -> WriteMeter:
        meter = cls()
        ddb.meta.events.register("before-call.dynamodb", meter._before)
        ddb.meta.events.register("after-call.dynamodb", meter._after)
        return meter

    def reset(self) -> None:
        for name, value in vars(WriteMeter()).items():
            setattr(self, name, value)

    def _before(self, model: Any, params: dict[str, Any], **_: Any) -> None:
        name = model.name
        self._began = time.perf_counter()
        self.calls[name] += 1
        body = params.get("body") or b"{}"
        request = json.loads(body.decode() if isinstance(body, bytes) else body)
        if name == "BatchWriteItem":
            for requests in request.get("RequestItems", {}).values():
                for r in requests:
                    self.batch_write_items += 1
                    target = r["PutRequest"]["Item"] if "PutRequest" in r else r["DeleteRequest"]["Key"]
                    self.written[_kind(target)] += 1
        elif name == "TransactWriteItems":
            kinds = []
            for action in request.get("TransactItems", []):
                if "Put" in action:
                    kinds.append(_kind(action["Put"]["Item"]))
                elif "Update" in action:
                    kinds.append(_kind(action["Update"]["Key"]))
                elif "Delete" in action:
                    kinds.append(_kind(action["Delete"]["Key"]))
            self.written.update(kinds)
            self.transactions["customer" if PROFILE in kinds else JOB if JOB in kinds else OTHER] += 1
        elif name == "PutItem":
            item = request.get("Item", {})
            self.written[_kind(item)] += 1
            if _kind(item) == JOB and item.get("SK", {}).get("S") == "JOB":
                self.jobs.append(item["PK"]["S"].removeprefix("IMPORT#"))
        elif name in ("UpdateItem", "DeleteItem"):
            self.written[_kind(request.get("Key", {}))] += 1
        elif name == "BatchGetItem":
            for asked in request.get("RequestItems", {}).values():
                self.batch_get_keys.update(_kind(k) for k in asked.get("Keys", []))

    def _after(self, model: Any, parsed: dict[str, Any], **_: Any) -> None:
        name = model.name
        self.seconds[name] += time.perf_counter() - self._began
        if "Error" in parsed:
            self.failed[name] += 1
        if name == "BatchWriteItem":
            self.unprocessed += sum(len(v) for v in parsed.get("UnprocessedItems", {}).values())
        elif name == "BatchGetItem":
            self.batch_get_found += sum(len(v) for v in parsed.get("Responses", {}).values())
            self.unprocessed += sum(len(v.get("Keys", [])) for v in parsed.get("UnprocessedKeys", {}).values())

    # ---- figures ----

    @property
    def customer_items(self) -> int:
        return sum(self.written[k] for k in CUSTOMER_KINDS)

    @property
    def items_written(self) -> int:
        return sum(self.written.values())

    @property
    def write_fill(self) -> float | None:
        calls = self.calls["BatchWriteItem"]
        return self.batch_write_items / calls if calls else None

    @property
    def get_fill(self) -> float | None:
        calls = self.calls["BatchGetItem"]
        return sum(self.batch_get_keys.values()) / calls if calls else None


# ---- one import, end to end ---------------------------------------------------------------------------

class FakeContext:
    """The Lambda context the handler's Powertools decorators read (as tests/integration/conftest.py)."""

    function_name = "bench-import-function"
    function_version = "$LATEST"
    memory_limit_in_mb = 1024
    invoked_function_arn = "arn:aws:lambda:eu-west-2:123456789012:function:bench-import-function"
    aws_request_id = "00000000-0000-0000-0000-000000000000"
    log_group_name = "/aws/lambda/bench-import-function"
    log_stream_name = "bench"

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 900_000


@dataclass
class Pass:
    label: str
    rows: int
    job: ImportJob
    seconds: float
    reading: float  # the S3 message: workbook read into chunks, chunks queued
    applying: float  # the chunk messages
    messages: int
    failures: int
    meter: WriteMeter

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0

    @property
    def created(self) -> int:
        return self.job.counts.created

    @property
    def claimed(self) -> int:
        """Created customers with a uniqueness claim (each simple_workbook row has an email)."""
        return self.created


@dataclass
class SizeResult:
    size: int
    first: Pass
    second: Pass


class Account:
    """A fresh moto account with the template's resources, and a way to run one upload through the queue."""

    def __init__(self, template: Template) -> None:
        from crm_local.stack import create_resources

        self.template = template
        create_resources(template)  # tables, buckets with their versioning and uploads/ → ImportQueue, queues
        s3, sqs = boto3.client("s3"), boto3.client("sqs")
        os.environ.update(template.functions()["ImportFunction"].environment)  # what the function gets in Lambda
        os.environ["IMPORT_CHUNK_ROWS"] = str(CHUNK_ROWS)
        os.environ["POWERTOOLS_LOG_LEVEL"] = BENCH_ENV["POWERTOOLS_LOG_LEVEL"]  # the template says INFO

        self.bucket = template.buckets()["ImportsBucket"]
        self.url = template.queue_url("ImportQueue")
        self.arn = template.queue_arn("ImportQueue")
        self.s3, self.sqs = s3, sqs
        self._drain(count_as=None)  # S3's test event, sent when the notification is set up
        # Unmetered: the benchmark's own look at the jobs
        self.jobs = ImportJobRepository(boto3.client("dynamodb"), os.environ["TABLE_NAME"])

        import import_worker

        self.worker = import_worker
        wiring.reset()  # services, clients and the upload reader's idempotency layer, of this account
        self.meter = WriteMeter.attach(client("dynamodb"))
        self.context = FakeContext()

    def run(self, label: str, key_name: str, workbook: bytes, rows: int) -> Pass:
        self.meter.reset()
        timings: dict[str, float] = {"reading": 0.0, "applying": 0.0, "messages": 0, "failures": 0}
        started = time.perf_counter()
        self.s3.put_object(Bucket=self.bucket, Key=key_name, Body=workbook)
        self._drain(count_as=timings)
        elapsed = time.perf_counter() - started
        if len(self.meter.jobs) != 1:
            raise RuntimeError(f"{label}: expected one new import job for {key_name}, found {len(self.meter.jobs)}")
        job = self.jobs.get(self.meter.jobs[0])
        if job is None or job.source_key != key_name:
            raise RuntimeError(f"{label}: the import job of {key_name} is not there")
        if job.status not in FINISHED:
            raise RuntimeError(f"{label}: the queue is empty but the job is {job.status}")
        return Pass(label, rows, job, elapsed, timings["reading"], timings["applying"], int(timings["messages"]),
                    int(timings["failures"]), copy.deepcopy(self.meter))

    def _drain(self, count_as: dict[str, float] | None) -> None:
        """Hand the queue's messages to the import function one at a time until the queue is empty."""
        for _ in range(MAX_MESSAGES):
            answer = self.sqs.receive_message(QueueUrl=self.url, MaxNumberOfMessages=1, AttributeNames=["All"],
                                              MessageAttributeNames=["All"], VisibilityTimeout=600)
            messages = answer.get("Messages", [])
            if not messages:
                return
            if count_as is None:  # setting up: S3's test event only
                self.sqs.delete_message(QueueUrl=self.url, ReceiptHandle=messages[0]["ReceiptHandle"])
                continue
            began = time.perf_counter()
            result = self.worker.handler(sqs_event(messages, self.arn), self.context)
            step = "reading" if '"Records"' in messages[0]["Body"] else "applying"
            count_as[step] += time.perf_counter() - began
            count_as["messages"] += 1
            if result.get("batchItemFailures"):
                count_as["failures"] += 1  # left on the queue: it comes back after the visibility timeout
                continue
            self.sqs.delete_message(QueueUrl=self.url, ReceiptHandle=messages[0]["ReceiptHandle"])
        raise RuntimeError("the import queue never emptied")


def measure_size(size: int) -> SizeResult:
    if str(WORKER) not in sys.path:
        sys.path.append(str(WORKER))
    if str(TESTS) not in sys.path:
        sys.path.append(str(TESTS))
    from import_books import simple_workbook

    workbook = simple_workbook(size)
    template = Template(secrets={"CursorSigningSecret": BENCH_ENV["CURSOR_SIGNING_KEY"]})
    with environment(BENCH_ENV), mock_aws():
        account = Account(template)
        progress(f"import_write: {size:,} rows, first upload")
        first = account.run("first upload", UPLOAD_KEY.format(size=size), workbook, size)
        progress(f"import_write: {size:,} rows in {seconds(first.seconds)}; the same file again")
        # Under another name: moto's S3 event carries no versionId, so a new version of the same key would
        # look like a second delivery of the first upload (same bucket, key and ETag) and be read once only.
        second = account.run("same file again", AGAIN_KEY.format(size=size), workbook, size)
        wiring.reset()
    return SizeResult(size, first, second)


# ---- report -------------------------------------------------------------------------------------------

def _fill(value: float | None, of: int) -> str:
    return "-" if value is None else f"{value:.1f} of {of}"


def _per(value: int, by: int) -> str:
    return f"{value / by:.2f}" if by else "-"


def _label(size: int) -> str:
    return f"{size:,} rows"


def render(results: list[SizeResult]) -> str:
    out = []
    passes = [(r, p) for r in results for p in (r.first, r.second)]

    rows: list[list[object]] = []
    for r, p in passes:
        c = p.job.counts
        rows.append([f"{_label(r.size)}, {p.label}", p.job.status, count(c.created), count(c.unchanged),
                     count(c.updated + c.rejected), seconds(p.seconds), seconds(p.reading), seconds(p.applying),
                     f"{p.rows_per_second:,.0f}", p.messages])
    out.append(table(["import (upload -> queue drained -> job over)", "job", "created", "unchanged",
                      "upd+rej", "wall", "reading", "applying", "rows/s", "messages"], rows))
    out.append("")

    headers = ["DynamoDB calls"]
    groups: list[tuple[str, int]] = [("", 1)]
    for r in results:
        headers += ["first", "per row", "in moto", "again", "per row", "in moto"]
        groups.append((f" {_label(r.size)} ", 6))
    rows = []
    for op in OPERATIONS:
        row: list[object] = [op]
        for r in results:
            for p in (r.first, r.second):
                row += [count(p.meter.calls[op]), _per(p.meter.calls[op], p.rows), seconds(p.meter.seconds[op])]
        rows.append(row)
    total: list[object] = ["all"]
    for r in results:
        for p in (r.first, r.second):
            n = sum(p.meter.calls.values())
            total += [count(n), _per(n, p.rows), seconds(sum(p.meter.seconds.values()))]
    rows.append(total)
    out.append(table(headers, rows, groups))
    failed = {(r.size, p.label): dict(p.meter.failed) for r, p in passes if p.meter.failed}
    if failed:
        out.append("calls that failed (counted above): " + "; ".join(
            f"{s:,} rows, {label}: " + ", ".join(f"{op} {n}" for op, n in ops.items())
            for (s, label), ops in failed.items()))
    out.append("")

    headers = ["items written (first upload)"]
    groups = [("", 1)]
    for r in results:
        headers += ["items", "per created customer"]
        groups.append((f" {_label(r.size)} ", 2))
    rows = []
    for kind in (*CUSTOMER_KINDS, "customer items", *BOOKKEEPING_KINDS, "all items"):
        row = [kind]
        for r in results:
            m = r.first.meter
            n = m.customer_items if kind == "customer items" else m.items_written if kind == "all items" \
                else m.written[kind]
            row += [count(n), _per(n, r.first.created)]
        if kind in OPTIONAL_KINDS and not any(r.first.meter.written[kind] for r in results):
            continue  # none here: not worth a row
        rows.append(row)
    out.append(table(headers, rows, groups))
    out.append("")

    rows = []
    for r in results:
        p = r.first
        rows.append([_label(r.size), _fill(p.meter.write_fill, BATCH_WRITE_MAX), _fill(p.meter.get_fill, BATCH_GET_MAX),
                     count(p.meter.transactions["customer"]), count(p.claimed), count(p.meter.transactions[JOB]),
                     count(p.meter.unprocessed)])
    out.append(table(["batch fill (first upload)", "BatchWrite items/call", "BatchGet keys/call",
                      "customer transactions", "created with a claim", "chunk transactions", "unprocessed"], rows))
    out.append("")

    rows = []
    for r, p in passes:
        keys = p.meter.batch_get_keys
        lookups = sum(n for kind, n in keys.items() if kind != PROFILE)
        rows.append([f"{_label(r.size)}, {p.label}", _per(lookups, p.rows), _per(keys[PROFILE], p.rows),
                     _per(p.meter.batch_get_found, p.rows), _fill(p.meter.get_fill, BATCH_GET_MAX),
                     count(p.meter.customer_items), count(p.meter.items_written)])
    out.append(table(["reads and writes per row", "lookup keys/row", "profile keys/row", "found/row",
                      "BatchGet keys/call", "customer items written", "all items written"], rows))
    out.append("")
    out.append(f"targets: BatchWriteItem {AT_LEAST} {TARGET_WRITE_FILL} of {BATCH_WRITE_MAX} items a call; "
               f"BatchGetItem {AT_LEAST} {TARGET_GET_FILL} of {BATCH_GET_MAX} keys a call;")
    out.append("         one TransactWriteItems per created customer with a claim (plus one per chunk, its marker);")
    out.append("         the same file again writes no customer item")
    out.append(verdict(results))
    out.append("")
    out.append("Items written: every item of every BatchWriteItem request, every Put/Update/Delete of a")
    out.append("TransactWriteItems (not ConditionCheck), every PutItem/UpdateItem/DeleteItem, by PK prefix:")
    out.append("S#/P# search items, EMAIL#/USERNAME# claims, CUSTNO# number lookup, CUST#..HIST# history,")
    out.append("CUST#..PROFILE profile, CUST#..ACCTSYNC accounting sync marker; IMPORT# the job and its chunk")
    out.append("markers; IDEMPOTENCY# the upload reader's record. BatchGet keys: lookup keys are the rows'")
    out.append("customer numbers, usernames and emails; profile keys the profiles of the matches and of each row's")
    out.append("own derived id (how a retried chunk finds what its earlier try created); found: items returned.")
    out.append(f"Each size runs in a fresh moto account; chunks of {CHUNK_ROWS:,} rows, one queue message at a time.")
    out.append("in moto: time inside the calls (botocore and moto, in this process). moto runs with the")
    out.append("emulator changes of crm_local/emulator.py: as released, its TransactWriteItems copies the whole")
    out.append("table for its rollback on every call (the first upload would take hours), and a Query sorts the")
    out.append("whole table. The second upload goes under another name: moto's S3 event has no versionId, so a new")
    out.append("version of the same key would look like a second delivery of the first upload and be read once.")
    return "\n".join(out)


def verdict(results: list[SizeResult]) -> str:
    missed = []
    for r in results:
        p, q = r.first, r.second
        where = _label(r.size)
        if p.meter.write_fill is not None and p.meter.write_fill < TARGET_WRITE_FILL:
            missed.append(f"{where}: BatchWriteItem {p.meter.write_fill:.1f} items a call")
        for name, m in (("first", p.meter), ("again", q.meter)):
            if m.get_fill is not None and m.get_fill < TARGET_GET_FILL:
                missed.append(f"{where} ({name}): BatchGetItem {m.get_fill:.1f} keys a call")
        if p.meter.transactions["customer"] != p.claimed:
            missed.append(f"{where}: {p.meter.transactions['customer']:,} customer transactions for "
                          f"{p.claimed:,} created customers with a claim")
        if q.meter.customer_items:
            missed.append(f"{where}: the same file again wrote {q.meter.customer_items:,} customer items")
        if p.job.counts.created != r.size or q.job.counts.unchanged != r.size:
            missed.append(f"{where}: outcomes {p.job.counts.created:,} created, then {q.job.counts.unchanged:,} "
                          "unchanged (expected every row)")
        if p.failures or q.failures:
            missed.append(f"{where}: {p.failures + q.failures} messages failed and were retried")
    return "every target met" if not missed else "MISSED: " + "; ".join(missed)


def run(quick: bool = False) -> str:
    return render([measure_size(size) for size in (QUICK_SIZES if quick else SIZES)])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help=f"sizes {QUICK_SIZES} (smoke test)")
    args = parser.parse_args(argv)
    print(run(quick=args.quick))
    return 0


if __name__ == "__main__":
    sys.exit(main())
