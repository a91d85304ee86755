"""Accounts nobody can hold hostage: lockouts by username and address with a ceiling that slows guessing but
lets the owner in, one reset budget per account, a truthful Retry-After, reset links that die when any password
is set, and no reset for a customer without a web login."""

from __future__ import annotations

import re
from collections.abc import Callable
from email.message import Message
from typing import Any
from urllib.parse import parse_qs, urlsplit

from integration.conftest import Call, Drain
from integration.test_mail import PASSWORD, _text

Outbox = Callable[[], list[Message]]


def _customer(api: Call, username: str = "ada.l", email: str = "ada@example.org", login: bool = True) -> Any:
    customer = api("POST", "/customers", body={"type": "individual", "first_name": "Ada", "last_name": "L",
                                               "email": email}).body
    if login:
        assert api("PUT", f"/customers/{customer['id']}/login",
                   body={"username": username, "password": PASSWORD}).status == 200
    return customer


def _sign_in(api: Call, password: str, address: str, username: str = "ada.l") -> Any:
    return api("POST", "/public/login", body={"username": username, "password": password}, address=address)


def _tokens(outbox: Outbox) -> list[str]:
    links = [re.search(r"https?://\S+reset-password\?token=\S+", _text(m)) for m in outbox()]
    return [parse_qs(urlsplit(link.group(0)).query)["token"][0] for link in links if link]


def test_guessing_from_one_address_does_not_lock_the_owner_out_elsewhere(api: Call) -> None:
    _customer(api)
    # Given an attacker who fails five times from one address
    assert [_sign_in(api, f"guess {n}", "203.0.113.9").status for n in range(6)] == [401] * 5 + [429]
    # Then that address waits, and the customer signs in from their own
    assert _sign_in(api, PASSWORD, "198.51.100.7").status == 200


def test_past_the_usernames_ceiling_only_addresses_the_owner_used_may_try(api: Call) -> None:
    _customer(api)
    assert _sign_in(api, PASSWORD, "198.51.100.7").status == 200  # the owner's usual address
    # Given 30 failures for the username spread over many addresses (5 each, never one address's limit)
    for n in range(30):
        assert _sign_in(api, f"guess {n}", f"203.0.113.{n // 5}").status == 401
    # When a new address tries, even with the right password, it is refused with a truthful Retry-After
    refused = _sign_in(api, PASSWORD, "192.0.2.50")
    assert refused.status == 429 and 0 < int(refused.headers["Retry-After"]) <= 900
    # And the owner's address still gets in
    assert _sign_in(api, PASSWORD, "198.51.100.7").status == 200


def test_an_account_gets_three_reset_emails_an_hour_however_they_are_asked_for(
        api: Call, mailer: Drain, outbox: Outbox, no_pauses: None) -> None:
    customer = _customer(api)
    # Given resets asked for by username, by email (any case) and by staff, from several addresses
    asked = [api("POST", "/public/password-reset", body={"username": "ada.l"}, address="203.0.113.1"),
             api("POST", "/public/password-reset", body={"email": "ADA@example.org"}, address="203.0.113.2"),
             api("POST", "/public/password-reset", body={"email": "ada@example.org"}, address="203.0.113.3"),
             api("POST", f"/customers/{customer['id']}/login/reset-email")]
    assert [a.status for a in asked] == [202, 202, 202, 202]
    assert mailer() == []
    # Then three emails went, whoever asked
    assert len(outbox()) == 3
    # And staff are told the budget is spent, with how long to wait
    staff = api("POST", f"/customers/{customer['id']}/login/reset-email")
    assert staff.status == 429 and 0 < int(staff.headers["Retry-After"]) <= 3600


def test_the_reset_form_is_limited_per_name_with_a_truthful_retry_after(api: Call) -> None:
    answers = [api("POST", "/public/password-reset", body={"username": "someone"}) for _ in range(4)]
    assert [a.status for a in answers] == [202, 202, 202, 429]
    assert 0 < int(answers[-1].headers["Retry-After"]) <= 3600


def test_setting_a_password_by_any_route_kills_every_reset_link(api: Call, mailer: Drain, outbox: Outbox,
                                                                no_pauses: None) -> None:
    customer = _customer(api)
    for address in ("203.0.113.1", "203.0.113.2"):
        api("POST", "/public/password-reset", body={"username": "ada.l"}, address=address)
    mailer()
    older, newer = _tokens(outbox)
    # When the newer link is used, the older one is dead
    assert api("POST", "/public/password-reset/confirm",
               body={"token": newer, "new_password": "my brand new passphrase"}).status == 200
    dead = api("POST", "/public/password-reset/confirm", body={"token": older, "new_password": "another passphrase"})
    assert (dead.status, dead.body["error"]["code"]) == (400, "invalid_token")
    # And a link asked for before staff set a password is dead too
    api("POST", "/public/password-reset", body={"username": "ada.l"}, address="203.0.113.3")
    mailer()
    latest = _tokens(outbox)[-1]
    assert api("PUT", f"/customers/{customer['id']}/login", body={"password": "staff chose this one"}).status == 200
    assert api("POST", "/public/password-reset/confirm",
               body={"token": latest, "new_password": "yet another passphrase"}).status == 400
    assert _sign_in(api, "staff chose this one", "198.51.100.7").status == 200


def test_a_reset_for_a_customer_without_a_web_login_sends_nothing_and_makes_none(
        api: Call, mailer: Drain, outbox: Outbox, no_pauses: None) -> None:
    customer = _customer(api, email="nologin@example.org", login=False)
    with_login = api("POST", "/public/password-reset", body={"email": "nologin@example.org"})
    unknown = api("POST", "/public/password-reset", body={"email": "nobody@example.org"}, address="203.0.113.5")
    assert (with_login.status, with_login.body) == (unknown.status, unknown.body) == (202, with_login.body)
    assert mailer() == [] and outbox() == []
    staff = api("POST", f"/customers/{customer['id']}/login/reset-email")
    assert staff.status == 409
