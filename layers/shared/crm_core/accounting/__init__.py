"""The accounts package (Sage 50, or a REST accounting API) as the accounting sync sees it.

An adapter answers four questions, whatever the package: which accounts look like this customer, create
one, update one, and what each account owes. Batch adapters (Sage 50 reads and writes files) also need
``flush`` to write what was queued.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Protocol


@dataclass(frozen=True)
class AccountCustomer:
    """A customer as the accounts package needs it."""

    customer_id: str
    customer_number: str
    name: str
    email: str | None = None
    phone: str | None = None
    address_lines: tuple[str, ...] = ()  # street lines, town, county — in that order, empty ones left out
    postcode: str | None = None
    country: str | None = None  # ISO 3166 alpha-2
    account_ref: str | None = None  # the account already linked, if any


@dataclass(frozen=True)
class Account:
    """An account in the package."""

    ref: str
    name: str
    email: str | None = None
    postcode: str | None = None
    extra: dict[str, str] = field(default_factory=dict)


class AccountsError(Exception):
    """The package refused a request (a 4xx, a malformed file): retrying the same request will not help."""


class AccountsUnavailable(Exception):
    """The package could not be reached or kept failing (5xx, 429, timeouts) after the retries: try next run."""


class AccountsAdapter(Protocol):
    name: str  # "sage50", "rest"

    def find(self, customer: AccountCustomer) -> list[Account]:
        """Accounts that may be this customer: the same account reference, the same email, or the same
        normalised name and postcode. Empty when none."""

    def create(self, customer: AccountCustomer, idempotency_key: str) -> Account:
        """Open an account for the customer. Sending the same key again must not open a second one."""

    def update(self, ref: str, customer: AccountCustomer, idempotency_key: str) -> None:
        """Bring the account's name, contact details and address in line with the customer."""

    def balances(self) -> dict[str, Decimal]:
        """What each account owes, by account reference, as the package last reported it."""

    def flush(self) -> None:
        """Write what was queued (file-based packages); nothing for APIs."""
