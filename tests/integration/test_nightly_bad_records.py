"""The nightly balance refresh over 1,000 customers when one record cannot be refreshed: the others complete,
the one is reported (figures, metric, the reason on its balance) and tried again the next night."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from crm_core.clock import utcnow
from crm_core.dal.customers import PROFILE, customer_pk
from crm_core.dal.dynamo import batch_write, to_item
from crm_core.dal.money import Summary, summary_item
from crm_core.ids import new_id
from crm_core.money import OpenInvoice
from crm_local.template import Template
from integration.conftest import Call

TODAY = utcnow().date()
CUSTOMERS = 1_000


def _seed(aws: Template, due_on: list[Any], remaining: str = "10.00") -> list[str]:
    """Customers with one open invoice each and money changed today (so the refresh reads them tonight);
    ``due_on[n]`` is customer n's due date (a date, or any text to store as it is)."""
    import boto3

    from crm_core.config import get_settings

    ids, items = [], []
    changed = datetime.now(UTC) - timedelta(minutes=5)
    for n, due in enumerate(due_on):
        customer_id = new_id()
        ids.append(customer_id)
        invoice = OpenInvoice(id=new_id(), number=f"INV-{n}", issued_on=TODAY - timedelta(days=40),
                              due_on=TODAY, remaining=Decimal(remaining), status="pending")
        item = summary_item(Summary(customer_id=customer_id, currency="GBP", version=1,
                                    open={invoice.id: invoice}, changed_at=changed, refresh_on=TODAY))
        item["open"][invoice.id]["due_on"] = due if isinstance(due, str) else due.isoformat()
        profile = {"PK": customer_pk(customer_id), "SK": PROFILE, "id": customer_id, "type": "individual",
                   "status": "active", "customer_number": str(100_000 + n), "first_name": "Night",
                   "last_name": f"Owl {n}", "version": 1, "created_at": changed.isoformat(),
                   "updated_at": changed.isoformat(), "created_by": "test", "updated_by": "test"}
        items += [profile, item]
    batch_write(boto3.client("dynamodb"), get_settings().table_name,
                [{"PutRequest": {"Item": to_item(i)}} for i in items])
    return ids


@pytest.fixture
def nightly(aws: Template, context: Any) -> Iterator[Any]:
    import balance_refresh

    def run(day: Any = TODAY, event_id: str = "night-1") -> dict[str, Any]:
        event = {"id": event_id, "detail-type": "Scheduled Event", "source": "aws.events",
                 "time": f"{day.isoformat()}T02:00:00Z", "detail": {}}
        return dict(balance_refresh.handler(event, context))

    # last night's run completed (so tonight reads today's partition, not 400 days of them)
    from crm_core.aws import client
    from crm_core.config import get_settings
    from crm_core.dal.runs import RunRepository
    from crm_core.services.money import NightlyRefresh

    RunRepository(client("dynamodb"), get_settings().table_name).complete(NightlyRefresh.JOB, TODAY - timedelta(days=1),
                                                                         {})
    yield run


def test_an_invoice_due_at_the_end_of_the_calendar_is_refreshed_like_any_other(
        api: Call, aws: Template, nightly: Any) -> None:
    # Given an invoice due on 9999-12-31 (whose aging edges fall past the calendar) beside ordinary ones
    far = _seed(aws, [TODAY.replace(year=9999, month=12, day=31), TODAY + timedelta(days=10)])
    # When the nightly run comes
    figures = nightly()
    # Then both are refreshed and the run is complete
    assert (figures["customers_refreshed"], figures["customers_failed"]) == (2, 0)
    assert api("GET", f"/customers/{far[0]}/balance").body["aging"]["current"] == "10.00"


def test_one_impossible_record_among_a_thousand_is_reported_and_the_rest_complete(
        api: Call, aws: Template, nightly: Any, capsys: pytest.CaptureFixture[str]) -> None:
    # Given 1,000 customers due tonight, one of whose stored invoices has a date no calendar has
    dates: list[Any] = [TODAY + timedelta(days=10)] * CUSTOMERS
    dates[417] = "2026-02-30"
    ids = _seed(aws, dates)
    # When the nightly run comes
    figures = nightly()
    # Then the 999 others are refreshed, the run completes, and the one is reported by id with its reason
    assert figures["ran"] is True
    assert (figures["customers_refreshed"], figures["customers_failed"]) == (CUSTOMERS - 1, 1)
    assert [f["customer_id"] for f in figures["failed"]] == [ids[417]]
    assert "day is out of range" in figures["failed"][0]["reason"]
    assert '"CustomersNotRefreshed":[1' in capsys.readouterr().out.replace(" ", "")  # the metric (EMF)
    assert api("GET", f"/customers/{ids[0]}/balance").body["refreshed_at"] is not None
    # And the next night starts from that day again, so the one is tried again (and the others are not re-read)
    again = nightly(TODAY + timedelta(days=1), "night-2")
    assert (again["customers_refreshed"], again["customers_failed"]) == (0, 1)


def test_the_reason_shows_on_the_balance_until_a_refresh_succeeds(api: Call, aws: Template, nightly: Any,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    from crm_core.services.money import MoneyService

    (customer_id,) = _seed(aws, [TODAY + timedelta(days=10)])
    real = MoneyService.refresh

    def broken(self: MoneyService, customer_id: str, today: Any = None) -> Any:
        raise KeyError("remaining")

    monkeypatch.setattr(MoneyService, "refresh", broken)
    assert nightly()["customers_failed"] == 1
    assert "KeyError" in api("GET", f"/customers/{customer_id}/balance").body["refresh_error"]
    monkeypatch.setattr(MoneyService, "refresh", real)
    assert nightly(TODAY + timedelta(days=1), "night-2")["customers_refreshed"] == 1
    assert api("GET", f"/customers/{customer_id}/balance").body["refresh_error"] is None
