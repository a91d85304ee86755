"""Staff users: the signed-in one with what they may do, the directory, and names checked against it."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from crm_core.dal.directory import StaffDirectory
from crm_core.errors import Invalid, field_error
from crm_core.models.staff import Me, StaffList
from crm_core.roles import Actor, permissions_of

KnownStaff = Callable[[str, Iterable[str]], list[str]]
"""``known(field, usernames)``: the names as the directory spells them, or ``Invalid`` naming the field."""


class StaffService:
    def __init__(self, directory: StaffDirectory) -> None:
        self._directory = directory

    def directory(self) -> StaffList:
        return StaffList(items=self._directory.members())

    def me(self, actor: Actor) -> Me:
        """Who the caller is (their name and email from the sign-in, else from the directory), their roles and
        every staff route those roles may call."""
        name, email = actor.name, actor.email
        if name is None or email is None:
            listed = next((m for m in self._directory.members() if m.username.lower() == actor.username.lower()),
                          None)
            if listed is not None:
                name, email = name or listed.name, email or listed.email
        return Me(username=actor.username, name=name, email=email, roles=list(actor.roles),
                  permissions=permissions_of(actor.roles))

    def known(self, field: str, usernames: Iterable[str]) -> list[str]:
        """The usernames as the directory spells them (user names are not case-sensitive); ``Invalid`` naming
        ``field`` for one that is not a staff user."""
        names = list(usernames)
        if not names:
            return []
        spelt = {m.username.lower(): m.username for m in self._directory.members()}
        unknown = [n for n in names if n.lower() not in spelt]
        if unknown:
            listed = ", ".join(repr(n) for n in unknown)
            raise Invalid(f"{listed} {'is not a staff user' if len(unknown) == 1 else 'are not staff users'}",
                          fields=[field_error(field, f"{n!r} is not a staff user (see GET /staff)")
                                  for n in unknown])
        return [spelt[n.lower()] for n in names]
