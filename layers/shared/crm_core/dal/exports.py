"""Export jobs in the customers table, and their files in the exports bucket.

- export job: ``EXPORT#<id>`` / ``JOB``. Get by id (the API's ``GET /exports/{id}``, the worker). The
  requested ids are kept compressed in the job (10,000 ids fit well inside DynamoDB's 400 KB item); the
  SQS message carries only the job id.
"""

from __future__ import annotations

import zlib
from typing import IO, Any

from botocore.exceptions import ClientError

from crm_core.clock import utcnow
from crm_core.dal.dynamo import call, error_code, from_item, key, to_item
from crm_core.errors import RetryLater
from crm_core.models.export import ExportJob, ExportStatus

JOB = "JOB"
S3_THROTTLING = {"SlowDown", "ThrottlingException", "RequestLimitExceeded", "ServiceUnavailable"}


def job_pk(job_id: str) -> str:
    return f"EXPORT#{job_id}"


class JobMissing(Exception):
    pass


class ExportJobRepository:
    def __init__(self, ddb: Any, table: str) -> None:
        self._ddb = ddb
        self._table = table

    def create(self, job: ExportJob) -> None:
        values = job.model_dump(mode="json", exclude={"download_url", "download_expires_at"})
        values["key"] = job.key  # not part of what the API answers
        if job.ids is not None:
            values["ids_z"] = zlib.compress("\n".join(job.ids).encode(), 9)
        call(self._ddb.put_item, TableName=self._table,
             Item=to_item({**values, "ids": None, "PK": job_pk(job.id), "SK": JOB}),
             ConditionExpression="attribute_not_exists(PK)")

    def get(self, job_id: str, consistent: bool = True) -> ExportJob | None:
        answer = call(self._ddb.get_item, TableName=self._table, Key=key(job_pk(job_id), JOB),
                      ConsistentRead=consistent)
        if "Item" not in answer:
            return None
        values = from_item(answer["Item"])
        packed = values.pop("ids_z", None)
        if packed is not None:
            raw = packed.value if hasattr(packed, "value") else packed  # boto3 reads binary as Binary
            values["ids"] = zlib.decompress(raw).decode().split("\n")
        return ExportJob.model_validate({k: v for k, v in values.items() if k not in ("PK", "SK")})

    def set_status(self, job_id: str, status: ExportStatus, **fields: Any) -> None:
        """Move a job on; ``None`` removes a field. A job that is no longer there raises ``JobMissing``."""
        values = {"status": status, "updated_at": utcnow().isoformat(), **fields}
        sets = {k: v for k, v in values.items() if v is not None}
        removes = [k for k, v in values.items() if v is None]
        names = {f"#{k}": k for k in values}
        expression = "SET " + ", ".join(f"#{k} = :{k}" for k in sets)
        if removes:
            expression += " REMOVE " + ", ".join(f"#{k}" for k in removes)
        item = to_item({f":{k}": v for k, v in sets.items()})
        try:
            call(self._ddb.update_item, TableName=self._table, Key=key(job_pk(job_id), JOB),
                 UpdateExpression=expression, ExpressionAttributeNames=names, ExpressionAttributeValues=item,
                 ConditionExpression="attribute_exists(PK)")
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                raise JobMissing(job_id) from None
            raise


class ExportFiles:
    """The exports bucket: upload a written file, and a time-limited link to download it."""

    def __init__(self, s3: Any, bucket: str) -> None:
        self._s3 = s3
        self._bucket = bucket

    def upload(self, key_: str, file: IO[bytes], content_type: str, filename: str) -> None:
        try:
            self._s3.upload_fileobj(file, self._bucket, key_, ExtraArgs={
                "ContentType": content_type,
                "ContentDisposition": f'attachment; filename="{filename}"',
                "ServerSideEncryption": "AES256",
            })
        except ClientError as exc:
            if error_code(exc) in S3_THROTTLING:
                raise RetryLater("file storage is busy; retry shortly") from exc
            raise

    def link(self, key_: str, seconds: int) -> str:
        return str(self._s3.generate_presigned_url("get_object", Params={"Bucket": self._bucket, "Key": key_},
                                                   ExpiresIn=seconds))

