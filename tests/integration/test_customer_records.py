"""Notes, tasks, benefits, membership and relationships through the API function, against moto."""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from crm_local.template import Template
from integration.conftest import Call


def _customer(api: Call, first: str, last: str) -> dict[str, Any]:
    answer = api("POST", "/customers", body={"type": "individual", "first_name": first, "last_name": last})
    assert answer.status == 201, answer.body
    return dict(answer.body)


@pytest.fixture
def ada(api: Call) -> dict[str, Any]:
    return _customer(api, "Ada", "Lovelace")


def _history(api: Call, customer: dict[str, Any]) -> list[dict[str, Any]]:
    return list(api("GET", f"/customers/{customer['id']}/history").body["items"])


def _merge_by_hand(template: Template, customer: dict[str, Any]) -> None:
    boto3.client("dynamodb").update_item(
        TableName=template.physical_name("CustomersTable"), Key={"PK": {"S": f"CUST#{customer['id']}"},
                                                                 "SK": {"S": "PROFILE"}},
        UpdateExpression="SET #s = :m", ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":m": {"S": "merged"}})


# ---- notes ---------------------------------------------------------------------------------------

def test_operator_notices_come_with_the_record(api: Call, ada: dict[str, Any]) -> None:
    # Given an ordinary note and an operator notice
    base = f"/customers/{ada['id']}/notes"
    plain = api("POST", base, body={"text": "Prefers email"}, user="jsmith")
    notice = api("POST", base, body={"text": "This is a board member", "operator_notice": True})
    assert plain.status == notice.status == 201
    assert plain.body["created_by"] == "jsmith" and plain.body["version"] == 1
    # When the sales screen opens the customer
    record = api("GET", f"/customers/{ada['id']}").body
    # Then only the notice comes with it, and the notes list holds both, newest first
    assert [n["text"] for n in record["operator_notices"]] == ["This is a board member"]
    assert [n["text"] for n in api("GET", base).body] == ["This is a board member", "Prefers email"]
    # And the history records the note
    assert _history(api, ada)[1]["action"] == "note_added"


def test_note_edit_needs_its_version_and_is_recorded(api: Call, ada: dict[str, Any]) -> None:
    note = api("POST", f"/customers/{ada['id']}/notes", body={"text": "Call back"}).body
    path = f"/customers/{ada['id']}/notes/{note['id']}"
    edited = api("PATCH", path, body={"version": 1, "text": "Called back", "operator_notice": True})
    assert edited.status == 200 and edited.body["version"] == 2
    stale = api("PATCH", path, body={"version": 1, "text": "Overwrite"})
    assert stale.status == 409 and stale.body["error"]["current_version"] == 2
    entry = _history(api, ada)[0]
    assert entry["action"] == "note_changed"
    assert {"field": f"notes.{note['id']}.text", "old": "Call back", "new": "Called back"} in entry["changes"]


def test_note_removal_is_recorded_and_a_second_removal_is_404(api: Call, ada: dict[str, Any]) -> None:
    note = api("POST", f"/customers/{ada['id']}/notes", body={"text": "Temporary"}).body
    path = f"/customers/{ada['id']}/notes/{note['id']}"
    assert api("DELETE", path).status == 204
    assert api("DELETE", path).status == 404
    assert api("GET", f"/customers/{ada['id']}/notes").body == []
    assert _history(api, ada)[0]["changes"][0]["old"] == {"text": "Temporary", "operator_notice": False}


def test_notes_of_a_missing_customer_are_404_and_bad_notes_are_named(api: Call, ada: dict[str, Any]) -> None:
    assert api("POST", "/customers/01M84C74A9P5N5ACTCTPRJECSQ/notes", body={"text": "x"}).status == 404
    answer = api("POST", f"/customers/{ada['id']}/notes", body={"text": "", "colour": "red"})
    assert answer.status == 422
    assert {f["field"] for f in answer.body["error"]["fields"]} == {"text", "colour"}


def test_a_merged_customer_takes_no_new_records(api: Call, aws: Template, ada: dict[str, Any]) -> None:
    _merge_by_hand(aws, ada)
    answer = api("POST", f"/customers/{ada['id']}/notes", body={"text": "Too late"})
    assert answer.status == 409
    assert api("GET", f"/customers/{ada['id']}/notes").body == []


# ---- tasks ---------------------------------------------------------------------------------------

def test_open_tasks_are_listed_per_customer_and_per_staff_user(api: Call, ada: dict[str, Any]) -> None:
    # Given two tasks for jsmith on two customers, and one for someone else
    grace = _customer(api, "Grace", "Hopper")
    later = api("POST", f"/customers/{ada['id']}/tasks",
                body={"title": "Renewal call", "due_date": "2027-02-01", "assignee": "local-clerk"}).body
    sooner = api("POST", f"/customers/{grace['id']}/tasks",
                 body={"title": "Send brochure", "due_date": "2027-01-05", "assignee": "local-clerk"}).body
    api("POST", f"/customers/{ada['id']}/tasks", body={"title": "Other", "assignee": "local-admin"})
    # When jsmith lists their tasks
    mine = api("GET", "/tasks", user="local-clerk").body
    # Then they are soonest due first, with their customers
    assert [(t["title"], t["customer_id"]) for t in mine] == [("Send brochure", grace["id"]),
                                                             ("Renewal call", ada["id"])]
    assert [t["title"] for t in api("GET", "/tasks", query={"assignee": "local-admin"}).body] == ["Other"]
    # And once one is done it leaves the open list but stays on the customer
    done = api("PATCH", f"/customers/{grace['id']}/tasks/{sooner['id']}", body={"version": 1, "status": "done"})
    assert done.status == 200
    assert [t["id"] for t in api("GET", "/tasks", user="local-clerk").body] == [later["id"]]
    assert api("GET", f"/customers/{grace['id']}/tasks", query={"status": "done"}).body[0]["id"] == sooner["id"]
    assert api("GET", f"/customers/{grace['id']}/tasks", query={"status": "open"}).body == []


def test_reassigning_a_task_moves_it_between_staff_lists(api: Call, ada: dict[str, Any]) -> None:
    task = api("POST", f"/customers/{ada['id']}/tasks", body={"title": "Visit", "assignee": "local-clerk"}).body
    api("PATCH", f"/customers/{ada['id']}/tasks/{task['id']}", body={"version": 1, "assignee": "local-admin"})
    assert api("GET", "/tasks", query={"assignee": "local-clerk"}).body == []
    assert [t["id"] for t in api("GET", "/tasks", query={"assignee": "local-admin"}).body] == [task["id"]]


def test_a_task_with_a_bad_date_or_status_is_refused(api: Call, ada: dict[str, Any]) -> None:
    answer = api("POST", f"/customers/{ada['id']}/tasks", body={"title": "X", "due_date": "31/02/2027",
                                                                "status": "someday"})
    assert answer.status == 422
    assert {f["field"] for f in answer.body["error"]["fields"]} == {"due_date", "status"}


# ---- account benefits and membership -------------------------------------------------------------

def test_account_benefits_are_added_listed_and_removed(api: Call, ada: dict[str, Any]) -> None:
    base = f"/customers/{ada['id']}/benefits"
    benefit = api("POST", base, body={"name": "Free parking", "starts_on": "2027-01-01", "ends_on": "2027-12-31"})
    assert benefit.status == 201
    assert [b["name"] for b in api("GET", base).body] == ["Free parking"]
    assert api("POST", base, body={"name": "Backwards", "starts_on": "2027-02-01", "ends_on": "2027-01-01"}) \
        .status == 422
    assert api("DELETE", f"{base}/{benefit.body['id']}").status == 204
    assert api("GET", base).body == []


def test_membership_is_set_then_edited_with_its_version(api: Call, ada: dict[str, Any]) -> None:
    path = f"/customers/{ada['id']}/membership"
    assert api("GET", path).status == 404
    membership = {"programme": "Friends", "expires_on": "2027-06-30",
                  "benefit_groups": [{"name": "Priority booking", "starts_on": "2026-07-01", "ends_on": "2027-06-30"}],
                  "benefits": ["Backstage tour"]}
    first = api("PUT", path, body=membership)
    assert first.status == 200 and first.body["version"] == 1
    assert api("PUT", path, body=membership).status == 409  # one exists: a change needs its version
    renewed = api("PUT", path, body={**membership, "expires_on": "2028-06-30", "version": 1})
    assert renewed.status == 200 and renewed.body["expires_on"] == "2028-06-30"
    assert api("PUT", path, body={**membership, "version": 1}).status == 409
    entry = _history(api, ada)[0]
    assert entry["changes"] == [{"field": "membership.expires_on", "old": "2027-06-30", "new": "2028-06-30"}]


# ---- relationships -------------------------------------------------------------------------------

def test_a_relationship_is_shown_from_both_sides(api: Call, ada: dict[str, Any]) -> None:
    # Given a business and its contact
    firm = api("POST", "/customers", body={"type": "organization", "organization_name": "Analytical Engines"}).body
    # When the business adds Ada as its contact
    link = api("POST", f"/customers/{firm['id']}/relationships",
               body={"type": "contact", "related_id": ada["id"], "note": "Accounts"})
    assert link.status == 201, link.body
    assert link.body["related_name"] == "Ada Lovelace"
    # Then the business sees its contact and Ada sees her business
    ours = api("GET", f"/customers/{firm['id']}/relationships").body
    theirs = api("GET", f"/customers/{ada['id']}/relationships").body
    assert [(r["type"], r["related_id"]) for r in ours] == [("contact", ada["id"])]
    assert [(r["type"], r["related_id"], r["related_name"]) for r in theirs] == [
        ("business", firm["id"], "Analytical Engines")]
    # And both histories record it
    assert _history(api, firm)[0]["action"] == _history(api, ada)[0]["action"] == "relationship_added"


def test_a_relationship_change_or_removal_applies_to_both_sides(api: Call, ada: dict[str, Any]) -> None:
    agent = _customer(api, "Sam", "Seller")
    link = api("POST", f"/customers/{agent['id']}/relationships",
               body={"type": "sold_for", "related_id": ada["id"]}).body
    changed = api("PATCH", f"/customers/{ada['id']}/relationships/{link['id']}",
                  body={"version": 1, "note": "2026 season"})
    assert changed.status == 200 and changed.body["type"] == "sold_by"
    assert api("GET", f"/customers/{agent['id']}/relationships").body[0]["note"] == "2026 season"
    assert api("DELETE", f"/customers/{agent['id']}/relationships/{link['id']}").status == 204
    assert api("GET", f"/customers/{ada['id']}/relationships").body == []
    assert api("GET", f"/customers/{agent['id']}/relationships").body == []


@pytest.mark.parametrize(("target", "status", "field"), [
    ("self", 422, "related_id"),
    ("01M84C74A9P5N5ACTCTPRJECSQ", 422, "related_id"),
    ("not-an-id", 422, "related_id"),
])
def test_links_to_itself_or_to_a_missing_customer_are_refused(api: Call, ada: dict[str, Any], target: str,
                                                              status: int, field: str) -> None:
    related = ada["id"] if target == "self" else target
    answer = api("POST", f"/customers/{ada['id']}/relationships", body={"type": "contact", "related_id": related})
    assert answer.status == status
    assert answer.body["error"]["fields"][0]["field"] == field


def test_links_to_a_merged_customer_or_twice_are_refused(api: Call, aws: Template, ada: dict[str, Any]) -> None:
    other = _customer(api, "Old", "Record")
    base = f"/customers/{ada['id']}/relationships"
    assert api("POST", base, body={"type": "contact", "related_id": other["id"]}).status == 201
    assert api("POST", base, body={"type": "contact", "related_id": other["id"]}).status == 409
    gone = _customer(api, "Gone", "Away")
    _merge_by_hand(aws, gone)
    assert api("POST", base, body={"type": "business", "related_id": gone["id"]}).status == 409
