"""DELETE /customers/{id} and POST /customers/delete: refused with transactions, history kept by default,
claims released, nothing of the customer left behind."""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from crm_core.dal.search import is_search_item
from crm_core.wiring import customer_service
from crm_local.template import Template
from integration.conftest import ADA, Call


def _partition(template: Template, customer_id: str) -> list[str]:
    items = boto3.client("dynamodb").query(
        TableName=template.physical_name("CustomersTable"), KeyConditionExpression="PK = :pk",
        ExpressionAttributeValues={":pk": {"S": f"CUST#{customer_id}"}})["Items"]
    return sorted(i["SK"]["S"].split("#")[0] for i in items)


def _all_items(template: Template) -> list[dict[str, Any]]:
    return list(boto3.client("dynamodb").scan(TableName=template.physical_name("CustomersTable"))["Items"])


def test_delete_keeps_history_releases_claims_and_leaves_nothing_else(api: Call, aws: Template,
                                                                      ada: dict[str, Any]) -> None:
    # Given Ada with a note, a task, staff, and a link to another customer
    other = api("POST", "/customers", body={"type": "organization", "organization_name": "Engines"}).body
    api("POST", f"/customers/{ada['id']}/notes", body={"text": "VIP"})
    api("POST", f"/customers/{ada['id']}/tasks", body={"title": "Call", "assignee": "jsmith"})
    api("POST", f"/customers/{ada['id']}/relationships", body={"type": "business", "related_id": other["id"]})
    api("PUT", f"/customers/{ada['id']}/email-preferences", body={"marketing": True})
    # When she is deleted
    assert api("DELETE", f"/customers/{ada['id']}", user="admin1").status == 204
    # Then she is gone from reads, search, staff tasks and the other side of her link
    assert api("GET", f"/customers/{ada['id']}").status == 404
    assert api("GET", "/customers", query={"q": "lovelace"}).body["items"] == []
    assert api("GET", "/tasks", query={"assignee": "jsmith"}).body == []
    assert api("GET", f"/customers/{other['id']}/relationships").body == []
    assert api("GET", f"/customers/{other['id']}/history").body["items"][0]["action"] == "relationship_removed"
    # And her history remains, ending with who deleted her
    history = api("GET", f"/customers/{ada['id']}/history").body["items"]
    assert (history[0]["action"], history[0]["by"]) == ("deleted", "admin1")
    assert _partition(aws, ada["id"]) == ["HIST"] * len(history) + ["TOMBSTONE"]
    # And her username and email are free again
    again = api("POST", "/customers", body=ADA)
    assert again.status == 201, again.body
    # And no search item of hers is left
    leftovers = [i for i in _all_items(aws) if is_search_item(i["PK"]["S"]) and i["SK"]["S"] == ada["id"]]
    assert leftovers == []


def test_delete_history_too_leaves_nothing(api: Call, aws: Template, ada: dict[str, Any]) -> None:
    assert api("DELETE", f"/customers/{ada['id']}", query={"delete_history": "true"}).status == 204
    assert _partition(aws, ada["id"]) == []
    assert api("GET", f"/customers/{ada['id']}/history").status == 404
    assert not [i for i in _all_items(aws) if ada["id"] in str(i)]


def test_a_customer_with_transactions_cannot_be_deleted(api: Call, ada: dict[str, Any]) -> None:
    api("POST", f"/customers/{ada['id']}/points", body={"amount": 10, "type": "loyalty", "reason": "welcome"})
    answer = api("DELETE", f"/customers/{ada['id']}")
    assert answer.status == 409 and answer.body["error"]["code"] == "has_transactions"
    assert api("GET", f"/customers/{ada['id']}").status == 200


def test_transactions_arriving_during_the_delete_stop_it(api: Call, ada: dict[str, Any],
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    # Given points are adjusted after the delete looked for transactions but before it wrote
    repo = customer_service()._repo
    monkeypatch.setattr(repo, "has_transactions", lambda customer_id: False)
    api("POST", f"/customers/{ada['id']}/points", body={"amount": 10, "type": "loyalty", "reason": "welcome"})
    # When the delete writes
    answer = api("DELETE", f"/customers/{ada['id']}")
    # Then the transaction's condition refuses it and nothing is lost
    assert answer.status == 409 and answer.body["error"]["code"] == "has_transactions"
    assert api("GET", f"/customers/{ada['id']}/points").body["balance"] == 10


def test_an_interrupted_delete_is_finished_by_deleting_again(api: Call, aws: Template, ada: dict[str, Any],
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    # Given the clean-up after the delete transaction dies
    api("POST", f"/customers/{ada['id']}/notes", body={"text": "VIP"})
    repo = customer_service()._repo

    def dies(keys: list[tuple[str, str]]) -> None:
        raise ConnectionError("lost the connection")

    monkeypatch.setattr(repo, "remove_items", dies)
    with pytest.raises(ConnectionError):
        customer_service().delete(ada["id"], False, "admin1")
    assert "NOTE" in _partition(aws, ada["id"])
    monkeypatch.undo()
    # When staff delete again
    assert api("DELETE", f"/customers/{ada['id']}").status == 204
    # Then the clean-up is finished
    assert "NOTE" not in _partition(aws, ada["id"])
    assert api("GET", "/customers", query={"q": "lovelace"}).body["items"] == []


def test_bulk_delete_reports_each_id(api: Call, ada: dict[str, Any]) -> None:
    keeper = api("POST", "/customers", body={"type": "individual", "first_name": "Kept", "last_name": "One"}).body
    api("POST", f"/customers/{keeper['id']}/status", body={"action": "enroll"})
    api("POST", f"/customers/{keeper['id']}/points", body={"amount": 1, "type": "loyalty", "reason": "x"})
    missing = "01M84C74A9P5N5ACTCTPRJECSQ"
    answer = api("POST", "/customers/delete", body={"ids": [ada["id"], keeper["id"], missing]})
    assert answer.status == 200
    assert [(o["id"], o["outcome"], o["code"]) for o in answer.body] == [
        (ada["id"], "deleted", None), (keeper["id"], "refused", "has_transactions"), (missing, "refused", "not_found")]
    assert api("POST", "/customers/delete", body={"ids": []}).status == 422
