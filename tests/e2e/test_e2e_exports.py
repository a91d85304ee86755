"""End to end: exports over HTTP on the local stack; large ones finish in the background through the local
queue poller, and the download links work with plain urllib."""

from __future__ import annotations

import csv
import io
import time
import urllib.request
from typing import Any

import pytest
from openpyxl import load_workbook

from crm_core import wiring
from e2e.conftest import Http

pytestmark = pytest.mark.e2e
HYPERLINK = '=HYPERLINK("http://x","y")'


def _new(http: Http, **fields: Any) -> dict[str, Any]:
    answer = http("POST", "/customers", {"type": "individual", "confirm_duplicate": True, **fields})
    assert answer.status == 201, answer.body
    return dict(answer.body)


def _download(url: str) -> bytes:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(url, timeout=15) as response:
        assert response.status == 200
        data: bytes = response.read()
    return data


def test_a_small_export_answers_with_a_working_link(http: Http) -> None:
    # Given a customer whose name is a formula
    evil = _new(http, first_name=HYPERLINK, last_name="Export", email="e2e.export@example.org")
    # When staff export it to CSV
    answer = http("POST", "/exports", {"format": "csv", "ids": [evil["id"]],
                                       "columns": ["customer_number", "first_name", "email"]})
    # Then the export is written at once, and its link downloads the file with plain HTTP
    assert answer.status == 201, answer.body
    rows = list(csv.reader(io.StringIO(_download(answer.body["download_url"]).decode("utf-8-sig"))))
    assert rows == [["customer_number", "first_name", "email"],
                    [evil["customer_number"], "'" + HYPERLINK, "e2e.export@example.org"]]


def test_a_large_export_completes_in_the_background(http: Http, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given an API that writes at most one customer during a request, and two customers
    monkeypatch.setenv("EXPORT_SYNC_LIMIT", "1")
    wiring.reset()
    ids = [_new(http, first_name=HYPERLINK, last_name="Background")["id"],
           _new(http, first_name="Plain", last_name="Background")["id"]]
    # When both are exported to XLSX
    answer = http("POST", "/exports", {"format": "xlsx", "ids": ids, "columns": ["id", "first_name"]})
    # Then the export is queued
    assert answer.status == 202, answer.body
    location = answer.headers["Location"]
    # And the export function, fed by the local queue poller, completes it
    deadline = time.monotonic() + 20
    job = http("GET", location).body
    while job["status"] in ("queued", "running") and time.monotonic() < deadline:
        time.sleep(0.2)
        job = http("GET", location).body
    assert job["status"] == "completed", job
    # And the link downloads a workbook whose formula-like name is a string cell
    sheet = load_workbook(io.BytesIO(_download(job["download_url"]))).active
    assert [[c.value for c in row] for row in sheet.iter_rows()] == [["id", "first_name"], [ids[0], HYPERLINK],
                                                                     [ids[1], "Plain"]]
    assert sheet["B2"].data_type == "s"


def test_another_staff_users_export_is_not_found(http: Http) -> None:
    # Given an export made by one staff user
    customer = _new(http, first_name="Private", last_name="Export")
    mine = http("POST", "/exports", {"format": "csv", "ids": [customer["id"]]},
                headers={"X-Dev-User": "e2e-exporter", "X-Dev-Groups": "staff"})
    assert mine.status == 201, mine.body
    # When another staff user (not an admin) asks for it
    theirs = http("GET", f"/exports/{mine.body['id']}", headers={"X-Dev-User": "e2e-other", "X-Dev-Groups": "staff"})
    # Then it does not exist for them; its requester sees it
    assert theirs.status == 404
    assert http("GET", f"/exports/{mine.body['id']}",
                headers={"X-Dev-User": "e2e-exporter", "X-Dev-Groups": "staff"}).status == 200
