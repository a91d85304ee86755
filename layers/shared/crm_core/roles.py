"""Who may call which staff route: the roles, and the one permission table.

Roles are the staff user pool's groups: ``readonly`` (sees everything, changes nothing but their own list
settings), ``staff`` (the day-to-day work) and ``admin`` (what cannot be undone, or hands over a customer's
account). Each includes the one before it: a user in ``admin`` alone may do everything. A signed-in user in
none of these groups may call no staff route.

``PERMISSIONS`` keys each staff route as ``"<METHOD> <path>"``, the path exactly as ``template.yaml`` writes it
(``"DELETE /customers/{customer_id}"``), to the roles that may call it. The API functions check it before a
request is read (``api_app``); ``GET /me`` lists what the caller may call from it; a test holds it equal to
the template's staff routes. Why each admin-only route is one: see the README (*Roles*).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

Role = Literal["readonly", "staff", "admin"]
ROLES: tuple[Role, ...] = ("readonly", "staff", "admin")  # each includes the powers of the ones before it

EVERYONE: frozenset[Role] = frozenset(ROLES)
STAFF: frozenset[Role] = frozenset({"staff", "admin"})
ADMIN: frozenset[Role] = frozenset({"admin"})

PERMISSIONS: dict[str, frozenset[Role]] = {
    # the signed-in user
    "GET /me": EVERYONE,
    "GET /staff": EVERYONE,
    "GET /me/preferences": EVERYONE,
    "PUT /me/preferences": EVERYONE,
    # customers
    "GET /customers": EVERYONE,
    "POST /customers": STAFF,
    "GET /customers/{customer_id}": EVERYONE,
    "PATCH /customers/{customer_id}": STAFF,
    "DELETE /customers/{customer_id}": ADMIN,
    "POST /customers/delete": ADMIN,
    "GET /customers/{customer_id}/history": EVERYONE,
    "GET /customers/{customer_id}/status": EVERYONE,
    "POST /customers/{customer_id}/status": STAFF,
    "GET /customers/{customer_id}/email-preferences": EVERYONE,
    "PUT /customers/{customer_id}/email-preferences": STAFF,
    "POST /customers/{customer_id}/merge": ADMIN,
    "POST /customers/{customer_id}/merge/preview": ADMIN,
    "PUT /customers/{customer_id}/staff": STAFF,
    "POST /customers/assign": STAFF,
    "POST /customers/unassign": STAFF,
    # records kept with a customer
    "GET /customers/{customer_id}/points": EVERYONE,
    "POST /customers/{customer_id}/points": STAFF,
    "POST /customers/{customer_id}/points/preview": STAFF,
    "GET /customers/{customer_id}/notes": EVERYONE,
    "POST /customers/{customer_id}/notes": STAFF,
    "PATCH /customers/{customer_id}/notes/{note_id}": STAFF,
    "DELETE /customers/{customer_id}/notes/{note_id}": STAFF,
    "GET /customers/{customer_id}/tasks": EVERYONE,
    "POST /customers/{customer_id}/tasks": STAFF,
    "PATCH /customers/{customer_id}/tasks/{task_id}": STAFF,
    "DELETE /customers/{customer_id}/tasks/{task_id}": STAFF,
    "GET /tasks": EVERYONE,
    "GET /customers/{customer_id}/benefits": EVERYONE,
    "POST /customers/{customer_id}/benefits": STAFF,
    "DELETE /customers/{customer_id}/benefits/{benefit_id}": STAFF,
    "GET /customers/{customer_id}/membership": EVERYONE,
    "PUT /customers/{customer_id}/membership": STAFF,
    "GET /customers/{customer_id}/relationships": EVERYONE,
    "POST /customers/{customer_id}/relationships": STAFF,
    "PATCH /customers/{customer_id}/relationships/{relationship_id}": STAFF,
    "DELETE /customers/{customer_id}/relationships/{relationship_id}": STAFF,
    # exports: personal data leaving in bulk is work, not looking
    "POST /exports": STAFF,
    "GET /exports/{export_id}": EVERYONE,
    # money and the accounts package
    "GET /customers/{customer_id}/invoices": EVERYONE,
    "POST /customers/{customer_id}/invoices": STAFF,
    "POST /customers/{customer_id}/payments": STAFF,
    "POST /customers/{customer_id}/credits": STAFF,
    "GET /customers/{customer_id}/purchases": EVERYONE,
    "POST /customers/{customer_id}/purchases": STAFF,
    "GET /customers/{customer_id}/balance": EVERYONE,
    "POST /customers/{customer_id}/balance/refresh": STAFF,
    "GET /customers/{customer_id}/costs": EVERYONE,
    "POST /customers/{customer_id}/costs": STAFF,
    "PATCH /customers/{customer_id}/costs/{cost_id}": STAFF,
    "DELETE /customers/{customer_id}/costs/{cost_id}": STAFF,
    "GET /customers/{customer_id}/jobs": EVERYONE,
    "POST /customers/{customer_id}/jobs": STAFF,
    "PATCH /customers/{customer_id}/jobs/{job_id}": STAFF,
    "DELETE /customers/{customer_id}/jobs/{job_id}": STAFF,
    "GET /customers/{customer_id}/deliveries": EVERYONE,
    "POST /customers/{customer_id}/deliveries": STAFF,
    "PATCH /customers/{customer_id}/deliveries/{delivery_id}": STAFF,
    "DELETE /customers/{customer_id}/deliveries/{delivery_id}": STAFF,
    "GET /customers/{customer_id}/accounting": EVERYONE,
    "PUT /customers/{customer_id}/accounting": ADMIN,
    "POST /accounting/sync": STAFF,
    # spreadsheet imports
    "POST /imports": STAFF,
    "GET /imports": EVERYONE,
    "GET /imports/{import_id}": EVERYONE,
    "POST /imports/{import_id}/dry-run": STAFF,
    "POST /imports/{import_id}/commit": STAFF,
    "POST /imports/{import_id}/revert": ADMIN,
    # web logins
    "PUT /customers/{customer_id}/login": ADMIN,
    "POST /customers/{customer_id}/login/random-password": ADMIN,
    "POST /customers/{customer_id}/login/reset-email": STAFF,
    # mass email and mail lists
    "POST /mailings/preview": STAFF,
    "POST /mailings": STAFF,
    "GET /mailings/{mailing_id}": EVERYONE,
    "GET /mail-lists": EVERYONE,
    "POST /mail-lists": STAFF,
    "GET /mail-lists/{list_id}": EVERYONE,
    "PUT /mail-lists/{list_id}": STAFF,
    "DELETE /mail-lists/{list_id}": STAFF,
}


# Routes whose answer hands out a secret — a password that signs in as a customer, a link that reads or writes
# personal data in bulk. Their answers are never stored for a retry under an ``Idempotency-Key`` (the key still
# makes the request happen once; a retry is told so): the table is readable by every function.
SECRET_ANSWERS: frozenset[str] = frozenset({
    "POST /customers/{customer_id}/login/random-password",  # the temporary password
    "POST /exports",  # the download link of a finished export
    "POST /imports",  # the presigned upload form
})


# What an answer holds that some roles may not see: the link to an import's report workbook (the rejected rows,
# personal data in bulk) is for the roles that may import.
REPORT_LINK: frozenset[Role] = STAFF


def route_key(method: str, path: str) -> str:
    """``"GET /customers/{customer_id}"``: a route as the table keys it."""
    return f"{method.upper()} {path}"


def roles_of(groups: set[str] | frozenset[str]) -> list[Role]:
    """The user's roles among their groups, in ``ROLES`` order (other groups mean nothing here)."""
    return [role for role in ROLES if role in groups]


def role_needed(route: str) -> Role | None:
    """The least role that may call the route (None: the route is not in the table)."""
    allowed = PERMISSIONS.get(route)
    return next((role for role in ROLES if allowed and role in allowed), None)


def may_call(roles: list[Role] | tuple[Role, ...], route: str) -> bool:
    allowed = PERMISSIONS.get(route)
    return bool(allowed) and any(role in allowed for role in roles)  # type: ignore[operator]


def permissions_of(roles: list[Role] | tuple[Role, ...]) -> list[str]:
    """Every staff route these roles may call, in the table's order."""
    return [route for route in PERMISSIONS if may_call(roles, route)]


@dataclass(frozen=True)
class Actor:
    """The signed-in staff user, as the authorizer vouched for them."""

    username: str
    roles: tuple[Role, ...]
    name: str | None = None
    email: str | None = None

    @property
    def is_admin(self) -> bool:
        return "admin" in self.roles

    def may(self, allowed: frozenset[Role]) -> bool:
        """Whether one of the user's roles is among ``allowed``."""
        return any(role in allowed for role in self.roles)


def claimed_groups(claims: dict[str, Any]) -> set[str]:
    """The Cognito groups in an authorizer's claims. API Gateway hands ``cognito:groups`` on as text
    (``"admin,staff"`` or ``"[admin staff]"``); a list is taken as it is."""
    value = claims.get("cognito:groups") or []
    if isinstance(value, str):
        value = value.strip("[]").replace(",", " ").split()
    return {str(group) for group in value}


def actor_of(event: dict[str, Any]) -> Actor | None:
    """The staff user an API Gateway event comes from (its Cognito authorizer's claims); None without one."""
    context = event.get("requestContext") or {}
    claims = (context.get("authorizer") or {}).get("claims") or {}
    username = claims.get("cognito:username") or claims.get("username")
    if not username:
        return None
    return Actor(username=str(username), roles=tuple(roles_of(claimed_groups(claims))),
                 name=str(claims["name"]) if claims.get("name") else None,
                 email=str(claims["email"]) if claims.get("email") else None)
