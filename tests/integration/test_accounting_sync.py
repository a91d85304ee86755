"""The accounting sync against a real HTTP accounts API on loopback (REST adapter) and against Sage 50 files
in S3, run the way its schedule and POST /accounting/sync run it (moto for AWS)."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from accounts_server import FakeAccountsServer
from crm_core import wiring
from crm_local.events import sqs_event
from crm_local.template import Template
from integration.conftest import Call

SCHEDULE = {"id": "s1", "detail-type": "Scheduled Event", "source": "aws.events", "detail": {}}


@pytest.fixture
def accounts(aws: Template, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeAccountsServer]:
    """The REST adapter pointed at a fake accounts API on a free loopback port; its token in the stack's secret
    (as an operator puts it there)."""
    with FakeAccountsServer() as server:
        secret = aws.functions()["AccountingSyncFunction"].environment["ACCOUNTS_API_TOKEN_SECRET"]
        boto3.client("secretsmanager").put_secret_value(SecretId=secret, SecretString=server.token)
        monkeypatch.setenv("ACCOUNTS_ADAPTER", "rest")
        monkeypatch.setenv("ACCOUNTS_API_URL", server.url)
        wiring.reset()
        yield server


@pytest.fixture
def sync(context: Any) -> Any:
    import accounting_sync

    def run() -> dict[str, Any]:
        return dict(accounting_sync.handler(SCHEDULE, context))

    return run


def person(api: Call, first: str, last: str, **extra: Any) -> dict[str, Any]:
    made = api("POST", "/customers", body={"type": "individual", "first_name": first, "last_name": last, **extra})
    assert made.status == 201, made.body
    return dict(made.body)


def accounting(api: Call, customer: dict[str, Any]) -> dict[str, Any]:
    answer = api("GET", f"/customers/{customer['id']}/accounting")
    assert answer.status == 200, answer.body
    return dict(answer.body)


def test_a_customer_already_in_the_package_is_linked_not_duplicated(api: Call, accounts: FakeAccountsServer,
                                                                    sync: Any) -> None:
    # Given the package already holds J. Smith's account (same email, the name spelled differently)
    accounts.seed("SMITH01", "SMITH John", email="John.Smith@Example.org", postcode="N1 9GU")
    john = person(api, "John", "Smith", email="john.smith@example.org")
    ada = person(api, "Ada", "Lovelace", email="ada@example.org")
    assert accounting(api, john)["state"] == "pending"
    # When the sync runs
    figures = sync()
    # Then John is linked to the existing account and Ada gets a new one
    assert figures["ran"] is True and figures["linked"] == 1 and figures["created"] == 1
    linked = accounting(api, john)
    assert (linked["state"], linked["account_ref"], linked["outcome"], linked["pending"]) == (
        "synced", "SMITH01", "linked", False)
    assert accounting(api, ada)["account_ref"].startswith("C")
    assert accounts.created == 1
    # And a second sync creates nothing (and sends nothing: nobody changed)
    sent = len(accounts.requests)
    assert sync()["ran"] is True and accounts.created == 1 and len(accounts.requests) == sent + 1  # GET /balances
    # And every create request reached the server once per idempotency key
    keys = Counter(k for method, _, k in accounts.requests if method == "POST")
    assert keys and set(keys.values()) == {1}


def test_a_changed_customer_is_updated_in_the_package(api: Call, accounts: FakeAccountsServer, sync: Any) -> None:
    ada = person(api, "Ada", "Lovelace", email="ada@example.org")
    sync()
    api("PATCH", f"/customers/{ada['id']}", body={"version": 1, "phone": "020 7946 0000"})
    assert accounting(api, ada)["pending"] is True
    figures = sync()
    assert figures["updated"] == 1 and accounts.created == 1
    ref = accounting(api, ada)["account_ref"]
    assert accounts.accounts[ref]["phone"] == "020 7946 0000"


def test_a_run_reads_each_marked_customer_once(api: Call, accounts: FakeAccountsServer, sync: Any) -> None:
    from crm_core.aws import client

    # Given customers waiting for the sync, two of whom may be one customer (the same email)
    people = [person(api, f"P{n}", "Person", email=f"p{n}@example.org") for n in range(5)]
    twin = person(api, "Pat", "Person", email="p0@example.org", confirm_duplicate=True)
    profiles: Counter[str] = Counter()

    def count(parsed: dict[str, Any], model: Any, **_: Any) -> None:
        if model.name == "BatchGetItem":
            profiles.update(i["PK"]["S"] for items in parsed.get("Responses", {}).values() for i in items
                            if i.get("SK", {}).get("S") == "PROFILE")

    events = client("dynamodb").meta.events
    events.register("after-call.dynamodb", count, unique_id="profiles-read")
    try:
        # When the schedule runs the sync
        figures = sync()
    finally:
        events.unregister("after-call.dynamodb", unique_id="profiles-read")
    # Then every customer was read once, and the two alike are still held for staff
    assert figures["created"] == 4 and figures["held"] == 2
    assert profiles == Counter({f"CUST#{c['id']}": 1 for c in [*people, twin]})
    assert accounting(api, twin)["state"] == "held"


def test_an_ambiguous_match_is_held_with_its_candidates_until_staff_choose(api: Call, accounts: FakeAccountsServer,
                                                                          sync: Any) -> None:
    accounts.seed("JONES01", "Jo Jones", email="jo@example.org")
    accounts.seed("JONES02", "Jo Jones", postcode="LS1 4AP")
    jo = person(api, "Jo", "Jones", email="jo@example.org", address={"postcode": "LS1 4AP"})
    assert sync()["held"] == 1
    held = accounting(api, jo)
    assert held["state"] == "held" and {c["account_ref"] for c in held["candidates"]} == {"JONES01", "JONES02"}
    assert accounts.created == 0
    # When staff choose one, the next sync links it
    chosen = api("PUT", f"/customers/{jo['id']}/accounting", body={"account_ref": "JONES02"})
    assert chosen.status == 200 and chosen.body["pending"] is True
    sync()
    assert (accounting(api, jo)["state"], accounting(api, jo)["account_ref"]) == ("synced", "JONES02")
    assert api("PUT", f"/customers/{jo['id']}/accounting", body={}).status == 422


def test_one_failing_customer_does_not_block_the_others_and_is_retried(api: Call, accounts: FakeAccountsServer,
                                                                       sync: Any) -> None:
    accounts.fail_create_for("Bad Name")
    bad = person(api, "Bad", "Name", email="bad@example.org")
    good = person(api, "Good", "Name", email="good@example.org")
    figures = sync()
    assert figures["error"] == 1 and figures["created"] == 1
    failed = accounting(api, bad)
    assert failed["state"] == "error" and "refused" in failed["reason"] and failed["pending"] is True
    assert accounting(api, good)["state"] == "synced"
    # the package accepts it later: the next run syncs it
    accounts.accept_creates_for("Bad Name")
    sync()
    assert accounting(api, bad)["state"] == "synced"


def test_an_unreachable_package_leaves_everyone_marked(api: Call, accounts: FakeAccountsServer, sync: Any,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    from crm_core.dal.dynamo import Backoff

    monkeypatch.setattr(Backoff, "pause", lambda self, attempt: None)
    people = [person(api, f"P{n}", "Person", email=f"p{n}@example.org") for n in range(7)]
    accounts.fail_next(503, times=10_000)
    figures = sync()
    assert figures.get("stopped_early") == 1 and figures.get("created", 0) == 0
    assert all(accounting(api, p)["pending"] for p in people)


def test_staff_run_it_now_through_the_api_and_the_queue(api: Call, aws: Template, accounts: FakeAccountsServer,
                                                        context: Any) -> None:
    import accounting_sync

    ada = person(api, "Ada", "Lovelace", email="ada@example.org")
    asked = api("POST", "/accounting/sync", body={"ids": [ada["id"]]})
    assert asked.status == 202 and asked.body == {"queued": True, "marked": 1}
    sqs = boto3.client("sqs")
    messages = sqs.receive_message(QueueUrl=aws.queue_url("AccountingQueue"), AttributeNames=["All"])["Messages"]
    body = json.loads(messages[0]["Body"])
    assert body["kind"] == "run" and body["correlation_id"]  # the request's id goes with it
    result = accounting_sync.handler(sqs_event(messages, aws.queue_arn("AccountingQueue")), context)
    assert result == {"batchItemFailures": []}
    assert accounting(api, ada)["state"] == "synced"
    assert api("POST", "/accounting/sync", body={"ids": ["01JZZZZZZZZZZZZZZZZZZZZZZZ"]}).status == 422


def test_requests_batched_together_run_the_sync_once_even_when_it_fails(
        api: Call, aws: Template, accounts: FakeAccountsServer, context: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    import accounting_sync
    from crm_core.config import get_settings
    from crm_core.dal.runs import RunRepository

    runs: list[str] = []
    take_lease = RunRepository.take_lease

    def counted(self: RunRepository, job: str, holder: str, length: Any) -> bool:
        runs.append(job)
        return take_lease(self, job, holder, length)

    monkeypatch.setattr(RunRepository, "take_lease", counted)
    # Given three requests to sync now, delivered to the function in one batch
    ada = person(api, "Ada", "Lovelace", email="ada@example.org")
    for _ in range(3):
        assert api("POST", "/accounting/sync", body={}).status == 202
    sqs = boto3.client("sqs")
    messages = sqs.receive_message(QueueUrl=aws.queue_url("AccountingQueue"), MaxNumberOfMessages=10,
                                   AttributeNames=["All"])["Messages"]
    assert len(messages) == 3
    batch = sqs_event(messages, aws.queue_arn("AccountingQueue"))
    # And a deployment that lost the accounts API's address: every run fails before it syncs anyone
    monkeypatch.delenv("ACCOUNTS_API_URL")
    get_settings.cache_clear()
    # When the batch is delivered
    result = accounting_sync.handler(batch, context)
    # Then the run was tried once, and every request of the batch goes back to the queue
    assert runs == ["accounting-sync"]
    assert sorted(f["itemIdentifier"] for f in result["batchItemFailures"]) == sorted(m["MessageId"] for m in messages)
    assert accounting(api, ada)["state"] == "pending" and accounts.created == 0
    # When the address is back and the batch is delivered again, one run answers the three (the failed run
    # let go of its lease)
    monkeypatch.setenv("ACCOUNTS_API_URL", accounts.url)
    get_settings.cache_clear()
    assert accounting_sync.handler(batch, context) == {"batchItemFailures": []}
    assert len(runs) == 2 and accounting(api, ada)["state"] == "synced" and accounts.created == 1


def test_sage50_gets_one_import_file_and_balances_come_back(api: Call, aws: Template, sync: Any) -> None:
    # Given the Sage 50 adapter (the template's default) and an accounts list staff exported from Sage
    s3 = boto3.client("s3")
    bucket = aws.buckets()["AccountingBucket"]
    s3.put_object(Bucket=bucket, Key="accounting/sage50/inbox/accounts.csv",
                  Body=b"Account Reference,Account Name,Post Code,E-mail\r\nSMITHJ01,John Smith,N1 9GU,"
                       b"john@example.org\r\n")
    john = person(api, "John", "Smith", email="JOHN@example.org")
    ada = person(api, "Ada", "Lovelace", email="ada@example.org", address={"line1": "1 High St", "postcode": "N1"})
    # When the sync runs
    figures = sync()
    # Then John is linked to his Sage account and Ada's new account goes out in one import file
    assert figures["linked"] == 1 and figures["created"] == 1
    assert accounting(api, john)["account_ref"] == "SMITHJ01"
    ref = accounting(api, ada)["account_ref"]
    assert len(ref) <= 8 and ref.isalnum() and ref.isupper()
    files = s3.list_objects_v2(Bucket=bucket, Prefix="accounting/sage50/outbox/")["Contents"]
    assert len(files) == 1
    text = s3.get_object(Bucket=bucket, Key=files[0]["Key"])["Body"].read().decode("cp1252")
    assert ref in text and "Ada Lovelace" in text
    # And the aged debtors export staff drop in later gives each linked customer the package's balance
    s3.put_object(Bucket=bucket, Key="accounting/sage50/inbox/aged-debtors.csv",
                  Body=f"Account Reference,Account Name,Balance\r\nSMITHJ01,John Smith,120.50\r\n{ref},Ada,"
                       f"0.00\r\n".encode())
    assert sync()["balances_read"] == 1  # John owes 120.50; Ada's new account owes nothing yet
    assert accounting(api, john)["package_balance"] == "120.50"


def test_an_account_whose_customer_was_deleted_links_to_the_customer_created_again(
        api: Call, accounts: FakeAccountsServer, sync: Any) -> None:
    # Given a customer synced to the package, then deleted
    first = person(api, "Re", "Turner", email="re.turner@example.org")
    sync()
    ref = accounting(api, first)["account_ref"]
    assert api("DELETE", f"/customers/{first['id']}").status == 204
    # When the same person is added again and synced
    again = person(api, "Re", "Turner", email="re.turner@example.org")
    assert sync()["linked"] == 1
    # Then the new record links to the same account: no duplicate, not held
    state = accounting(api, again)
    assert (state["state"], state["account_ref"]) == ("synced", ref) and accounts.created == 1


def test_a_sage_reference_already_linked_here_is_not_given_again(api: Call, aws: Template, sync: Any) -> None:
    # Given Ada synced to Sage (LOVELA01 in an outbox file staff have not imported), and an accounts list
    # exported from Sage before that import, so the list does not have LOVELA01 yet
    first = person(api, "Ada", "Lovelace", email="ada.one@example.org")
    sync()
    ref = accounting(api, first)["account_ref"]
    s3 = boto3.client("s3")
    bucket = aws.buckets()["AccountingBucket"]
    for stored in s3.list_objects_v2(Bucket=bucket, Prefix="accounting/sage50/outbox/")["Contents"]:
        s3.delete_object(Bucket=bucket, Key=stored["Key"])  # filed away by staff, not imported yet
    s3.put_object(Bucket=bucket, Key="accounting/sage50/inbox/accounts.csv",
                  Body=b"Account Reference,Account Name,Post Code,E-mail\r\n")
    # When another Ada Lovelace is synced
    second = person(api, "Ada", "Lovelace", email="ada.two@example.org", confirm_duplicate=True)
    sync()
    # Then she gets another reference
    assert accounting(api, second)["account_ref"] not in (None, ref)


def test_a_staff_choice_made_while_a_run_handles_the_customer_is_kept(
        api: Call, accounts: FakeAccountsServer, sync: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from crm_core.services.accounting import AccountingSync

    accounts.seed("JONES01", "Jo Jones", email="jo@example.org")
    accounts.seed("JONES02", "Jo Jones", postcode="LS1 4AP")
    jo = person(api, "Jo", "Jones", email="jo@example.org", address={"postcode": "LS1 4AP"})
    real = AccountingSync._sync_one

    def staff_choose_meanwhile(self: AccountingSync, item: Any, *args: Any) -> Any:
        answer = real(self, item, *args)  # held: two candidates
        assert api("PUT", f"/customers/{jo['id']}/accounting", body={"account_ref": "JONES02"}).status == 200
        return answer

    monkeypatch.setattr(AccountingSync, "_sync_one", staff_choose_meanwhile)
    assert sync()["changed_meanwhile"] == 1
    monkeypatch.setattr(AccountingSync, "_sync_one", real)
    assert accounting(api, jo)["pending"] is True  # the choice stands, and asks for a sync
    sync()
    assert (accounting(api, jo)["state"], accounting(api, jo)["account_ref"]) == ("synced", "JONES02")


# ---- customers never mixed -----------------------------------------------------------------------------------

def _outbox_rows(aws: Template) -> list[list[str]]:
    import csv
    import io

    s3 = boto3.client("s3")
    bucket = aws.buckets()["AccountingBucket"]
    rows: list[list[str]] = []
    for stored in sorted(s3.list_objects_v2(Bucket=bucket, Prefix="accounting/sage50/outbox/").get("Contents", []),
                         key=lambda s: s["Key"]):
        text = s3.get_object(Bucket=bucket, Key=stored["Key"])["Body"].read().decode("cp1252")
        rows += list(csv.reader(io.StringIO(text)))[1:]
    return rows


def test_two_customers_with_the_same_name_and_postcode_in_one_run_are_held_with_each_other(
        api: Call, aws: Template, sync: Any) -> None:
    # Given two customers with the same name and postcode (the second saved as a confirmed duplicate), new to Sage
    address = {"line1": "4 Mill Row", "city": "Leeds", "postcode": "LS1 4AP"}
    first = person(api, "Edith", "Clarke", email="edith@example.org", phone="0113 496 0001", address=address)
    second = person(api, "Edith", "Clarke", email="e.clarke@example.org", phone="0113 496 0002",
                    address={**address, "line1": "9 Kirk Lane"}, confirm_duplicate=True)
    # When one sync run handles both
    figures = sync()
    # Then neither is linked nor sent: both are held, each naming the other as a candidate
    assert figures.get("held") == 2 and not figures.get("created") and _outbox_rows(aws) == []
    for one, other in ((first, second), (second, first)):
        state = accounting(api, one)
        assert state["state"] == "held" and state["account_ref"] is None
        assert [c["customer_id"] for c in state["candidates"]] == [other["id"]]
    # When staff say they are two people (a new account each), the next run opens one for each, each row with
    # exactly its own customer's details
    for one in (first, second):
        assert api("PUT", f"/customers/{one['id']}/accounting", body={"create_new": True}).status == 200
    assert sync()["created"] == 2
    rows = {row[0]: row for row in _outbox_rows(aws)}
    for one, street, phone in ((first, "4 Mill Row", "0113 496 0001"), (second, "9 Kirk Lane", "0113 496 0002")):
        ref = accounting(api, one)["account_ref"]
        assert rows[ref][2] == street and rows[ref][8] == phone and rows[ref][26] == one["email"]
    assert len(rows) == 2


def test_two_customers_matching_one_sage_account_are_both_held_never_both_linked(
        api: Call, aws: Template, sync: Any) -> None:
    # Given Sage already holds one Edith Clarke at LS1 4AP, and two customers here who match it
    s3 = boto3.client("s3")
    s3.put_object(Bucket=aws.buckets()["AccountingBucket"], Key="accounting/sage50/inbox/accounts.csv",
                  Body=b"Account Reference,Account Name,Post Code,E-mail\r\nCLARKE01,Edith Clarke,LS1 4AP,\r\n")
    address = {"line1": "4 Mill Row", "postcode": "LS1 4AP"}
    first = person(api, "Edith", "Clarke", address=address)
    second = person(api, "Edith", "Clarke", address=address, confirm_duplicate=True)
    sync()
    # Then both are held with the account and each other as candidates; nothing is written over CLARKE01
    for one, other in ((first, second), (second, first)):
        state = accounting(api, one)
        assert state["state"] == "held"
        assert {(c["account_ref"], c["customer_id"]) for c in state["candidates"]} == {
            ("CLARKE01", None), (None, other["id"])}
    assert _outbox_rows(aws) == []
    # When staff link the first to CLARKE01, and by mistake the second too
    api("PUT", f"/customers/{first['id']}/accounting", body={"account_ref": "CLARKE01"})
    sync()
    api("PUT", f"/customers/{second['id']}/accounting", body={"account_ref": "CLARKE01"})
    sync()
    # Then CLARKE01 is the first's alone: the second is held, and every CLARKE01 row carries the first
    assert accounting(api, first)["account_ref"] == "CLARKE01"
    held = accounting(api, second)
    assert held["state"] == "held" and held["candidates"][0]["customer_id"] == first["id"]
    assert {row[1] for row in _outbox_rows(aws) if row[0] == "CLARKE01"} == {"Edith Clarke"}
    assert len([row for row in _outbox_rows(aws) if row[0] == "CLARKE01"]) == 1
