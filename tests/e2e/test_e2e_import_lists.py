"""End to end: the lists staff really have, imported over the local stack the way staff's client does it
(POST /imports, the workbook to the presigned form, the job followed with GET /imports/{id}) — every customer
created and stored as the staff member expects; the mapping answered, corrected with a dry run, applied with
a commit, and remembered for the next list with the same headers."""

from __future__ import annotations

import time
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import staff_lists
from crm_local.cli import LocalStack
from crm_local.import_client import multipart
from e2e.conftest import Http, local_stack

pytestmark = pytest.mark.e2e
FINISHED = ("completed", "partial", "failed", "reverted")
_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback: no proxy


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    """This module's own stack, without demo customers (their emails must not match the lists' people)."""
    yield from local_stack(demo=False)


Wait = Callable[..., dict[str, Any]]


@pytest.fixture(scope="module")
def wait(http: Http, stack: LocalStack) -> Wait:
    """GET /imports/{id} until the job is finished. Meanwhile the import queue is polled here too, as its event
    source mapping would in AWS, rather than waiting for the local poller's turn among the stack's queues."""
    imports = next(s for s in stack.poller.subscriptions if s.function == "ImportFunction")

    def until_finished(job_id: str, seconds: float = 60) -> dict[str, Any]:
        deadline = time.monotonic() + seconds
        while True:
            job: dict[str, Any] = http("GET", f"/imports/{job_id}").body
            if job["status"] in FINISHED:
                return job
            assert time.monotonic() < deadline, f"import {job_id} is still {job['status']}"
            stack.poller.poll_once(imports)

    return until_finished


def start(http: Http, workbook: bytes, filename: str, **request: Any) -> str:
    answer = http("POST", "/imports", {"filename": filename, **request})
    assert answer.status == 201, answer.body
    upload = answer.body["upload"]
    body, content_type = multipart(upload["fields"], "file", filename, workbook)
    sent = urllib.request.Request(upload["url"], data=body, method="POST", headers={"Content-Type": content_type})
    with _opener.open(sent, timeout=15) as response:
        assert response.status in (200, 201, 204)
    return str(answer.body["job"]["id"])


def customer(http: Http, email: str) -> dict[str, Any] | None:
    found = [c for c in http("GET", "/customers", query={"q": email, "limit": 100}).body["items"]
             if c.get("email") == email]
    assert len(found) <= 1, found
    return found[0] if found else None


@pytest.mark.parametrize("make", staff_lists.ALL, ids=lambda make: make.__name__)
def test_each_list_is_imported_and_stored_as_staff_expect(http: Http, wait: Wait,
                                                          make: Callable[[], staff_lists.StaffList]) -> None:
    # Given a list shaped like the ones staff keep, uploaded as staff's client uploads it
    shaped = make()
    job = wait(start(http, shaped.workbook, shaped.filename))
    # Then every row went in, and the job says what it assumed and what it left out
    assert job["status"] == "completed", job
    assert job["counts"]["created"] == len(shaped.expected), job
    assert job["rows_skipped"] == shaped.rows_skipped
    assert job["settings"]["date_order"]["value"] == shaped.date_order
    assert sorted(job["unknown_columns"]) == sorted(shaped.unknown)
    assert all(column["why"] for column in job["mapping"])
    # And each customer is stored as the staff member meant
    for expected in shaped.expected:
        stored = customer(http, expected["email"])
        assert stored is not None, expected["email"]
        for name, value in expected.items():
            if name == "address":
                assert {k: (stored.get("address") or {}).get(k) for k in value} == value, stored
            else:
                assert stored.get(name) == value, (name, stored)


def test_a_mapping_sent_with_a_dry_run_changes_the_outcome_and_the_commit_applies_it(http: Http, wait: Wait) -> None:
    # Given companies listed under "Name", checked first as a dry run: the answer reads them as people
    job = wait(start(http, staff_lists.companies_under_name(), "suppliers.xlsx", dry_run=True))
    assert job["status"] == "completed" and job["counts"]["created"] == 2
    name = job["mapping"][0]
    assert (name["column"], name["title"], name["field"]) == ("A", "Name", "full_name")
    assert name["samples"] == ["Acme Trading Ltd", "Globex Corporation"]
    assert customer(http, "sales@acme-trading.example") is None
    # When staff send their own mapping with another dry run (no new upload)
    answer = http("POST", f"/imports/{job['id']}/dry-run", {"mapping": {"Name": "organization_name"}})
    assert answer.status == 202, answer.body
    checked = wait(job["id"])
    assert checked["status"] == "completed" and checked["dry_run"] is True
    assert (checked["mapping"][0]["field"], checked["mapping"][0]["why"]) == ("organization_name", "your mapping")
    assert checked["options"]["mapping"] == {"Name": "organization_name"}
    assert customer(http, "sales@acme-trading.example") is None
    # And the commit applies the rows as the mapping reads them
    assert http("POST", f"/imports/{job['id']}/commit").status == 202
    done = wait(job["id"])
    assert (done["status"], done["dry_run"], done["counts"]["created"]) == ("completed", False, 2)
    acme = customer(http, "sales@acme-trading.example")
    assert acme is not None and (acme["type"], acme["organization_name"]) == ("organization", "Acme Trading Ltd")
    # And an import that wrote customers cannot be read again with another mapping
    assert http("POST", f"/imports/{job['id']}/dry-run", {"mapping": {"Name": "full_name"}}).status == 409


def test_a_list_nobody_can_read_is_mapped_by_staff_and_the_mapping_is_remembered(http: Http, wait: Wait) -> None:
    # Given a list whose titles no vocabulary knows: the dry run fails, naming the sheet and the rows it looked at
    march = staff_lists.odd_headers([("Katherine Johnson", "katherine@odd.example")])
    job = wait(start(http, march, "march.xlsx", dry_run=True))
    assert job["status"] == "failed"
    assert job["reason"].startswith("no header row found ('Sheet1': rows 1 to 2 (all of it))")
    # When staff send a mapping with a commit
    answer = http("POST", f"/imports/{job['id']}/commit", {"mapping": {"Kontakt": "full_name", "Postfach": "email",
                                                                       "Bemerkung": "ignore"}})
    assert answer.status == 202, answer.body
    done = wait(job["id"])
    assert (done["status"], done["counts"]["created"]) == ("completed", 1), done
    assert customer(http, "katherine@odd.example") is not None
    # Then next month's list with the same headers maps itself
    april = staff_lists.odd_headers([("Dorothy Vaughan", "dorothy@odd.example")])
    next_job = wait(start(http, april, "april.xlsx"))
    assert (next_job["status"], next_job["counts"]["created"]) == ("completed", 1), next_job
    assert [c["field"] for c in next_job["mapping"]] == ["full_name", "email", None]
    assert next_job["mapping"][0]["why"].startswith(f"remembered from march.xlsx (import {job['id']}, ")
    dorothy = customer(http, "dorothy@odd.example")
    assert dorothy is not None and (dorothy["first_name"], dorothy["last_name"]) == ("Dorothy", "Vaughan")


def test_an_ambiguous_date_column_is_said_so_and_a_dry_run_with_the_order_settles_it(http: Http, wait: Wait) -> None:
    job = wait(start(http, staff_lists.ambiguous_dates(), "dates.xlsx", dry_run=True))
    order = job["settings"]["date_order"]
    assert (order["value"], order["ambiguous"]) == ("day_first", True) and order["why"].startswith("ambiguous")
    http("POST", f"/imports/{job['id']}/dry-run", {"date_order": "month_first"})
    checked = wait(job["id"])
    assert checked["settings"]["date_order"] == {"value": "month_first", "why": "your setting", "ambiguous": False}
    http("POST", f"/imports/{job['id']}/commit")
    wait(job["id"])
    ida = customer(http, "ida@dates.example")
    assert ida is not None and ida["date_of_birth"] == "1985-03-04"


def test_the_list_is_found_on_a_later_sheet_and_the_answer_says_where(http: Http, wait: Wait) -> None:
    job = wait(start(http, staff_lists.cover_sheet_then_list(), "report.xlsx"))
    assert (job["status"], job["sheet"], job["settings"]["header_row"]["value"]) == ("completed", "Data", 35)
    assert "'Cover'" in job["settings"]["sheet"]["why"]
    none = wait(start(http, staff_lists.no_list_anywhere(), "summary.xlsx"))
    assert none["status"] == "failed" and "'Summary': row 1 (all of it); 'Notes': row 1" in none["reason"]


def test_bad_options_are_refused_naming_the_field(http: Http, wait: Wait) -> None:
    answer = http("POST", "/imports", {"filename": "a.xlsx", "mapping": {"Email": "shoe_size"}})
    assert answer.status == 422 and "mapping" in answer.raw.decode()
    assert http("POST", "/imports", {"filename": "a.xlsx", "date_order": "sideways"}).status == 422
    assert http("POST", "/imports", {"filename": "a.xlsx", "default_country": "Narnia"}).status == 422
