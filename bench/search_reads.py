"""Items DynamoDB reads per customer search, at several table sizes.

A moto account (in-process) gets the customers table of template.yaml, as tests/conftest.py builds it, and
is seeded with deterministic synthetic customers. Their items are the ones ``CustomerRepository.create``
writes (profile, customer number, claims, search items, first history entry): the repository builds them,
and they go straight into the emulator's store (``crm_local/emulator.py``; with moto as released, with
``batch_write``, 25 a call) instead of one transaction per customer.

Each search then runs once through ``CustomerService.search`` (first page, default page size) with a
``ReadMeter`` on the service's DynamoDB client. Keyword searches should read in proportion to what they
match, whatever the size of the table. The "registered in the last 30 days" listing (no keyword) is
reported on its own, against the size of the page and of the window.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import math
import os
import random
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import moto.dynamodb.models as moto_dynamodb
from moto import mock_aws
from moto.core import DEFAULT_ACCOUNT_ID

from crm_core import wiring
from crm_core.aws import client
from crm_core.config import get_settings
from crm_core.dal.customers import CustomerRepository
from crm_core.dal.dynamo import ReadMeter, batch_write, to_item
from crm_core.dal.search import LONG_PAIR, PAIR_STARTS, customer_terms, is_search_item, pair_partition
from crm_core.ids import min_id_at, new_id
from crm_core.models.customer import Address, Customer, FieldChange, HistoryEntry, SearchParams
from crm_core.services.customers import DEFAULT_WINDOW_DAYS, claims_of, dedupe_of
from crm_core.text import query_words
from crm_local import emulator
from crm_local.stack import create_secrets_and_parameters
from crm_local.template import Template
from report import count, ratio, seconds, table

emulator.install()  # moto's DynamoDB at the cost of the items: the local stack's and the tests' emulator

# The environment of tests/conftest.py (TEST_ENV); the template's function environment goes on top.
BENCH_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "eu-west-2",
    "POWERTOOLS_TRACE_DISABLED": "true",
    "POWERTOOLS_METRICS_NAMESPACE": "CustomerWorkflowTests",
    "POWERTOOLS_LOG_LEVEL": "WARNING",
    "CURSOR_SIGNING_KEY": "tests-cursor-signing-key-0123456789",
    "AWS_MAX_ATTEMPTS": "2",
    "STAFF_DIRECTORY": "built-in",
}
UNSET = ("AWS_ENDPOINT_URL", "AWS_PROFILE")

SIZES = (1_000, 10_000)
LARGE_SIZES = (1_000, 10_000, 100_000)
QUICK_SIZES = (300, 1_000)
HISTORY_DAYS = 730  # customers registered evenly over the last two years
SEED = 20240229
CUSTOMERS_PER_WRITE = 500  # customers whose items are built and written together (bounds memory)
SIZE_SAMPLE = 10  # one customer in this many has its items' sizes counted

# ---- synthetic customers ------------------------------------------------------------------------------

FIRST_NAMES = (
    "James", "Oliver", "Jack", "Harry", "George", "Noah", "Charlie", "Jacob", "Thomas", "Oscar", "William",
    "Henry", "Leo", "Alfie", "Joshua", "Freddie", "Archie", "Ethan", "Isaac", "Alexander", "Joseph", "Samuel",
    "Daniel", "Logan", "Edward", "Lucas", "Max", "Mohammed", "Benjamin", "Mason", "Adam", "David", "Michael",
    "Olivia", "Amelia", "Isla", "Ava", "Emily", "Sophia", "Grace", "Mia", "Poppy", "Ella", "Lily", "Evie",
    "Isabella", "Sophie", "Ivy", "Freya", "Harper", "Willow", "Charlotte", "Jessica", "Daisy", "Florence",
    "Ruby", "Sienna", "Phoebe", "Chloe", "Sarah", "Emma", "Hannah", "Lucy", "Megan", "Rebecca", "Laura",
)
LAST_NAMES = (
    "Smith", "Jones", "Williams", "Taylor", "Brown", "Davies", "Evans", "Wilson", "Thomas", "Johnson",
    "Roberts", "Robinson", "Thompson", "Wright", "Walker", "White", "Edwards", "Hughes", "Green", "Hall",
    "Lewis", "Harris", "Clarke", "Patel", "Jackson", "Wood", "Turner", "Martin", "Cooper", "Hill", "Ward",
    "Morris", "Moore", "Clark", "Lee", "King", "Baker", "Harrison", "Morgan", "Allen", "James", "Scott",
    "Phillips", "Watson", "Davis", "Parker", "Price", "Bennett", "Young", "Griffiths", "Mitchell", "Kelly",
    "Cook", "Carter", "Richardson", "Bailey", "Collins", "Bell", "Shaw", "Murphy", "Miller", "Cox", "Richards",
    "Khan", "Marshall", "Anderson", "Simpson", "Ellis", "Adams", "Singh", "Begum", "Wilkinson", "Foster",
    "Chapman", "Powell", "Webb", "Rogers", "Gray", "Mason", "Ali", "Hunt", "Hussain", "Campbell", "Matthews",
    "Owen", "Palmer", "Holmes", "Mills", "Barnes", "Knight", "Lloyd", "Butler", "Russell", "Barker", "Fisher",
)
EMAIL_DOMAINS = (  # (domain, weight)
    ("gmail.com", 34), ("hotmail.co.uk", 15), ("outlook.com", 12), ("yahoo.co.uk", 10), ("btinternet.com", 8),
    ("icloud.com", 8), ("sky.com", 6), ("live.co.uk", 6),
)
RARE_DOMAIN = "harbourcomputing.co.uk"  # one customer in a hundred; the email-fragment search looks for it
RARE_DOMAIN_EVERY = 100
ORG_WORDS = (
    "Harbour", "Northern", "Riverside", "Oak", "Summit", "Meridian", "Castle", "Valley", "Beacon", "Orchard",
    "Granite", "Kestrel", "Albion", "Pennine", "Thames", "Severn", "Heritage", "Lantern", "Willow", "Foundry",
)
ORG_KINDS = ("Arts Trust", "Engineering Ltd", "Community Centre", "Builders Ltd", "Theatre Company",
             "Primary School", "Housing Association", "Dental Practice", "Football Club", "Accountants LLP")
POSTCODE_AREAS = ("N", "E", "SE", "SW", "W", "NW", "EC", "M", "B", "LS", "BS", "EH", "G", "CF", "L", "S", "NG",
                  "OX", "CB", "BN")
INWARD_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"
STATUSES = (("active", 80), ("enrolled", 12), ("inactive", 8))

# The needles: a rare surname, the same at every size, so some searches match a handful at any size.
NEEDLE_POSTCODE = "N1 9GU"
NEEDLES = (
    ("Ada", "Lovelace", "ada.lovelace@analytical.org.uk", NEEDLE_POSTCODE),
    ("Augusta", "Lovelace", "augusta.lovelace@gmail.com", NEEDLE_POSTCODE),
    ("Byron", "Lovelace", "byron.lovelace@outlook.com", "SW1A 2AA"),
    ("Annabella", "Lovelace", "annabella@analytical.org.uk", "EH2 1JX"),
    ("Ralph", "Lovelace", "ralph.l@btinternet.com", "M1 2AB"),
)


@dataclass(frozen=True)
class Search:
    label: str
    q: str | None = None
    status: str | None = None
    assigned_to: str | None = None

    def params(self) -> SearchParams:
        return SearchParams.model_validate({k: v for k, v in (("q", self.q), ("status", self.status),
                                                              ("assigned_to", self.assigned_to)) if v})

    @property
    def shown(self) -> str:
        return f'{self.label}: "{self.q}"' if self.q else self.label


SEARCHES = (
    Search("rare surname", "Lovelace"),
    Search("common first name", "James"),
    Search("email fragment (rare domain)", "harbourcomputing"),
    Search("whole email address", "ada.lovelace@analytical.org.uk"),
    Search("postcode as typed", NEEDLE_POSTCODE),
    Search("postcode without the space", NEEDLE_POSTCODE.replace(" ", "")),
    Search("two words: first + rare surname", "Ada Lovelace"),
    Search("two words: both common", "James Smith"),
)
LISTINGS = (
    Search("newest first"),
    Search("newest first, status=inactive", status="inactive"),
)
STAFF_USERS = ("staff-1", "staff-2", "staff-3", "staff-4")  # every other customer is assigned to one of them
ASSIGNED = (
    Search("assigned to staff-1", assigned_to=STAFF_USERS[0]),
    Search("assigned to staff-1, status=inactive", status="inactive", assigned_to=STAFF_USERS[0]),
)


@dataclass
class Seeded:
    """What went into the table, kept to count each search's matches independently of the search."""

    size: int
    items: int = 0
    write_calls: int = 0
    seconds: float = 0.0
    terms: dict[str, set[tuple[str, str]]] = field(default_factory=dict)
    statuses: dict[str, str] = field(default_factory=dict)
    staff: dict[str, list[str]] = field(default_factory=dict)
    partitions: Counter[str] = field(default_factory=Counter)  # search partition -> customers in it
    search_items: int = 0
    search_item_bytes: int = 0  # of the sampled customers' search items
    sized_search_items: int = 0
    profile_bytes: int = 0  # of the sampled customers' profiles
    sized_profiles: int = 0

    def matches(self, search: Search, now: datetime) -> list[str]:
        """Ids the search should find, newest first.

        With keywords: every keyword starts a term of the customer (in any field). A staff user's: assigned
        to them. Else: registered in the last ``DEFAULT_WINDOW_DAYS`` days (ids carry their registration time).
        """
        if search.assigned_to:
            found = [i for i, staff in self.staff.items() if search.assigned_to in staff]
        elif search.q is None:
            oldest = min_id_at(now - timedelta(days=DEFAULT_WINDOW_DAYS))
            found = [i for i in self.terms if i >= oldest]
        else:
            keywords = query_words(search.q)
            found = [i for i, terms in self.terms.items() if all(any(t.startswith(w) for t, _ in terms)
                                                                 for w in keywords)]
        return sorted((i for i in found if search.status in (None, self.statuses[i])), reverse=True)


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def _weighted(rng: random.Random, choices: tuple[tuple[str, int], ...]) -> str:
    return rng.choices([c for c, _ in choices], weights=[w for _, w in choices])[0]


def _postcode(rng: random.Random) -> str:
    area = rng.choice(POSTCODE_AREAS)
    return f"{area}{rng.randint(1, 20)} {rng.randint(0, 9)}{rng.choice(INWARD_LETTERS)}{rng.choice(INWARD_LETTERS)}"


def _phone(rng: random.Random) -> str:
    if rng.random() < 0.6:
        return f"07{rng.randint(100, 999)} {rng.randint(100000, 999999)}"
    if rng.random() < 0.5:
        return f"+44 7{rng.randint(100, 999)} {rng.randint(100000, 999999)}"
    return f"0{rng.choice(('20', '161', '113', '117', '131', '141', '29'))} {rng.randint(1000, 9999)} " \
           f"{rng.randint(1000, 9999)}"


def synthetic_customers(size: int, now: datetime, seed: int = SEED) -> Iterator[Customer]:
    """``size`` customers (the needles among them), registered evenly over the last two years."""
    rng = random.Random(seed)
    now_ms = _ms(now)
    span_ms = HISTORY_DAYS * 86_400_000
    needle_at = {(k + 1) * size // (len(NEEDLES) + 1): needle for k, needle in enumerate(NEEDLES)}
    for n in range(size):
        created_ms = now_ms - 60_000 - rng.randrange(span_ms)
        created = datetime.fromtimestamp(created_ms / 1000, tz=UTC)
        fields: dict[str, Any] = {"type": "individual", "status": _weighted(rng, STATUSES)}
        if n in needle_at:
            first, last, email, postcode = needle_at[n]
            fields.update(first_name=first, last_name=last, email=email, address=Address(postcode=postcode))
        elif rng.random() < 0.08:
            name = f"{rng.choice(ORG_WORDS)} {rng.choice(ORG_KINDS)}"
            slug = "".join(ch for ch in name.lower() if ch.isalpha())[:20]
            fields.update(type="organization", organization_name=name, email=f"info@{slug}{n}.org.uk",
                          address=Address(line1=f"{rng.randint(1, 200)} High Street", postcode=_postcode(rng)))
        else:
            first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
            domain = RARE_DOMAIN if n % RARE_DOMAIN_EVERY == 37 else _weighted(rng, EMAIL_DOMAINS)
            local = rng.choice((f"{first}.{last}", f"{first[0]}{last}{rng.randint(1, 99)}",
                                f"{first}{rng.randint(1950, 2005)}", f"{last}.{first}"))
            fields.update(first_name=first, last_name=last,
                          email=f"{local.lower()}@{domain}",
                          phone=_phone(rng) if rng.random() < 0.85 else None,
                          username=f"{first[0]}{last}{n}".lower() if rng.random() < 0.3 else None,
                          address=Address(line1=f"{rng.randint(1, 200)} {rng.choice(ORG_WORDS)} Road",
                                          postcode=_postcode(rng), country="GB") if rng.random() < 0.9 else None)
        staff = [STAFF_USERS[n // 2 % len(STAFF_USERS)]] if n % 2 == 0 else []  # no draw: the same customers
        yield Customer(id=new_id(now_ms=created_ms), customer_number=str(100_000 + n), version=1, assigned_staff=staff,
                       created_at=created, updated_at=created, created_by="import", updated_by="import", **fields)


class _Recorder:
    """Stands in for the DynamoDB client: keeps the items ``CustomerRepository.create`` would put (in its
    transaction, and in batches before it when they do not all fit in one)."""

    def __init__(self) -> None:
        self.actions: list[dict[str, Any]] = []

    def transact_write_items(self, TransactItems: list[dict[str, Any]]) -> dict[str, Any]:
        self.actions += TransactItems
        return {}

    def batch_write_item(self, RequestItems: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
        self.actions += [{"Put": r["PutRequest"]} for requests in RequestItems.values() for r in requests]
        return {}


def customer_items(customer: Customer, claimed_emails: set[str]) -> list[dict[str, Any]]:
    """The items ``CustomerRepository.create`` writes for ``customer``, as batch PutRequests.

    As with ``confirm_duplicate``, only the first customer with an email gets its claim.
    """
    claims = claims_of(customer)
    if claims.get("email") in claimed_emails:
        del claims["email"]
    elif "email" in claims:
        claimed_emails.add(claims["email"])
    entry = HistoryEntry(at=customer.created_at, by=customer.created_by, action="created", changes=[
        FieldChange(field=f, new=v) for f, v in customer.model_dump(
            mode="json", include={"first_name", "last_name", "organization_name", "email", "phone", "username"},
            exclude_none=True).items()])
    recorder = _Recorder()
    CustomerRepository(recorder, "unused").create(customer, customer_terms(customer), entry, claims,
                                                  dedupe_of(customer))
    return [{"PutRequest": {"Item": action["Put"]["Item"]}} for action in recorder.actions]


def item_bytes(item: dict[str, Any]) -> int:
    """An item's size as DynamoDB counts it (attribute names plus values; numbers and nesting approximated)."""
    total = 0
    for name, value in item.items():
        total += len(name.encode())
        kind, inner = next(iter(value.items()))
        if kind in ("S", "N"):
            total += len(str(inner).encode())
        elif kind == "M":
            total += 3 + item_bytes(inner)
        elif kind == "L":
            total += 3 + sum(item_bytes({"": v}) for v in inner)
        else:
            total += 1
    return total


def direct_writer(ddb: Any, table_name: str) -> Callable[[list[dict[str, Any]]], int]:
    """How the seeding writes its PutRequests: straight into the emulator's store of the table (the items
    as DynamoDB JSON, as a BatchWriteItem would leave them, without the request's round trip through
    botocore and moto, which would take hours at 100,000 customers); with moto as released, batch_write."""
    table = moto_dynamodb.dynamodb_backends[DEFAULT_ACCOUNT_ID][ddb.meta.region_name].get_table(table_name)
    store = table.items
    if not isinstance(store, emulator.ItemStore):
        return lambda requests: batch_write(ddb, table_name, requests)

    def write(requests: list[dict[str, Any]]) -> int:
        for request in requests:
            item = request["PutRequest"]["Item"]
            store.load(item["PK"]["S"], item["SK"]["S"], json.dumps(item, separators=(",", ":")).encode())
        return 0

    return write


def seed(ddb: Any, table_name: str, size: int, now: datetime) -> Seeded:
    started = time.perf_counter()
    seeded = Seeded(size=size)
    write = direct_writer(ddb, table_name)
    claimed_emails: set[str] = set()
    batch: list[dict[str, Any]] = []
    last_number = 0
    for n, customer in enumerate(synthetic_customers(size, now), start=1):
        seeded.terms[customer.id] = customer_terms(customer)
        seeded.statuses[customer.id] = customer.status
        seeded.staff[customer.id] = customer.assigned_staff
        items = customer_items(customer, claimed_emails)
        sized = n % SIZE_SAMPLE == 0  # item sizes from a sample of the customers
        for request in items:
            item = request["PutRequest"]["Item"]
            if is_search_item(item["PK"]["S"]):
                seeded.partitions[item["PK"]["S"]] += 1
                seeded.search_items += 1
                if sized:
                    seeded.search_item_bytes += item_bytes(item)
                    seeded.sized_search_items += 1
            elif sized and item["SK"]["S"] == "PROFILE":
                seeded.profile_bytes += item_bytes(item)
                seeded.sized_profiles += 1
        batch += items
        last_number = int(customer.customer_number)
        if n % CUSTOMERS_PER_WRITE == 0 or n == size:
            seeded.items += len(batch)
            seeded.write_calls += write(batch)
            batch = []
    counter = {"PK": "COUNTER", "SK": "customer_number", "value": last_number}
    seeded.write_calls += write([{"PutRequest": {"Item": to_item(counter)}}])
    seeded.items += 1
    seeded.seconds = time.perf_counter() - started
    return seeded


# ---- measuring ----------------------------------------------------------------------------------------

@dataclass
class Measure:
    matches: int
    shown: int
    items_read: int
    calls: int
    page_ok: bool

    @property
    def per_match(self) -> float | None:
        return self.items_read / self.matches if self.matches else None


@dataclass
class SizeResult:
    seeded: Seeded
    measures: dict[str, Measure]
    search_seconds: float
    page_size: int


def progress(message: str) -> None:
    """A line on stderr, so long runs show where they are without mixing into the figures."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


@contextlib.contextmanager
def environment(values: dict[str, str]) -> Iterator[None]:
    saved = dict(os.environ)
    for name in UNSET:
        os.environ.pop(name, None)
    os.environ.update(values)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def measure_size(size: int) -> SizeResult:
    template = Template(secrets={"CursorSigningSecret": BENCH_ENV["CURSOR_SIGNING_KEY"]})
    with environment(BENCH_ENV), mock_aws():
        ddb = boto3.client("dynamodb")
        for args in template.tables().values():
            ddb.create_table(**args)
        create_secrets_and_parameters(template)  # the cursor key, read at run time
        for function in template.functions().values():
            os.environ.update({k: v for k, v in function.environment.items() if k != "POWERTOOLS_SERVICE_NAME"})
        table_name = os.environ["TABLE_NAME"]
        progress(f"search: seeding {size:,} customers")
        seeded = seed(ddb, table_name, size, datetime.now(tz=UTC))
        progress(f"search: seeded {seeded.items:,} items in {seconds(seeded.seconds)}; searching")

        wiring.reset()
        service = wiring.customer_service()
        page_size = get_settings().default_page_size
        meter = ReadMeter.attach(client("dynamodb"))
        started = time.perf_counter()
        measures = {}
        for search in (*SEARCHES, *LISTINGS, *ASSIGNED):
            expected = seeded.matches(search, datetime.now(tz=UTC))
            meter.reset()
            page = service.search(search.params())
            shown = [c.id for c in page.items]
            page_ok = shown == expected[:page_size] and (page.next_cursor is not None) == (len(expected) > page_size)
            measures[search.shown] = Measure(len(expected), len(shown), meter.items_read, meter.calls, page_ok)
            if size >= LARGE_SIZES[-1]:
                progress(f"search: {search.shown}: {meter.calls} calls")
        wiring.reset()
        return SizeResult(seeded, measures, time.perf_counter() - started, page_size)


# ---- report -------------------------------------------------------------------------------------------

def _size_label(size: int) -> str:
    return f"{size // 1000}k customers" if size >= 1000 and size % 1000 == 0 else f"{size} customers"


def _growth_rows(results: list[SizeResult], searches: tuple[Search, ...]) -> tuple[list[str], list[list[object]]]:
    """Items read, size over size, for each tenfold step of the sizes measured."""
    steps = [(a, b) for a, b in itertools.pairwise(results) if b.seeded.size == 10 * a.seeded.size]
    headers = ["growth of items read per 10x table"] + [
        f"{_size_label(a.seeded.size)} -> {_size_label(b.seeded.size)}" for a, b in steps]
    rows: list[list[object]] = []
    for search in searches:
        row: list[object] = [search.shown]
        for a, b in steps:
            x, y = a.measures[search.shown].items_read, b.measures[search.shown].items_read
            row.append(ratio(y / x if x else None, 2))
        rows.append(row)
    return headers, rows


def _list_table(title: str, matches: str, searches: tuple[Search, ...], results: list[SizeResult]) -> str:
    """A table of lists without a keyword: per size, the customers the list holds, shown, read, calls."""
    headers: list[str] = [title]
    groups = [("", 1)]
    for r in results:
        headers += [matches, "shown", "read", "calls", "read/shown"]
        groups.append((f" {_size_label(r.seeded.size)} ", 5))
    rows = []
    for search in searches:
        row: list[object] = [search.shown]
        for r in results:
            m = r.measures[search.shown]
            row += [count(m.matches), m.shown, count(m.items_read), m.calls,
                    ratio(m.items_read / m.shown if m.shown else None, 1)]
        rows.append(row)
    return table(headers, rows, groups)


def render(results: list[SizeResult], page_size: int) -> str:
    out = []
    seed_rows = [[_size_label(r.seeded.size), count(r.seeded.items),
                  count(r.seeded.write_calls) if r.seeded.write_calls else "direct",
                  ratio(r.seeded.search_items / r.seeded.size, 1).removesuffix("x"),
                  seconds(r.seeded.seconds), seconds(r.search_seconds)] for r in results]
    out.append(table(["table", "items in table", "BatchWriteItem calls", "search items/customer", "seeding",
                      "searches"], seed_rows))
    out.append("")

    headers = [f"keyword search (first page of {page_size})"]
    groups = [("", 1)]
    for r in results:
        headers += ["matches", "read", "calls", "read/shown"]
        groups.append((f" {_size_label(r.seeded.size)} ", 4))
    rows = []
    for search in SEARCHES:
        row: list[object] = [search.shown]
        for r in results:
            m = r.measures[search.shown]
            row += [count(m.matches), count(m.items_read), m.calls,
                    ratio(m.items_read / m.shown if m.shown else None, 1)]
        rows.append(row)
    out.append(table(headers, rows, groups))
    out.append("")
    out.append("matches: customers the search finds in all (counted from the seeded data); read: items DynamoDB")
    out.append("read to answer the first page (ReadMeter: Query ScannedCount + items of GetItem/BatchGetItem), the")
    out.append("page's profiles included; calls: DynamoDB read calls; read/shown: items read per customer on the")
    out.append("page. Once a search has a page of matches, items read should stay flat as the table grows.")

    out.append("")
    out.append(_list_table(f"no keyword: registered in the last {DEFAULT_WINDOW_DAYS} days", "in window",
                           LISTINGS, results))
    out.append("")
    out.append("The listing has no keyword: every customer registered in the window, newest first, from GSI1's")
    out.append("month buckets, or with a type or status from GSI3's (type, status, month) buckets, one to four a")
    out.append("month read for the rest of the page each and merged: about a page whatever the filter's share.")

    out.append("")
    out.append(_list_table("a staff user's customers (assigned_to)", "assigned", ASSIGNED, results))
    out.append("")
    out.append("A staff user's list (every other customer is assigned to one of four staff users) reads their GSI1")
    out.append("partition, or with a type or status their GSI3 (user, type, status) partitions, one to four, each")
    out.append("for the rest of the page, merged: about a page however many customers they hold.")

    growth_headers, growth = _growth_rows(results, (*SEARCHES, *LISTINGS, *ASSIGNED))
    if len(growth_headers) > 1:
        out.append("")
        out.append(table(growth_headers, growth))
        out.append("")
        out.append("A search that has fewer than a page of matches at the smaller size reads them all, so its reads")
        out.append("grow with its matches until the page is full; from then on they stay flat.")

    last = results[-1]
    out.append("")
    out.append(render_projection(last, page_size))

    bad = [(r.seeded.size, label) for r in results for label, m in r.measures.items() if not m.page_ok]
    out.append("")
    if bad:
        out.append("FIRST PAGE DIFFERS from the seeded data for: " + "; ".join(f"{s:,}: {lbl}" for s, lbl in bad))
    else:
        out.append("Every first page held exactly the newest matching customers the seeded data predicts.")
    return "\n".join(out)


# ---- projection to tables the benchmark cannot seed ------------------------------------------------------

PROJECTED_SIZES = (1_000_000, 10_000_000)
NAME_FREQUENCIES = Path(__file__).with_name("name_frequencies.csv")
RCU_BYTES = 4096
EVENTUAL = 0.5  # RCU per 4 KB read eventually consistent (Query, BatchGetItem: the search's reads)
UK_POSTCODES = 1_750_000  # postcodes in use: "N1 9GU" (one keyword, "n19gu") is one of them
REGISTERED_DAYS = 730  # as seeded: registrations spread over two years
INACTIVE_SHARE = dict(STATUSES)["inactive"] / sum(w for _, w in STATUSES)
ORGANIZATION_SHARE = 0.08


@dataclass(frozen=True)
class Names:
    """Share of customers whose first name / surname starts with a prefix, from published frequencies."""

    first: dict[str, float]
    last: dict[str, float]

    @classmethod
    def load(cls, path: Path = NAME_FREQUENCIES) -> Names:
        kinds: dict[str, dict[str, float]] = {"male": {}, "female": {}, "surname": {}}
        for line in path.read_text().splitlines():
            if line.startswith("#") or line.startswith("kind,"):
                continue
            kind, name, percent = line.split(",")
            kinds[kind][name] = float(percent) / 100
        # the names kept stand for all: a prefix's share of the kept ones is taken as its share of everyone
        first = {n: (v / sum(kinds["male"].values())) / 2 for n, v in kinds["male"].items()}
        for n, v in kinds["female"].items():
            first[n] = first.get(n, 0.0) + (v / sum(kinds["female"].values())) / 2
        total_last = sum(kinds["surname"].values())
        return cls(first, {n: v / total_last for n, v in kinds["surname"].items()})

    def f(self, prefix: str) -> float:
        return sum(v for n, v in self.first.items() if n.startswith(prefix))

    def l(self, prefix: str) -> float:  # noqa: E743 (surname share, beside f)
        return sum(v for n, v in self.last.items() if n.startswith(prefix))

    def word(self, prefix: str) -> float:
        """Customers with a name word starting with ``prefix`` (first name or surname)."""
        return 1 - (1 - self.f(prefix)) * (1 - self.l(prefix))

    def both(self, a: str, b: str) -> float:
        """Customers whose name has a word starting with ``a`` and another starting with ``b``."""
        return self.f(a) * self.l(b) + self.f(b) * self.l(a)


@dataclass(frozen=True)
class Shape:
    """What a search's reads depend on, as shares of the customers: the longest keyword's prefix partition,
    the pair partition walked when that one is common (or straight away: ``direct``), and the matches."""

    lead: float
    matches: float
    pair: float | None = None  # None: one keyword (or the pair is never walked)
    direct: bool = False  # two words of four characters or more: their four-character pair, no probe


@dataclass(frozen=True)
class Reads:
    items: float
    calls: int
    rcu: float


def predict(shape: Shape, customers: float, wanted: int, item_bytes: float) -> Reads:
    """The reads of a first page as the search walks (``CustomerService._keyword_page``): two words of four
    characters or more, their pair partition until a page of matches (or its end), then the matches' profiles;
    else the longest keyword's partition read for a page; if that is all of it or the search has one word,
    those; else the two-character pair partition until a page of matches (or its end); then the profiles of
    the candidates kept."""
    lead = customers * shape.lead
    matches = customers * shape.matches
    if shape.direct and shape.pair is not None:
        pair = customers * shape.pair
        walked = min(pair, wanted * shape.pair / shape.matches) if shape.matches else pair
        profiles = min(matches, wanted)
        rcu = EVENTUAL * max(1, math.ceil(walked * item_bytes / RCU_BYTES)) + EVENTUAL * profiles
        return Reads(walked + profiles, 2, rcu)
    probe = min(lead, wanted)
    rcu = EVENTUAL * max(1, math.ceil(probe * item_bytes / RCU_BYTES))
    if shape.pair is None or lead < wanted:
        profiles = min(lead, wanted)
        return Reads(probe + profiles, 2, rcu + EVENTUAL * profiles)
    pair = customers * shape.pair
    walked = min(pair, wanted * shape.pair / shape.matches) if shape.matches else pair
    profiles = min(matches, wanted)
    rcu += EVENTUAL * max(1, math.ceil(walked * item_bytes / RCU_BYTES)) + EVENTUAL * profiles
    return Reads(probe + walked + profiles, 3, rcu)


def predict_listing(customers: float, page: int, item_bytes: float) -> Reads:
    """status=inactive: the individuals' and organisations' inactive buckets of this month (half gone, on
    average), then of the month before (its half inside the window) if the page is not full yet, each read for
    the rest of the page at most, and the organisations' only down to the page's oldest id; then the page's
    profiles."""
    per_day = customers / REGISTERED_DAYS
    need, found, items, calls, rcu = page + 1, 0.0, 0.0, 1, 0.0
    for days in (DEFAULT_WINDOW_DAYS / 2, DEFAULT_WINDOW_DAYS / 2):
        if found >= need:
            break
        want, seen, reads = need - found, 0.0, []
        for share in (1 - ORGANIZATION_SHARE, ORGANIZATION_SHARE):  # commonest first
            bucket = per_day * days * INACTIVE_SHARE * share
            # once the page can be filled, a later bucket is read only for its ids newer than the page's oldest
            reads.append(min(want, bucket) if seen < want else min(want, bucket * want / seen))
            seen += bucket
        items += sum(reads)
        calls += len(reads)
        rcu += sum(EVENTUAL * max(1, math.ceil(r * item_bytes / RCU_BYTES)) for r in reads)
        found += min(need - found, sum(reads))
    shown = min(page, found)
    return Reads(items + shown, calls, rcu + EVENTUAL * shown)


def realistic_shapes(names: Names) -> dict[str, Shape]:
    return {
        "common first name": Shape(lead=names.word("james"), matches=names.word("james")),
        "email fragment (rare domain)": Shape(lead=1 / RARE_DOMAIN_EVERY, matches=1 / RARE_DOMAIN_EVERY),
        "postcode as typed": Shape(lead=1 / UK_POSTCODES, matches=1 / UK_POSTCODES),
        "two words: both common": Shape(lead=names.word("james"), matches=names.both("james", "smith"),
                                        pair=names.both("jame", "smit"), direct=True),
    }


def measured_shape(search: Search, seeded: Seeded) -> Shape:
    """The same shares, as the seeded table has them (to check ``predict`` against what was measured)."""
    words = query_words(search.q or "")
    lead = seeded.partitions[f"S#{words[0]}"] / seeded.size
    matches = len(seeded.matches(search, datetime.now(tz=UTC))) / seeded.size
    direct = pair_partition(words, LONG_PAIR)
    pair = direct or pair_partition(words, PAIR_STARTS[0])
    if pair is None:
        return Shape(lead, matches)
    return Shape(lead, matches, seeded.partitions[pair[0]] / seeded.size, direct=direct is not None)


def render_projection(last: SizeResult, page_size: int) -> str:
    seeded = last.seeded
    names = Names.load()
    wanted = page_size + 1
    posting = seeded.search_item_bytes / max(seeded.sized_search_items, 1)
    profile = seeded.profile_bytes / max(seeded.sized_profiles, 1)
    out = [f"Projection ({_size_label(seeded.size)} measured; search items average {posting:.0f} bytes, "
           f"profiles {profile:.0f} bytes: one"]
    out.append("RCU = 4 KB eventually consistent, so a page's profiles cost 0.5 RCU each and its index items one or")
    out.append("two RCUs). The model is the search's walk; its figure at the measured size is beside the measure.")
    out.append("")
    shapes = realistic_shapes(names)
    headers = ["first page, realistic names", f"model at {_size_label(seeded.size)}", "measured"]
    groups = [("", 3)]
    for size in PROJECTED_SIZES:
        headers += ["items read", "RCU/keystroke"]
        groups.append((f" {size // 1_000_000}M customers ", 2))
    rows: list[list[object]] = []
    for search in (*SEARCHES, *LISTINGS):
        if search.label not in shapes and search.status is None:
            continue
        m = last.measures[search.shown]
        if search.status:
            model = predict_listing(seeded.size, page_size, posting)
            projected = [predict_listing(size, page_size, posting) for size in PROJECTED_SIZES]
        else:
            model = predict(measured_shape(search, seeded), seeded.size, wanted, posting)
            projected = [predict(shapes[search.label], size, wanted, posting) for size in PROJECTED_SIZES]
        row: list[object] = [search.shown, f"{model.items:,.0f}", count(m.items_read)]
        for reads in projected:
            row += [f"{reads.items:,.0f}", f"{reads.rcu:.1f}"]
        rows.append(row)
    out.append(table(headers, rows, groups))
    out.append("")
    out.append(f"Realistic shares: first names and surnames from {NAME_FREQUENCIES.name} (1990 US Census, the")
    out.append(f"commonest kept and scaled to all): a name word starting \"james\" {names.word('james'):.2%}, "
               f"\"smith\" {names.word('smith'):.2%}, both {names.both('james', 'smith'):.4%};")
    out.append(f"the pair partition jame+smit {names.both('jame', 'smit'):.4%}. A postcode: 1 of about "
               f"{UK_POSTCODES:,} in use; the rare domain 1 in {RARE_DOMAIN_EVERY}.")

    out.append("")
    hottest = seeded.partitions.most_common(5)
    out.append(f"Hottest search partitions at {_size_label(seeded.size)} (share of customers with an item in it; "
               "new customers write at the newest end):")
    out.append("  " + ", ".join(f"{pk} {n / seeded.size:.0%}" for pk, n in hottest))
    top = hottest[0][1] / seeded.size if hottest else 0.0
    out.append(f"With DynamoDB's 1,000 writes a second per partition, {hottest[0][0] if hottest else '-'} bounds "
               f"creation at about {1000 / top if top else 0:,.0f} customers a second; the registration month's")
    out.append("GSI1 bucket, which every new customer writes (100%), already bounded it at 1,000 a second.")
    return "\n".join(out)


def run(quick: bool = False, large: bool = False) -> str:
    sizes = QUICK_SIZES if quick else LARGE_SIZES if large else SIZES
    results = []
    for size in sizes:
        results.append(measure_size(size))
    text = render(results, results[0].page_size)
    if not large and not quick:
        last = results[-1]
        factor = LARGE_SIZES[-1] / last.seeded.size
        text += (f"\n\n{LARGE_SIZES[-1]:,} customers is opt-in (--large): at this run's pace it would take about "
                 f"{seconds(last.seeded.seconds * factor)} to seed"
                 f"\nand about {seconds(last.search_seconds * factor)} to search (moto keeps the table in this "
                 "one Python process).")
    return text


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help=f"sizes {QUICK_SIZES} only (smoke test)")
    parser.add_argument("--large", action="store_true", help=f"sizes {LARGE_SIZES} (slow)")
    args = parser.parse_args(argv)
    print(run(quick=args.quick, large=args.large))


if __name__ == "__main__":
    main()
