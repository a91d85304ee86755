"""End to end on the local stack: a password reset by email (read with `crm outbox`), sign-in, and a mass
email with its unsubscribe link — over real HTTP, the mail queue delivered to the mailer by the stack."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from crm_local.cli import LocalStack
from e2e.conftest import Http

pytestmark = pytest.mark.e2e


def _outbox(stack: LocalStack, to: str, count: int = 1, timeout: float = 30) -> list[dict[str, Any]]:
    """`crm outbox --json` until ``count`` emails to ``to`` are there."""
    crm = Path(sys.executable).with_name("crm")
    deadline = time.monotonic() + timeout
    while True:
        done = subprocess.run([str(crm), "outbox", "--json", "--last", "0", "--api", stack.api.url],
                              capture_output=True, text=True, timeout=30, env=dict(os.environ), check=False)
        assert done.returncode == 0, done.stderr
        found = [m for m in json.loads(done.stdout) if m["to"] == to]
        if len(found) >= count or time.monotonic() > deadline:
            return found
        time.sleep(0.3)


def test_a_reset_email_link_sets_a_new_password_once_and_sign_in_follows(http: Http, stack: LocalStack) -> None:
    # Given a customer with a web login and an email
    who = http("POST", "/customers", {"type": "individual", "first_name": "Reset", "last_name": "Me",
                                      "email": "reset.me@example.org", "confirm_duplicate": True}).body
    assert http("PUT", f"/customers/{who['id']}/login", {"username": "reset.me",
                                                         "password": "first long passphrase"}).status == 200
    # When a reset is asked for a known and an unknown email
    known = http("POST", "/public/password-reset", {"email": "reset.me@example.org"})
    unknown = http("POST", "/public/password-reset", {"email": "nobody.at.all@example.org"})
    # Then the answers are the same
    assert (known.status, known.body) == (unknown.status, unknown.body) == (202, known.body)
    # And the known one's email is in the outbox, with a link to the reset page
    (mail,) = _outbox(stack, "reset.me@example.org")
    assert mail["subject"] == "Reset your password" and "List-Unsubscribe" not in mail["headers"]
    link = next(word for word in mail["text"].split() if "/reset-password?token=" in word)
    with urllib.request.urlopen(link, timeout=10) as page:
        assert page.status == 200 and b"new password" in page.read()
    token = parse_qs(urlsplit(link).query)["token"][0]
    # And the link sets a new password, once
    assert http("POST", "/public/password-reset/confirm", {"token": token,
                                                           "new_password": "second long passphrase"}).status == 200
    assert http("POST", "/public/password-reset/confirm", {"token": token,
                                                           "new_password": "third long passphrase"}).status == 400
    # And sign-in works with it, and not for a deactivated customer
    assert http("POST", "/public/login", {"username": "reset.me", "password": "second long passphrase"}).status == 200
    http("POST", f"/customers/{who['id']}/status", {"action": "deactivate"})
    assert http("POST", "/public/login", {"username": "reset.me", "password": "second long passphrase"}).status == 403


def test_a_mass_email_skips_the_opted_out_and_carries_a_working_unsubscribe(http: Http, stack: LocalStack) -> None:
    people = [http("POST", "/customers", {"type": "individual", "first_name": f"Fan{n}", "last_name": "Club",
                                          "email": f"fan{n}@example.org", "confirm_duplicate": True,
                                          "email_preferences": {"marketing": n != 0}}).body for n in range(3)]
    started = http("POST", "/mailings", {"subject": 'Hello "First Name"', "body": 'Dear "First Name",\n\nSee you!',
                                         "ids": [p["id"] for p in people]})
    assert started.status == 202
    (mail,) = _outbox(stack, "fan1@example.org")
    assert mail["subject"] == "Hello Fan1" and "Dear Fan1," in mail["text"]
    assert mail["headers"]["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    deadline = time.monotonic() + 20
    while (done := http("GET", f"/mailings/{started.body['id']}").body)["status"] != "completed":
        assert time.monotonic() < deadline, done
        time.sleep(0.3)
    assert (done["counts"]["sent"], done["counts"]["skipped"]) == (2, 1)
    # One click on the unsubscribe header's URL opts Fan1 out
    url = mail["headers"]["List-Unsubscribe"].strip("<>")
    request = urllib.request.Request(url, data=b"List-Unsubscribe=One-Click", method="POST")
    with urllib.request.urlopen(request, timeout=10) as answer:
        assert answer.status == 200
    # (the public function queues the opt-out; the mailer writes it moments later)
    deadline = time.monotonic() + 20
    while http("GET", f"/customers/{people[1]['id']}").body["email_preferences"]["marketing"] is not False:
        assert time.monotonic() < deadline, "the opt-out was not applied"
        time.sleep(0.3)
