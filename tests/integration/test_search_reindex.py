"""crm reindex: customers indexed the earlier way (TERM# items, no GSI3 keys) are found again, by keyword and
in the registered list by status, once the index is rebuilt; the rebuild is idempotent and never overwrites a
change made meanwhile."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import boto3

from crm_core.clock import utcnow
from crm_core.dal.customers import CustomerRepository
from crm_core.dal.search import customer_terms, is_search_item, search_items
from crm_core.ids import new_id
from crm_core.models.customer import Customer
from crm_local.cli import main
from crm_local.template import Template
from integration.conftest import Call


def _items(table: str) -> list[dict[str, Any]]:
    ddb = boto3.client("dynamodb")
    found, request = [], {"TableName": table}
    while True:
        answer = ddb.scan(**request)
        found += answer["Items"]
        if "LastEvaluatedKey" not in answer:
            return found
        request["ExclusiveStartKey"] = answer["LastEvaluatedKey"]


def _as_indexed_before(table: str, customer: Customer) -> None:
    """Leave the customer as the earlier design indexed it: TERM# items, no search items, no GSI3 keys."""
    ddb = boto3.client("dynamodb")
    for item in _items(table):
        if is_search_item(item["PK"]["S"]) and item["SK"]["S"] == customer.id:
            ddb.delete_item(TableName=table, Key={"PK": item["PK"], "SK": item["SK"]})
    ddb.update_item(TableName=table, Key={"PK": {"S": f"CUST#{customer.id}"}, "SK": {"S": "PROFILE"}},
                    UpdateExpression="REMOVE GSI3PK, GSI3SK")
    for term, field in customer_terms(customer):
        ddb.put_item(TableName=table, Item={"PK": {"S": f"TERM#{term[:2]}"},
                                            "SK": {"S": f"{term}#{field}#{customer.id}"},
                                            "customer_id": {"S": customer.id}})


def _ids(api: Call, **query: Any) -> list[str]:
    answer = api("GET", "/customers", query=query)
    assert answer.status == 200, answer.body
    return [c["id"] for c in answer.body["items"]]


def test_reindex_makes_customers_indexed_before_findable_and_removes_the_old_items(
        api: Call, aws: Template, ada: dict[str, Any], capsys: Any) -> None:
    # Given Ada (made inactive) and an organisation, indexed the earlier way
    table = aws.physical_name("CustomersTable")
    assert api("POST", f"/customers/{ada['id']}/status", body={"action": "deactivate"}).status == 200
    org = api("POST", "/customers", body={"type": "organization", "organization_name": "Analytical Engines"}).body
    for customer_id in (ada["id"], org["id"]):
        _as_indexed_before(table, Customer.model_validate(api("GET", f"/customers/{customer_id}").body))
    assert _ids(api, q="lovelace") == [] and _ids(api, status="inactive") == []
    # When the index is rebuilt, twice (as after an interrupted run)
    for _ in range(2):
        assert main(["reindex", "--aws", "--table", table]) == 0
    # Then both are found by keyword and in the list by status, as customers created now are
    assert _ids(api, q="ada lovelace") == [ada["id"]]
    assert _ids(api, q="analytical") == [org["id"]]
    assert _ids(api, status="inactive") == [ada["id"]]
    assert _ids(api, type="organization") == [org["id"]]
    # And no earlier item is left; the command says what it did
    assert not [i for i in _items(table) if i["PK"]["S"].startswith("TERM#")]
    assert "2 customers indexed, 0 changed meanwhile" in capsys.readouterr().out


def test_reindex_leaves_a_customer_changed_meanwhile_as_its_change_wrote_it(api: Call, aws: Template,
                                                                           ada: dict[str, Any]) -> None:
    # Given the rebuild read Ada, then she was deactivated and renamed
    table = aws.physical_name("CustomersTable")
    repo = CustomerRepository(boto3.client("dynamodb"), table)
    read = Customer.model_validate(api("GET", f"/customers/{ada['id']}").body)
    assert api("POST", f"/customers/{ada['id']}/status", body={"action": "deactivate"}).status == 200
    assert api("PATCH", f"/customers/{ada['id']}", body={"version": 2, "last_name": "King"}).status == 200
    # When it rebuilds what it read
    rebuilt = repo.reindex(read, customer_terms(read))
    # Then it says she moved on, writes nothing of what it read: she stays in the inactive list, not the active
    # one, and her old name has no search item
    assert rebuilt is False
    assert _ids(api, status="inactive") == [ada["id"]]
    assert _ids(api, status="active") == []
    assert _search_keys(table, ada["id"]) == set(search_items(ada["id"], customer_terms(_profile(api, ada["id"]))))


def test_reindex_removes_the_search_items_no_profile_makes(api: Call, aws: Template, ada: dict[str, Any],
                                                           capsys: Any) -> None:
    # Given search items of a word Ada no longer has, one of hers with the wrong terms, and items of customers
    # without a profile: one registered two days ago (deleted, or its creation failed), one being created now
    table = aws.physical_name("CustomersTable")
    ddb = boto3.client("dynamodb")
    gone, creating = new_id(now_ms=int((utcnow() - timedelta(days=2)).timestamp() * 1000)), new_id()
    leftovers = [("S#zebedee", ada["id"], " name:zebedee"), ("S#lovelace", ada["id"], " name:lovelacex"),
                 ("S#lovelace", gone, " name:lovelace"), ("P#ad#lo", gone, " name:ada name:lovelace"),
                 ("S#lovelace", creating, " name:lovelace")]
    for pk, sk, w in leftovers:
        ddb.put_item(TableName=table, Item={"PK": {"S": pk}, "SK": {"S": sk}, "w": {"S": w}})
    # When the index is rebuilt
    assert main(["reindex", "--aws", "--table", table]) == 0
    # Then Ada's items are exactly those her profile makes, the old customer's are gone, the new one's kept
    assert _search_keys(table, ada["id"]) == set(search_items(ada["id"], customer_terms(_profile(api, ada["id"]))))
    assert _search_keys(table, gone) == set()
    assert _search_keys(table, creating) == {("S#lovelace", creating)}
    assert _ids(api, q="zebedee") == []
    # (Ada's own wrong item is counted if the rebuild met it before putting her items again)
    said = re.search(r"([\d,]+) search items no customer makes removed or made right", capsys.readouterr().out)
    assert said and int(said.group(1)) in (3, 4)


def _profile(api: Call, customer_id: str) -> Customer:
    return Customer.model_validate(api("GET", f"/customers/{customer_id}").body)


def _search_keys(table: str, customer_id: str) -> set[tuple[str, str]]:
    return {(i["PK"]["S"], i["SK"]["S"]) for i in _items(table)
            if is_search_item(i["PK"]["S"]) and i["SK"]["S"] == customer_id}
