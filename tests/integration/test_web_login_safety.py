"""Web logins nobody else can take over: reset links go to the address the login was given when an admin set
its password, not to whatever the customer's email is edited to; a login kept where an earlier version kept it
(in the customer's partition, which the public function may no longer write: ``crm_local.iam`` holds every
call here to the function's role) still signs in and resets, and goes with its customer."""

from __future__ import annotations

from collections.abc import Callable
from email.message import Message
from typing import Any

import boto3

from crm_core.clock import iso, utcnow
from crm_core.dal.dynamo import to_item
from crm_core.passwords import hash_password
from crm_local.template import Template
from integration.conftest import Call, Drain
from integration.test_accounts_not_hostage import _customer, _sign_in, _tokens
from integration.test_mail import PASSWORD

Outbox = Callable[[], list[Message]]


def _patch(api: Call, customer_id: str, groups: str = "staff", **changes: Any) -> Any:
    current = api("GET", f"/customers/{customer_id}").body
    answer = api("PATCH", f"/customers/{customer_id}", body={"version": current["version"], **changes},
                 groups=groups)
    assert answer.status == 200, answer.body
    return answer.body


def test_an_edited_email_does_not_redirect_reset_links(api: Call, mailer: Drain, outbox: Outbox,
                                                       no_pauses: None) -> None:
    # Given a customer whose web login an admin set up, and a staff user (not an admin, who may not set passwords)
    customer = _customer(api, email="ada@example.org")
    # When the staff user changes the customer's email to their own and asks for reset emails (staff and public)
    _patch(api, customer["id"], email="mallory@example.org")
    staff = api("POST", f"/customers/{customer['id']}/login/reset-email", groups="staff")
    api("POST", "/public/password-reset", body={"email": "mallory@example.org"}, address="203.0.113.9")
    assert mailer() == []
    # Then every link went to the address the login was given, none to the new one
    assert staff.status == 202 and staff.body["to"] == "ada@example.org"
    assert [m["To"] for m in outbox()] == ["ada@example.org"] * 2
    # And once an admin sets a password, the email the customer has then is where links go
    assert api("PUT", f"/customers/{customer['id']}/login", body={"password": "an admin chose this"}).status == 200
    assert api("POST", f"/customers/{customer['id']}/login/reset-email").body["to"] == "mallory@example.org"


def test_a_login_set_without_an_email_gets_no_reset_link_after_one_is_added(api: Call, mailer: Drain,
                                                                             outbox: Outbox, no_pauses: None) -> None:
    customer = api("POST", "/customers", body={"type": "individual", "first_name": "Bo", "last_name": "N"}).body
    assert api("PUT", f"/customers/{customer['id']}/login",
               body={"username": "bo.n", "password": PASSWORD}).status == 200
    _patch(api, customer["id"], email="someone@example.org")
    refused = api("POST", f"/customers/{customer['id']}/login/reset-email")
    assert (refused.status, refused.body["error"]["fields"][0]["field"]) == (409, "email")
    api("POST", "/public/password-reset", body={"email": "someone@example.org"})
    assert mailer() == [] and outbox() == []


# ---- logins an earlier version kept in the customer's partition -----------------------------------------------

def _named(api: Call, username: str, email: str) -> Any:
    """A customer with a username and no web login yet."""
    answer = api("POST", "/customers", body={"type": "individual", "first_name": "Ada", "last_name": "L",
                                             "username": username, "email": email})
    assert answer.status == 201, answer.body
    return answer.body


def _legacy_login(aws: Template, customer_id: str, set_at: str) -> None:
    """A login as an earlier version kept it: ``CUST#<id>`` / ``LOGIN``, no recovery address."""
    boto3.client("dynamodb").put_item(
        TableName=aws.tables()["CustomersTable"]["TableName"],
        Item=to_item({"PK": f"CUST#{customer_id}", "SK": "LOGIN", "password_hash": hash_password(PASSWORD),
                      "must_change": False, "set_at": set_at, "set_by": "an admin", "generation": 3}))


def test_a_login_kept_where_it_was_before_still_signs_in_and_resets_to_its_address(
        api: Call, aws: Template, mailer: Drain, outbox: Outbox, no_pauses: None) -> None:
    customer = _named(api, "old.login", "old@example.org")
    _legacy_login(aws, customer["id"], iso(utcnow()))
    # It signs in as it did
    assert _sign_in(api, PASSWORD, "198.51.100.1", username="old.login").status == 200
    # And after staff edit the email, a reset goes to the email the customer had when its password was set
    _patch(api, customer["id"], email="edited@example.org")
    assert api("POST", f"/customers/{customer['id']}/login/reset-email").body["to"] == "old@example.org"
    mailer()
    (sent,) = outbox()
    assert sent["To"] == "old@example.org"
    # And its link sets the password
    (token,) = _tokens(outbox)
    assert api("POST", "/public/password-reset/confirm",
               body={"token": token, "new_password": "my brand new passphrase"}).status == 200
    assert _sign_in(api, "my brand new passphrase", "198.51.100.1", username="old.login").status == 200


def test_a_login_goes_with_its_customer_never_to_the_one_it_is_merged_into(api: Call, aws: Template) -> None:
    source = _named(api, "source.login", "source@example.org")
    _legacy_login(aws, source["id"], iso(utcnow()))
    target = _named(api, "target.login", "target@example.org")
    assert api("POST", f"/customers/{target['id']}/merge", body={"source_id": source["id"]}).status == 200
    # The target has no web login from the source: no password of the source's signs in as the target
    refused = api("POST", f"/customers/{target['id']}/login/reset-email")
    assert refused.status == 409
    assert _sign_in(api, PASSWORD, "198.51.100.2", username="target.login").status == 401


def test_deleting_a_customer_deletes_its_web_login(api: Call, aws: Template) -> None:
    customer = _customer(api, username="gone.soon", email="gone@example.org")
    assert api("DELETE", f"/customers/{customer['id']}").status == 204
    table = aws.tables()["CustomersTable"]["TableName"]
    left = boto3.client("dynamodb").get_item(TableName=table, Key=to_item({"PK": f"LOGIN#{customer['id']}",
                                                                           "SK": "LOGIN"}))
    assert "Item" not in left
