"""RestAccounts against the fake accounts API on loopback: real HTTP, injected faults, no waiting."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

from accounts_server import FakeAccountsServer
from crm_core.accounting import AccountCustomer, AccountsAdapter, AccountsError, AccountsUnavailable
from crm_core.accounting.rest import RestAccounts
from crm_core.dal.dynamo import Backoff

ATTEMPTS = 3
CAP = 0.5


@pytest.fixture
def server() -> Iterator[FakeAccountsServer]:
    with FakeAccountsServer() as running:
        yield running


@pytest.fixture
def pauses() -> list[float]:
    return []


@pytest.fixture
def accounts(server: FakeAccountsServer, pauses: list[float]) -> RestAccounts:
    return RestAccounts(server.url, server.token, timeout=2.0,
                        backoff=Backoff(attempts=ATTEMPTS, base=0.01, cap=CAP), sleep=pauses.append)


def _customer(name: str = "Ada Lovelace", **values: Any) -> AccountCustomer:
    return AccountCustomer(customer_id="01M84C74A9P5N5ACTCTPRJECSQ", customer_number="100001", name=name, **values)


def test_it_is_an_accounts_adapter_named_rest(accounts: RestAccounts) -> None:
    adapter: AccountsAdapter = accounts
    assert adapter.name == "rest"
    adapter.flush()  # nothing queued, nothing sent
    assert accounts.requests == 0


def test_find_by_account_reference(server: FakeAccountsServer, accounts: RestAccounts) -> None:
    # Given an account the customer is already linked to, and another one
    server.seed("C0000042", "Ada Lovelace", "ada@example.org", "N1 9GU")
    server.seed("C0000043", "Charles Babbage", "charles@example.org", "SE1 7PB")
    # When the linked customer (no email, no postcode) is looked up
    found = accounts.find(_customer(account_ref="C0000042"))
    # Then the linked account is found, with what the API said about it
    assert [(a.ref, a.name, a.email, a.postcode) for a in found] == [
        ("C0000042", "Ada Lovelace", "ada@example.org", "N1 9GU")]
    assert server.requests == [("GET", "/accounts?ref=C0000042", None)]


def test_find_by_email_ignores_case(server: FakeAccountsServer, accounts: RestAccounts) -> None:
    # Given an account whose email was typed in another case
    server.seed("C0000042", "Ada King", "Ada@Example.ORG", None)
    # When a customer with that email is looked up
    found = accounts.find(_customer(email="  ada@example.org "))
    # Then the account is found
    assert [a.ref for a in found] == ["C0000042"]


def test_find_by_name_and_postcode_folds_case_spacing_and_postcode_format(
        server: FakeAccountsServer, accounts: RestAccounts) -> None:
    # Given an account under "John Smith" at "N1 9GU", and one with the words of the name swapped
    server.seed("C0000042", "John Smith", None, "N1 9GU")
    server.seed("C0000043", "Smith, John", None, "N1 9GU")
    # When "  john   SMITH " at "n19gu" is looked up
    found = accounts.find(_customer("  john   SMITH ", postcode="n19gu"))
    # Then only the account with the same words in the same order is found (as dedupe_key folds them)
    assert [a.ref for a in found] == ["C0000042"]


def test_find_returns_the_union_once_each_ref_then_email_then_name_and_postcode(
        server: FakeAccountsServer, accounts: RestAccounts) -> None:
    # Given one account matching by name and postcode, one by email, one by ref and email
    server.seed("C0000001", "Ada Lovelace", None, "N1 9GU")
    server.seed("C0000002", "A. Lovelace", "ada@example.org", None)
    server.seed("C0000003", "Countess of Lovelace", "ADA@example.org", None)
    # When a customer linked to the third is looked up
    found = accounts.find(_customer(email="ada@example.org", postcode="N1 9GU", account_ref="C0000003"))
    # Then each account comes once, in the order ref match, email match, name and postcode match
    assert [a.ref for a in found] == ["C0000003", "C0000002", "C0000001"]
    assert [method for method, _, _ in server.requests] == ["GET"] * 3


def test_find_with_nothing_to_ask_by_sends_nothing(server: FakeAccountsServer, accounts: RestAccounts) -> None:
    # Given a customer with a name only (a name alone is too weak a match)
    # When it is looked up
    found = accounts.find(_customer())
    # Then no account is found and no request went out
    assert found == []
    assert server.requests == []


def test_create_returns_the_reference_the_server_allocated(server: FakeAccountsServer,
                                                           accounts: RestAccounts) -> None:
    # Given a new customer with full details
    customer = _customer(email="ada@example.org", phone="020 7946 0000", postcode="N1 9GU", country="GB",
                         address_lines=("12 St James's Square", "London"))
    # When an account is opened for them
    account = accounts.create(customer, "create-01M84C74A9P5N5ACTCTPRJECSQ")
    # Then the account carries the server's reference, and the server holds every detail sent
    assert account.ref == "C0000001"
    assert account.extra["customer_number"] == "100001"
    assert server.accounts["C0000001"] == {
        "ref": "C0000001", "name": "Ada Lovelace", "email": "ada@example.org", "phone": "020 7946 0000",
        "address_lines": ["12 St James's Square", "London"], "postcode": "N1 9GU", "country": "GB",
        "customer_number": "100001"}
    assert server.requests == [("POST", "/accounts", "create-01M84C74A9P5N5ACTCTPRJECSQ")]


def test_the_same_idempotency_key_twice_opens_one_account(server: FakeAccountsServer,
                                                          accounts: RestAccounts) -> None:
    # Given an account was opened with a key
    first = accounts.create(_customer(), "key-1")
    # When the same create is sent again with the same key (a retry after a lost answer)
    again = accounts.create(_customer(), "key-1")
    # Then it is the same account: the server saw the key twice and opened one account
    assert again == first
    assert [key for _, _, key in server.requests] == ["key-1", "key-1"]
    assert server.created == 1 and list(server.accounts) == [first.ref]


def test_update_brings_the_account_in_line(server: FakeAccountsServer, accounts: RestAccounts) -> None:
    # Given an account under an old email
    server.seed("C0000042", "Ada Lovelace", "old@example.org", "N1 9GU")
    # When it is updated from the customer
    accounts.update("C0000042", _customer("Ada King", email="ada@example.org", postcode="N1 9GU"), "update-1")
    # Then the account has the customer's name and email
    assert server.accounts["C0000042"]["name"] == "Ada King"
    assert server.accounts["C0000042"]["email"] == "ada@example.org"
    assert server.requests == [("PUT", "/accounts/C0000042", "update-1")]


def test_503_twice_then_success_is_retried_with_backoff_pauses(
        server: FakeAccountsServer, accounts: RestAccounts, pauses: list[float]) -> None:
    # Given the API is unavailable for two requests
    server.fail_next(503, times=2)
    # When an account is opened
    account = accounts.create(_customer(), "key-1")
    # Then the third request opened it, after two pauses within the growing backoff ceiling
    assert account.ref == "C0000001"
    assert accounts.requests == 3
    assert [key for _, _, key in server.requests] == ["key-1"] * 3
    assert len(pauses) == 2 and 0 <= pauses[0] <= 0.01 and 0 <= pauses[1] <= 0.02


def test_429_waits_the_retry_after_the_server_asked_for(
        server: FakeAccountsServer, accounts: RestAccounts, pauses: list[float]) -> None:
    # Given the API throttles one request, asking for a pause of a fifth of a second
    server.fail_next(429, retry_after=0.2)
    # When balances are read
    accounts.balances()
    # Then the adapter paused exactly that long, then asked again
    assert pauses == [0.2]
    assert accounts.requests == 2


def test_a_retry_after_longer_than_the_cap_is_capped(
        server: FakeAccountsServer, accounts: RestAccounts, pauses: list[float]) -> None:
    # Given the API throttles one request, asking for a minute
    server.fail_next(429, retry_after=60)
    # When balances are read
    accounts.balances()
    # Then the pause is the backoff's cap
    assert pauses == [CAP]


def test_5xx_forever_is_unavailable_after_the_configured_attempts(
        server: FakeAccountsServer, accounts: RestAccounts, pauses: list[float]) -> None:
    # Given the API answers 502 to everything
    server.fail_next(502, times=100)
    # When an account is opened
    with pytest.raises(AccountsUnavailable) as caught:
        accounts.create(_customer(), "key-1")
    # Then it gave up after the configured attempts, pausing between them only, and said why
    assert accounts.requests == len(server.requests) == ATTEMPTS
    assert len(pauses) == ATTEMPTS - 1
    assert "HTTP 502" in str(caught.value) and f"{ATTEMPTS} attempts" in str(caught.value)


def test_an_api_that_cannot_be_reached_is_unavailable(pauses: list[float]) -> None:
    # Given an API that is no longer listening
    with FakeAccountsServer() as stopped:
        url, token = stopped.url, stopped.token
    accounts = RestAccounts(url, token, timeout=2.0, backoff=Backoff(attempts=2, base=0.01), sleep=pauses.append)
    # When balances are read
    with pytest.raises(AccountsUnavailable) as caught:
        accounts.balances()
    # Then both attempts were made and the connection error is named
    assert accounts.requests == 2
    assert "ConnectionRefusedError" in str(caught.value)


def test_422_is_an_error_at_once_with_the_server_message(server: FakeAccountsServer,
                                                         accounts: RestAccounts, pauses: list[float]) -> None:
    # Given the package refuses accounts for this name
    server.fail_create_for("Ada Lovelace")
    # When an account is opened
    with pytest.raises(AccountsError) as caught:
        accounts.create(_customer(), "key-1")
    # Then the error carries the status and the server's message, and there was no retry
    assert "HTTP 422" in str(caught.value)
    assert "refused the account 'Ada Lovelace'" in str(caught.value)
    assert accounts.requests == 1 and pauses == []
    assert server.created == 0


def test_a_wrong_token_is_an_error_that_never_shows_the_token(server: FakeAccountsServer,
                                                              pauses: list[float]) -> None:
    # Given an adapter holding the wrong token
    secret = "wrong-secret-token-0123456789"
    accounts = RestAccounts(server.url, secret, backoff=Backoff(attempts=ATTEMPTS, base=0.01), sleep=pauses.append)
    # When balances are read
    with pytest.raises(AccountsError) as caught:
        accounts.balances()
    # Then it is a 401, not retried, and the token is in neither the message nor the adapter's repr
    assert "HTTP 401" in str(caught.value)
    assert accounts.requests == 1
    assert secret not in str(caught.value) and secret not in repr(caught.value)
    assert secret not in repr(accounts)


def test_an_answer_that_is_not_json_is_an_error(server: FakeAccountsServer, accounts: RestAccounts) -> None:
    # Given something in front of the API answers with a web page
    server.fail_next(200, body=b"<html><body>Welcome</body></html>")
    # When balances are read
    with pytest.raises(AccountsError, match="not JSON"):
        accounts.balances()
    # Then it was not retried
    assert accounts.requests == 1


def test_balances_are_exact_decimals(server: FakeAccountsServer, accounts: RestAccounts) -> None:
    # Given two accounts owing 10p and 20p
    server.seed("C0000001", "Ada Lovelace", balance="0.10")
    server.seed("C0000002", "Charles Babbage", balance="0.20")
    # When balances are read
    balances = accounts.balances()
    # Then they are decimals, and add up exactly
    assert balances == {"C0000001": Decimal("0.10"), "C0000002": Decimal("0.20")}
    assert balances["C0000001"] + balances["C0000002"] == Decimal("0.30")


def test_only_http_urls_are_accepted() -> None:
    with pytest.raises(ValueError, match="http"):
        RestAccounts("file:///etc/passwd", "token")
