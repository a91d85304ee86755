"""The imports bucket: workbooks in, chunk and outcome files, report workbooks out.

Keys (the bucket expires them; see template.yaml):

- ``uploads/<job id>/<file name>``: the workbook staff upload (any other ``uploads/…`` key is a drop without
  a job, which gets one).
- ``imports/<job id>/read-<r>/rows/<n>.jsonl.gz``: the rows of chunk n that reading run r found ready to apply.
- ``imports/<job id>/read-<r>/rejected.jsonl.gz``: the rows that reading refused, with their cells and problems.
- ``imports/<job id>/read-<r>/header.json.gz``: the header's titles (for the report).
- ``imports/<job id>/run-<r>/outcomes-<n>-<try>.jsonl.gz``: what a try of run r did to each row of chunk n;
  the chunk's marker names the try that was counted (two tries at once never mix their outcomes).
- ``imports/<job id>/report.xlsx``: the rejected rows in the uploader's columns, with an error column.
"""

from __future__ import annotations

import gzip
from collections.abc import Iterable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

from botocore.exceptions import ClientError
from pydantic import BaseModel

from crm_core.clock import utcnow
from crm_core.dal.dynamo import error_code
from crm_core.dal.exports import S3_THROTTLING
from crm_core.errors import RetryLater
from crm_core.models.imports import Upload

M = TypeVar("M", bound=BaseModel)
KEEP_DAYS = 30  # how long an import's files and chunk markers are kept (the bucket's lifecycle agrees)


def upload_key(job_id: str, filename: str) -> str:
    return f"uploads/{job_id}/{filename}"


def rows_key(job_id: str, read_run: int, chunk: int) -> str:
    return f"imports/{job_id}/read-{read_run}/rows/{chunk:05d}.jsonl.gz"


def rejected_key(job_id: str, read_run: int) -> str:
    return f"imports/{job_id}/read-{read_run}/rejected.jsonl.gz"


def header_key(job_id: str, read_run: int) -> str:
    return f"imports/{job_id}/read-{read_run}/header.json.gz"


def outcomes_key(job_id: str, run: int, chunk: int, attempt: str) -> str:
    """Each try of a chunk writes its own outcomes; the chunk's marker names the one that was counted."""
    return f"imports/{job_id}/run-{run}/outcomes-{chunk:05d}-{attempt}.jsonl.gz"


def report_key(job_id: str) -> str:
    return f"imports/{job_id}/report.xlsx"



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

    def put_models(self, key_name: str, records: Iterable[BaseModel]) -> None:
        """Records as gzipped JSON lines (every file of an import but the workbooks is one)."""
        body = gzip.compress("".join(r.model_dump_json() + "\n" for r in records).encode(), 6)
        self._call(self._s3.put_object, Bucket=self.bucket, Key=key_name, Body=body,
                   ContentType="application/x-ndjson", ContentEncoding="gzip")

    def models(self, key_name: str, model: type[M]) -> Iterator[M]:
        """The records of a file ``put_models`` wrote, one at a time; none when there is no such file."""
        try:
            answer = self._call(self._s3.get_object, Bucket=self.bucket, Key=key_name)
        except ClientError as exc:
            if error_code(exc) in ("NoSuchKey", "404"):
                return
            raise
        with gzip.GzipFile(fileobj=answer["Body"]) as stream:
            for line in stream:
                yield model.model_validate_json(line)

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
