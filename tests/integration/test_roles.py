"""The permission table, proved route by route: each role against each staff route, through the API functions
as API Gateway calls them; then who is signed in (GET /me) and the staff directory (GET /staff)."""

from __future__ import annotations

import importlib
import json
import re
from typing import Any

import pytest

from conftest import CURSOR_SIGNING_KEY, FakeContext
from crm_core.roles import PERMISSIONS, ROLES, permissions_of, role_needed
from crm_local.events import api_event
from crm_local.template import Template
from integration.conftest import Call

SAM = Template(secrets={"CursorSigningSecret": CURSOR_SIGNING_KEY})
STAFF_ROUTES = sorted((r.method, r.path, r.function) for r in SAM.routes() if not r.public)
ANY_ID = "01JB2Z6Q3M8V5K7N9P4R2T6W8X"
# What the README's roles table promises, written out here apart from crm_core/roles.py: admin alone does what
# cannot be undone or hands over a customer's account; readonly reads (and keeps its own list settings); staff
# does the rest.
ADMIN_ONLY = {
    "DELETE /customers/{customer_id}", "POST /customers/delete", "POST /customers/{customer_id}/merge",
    "POST /customers/{customer_id}/merge/preview",
    "PUT /customers/{customer_id}/login", "POST /customers/{customer_id}/login/random-password",
    "POST /imports/{import_id}/revert", "PUT /customers/{customer_id}/accounting",
}
READONLY_WRITES = {"PUT /me/preferences"}


def promised(route: str) -> set[str]:
    if route in ADMIN_ONLY:
        return {"admin"}
    if route.startswith("GET ") or route in READONLY_WRITES:
        return {"readonly", "staff", "admin"}
    return {"staff", "admin"}


CALLERS = {"no group": "", "readonly": "readonly", "staff": "staff", "admin": "admin",
           "staff and another group": "staff,marketing"}


@pytest.fixture
def handlers(aws: Template) -> dict[str, Any]:
    """The staff API functions' handlers, against moto."""
    return {name: getattr(importlib.import_module(f.module), f.attribute)
            for name, f in aws.functions().items() if f.code_uri.name == "customers"}


def _call(handlers: dict[str, Any], method: str, path: str, function: str, groups: str) -> tuple[int, dict[str, Any]]:
    concrete = re.sub(r"\{\w+\}", ANY_ID, path)
    params = dict.fromkeys(re.findall(r"\{(\w+)\}", path), ANY_ID)
    event = api_event(method, concrete, resource=path, path_parameters=params, user="matrix-user", groups=groups)
    result = handlers[function](event, FakeContext())
    return int(result["statusCode"]), json.loads(result["body"]) if result.get("body") else {}


def _expected(groups: str, route: str) -> str:
    roles = {g for g in groups.split(",") if g in ROLES}
    if not roles:
        return "403 no_role"
    return "served" if roles & promised(route) else "403 forbidden"


@pytest.mark.parametrize("caller", sorted(CALLERS))
def test_each_role_may_call_exactly_the_routes_the_table_gives_it(handlers: dict[str, Any], caller: str) -> None:
    # Given a signed-in user with the caller's groups
    groups = CALLERS[caller]
    wrong = []
    for method, path, function in STAFF_ROUTES:
        route = f"{method} {path}"
        # When they call each staff route (with no body: the role is decided before the body is read)
        status, body = _call(handlers, method, path, function, groups)
        code = body.get("error", {}).get("code") if status >= 400 else None
        got = f"{status} {code}" if status in (401, 403) else ("served" if status < 500 else f"{status} {code}")
        if got == "403 forbidden" and f"needs the {role_needed(route)} role" not in body["error"]["message"]:
            got = f"403 forbidden without naming the role: {body['error']['message']}"
        # Then a caller without a role the table gives the route is refused (no staff group at all: no_role),
        # naming the role needed; one with it gets past the check to the route itself (a 404 for the made-up
        # id, a 422 for the missing body…), never a server error
        if got != _expected(groups, route):
            wrong.append(f"{route}: expected {_expected(groups, route)}, got {got}")
    assert wrong == []


def test_the_table_gives_each_route_the_roles_promised() -> None:
    assert {route: set(allowed) for route, allowed in PERMISSIONS.items()} == {
        route: promised(route) for route in PERMISSIONS}


def test_a_caller_without_a_signed_in_user_is_refused(handlers: dict[str, Any]) -> None:
    # Given an event without the authorizer's claims (never from API Gateway, which refuses it first)
    event = api_event("GET", "/customers", user=None)
    # When a staff function gets it
    result = handlers["CustomersApiFunction"](event, FakeContext())
    # Then it is 401, not served
    assert result["statusCode"] == 401 and json.loads(result["body"])["error"]["code"] == "not_signed_in"


def test_a_route_outside_the_table_is_refused(handlers: dict[str, Any]) -> None:
    # Given an event for a resource the table does not know
    event = api_event("GET", "/secret", resource="/secret")
    # When a staff function gets it, even from an admin
    result = handlers["CustomersApiFunction"](event, FakeContext())
    # Then it is refused rather than resolved
    assert result["statusCode"] == 403


# ---- GET /me and GET /staff ---------------------------------------------------------------------------------

@pytest.mark.parametrize("groups", ["readonly", "staff", "admin", "staff,admin"])
def test_me_says_who_you_are_and_lists_every_route_you_may_call(api: Call, groups: str) -> None:
    # Given a built-in staff user signed in with some groups
    # When they ask who they are
    answer = api("GET", "/me", user="local-clerk", groups=groups)
    # Then they get their name and email from the directory, their roles, and the routes those roles open
    assert answer.status == 200
    roles = [r for r in ROLES if r in groups.split(",")]
    assert answer.body == {"username": "local-clerk", "name": "Casey Clerk", "email": "casey.clerk@example.org",
                           "roles": roles, "permissions": permissions_of(roles)}
    assert ("DELETE /customers/{customer_id}" in answer.body["permissions"]) == ("admin" in roles)
    assert ("POST /customers" in answer.body["permissions"]) == (roles != ["readonly"])


def test_me_answers_for_a_user_the_directory_does_not_list(api: Call) -> None:
    answer = api("GET", "/me", user="someone-new", groups="readonly")
    assert answer.status == 200 and (answer.body["name"], answer.body["email"]) == (None, None)
    assert "GET /customers" in answer.body["permissions"] and "POST /customers" not in answer.body["permissions"]


def test_staff_lists_the_directory(api: Call) -> None:
    # Given the built-in directory (no user pool here)
    # When any signed-in role lists the staff
    answer = api("GET", "/staff", groups="readonly")
    # Then every user is there with their roles
    assert answer.status == 200
    assert {u["username"]: u["roles"] for u in answer.body["items"]} == {
        "local-staff": ["staff", "admin"], "local-admin": ["admin"], "local-clerk": ["staff"],
        "local-viewer": ["readonly"]}


# ---- names checked against the directory --------------------------------------------------------------------

def _customer(api: Call, **fields: Any) -> dict[str, Any]:
    answer = api("POST", "/customers", body={"type": "individual", "first_name": "Ann", "last_name": "Other",
                                             **fields})
    assert answer.status == 201, answer.body
    return dict(answer.body)


def test_an_unknown_assigned_staff_user_is_refused_naming_the_field(api: Call) -> None:
    created = api("POST", "/customers", body={"type": "individual", "first_name": "Ann", "last_name": "Other",
                                              "assigned_staff": ["ghost-user-does-not-exist"]})
    assert created.status == 422
    assert [f["field"] for f in created.body["error"]["fields"]] == ["assigned_staff"]
    one = _customer(api)
    for method, path, body, field in [
            ("PUT", f"/customers/{one['id']}/staff", {"staff": ["local-clerk", "ghost"]}, "staff"),
            ("POST", "/customers/assign", {"ids": [one["id"]], "staff_user": "ghost"}, "staff_user"),
            ("PATCH", f"/customers/{one['id']}", {"version": 1, "assigned_staff": ["ghost"]}, "assigned_staff")]:
        answer = api(method, path, body=body)
        assert answer.status == 422 and [f["field"] for f in answer.body["error"]["fields"]] == [field], path
    assert api("GET", f"/customers/{one['id']}").body["assigned_staff"] == []


def test_names_take_the_directorys_spelling_and_a_departed_user_can_still_be_removed(api: Call) -> None:
    one = _customer(api, assigned_staff=["Local-Clerk"])
    assert one["assigned_staff"] == ["local-clerk"]
    # a user who left stays on the record until removed, and editing the rest still works
    from crm_core.wiring import customer_service

    stored = customer_service().get(one["id"])
    customer_service().change(stored, {"assigned_staff": ["local-clerk", "left-last-year"]}, "test")
    kept = api("PUT", f"/customers/{one['id']}/staff", body={"staff": ["left-last-year", "local-admin"]})
    assert kept.status == 200 and kept.body["assigned_staff"] == ["left-last-year", "local-admin"]
    gone = api("POST", "/customers/unassign", body={"ids": [one["id"]], "staff_user": "left-last-year"})
    assert [o["outcome"] for o in gone.body] == ["unassigned"]


def test_an_unknown_task_assignee_is_refused_naming_the_field(api: Call) -> None:
    one = _customer(api)
    base = f"/customers/{one['id']}/tasks"
    refused = api("POST", base, body={"title": "Call back", "assignee": "ghost-user-does-not-exist"})
    assert refused.status == 422 and [f["field"] for f in refused.body["error"]["fields"]] == ["assignee"]
    task = api("POST", base, body={"title": "Call back", "assignee": "local-viewer"}).body
    changed = api("PATCH", f"{base}/{task['id']}", body={"version": 1, "assignee": "nobody-here"})
    assert changed.status == 422 and [f["field"] for f in changed.body["error"]["fields"]] == ["assignee"]
    assert [t["assignee"] for t in api("GET", base).body] == ["local-viewer"]
