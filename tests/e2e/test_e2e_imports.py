"""End to end: spreadsheet imports on the local stack, the way staff's client does them — POST /imports, the
workbook sent straight to the bucket with the presigned form, S3's notice carried by the import queue to the
import function (the local poller), the job followed with GET /imports/{id} — and ``crm import``."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook

from crm_local.cli import LocalStack
from crm_local.import_client import multipart
from e2e.conftest import Http, free_port, local_stack
from import_books import EXISTING, HEADER, messy_expected, messy_workbook, simple_workbook

pytestmark = pytest.mark.e2e
FINISHED = ("completed", "partial", "failed", "reverted")
EXPECTED = messy_expected()
REJECTED = {row: column for row, (outcome, column) in EXPECTED.items() if outcome == "rejected"}
_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback: no proxy


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    """This module's own local stack, without the demo customers: the messy workbook's outcomes are those on a
    table that holds only ``import_books.EXISTING`` (a demo customer has Grace Hopper's email, and the demo
    takes customer number 100001)."""
    yield from local_stack(demo=False)


@pytest.fixture(scope="module")
def existing(http: Http) -> list[dict[str, Any]]:
    """The customers the messy workbook updates or leaves as they are, created through the API first."""
    created = []
    for record in EXISTING:
        answer = http("POST", "/customers", record)
        assert answer.status == 201, answer.body
        created.append(dict(answer.body))
    assert created[0]["customer_number"] == "100001"  # the messy workbook's "Cust No" of Existing Person
    return created


def _start(http: Http, workbook: bytes, filename: str = "members.xlsx", dry_run: bool = False) -> str:
    """POST /imports, then the workbook to the presigned form; returns the job's id."""
    answer = http("POST", "/imports", {"filename": filename, "dry_run": dry_run})
    assert answer.status == 201, answer.body
    job, upload = answer.body["job"], answer.body["upload"]
    assert job["status"] == "awaiting_upload" and job["dry_run"] == dry_run
    assert answer.headers["Location"] == f"/imports/{job['id']}"
    assert upload["max_bytes"] >= len(workbook)
    body, content_type = multipart(upload["fields"], "file", filename, workbook)
    request = urllib.request.Request(upload["url"], data=body, method="POST", headers={"Content-Type": content_type})
    with _opener.open(request, timeout=15) as response:
        assert response.status in (200, 201, 204)
    return str(job["id"])


def _wait(http: Http, job_id: str, seconds: float = 30) -> dict[str, Any]:
    """GET /imports/{id} until the job is finished."""
    deadline = time.monotonic() + seconds
    while True:
        answer = http("GET", f"/imports/{job_id}")
        assert answer.status == 200, answer.body
        job: dict[str, Any] = answer.body
        if job["status"] in FINISHED:
            return job
        assert time.monotonic() < deadline, f"import {job_id} is still {job['status']}: {job}"
        time.sleep(0.2)


def _download(url: str) -> bytes:
    with _opener.open(url, timeout=15) as response:
        assert response.status == 200
        data: bytes = response.read()
    return data


def _find(http: Http, q: str) -> list[dict[str, Any]]:
    answer = http("GET", "/customers", query={"q": q, "limit": 100})
    assert answer.status == 200, answer.body
    return list(answer.body["items"])


def _by_email(http: Http, email: str) -> dict[str, Any]:
    found = [c for c in _find(http, email) if c["email"] == email]
    assert len(found) == 1, (email, found)
    return found[0]


@pytest.fixture(scope="module")
def imported(http: Http, existing: list[dict[str, Any]]) -> dict[str, Any]:
    """The messy workbook imported once (no dry run), finished."""
    return _wait(http, _start(http, messy_workbook()))


def test_an_uploaded_workbook_is_imported_row_by_row(http: Http, existing: list[dict[str, Any]],
                                                     imported: dict[str, Any]) -> None:
    # Given a table with the customers the messy workbook refers to, and the workbook uploaded through the API
    job = imported
    # Then the job read the visible sheet, and every row had the outcome expected of it
    assert job["status"] == "partial", job
    assert (job["sheet"], job["rows_total"], job["rows_done"]) == ("Members", len(EXPECTED), len(EXPECTED))
    expected_counts = Counter(outcome for outcome, _ in EXPECTED.values())
    assert job["counts"] == {k: expected_counts[k] for k in ("created", "updated", "unchanged", "rejected")}
    assert {(e["row"], e["column"]) for e in job["errors"]} == set(REJECTED.items())
    assert "Favourite colour" in job["unknown_columns"]
    # And the report workbook lists exactly the rejected rows, each with its problem's column
    assert job["report_url"], job
    sheet = load_workbook(io.BytesIO(_download(job["report_url"]))).active
    assert sheet is not None
    rows = [[c.value for c in row] for row in sheet.iter_rows()]
    assert rows[0] == ["Row", *HEADER, "Import errors"]
    reported = {int(row[0]): str(row[-1]) for row in rows[1:]}
    assert sorted(reported) == sorted(REJECTED)
    for number, text in reported.items():
        assert text.startswith(f"{REJECTED[number]}: "), (number, text)
    # And the customers show it: one updated (its phone added), one left as it was, the new ones findable
    person = http("GET", f"/customers/{existing[0]['id']}").body
    assert person["phone"] and existing[0]["phone"] is None
    assert person["version"] == existing[0]["version"] + 1
    twin = http("GET", f"/customers/{existing[1]['id']}").body
    assert twin["version"] == existing[1]["version"]
    for email in ("grace@navy.example", "alan@example.org", "kj@example.org", "accounts@initech.example"):
        assert _by_email(http, email)["created_by"].endswith(f"(import {job['id']})")


def test_the_same_workbook_uploaded_again_creates_nobody(http: Http, imported: dict[str, Any]) -> None:
    # Given the messy workbook, imported once
    # When it is uploaded again
    again = _wait(http, _start(http, messy_workbook(), filename="members again.xlsx"))
    # Then its rows find the customers the first import wrote: nothing is created or changed
    assert again["status"] == "partial", again
    assert again["counts"]["created"] == 0 and again["counts"]["updated"] == 0, again["counts"]
    assert again["counts"]["rejected"] == imported["counts"]["rejected"]


def test_a_dry_run_writes_nothing_until_it_is_committed(http: Http) -> None:
    # Given a workbook of three new customers
    workbook = simple_workbook(3, start=700, domain="dry-run.example")
    assert _find(http, "dry-run.example") == []
    # When it is imported as a dry run
    job = _wait(http, _start(http, workbook, filename="dry run.xlsx", dry_run=True))
    # Then it says what it would do, and nobody is written
    assert (job["status"], job["dry_run"], job["counts"]["created"]) == ("completed", True, 3), job
    assert _find(http, "dry-run.example") == []
    # When the dry run is committed
    answer = http("POST", f"/imports/{job['id']}/commit")
    assert answer.status == 202, answer.body
    assert answer.body["status"] in ("queued", "running", "completed")
    committed = _wait(http, job["id"])
    # Then the rows are written as they were checked
    assert (committed["status"], committed["dry_run"], committed["counts"]["created"]) == ("completed", False, 3)
    assert committed["committed_by"] == "local-staff"
    assert sorted(c["email"] for c in _find(http, "dry-run.example")) == [f"person{n}@dry-run.example"
                                                                         for n in (700, 701, 702)]
    # And a committed import cannot be committed again
    assert http("POST", f"/imports/{job['id']}/commit").status == 409


def test_a_revert_removes_the_created_customers_and_restores_the_updated_one(
        http: Http, existing: list[dict[str, Any]], imported: dict[str, Any]) -> None:
    # Given the customers the messy workbook created
    created = [_by_email(http, email)["id"] for email in
               ("grace@navy.example", "alan@example.org", "kj@example.org", "accounts@initech.example")]
    # When the import is reverted
    answer = http("POST", f"/imports/{imported['id']}/revert")
    assert answer.status == 202, answer.body
    job = _wait(http, imported["id"])
    # Then every created customer is gone and the updated one is as it was before
    assert job["status"] == "reverted", job
    assert job["revert_counts"] == {"removed": 4, "restored": 1, "kept": 0}, job
    for customer_id in created:
        assert http("GET", f"/customers/{customer_id}").status == 404
    person = http("GET", f"/customers/{existing[0]['id']}").body
    assert person["phone"] == existing[0]["phone"]
    assert {k: person[k] for k in ("first_name", "last_name", "email", "address")} == \
        {k: existing[0][k] for k in ("first_name", "last_name", "email", "address")}
    # And the untouched customer is untouched still
    assert http("GET", f"/customers/{existing[1]['id']}").body["version"] == existing[1]["version"]


def _crm(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "crm_local.cli", *args], capture_output=True, text=True,
                          timeout=60, check=False)


def test_crm_import_dry_run_prints_the_finished_job(http: Http, stack: LocalStack, tmp_path: Path) -> None:
    # Given a workbook on disk
    path = tmp_path / "from the command line.xlsx"
    path.write_bytes(simple_workbook(2, start=900, domain="cli.example"))
    # When `crm import --dry-run` sends it to the running stack
    done = _crm("import", str(path), "--dry-run", "--api", stack.api.url, "--user", "e2e-cli", "--timeout", "30")
    # Then it prints the finished job as JSON and succeeds
    assert done.returncode == 0, done.stderr
    job = json.loads(done.stdout)
    assert (job["status"], job["dry_run"], job["created_by"]) == ("completed", True, "e2e-cli")
    assert job["counts"] == {"created": 2, "updated": 0, "unchanged": 0, "rejected": 0}
    assert job["filename"] == path.name
    # And it showed its progress on stderr; nothing was written
    assert "uploading" in done.stderr and "completed (dry run)" in done.stderr
    assert _find(http, "cli.example") == []


def test_crm_import_says_so_when_no_stack_is_running(tmp_path: Path) -> None:
    path = tmp_path / "book.xlsx"
    path.write_bytes(simple_workbook(1))
    done = _crm("import", str(path), "--api", f"http://127.0.0.1:{free_port()}")
    assert done.returncode == 1
    assert done.stdout == ""
    assert "no local stack answers" in done.stderr and "Traceback" not in done.stderr
