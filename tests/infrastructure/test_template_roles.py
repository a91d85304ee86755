"""The permission table covers exactly the template's staff routes, and the roles are the user pool's groups."""

from __future__ import annotations

from typing import Any

import pytest

from crm_core.roles import PERMISSIONS, ROLES, route_key
from crm_local.template import Template


def test_every_staff_route_of_the_template_has_an_entry_and_nothing_else_does(sam: Template) -> None:
    # Given the template's staff routes (behind the authorizer) and its public ones
    staff = {route_key(r.method, r.path) for r in sam.routes() if not r.public}
    public = {route_key(r.method, r.path) for r in sam.routes() if r.public}
    # When they are compared with the permission table
    # Then each staff route says who may call it, the table names no route API Gateway does not route, and no
    # public route is in it (the table is for signed-in staff)
    assert sorted(staff - set(PERMISSIONS)) == [], "staff routes without an entry in crm_core/roles.py"
    assert sorted(set(PERMISSIONS) - staff) == [], "entries in crm_core/roles.py for no staff route"
    assert public and not public & set(PERMISSIONS)


def test_every_entry_allows_at_least_one_role_and_admin_may_do_everything() -> None:
    # Given the table
    # When each entry's roles are read
    # Then every route is open to some role, and admin (the last role) to all of them
    assert all(allowed and allowed <= set(ROLES) for allowed in PERMISSIONS.values())
    assert all("admin" in allowed for allowed in PERMISSIONS.values())


def test_the_roles_are_the_staff_user_pools_groups(document: dict[str, Any]) -> None:
    # Given the template's Cognito groups
    groups = {r["Properties"]["GroupName"]: r["Properties"]["UserPoolId"] for r in document["Resources"].values()
              if r["Type"] == "AWS::Cognito::UserPoolGroup"}
    # Then there is one per role, in the staff user pool
    assert sorted(groups) == sorted(ROLES)
    assert set(map(str, groups.values())) == {str({"Ref": "StaffUserPool"})}


# routes that read the staff directory: listing it, and checking the staff users a record names
DIRECTORY_ROUTES = [("GET", "/staff"), ("PUT", "/customers/{customer_id}/staff"), ("POST", "/customers/assign"),
                    ("POST", "/customers/{customer_id}/tasks"), ("PATCH", "/customers/{customer_id}/tasks/{task_id}"),
                    ("POST", "/customers/{customer_id}/jobs"), ("PATCH", "/customers/{customer_id}/jobs/{job_id}")]


@pytest.mark.parametrize(("method", "path"), DIRECTORY_ROUTES)
def test_each_function_reading_the_staff_directory_may_list_the_pools_groups(sam: Template, document: dict[str, Any],
                                                                             method: str, path: str) -> None:
    # Given the function that serves a route reading the staff directory
    function = next(r.function for r in sam.routes() if (r.method, r.path) == (method, path))
    props = document["Resources"][function]["Properties"]
    # Then it is told the user pool and may list the users of its groups there, and nothing more of Cognito
    assert props["Environment"]["Variables"]["STAFF_USER_POOL_ID"] == {"Ref": "StaffUserPool"}
    cognito = [s for p in props["Policies"] for s in p.get("Statement", [])
               if any(str(a).startswith("cognito-idp:") for a in s["Action"])]
    assert [(s["Action"], s["Resource"]) for s in cognito] == [
        (["cognito-idp:ListUsersInGroup"], {"Fn::GetAtt": ["StaffUserPool", "Arn"]})]
