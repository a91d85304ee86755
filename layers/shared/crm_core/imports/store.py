"""Import jobs, and mappings remembered for the next list, in the customers table.

Items:

- import job: ``IMPORT#<id>`` / ``JOB``; GSI1 ``IMPORTS`` / ``<id>``. Get by id; list newest first.
- chunk done: ``IMPORT#<id>`` / ``CHUNK#<run>#<n>``, written in the same transaction that adds the chunk's
  counts to the job, so a chunk delivered twice is counted once. Expires with the job's files.
- chunk numbers: ``IMPORT#<id>`` / ``NUMBERS#<run>#<n>``: the customer numbers set aside for the chunk's new
  customers, before any is written; a retry of the chunk uses the same ones (and knows it is a retry).

- remembered mapping: ``IMPORTMAP#<fingerprint of the headers>`` / ``MAPPING``: the mapping staff made for a
  list with these headers (the organisation's: every staff user's next list with the same headers uses it).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from crm_core.clock import utcnow
from crm_core.dal.dynamo import (
    ConditionFailed,
    batch_get,
    call,
    error_code,
    from_item,
    key,
    query_all,
    to_item,
    transact,
)
from crm_core.imports.files import KEEP_DAYS
from crm_core.models.imports import Attempt, ImportJob, RememberedMapping, job_fields

JOB = "JOB"
LISTING = "IMPORTS"


def job_pk(job_id: str) -> str:
    return f"IMPORT#{job_id}"


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




class MappingRepository:
    """Mappings staff made, by the fingerprint of the headers they were made for."""

    def __init__(self, ddb: Any, table: str) -> None:
        self._ddb = ddb
        self._table = table

    def get_many(self, fingerprints: list[str]) -> dict[str, RememberedMapping]:
        """The mappings kept for any of these headers (at most 100 fingerprints: one BatchGetItem)."""
        if not fingerprints:
            return {}
        keys = [key(f"IMPORTMAP#{f}", "MAPPING") for f in dict.fromkeys(fingerprints)]
        if len(keys) == 1:  # the header found: one GetItem
            answer = call(self._ddb.get_item, TableName=self._table, Key=keys[0])
            items = [answer["Item"]] if "Item" in answer else []
        else:
            items = batch_get(self._ddb, self._table, keys)
        found = [RememberedMapping.model_validate({k: v for k, v in from_item(i).items() if k not in _KEYS})
                 for i in items]
        return {m.fingerprint: m for m in found}

    def put(self, mapping: RememberedMapping) -> None:
        item = {**mapping.model_dump(mode="json", exclude_none=True), "PK": f"IMPORTMAP#{mapping.fingerprint}",
                "SK": "MAPPING"}
        call(self._ddb.put_item, TableName=self._table, Item=to_item(item))
