"""End to end: what staff do to one customer, over real HTTP on loopback against the local stack."""

from __future__ import annotations

from typing import Any

import pytest

from e2e.conftest import Http

pytestmark = pytest.mark.e2e


def _new(http: Http, **fields: Any) -> dict[str, Any]:
    answer = http("POST", "/customers", {"type": "individual", "confirm_duplicate": True, **fields})
    assert answer.status == 201, answer.body
    return dict(answer.body)


def test_the_sales_screen_pops_up_operator_notices(http: Http) -> None:
    # Given a customer with an operator notice among their notes
    customer = _new(http, first_name="Board", last_name="Member")
    http("POST", f"/customers/{customer['id']}/notes", {"text": "Prefers post"})
    http("POST", f"/customers/{customer['id']}/notes", {"text": "This is a board member", "operator_notice": True})
    # When the record is opened
    record = http("GET", f"/customers/{customer['id']}").body
    # Then the notice comes with it
    assert [n["text"] for n in record["operator_notices"]] == ["This is a board member"]


def test_a_task_shows_on_the_assignees_list_until_done(http: Http) -> None:
    customer = _new(http, first_name="Follow", last_name="Up")
    task = http("POST", f"/customers/{customer['id']}/tasks",
                {"title": "Renewal call", "due_date": "2027-01-10", "assignee": "local-admin"}).body
    mine = http("GET", "/tasks", headers={"X-Dev-User": "local-admin"}).body
    assert [t["id"] for t in mine] == [task["id"]]
    http("PATCH", f"/customers/{customer['id']}/tasks/{task['id']}", {"version": 1, "status": "done"})
    assert http("GET", "/tasks", headers={"X-Dev-User": "local-admin"}).body == []


def test_a_business_and_its_contact_see_each_other(http: Http) -> None:
    firm = http("POST", "/customers", {"type": "organization", "organization_name": "E2E Works"}).body
    person = _new(http, first_name="Con", last_name="Tact")
    assert http("POST", f"/customers/{firm['id']}/relationships",
                {"type": "contact", "related_id": person["id"]}).status == 201
    seen_by_person = http("GET", f"/customers/{person['id']}/relationships").body
    assert [(r["type"], r["related_name"]) for r in seen_by_person] == [("business", "E2E Works")]


def test_points_follow_the_status(http: Http) -> None:
    # Given an enrolled member with points
    member = _new(http, first_name="Point", last_name="Collector")
    assert http("POST", f"/customers/{member['id']}/status", {"action": "enroll"}).status == 200
    assert http("POST", f"/customers/{member['id']}/points",
                {"amount": 120, "type": "loyalty", "reason": "Season ticket"}).status == 201
    # When they are deactivated
    assert http("POST", f"/customers/{member['id']}/status", {"action": "deactivate"}).status == 200
    # Then no points accrue, nothing else but reactivate is allowed, and the points are kept
    refused = http("POST", f"/customers/{member['id']}/points", {"amount": 5, "type": "loyalty", "reason": "x"})
    assert refused.status == 409
    assert http("POST", f"/customers/{member['id']}/status", {"action": "unenroll"}).status == 409
    assert http("POST", f"/customers/{member['id']}/status", {"action": "reactivate"}).body["status"] == "enrolled"
    assert http("GET", f"/customers/{member['id']}/points").body["balance"] == 120
    # And a customer with points cannot be deleted
    assert http("DELETE", f"/customers/{member['id']}").status == 409


def test_membership_and_benefits(http: Http) -> None:
    customer = _new(http, first_name="Mem", last_name="Ber")
    membership = http("PUT", f"/customers/{customer['id']}/membership",
                      {"programme": "Friends", "expires_on": "2027-06-30",
                       "benefit_groups": [{"name": "Priority booking", "starts_on": "2026-07-01"}]})
    assert membership.status == 200 and membership.body["version"] == 1
    assert http("POST", f"/customers/{customer['id']}/benefits", {"name": "Free programme"}).status == 201
    assert [b["name"] for b in http("GET", f"/customers/{customer['id']}/benefits").body] == ["Free programme"]


def test_bulk_assign_then_search_by_staff(http: Http) -> None:
    one, two = _new(http, first_name="One", last_name="Assigned"), _new(http, first_name="Two", last_name="Assigned")
    outcomes = http("POST", "/customers/assign", {"ids": [one["id"], two["id"]], "staff_user": "local-clerk"}).body
    assert [o["outcome"] for o in outcomes] == ["assigned", "assigned"]
    found = http("GET", "/customers", query={"assigned_to": "local-clerk"}).body["items"]
    assert {c["id"] for c in found} == {one["id"], two["id"]}


def test_delete_keeps_the_history_readable(http: Http) -> None:
    customer = _new(http, first_name="Short", last_name="Lived", email="short.lived@example.org")
    assert http("DELETE", f"/customers/{customer['id']}", headers={"X-Dev-User": "e2e-admin"}).status == 204
    assert http("GET", f"/customers/{customer['id']}").status == 404
    history = http("GET", f"/customers/{customer['id']}/history").body["items"]
    assert (history[0]["action"], history[0]["by"]) == ("deleted", "e2e-admin")
    assert _new(http, first_name="Reuses", last_name="Email", email="short.lived@example.org")


def test_each_staff_user_keeps_their_own_columns(http: Http) -> None:
    mine = {"columns": ["customer_number", "email"], "widths": {"email": 300}, "search_fields": ["email"]}
    assert http("PUT", "/me/preferences", mine, headers={"X-Dev-User": "e2e-columns"}).status == 200
    assert http("GET", "/me/preferences", headers={"X-Dev-User": "e2e-columns"}).body["columns"] == mine["columns"]
    assert http("GET", "/me/preferences", headers={"X-Dev-User": "someone-else"}).body["columns"] != mine["columns"]


def test_merging_two_accounts_over_http(http: Http) -> None:
    # Given two records of one person, the duplicate with a note and points
    keep = _new(http, first_name="Merge", last_name="Keeper")
    duplicate = _new(http, first_name="Merge", last_name="Duplicate")
    http("POST", f"/customers/{duplicate['id']}/notes", {"text": "Old account"})
    http("POST", f"/customers/{duplicate['id']}/points", {"amount": 30, "type": "loyalty", "reason": "old"})
    # When staff merge the duplicate into the record they keep
    answer = http("POST", f"/customers/{keep['id']}/merge", {"source_id": duplicate["id"]})
    # Then the kept record has the note and the points, and the duplicate points at it
    assert answer.status == 200, answer.body
    assert [n["text"] for n in http("GET", f"/customers/{keep['id']}/notes").body] == ["Old account"]
    assert http("GET", f"/customers/{keep['id']}/points").body["balance"] == 30
    gone = http("GET", f"/customers/{duplicate['id']}").body
    assert (gone["status"], gone["merged_into"]) == ("merged", keep["id"])


def test_email_preferences_and_unenrolment(http: Http) -> None:
    customer = _new(http, first_name="Mail", last_name="Prefs")
    path = f"/customers/{customer['id']}/email-preferences"
    assert http("PUT", path, {"marketing": True}).body == {"marketing": True, "account": True}
    http("POST", f"/customers/{customer['id']}/status", {"action": "enroll"})
    http("POST", f"/customers/{customer['id']}/status", {"action": "unenroll"})
    assert http("GET", path).body == {"marketing": False, "account": True}


def test_bulk_delete_and_unassign(http: Http) -> None:
    one, two = _new(http, first_name="Bulk", last_name="One"), _new(http, first_name="Bulk", last_name="Two")
    http("POST", "/customers/assign", {"ids": [one["id"], two["id"]], "staff_user": "local-viewer"})
    unassigned = http("POST", "/customers/unassign", {"ids": [one["id"]], "staff_user": "local-viewer"}).body
    assert [o["outcome"] for o in unassigned] == ["unassigned"]
    outcomes = http("POST", "/customers/delete", {"ids": [one["id"], two["id"]]}).body
    assert [o["outcome"] for o in outcomes] == ["deleted", "deleted"]
    assert http("GET", "/customers", query={"assigned_to": "local-viewer"}).body["items"] == []


# ---- roles, over HTTP -------------------------------------------------------------------------------------

def test_the_default_local_user_is_staff_and_admin(http: Http) -> None:
    me = http("GET", "/me").body
    assert (me["username"], me["roles"]) == ("local-staff", ["staff", "admin"])
    assert "POST /customers/{customer_id}/merge" in me["permissions"]
    assert {u["username"] for u in http("GET", "/staff").body["items"]} >= {"local-staff", "local-clerk",
                                                                            "local-viewer"}


def test_each_local_user_acts_with_its_own_groups(http: Http) -> None:
    customer = _new(http, first_name="Role", last_name="Play")
    viewer, clerk = {"X-Dev-User": "local-viewer"}, {"X-Dev-User": "local-clerk"}
    assert http("GET", f"/customers/{customer['id']}", headers=viewer).status == 200
    refused = http("POST", "/customers", {"type": "individual", "first_name": "No", "last_name": "Way"},
                   headers=viewer)
    assert (refused.status, refused.body["error"]["code"]) == (403, "forbidden")
    assert "staff" in refused.body["error"]["message"]
    deleting = http("DELETE", f"/customers/{customer['id']}", headers=clerk)
    assert (deleting.status, deleting.body["error"]["code"]) == (403, "forbidden")
    assert "admin" in deleting.body["error"]["message"]
    assert http("GET", f"/customers/{customer['id']}").status == 200


def test_an_empty_group_header_is_no_group(http: Http) -> None:
    answer = http("GET", "/customers", headers={"X-Dev-User": "local-staff", "X-Dev-Groups": ""})
    assert (answer.status, answer.body["error"]["code"]) == (403, "no_role")
    assert http("GET", "/me", headers={"X-Dev-User": "someone", "X-Dev-Groups": "readonly"}).body["roles"] == [
        "readonly"]
