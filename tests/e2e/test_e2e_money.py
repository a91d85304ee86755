"""End to end: money on a customer, the nightly refresh run with `crm invoke` and its sample event, and the
accounting sync against a REST accounts API on loopback — over real HTTP against the local stack."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from crm_core.clock import utcnow
from crm_local.cli import LocalStack
from e2e.conftest import Http

pytestmark = pytest.mark.e2e


def _invoke(stack: LocalStack, function: str, event: str) -> Any:
    crm = Path(sys.executable).with_name("crm")
    env = {k: v for k, v in os.environ.items() if k != "AWS_ENDPOINT_URL"}
    done = subprocess.run([str(crm), "invoke", function, "--event", event, "--endpoint", stack.aws_endpoint],
                          capture_output=True, text=True, timeout=120, env=env, check=False)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_an_invoice_due_yesterday_is_overdue_and_aged_after_the_nightly_run(http: Http, stack: LocalStack) -> None:
    # Given a customer with an invoice that fell due yesterday
    today = utcnow().date()
    customer = http("POST", "/customers", {"type": "individual", "first_name": "Owing", "last_name": "Money",
                                           "confirm_duplicate": True}).body
    made = http("POST", f"/customers/{customer['id']}/invoices", {
        "issued_on": (today - timedelta(days=31)).isoformat(), "due_on": (today - timedelta(days=1)).isoformat(),
        "amount": "250.00", "order_ref": "ORD-77"})
    assert made.status == 201 and made.body["status"] == "pending"
    # When the nightly schedule function runs with its sample event
    result = _invoke(stack, "BalanceRefreshFunction", "schedule")
    assert result["ran"] is True and result["customers_refreshed"] >= 1
    # Then the invoice is overdue and the balance ages it, saying when it was refreshed
    invoices = http("GET", f"/customers/{customer['id']}/invoices").body["items"]
    assert [(i["number"], i["status"]) for i in invoices] == [(made.body["number"], "overdue")]
    balance = http("GET", f"/customers/{customer['id']}/balance").body
    assert balance["aging"]["overdue_1_30"] == "250.00" and balance["balance"] == "250.00"
    assert balance["refreshed_at"] and balance["changed_since_refresh"] is False
    # And the same schedule again does nothing
    assert _invoke(stack, "BalanceRefreshFunction", "schedule")["ran"] is False


def test_a_payment_over_what_is_owed_becomes_a_credit(http: Http) -> None:
    today = utcnow().date().isoformat()
    customer = http("POST", "/customers", {"type": "organization", "organization_name": "Overpayers Ltd"}).body
    http("POST", f"/customers/{customer['id']}/invoices", {"issued_on": today, "due_on": today, "amount": "40.00"})
    paid = http("POST", f"/customers/{customer['id']}/payments", {"amount": "50.00", "received_on": today})
    assert paid.status == 201 and paid.body["unallocated"] == "10.00"
    refreshed = http("POST", f"/customers/{customer['id']}/balance/refresh").body
    assert (refreshed["outstanding"], refreshed["credit"], refreshed["balance"]) == ("0.00", "10.00", "-10.00")
    assert http("DELETE", f"/customers/{customer['id']}").status == 409  # it has transactions


def test_the_nightly_accounting_sync_writes_new_customers_to_a_sage_import_file(http: Http, stack: LocalStack) -> None:
    import boto3

    # Given a new customer (the local stack talks to Sage 50 through files, the template's default)
    customer = http("POST", "/customers", {"type": "individual", "first_name": "Sage", "last_name": "Newcomer",
                                           "email": "sage.newcomer@example.org"}).body
    assert http("GET", f"/customers/{customer['id']}/accounting").body["state"] == "pending"
    # When the sync's schedule runs
    result = _invoke(stack, "AccountingSyncFunction", "schedule")
    assert result["ran"] is True and result["created"] >= 1
    # Then the customer has an account reference, and the import file for Sage carries it
    state = http("GET", f"/customers/{customer['id']}/accounting").body
    assert state["state"] == "synced" and state["outcome"] == "created" and len(state["account_ref"]) <= 8
    s3 = boto3.client("s3", endpoint_url=stack.aws_endpoint)
    bucket = stack.template.buckets()["AccountingBucket"]
    files = s3.list_objects_v2(Bucket=bucket, Prefix="accounting/sage50/outbox/")["Contents"]
    text = "".join(s3.get_object(Bucket=bucket, Key=f["Key"])["Body"].read().decode("cp1252") for f in files)
    assert state["account_ref"] in text and "Sage Newcomer" in text
