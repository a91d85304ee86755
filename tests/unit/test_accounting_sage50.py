"""Sage 50 through files in S3: the customer import file written to the outbox, the accounts list and aged
debtors read from the inbox."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.core.models import DEFAULT_ACCOUNT_ID
from moto.s3.models import s3_backends

from crm_core.accounting import AccountCustomer, AccountsError, AccountsUnavailable
from crm_core.accounting.sage50 import HEADER, Sage50Accounts, parse_amount

BUCKET = "crm-accounting-tests"
PREFIX = "accounting/sage50/"
NOW = datetime(2025, 3, 4, 5, 6, 7, tzinfo=UTC)
FIRST_FILE = f"{PREFIX}outbox/customers-20250304T050607Z.csv"
COL = {name: n for n, name in enumerate(HEADER)}
SLOW_DOWN: Any = {"Error": {"Code": "SlowDown", "Message": "slow down"},
                  "ResponseMetadata": {"HTTPStatusCode": 503}}
ACCOUNTS_LIST = (
    "\ufeffACCOUNT REFERENCE,Account Name,Balance,Street1,post code,E-Mail,Telephone\r\n"
    "SMITHJ01,John Smith,0.00,1 High St,SW1A 1AA,john.smith@example.org,020 7946 0000\r\n"
    "SMITHJ02,Jane Smith,12.00,2 High St,SW1A 2AA,,\r\n"
    "OBRIEZ01,Zoë O'Brien,0.00,3 Low Rd,M1 1AE,zoe@example.org,\r\n"
    "ACMELT01,ACME LTD,99.00,Unit 4,LS1 4AP,Accounts@Acme.example,\r\n"
)


@pytest.fixture(scope="module")
def mocked_s3() -> Iterator[Any]:
    """One moto S3 for the module (starting moto costs more than these tests); each test empties the bucket."""
    with mock_aws():
        client = boto3.client("s3", region_name="eu-west-2", aws_access_key_id="testing",
                              aws_secret_access_key="testing")
        client.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-west-2"})
        yield client


@pytest.fixture
def s3(mocked_s3: Any) -> Any:
    stored = mocked_s3.list_objects_v2(Bucket=BUCKET).get("Contents", [])
    if stored:
        mocked_s3.delete_objects(Bucket=BUCKET, Delete={"Objects": [{"Key": o["Key"]} for o in stored]})
    return mocked_s3


def sage(s3: Any) -> Sage50Accounts:
    return Sage50Accounts(s3, BUCKET, clock=lambda: NOW)


def customer(name: str = "John Smith", number: int = 1, **fields: Any) -> AccountCustomer:
    values: dict[str, Any] = {"customer_id": f"cust-{number}", "customer_number": f"{100000 + number}",
                              "name": name, **fields}
    return AccountCustomer(**values)


def drop(s3: Any, name: str, text: str, encoding: str = "utf-8") -> str:
    key = f"{PREFIX}inbox/{name}"
    s3.put_object(Bucket=BUCKET, Key=key, Body=text.encode(encoding))
    return key


def set_modified(key: str, when: datetime) -> None:
    """Moto lists LastModified to the second; tests that need an order set it on the stored object."""
    s3_backends[DEFAULT_ACCOUNT_ID]["aws"].buckets[BUCKET].keys[key].last_modified = when


def outbox(s3: Any) -> list[str]:
    answer = s3.list_objects_v2(Bucket=BUCKET, Prefix=f"{PREFIX}outbox/")
    return [o["Key"] for o in answer.get("Contents", [])]


def body(s3: Any, key: str) -> bytes:
    data: bytes = s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()
    return data


def rows(s3: Any, key: str = FIRST_FILE) -> list[list[str]]:
    return list(csv.reader(io.StringIO(body(s3, key).decode("cp1252"), newline="")))


# ---- account references ----------------------------------------------------------------------------------------

def test_refs_for_200_customers_with_one_name_are_short_spaceless_and_unique(s3: Any) -> None:
    # Given an adapter with an empty inbox
    accounts = sage(s3)
    # When 200 customers called John Smith are created
    made = [accounts.create(customer("John Smith", n), f"key-{n}") for n in range(200)]
    accounts.flush()
    # Then every reference is 1-8 letters A-Z and digits, none repeats, and the file carries them all
    refs = [a.ref for a in made]
    assert all(re.fullmatch(r"[A-Z0-9]{1,8}", ref) for ref in refs)
    assert len(set(refs)) == 200
    assert refs[:2] == ["SMITHJ01", "SMITHJ02"] and refs[99] == "SMITH001"
    assert [row[COL["Account Reference"]] for row in rows(s3)[1:]] == refs


def test_refs_are_built_from_the_name(s3: Any) -> None:
    # Given an adapter with an empty inbox
    accounts = sage(s3)
    # When a person, an organisation and a name with letters outside A-Z are created
    person = accounts.create(customer("Mr John Smith", 1), "k1")
    company = accounts.create(customer("Acme Ltd", 2), "k2")
    polish = accounts.create(customer("Łukasz Wałęsa", 3), "k3")
    chinese = accounts.create(customer("李小龍", 4), "k4")
    # Then the references read as surname + initial, the organisation's letters, and a fallback stem
    assert (person.ref, company.ref, polish.ref, chinese.ref) == ("SMITHJ01", "ACMELT01", "WALESL01", "CUST01")


def test_a_customer_with_an_account_ref_keeps_it(s3: Any) -> None:
    # Given a customer already linked to SMITHJ07
    accounts = sage(s3)
    linked = customer("John Smith", 1, account_ref="SMITHJ07")
    # When it is created (a re-send) and another John Smith is created after it
    kept = accounts.create(linked, "k1")
    other = accounts.create(customer("John Smith", 2), "k2")
    # Then the first keeps its reference and the second does not take it
    assert kept.ref == "SMITHJ07"
    assert other.ref == "SMITHJ01"


def test_the_same_name_gets_the_same_ref_in_every_run(s3: Any) -> None:
    # Given the same inbox seen by two runs
    drop(s3, "accounts.csv", ACCOUNTS_LIST)
    # When each run creates Joan Smith
    first = sage(s3).create(customer("Joan Smith", 5), "k")
    second = sage(s3).create(customer("Joan Smith", 5), "k")
    # Then both runs choose the same reference
    assert first.ref == second.ref == "SMITHJ03"


def test_new_refs_never_collide_with_the_accounts_list(s3: Any) -> None:
    # Given an accounts list holding SMITHJ01 and SMITHJ02
    drop(s3, "accounts-2025-03.csv", ACCOUNTS_LIST)
    accounts = sage(s3)
    # When two more J. Smiths and another Acme are created
    made = [accounts.create(customer(name, n), f"k{n}")
            for n, name in enumerate(["James Smith", "Jo Smith", "Acme Ltd"])]
    # Then their references skip the ones Sage already has
    assert [a.ref for a in made] == ["SMITHJ03", "SMITHJ04", "ACMELT02"]


def test_refs_queued_by_an_earlier_run_are_not_reused_before_sage_imports_them(s3: Any) -> None:
    # Given a run that queued John Smith as SMITHJ01 in an outbox file not yet imported
    earlier = sage(s3)
    earlier.create(customer("John Smith", 1), "k1")
    earlier.flush()
    # When the next run (same second) creates Jane Smith and looks for John
    later = sage(s3)
    jane = later.create(customer("Jane Smith", 2), "k2")
    john = later.find(customer("John Smith", 1, account_ref="SMITHJ01"))
    later.flush()
    # Then Jane gets a new reference, John is found as pending, and neither file overwrote the other
    assert jane.ref == "SMITHJ02"
    assert [(a.ref, a.extra["pending"]) for a in john] == [("SMITHJ01", "true")]
    assert sorted(outbox(s3)) == sorted([FIRST_FILE, FIRST_FILE.replace(".csv", "-2.csv")])


def test_a_malformed_account_ref_is_refused(s3: Any) -> None:
    # Given a customer linked to a reference Sage cannot hold
    accounts = sage(s3)
    # When it is created / updated
    # Then the adapter refuses it
    with pytest.raises(AccountsError, match="SMITH J 001"):
        accounts.create(customer("John Smith", account_ref="SMITH J 001"), "k")
    with pytest.raises(AccountsError):
        accounts.update("TOOLONGREF", customer(), "k2")


# ---- the import file -------------------------------------------------------------------------------------------

def test_flush_writes_one_file_with_a_header_and_a_row_per_customer(s3: Any) -> None:
    # Given three customers created and one update queued
    accounts = sage(s3)
    accounts.create(customer("John Smith", 1, email="john@example.org", phone="+44 20 7946 0000",
                             address_lines=("1 High Street", "London"), postcode="SW1A 1AA"), "k1")
    accounts.create(customer("Acme Ltd", 2), "k2")
    accounts.update("OLDREF1", customer("Ada Lovelace", 3), "k3")
    # When the queue is flushed
    accounts.flush()
    # Then one Windows-1252 file holds the header and three rows, the email and phone included
    assert outbox(s3) == [FIRST_FILE] and accounts.written == (FIRST_FILE,)
    table = rows(s3)
    assert table[0] == list(HEADER)
    assert [r[0] for r in table[1:]] == ["SMITHJ01", "ACMELT01", "OLDREF1"]
    john = table[1]
    assert john[COL["Account Name"]] == "John Smith"
    assert john[COL["Street1"]:COL["Post Code"] + 1] == ["1 High Street", "London", "", "", "SW1A 1AA"]
    assert john[COL["E-mail"]] == "john@example.org"
    assert john[COL["Telephone"]] == "0044 20 7946 0000"
    assert john[COL["Analysis 1"]] == "100001"
    assert all(len(r) == len(HEADER) for r in table)
    assert body(s3, FIRST_FILE).endswith(b"\r\n")


def test_flush_writes_nothing_when_nothing_was_queued(s3: Any) -> None:
    # Given an adapter that queued nothing, and one whose queue was already flushed
    idle = sage(s3)
    done = sage(s3)
    done.create(customer(), "k")
    done.flush()
    # When both flush
    idle.flush()
    done.flush()
    # Then only the first flush of the busy adapter wrote a file
    assert outbox(s3) == [FIRST_FILE]


def test_the_same_idempotency_key_twice_gives_one_row_and_the_same_account(s3: Any) -> None:
    # Given a customer created and updated, each twice with the same key
    accounts = sage(s3)
    first = accounts.create(customer("John Smith"), "create-1")
    again = accounts.create(customer("John Smith"), "create-1")
    accounts.update(first.ref, customer("John Smythe"), "update-1")
    accounts.update(first.ref, customer("Someone Else"), "update-1")
    # When the queue is flushed
    accounts.flush()
    # Then there is one account and one row, carrying the first update
    assert again is first
    assert [(r[0], r[1]) for r in rows(s3)[1:]] == [("SMITHJ01", "John Smythe")]


def test_name_and_address_lines_are_cut_to_60_characters_on_a_word_boundary(s3: Any) -> None:
    # Given a long name and six long address lines
    name = "The Very Long Named Charitable Foundation for the Advancement of Everything"
    street = "Building Seventeen, The Extraordinarily Long Industrial Estate Access Road"
    lines = ("Flat 3", street, street, "Royal Leamington Spa", "Warwickshire", "United Kingdom of Great Britain")
    accounts = sage(s3)
    # When it is created and flushed
    made = accounts.create(customer(name, address_lines=lines, postcode="CV32 4AA"), "k")
    accounts.flush()
    # Then each cell is at most 60 characters and ends with a whole word of the original
    row = rows(s3)[1]
    cells = row[COL["Account Name"]:COL["Post Code"] + 1]
    assert all(len(cell) <= 60 for cell in cells)
    assert made.name == row[COL["Account Name"]] == "The Very Long Named Charitable Foundation for the"
    assert row[COL["Street1"]] == "Flat 3, Building Seventeen, The Extraordinarily Long"
    assert row[COL["Street2"]:COL["County"] + 1] == [
        "Royal Leamington Spa", "Warwickshire", "United Kingdom of Great Britain"]


def test_a_value_a_spreadsheet_would_run_is_neutralised(s3: Any) -> None:
    # Given customers whose name, address and email begin with formula characters
    accounts = sage(s3)
    accounts.create(customer('=HYPERLINK("http://evil.example","click")' + " x" * 40, 1,
                             address_lines=("@SUM(A1:A9)",), email="-1+1@example.org"), "k1")
    accounts.create(customer("\t+cmd Holdings", 2), "k2")
    # When the queue is flushed
    accounts.flush()
    # Then each such cell begins with an apostrophe and still fits Sage's 60 characters
    first, second = rows(s3)[1:]
    assert first[COL["Account Name"]].startswith("'=HYPERLINK(")
    assert len(first[COL["Account Name"]]) <= 60
    assert first[COL["Street1"]] == "'@SUM(A1:A9)"
    assert first[COL["E-mail"]] == "'-1+1@example.org"
    assert second[COL["Account Name"]] == "'+cmd Holdings"


def test_accented_names_survive_readably_in_windows_1252(s3: Any) -> None:
    # Given names with Western European accents, letters Windows-1252 lacks, and no Latin letters at all
    accounts = sage(s3)
    for n, name in enumerate(["Zoë Brontë-Ångström", "Łukasz Wałęsa", "Antonín Dvořák", "李小龍 🙂"]):
        accounts.create(customer(name, n, address_lines=("Straße 5", "Zürich")), f"k{n}")
    # When the queue is flushed
    accounts.flush()
    # Then the file is Windows-1252 without a BOM: accents it has are kept, others folded, the rest are ?
    data = body(s3, FIRST_FILE)
    assert not data.startswith(b"\xef\xbb\xbf")
    assert b"Zo\xeb Bront\xeb-\xc5ngstr\xf6m" in data
    names = [r[COL["Account Name"]] for r in rows(s3)[1:]]
    assert names == ["Zoë Brontë-Ångström", "Lukasz Walesa", "Antonín Dvorák", "??? ?"]
    assert rows(s3)[1][COL["Street1"]:COL["Street2"] + 1] == ["Straße 5", "Zürich"]


def test_a_failed_write_keeps_the_queue_and_reports_unavailable() -> None:
    # Given an S3 that throttles writes
    class Throttled:
        def put_object(self, **_: Any) -> None:
            raise ClientError(SLOW_DOWN, "PutObject")

        def get_paginator(self, _: str) -> Any:
            return self

        def paginate(self, **_: Any) -> list[dict[str, Any]]:
            return [{}]

    accounts = Sage50Accounts(Throttled(), BUCKET, clock=lambda: NOW)
    accounts.create(customer(), "k")
    # When the queue is flushed
    # Then the adapter says try later, and nothing queued is lost
    with pytest.raises(AccountsUnavailable):
        accounts.flush()
    assert accounts.written == ()
    assert accounts.create(customer(), "k").ref == "SMITHJ01"


# ---- finding accounts -------------------------------------------------------------------------------------------

def test_find_on_an_empty_inbox_finds_nothing(s3: Any) -> None:
    # Given no file in the inbox
    # When a customer is looked for
    # Then there is no candidate, so the sync creates one
    assert sage(s3).find(customer("John Smith", email="john.smith@example.org", postcode="SW1A 1AA")) == []


def test_find_by_account_ref(s3: Any) -> None:
    # Given an accounts list with a BOM, extra columns and headers in other cases
    drop(s3, "accounts.csv", ACCOUNTS_LIST)
    # When a customer linked to SMITHJ02 is looked for
    found = sage(s3).find(customer("Someone Else", account_ref="smithj02"))
    # Then that account is the one candidate
    assert [(a.ref, a.name, a.postcode) for a in found] == [("SMITHJ02", "Jane Smith", "SW1A 2AA")]


def test_find_by_email_in_another_case(s3: Any) -> None:
    # Given an accounts list
    drop(s3, "accounts.csv", ACCOUNTS_LIST)
    # When a customer with the account's email in other letters is looked for
    found = sage(s3).find(customer("Accounts Dept", email="  ACCOUNTS@acme.EXAMPLE "))
    # Then the account with that email is found
    assert [a.ref for a in found] == ["ACMELT01"]


def test_find_by_name_and_postcode_spelled_differently(s3: Any) -> None:
    # Given an accounts list holding Zoë O'Brien at M1 1AE and ACME LTD at LS1 4AP
    drop(s3, "accounts.csv", ACCOUNTS_LIST)
    accounts = sage(s3)
    # When customers with the same names and postcodes in other case, accents, punctuation and spacing are sought
    zoe = accounts.find(customer("ZOE  O BRIEN", postcode="m11ae"))
    acme = accounts.find(customer("Acme, Ltd.", postcode=" ls1  4ap"))
    elsewhere = accounts.find(customer("Acme Ltd", postcode="LS2 1AA"))
    # Then each finds its account, and a different postcode finds none
    assert [a.ref for a in zoe] == ["OBRIEZ01"]
    assert [a.ref for a in acme] == ["ACMELT01"]
    assert elsewhere == []


def test_find_returns_each_account_once_whichever_way_it_matched(s3: Any) -> None:
    # Given an accounts list
    drop(s3, "accounts.csv", ACCOUNTS_LIST)
    # When a customer matches one account by ref, email and name+postcode, and another by email
    found = sage(s3).find(customer("John Smith", account_ref="SMITHJ01", email="zoe@example.org",
                                   postcode="SW1A 1AA"))
    # Then each account is listed once, the ref match first
    assert [a.ref for a in found] == ["SMITHJ01", "OBRIEZ01"]


def test_find_sees_an_account_created_earlier_in_the_same_run(s3: Any) -> None:
    # Given a run that has just created an account for Ada
    accounts = sage(s3)
    made = accounts.create(customer("Ada Lovelace", 1, email="ada@example.org", postcode="N1 9GU"), "k1")
    # When a second customer record for Ada (other email case; other spelling of the postcode) is looked for
    by_email = accounts.find(customer("A. Lovelace", 2, email="ADA@example.org"))
    by_name = accounts.find(customer("ada lovelace", 3, postcode="n19gu"))
    # Then the queued account is the candidate, so the run does not open a second one
    assert [(a.ref, a.extra["pending"]) for a in by_email] == [(made.ref, "true")]
    assert [a.ref for a in by_name] == [made.ref]


def test_the_newest_accounts_list_is_used_and_each_file_is_read_once(s3: Any) -> None:
    # Given an old and a new accounts list (the old one's name sorts last), and one in a sub-folder
    new = drop(s3, "accounts-a.csv", "Account Reference,Account Name,Post Code,E-mail\r\nNEW01,New,,\r\n")
    old = drop(s3, "accounts-z.csv", "Account Reference,Account Name,Post Code,E-mail\r\nOLD01,Old,,\r\n")
    drop(s3, "done/accounts.csv", "Account Reference,Account Name,Post Code,E-mail\r\nDONE01,Done,,\r\n")
    set_modified(old, datetime(2025, 1, 1))
    set_modified(new, datetime(2025, 2, 1))
    reads: list[str] = []

    class Counting:
        def __getattr__(self, name: str) -> Any:
            return getattr(s3, name)

        def get_object(self, **kwargs: Any) -> Any:
            reads.append(kwargs["Key"])
            return s3.get_object(**kwargs)

    accounts = Sage50Accounts(Counting(), BUCKET, clock=lambda: NOW)
    # When accounts are looked for several times
    hits = [accounts.find(customer(account_ref=ref)) for ref in ("NEW01", "OLD01", "DONE01", "NEW01")]
    # Then only the newest list counts, and it was read once
    assert [[a.ref for a in h] for h in hits] == [["NEW01"], [], [], ["NEW01"]]
    assert reads == [new]


def test_a_malformed_accounts_list_names_the_file_and_row(s3: Any) -> None:
    # Given an accounts list whose third row's reference has a space in it
    drop(s3, "accounts.csv", "Account Reference,Account Name,Post Code,E-mail\r\nA1,A,,\r\nB 2,B,,\r\n")
    # When it is read
    # Then the error names the file and the row
    with pytest.raises(AccountsError, match=r"inbox/accounts\.csv row 3: account reference 'B 2'"):
        sage(s3).find(customer())


def test_an_accounts_list_without_a_needed_column_is_refused(s3: Any) -> None:
    # Given an accounts list without an email column
    drop(s3, "accounts.csv", "Account Reference,Account Name,Post Code\r\nA1,A,\r\n")
    # When it is read
    # Then the error says which column is missing
    with pytest.raises(AccountsError, match=r"accounts\.csv row 1: the header has no E-mail column"):
        sage(s3).create(customer(), "k")


def test_throttled_listing_reports_unavailable() -> None:
    # Given an S3 that throttles every request
    class Throttled:
        def get_paginator(self, _: str) -> Any:
            raise ClientError(SLOW_DOWN, "ListObjectsV2")

    # When an account is looked for, or balances read
    # Then the adapter says try next run
    with pytest.raises(AccountsUnavailable, match="busy"):
        Sage50Accounts(Throttled(), BUCKET).find(customer())
    with pytest.raises(AccountsUnavailable):
        Sage50Accounts(Throttled(), BUCKET).balances()


# ---- balances ---------------------------------------------------------------------------------------------------

AGED = (
    "Aged Debtors Analysis (Summary)\r\n"
    "\r\n"
    "A/C,Name,Credit Limit,Balance,Future,Current,30 Days,60 Days,90 Days,Older\r\n"
    'ACMELT01,Acme Ltd,"£5,000.00","£1,234.50",0.00,"1,000.00",234.50,0.00,0.00,0.00\r\n'
    "SMITHJ01,John Smith,0.00,(10.00),0.00,(10.00),0.00,0.00,0.00,0.00\r\n"
    "SMITHJ02,Jane Smith,0.00,-5.25,0.00,0.00,-5.25,0.00,0.00,0.00\r\n"
    "OBRIEZ01,Zoë O'Brien,0.00,,,,,,,\r\n"
    ',Totals:,,"£1,219.25",,,,,,\r\n'
)


def test_aged_debtors_balances_are_exact(s3: Any) -> None:
    # Given an aged debtors export in Windows-1252, with a title row, currency symbols and a totals row
    drop(s3, "aged-debtors-2025-03.csv", AGED, encoding="cp1252")
    # When balances are read
    balances = sage(s3).balances()
    # Then each account's balance is the exact decimal, negatives from parentheses and minus signs
    assert {ref: str(amount) for ref, amount in balances.items()} == {
        "ACMELT01": "1234.50", "SMITHJ01": "-10.00", "SMITHJ02": "-5.25", "OBRIEZ01": "0.00"}


def test_aged_debtors_without_a_balance_column_add_up_the_ageing_columns(s3: Any) -> None:
    # Given an export with only the ageing columns
    drop(s3, "aged-debtors.csv", "Account Reference,Current,Period 1,Period 2,Period 3,Older\r\n"
                                 "ACMELT01,100.10,£20.00,(0.05),0,1.00-\r\n")
    # When balances are read
    # Then the balance is their exact sum
    assert sage(s3).balances() == {"ACMELT01": Decimal("119.05")}


def test_balances_are_empty_without_an_aged_debtors_file(s3: Any) -> None:
    # Given only an accounts list in the inbox
    drop(s3, "accounts.csv", ACCOUNTS_LIST)
    # When balances are read
    # Then there are none
    assert sage(s3).balances() == {}


def test_a_malformed_aged_debtors_file_names_the_file_and_row(s3: Any) -> None:
    # Given an aged debtors export whose fourth row's balance is not an amount
    text = "Account Reference,Account Name,Outstanding\r\nA1,A,1.00\r\nA2,B,2.00\r\nA3,C,twelve\r\n"
    drop(s3, "aged-debtors-march.csv", text)
    # When balances are read
    # Then the error names the file, the row and the cell
    with pytest.raises(AccountsError, match=r"aged-debtors-march\.csv row 4: Balance 'twelve' is not an amount"):
        sage(s3).balances()


def test_an_account_twice_in_aged_debtors_is_refused(s3: Any) -> None:
    # Given an aged debtors export listing A1 twice
    drop(s3, "aged-debtors.csv", "A/C,Total\r\nA1,1.00\r\nA1,2.00\r\n")
    # When balances are read
    # Then the error names both rows
    with pytest.raises(AccountsError, match=r"row 3: account A1 is also on row 2"):
        sage(s3).balances()


@pytest.mark.parametrize(("text", "amount"), [
    ("£1,234.50", "1234.50"), ("(10.00)", "-10.00"), ("-5.25", "-5.25"), ("5.25-", "-5.25"), ("(£1,000)", "-1000"),
    ("-£0.01", "-0.01"), ("GBP 12.00", "12.00"), ("", "0.00"), (" 7 ", "7"),
])
def test_amounts_are_read_exactly(text: str, amount: str) -> None:
    # Given an amount as a report shows it
    # When it is read
    # Then it is the exact decimal
    assert str(parse_amount(text)) == amount


@pytest.mark.parametrize("text", ["twelve", "1.2.3", "12,34", "--5", "1e3", "(5"])
def test_text_that_is_not_an_amount_is_refused(text: str) -> None:
    # Given text that is not money
    # When it is read as an amount
    # Then it is refused
    assert parse_amount(text) is None
