"""Assigned staff (at most two, one or many customers at a time) and staff users' own preferences."""

from __future__ import annotations

from typing import Any

from integration.conftest import Call


def _people(api: Call, n: int) -> list[dict[str, Any]]:
    return [api("POST", "/customers", body={"type": "individual", "first_name": f"P{i}", "last_name": "Person"}).body
            for i in range(n)]


def test_assigned_staff_are_set_and_searchable(api: Call) -> None:
    (one,) = _people(api, 1)
    answer = api("PUT", f"/customers/{one['id']}/staff", body={"staff": ["local-clerk", "local-admin"]})
    assert answer.status == 200 and answer.body["assigned_staff"] == ["local-clerk", "local-admin"]
    found = api("GET", "/customers", query={"assigned_to": "local-admin"}).body["items"]
    assert [c["id"] for c in found] == [one["id"]]
    three = ["local-clerk", "local-admin", "local-viewer"]
    assert api("PUT", f"/customers/{one['id']}/staff", body={"staff": three}).status == 422
    entry = api("GET", f"/customers/{one['id']}/history").body["items"][0]
    assert entry["action"] == "staff_assigned"
    assert entry["changes"] == [{"field": "assigned_staff", "old": [], "new": ["local-clerk", "local-admin"]}]


def test_bulk_assign_reports_each_customer_and_keeps_the_limit_of_two(api: Call) -> None:
    full, free, already = _people(api, 3)
    api("PUT", f"/customers/{full['id']}/staff", body={"staff": ["local-staff", "local-admin"]})
    api("PUT", f"/customers/{already['id']}/staff", body={"staff": ["local-clerk"]})
    answer = api("POST", "/customers/assign", body={"ids": [full["id"], free["id"], already["id"]],
                                                    "staff_user": "local-clerk"})
    assert answer.status == 200
    assert [(o["id"], o["outcome"]) for o in answer.body] == [
        (full["id"], "refused"), (free["id"], "assigned"), (already["id"], "unchanged")]
    assert "already has 2 assigned staff" in answer.body[0]["message"]
    found = {c["id"] for c in api("GET", "/customers", query={"assigned_to": "local-clerk"}).body["items"]}
    assert found == {free["id"], already["id"]}


def test_bulk_unassign_removes_the_user(api: Call) -> None:
    one, two = _people(api, 2)
    api("POST", "/customers/assign", body={"ids": [one["id"], two["id"]], "staff_user": "local-clerk"})
    answer = api("POST", "/customers/unassign", body={"ids": [one["id"]], "staff_user": "local-clerk"})
    assert [o["outcome"] for o in answer.body] == ["unassigned"]
    found = api("GET", "/customers", query={"assigned_to": "local-clerk"}).body["items"]
    assert [c["id"] for c in found] == [two["id"]]


def test_preferences_belong_to_each_staff_user(api: Call) -> None:
    # Given jsmith saves columns, widths and searched fields
    mine = {"columns": ["customer_number", "last_name", "email"], "widths": {"email": 240},
            "search_fields": ["name", "email"]}
    saved = api("PUT", "/me/preferences", body=mine, user="jsmith")
    assert saved.status == 200
    # Then jsmith gets them back and mjones still has the defaults
    assert {k: v for k, v in api("GET", "/me/preferences", user="jsmith").body.items() if k != "updated_at"} == mine
    theirs = api("GET", "/me/preferences", user="mjones").body
    assert theirs["search_fields"] is None and "customer_number" in theirs["columns"]


def test_bad_preferences_are_named(api: Call) -> None:
    answer = api("PUT", "/me/preferences", body={"columns": [], "widths": {"email": 5}, "search_fields": ["shoe"]})
    assert answer.status == 422
    assert {f["field"].split(".")[0] for f in answer.body["error"]["fields"]} == {"columns", "widths", "search_fields"}
