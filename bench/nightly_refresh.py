"""The nightly balance refresh: DynamoDB items read at 10,000 and 100,000 customers with 1% of them changed.

A moto account (in-process), fresh for each size, gets the customers table of template.yaml, as
tests/conftest.py builds it, with the environment of the tests and then BalanceRefreshFunction's environment
from the template (log level kept at WARNING). The table is seeded directly, with BatchWriteItem (25 items a
call, through boto3): per customer a minimal profile (what the refresh's ConditionCheck looks at: the item
exists and its status is not ``merged``), a money summary (``crm_core.dal.money.summary_item``) with one or
two open invoices, and, for the customers the refresh will touch, their invoices' ``INV#`` items (the
others' invoices make no difference to what the refresh reads, only to how long moto takes to go through
the table). Last night's run is recorded as completed, as it is on any night but the first.

- 99% of the customers have not changed: their summary was refreshed last night and its GSI2 says
  ``REFRESH#<a future day>`` (the day their first open invoice crosses a due date or aging edge).
- 1% changed today (``REFRESH#<today>``); half of those have an invoice that fell due yesterday, which the
  refresh marks ``overdue``.

Then BalanceRefreshFunction's handler (functions/sync/balance_refresh.py) runs once with a schedule event
whose ``time`` is today, with a ``ReadMeter`` (items read: Query ScannedCount, the items GetItem and
BatchGetItem return) and a call counter on the function's DynamoDB client. The baseline, in the same run:
a naive job that ignores the index and reads every customer's summary once (BatchGetItem, 100 keys a call),
timed and metered the same way. It asks only for the key and the day the summary is due
(``ProjectionExpression``): DynamoDB reads and bills the whole item all the same, and moto, which
serialises every attribute it returns slowly, answers several times sooner, so the baseline's wall time
is, if anything, flattered.

Run:

    .venv/bin/python bench/nightly_refresh.py            # 10,000 and 100,000 customers
    .venv/bin/python bench/nightly_refresh.py --quick    # 1,000 and 10,000 customers
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import random
import sys
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time
from decimal import Decimal
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from moto import mock_aws

from crm_core import wiring
from crm_core.aws import client
from crm_core.dal.customers import PROFILE, customer_pk
from crm_core.dal.dynamo import ReadMeter, batch_get, batch_write, key, to_item
from crm_core.dal.money import INVOICE, SUMMARY, Summary, summary_item
from crm_core.ids import new_id
from crm_core.models.money import Invoice
from crm_core.money import OpenInvoice, money, next_refresh
from crm_core.services.money import NightlyRefresh, _snapshot
from crm_local.stack import create_secrets_and_parameters
from crm_local.template import Template
from import_write import FakeContext, WriteMeter
from report import count, ratio, seconds, table
from search_reads import BENCH_ENV, environment, progress

ROOT = Path(__file__).resolve().parents[1]
FUNCTION = ROOT / "functions" / "sync"  # balance_refresh

SIZES = (10_000, 100_000)
QUICK_SIZES = (1_000, 10_000)
CHANGED_EVERY = 100  # one customer in a hundred changed today
OVERDUE_EVERY = 200  # half of those have an invoice that fell due yesterday
CUSTOMERS_PER_WRITE = 2_500  # customers whose items are built and written together (bounds memory)
SEED = 20240229
OPERATIONS = ("Query", "GetItem", "BatchGetItem", "TransactWriteItems", "PutItem", "UpdateItem")


# ---- the table ----------------------------------------------------------------------------------------

@dataclass
class Seeded:
    size: int
    ids: list[str]
    changed: int = 0
    overdue_tonight: int = 0  # invoices that fell due yesterday, still pending
    invoices: int = 0
    items: int = 0
    write_calls: int = 0
    seconds: float = 0.0


def _invoice(rng: random.Random, due_on: date, status: str, n: int) -> OpenInvoice:
    amount = money(Decimal(rng.randint(1_000, 50_000)) / 100)
    return OpenInvoice(id=new_id(), number=f"INV-{100_000 + n}", issued_on=due_on - timedelta(days=30),
                       due_on=due_on, remaining=amount, status=status)


def _invoice_item(customer_id: str, invoice: OpenInvoice, created_at: datetime) -> dict[str, Any]:
    record = Invoice(id=invoice.id, number=invoice.number, issued_on=invoice.issued_on, due_on=invoice.due_on,
                     amount=invoice.remaining, status=invoice.status, currency="GBP", created_at=created_at,
                     created_by="bench").model_dump(mode="json")
    return {**record, "PK": customer_pk(customer_id), "SK": INVOICE + invoice.id}


def customer_items(n: int, rng: random.Random, today: date, now: datetime) -> tuple[str, list[dict[str, Any]],
                                                                                    Summary]:
    """One customer's profile, money summary and invoices (plain values), and the summary."""
    customer_id = new_id()
    last_night = datetime.combine(today - timedelta(days=1), clock_time(2, 0), tzinfo=UTC)
    changed = n % CHANGED_EVERY == 0
    invoices: list[OpenInvoice] = []
    if changed and n % OVERDUE_EVERY == 0:
        invoices.append(_invoice(rng, today - timedelta(days=1), "pending", 2 * n))  # due yesterday
    elif changed:
        invoices.append(_invoice(rng, today + timedelta(days=30), "pending", 2 * n))  # added today
    elif rng.random() < 0.2:  # an invoice already overdue, past its next aging edge tonight
        invoices.append(_invoice(rng, today - timedelta(days=rng.randint(5, 25)), "overdue", 2 * n))
    else:
        invoices.append(_invoice(rng, today + timedelta(days=rng.randint(0, 59)), "pending", 2 * n))
    if rng.random() < 0.5:
        invoices.append(_invoice(rng, today + timedelta(days=rng.randint(0, 59)), "pending", 2 * n + 1))
    still_open = {i.id: i for i in invoices}
    if changed:
        changed_at = max(datetime.combine(today, clock_time(0, 0, 1), tzinfo=UTC), now - timedelta(hours=1))
        summary = Summary(customer_id=customer_id, currency="GBP", version=4, open=still_open,
                          changed_at=changed_at, refreshed_at=last_night, refresh_on=today)
        summary.snapshot = _snapshot(summary, today - timedelta(days=1))
    else:
        summary = Summary(customer_id=customer_id, currency="GBP", version=3, open=still_open,
                          changed_at=last_night - timedelta(days=rng.randint(1, 90)), refreshed_at=last_night,
                          refresh_on=next_refresh(list(still_open.values()), today))
        summary.snapshot = _snapshot(summary, today - timedelta(days=1))
        if summary.refresh_on is None or summary.refresh_on <= today:
            raise AssertionError(f"an unchanged customer is due on {summary.refresh_on}, not after {today}")
    profile = {"PK": customer_pk(customer_id), "SK": PROFILE, "id": customer_id, "type": "individual",
               "status": "active"}
    items = [profile, summary_item(summary)]
    if changed:  # the invoices the refresh may update (the others are in the summary only: see the docstring)
        items += (_invoice_item(customer_id, i, last_night) for i in invoices)
    return customer_id, items, summary


def seed(ddb: Any, table_name: str, size: int, today: date) -> Seeded:
    started = time.perf_counter()
    rng = random.Random(SEED)
    now = datetime.now(tz=UTC)
    seeded = Seeded(size=size, ids=[])
    batch: list[dict[str, Any]] = []
    for n in range(size):
        customer_id, items, summary = customer_items(n, rng, today, now)
        seeded.ids.append(customer_id)
        seeded.invoices += len(summary.open)
        if summary.refresh_on == today:
            seeded.changed += 1
            seeded.overdue_tonight += sum(1 for i in summary.open.values() if i.due_on < today)
        batch += ({"PutRequest": {"Item": to_item(item)}} for item in items)
        if (n + 1) % CUSTOMERS_PER_WRITE == 0 or n + 1 == size:
            seeded.items += len(batch)
            seeded.write_calls += batch_write(ddb, table_name, batch)
            batch = []
    yesterday = (today - timedelta(days=1)).isoformat()
    job = f"JOBRUN#{NightlyRefresh.JOB}"
    runs = [{"PK": job, "SK": "LAST", "day": yesterday},
            {"PK": job, "SK": yesterday, "status": "completed", "started_at": f"{yesterday}T02:00:00Z",
             "finished_at": f"{yesterday}T02:01:00Z"}]
    seeded.write_calls += batch_write(ddb, table_name, [{"PutRequest": {"Item": to_item(r)}} for r in runs])
    seeded.items += len(runs)
    seeded.seconds = time.perf_counter() - started
    return seeded


# ---- the runs -----------------------------------------------------------------------------------------

@dataclass
class Run:
    items_read: int
    calls: dict[str, int]
    in_moto: dict[str, float]
    seconds: float
    refreshed: int
    overdue: int | None
    days_read: int = 0


@dataclass
class SizeResult:
    seeded: Seeded
    index: Run
    naive: Run


def naive_refresh_reads(ddb: Any, table_name: str, ids: list[str], today: date) -> Run:
    """What a job that ignores the index reads: every customer's summary, once (BatchGetItem, 100 keys a call),
    asking for the day each is due. Only the read is timed; it counts the summaries it would refresh."""
    reads = ReadMeter.attach(ddb)
    calls = WriteMeter.attach(ddb)
    started = time.perf_counter()
    items = batch_get(ddb, table_name, [key(customer_pk(i), SUMMARY) for i in ids], projection="PK, GSI2PK")
    elapsed = time.perf_counter() - started
    due = sum(1 for i in items if "GSI2PK" in i and i["GSI2PK"]["S"] <= f"REFRESH#{today.isoformat()}")
    return Run(reads.items_read, dict(calls.calls), dict(calls.seconds), elapsed, due, None)


def measure_size(size: int) -> SizeResult:
    if str(FUNCTION) not in sys.path:
        sys.path.append(str(FUNCTION))
    template = Template(secrets={"CursorSigningSecret": BENCH_ENV["CURSOR_SIGNING_KEY"]})
    today = datetime.now(tz=UTC).date()
    with environment(BENCH_ENV), mock_aws():
        ddb = boto3.client("dynamodb", config=Config(parameter_validation=False))  # seeding: botocore's checks off
        for args in template.tables().values():
            ddb.create_table(**args)
        create_secrets_and_parameters(template)  # the cursor key, read at run time
        os.environ.update(template.functions()["BalanceRefreshFunction"].environment)
        os.environ["POWERTOOLS_LOG_LEVEL"] = BENCH_ENV["POWERTOOLS_LOG_LEVEL"]  # the template says INFO
        table_name = os.environ["TABLE_NAME"]
        progress(f"nightly_refresh: seeding {size:,} customers")
        seeded = seed(ddb, table_name, size, today)
        progress(f"nightly_refresh: seeded {seeded.items:,} items in {seconds(seeded.seconds)}; "
                 "naive read of every summary")
        naive = naive_refresh_reads(boto3.client("dynamodb"), table_name, seeded.ids, today)
        progress(f"nightly_refresh: naive read in {seconds(naive.seconds)}; the nightly run")

        import balance_refresh

        wiring.reset()
        function_client = client("dynamodb")
        reads = ReadMeter.attach(function_client)
        calls = WriteMeter.attach(function_client)
        event = {"id": f"bench-{size}", "detail-type": "Scheduled Event", "source": "aws.events",
                 "time": f"{today.isoformat()}T02:00:00Z", "detail": {}}
        started = time.perf_counter()
        with contextlib.redirect_stdout(io.StringIO()):  # the handler's metrics (EMF) go to stdout
            answer = balance_refresh.handler(event, FakeContext())
        elapsed = time.perf_counter() - started
        wiring.reset()
    if not answer.get("ran"):
        raise RuntimeError(f"{size:,}: the nightly run did not run: {answer}")
    index = Run(reads.items_read, dict(calls.calls), dict(calls.seconds), elapsed,
                int(answer["customers_refreshed"]), int(answer["invoices_marked_overdue"]), int(answer["days_read"]))
    progress(f"nightly_refresh: {index.refreshed:,} customers refreshed in {seconds(elapsed)}")
    return SizeResult(seeded, index, naive)


# ---- report -------------------------------------------------------------------------------------------

def _label(size: int) -> str:
    return f"{size // 1000}k customers" if size >= 1000 and size % 1000 == 0 else f"{size} customers"


def _per(value: float, by: int) -> str:
    return f"{value / by:.2f}" if by else "-"


def _cell(label: str, run: Run, seeded: Seeded) -> str:
    if label.endswith(" calls"):
        return count(run.calls.get(label.removesuffix(" calls"), 0))
    return {
        "customers refreshed (naive: due)": lambda: count(run.refreshed),
        "invoices marked overdue": lambda: count(run.overdue),
        "items read": lambda: count(run.items_read),
        "items read per changed customer": lambda: _per(run.items_read, seeded.changed),
        "wall time": lambda: seconds(run.seconds),
        "  in DynamoDB calls (moto)": lambda: seconds(sum(run.in_moto.values())),
        "  of which Query": lambda: seconds(run.in_moto.get("Query", 0.0)),
    }[label]()


def render(results: list[SizeResult]) -> str:
    out = []
    rows: list[list[object]] = []
    for r in results:
        s = r.seeded
        rows.append([_label(s.size), count(s.items), count(s.invoices), count(s.changed),
                     count(s.overdue_tonight), count(s.write_calls), seconds(s.seconds)])
    out.append(table(["table", "items seeded", "open invoices", "changed today", "due yesterday",
                      "BatchWriteItem calls", "seeding"], rows))
    out.append("")

    headers = ["nightly refresh"]
    groups: list[tuple[str, int]] = [("", 1)]
    for r in results:
        headers += ["index run", "naive", "naive/index"]
        groups.append((f" {_label(r.seeded.size)} ", 3))
    labels = ["customers refreshed (naive: due)", "invoices marked overdue", "items read",
              "items read per changed customer", *(f"{op} calls" for op in OPERATIONS), "wall time",
              "  in DynamoDB calls (moto)", "  of which Query"]
    rows = []
    for label in labels:
        row: list[object] = [label]
        for r in results:
            row += [_cell(label, r.index, r.seeded), _cell(label, r.naive, r.seeded), ""]
            if label == "items read":
                row[-1] = ratio(r.naive.items_read / r.index.items_read if r.index.items_read else None, 0)
            elif label == "wall time":
                row[-1] = ratio(r.naive.seconds / r.index.seconds if r.index.seconds else None, 1)
        rows.append(row)
    out.append(table(headers, rows, groups))
    out.append("")

    if len(results) > 1:
        a, b = results[0], results[-1]
        rows = [
            ["customers", count(a.seeded.size), count(b.seeded.size), ratio(b.seeded.size / a.seeded.size, 1)],
            ["changed today", count(a.seeded.changed), count(b.seeded.changed),
             ratio(b.seeded.changed / a.seeded.changed if a.seeded.changed else None, 1)],
            ["items read, index run", count(a.index.items_read), count(b.index.items_read),
             ratio(b.index.items_read / a.index.items_read if a.index.items_read else None, 1)],
            ["items read, naive", count(a.naive.items_read), count(b.naive.items_read),
             ratio(b.naive.items_read / a.naive.items_read if a.naive.items_read else None, 1)],
            ["index reads per changed customer", _per(a.index.items_read, a.seeded.changed),
             _per(b.index.items_read, b.seeded.changed), ""],
            ["wall time, index run", seconds(a.index.seconds), seconds(b.index.seconds),
             ratio(b.index.seconds / a.index.seconds if a.index.seconds else None, 1)],
            ["wall time, naive", seconds(a.naive.seconds), seconds(b.naive.seconds),
             ratio(b.naive.seconds / a.naive.seconds if a.naive.seconds else None, 1)],
        ]
        out.append(table([f"growth {_label(a.seeded.size)} -> {_label(b.seeded.size)}", "small", "large", "growth"],
                         rows))
        out.append("")

    out.append("items read: what DynamoDB reads and bills (ReadMeter: Query ScannedCount, the items GetItem and")
    out.append("BatchGetItem return); calls: the function's DynamoDB calls by operation. The index run reads the")
    out.append("REFRESH#<day> partitions from last night's day to today (GSI2, keys only), then one summary per")
    out.append("customer found (GetItem), and writes each back in one TransactWriteItems. naive: every summary read")
    out.append("once (BatchGetItem, 100 keys a call), the read alone timed; its 'refreshed' is how many of them")
    out.append("are due. Items read by the index run should follow the changed customers (x10 for x10 here),")
    out.append("per changed customer flat; the naive read follows the table.")
    out.append("naive asks only for the key and the day (ProjectionExpression): DynamoDB still reads and bills")
    out.append("whole items, but moto answers several times sooner than with whole summaries.")
    out.append("Wall times are moto's (with the emulator changes of crm_local/emulator.py, a Query on GSI2 reads")
    out.append("only the items under its key). Read the items, not the seconds. Seeding is in no figure but the")
    out.append("first table.")
    checks = []
    for r in results:
        if r.index.refreshed != r.seeded.changed or r.index.overdue != r.seeded.overdue_tonight:
            checks.append(f"{_label(r.seeded.size)}: refreshed {r.index.refreshed:,} (expected {r.seeded.changed:,}),"
                          f" marked overdue {r.index.overdue:,} (expected {r.seeded.overdue_tonight:,})")
    out.append("")
    out.append("MISMATCH: " + "; ".join(checks) if checks else
               "Every size: the run refreshed exactly the customers changed today and marked exactly the invoices "
               "due yesterday.")
    return "\n".join(out)


def run(quick: bool = False) -> str:
    results = [measure_size(size) for size in (QUICK_SIZES if quick else SIZES)]
    return render(results)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help=f"sizes {QUICK_SIZES} (smoke test)")
    args = parser.parse_args(argv)
    print(run(quick=args.quick))
    return 0


if __name__ == "__main__":
    sys.exit(main())
