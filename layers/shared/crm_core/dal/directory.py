"""The staff directory: who the staff users are.

In AWS it is the staff user pool (Cognito): the enabled users of its ``admin``, ``staff`` and ``readonly``
groups, read with ``ListUsersInGroup`` and kept for a minute in the execution environment (assigning a
customer checks the name against it; a user added in Cognito is known within the minute). Where no user pool
is configured — the local stack and the tests — it is ``BUILT_IN_STAFF``, a few named users.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Protocol

from botocore.exceptions import ClientError

from crm_core.dal.dynamo import error_code
from crm_core.errors import RetryLater
from crm_core.models.staff import StaffMember
from crm_core.roles import ROLES, Role

BUILT_IN_STAFF: tuple[StaffMember, ...] = (
    StaffMember(username="local-staff", name="Local Staff", email="local-staff@example.org",
                roles=["staff", "admin"]),
    StaffMember(username="local-admin", name="Alex Admin", email="alex.admin@example.org", roles=["admin"]),
    StaffMember(username="local-clerk", name="Casey Clerk", email="casey.clerk@example.org", roles=["staff"]),
    StaffMember(username="local-viewer", name="Robin Reader", email="robin.reader@example.org",
                roles=["readonly"]),
)
COGNITO_THROTTLING = {"TooManyRequestsException", "LimitExceededException"}


class StaffDirectory(Protocol):
    def members(self) -> list[StaffMember]:
        """Every staff user, by username."""


class BuiltInStaff:
    """The built-in users (no user pool)."""

    def members(self) -> list[StaffMember]:
        return list(BUILT_IN_STAFF)


class CognitoStaff:
    """The staff user pool's users in the staff groups (``ListUsersInGroup``, every page), kept ``ttl``
    seconds."""

    def __init__(self, cognito: Any, user_pool_id: str, ttl: float = 60.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._cognito = cognito
        self._pool = user_pool_id
        self._ttl = ttl
        self._clock = clock
        self._cached: tuple[float, list[StaffMember]] | None = None

    def members(self) -> list[StaffMember]:
        now = self._clock()
        if self._cached is None or now - self._cached[0] >= self._ttl:
            self._cached = (now, self._read())
        return list(self._cached[1])

    def _read(self) -> list[StaffMember]:
        roles: dict[str, set[Role]] = {}
        people: dict[str, dict[str, str]] = {}
        for role in ROLES:
            for user in self._users_in(role):
                if not user.get("Enabled", True):
                    continue  # a disabled user can no longer sign in, nor be given customers or tasks
                username = str(user["Username"])
                roles.setdefault(username, set()).add(role)
                people[username] = {a["Name"]: a["Value"] for a in user.get("Attributes", [])}
        return [StaffMember(username=username, name=people[username].get("name"),
                            email=people[username].get("email"),
                            roles=[role for role in ROLES if role in roles[username]])
                for username in sorted(roles, key=str.lower)]

    def _users_in(self, group: str) -> list[dict[str, Any]]:
        users: list[dict[str, Any]] = []
        request: dict[str, Any] = {"UserPoolId": self._pool, "GroupName": group, "Limit": 60}
        while True:
            try:
                answer = self._cognito.list_users_in_group(**request)
            except ClientError as exc:
                if error_code(exc) in COGNITO_THROTTLING:
                    raise RetryLater("the staff directory is busy; retry shortly") from exc
                if error_code(exc) == "ResourceNotFoundException":
                    return users  # the group does not exist (yet): nobody is in it
                raise
            users += answer.get("Users", [])
            if not answer.get("NextToken"):
                return users
            request["NextToken"] = answer["NextToken"]
