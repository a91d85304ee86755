"""GET /customers: keyword search across fields, filters, the registration window and paging."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

import crm_core.services.customers as customers_module
from crm_core.aws import client
from crm_core.clock import utcnow
from crm_core.dal.dynamo import ReadMeter
from crm_core.dal.search import PostingPage
from crm_core.ids import new_id
from crm_core.services.customers import CustomerService
from integration.conftest import Call

PEOPLE = [
    {"type": "individual", "first_name": "Ada", "last_name": "Lovelace", "username": "alovelace",
     "email": "ada.lovelace@example.org", "phone": "+44 20 7946 0000", "address": {"postcode": "N1 9GU"},
     "assigned_staff": ["local-clerk"]},
    {"type": "individual", "first_name": "Adam", "last_name": "Smith", "email": "adam@kirkcaldy.example",
     "phone": "01592 000111", "address": {"postcode": "KY1 1AA"}},
    {"type": "organization", "organization_name": "Lovelace Engines Ltd", "email": "hello@engines.example",
     "address": {"postcode": "N1 9GU"}, "assigned_staff": ["local-clerk", "local-admin"]},
    {"type": "individual", "first_name": "Grace", "last_name": "Hopper", "organization_name": "Harbour Computing",
     "email": "grace@navy.example", "username": "ghopper"},
]


@pytest.fixture
def people(api: Call) -> dict[str, dict[str, Any]]:
    made = {}
    for person in PEOPLE:
        answer = api("POST", "/customers", body={**person, "confirm_duplicate": True})
        assert answer.status == 201, answer.body
        made[answer.body.get("last_name") or answer.body["organization_name"]] = answer.body
    return made


def always_pairs(monkeypatch: pytest.MonkeyPatch) -> None:
    """Search walks a pair partition whenever the keywords have one, as it does when the longest word is common."""
    chosen = CustomerService._plan

    def plan(words: list[str], fields: set[str] | None,
             probe: PostingPage) -> tuple[str, list[str], PostingPage | None]:
        common = chosen(words, fields, PostingPage(probe.ids, probe.scanned, last=probe.last or "~"))
        return common if common[2] is None else chosen(words, fields, probe)

    monkeypatch.setattr(CustomerService, "_plan", staticmethod(plan))


def _names(api: Call, **query: Any) -> list[str]:
    answer = api("GET", "/customers", query=query)
    assert answer.status == 200, answer.body
    return [c.get("last_name") or c["organization_name"] for c in answer.body["items"]]


def test_keyword_matches_the_start_of_any_word_of_any_field(api: Call, people: dict[str, Any]) -> None:
    assert sorted(_names(api, q="lovel")) == ["Lovelace", "Lovelace Engines Ltd"]
    assert _names(api, q="kirkcaldy") == ["Smith"]           # email domain
    assert _names(api, q="01592") == ["Smith"]               # phone as typed
    assert _names(api, q="020 7946") == ["Lovelace"]         # phone groups
    assert _names(api, q="ghop") == ["Hopper"]               # username
    assert _names(api, q="harbour") == ["Hopper"]            # organisation of an individual
    assert _names(api, q="KY1 1AA") == ["Smith"]             # postcode, spaced
    assert _names(api, q=people["Hopper"]["customer_number"]) == ["Hopper"]


@pytest.mark.parametrize("walk", ["rarest word", "pair"])
def test_every_keyword_must_match(api: Call, people: dict[str, Any], monkeypatch: pytest.MonkeyPatch,
                                  walk: str) -> None:
    # Given the longest keyword's partition is walked (it is rare here), or a pair partition wherever one exists
    if walk == "pair":
        always_pairs(monkeypatch)
    # Then the answers are the same
    assert _names(api, q="ada lovelace") == ["Lovelace"]
    assert sorted(_names(api, q="ada")) == ["Lovelace", "Smith"]  # ada, adam
    assert _names(api, q="ada hopper") == []
    assert _names(api, q="lovelace example", fields="email") == ["Lovelace"]
    assert _names(api, q="lovelace example", fields="name") == []
    assert _names(api, q="engines lovelace ltd", type="organization") == ["Lovelace Engines Ltd"]
    assert _names(api, q="lovelace n1", type="individual") == ["Lovelace"]


def test_fields_narrow_what_the_keyword_searches(api: Call, people: dict[str, Any]) -> None:
    assert sorted(_names(api, q="lovelace", fields="name")) == ["Lovelace", "Lovelace Engines Ltd"]
    assert _names(api, q="lovelace", fields="email") == ["Lovelace"]
    assert _names(api, q="lovelace", fields="organization") == ["Lovelace Engines Ltd"]
    assert _names(api, q="lovelace", fields="phone,postcode") == []


def test_unknown_field_is_refused_by_name(api: Call, people: dict[str, Any]) -> None:
    answer = api("GET", "/customers", query={"q": "ada", "fields": "name,shoe_size"})
    assert answer.status == 422
    assert answer.body["error"]["fields"][0]["field"].startswith("fields")


def test_filters_by_type_status_and_assigned_staff(api: Call, people: dict[str, Any]) -> None:
    assert _names(api, q="lovelace", type="organization") == ["Lovelace Engines Ltd"]
    assert _names(api, q="lovelace", status="enrolled") == []
    assert sorted(_names(api, assigned_to="local-clerk")) == ["Lovelace", "Lovelace Engines Ltd"]
    assert _names(api, assigned_to="local-admin", type="organization") == ["Lovelace Engines Ltd"]
    assert _names(api, q="ada", assigned_to="local-clerk") == ["Lovelace"]


def test_without_keywords_lists_the_last_30_days_newest_first(api: Call, people: dict[str, Any],
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a customer registered 45 days ago besides the four registered now
    old_ms = int((utcnow() - timedelta(days=45)).timestamp() * 1000)
    monkeypatch.setattr(customers_module, "new_id", lambda: new_id(now_ms=old_ms))
    assert api("POST", "/customers", body={"type": "individual", "first_name": "Old", "last_name": "Timer"}).status \
        == 201
    # When staff list customers without a keyword
    recent = _names(api)
    # Then they see the last 30 days, newest first; a wider window includes the older one
    assert recent == ["Hopper", "Lovelace Engines Ltd", "Smith", "Lovelace"]
    assert _names(api, registered_within_days=60)[-1] == "Timer"
    assert _names(api, registered_within_days=60, type="organization") == ["Lovelace Engines Ltd"]
    assert _names(api, q="timer") == ["Timer"]
    assert _names(api, q="timer", registered_within_days=30) == []


def test_paging_visits_each_match_once(api: Call, people: dict[str, Any]) -> None:
    seen: list[str] = []
    cursor = None
    for _ in range(10):
        query: dict[str, Any] = {"limit": 1, **({"cursor": cursor} if cursor else {})}
        page = api("GET", "/customers", query=query).body
        seen += [c["id"] for c in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert sorted(seen) == sorted(c["id"] for c in people.values())
    assert len(seen) == len(set(seen)) == 4


@pytest.mark.parametrize(("query", "status", "field"), [
    ({"limit": 101}, 422, "limit"),
    ({"limit": 0}, 422, "limit"),
    ({"cursor": "bm90LWEtY3Vyc29y"}, 400, "cursor"),
    ({"q": "a"}, 422, "q"),
    ({"registered_within_days": 400}, 422, "registered_within_days"),
    ({"type": "robot"}, 422, "type"),
])
def test_bad_search_parameters_are_named(api: Call, query: dict[str, Any], status: int, field: str) -> None:
    answer = api("GET", "/customers", query=query)
    assert answer.status == status, answer.body
    assert answer.body["error"]["fields"][0]["field"] == field


def test_cursor_of_another_query_is_refused(api: Call, people: dict[str, Any]) -> None:
    cursor = api("GET", "/customers", query={"q": "lovelace", "limit": 1}).body["next_cursor"]
    answer = api("GET", "/customers", query={"q": "ada", "limit": 1, "cursor": cursor})
    assert answer.status == 400
    assert answer.body["error"]["code"] == "invalid_cursor"


def test_registration_list_pages_across_months_with_filters(api: Call, people: dict[str, Any],
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    # Given customers registered now and 40 and 70 days ago (other months' buckets)
    for days, name in ((40, "Forty"), (70, "Seventy")):
        ms = int((utcnow() - timedelta(days=days)).timestamp() * 1000)
        monkeypatch.setattr(customers_module, "new_id", lambda ms=ms: new_id(now_ms=ms))
        assert api("POST", "/customers", body={"type": "individual", "first_name": "X", "last_name": name}).status \
            == 201
    # When staff page through 90 days of individuals two at a time
    seen: list[str] = []
    cursor = None
    while True:
        query: dict[str, Any] = {"registered_within_days": 90, "type": "individual", "limit": 2}
        page = api("GET", "/customers", query={**query, **({"cursor": cursor} if cursor else {})}).body
        seen += [c["last_name"] for c in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    # Then each individual appears once, newest first, the organisation never
    assert seen == ["Hopper", "Smith", "Lovelace", "Forty", "Seventy"]


def test_a_staff_users_list_by_status_reads_a_page_and_follows_status_changes(api: Call,
                                                                              people: dict[str, Any]) -> None:
    # Given twelve more customers assigned to the clerk, every third of them inactive
    made = []
    for n in range(12):
        answer = api("POST", "/customers", body={"type": "individual", "first_name": "Case", "last_name": f"Load{n}",
                                                 "assigned_staff": ["local-clerk"]})
        assert answer.status == 201, answer.body
        if n % 3 == 0:
            assert api("POST", f"/customers/{answer.body['id']}/status", body={"action": "deactivate"}).status == 200
        made.append(answer.body["id"])
    inactive = sorted(made[::3], reverse=True)
    meter = ReadMeter.attach(client("dynamodb"))
    # When the clerk's inactive customers are paged two at a time
    seen, cursor, reads = [], None, []
    while True:
        meter.reset()
        query: dict[str, Any] = {"assigned_to": "local-clerk", "status": "inactive", "limit": 2}
        page = api("GET", "/customers", query={**query, **({"cursor": cursor} if cursor else {})}).body
        reads.append(meter.items_read)
        seen += [c["id"] for c in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    # Then they come newest first, each once, and a page reads about a page, not the clerk's fourteen customers
    assert seen == inactive
    assert max(reads) <= 3 * 3, reads
    # And a customer made active again leaves that list and joins the active one
    assert api("POST", f"/customers/{inactive[0]}/status", body={"action": "reactivate"}).status == 200
    assert [c["id"] for c in api("GET", "/customers", query={"assigned_to": "local-clerk", "status": "inactive"})
            .body["items"]] == inactive[1:]
    active = api("GET", "/customers", query={"assigned_to": "local-clerk", "status": "active", "limit": 100})
    assert inactive[0] in [c["id"] for c in active.body["items"]]
