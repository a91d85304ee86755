"""``crm import``: a workbook imported through the running local stack, the way a staff client does it.

``POST /imports`` makes the job and a presigned upload; the workbook goes straight to the bucket with that
form (multipart/form-data, standard library only); S3's notice reaches the import function through the local
queue poller; ``GET /imports/{id}`` is followed until the job is finished.
"""

from __future__ import annotations

import json
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

DONE = frozenset({"completed", "partial", "failed"})
SUCCEEDED = frozenset({"completed", "partial"})
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class ImportFailed(Exception):
    """Something a user can act on; its message is printed as is."""


def multipart(fields: dict[str, str], file_field: str, filename: str, content: bytes,
              content_type: str = XLSX) -> tuple[bytes, str]:
    """multipart/form-data of ``fields`` in order, then the file (S3 reads every field before the file);
    returns the body and its Content-Type header."""
    boundary = f"----crm-{uuid.uuid4().hex}"
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{_quoted(name)}"\r\n\r\n'.encode()
             + str(value).encode() + b"\r\n" for name, value in fields.items()]
    parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{_quoted(file_field)}"; '
                 f'filename="{_quoted(filename)}"\r\nContent-Type: {content_type}\r\n\r\n'.encode() + content + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def _quoted(value: str) -> str:
    """A name for a Content-Disposition parameter: quotes and line breaks escaped as browsers do."""
    return value.replace("\\", "\\\\").replace('"', "%22").replace("\r", "%0D").replace("\n", "%0A")


class ImportClient:
    """The staff API of one local stack over plain HTTP (no proxy: the stack is on loopback)."""

    def __init__(self, api: str, user: str | None = None, timeout: float = 30) -> None:
        self.api = api.rstrip("/")
        self.headers = {"X-Dev-User": user} if user else {}
        self.timeout = timeout
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    def call(self, method: str, path: str, body: Any = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.api + path, data=data, method=method,
                                         headers={"Content-Type": "application/json", **self.headers})
        try:
            with self._opener.open(request, timeout=self.timeout) as response:
                raw = response.read()
        except urllib.error.HTTPError as error:
            raise ImportFailed(f"{method} {path} answered {error.code}: {_api_error(error.read())}") from None
        except (urllib.error.URLError, OSError) as error:
            reason = getattr(error, "reason", error)
            raise ImportFailed(f"no local stack answers at {self.api} ({reason}). Start it with `make run` "
                               "(or `crm serve`), or point --api at the one that is running.") from None
        try:
            return json.loads(raw) if raw else None
        except ValueError:
            raise ImportFailed(f"{method} {path}: {self.api} answered something that is not JSON; is it the "
                               "local stack's API?") from None

    def start(self, filename: str, dry_run: bool, sheet: str | None) -> dict[str, Any]:
        request: dict[str, Any] = {"filename": filename, "dry_run": dry_run}
        if sheet:
            request["sheet"] = sheet
        created = self.call("POST", "/imports", request)
        if not isinstance(created, dict) or "job" not in created or "upload" not in created:
            raise ImportFailed(f"POST /imports answered {str(created)[:200]!r}, not a job and an upload")
        return created

    def upload(self, upload: dict[str, Any], filename: str, content: bytes) -> None:
        """The presigned POST: every field of the form, then the file."""
        body, content_type = multipart(dict(upload["fields"]), "file", filename, content)
        request = urllib.request.Request(upload["url"], data=body, method="POST",
                                         headers={"Content-Type": content_type})
        try:
            with self._opener.open(request, timeout=self.timeout) as response:
                response.read()
        except urllib.error.HTTPError as error:
            raise ImportFailed(f"the upload to {upload['url']} was refused ({error.code}): "
                               f"{error.read()[:500].decode('utf-8', 'replace')}") from None
        except (urllib.error.URLError, OSError) as error:
            raise ImportFailed(f"the upload to {upload['url']} failed: {getattr(error, 'reason', error)}. Is "
                               "the local stack's AWS emulator running?") from None

    def wait(self, job_id: str, timeout: float, interval: float = 0.5,
             progress: Callable[[dict[str, Any]], None] | None = None) -> tuple[dict[str, Any], bool]:
        """Follow the job until it is finished; the last job seen, and whether it finished in time."""
        deadline = time.monotonic() + timeout
        while True:
            job: dict[str, Any] = self.call("GET", f"/imports/{job_id}")
            if progress is not None:
                progress(job)
            if job.get("status") in DONE:
                return job, True
            if time.monotonic() >= deadline:
                return job, False
            time.sleep(min(interval, max(0.0, deadline - time.monotonic())))


def _api_error(raw: bytes) -> str:
    """The API's error (``{"error": {"message", "fields"}}``) as one line."""
    try:
        error = json.loads(raw)["error"]
        fields = "; ".join(f"{f['field']}: {f['message']}" for f in error.get("fields") or [])
        return str(error["message"]) + (f" ({fields})" if fields else "")
    except (ValueError, KeyError, TypeError):
        return raw[:500].decode("utf-8", "replace")


def _pace(done: int, total: int | None, elapsed: float) -> str:
    """``" (40%, 52 rows/s, about 19 min to go)"`` once rows are being applied."""
    if not total or not done or elapsed <= 0:
        return ""
    rate = done / elapsed
    left = (total - done) / rate
    to_go = f"{left / 60:.0f} min" if left >= 90 else f"{left:.0f} s"
    return f" ({done * 100 // total}%, {rate:,.0f} rows/s, about {to_go} to go)"


def run_import(path: Path, *, api: str, dry_run: bool = False, sheet: str | None = None, user: str | None = None,
               timeout: float = 3600, out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    """``crm import``: 0 when the job completed (or partly: see its errors), 1 when it failed or timed out."""
    try:
        content = path.read_bytes()
    except OSError as error:
        print(f"crm import: cannot read {path}: {error.strerror}", file=err)
        return 2
    client = ImportClient(api, user)
    shown: list[tuple[Any, ...]] = []

    began = time.monotonic()

    def progress(job: dict[str, Any]) -> None:
        now = (job.get("status"), job.get("rows_done"), job.get("rows_total"))
        if shown and shown[-1] == now:
            return
        shown.append(now)
        status, done, total = now
        if status == "awaiting_upload":
            print(f"crm import: {job['id']}: uploaded; waiting for the import function", file=err, flush=True)
        elif status not in DONE:
            print(f"crm import: {job['id']}: {status}, {done or 0:,}/{f'{total:,}' if total else '?'} rows"
                  f"{_pace(done or 0, total, time.monotonic() - began)}", file=err, flush=True)

    try:
        created = client.start(path.name, dry_run, sheet)
        job_id = created["job"]["id"]
        print(f"crm import: {job_id}: uploading {path.name} ({len(content)} bytes)", file=err, flush=True)
        client.upload(created["upload"], path.name, content)
        job, finished = client.wait(job_id, timeout, progress=progress)
    except ImportFailed as error:
        print(f"crm import: {error}", file=err)
        return 1
    print(json.dumps(job, indent=2), file=out)
    if not finished:
        print(f"crm import: {job_id} is still {job.get('status')} after {timeout:g} s; follow it with "
              f"GET {client.api}/imports/{job_id}", file=err)
        return 1
    if job["status"] not in SUCCEEDED:
        print(f"crm import: {job_id} failed: {job.get('reason') or 'see its errors'}", file=err)
        return 1
    counts = job.get("counts") or {}
    summary = ", ".join(f"{counts.get(k, 0)} {k}" for k in ("created", "updated", "unchanged", "rejected"))
    print(f"crm import: {job_id} {job['status']}{' (dry run)' if job.get('dry_run') else ''}: {summary}",
          file=err)
    return 0
