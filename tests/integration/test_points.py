"""GET,POST /customers/{id}/points: a ledger with a derived balance that never goes negative."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.stub import Stubber

from crm_core.wiring import points_service
from integration.conftest import Call


@pytest.fixture
def member(api: Call) -> dict[str, Any]:
    customer = api("POST", "/customers", body={"type": "individual", "first_name": "Ada", "last_name": "L"}).body
    assert api("POST", f"/customers/{customer['id']}/status", body={"action": "enroll"}).status == 200
    return dict(customer)


def _adjust(api: Call, customer: dict[str, Any], amount: int, **more: Any) -> Any:
    return api("POST", f"/customers/{customer['id']}/points",
               body={"amount": amount, "type": "loyalty", "reason": "test", **more})


def test_balance_is_the_sum_of_the_ledger(api: Call, member: dict[str, Any]) -> None:
    # Given three adjustments
    assert _adjust(api, member, 100).body["balance_after"] == 100
    assert _adjust(api, member, -30, type="redemption", reason="Ticket upgrade").status == 201
    assert _adjust(api, member, 5).status == 201
    # When staff read the points
    statement = api("GET", f"/customers/{member['id']}/points").body
    # Then the balance is their sum and the ledger is newest first
    assert statement["balance"] == 75 == sum(e["amount"] for e in statement["entries"])
    assert [e["amount"] for e in statement["entries"]] == [5, -30, 100]
    assert statement["entries"][1]["reason"] == "Ticket upgrade"
    entry = api("GET", f"/customers/{member['id']}/history").body["items"][0]
    assert entry["action"] == "points_adjusted"
    assert entry["changes"][0] == {"field": "points.balance", "old": 70, "new": 75}


def test_a_negative_balance_is_refused(api: Call, member: dict[str, Any]) -> None:
    _adjust(api, member, 10)
    answer = _adjust(api, member, -11)
    assert answer.status == 422
    assert answer.body["error"]["fields"][0]["field"] == "amount"
    assert answer.body["error"]["balance"] == 10
    assert api("GET", f"/customers/{member['id']}/points").body["balance"] == 10


@pytest.mark.parametrize("body", [
    {"amount": 0, "type": "loyalty", "reason": "x"},
    {"amount": 5, "reason": "x"},
    {"amount": 5, "type": "loyalty"},
    {"amount": "lots", "type": "loyalty", "reason": "x"},
])
def test_amount_type_and_reason_are_required(api: Call, member: dict[str, Any], body: dict[str, Any]) -> None:
    answer = api("POST", f"/customers/{member['id']}/points", body=body)
    assert answer.status == 422
    assert answer.body["error"]["fields"]


@pytest.mark.parametrize("action", ["unenroll", "deactivate"])
def test_no_points_while_the_customer_may_not_accrue(api: Call, member: dict[str, Any], action: str) -> None:
    _adjust(api, member, 50)
    api("POST", f"/customers/{member['id']}/status", body={"action": action})
    answer = _adjust(api, member, 10)
    assert answer.status == 409 and answer.body["error"]["code"] == "may_not_accrue"
    # existing points are kept
    assert api("GET", f"/customers/{member['id']}/points").body["balance"] == 50


def test_an_adjustment_racing_another_reads_the_balance_again(api: Call, member: dict[str, Any]) -> None:
    # Given the balance moves between this adjustment's read and its write
    _adjust(api, member, 10)
    service = points_service()
    real_balance = service._points.balance
    reads = iter([(10, 1)])  # stale: another adjustment has since made it 15 at version 2
    _adjust(api, member, 5)
    service._points.balance = lambda customer_id: next(reads, None) or real_balance(customer_id)  # type: ignore
    # When it is written
    answer = _adjust(api, member, -5)
    # Then it was retried on the fresh balance (15, not 10) rather than overwriting it
    assert answer.status == 201 and answer.body["balance_after"] == 10
    assert api("GET", f"/customers/{member['id']}/points").body["balance"] == 10


def test_ledger_pages_with_a_cursor(api: Call, member: dict[str, Any]) -> None:
    for n in range(1, 4):
        _adjust(api, member, n)
    first = api("GET", f"/customers/{member['id']}/points", query={"limit": 2}).body
    second = api("GET", f"/customers/{member['id']}/points", query={"limit": 2, "cursor": first["next_cursor"]}).body
    assert [e["amount"] for e in first["entries"] + second["entries"]] == [3, 2, 1]
    assert second["next_cursor"] is None


def test_throttled_adjustment_is_503(api: Call, member: dict[str, Any]) -> None:
    service = points_service()
    with Stubber(service._points._ddb) as stub:
        stub.add_client_error("get_item", "ProvisionedThroughputExceededException", http_status_code=400)
        stub.add_client_error("get_item", "ProvisionedThroughputExceededException", http_status_code=400)
        answer = api("GET", f"/customers/{member['id']}/points")
    assert answer.status == 503


def test_a_preview_shows_the_balance_an_adjustment_would_leave_and_writes_nothing(api: Call,
                                                                                 member: dict[str, Any]) -> None:
    # Given a balance of 40
    _adjust(api, member, 40)
    path = f"/customers/{member['id']}/points/preview"
    # When staff preview removing 15
    preview = api("POST", path, body={"amount": -15, "type": "redemption", "reason": "Upgrade"})
    # Then they see the balance it would leave, and nothing was written
    assert preview.status == 200
    assert preview.body == {"balance": 40, "amount": -15, "balance_after": 25}
    assert api("GET", f"/customers/{member['id']}/points").body["balance"] == 40
    # And a preview is refused as the adjustment would be: below zero, missing fields, an inactive customer
    below = api("POST", path, body={"amount": -41, "type": "redemption", "reason": "Upgrade"})
    assert below.status == 422 and below.body["error"]["fields"][0]["field"] == "amount"
    assert api("POST", path, body={"amount": 5, "type": "loyalty"}).body["error"]["fields"][0]["field"] == "reason"
    api("POST", f"/customers/{member['id']}/status", body={"action": "deactivate"})
    assert api("POST", path, body={"amount": 5, "type": "loyalty", "reason": "r"}).body["error"]["code"] == \
        "may_not_accrue"
