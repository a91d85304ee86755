"""Money on the record through the staff API, and the nightly balance refresh through its schedule (moto)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest

from crm_core.clock import utcnow
from crm_local.template import Template
from integration.conftest import Call

TODAY = utcnow().date()


def _days(n: int) -> str:
    return (TODAY + timedelta(days=n)).isoformat()


def invoice(api: Call, customer: dict[str, Any], amount: str, due_in: int, **extra: Any) -> dict[str, Any]:
    answer = api("POST", f"/customers/{customer['id']}/invoices",
                 body={"issued_on": _days(due_in - 30), "due_on": _days(due_in), "amount": amount, **extra})
    assert answer.status == 201, answer.body
    return dict(answer.body)


@pytest.fixture
def nightly(aws: Template, context: Any) -> Any:
    import balance_refresh

    def run(day: date = TODAY, event_id: str = "e1") -> dict[str, Any]:
        event = {"id": event_id, "detail-type": "Scheduled Event", "source": "aws.events",
                 "time": f"{day.isoformat()}T02:00:00Z", "detail": {}}
        return dict(balance_refresh.handler(event, context))

    return run


def test_a_payment_pays_the_oldest_invoice_first_and_the_rest_is_a_credit(api: Call, ada: dict[str, Any]) -> None:
    older = invoice(api, ada, "100.00", due_in=5, order_ref="ORD-1")
    newer = invoice(api, ada, "50.50", due_in=20)
    assert older["status"] == "pending" and older["number"].startswith("INV-") and older["amount"] == "100.00"
    paid = api("POST", f"/customers/{ada['id']}/payments", body={"amount": "160.00", "received_on": _days(0),
                                                                  "method": "card"})
    assert paid.status == 201
    assert [(a["invoice_number"], a["amount"]) for a in paid.body["allocations"]] == [
        (older["number"], "100.00"), (newer["number"], "50.50")]
    assert paid.body["unallocated"] == "9.50"
    invoices = api("GET", f"/customers/{ada['id']}/invoices").body["items"]
    assert {(i["number"], i["status"], i["paid"]) for i in invoices} == {
        (older["number"], "paid", "100.00"), (newer["number"], "paid", "50.50")}
    balance = api("POST", f"/customers/{ada['id']}/balance/refresh").body
    assert (balance["outstanding"], balance["credit"], balance["balance"]) == ("0.00", "9.50", "-9.50")


def test_the_balance_says_when_it_was_refreshed_and_ages_what_is_owed(api: Call, ada: dict[str, Any]) -> None:
    invoice(api, ada, "10.00", due_in=3)
    invoice(api, ada, "20.00", due_in=-10)
    invoice(api, ada, "40.00", due_in=-45)
    invoice(api, ada, "80.00", due_in=-100)
    before = api("GET", f"/customers/{ada['id']}/balance").body
    assert before["refreshed_at"] is None and before["changed_since_refresh"] is True
    after = api("POST", f"/customers/{ada['id']}/balance/refresh").body
    assert after["refreshed_at"] and after["changed_since_refresh"] is False
    assert after["aging"] == {"current": "10.00", "overdue_1_30": "20.00", "overdue_31_60": "40.00",
                              "overdue_61_90": "0.00", "overdue_90_plus": "80.00"}
    assert (after["outstanding"], after["overdue_invoices"], after["open_invoices"]) == ("150.00", 3, 4)
    statuses = sorted(i["status"] for i in api("GET", f"/customers/{ada['id']}/invoices").body["items"])
    assert statuses == ["overdue", "overdue", "overdue", "pending"]


def test_bad_money_is_refused_naming_the_field(api: Call, ada: dict[str, Any]) -> None:
    url = f"/customers/{ada['id']}"
    assert api("POST", f"{url}/invoices", body={"issued_on": _days(0), "due_on": _days(-1), "amount": "1"}).status \
        == 422
    bad = api("POST", f"{url}/invoices", body={"issued_on": _days(0), "due_on": _days(1), "amount": "1.001"})
    assert bad.status == 422 and "amount" in str(bad.body)
    invoice(api, ada, "10.00", due_in=3, number="A-1")
    taken = api("POST", f"{url}/invoices", body={"issued_on": _days(0), "due_on": _days(1), "amount": "5",
                                                   "number": "A-1"})
    assert taken.status == 409 and taken.body["error"]["fields"][0]["field"] == "number"
    euros = api("POST", f"{url}/payments", body={"amount": "5", "received_on": _days(0), "currency": "EUR"})
    assert euros.status == 422 and euros.body["error"]["fields"][0]["field"] == "currency"
    too_much = api("POST", f"{url}/credits", body={"amount": "50", "issued_on": _days(0), "reason": "goodwill",
                                                    "allocations": [{"invoice_id": ada["id"], "amount": "5"}]})
    assert too_much.status == 422 and too_much.body["error"]["fields"][0]["field"] == "allocations.0.invoice_id"


def test_a_customer_with_money_cannot_be_deleted(api: Call, ada: dict[str, Any]) -> None:
    api("POST", f"/customers/{ada['id']}/purchases", body={"purchased_on": _days(0), "items": [
        {"description": "Season ticket", "quantity": "2", "unit_price": "45.00"}]})
    refused = api("DELETE", f"/customers/{ada['id']}")
    assert refused.status == 409 and refused.body["error"]["code"] == "has_transactions"
    purchases = api("GET", f"/customers/{ada['id']}/purchases").body["items"]
    assert purchases[0]["total"] == "90.00"


def test_the_nightly_run_marks_yesterdays_invoice_overdue_and_ages_it(api: Call, ada: dict[str, Any],
                                                                      nightly: Any) -> None:
    # Given an invoice that fell due yesterday, and a customer whose money has not changed in a long time
    invoice(api, ada, "75.00", due_in=-1)
    # When the nightly schedule fires
    figures = nightly()
    # Then the invoice is overdue and aged, and the balance says when it was refreshed
    assert figures["ran"] is True and figures["customers_refreshed"] == 1 and figures["invoices_marked_overdue"] == 1
    balance = api("GET", f"/customers/{ada['id']}/balance").body
    assert balance["aging"]["overdue_1_30"] == "75.00" and balance["changed_since_refresh"] is False
    assert api("GET", f"/customers/{ada['id']}/invoices").body["items"][0]["status"] == "overdue"


def test_the_same_schedule_twice_runs_once_and_only_due_customers_are_read(api: Call, nightly: Any) -> None:
    customers = [api("POST", "/customers", body={"type": "individual", "first_name": f"F{n}",
                                                  "last_name": f"L{n}"}).body for n in range(3)]
    invoice(api, customers[0], "10.00", due_in=10)   # changed today → refreshed tonight
    invoice(api, customers[1], "10.00", due_in=40)
    assert nightly()["customers_refreshed"] == 2
    assert nightly()["ran"] is False  # the same day's event again
    # The next nights: nothing changed and no invoice crossed an edge → nobody is read
    assert nightly(TODAY + timedelta(days=1), "e2")["customers_refreshed"] == 0
    # The day after the first invoice falls due, only that customer is refreshed
    assert nightly(TODAY + timedelta(days=11), "e3")["customers_refreshed"] == 1
    overdue = api("GET", f"/customers/{customers[0]['id']}/balance").body
    assert overdue["aging"]["overdue_1_30"] == "10.00"


def test_a_customer_that_failed_is_refreshed_by_the_next_run(api: Call, ada: dict[str, Any], nightly: Any,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    from crm_core.errors import RetryLater
    from crm_core.services.money import MoneyService

    other = api("POST", "/customers", body={"type": "individual", "first_name": "Bo", "last_name": "Jo"}).body
    invoice(api, ada, "10.00", due_in=-1)
    invoice(api, other, "10.00", due_in=-1)
    real = MoneyService.refresh
    calls = {"n": 0}

    def dies_on_the_second(self: MoneyService, customer_id: str, today: date | None = None) -> Any:
        calls["n"] += 1
        if calls["n"] == 2:
            raise RetryLater("the database is busy; retry shortly")
        return real(self, customer_id, today)

    monkeypatch.setattr(MoneyService, "refresh", dies_on_the_second)
    # one customer failing does not stop the others
    first = nightly()
    assert (first["customers_refreshed"], first["customers_failed"]) == (1, 1)
    monkeypatch.setattr(MoneyService, "refresh", real)
    # the next night's run reads again from the day a customer failed on, and finds the one left
    assert nightly(TODAY + timedelta(days=1), "e2")["customers_refreshed"] == 1
    for customer in (ada, other):
        assert api("GET", f"/customers/{customer['id']}/balance").body["overdue_invoices"] == 1


def test_costs_jobs_and_deliveries_are_kept_with_the_customer(api: Call, ada: dict[str, Any]) -> None:
    url = f"/customers/{ada['id']}"
    cost = api("POST", f"{url}/costs", body={"description": "Courier", "amount": "12.50", "incurred_on": _days(0),
                                             "category": "delivery fee"})
    assert cost.status == 201 and cost.body["amount"] == "12.50"
    job = api("POST", f"{url}/jobs", body={"title": "Install stage lighting", "starts_on": _days(1),
                                           "due_on": _days(5), "assigned_to": "local-clerk"})
    assert job.status == 201 and job.body["status"] == "planned"
    # a job is assigned to a staff user of the directory, never to a name nobody has
    for refused in (api("POST", f"{url}/jobs", body={"title": "Ghost work", "starts_on": _days(1),
                                                     "due_on": _days(5), "assigned_to": "ghost-user"}),
                    api("PATCH", f"{url}/jobs/{job.body['id']}", body={"version": 1, "assigned_to": "ghost-user"})):
        assert (refused.status, refused.body["error"]["fields"][0]["field"]) == (422, "assigned_to")
    moved = api("PATCH", f"{url}/jobs/{job.body['id']}", body={"version": 1, "status": "in_progress"})
    assert moved.status == 200 and moved.body["version"] == 2
    assert api("POST", f"{url}/jobs", body={"title": "x", "starts_on": _days(5), "due_on": _days(1)}).status == 422
    delivery = api("POST", f"{url}/deliveries", body={"description": "2 boxes of programmes", "carrier": "DPD",
                                                      "tracking_ref": "15501234", "scheduled_on": _days(2)})
    confirmed = api("PATCH", f"{url}/deliveries/{delivery.body['id']}", body={
        "version": 1, "delivered_on": _days(2), "confirmed": True})
    assert confirmed.body["confirmed"] is True
    assert [len(api("GET", f"{url}/{kind}").body) for kind in ("costs", "jobs", "deliveries")] == [1, 1, 1]
    assert api("DELETE", f"{url}/costs/{cost.body['id']}").status == 204
    history = [e["action"] for e in api("GET", f"{url}/history").body["items"]]
    assert {"cost_added", "cost_removed", "job_changed", "delivery_changed"} <= set(history)


def test_a_merge_brings_the_sources_money_to_the_target(api: Call, ada: dict[str, Any]) -> None:
    twin = api("POST", "/customers", body={"type": "individual", "first_name": "Ada", "last_name": "Twin"}).body
    invoice(api, ada, "10.00", due_in=5)
    invoice(api, twin, "32.00", due_in=5)
    api("POST", f"/customers/{twin['id']}/payments", body={"amount": "40.00", "received_on": _days(0)})
    merged = api("POST", f"/customers/{ada['id']}/merge", body={"source_id": twin["id"]})
    assert merged.status == 200 and merged.body["moved"]["invoices"] == 1
    balance = api("POST", f"/customers/{ada['id']}/balance/refresh").body
    assert (balance["outstanding"], balance["credit"], balance["balance"]) == ("10.00", "8.00", "2.00")
    assert len(api("GET", f"/customers/{ada['id']}/invoices").body["items"]) == 2


def test_open_invoices_per_customer_are_capped_with_a_clear_answer(api: Call, ada: dict[str, Any],
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("crm_core.services.money.MAX_OPEN_INVOICES", 2)
    invoice(api, ada, "1.00", due_in=5)
    invoice(api, ada, "2.00", due_in=5)
    refused = api("POST", f"/customers/{ada['id']}/invoices",
                  body={"issued_on": _days(0), "due_on": _days(5), "amount": "3.00"})
    assert refused.status == 409 and "2 open invoices" in refused.body["error"]["message"]
    # paying one makes room
    api("POST", f"/customers/{ada['id']}/payments", body={"amount": "1.00", "received_on": _days(0)})
    invoice(api, ada, "3.00", due_in=5)
