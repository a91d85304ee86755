"""Fixed-window rate limits in the customers table (moto)."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from crm_core.aws import client
from crm_core.dal import ratelimit
from crm_core.dal.ratelimit import RateLimiter
from crm_core.errors import RetryLater
from crm_local.template import Template

EMAIL = "ada.lovelace@example.org"
WINDOW = 900
NOW = 1_750_000_000.0  # inside the window that starts at 1749999600


@pytest.fixture
def limiter(aws: Template) -> RateLimiter:
    return RateLimiter(client("dynamodb"), os.environ["TABLE_NAME"])


def _rate_items() -> list[dict[str, Any]]:
    items = boto3.client("dynamodb").scan(TableName=os.environ["TABLE_NAME"])["Items"]
    return [i for i in items if i["PK"]["S"].startswith("RATE#")]


def test_the_limit_lets_that_many_through_then_refuses(limiter: RateLimiter) -> None:
    # Given a limit of 3 logins per 15 minutes for an email
    # When 4 attempts arrive in the window
    answers = [limiter.hit("login", EMAIL, 3, WINDOW, now=NOW + n) for n in range(4)]
    # Then the first 3 pass and the 4th is refused, and so is the next
    assert answers == [True, True, True, False]
    assert limiter.hit("login", EMAIL, 3, WINDOW, now=NOW + 10) is False
    assert limiter.remaining("login", EMAIL, 3, WINDOW, now=NOW + 10) == 0


def test_a_new_window_starts_the_count_again(limiter: RateLimiter) -> None:
    # Given the limit used up
    for _ in range(3):
        limiter.hit("login", EMAIL, 3, WINDOW, now=NOW)
    assert limiter.hit("login", EMAIL, 3, WINDOW, now=NOW) is False
    # When the next window begins
    later = NOW + WINDOW
    # Then the subject has the whole limit again
    assert limiter.remaining("login", EMAIL, 3, WINDOW, now=later) == 3
    assert limiter.hit("login", EMAIL, 3, WINDOW, now=later) is True
    assert limiter.remaining("login", EMAIL, 3, WINDOW, now=later) == 2


def test_subjects_and_scopes_are_counted_apart(limiter: RateLimiter) -> None:
    # Given one email's login limit used up
    for _ in range(4):
        limiter.hit("login", EMAIL, 3, WINDOW, now=NOW)
    # Then another email, and the same email's resets, are untouched
    assert limiter.hit("login", "grace.hopper@example.org", 3, WINDOW, now=NOW) is True
    assert limiter.hit("reset", EMAIL, 3, WINDOW, now=NOW) is True
    # And the same email written differently is the same subject
    assert limiter.hit("login", " Ada.Lovelace@EXAMPLE.org", 3, WINDOW, now=NOW) is False


def test_the_stored_item_names_no_subject_and_expires(limiter: RateLimiter) -> None:
    # When an email is counted
    limiter.hit("login", EMAIL, 3, WINDOW, now=NOW)
    # Then one item holds the count, keyed by scope, a digest of the email and the window's start
    (item,) = _rate_items()
    assert EMAIL not in str(item) and "lovelace" not in str(item).lower()
    scope, digest = item["PK"]["S"].removeprefix("RATE#").split("#")
    assert scope == "login" and len(digest) == 32 and int(digest, 16) >= 0
    start = int(NOW // WINDOW) * WINDOW
    assert item["SK"]["S"] == str(start)
    assert item["n"]["N"] == "1"
    # And it expires (TTL) one window after its window ends
    assert int(item["expiration"]["N"]) == start + 2 * WINDOW


def test_without_a_time_given_it_uses_the_clock(limiter: RateLimiter, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given the clock at NOW
    monkeypatch.setattr(ratelimit, "utcnow", lambda: datetime.fromtimestamp(NOW, tz=UTC))
    # Then hits without a time are counted in NOW's window
    assert limiter.hit("login", EMAIL, 2, WINDOW) is True
    assert limiter.remaining("login", EMAIL, 2, WINDOW, now=NOW) == 1
    assert limiter.remaining("login", EMAIL, 2, WINDOW) == 1


def test_throttling_is_retry_later(limiter: RateLimiter, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given DynamoDB still throttling after the client's retries
    def throttled(**_: Any) -> dict[str, Any]:
        raise ClientError({"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow down"}},
                          "UpdateItem")

    monkeypatch.setattr(client("dynamodb"), "update_item", throttled)  # the client the limiter was given
    # Then the caller is told to retry later
    with pytest.raises(RetryLater):
        limiter.hit("login", EMAIL, 3, WINDOW, now=NOW)


@pytest.mark.parametrize("scope", ["", "log#in"])
def test_a_scope_that_would_blur_the_key_is_refused(limiter: RateLimiter, scope: str) -> None:
    with pytest.raises(ValueError, match="scope"):
        limiter.hit(scope, EMAIL, 3, WINDOW, now=NOW)
