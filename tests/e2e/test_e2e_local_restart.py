"""End to end: the local stack as a user runs it (``crm serve`` in its own process, over HTTP) keeps what was
made on it across a stop and a start, stops within 5 seconds when asked, and refuses a state folder it cannot
read without touching it."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from openpyxl import load_workbook

from crm_local.import_client import run_import
from crm_local.samples import sample_workbook
from crm_local.state import DATABASE
from crm_local.template import ROOT
from e2e.conftest import Http, free_port

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
STOP_WITHIN = 5.0  # seconds, from the signal to the process's end
_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class Served:
    """``crm serve`` in a child process on free ports, with its output kept."""

    def __init__(self, state: Path, *extra: str) -> None:
        self.api_port, self.aws_port = free_port(), free_port()
        self.log = state.parent / f"serve-{self.api_port}.log"
        environment = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "POWERTOOLS_"))}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "crm_local.cli", "serve", "--api-port", str(self.api_port), "--aws-port",
             str(self.aws_port), "--state", str(state), *extra],
            stdout=self.log.open("w"), stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=ROOT,
            env={**environment, "PYTHONUNBUFFERED": "1"})
        self.http = Http(f"http://127.0.0.1:{self.api_port}")

    def output(self) -> str:
        return self.log.read_text()

    def wait_up(self, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while "Local stack is up" not in self.output():
            assert self.process.poll() is None, self.output()
            assert time.monotonic() < deadline, self.output()
            time.sleep(0.1)

    def stop(self, how: int = signal.SIGINT) -> float:
        """Send ``how``; the seconds until the process ended."""
        asked = time.monotonic()
        self.process.send_signal(how)
        self.process.wait(timeout=30)
        return time.monotonic() - asked

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


@pytest.fixture
def serving(tmp_path: Path) -> Iterator[list[Served]]:
    started: list[Served] = []
    yield started
    for served in started:
        served.kill()


def test_what_is_made_on_the_stack_is_there_after_a_stop_and_a_start(tmp_path: Path,
                                                                      serving: list[Served]) -> None:
    state = tmp_path / "state"
    # Given a stack on a new state folder
    first = Served(state, "--no-demo")
    serving.append(first)
    first.wait_up()
    assert f"State           {state}" in first.output() and "(new;" in first.output()
    http = first.http
    # a customer created, a small list imported (two rows rejected), a mail list saved
    edith = http("POST", "/customers", {"type": "individual", "first_name": "Edith", "last_name": "Clarke",
                                        "email": "edith@example.org"}).body
    workbook = sample_workbook(tmp_path / "customers.xlsx")
    assert run_import(workbook, api=http.base_url, timeout=120, out=io.StringIO(), err=io.StringIO()) == 0
    (job,) = http("GET", "/imports").body["items"]
    assert job["counts"]["created"] == 13 and job["counts"]["rejected"] == 2
    imported = http("GET", "/customers", query={"q": "bronte"}).body["items"]
    mail_list = http("POST", "/mail-lists", {"name": "Spring fair", "ids": [edith["id"], imported[0]["id"]]}).body
    # When it is stopped with Ctrl-C
    took = first.stop(signal.SIGINT)
    # Then it ends within 5 seconds, having saved
    assert took < STOP_WITHIN, first.output()
    assert first.process.returncode == 0 and "state saved in" in first.output()

    # When it starts again on the same folder
    second = Served(state)
    serving.append(second)
    second.wait_up()
    http = second.http
    assert "(restored " in second.output() and "Demo customers  kept from the saved state" in second.output()
    # Then the customer, the import with its report, the imported customers and the mail list are all there
    assert http("GET", f"/customers/{edith['id']}").body["email"] == "edith@example.org"
    again = http("GET", f"/imports/{job['id']}").body
    assert again["status"] == job["status"] and again["counts"] == job["counts"]
    with _opener.open(again["report_url"], timeout=15) as report:
        rows = list(load_workbook(io.BytesIO(report.read()), read_only=True).active.iter_rows(values_only=True))
    assert [row[1] for row in rows[1:]] == ["Oliver", "Priya"]  # the two rejected rows
    assert [c["id"] for c in http("GET", "/customers", query={"q": "bronte"}).body["items"]] == \
        [imported[0]["id"]]
    assert http("GET", "/customers", query={"q": "siobhan"}).body["items"]
    assert http("GET", f"/mail-lists/{mail_list['id']}").body["ids"] == mail_list["ids"]
    # and no demo customers were added to a restored state
    assert not http("GET", "/customers", query={"q": "lovelace"}).body["items"]
    # SIGTERM stops it as well
    assert second.stop(signal.SIGTERM) < STOP_WITHIN
    assert second.process.returncode == 0, second.output()


def test_a_killed_stack_starts_again_from_its_last_save(tmp_path: Path, serving: list[Served]) -> None:
    state = tmp_path / "state"
    first = Served(state, "--no-demo")
    serving.append(first)
    first.wait_up()
    created = first.http("POST", "/customers", {"type": "organization", "organization_name": "Kept Ltd"}).body
    time.sleep(3)  # a save runs every 2 seconds
    first.process.kill()  # no chance to save: the last save is what there is
    first.process.wait()
    second = Served(state)
    serving.append(second)
    second.wait_up()
    assert second.http("GET", f"/customers/{created['id']}").status == 200
    # a second Ctrl-C while it stops ends it at once
    second.process.send_signal(signal.SIGINT)
    time.sleep(0.05)
    took = second.stop(signal.SIGINT)
    assert took < STOP_WITHIN
    assert second.process.returncode in (0, 130), second.output()


def test_an_unreadable_state_folder_is_named_and_left_alone(tmp_path: Path) -> None:
    state = tmp_path / "state"
    state.mkdir()
    (state / DATABASE).write_bytes(b"\x00garbage" * 512)
    served = Served(state)
    try:
        assert served.process.wait(timeout=60) == 1
    finally:
        served.kill()
    output = served.output()
    assert "cannot be read" in output and "crm serve --fresh" in output, output
    assert (state / DATABASE).read_bytes() == b"\x00garbage" * 512
    # --fresh deletes it, says so, and starts
    fresh = Served(state, "--fresh", "--no-demo")
    try:
        fresh.wait_up()
        assert "deleted the saved state" in fresh.output()
        assert fresh.stop() < STOP_WITHIN
    finally:
        fresh.kill()
