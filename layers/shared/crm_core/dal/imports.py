"""Import jobs in the customers table; their files in the upload bucket; their work on the import queue.

Table items:

- import job: ``IMPORT#<id>`` / ``JOB``; GSI1 ``IMPORTS`` / ``<id>``. Get by id; list newest first.
- chunk done: ``IMPORT#<id>`` / ``CHUNK#<run>#<n>``, written in the same transaction that adds the chunk's
  counts to the job, so a chunk delivered twice is counted once. Expires with the job's files.
- chunk numbers: ``IMPORT#<id>`` / ``NUMBERS#<run>#<n>``: the customer numbers set aside for the chunk's new
  customers, before any is written; a retry of the chunk uses the same ones (and knows it is a retry).

Bucket keys (the bucket expires them; see template.yaml):

- ``uploads/<job id>/<file name>``: the workbook staff upload (any other ``uploads/…`` key is a drop without
  a job, which gets one).
- ``imports/<job id>/rows/<n>.jsonl.gz``: the rows of chunk n that passed their own rules, ready to apply.
- ``imports/<job id>/rejected.jsonl.gz``: the rows refused while reading, with their cells and problems.
- ``imports/<job id>/run-<r>/outcomes-<n>-<try>.jsonl.gz``: what a try of run r did to each row of chunk n;
  the chunk's marker names the try that was counted (two tries at once never mix their outcomes).
- ``imports/<job id>/report.xlsx``: the rejected rows in the uploader's columns, with an error column.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterable, Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from crm_core.clock import utcnow
from crm_core.dal.dynamo import ConditionFailed, call, error_code, from_item, key, query_all, to_item, transact
from crm_core.dal.exports import S3_THROTTLING
from crm_core.dal.queues import Queue
from crm_core.errors import RetryLater
from crm_core.models.imports import Attempt, ImportJob, Upload, job_fields
from crm_core.models.messages import ImportWork

JOB = "JOB"
LISTING = "IMPORTS"
KEEP_DAYS = 30  # how long an import's files and chunk markers are kept (the bucket's lifecycle agrees)


def job_pk(job_id: str) -> str:
    return f"IMPORT#{job_id}"


def upload_key(job_id: str, filename: str) -> str:
    return f"uploads/{job_id}/{filename}"


def rows_key(job_id: str, chunk: int) -> str:
    return f"imports/{job_id}/rows/{chunk:05d}.jsonl.gz"


def rejected_key(job_id: str) -> str:
    return f"imports/{job_id}/rejected.jsonl.gz"


def outcomes_key(job_id: str, run: int, chunk: int, attempt: str) -> str:
    """Each try of a chunk writes its own outcomes; the chunk's marker names the one that was counted."""
    return f"imports/{job_id}/run-{run}/outcomes-{chunk:05d}-{attempt}.jsonl.gz"


def report_key(job_id: str) -> str:
    return f"imports/{job_id}/report.xlsx"


class JobMissing(Exception):
    pass


class JobMoved(Exception):
    """The job is no longer in the state the change expected (another request or delivery moved it)."""


class ImportJobRepository:
    def __init__(self, ddb: Any, table: str) -> None:
        self._ddb = ddb
        self._table = table

    def create(self, job: ImportJob) -> bool:
        """Store a new job; False if a job with this id is already there (a redelivered upload)."""
        item = {**job_fields(job), "PK": job_pk(job.id), "SK": JOB, "GSI1PK": LISTING, "GSI1SK": job.id}
        try:
            call(self._ddb.put_item, TableName=self._table, Item=to_item(item),
                 ConditionExpression="attribute_not_exists(PK)")
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def get(self, job_id: str) -> ImportJob | None:
        answer = call(self._ddb.get_item, TableName=self._table, Key=key(job_pk(job_id), JOB), ConsistentRead=True)
        if "Item" not in answer:
            return None
        values = from_item(answer["Item"])
        return ImportJob.model_validate({k: v for k, v in values.items() if k not in _KEYS})

    def newest(self, limit: int, before: str | None) -> tuple[list[ImportJob], str | None]:
        request: dict[str, Any] = {
            "TableName": self._table, "IndexName": "GSI1", "ScanIndexForward": False, "Limit": limit,
            "KeyConditionExpression": "GSI1PK = :pk" + (" AND GSI1SK < :before" if before else ""),
            "ExpressionAttributeValues": {":pk": {"S": LISTING}, **({":before": {"S": before}} if before else {})},
            "ProjectionExpression": "GSI1SK",
        }
        answer = call(self._ddb.query, **request)
        ids = [i["GSI1SK"]["S"] for i in answer.get("Items", [])]
        jobs = [job for job in (self.get(i) for i in ids) if job is not None]
        return jobs, (ids[-1] if "LastEvaluatedKey" in answer and ids else None)

    def change(self, job_id: str, fields: dict[str, Any], *, statuses: Iterable[str] | None = None,
               run: int | None = None, remove: Iterable[str] = ()) -> None:
        """Set ``fields`` (and remove ``remove``) if the job is in one of ``statuses`` and at ``run``."""
        names: dict[str, str] = {}
        values: dict[str, Any] = {}
        sets = []
        for n, (name, value) in enumerate(fields.items()):
            names[f"#f{n}"] = name
            values[f":f{n}"] = _json(value)
            sets.append(f"#f{n} = :f{n}")
        removes = []
        for n, name in enumerate(remove):
            names[f"#r{n}"] = name
            removes.append(f"#r{n}")
        conditions = ["attribute_exists(PK)"]
        if statuses is not None:
            names["#status"] = "status"
            options = []
            for n, status in enumerate(statuses):
                values[f":s{n}"] = status
                options.append(f":s{n}")
            conditions.append(f"#status IN ({', '.join(options)})")
        if run is not None:
            names["#run"] = "run"
            values[":run"] = run
            conditions.append("#run = :run")
        expression = (f"SET {', '.join(sets)}" if sets else "") + (f" REMOVE {', '.join(removes)}" if removes else "")
        try:
            call(self._ddb.update_item, TableName=self._table, Key=key(job_pk(job_id), JOB),
                 UpdateExpression=expression.strip(), ConditionExpression=" AND ".join(conditions),
                 ExpressionAttributeNames=names, ExpressionAttributeValues=to_item(values))
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                raise (JobMoved() if self.get(job_id) else JobMissing()) from None
            raise

    def add_attempt(self, job_id: str, attempt: Attempt) -> None:
        """Note a try that failed part-way (the job shows every try)."""
        call(self._ddb.update_item, TableName=self._table, Key=key(job_pk(job_id), JOB),
             UpdateExpression="SET attempts = list_append(if_not_exists(attempts, :none), :one)",
             ConditionExpression="attribute_exists(PK)",
             ExpressionAttributeValues=to_item({":none": [], ":one": [attempt.model_dump(mode="json")]}))

    def chunk_done(self, job_id: str, run: int, chunk: int, counts: dict[str, int], rows: int, outcomes: str,
                   counts_field: str = "counts", rows_field: str = "rows_done") -> bool:
        """Add a chunk's counts to the job once: False if this chunk of this run was counted already."""
        names = {"#run": "run", "#c": counts_field, "#rows": rows_field, "#chunks": "chunks_done"}
        values: dict[str, Any] = {":run": run, ":rows": rows, ":one": 1}
        adds = ["#rows :rows", "#chunks :one"]
        for n, (name, count) in enumerate(counts.items()):
            names[f"#k{n}"] = name
            values[f":k{n}"] = count
            adds.append(f"#c.#k{n} :k{n}")
        marker = {"PK": job_pk(job_id), "SK": f"CHUNK#{run:03d}#{chunk:05d}", "outcomes": outcomes,
                  "expiration": int((utcnow() + timedelta(days=KEEP_DAYS)).timestamp())}
        try:
            transact(self._ddb, [
                ("marker", {"Put": {"TableName": self._table, "Item": to_item(marker),
                                    "ConditionExpression": "attribute_not_exists(PK)"}}),
                ("job", {"Update": {"TableName": self._table, "Key": key(job_pk(job_id), JOB),
                                    "UpdateExpression": "ADD " + ", ".join(adds),
                                    "ConditionExpression": "#run = :run",
                                    "ExpressionAttributeNames": names,
                                    "ExpressionAttributeValues": to_item(values)}}),
            ])
        except ConditionFailed as failed:
            if failed.tag == "marker":
                return False
            raise JobMoved() from failed
        return True

    def numbers(self, job_id: str, run: int, chunk: int) -> dict[int, str] | None:
        """The customer numbers a try of this chunk set aside for its new customers (None: no try got that far)."""
        answer = call(self._ddb.get_item, TableName=self._table,
                      Key=key(job_pk(job_id), f"NUMBERS#{run:03d}#{chunk:05d}"), ConsistentRead=True)
        if "Item" not in answer:
            return None
        return {int(row): str(number) for row, number in from_item(answer["Item"])["numbers"].items()}

    def keep_numbers(self, job_id: str, run: int, chunk: int, numbers: dict[int, str]) -> dict[int, str]:
        """Set the chunk's numbers aside before anything is written with them, so that a retry writes its
        customers under the same numbers; if a concurrent try got there first, its numbers are the ones."""
        item = {"PK": job_pk(job_id), "SK": f"NUMBERS#{run:03d}#{chunk:05d}",
                "numbers": {str(row): number for row, number in numbers.items()},
                "expiration": int((utcnow() + timedelta(days=KEEP_DAYS)).timestamp())}
        try:
            call(self._ddb.put_item, TableName=self._table, Item=to_item(item),
                 ConditionExpression="attribute_not_exists(PK)")
        except ClientError as exc:
            if error_code(exc) != "ConditionalCheckFailedException":
                raise
            return self.numbers(job_id, run, chunk) or numbers
        return numbers

    def chunk_markers(self, job_id: str, run: int) -> dict[int, str]:
        """The chunks of a run counted so far, and the outcomes file each counted try wrote."""
        items = query_all(self._ddb, TableName=self._table, KeyConditionExpression="PK = :pk AND begins_with(SK, :c)",
                          ExpressionAttributeValues={":pk": {"S": job_pk(job_id)}, ":c": {"S": f"CHUNK#{run:03d}#"}},
                          ProjectionExpression="SK, outcomes")
        return {int(i["SK"]["S"].rsplit("#", 1)[1]): i["outcomes"]["S"] for i in items}


_KEYS = ("PK", "SK", "GSI1PK", "GSI1SK", "expiration")


def _json(value: Any) -> Any:
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json", exclude_none=True)
    if isinstance(value, list):
        return [_json(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    return value


# ---- cells as JSON: dates keep their type through the chunk files and back into the report ----------------

def encode_cell(value: Any) -> Any:
    if isinstance(value, datetime):
        return {"$dt": value.isoformat()}
    if isinstance(value, date):
        return {"$d": value.isoformat()}
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def decode_cell(value: Any) -> Any:
    if isinstance(value, dict):
        if "$dt" in value:
            return datetime.fromisoformat(value["$dt"])
        if "$d" in value:
            return date.fromisoformat(value["$d"])
    return value


class ImportFiles:
    """The upload bucket: workbooks in, chunk and outcome files, report workbooks out."""

    def __init__(self, s3: Any, bucket: str) -> None:
        self._s3 = s3
        self.bucket = bucket

    def upload_form(self, key_name: str, max_bytes: int, seconds: int) -> Upload:
        form = self._call(self._s3.generate_presigned_post, Bucket=self.bucket, Key=key_name,
                          Conditions=[["content-length-range", 1, max_bytes]], ExpiresIn=seconds)
        return Upload(url=form["url"], fields=form["fields"], expires_at=utcnow() + timedelta(seconds=seconds),
                      max_bytes=max_bytes)

    def download(self, key_name: str, path: Path, version: str | None = None) -> None:
        extra = {"VersionId": version} if version else None
        self._call(self._s3.download_file, self.bucket, key_name, str(path), ExtraArgs=extra)

    def metadata(self, key_name: str) -> dict[str, str]:
        answer = self._call(self._s3.head_object, Bucket=self.bucket, Key=key_name)
        return dict(answer.get("Metadata", {}))

    def put_lines(self, key_name: str, records: Iterable[dict[str, Any]]) -> None:
        body = gzip.compress("".join(json.dumps(r, separators=(",", ":")) + "\n" for r in records).encode(), 6)
        self._call(self._s3.put_object, Bucket=self.bucket, Key=key_name, Body=body,
                   ContentType="application/x-ndjson", ContentEncoding="gzip")

    def lines(self, key_name: str) -> Iterator[dict[str, Any]]:
        try:
            answer = self._call(self._s3.get_object, Bucket=self.bucket, Key=key_name)
        except ClientError as exc:
            if error_code(exc) in ("NoSuchKey", "404"):
                return
            raise
        with gzip.GzipFile(fileobj=answer["Body"]) as stream:
            for line in stream:
                yield json.loads(line)

    def put_file(self, key_name: str, path: Path, content_type: str) -> None:
        self._call(self._s3.upload_file, str(path), self.bucket, key_name, ExtraArgs={"ContentType": content_type})

    def link(self, key_name: str, seconds: int, filename: str) -> str:
        url: str = self._call(self._s3.generate_presigned_url, "get_object", ExpiresIn=seconds, Params={
            "Bucket": self.bucket, "Key": key_name,
            "ResponseContentDisposition": f'attachment; filename="{filename}"'})
        return url

    @staticmethod
    def _call(operation: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return operation(*args, **kwargs)
        except ClientError as exc:
            if error_code(exc) in S3_THROTTLING:
                raise RetryLater("the file store is busy; retry shortly") from exc
            raise


class ImportQueue:
    """Work for the import function: one message per chunk of rows (and one to start a run)."""

    def __init__(self, sqs: Any, url: str) -> None:
        self._queue = Queue(sqs, url, "the import queue")

    def send(self, messages: list[dict[str, Any]]) -> None:
        self._queue.send([ImportWork.model_validate(m) for m in messages])
