"""The search index: every change to a customer leaves exactly the search items its terms make; keyword pages
run newest first and see each match once, whichever partition they walk and however short the read allowance;
the registered list by status merges both types newest first."""

from __future__ import annotations

from typing import Any

import boto3
import pytest

import crm_core.dal.customers as customers_dal
import crm_core.services.customers as customers_module
from crm_core.aws import client
from crm_core.dal.dynamo import ReadMeter, from_item
from crm_core.dal.search import customer_terms, is_search_item, search_items
from crm_core.models.customer import Customer
from crm_core.text import query_words
from crm_local.cli import main
from crm_local.template import Template
from integration.conftest import Call
from integration.test_customers_search import always_pairs

LONG_NAME = "Northumberland Heritage Conservation Partnership Community Volunteering Association Limited"
LONG_EMAIL = "membership.enquiries@northumberlandheritageconservation.example"


def _search_items_of(template: Template, customer_id: str) -> dict[tuple[str, str], dict[str, Any]]:
    """The search items of one customer in the table, by key (the whole table scanned: it is small here)."""
    ddb = boto3.client("dynamodb")
    found: dict[tuple[str, str], dict[str, Any]] = {}
    request: dict[str, Any] = {"TableName": template.physical_name("CustomersTable")}
    while True:
        answer = ddb.scan(**request)
        for item in answer["Items"]:
            if is_search_item(item["PK"]["S"]) and item["SK"]["S"] == customer_id:
                found[(item["PK"]["S"], item["SK"]["S"])] = from_item(item)
        if "LastEvaluatedKey" not in answer:
            return found
        request["ExclusiveStartKey"] = answer["LastEvaluatedKey"]


def _expected(api: Call, customer_id: str) -> dict[tuple[str, str], dict[str, Any]]:
    profile = Customer.model_validate(api("GET", f"/customers/{customer_id}").body)
    return search_items(customer_id, customer_terms(profile))


def _all_pages(api: Call, **query: Any) -> list[list[str]]:
    pages, cursor = [], None
    for _ in range(100):
        answer = api("GET", "/customers", query={**query, **({"cursor": cursor} if cursor else {})})
        assert answer.status == 200, answer.body
        pages.append([c["id"] for c in answer.body["items"]])
        cursor = answer.body["next_cursor"]
        if not cursor:
            return pages
    raise AssertionError("paging did not end")


def _flat(pages: list[list[str]]) -> list[str]:
    return [i for page in pages for i in page]


def _created(api: Call, body: dict[str, Any]) -> dict[str, Any]:
    answer = api("POST", "/customers", body={**body, "confirm_duplicate": True})
    assert answer.status == 201, answer.body
    return dict(answer.body)


def test_each_change_keeps_exactly_the_search_items_the_terms_make(api: Call, aws: Template,
                                                                   ada: dict[str, Any]) -> None:
    # Given Ada as created: her search items are those of her terms
    assert _search_items_of(aws, ada["id"]) == _expected(api, ada["id"])
    assert ("S#lovelace", ada["id"]) in _search_items_of(aws, ada["id"])
    # When her name, email and postcode change
    edited = api("PATCH", f"/customers/{ada['id']}", body={
        "version": 1, "last_name": "King", "email": "ada.king@ockham.example", "address": {"postcode": "SW1A 2AA"}})
    assert edited.status == 200, edited.body
    # Then the items are those of the new terms: the old words' items are gone, the shared ones kept
    items = _search_items_of(aws, ada["id"])
    assert items == _expected(api, ada["id"])
    assert ("S#lovelace", ada["id"]) not in items and ("S#ockham", ada["id"]) in items
    assert ("P#ad#ki", ada["id"]) in items and ("P#ad#lo", ada["id"]) not in items
    assert [c["id"] for c in api("GET", "/customers", query={"q": "ada king"}).body["items"]] == [ada["id"]]
    assert api("GET", "/customers", query={"q": "lovelace"}).body["items"] == []
    # When her status changes, nothing of the index changes
    assert api("POST", f"/customers/{ada['id']}/status", body={"action": "deactivate"}).status == 200
    assert _search_items_of(aws, ada["id"]) == items
    # When she is deleted, none is left
    assert api("DELETE", f"/customers/{ada['id']}").status == 204
    assert _search_items_of(aws, ada["id"]) == {}


def test_a_merged_source_leaves_no_search_item(api: Call, aws: Template, ada: dict[str, Any]) -> None:
    other = _created(api, {"type": "individual", "first_name": "Augusta", "last_name": "Byron"})
    assert api("POST", f"/customers/{ada['id']}/merge", body={"source_id": other["id"]}).status == 200
    assert _search_items_of(aws, other["id"]) == {}
    assert _search_items_of(aws, ada["id"]) == _expected(api, ada["id"])
    assert api("GET", "/customers", query={"q": "augusta"}).body["items"] == []
    # And the index rebuild gives it none back
    assert main(["reindex", "--aws", "--table", aws.physical_name("CustomersTable")]) == 0
    assert _search_items_of(aws, other["id"]) == {}
    assert _search_items_of(aws, ada["id"]) == _expected(api, ada["id"])


def test_as_you_type_every_prefix_of_every_field_finds_the_customer(api: Call, ada: dict[str, Any]) -> None:
    typed = ["lovelace", "ada.lovelace@example.org", "alovelace", "02079460000", "+44 20 7946 0000", "N1 9GU",
             "n19gu", ada["customer_number"]]
    for text in typed:
        for end in range(2, len(text) + 1):
            if not query_words(text[:end]):
                continue  # nothing of two characters yet ("+4")
            found = api("GET", "/customers", query={"q": text[:end]})
            assert found.status == 200, (text[:end], found.body)
            assert ada["id"] in [c["id"] for c in found.body["items"]], text[:end]


def test_two_long_words_read_their_combination_and_a_spaced_postcode_reads_its_own(api: Call) -> None:
    # Given many Jameses and many Smiths, two James Smiths, a Jameson Smithers (both words start his), and a
    # customer whose postcode was stored without its space
    for n in range(8):
        _created(api, {"type": "individual", "first_name": "James", "last_name": f"Other{n}",
                       "address": {"postcode": f"N1{n} 9GU"}})
        _created(api, {"type": "individual", "first_name": f"Other{n}", "last_name": "Smith"})
    both = [_created(api, {"type": "individual", "first_name": first, "last_name": last})["id"]
            for first, last in (("James", "Smith"), ("Jameson", "Smithers"), ("James", "Smith"))]
    compact = _created(api, {"type": "individual", "first_name": "Pat", "last_name": "Post",
                             "address": {"postcode": "N19GU"}})["id"]
    meter = ReadMeter.attach(client("dynamodb"))
    # When staff search both words
    found = [c["id"] for c in api("GET", "/customers", query={"q": "James Smith"}).body["items"]]
    # Then they get the three, newest first, having read about their items and profiles only
    assert found == sorted(both, reverse=True)
    assert meter.items_read <= 2 * len(both) + 2, meter.items_read
    # And a postcode typed with its space finds that postcode's customers only, stored with or without it
    meter.reset()
    assert [c["id"] for c in api("GET", "/customers", query={"q": "N1 9GU"}).body["items"]] == [compact]
    assert meter.items_read <= 2, meter.items_read


@pytest.mark.parametrize("walk", ["rarest word", "pair"])
def test_keyword_pages_run_newest_first_and_show_each_match_once(api: Call, monkeypatch: pytest.MonkeyPatch,
                                                                  walk: str) -> None:
    # Given seven Quills (three of them Annas), Quillon Press (anna in its email only) and another Anna
    if walk == "pair":
        always_pairs(monkeypatch)
    quills = [_created(api, {"type": "individual", "first_name": first, "last_name": "Quill"})["id"]
              for first in ("Anna", "Ben", "Anna", "Cara", "Anna", "Dan", "Eve")]
    _created(api, {"type": "individual", "first_name": "Anna", "last_name": "Brook"})
    press = _created(api, {"type": "organization", "organization_name": "Quillon Press",
                           "email": "anna@quillon.example"})
    # When the matches are paged two at a time
    one_word = _all_pages(api, q="quill", fields="name", limit=2)
    two_words = _all_pages(api, q="Anna Quill", fields="name", limit=2)
    # Then each page is full until the last, the pages run newest first, and each match shows once
    assert [len(p) for p in one_word] == [2, 2, 2, 2]
    assert _flat(one_word) == sorted([*quills, press["id"]], reverse=True)
    assert _flat(two_words) == sorted((quills[0], quills[2], quills[4]), reverse=True)
    assert [len(p) for p in two_words] == [2, 1]


def test_a_page_that_reaches_its_read_allowance_answers_with_what_it_found_and_goes_on(
        api: Call, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given nine Quills, two of them inactive, and a read allowance of one page's worth of items
    quills = [_created(api, {"type": "individual", "first_name": f"Q{n}", "last_name": "Quill"})["id"]
              for n in range(9)]
    for inactive in (quills[1], quills[6]):
        assert api("POST", f"/customers/{inactive}/status", body={"action": "deactivate"}).status == 200
    monkeypatch.setattr(customers_module, "READ_PAGES_AT_MOST", 1)
    # When the inactive Quills are paged two at a time
    pages = _all_pages(api, q="quill", status="inactive", limit=2)
    # Then some pages are short (the allowance ran out first), yet together they hold each one once, newest first
    assert _flat(pages) == [quills[6], quills[1]]
    assert len(pages) > 1


def test_registered_list_by_status_merges_both_types_newest_first(api: Call) -> None:
    # Given inactive individuals and organisations registered in turn, and active ones between them
    made = []
    for n in range(6):
        body = ({"type": "individual", "first_name": "In", "last_name": f"Active{n}"} if n % 2 else
                {"type": "organization", "organization_name": f"Inactive Org {n}"})
        customer = _created(api, body)
        _created(api, {"type": "individual", "first_name": "Still", "last_name": f"Here{n}"})
        assert api("POST", f"/customers/{customer['id']}/status", body={"action": "deactivate"}).status == 200
        made.append(customer["id"])
    # When the inactive customers of the last 30 days are paged two at a time
    pages = _all_pages(api, status="inactive", limit=2)
    # Then both types come, newest first, each once, in full pages
    assert pages == [sorted(made, reverse=True)[n:n + 2] for n in (0, 2, 4)]
    assert _flat(_all_pages(api, status="inactive", type="organization", limit=2)) == sorted(made[::2], reverse=True)


def test_a_customer_with_more_search_items_than_one_transaction_holds(api: Call, aws: Template) -> None:
    # Given an organisation whose long name and email make more search items than a transaction's 100 actions
    big = _created(api, {"type": "organization", "organization_name": LONG_NAME, "email": LONG_EMAIL,
                         "phone": "+44 1670 533 000", "address": {"postcode": "NE61 2EF"}})
    items = _search_items_of(aws, big["id"])
    assert len(items) > 100
    # Then they are all written, and it is found by any of its words
    assert items == _expected(api, big["id"])
    assert [c["id"] for c in api("GET", "/customers", query={"q": "volunteering partnership"}).body["items"]] == \
        [big["id"]]
    # When its name and email change
    edited = api("PATCH", f"/customers/{big['id']}", body={
        "version": 1, "organization_name": "Tyneside Archaeology Excavation Fieldwork Society",
        "email": "dig@tynesidearchaeologyfieldwork.example"})
    assert edited.status == 200, edited.body
    # Then its items are exactly the new terms' again, and the old words find it no more
    assert _search_items_of(aws, big["id"]) == _expected(api, big["id"])
    assert api("GET", "/customers", query={"q": "volunteering"}).body["items"] == []


def test_a_refused_change_of_a_customer_with_many_search_items_leaves_none_over(
        api: Call, aws: Template, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given an organisation with more search items than a transaction holds, and a username someone else has
    big = _created(api, {"type": "organization", "organization_name": LONG_NAME, "email": LONG_EMAIL})
    _created(api, {"type": "individual", "first_name": "Taken", "last_name": "Name", "username": "takenname"})
    renamed = {"organization_name": "Tyneside Archaeology Excavation Fieldwork Society",
               "email": "dig@tynesidearchaeologyfieldwork.example"}
    # When it is renamed with the taken username (its transaction refuses the claim)
    taken = api("PATCH", f"/customers/{big['id']}", body={"version": 1, **renamed, "username": "takenname"})
    assert taken.status == 409, taken.body
    # Then its search items are exactly those its profile makes: none of the new name's is left over
    assert _search_items_of(aws, big["id"]) == _expected(api, big["id"])
    # When another change lands between the rename's read and its transaction (which then fails on the version)
    real, raced = customers_dal.transact, []

    def racing(ddb: Any, tagged: list[tuple[Any, dict[str, Any]]]) -> None:
        if not raced:
            raced.append(True)
            assert api("PATCH", f"/customers/{big['id']}", body={"version": 1, "phone": "0191 000 0000"}).status \
                == 200
        real(ddb, tagged)

    monkeypatch.setattr(customers_dal, "transact", racing)
    stale = api("PATCH", f"/customers/{big['id']}", body={"version": 1, **renamed})
    assert stale.status == 409, stale.body
    # Then its items are those of the profile as the other change left it: its phone's, not the new name's
    items = _search_items_of(aws, big["id"])
    assert items == _expected(api, big["id"])
    assert ("S#0191", big["id"]) in items
    assert not [pk for pk, _ in items if pk.startswith(("S#ty", "S#dig", "S#archa"))]
    assert api("GET", "/customers", query={"q": "tyneside"}).body["items"] == []
