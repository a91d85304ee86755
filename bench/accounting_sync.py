"""The accounting sync of 10,000 new customers against a REST accounts API: requests and wall time.

A moto account (in-process) gets the customers table of template.yaml, as tests/conftest.py builds it, with
the environment of the tests and then AccountingSyncFunction's environment from the template (log level kept
at WARNING), switched to the REST adapter as tests/integration/test_accounting_sync.py does:
``ACCOUNTS_ADAPTER=rest``, ``ACCOUNTS_API_URL`` the fake server's, and the server's token in moto's Secrets
Manager under the name ``ACCOUNTS_API_TOKEN_SECRET`` gives. The accounts API is ``tests/accounts_server.py``'s
``FakeAccountsServer``: a real HTTP server on loopback, in a thread of this process.

The table is seeded directly (BatchWriteItem, 25 items a call): per customer the profile item
``CustomerRepository`` stores (``profile_item``: what ``get_many`` reads back into a ``Customer``) and the
"sync me" marker ``sync_marker(id)``, as creating a customer leaves them. Every customer has a unique email
and postcode; one in ten is already in the package (the same email, the name written surname first), so it
is linked rather than created.

The function's handler (functions/sync/accounting_sync.py) then runs with a schedule event, and a second
time with nothing pending. Measured: the HTTP requests the server received, by kind; the DynamoDB calls of
the function's client, by operation (and the items read, ``ReadMeter``); the outcomes; the wall time. The
baseline, in the same run: as many simple GET requests as the first sync sent, through the same client
code (``RestAccounts.find`` for a customer with only an email that matches nothing: one request each).

Run:

    .venv/bin/python bench/accounting_sync.py            # 10,000 customers
    .venv/bin/python bench/accounting_sync.py --quick    # 1,000 customers
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import importlib.util
import io
import os
import sys
import time
import urllib.parse
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from moto import mock_aws

from crm_core import wiring
from crm_core.accounting import AccountCustomer
from crm_core.accounting.rest import RestAccounts
from crm_core.aws import client
from crm_core.dal.customers import profile_item, sync_marker
from crm_core.dal.dynamo import ReadMeter, batch_write, to_item
from crm_core.ids import new_id
from crm_core.models.customer import Address, Customer
from crm_core.services.customers import dedupe_of
from crm_local.stack import create_secrets_and_parameters
from crm_local.template import Template
from import_write import FakeContext, WriteMeter
from report import count, ratio, seconds, table
from search_reads import BENCH_ENV, FIRST_NAMES, LAST_NAMES, POSTCODE_AREAS, environment, progress

ROOT = Path(__file__).resolve().parents[1]
FUNCTION = ROOT / "functions" / "sync"  # accounting_sync
TESTS = ROOT / "tests"  # accounts_server

SIZE = 10_000
QUICK_SIZE = 1_000
ALREADY_EVERY = 10  # one customer in ten already has an account in the package
CUSTOMERS_PER_WRITE = 2_500
SCHEDULE = {"id": "bench-schedule", "detail-type": "Scheduled Event", "source": "aws.events", "detail": {}}
OPERATIONS = ("Query", "BatchGetItem", "GetItem", "TransactWriteItems", "UpdateItem", "PutItem", "DeleteItem")
KINDS = ("find by email", "find by name + postcode", "find by ref", "create (POST)", "update (PUT)",
         "balances (GET)", "other")
INWARD_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"


# ---- the customers ------------------------------------------------------------------------------------

def _postcode(n: int) -> str:
    """A different postcode for every n below 1.6 million."""
    area = POSTCODE_AREAS[n % len(POSTCODE_AREAS)]
    n //= len(POSTCODE_AREAS)
    district, n = n % 20 + 1, n // 20
    digit, n = n % 10, n // 10
    first, n = INWARD_LETTERS[n % 20], n // 20
    return f"{area}{district} {digit}{first}{INWARD_LETTERS[n % 20]}"


def synthetic_customer(n: int, now: datetime) -> Customer:
    first = FIRST_NAMES[n % len(FIRST_NAMES)]
    last = LAST_NAMES[(n // len(FIRST_NAMES)) % len(LAST_NAMES)]
    created = now - timedelta(minutes=10, seconds=n)
    return Customer(
        id=new_id(now_ms=int(created.timestamp() * 1000)), customer_number=str(200_000 + n), type="individual",
        status="active", first_name=first, last_name=last, email=f"{first}.{last}.{n}@example.co.uk".lower(),
        phone=f"07700 {900_000 + n % 100_000:06d}",
        address=Address(line1=f"{n % 200 + 1} High Street", city="London", postcode=_postcode(n), country="GB"),
        version=1, created_at=created, updated_at=created, created_by="bench", updated_by="bench")


@dataclass
class Seeded:
    size: int
    already: int = 0  # customers with an account in the package before the sync
    items: int = 0
    write_calls: int = 0
    seconds: float = 0.0


def seed(ddb: Any, table_name: str, server: Any, size: int) -> Seeded:
    started = time.perf_counter()
    seeded = Seeded(size=size)
    now = datetime.now(tz=UTC)
    batch: list[dict[str, Any]] = []
    for n in range(size):
        customer = synthetic_customer(n, now)
        batch.append({"PutRequest": {"Item": to_item(profile_item(customer, dedupe_of(customer)))}})
        batch.append({"PutRequest": {"Item": to_item(sync_marker(customer.id))}})
        if n % ALREADY_EVERY == 3:  # the same email (in capitals), the name surname first: linked by email
            assert customer.email and customer.address
            server.seed(f"LEGACY{n:06d}", f"{(customer.last_name or '').upper()} {customer.first_name}",
                        email=customer.email.upper(), postcode=customer.address.postcode,
                        balance=f"{n % 500}.{n % 100:02d}")
            seeded.already += 1
        if (n + 1) % CUSTOMERS_PER_WRITE == 0 or n + 1 == size:
            seeded.items += len(batch)
            seeded.write_calls += batch_write(ddb, table_name, batch)
            batch = []
    seeded.seconds = time.perf_counter() - started
    return seeded


# ---- the runs -----------------------------------------------------------------------------------------

def kind_of(method: str, target: str) -> str:
    parts = urllib.parse.urlsplit(target)
    query = dict(urllib.parse.parse_qsl(parts.query))
    if method == "GET" and parts.path == "/accounts":
        return "find by email" if "email" in query else "find by ref" if "ref" in query else \
            "find by name + postcode" if "name" in query else "other"
    if method == "POST" and parts.path == "/accounts":
        return "create (POST)"
    if method == "PUT" and parts.path.startswith("/accounts/"):
        return "update (PUT)"
    if method == "GET" and parts.path == "/balances":
        return "balances (GET)"
    return "other"


@dataclass
class SyncRun:
    figures: dict[str, Any]
    requests: Counter[str]
    calls: Counter[str]
    in_moto: dict[str, float]
    items_read: int
    seconds: float

    @property
    def http_requests(self) -> int:
        return sum(self.requests.values())


@dataclass
class Result:
    seeded: Seeded
    first: SyncRun
    second: SyncRun
    accounts_created: int  # as the server counts them
    baseline_requests: int
    baseline_seconds: float


def sync_once(handler: Any, server: Any, meter: WriteMeter, reads: ReadMeter) -> SyncRun:
    meter.reset()
    reads.reset()
    sent = len(server.requests)
    started = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):  # the handler's metrics (EMF) go to stdout
        answer = handler(dict(SCHEDULE), FakeContext())
    elapsed = time.perf_counter() - started
    if not answer.get("ran"):
        raise RuntimeError(f"the sync did not run: {answer}")
    requests = Counter(kind_of(method, target) for method, target, _ in server.requests[sent:])
    return SyncRun(dict(answer), requests, copy.copy(meter.calls), dict(meter.seconds), reads.items_read, elapsed)


def raw_round_trips(url: str, token: str, n: int) -> float:
    """``n`` GET /accounts?email=… through ``RestAccounts.find``, each matching nothing: one request each."""
    accounts = RestAccounts(url, token)
    started = time.perf_counter()
    for i in range(n):
        accounts.find(AccountCustomer(customer_id=f"nobody-{i}", customer_number="0", name="Nobody",
                                      email=f"nobody.{i}@nowhere.example"))
    elapsed = time.perf_counter() - started
    if accounts.requests != n:
        raise RuntimeError(f"the baseline sent {accounts.requests} requests, not {n}")
    return elapsed


def function_handler() -> Any:
    """The function's handler. Its module is loaded from its file under another name: ``accounting_sync`` on
    ``sys.path`` is this benchmark."""
    name = "accounting_sync_function"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, FUNCTION / "accounting_sync.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name].handler


def measure(size: int) -> Result:
    if str(TESTS) not in sys.path:
        sys.path.append(str(TESTS))
    from accounts_server import FakeAccountsServer

    template = Template(secrets={"CursorSigningSecret": BENCH_ENV["CURSOR_SIGNING_KEY"]})
    with FakeAccountsServer() as server, environment(BENCH_ENV), mock_aws():
        ddb = boto3.client("dynamodb", config=Config(parameter_validation=False))  # seeding: botocore's checks off
        for args in template.tables().values():
            ddb.create_table(**args)
        create_secrets_and_parameters(template)  # the keys and the token's secret, read at run time
        environment_of = template.functions()["AccountingSyncFunction"].environment
        os.environ.update(environment_of)
        os.environ.update(POWERTOOLS_LOG_LEVEL=BENCH_ENV["POWERTOOLS_LOG_LEVEL"], ACCOUNTS_ADAPTER="rest",
                          ACCOUNTS_API_URL=server.url)
        boto3.client("secretsmanager").put_secret_value(SecretId=environment_of["ACCOUNTS_API_TOKEN_SECRET"],
                                                        SecretString=server.token)
        progress(f"accounting_sync: seeding {size:,} customers")
        seeded = seed(ddb, os.environ["TABLE_NAME"], server, size)
        progress(f"accounting_sync: seeded {seeded.items:,} items in {seconds(seeded.seconds)}; first sync")

        handler = function_handler()
        wiring.reset()
        function_client = client("dynamodb")
        meter = WriteMeter.attach(function_client)
        reads = ReadMeter.attach(function_client)
        first = sync_once(handler, server, meter, reads)
        progress(f"accounting_sync: first sync in {seconds(first.seconds)} ({first.http_requests:,} requests); "
                 "second sync")
        second = sync_once(handler, server, meter, reads)
        wiring.reset()
        created = server.created
        progress(f"accounting_sync: second sync in {seconds(second.seconds)}; baseline: "
                 f"{first.http_requests:,} GET requests")
        baseline = raw_round_trips(server.url, server.token, first.http_requests)
    return Result(seeded, first, second, created, first.http_requests, baseline)


# ---- report -------------------------------------------------------------------------------------------

def _per(value: float, by: int, digits: int = 2) -> str:
    return f"{value / by:.{digits}f}" if by else "-"


def render(r: Result) -> str:
    s, a, b = r.seeded, r.first, r.second
    out = [table(["customers", "already in the package", "items seeded", "BatchWriteItem calls", "seeding"],
                 [[count(s.size), count(s.already), count(s.items), count(s.write_calls), seconds(s.seconds)]])]
    out.append("")

    rows: list[list[object]] = []
    for kind in KINDS:
        if kind == "other" and not (a.requests[kind] or b.requests[kind]):
            continue
        rows.append([kind, count(a.requests[kind]), _per(a.requests[kind], s.size), count(b.requests[kind])])
    rows.append(["all", count(a.http_requests), _per(a.http_requests, s.size), count(b.http_requests)])
    out.append(table(["HTTP requests to the accounts API", "first sync", "per customer", "second sync"], rows))
    out.append("")

    outcomes = ("created", "linked", "updated", "held", "error", "skipped", "balances_read", "balances_unread",
                "stopped_early")
    rows = [[name, count(a.figures.get(name, 0)), count(b.figures.get(name, 0))] for name in outcomes
            if a.figures.get(name) or b.figures.get(name) or name in ("created", "linked", "held", "error")]
    rows.append(["accounts opened (server)", count(r.accounts_created), ""])
    out.append(table(["outcomes (handler's figures)", "first sync", "second sync"], rows))
    out.append("")

    rows = []
    for op in OPERATIONS:
        rows.append([op, count(a.calls[op]), _per(a.calls[op], s.size), seconds(a.in_moto.get(op, 0.0)),
                     count(b.calls[op]), seconds(b.in_moto.get(op, 0.0))])
    rows.append(["all", count(sum(a.calls.values())), _per(sum(a.calls.values()), s.size),
                 seconds(sum(a.in_moto.values())), count(sum(b.calls.values())), seconds(sum(b.in_moto.values()))])
    rows.append(["items read", count(a.items_read), _per(a.items_read, s.size), "", count(b.items_read), ""])
    out.append(table(["DynamoDB calls", "first sync", "per customer", "in moto", "second sync", "in moto"], rows))
    out.append("")

    per_request = r.baseline_seconds / r.baseline_requests if r.baseline_requests else 0.0
    http_share = a.http_requests * per_request
    moto = sum(a.in_moto.values())
    rows = [
        ["first sync", seconds(a.seconds), f"{s.size / a.seconds:,.0f}" if a.seconds else "-",
         f"{a.http_requests / a.seconds:,.0f}" if a.seconds else "-",
         ratio(a.seconds / r.baseline_seconds if r.baseline_seconds else None, 1)],
        ["second sync (nothing pending)", seconds(b.seconds), "-", "-", ""],
        [f"baseline: {r.baseline_requests:,} GET requests", seconds(r.baseline_seconds), "-",
         f"{r.baseline_requests / r.baseline_seconds:,.0f}" if r.baseline_seconds else "-", "1.0x"],
    ]
    out.append(table(["wall time", "wall", "customers/s", "requests/s", "vs baseline"], rows))
    out.append("")
    out.append(f"first sync, where the time went: HTTP at the baseline's pace {seconds(http_share)} "
               f"({a.http_requests:,} x {per_request * 1000:.2f} ms), DynamoDB calls (moto) {seconds(moto)}, "
               f"the rest {seconds(max(0.0, a.seconds - http_share - moto))}")
    out.append("")
    out.append("HTTP requests: as FakeAccountsServer received them. A new customer costs two finds (its email, its")
    out.append("name and postcode: both are asked so that two candidates hold it for staff) and one POST; one")
    out.append("already in the package two finds and one PUT (linked and brought up to date). Each run ends")
    out.append("with one GET /balances. baseline: the same client code (RestAccounts.find, email only, matching")
    out.append("nothing), as many requests as the first sync sent, one after the other on this machine's")
    out.append("loopback: the floor under the sync's wall time. DynamoDB calls: the function's client, by")
    out.append("operation; in moto: time inside those calls (moto's, in this process). items read: ReadMeter.")
    return "\n".join(out)


def verdict(r: Result) -> str:
    problems = []
    expected_created = r.seeded.size - r.seeded.already
    if r.first.figures.get("created", 0) != expected_created or r.accounts_created != expected_created:
        problems.append(f"created {r.first.figures.get('created', 0):,} (server: {r.accounts_created:,}), expected "
                        f"{expected_created:,}")
    if r.first.figures.get("linked", 0) != r.seeded.already:
        problems.append(f"linked {r.first.figures.get('linked', 0):,}, expected {r.seeded.already:,}")
    if r.second.requests.total() != r.second.requests["balances (GET)"]:
        problems.append(f"the second sync sent {r.second.requests.total():,} requests besides reading the balances")
    return "MISMATCH: " + "; ".join(problems) if problems else (
        "Every customer was created or linked as expected; the second sync sent nothing but GET /balances.")


def run(quick: bool = False) -> str:
    result = measure(QUICK_SIZE if quick else SIZE)
    return render(result) + "\n\n" + verdict(result)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_SIZE:,} customers (smoke test)")
    args = parser.parse_args(argv)
    print(run(quick=args.quick))
    return 0


if __name__ == "__main__":
    sys.exit(main())
