"""Runs of scheduled jobs, so a schedule delivered twice runs once and a run that died is taken over.

- ``JOBRUN#<job>`` / ``<yyyy-mm-dd>``: that day's run — ``running`` (with when it started) or ``completed``
  (with its figures). Started with a conditional put: a second delivery of the same day's event finds it.
- ``JOBRUN#<job>`` / ``LAST``: the day of the last completed run; the next run starts from there.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from botocore.exceptions import ClientError

from crm_core.clock import iso, utcnow
from crm_core.dal.dynamo import call, error_code, from_item, key, to_item


class RunRepository:
    def __init__(self, ddb: Any, table: str) -> None:
        self._ddb = ddb
        self._table = table

    def start(self, job: str, day: date, delivery: str, stale_after: timedelta) -> bool:
        """Claim the day's run; False when it is completed, or running and not yet stale."""
        now = utcnow()
        try:
            call(self._ddb.put_item, TableName=self._table,
                 Item=to_item({"PK": f"JOBRUN#{job}", "SK": day.isoformat(), "status": "running",
                               "started_at": iso(now), "delivery": delivery}),
                 ConditionExpression="attribute_not_exists(PK) OR (#s = :running AND started_at < :stale)",
                 ExpressionAttributeNames={"#s": "status"},
                 ExpressionAttributeValues=to_item({":running": "running", ":stale": iso(now - stale_after)}))
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def complete(self, job: str, day: date, figures: dict[str, Any], last_day: date | None = None) -> None:
        """Mark the day's run done; the next run reads from ``last_day`` (default: this day) on."""
        call(self._ddb.update_item, TableName=self._table, Key=key(f"JOBRUN#{job}", day.isoformat()),
             UpdateExpression="SET #s = :done, finished_at = :now, figures = :f",
             ExpressionAttributeNames={"#s": "status"},
             ExpressionAttributeValues=to_item({":done": "completed", ":now": iso(utcnow()), ":f": figures}))
        try:  # LAST only moves forward (a late run of an older day leaves it)
            call(self._ddb.update_item, TableName=self._table, Key=key(f"JOBRUN#{job}", "LAST"),
                 UpdateExpression="SET #d = :day", ConditionExpression="attribute_not_exists(#d) OR #d < :day",
                 ExpressionAttributeNames={"#d": "day"},
                 ExpressionAttributeValues=to_item({":day": (last_day or day).isoformat()}))
        except ClientError as exc:
            if error_code(exc) != "ConditionalCheckFailedException":
                raise

    def last_completed(self, job: str) -> date | None:
        answer = call(self._ddb.get_item, TableName=self._table, Key=key(f"JOBRUN#{job}", "LAST"), ConsistentRead=True)
        return date.fromisoformat(str(from_item(answer["Item"])["day"])) if "Item" in answer else None

    def get(self, job: str, day: date) -> dict[str, Any] | None:
        answer = call(self._ddb.get_item, TableName=self._table, Key=key(f"JOBRUN#{job}", day.isoformat()),
                      ConsistentRead=True)
        return from_item(answer["Item"]) if "Item" in answer else None

    def take_lease(self, job: str, holder: str, length: timedelta) -> bool:
        """One holder at a time; a lease that ran out (its holder died) can be taken."""
        now = utcnow()
        try:
            call(self._ddb.put_item, TableName=self._table,
                 Item=to_item({"PK": f"JOBRUN#{job}", "SK": "LEASE", "holder": holder,
                               "until": iso(now + length)}),
                 ConditionExpression="attribute_not_exists(PK) OR #until < :now",
                 ExpressionAttributeNames={"#until": "until"}, ExpressionAttributeValues=to_item({":now": iso(now)}))
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def release_lease(self, job: str, holder: str) -> None:
        try:
            call(self._ddb.delete_item, TableName=self._table, Key=key(f"JOBRUN#{job}", "LEASE"),
                 ConditionExpression="holder = :me", ExpressionAttributeValues=to_item({":me": holder}))
        except ClientError as exc:
            if error_code(exc) != "ConditionalCheckFailedException":
                raise
