"""Web login, password reset, mass email, mail lists, unsubscribe and bounces — through the API routes, the
mail queue and the mailer as AWS runs them (moto; SES faults injected on the client)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import timedelta
from email.message import Message
from typing import Any
from urllib.parse import parse_qs, urlsplit

import boto3
import pytest
from botocore.exceptions import ClientError

from crm_core.clock import utcnow
from crm_core.dal.customers import profile_item
from crm_core.dal.dynamo import batch_write, to_item
from crm_core.ids import new_id
from crm_core.models.customer import Customer
from crm_local.template import Template
from integration.conftest import Call, Drain

PASSWORD = "correct horse battery staple"


def _text(message: Message) -> str:
    for part in message.walk():
        if part.get_content_type() == "text/plain":
            return str(part.get_payload(decode=True).decode())  # type: ignore[union-attr]
    return ""


def _login(api: Call, customer: dict[str, Any], password: str = PASSWORD) -> None:
    answer = api("PUT", f"/customers/{customer['id']}/login", body={"username": "ada.l", "password": password})
    assert answer.status == 200, answer.body


def test_sign_in_works_and_gives_one_answer_for_unknown_users_and_wrong_passwords(api: Call) -> None:
    ada = api("POST", "/customers", body={"type": "individual", "first_name": "Ada", "last_name": "L",
                                          "email": "ada@example.org"}).body
    _login(api, ada)
    ok = api("POST", "/public/login", body={"username": "ada.l", "password": PASSWORD})
    assert ok.status == 200 and ok.body["customer_id"] == ada["id"]
    wrong = api("POST", "/public/login", body={"username": "ada.l", "password": "not the password at all"})
    unknown = api("POST", "/public/login", body={"username": "nobody", "password": "not the password at all"})
    assert (wrong.status, wrong.body) == (unknown.status, unknown.body) == (401, wrong.body)
    # the username cannot change once saved; a weak password is refused naming the field
    assert api("PUT", f"/customers/{ada['id']}/login", body={"username": "other", "password": PASSWORD}).status == 422
    weak = api("PUT", f"/customers/{ada['id']}/login", body={"password": "password123"})
    assert weak.status == 422 and weak.body["error"]["fields"][0]["field"] == "password"
    # a deactivated customer cannot sign in
    api("POST", f"/customers/{ada['id']}/status", body={"action": "deactivate"})
    assert api("POST", "/public/login", body={"username": "ada.l", "password": PASSWORD}).status == 403


def test_sign_in_failures_are_rate_limited_but_successes_are_not(api: Call) -> None:
    ada = api("POST", "/customers", body={"type": "individual", "first_name": "Ada", "last_name": "L"}).body
    _login(api, ada)
    # signing in often is fine
    assert [api("POST", "/public/login", body={"username": "ada.l", "password": PASSWORD}).status
            for _ in range(6)] == [200] * 6
    # guessing is not: five failures from one address, then that address waits — for as long as the window
    # has left, as Retry-After says
    answers = [api("POST", "/public/login", body={"username": "ada.l", "password": f"guess number {n}"}).status
               for n in range(6)]
    assert answers == [401] * 5 + [429]
    locked = api("POST", "/public/login", body={"username": "ada.l", "password": PASSWORD})
    assert locked.status == 429 and 0 < int(locked.headers["Retry-After"]) <= 900


def test_a_temporary_password_must_be_changed_at_the_next_sign_in(api: Call) -> None:
    ada = api("POST", "/customers", body={"type": "individual", "first_name": "Ada", "last_name": "L"}).body
    _login(api, ada)
    temporary = api("POST", f"/customers/{ada['id']}/login/random-password").body["temporary_password"]
    first = api("POST", "/public/login", body={"username": "ada.l", "password": temporary})
    assert first.status == 403 and first.body["error"]["code"] == "password_change_required"
    changed = api("POST", "/public/login", body={"username": "ada.l", "password": temporary,
                                                 "new_password": "a much better passphrase"})
    assert changed.status == 200
    assert api("POST", "/public/login", body={"username": "ada.l", "password": "a much better passphrase"}).status \
        == 200


def test_a_reset_for_known_and_unknown_emails_answers_the_same_and_the_link_works_once(
        api: Call, mailer: Drain, outbox: Callable[[], list[Message]], no_pauses: None) -> None:
    ada = api("POST", "/customers", body={"type": "individual", "first_name": "Ada", "last_name": "L",
                                          "email": "ada@example.org"}).body
    _login(api, ada)
    known = api("POST", "/public/password-reset", body={"email": "ADA@example.org"})
    unknown = api("POST", "/public/password-reset", body={"email": "nobody@example.org"})
    assert (known.status, known.body) == (unknown.status, unknown.body) and known.status == 202
    assert mailer() == []
    (sent,) = outbox()
    assert sent["To"] == "ada@example.org" and "List-Unsubscribe" not in sent
    link = re.search(r"https?://\S+reset-password\?token=\S+", _text(sent))
    assert link is not None
    token = parse_qs(urlsplit(link.group(0)).query)["token"][0]
    confirmed = api("POST", "/public/password-reset/confirm", body={"token": token,
                                                                    "new_password": "my brand new passphrase"})
    assert confirmed.status == 200
    again = api("POST", "/public/password-reset/confirm", body={"token": token, "new_password": "another one entirely"})
    assert again.status == 400 and again.body["error"]["code"] == "invalid_token"
    assert api("POST", "/public/login", body={"username": "ada.l", "password": "my brand new passphrase"}).status == 200


def _seed(aws: Template, count: int, opted_out: int, suppressed: int) -> list[str]:
    """Customers written straight to the table (fast); the first ``opted_out`` said no to marketing, the next
    ``suppressed`` have an address that bounced."""
    ddb = boto3.client("dynamodb")
    table = aws.tables()["CustomersTable"]["TableName"]
    now = utcnow()
    ids, items = [], []
    for n in range(count):
        customer = Customer(id=new_id(), customer_number=str(200000 + n), type="individual", first_name=f"First{n}",
                            last_name=f"Last{n}", email=f"person{n}@example.org", version=1, created_at=now,
                            updated_at=now, created_by="seed", updated_by="seed",
                            email_preferences={"marketing": n >= opted_out, "account": True})
        ids.append(customer.id)
        items.append({"PutRequest": {"Item": to_item(profile_item(customer, None))}})
        if opted_out <= n < opted_out + suppressed:
            items.append({"PutRequest": {"Item": to_item({"PK": f"SUPPRESSED#person{n}@example.org",
                                                          "SK": "SUPPRESSION", "reason": "bounced"})}})
    batch_write(ddb, table, items)
    return ids


def _throttle_every(n: int, monkeypatch: pytest.MonkeyPatch, code: str = "TooManyRequestsException",
                    after: int | None = None) -> dict[str, int]:
    """Make SES answer ``code`` on every n-th send (or on every send after ``after`` sends)."""
    from crm_core.aws import client

    ses = client("sesv2")
    real = ses.send_email
    calls = {"n": 0, "refused": 0}

    def flaky(**kwargs: Any) -> dict[str, Any]:
        calls["n"] += 1
        if (after is None and calls["n"] % n == 0) or (after is not None and calls["n"] > after):
            calls["refused"] += 1
            raise ClientError({"Error": {"Code": code, "Message": "injected"}}, "SendEmail")
        return dict(real(**kwargs))

    monkeypatch.setattr(ses, "send_email", flaky)
    return calls


def test_a_mass_email_to_1000_sends_exactly_890_even_with_ses_throttling(
        api: Call, aws: Template, mailer: Drain, outbox: Callable[[], list[Message]], no_pauses: None,
        monkeypatch: pytest.MonkeyPatch) -> None:
    ids = _seed(aws, 1000, opted_out=100, suppressed=10)
    throttled = _throttle_every(7, monkeypatch)
    started = api("POST", "/mailings", body={"subject": 'News for "First Name"', "ids": ids,
                                             "body": 'Dear "First Name" "Last Name",\n\nOur season opens soon.'})
    assert started.status == 202
    assert mailer() == []
    done = api("GET", f"/mailings/{started.body['id']}").body
    assert done["status"] == "completed" and done["total"] == 1000
    assert {k: done["counts"][k] for k in ("sent", "skipped", "failed", "pending")} == {
        "sent": 890, "skipped": 110, "failed": 0, "pending": 0}
    recipients = _all_recipients(api, started.body["id"])
    assert len(recipients) == 1000 and len({r["customer_id"] for r in recipients}) == 1000
    reasons = sorted({r["reason"] for r in recipients if r["status"] == "skipped"})
    assert reasons == ["opted out of marketing email", "the address is suppressed (bounced)"]
    sent = outbox()
    assert throttled["refused"] > 100 and len(sent) == 890
    assert len({m["To"] for m in sent}) == 890
    first = next(m for m in sent if m["To"] == "person500@example.org")
    assert first["Subject"] == "News for First500" and "Dear First500 Last500" in _text(first)
    assert first["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert first["List-Unsubscribe"].startswith("<http://127.0.0.1:3000/public/unsubscribe?token=")


def _all_recipients(api: Call, mailing_id: str) -> list[dict[str, Any]]:
    """Every recipient's outcome, a page (at most 100, as every list) after another by the opaque cursor."""
    pages = [api("GET", f"/mailings/{mailing_id}", query={"limit": 100}).body]
    while pages[-1]["next_cursor"]:
        pages.append(api("GET", f"/mailings/{mailing_id}", query={"limit": 100,
                                                                  "cursor": pages[-1]["next_cursor"]}).body)
    assert all(len(p["recipients"]) <= 100 for p in pages)
    return [r for p in pages for r in p["recipients"]]


def test_a_mailing_pages_its_recipients_as_every_list_does(api: Call, aws: Template, mailer: Drain,
                                                           no_pauses: None) -> None:
    ids = _seed(aws, 3, opted_out=0, suppressed=0)
    mailing = api("POST", "/mailings", body={"subject": "Hi", "body": "Hello", "ids": ids}).body
    other = api("POST", "/mailings", body={"subject": "Hi", "body": "Hello", "ids": ids}).body
    assert mailer() == []
    first = api("GET", f"/mailings/{mailing['id']}", query={"limit": 2}).body
    cursor = first["next_cursor"]
    assert len(first["recipients"]) == 2 and cursor and not cursor.startswith("R#")
    rest = api("GET", f"/mailings/{mailing['id']}", query={"limit": 2, "cursor": cursor}).body
    assert len(rest["recipients"]) == 1
    assert {r["customer_id"] for r in first["recipients"] + rest["recipients"]} == set(ids)
    # A page of more than 100 is refused, and so is a cursor this list did not issue (another mailing's, a raw key)
    too_big = api("GET", f"/mailings/{mailing['id']}", query={"limit": 1000})
    assert (too_big.status, too_big.body["error"]["fields"][0]["field"]) == (422, "limit")
    for bad in (cursor + "x", f"R#{ids[0]}"):
        refused = api("GET", f"/mailings/{mailing['id']}", query={"cursor": bad})
        assert (refused.status, refused.body["error"]["fields"][0]["field"]) == (400, "cursor")
    elsewhere = api("GET", f"/mailings/{other['id']}", query={"cursor": cursor})
    assert (elsewhere.status, elsewhere.body["error"]["code"]) == (400, "invalid_cursor")


def test_when_the_daily_quota_runs_out_the_mailing_pauses_and_resumes_sending_each_once(
        api: Call, aws: Template, mailer: Drain, outbox: Callable[[], list[Message]], no_pauses: None,
        monkeypatch: pytest.MonkeyPatch, context: Any) -> None:
    import mail_worker

    ids = _seed(aws, 120, opted_out=0, suppressed=0)
    _throttle_every(0, monkeypatch, code="LimitExceededException", after=70)
    started = api("POST", "/mailings", body={"subject": "Hello", "body": "Hi {{ first_name }}", "ids": ids})
    mailer()
    paused = api("GET", f"/mailings/{started.body['id']}").body
    assert paused["status"] == "paused" and paused["counts"]["sent"] == 70 and paused["counts"]["pending"] == 50
    monkeypatch.undo()
    monkeypatch.setattr("crm_core.dal.dynamo.Backoff.pause", lambda self, attempt: None)
    # the hourly resume, after the pause
    monkeypatch.setattr("crm_core.services.mailings.utcnow", lambda: utcnow() + timedelta(hours=7))
    assert mail_worker.handler({"source": "aws.events", "detail-type": "Scheduled Event"}, context) == {"resumed": 1}
    mailer()
    done = api("GET", f"/mailings/{started.body['id']}").body
    assert done["status"] == "completed" and done["counts"]["sent"] == 120
    assert len(outbox()) == 120 and len({m["To"] for m in outbox()}) == 120


def test_unsubscribe_link_and_one_click_opt_out_idempotently(api: Call, aws: Template, mailer: Drain,
                                                              outbox: Callable[[], list[Message]],
                                                              no_pauses: None) -> None:
    (customer_id,) = _seed(aws, 1, opted_out=0, suppressed=0)
    api("POST", "/mailings", body={"subject": "Hi", "body": "Hello", "ids": [customer_id]})
    mailer()
    header = outbox()[0]["List-Unsubscribe"]
    token = parse_qs(urlsplit(header.strip("<>")).query)["token"][0]
    # the link (a GET, as mail scanners and previews fetch it) only asks to confirm
    page = api("GET", "/public/unsubscribe", query={"token": token})
    assert page.status == 200 and page.headers["Content-Type"].startswith("text/html")
    assert '<form method="post"' in page.body
    assert api("GET", f"/customers/{customer_id}").body["email_preferences"]["marketing"] is True
    # the page's button, or a mail client's RFC 8058 one-click POST, unsubscribes — as often as it comes
    one_click = {"Content-Type": "application/x-www-form-urlencoded"}
    first = api("POST", "/public/unsubscribe", query={"token": token}, body="List-Unsubscribe=One-Click",
                headers=one_click)
    again = api("POST", "/public/unsubscribe", query={"token": token})
    assert first.status == again.status == 200 and first.body == again.body and "unsubscribed" in first.body
    # the public function writes no customer's records: the mailer applies the opt-out it queued, once
    mailer()
    assert api("GET", f"/customers/{customer_id}").body["email_preferences"]["marketing"] is False
    history = api("GET", f"/customers/{customer_id}/history").body["items"]
    assert [h["by"] for h in history].count("the customer (unsubscribe link)") == 1
    assert api("POST", "/public/unsubscribe", query={"token": token[:-2] + "xx"}).status == 400


def test_a_bounce_suppresses_the_address_and_later_mail_skips_it(api: Call, aws: Template, mailer: Drain,
                                                                 context: Any, no_pauses: None) -> None:
    import bounce_handler

    (customer_id,) = _seed(aws, 1, opted_out=0, suppressed=0)
    note = {"notificationType": "Bounce", "bounce": {"bounceType": "Permanent",
                                                     "bouncedRecipients": [{"emailAddress": "Person0@example.org"}]}}
    assert bounce_handler.handler({"Records": [{"Sns": {"Message": json.dumps(note)}}]}, context) == {"suppressed": 1}
    started = api("POST", "/mailings", body={"subject": "Hi", "body": "Hello", "ids": [customer_id]})
    mailer()
    done = api("GET", f"/mailings/{started.body['id']}").body
    assert done["recipients"][0]["reason"] == "the address is suppressed (bounced)"


def test_preview_mail_lists_and_bad_templates(api: Call, aws: Template) -> None:
    ids = _seed(aws, 3, opted_out=0, suppressed=0)
    preview = api("POST", "/mailings/preview", body={"subject": 'Hi "First Name"', "body": "Dear {{ first_name }}",
                                                     "customer_id": ids[0]})
    assert preview.status == 200 and preview.body["subject"] == "Hi First0"
    bad = api("POST", "/mailings", body={"subject": "Hi", "body": "{{ password }}", "ids": ids})
    assert bad.status == 422 and bad.body["error"]["fields"][0]["field"] == "body"
    saved = api("POST", "/mail-lists", body={"name": "Patrons", "ids": ids[:2]})
    assert saved.status == 201 and saved.body["version"] == 1
    list_id = saved.body["id"]
    updated = api("PUT", f"/mail-lists/{list_id}", body={"name": "Patrons", "ids": ids, "version": 1})
    assert updated.status == 200 and len(updated.body["ids"]) == 3
    assert api("PUT", f"/mail-lists/{list_id}", body={"name": "x", "ids": ids, "version": 1}).status == 409
    assert [(m["name"], m["size"]) for m in api("GET", "/mail-lists").body] == [("Patrons", 3)]
    mailing = api("POST", "/mailings", body={"subject": "Hi", "body": "Hello", "list_id": list_id})
    assert mailing.status == 202
    assert api("DELETE", f"/mail-lists/{list_id}").status == 204
    assert api("GET", f"/mail-lists/{list_id}").status == 404
