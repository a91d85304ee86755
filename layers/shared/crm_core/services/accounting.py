"""The accounting sync: new and changed customers pushed to the accounts package, each exactly once.

Before an account is opened for a customer, the package is asked for accounts that may already be that
customer (the same account reference, email, or normalised name and postcode). One → it is linked (and
brought up to date) instead of a duplicate being opened; several → the customer is ``held`` with the
candidates listed, until staff choose (``PUT /customers/{id}/accounting``); none → an account is opened,
with an idempotency key that is the same on every try, so a retry never opens a second one.

Customers never get mixed: customers of one run that may be the same one (the same email, or the same name
and postcode) and have no account yet are all held, each with the others as candidates, before anything is
sent for them; an account already linked to one customer (here or earlier in the run) is never linked to or
overwritten with another's details — that customer is held instead. So every row sent to the package carries
exactly the customer its reference is linked to.

Only customers marked for a sync are read (see ``dal/accounting.py``); one that fails — whatever the fault — is
recorded as ``error`` with the reason and stays marked, so the next run tries it again, and it never stops the
others.
If the package itself is unreachable several times in a row, the run stops early (everything stays marked).
One run at a time: a lease in the table.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

from crm_core.accounting import Account, AccountCustomer, AccountsAdapter, AccountsError, AccountsUnavailable
from crm_core.clock import iso, utcnow
from crm_core.dal.accounting import AccountingRepository, RefTaken, StateMoved
from crm_core.dal.customers import CustomerRepository
from crm_core.dal.runs import RunRepository
from crm_core.errors import Conflict, Invalid, NotFound, field_error
from crm_core.models.accounting import AccountingChoice, AccountingView, Candidate, SyncRequested
from crm_core.models.customer import Customer
from crm_core.text import dedupe_key, normalise_email

STOP_AFTER_UNAVAILABLE = 5
SAVE_RESERVE = 120.0  # seconds kept to write the package's file and every state before the function's time is up


@dataclass
class Pending:
    customer: Customer
    state: dict[str, Any]
    marked_at: str


def account_customer(c: Customer, ref: str | None) -> AccountCustomer:
    address = c.address
    lines = tuple(v for v in ((address.line1, address.line2, address.city, address.county) if address else ()) if v)
    return AccountCustomer(customer_id=c.id, customer_number=c.customer_number, name=c.display_name, email=c.email,
                           phone=c.phone, address_lines=lines, postcode=address.postcode if address else None,
                           country=address.country if address else None, account_ref=ref)


class AccountingSync:
    JOB = "accounting-sync"

    def __init__(self, customers: CustomerRepository, accounting: AccountingRepository, runs: RunRepository,
                 adapter: Callable[[], AccountsAdapter], adapter_name: str, request_run: Callable[[], None] | None,
                 lease: timedelta = timedelta(minutes=16)) -> None:
        self._customers = customers
        self._accounting = accounting
        self._runs = runs
        self._adapter = adapter
        self._adapter_name = adapter_name
        self._request_run = request_run
        self._lease = lease

    # ---- the API -----------------------------------------------------------------------------------

    def view(self, customer_id: str) -> AccountingView:
        if self._customers.get(customer_id) is None:
            raise NotFound(f"customer {customer_id} does not exist")
        state = self._accounting.state(customer_id) or {}
        pending = self._accounting.is_pending(customer_id)
        return AccountingView.model_validate({
            "state": state.get("state", "pending" if pending else "not_synced"), "pending": pending,
            **{k: v for k, v in state.items() if k in AccountingView.model_fields and k != "state"}})

    def request(self, ids: list[str] | None) -> SyncRequested:
        """Run a sync now; ``ids`` are marked first (staff selecting customers and pressing sync)."""
        if ids:
            found = self._customers.get_many(ids)
            missing = [i for i in ids if i not in found]
            if missing:
                raise Invalid("some customers do not exist",
                              fields=[field_error("ids", f"no customer {', '.join(missing[:10])}")])
            self._accounting.mark(list(dict.fromkeys(ids)))
        if self._request_run is None:
            raise Invalid("the accounting sync cannot be started from here")
        self._request_run()
        return SyncRequested(queued=True, marked=len(set(ids or [])))

    def choose(self, customer_id: str, choice: AccountingChoice, actor: str) -> AccountingView:
        """Staff settle a held customer: link the account they chose, or open a new one."""
        if self._customers.get(customer_id) is None:
            raise NotFound(f"customer {customer_id} does not exist")
        current = self._accounting.state(customer_id) or {"state": "pending"}
        state = {k: v for k, v in current.items() if k not in ("PK", "SK", "rev")}
        state.update(chosen_ref=choice.account_ref, create_new=choice.create_new, chosen_by=actor)
        try:
            self._accounting.save(customer_id, state, None, self._adapter_name, None,
                                  expected_rev=current.get("rev"))
        except StateMoved:
            raise Conflict("the accounting state changed meanwhile; look again and choose") from None
        self._accounting.mark([customer_id])
        return self.view(customer_id)

    # ---- the run -----------------------------------------------------------------------------------

    def run(self, holder: str, seconds_left: Callable[[], float] | None = None) -> dict[str, int] | None:
        """Sync every marked customer; the figures, or None when another run holds the lease. With
        ``seconds_left``, the run stops in time to write what it did (the rest stays marked for the next)."""
        if not self._runs.take_lease(self.JOB, holder, self._lease):
            return None
        try:
            return self._run(seconds_left or (lambda: float("inf")))
        finally:
            self._runs.release_lease(self.JOB, holder)

    def _run(self, seconds_left: Callable[[], float]) -> dict[str, int]:
        adapter = self._adapter()
        figures: Counter[str] = Counter()
        pending = self._pending(figures)
        alike = _alike(pending)
        done: list[tuple[Pending, dict[str, Any], str | None]] = []
        linked: dict[str, str] = {}  # account reference → the customer it went to in this run
        unavailable = 0
        for item in pending:
            if seconds_left() < SAVE_RESERVE:
                figures["stopped_for_time"] = 1
                break
            try:
                state, claim = self._sync_one(item, adapter, alike, linked)
                unavailable = 0
            except AccountsUnavailable as down:
                unavailable += 1
                state, claim = _failed(item.state, f"the accounts package did not answer: {down}"), None
            except AccountsError as refused:
                state, claim = _failed(item.state, f"the accounts package refused it: {refused}", refused=True), None
            except Exception as fault:  # noqa: BLE001 - one customer's fault never stops the others
                state, claim = _failed(item.state, f"it could not be synced: {type(fault).__name__}: {fault}"), None
            if claim:
                linked[claim] = item.customer.id
            done.append((item, state, claim))
            if unavailable >= STOP_AFTER_UNAVAILABLE:
                figures["stopped_early"] = 1
                break
        adapter.flush()  # a file-based package gets its file before any customer is said to be synced
        for item, state, claim in done:
            figures[self._save(item, state, claim)] += 1
        if not figures["stopped_early"]:
            try:
                figures["balances_read"] = self._read_balances(adapter)
            except (AccountsUnavailable, AccountsError):
                figures["balances_unread"] = 1  # the customers are synced; the balances wait for the next run
        return dict(figures)

    def _pending(self, figures: Counter[str]) -> list[Pending]:
        """Every customer marked for this run, with its state, read once. A marker whose customer is gone (deleted,
        or merged into another) is cleared."""
        pending: list[Pending] = []
        for page in self._accounting.pending():
            ids = [i for i, _ in page]
            customers = self._customers.get_many(ids)
            states = self._accounting.states(ids)
            for customer_id, marked_at in page:
                customer = customers.get(customer_id)
                if customer is None or customer.status == "merged":
                    self._accounting.clear(customer_id, marked_at)
                    figures["skipped"] += 1
                    continue
                pending.append(Pending(customer, _plain_state(states.get(customer_id)), marked_at))
        return pending

    def _sync_one(self, item: Pending, adapter: AccountsAdapter, alike: dict[str, list[Customer]],
                  linked: dict[str, str]) -> tuple[dict[str, Any], str | None]:
        c, state = item.customer, item.state
        ref = state.get("account_ref") or state.get("chosen_ref")
        refusals = state.get("refusals", 0)
        update_key = f"{c.id}:update:{{ref}}:{c.version}:{refusals}"  # the package keeps its answer per key
        if ref:
            owner = self._owner(ref, linked)
            if owner not in (None, c.id):
                return _held(state, f"account {ref} is linked to another customer ({owner})",
                             [Candidate(account_ref=ref, name=ref, customer_id=owner).model_dump()]), None
            adapter.update(ref, account_customer(c, ref), update_key.format(ref=ref))
            return _synced(state, ref, "updated" if state.get("account_ref") else "linked by staff"), ref
        create_key = f"{c.id}:create:{refusals}"  # the same on every try until refused
        if state.get("create_new"):
            account = adapter.create(account_customer(c, None), create_key)
            return _synced(state, account.ref, "created"), account.ref
        others = {o.id: o for match in _match_keys(c) for o in alike.get(match, []) if o.id != c.id}
        candidates = adapter.find(account_customer(c, None))
        if others:
            listed = [_candidate(a, self._owner(a.ref, linked)) for a in candidates[:20]]
            listed += [Candidate(account_ref=None, name=o.display_name, email=o.email,
                                 postcode=o.address.postcode if o.address else None, customer_id=o.id).model_dump()
                       for o in list(others.values())[:20]]
            return _held(state, f"{len(others) + 1} customers here may be the same one (the same email, or name and "
                                "postcode): choose for each (PUT …/accounting)", listed), None
        if len(candidates) > 1:
            return _held(state, f"{len(candidates)} accounts may be this customer: choose one (PUT …/accounting)",
                         [_candidate(a, self._owner(a.ref, linked)) for a in candidates[:20]]), None
        if candidates:
            ref = candidates[0].ref
            owner = self._owner(ref, linked)
            if owner not in (None, c.id):
                return _held(state, f"the matching account {ref} is linked to another customer ({owner})",
                             [_candidate(candidates[0], owner)]), None
            adapter.update(ref, account_customer(c, ref), update_key.format(ref=ref))
            return _synced(state, ref, "linked"), ref
        account = adapter.create(account_customer(c, None), create_key)
        return _synced(state, account.ref, "created"), account.ref

    def _owner(self, ref: str, linked: dict[str, str]) -> str | None:
        """The customer an account is linked to — in this run, else as saved (None: free, or its customer was
        deleted or merged)."""
        if ref in linked:
            return linked[ref]
        owner = self._accounting.ref_owner(self._adapter_name, ref)
        return None if owner is None or self._released(owner) else owner

    def _released(self, owner: str | None) -> bool:
        found = self._customers.get(owner) if owner else None
        return found is None or found.status == "merged"

    def _save(self, item: Pending, state: dict[str, Any], claim: str | None) -> str:
        keep_marked = state["state"] == "error"  # tried again next run
        rev = item.state.get("rev")
        try:
            try:
                self._accounting.save(item.customer.id, state, None if keep_marked else item.marked_at,
                                      self._adapter_name, claim, expected_rev=rev)
            except RefTaken as held_by:
                if not (claim and self._released(held_by.owner)):
                    raise
                self._accounting.save(item.customer.id, state, None if keep_marked else item.marked_at,
                                      self._adapter_name, claim, take_over_from=held_by.owner, expected_rev=rev)
        except RefTaken as taken:
            state = {**_base(item.state), "state": "held", "reason": f"account {claim} is linked to another "
                     f"customer ({taken.owner})"}
            self._accounting.save(item.customer.id, state, item.marked_at, self._adapter_name, None,
                                  expected_rev=rev)
        except StateMoved:
            return "changed_meanwhile"  # staff chose meanwhile; their choice stands and the next run uses it
        return str(state.get("outcome") or state["state"])

    def _read_balances(self, adapter: AccountsAdapter) -> int:
        """The package's balances, onto the linked customers' states (only those that changed are written)."""
        balances = adapter.balances()
        refs = sorted(balances)
        at = iso(utcnow())
        written = 0
        for start in range(0, len(refs), 100):
            page = refs[start:start + 100]
            owners = self._accounting.owners(self._adapter_name, page)
            states = self._accounting.states(list(owners.values()))
            for ref, customer_id in owners.items():
                amount = str(balances[ref])
                known = states.get(customer_id, {}).get("package_balance")
                if known is None and Decimal(amount) == 0:
                    continue  # a new account owes nothing: nothing to show yet, nothing to write
                if customer_id in states and known != amount:
                    self._accounting.set_balance(customer_id, amount, at)
                    written += 1
        return written


def _alike(pending: list[Pending]) -> dict[str, list[Customer]]:
    """Match key (email, or name and postcode) → the customers of this run without an account that have it,
    where there are two or more: they may be one customer, and only staff can tell."""
    by_key: dict[str, list[Customer]] = {}
    for item in pending:
        if not _decided(item.state):
            for match in _match_keys(item.customer):
                by_key.setdefault(match, []).append(item.customer)
    return {match: found for match, found in by_key.items() if len(found) > 1}


def _plain_state(item: dict[str, Any] | None) -> dict[str, Any]:
    return {k: v for k, v in (item or {}).items() if k not in ("PK", "SK")}


def _base(state: dict[str, Any]) -> dict[str, Any]:
    """What a new state keeps of the old one (the package's balance, the refusals that key creates), and
    nothing of a past outcome."""
    return {k: state[k] for k in ("package_balance", "package_balance_at", "account_ref", "last_synced",
                                  "refusals") if k in state}


def _synced(state: dict[str, Any], ref: str, outcome: str) -> dict[str, Any]:
    return {**_base(state), "state": "synced", "account_ref": ref, "last_synced": iso(utcnow()), "outcome": outcome}


def _failed(state: dict[str, Any], reason: str, refused: bool = False) -> dict[str, Any]:
    """An error state. A refusal (the package answered no) moves the create key on, since the package keeps
    its answer per key; an unanswered request keeps it, since the account may have been opened after all."""
    return {**_base(state), "state": "error", "reason": reason[:500], "failures": int(state.get("failures", 0)) + 1,
            "refusals": int(state.get("refusals", 0)) + (1 if refused else 0), "outcome": "error",
            **({k: state[k] for k in ("chosen_ref", "create_new") if k in state})}


def _candidate(account: Account, linked_to: str | None = None) -> dict[str, Any]:
    return Candidate(account_ref=account.ref, name=account.name, email=account.email, postcode=account.postcode,
                     customer_id=linked_to).model_dump()


def _held(state: dict[str, Any], reason: str, candidates: list[dict[str, Any]]) -> dict[str, Any]:
    return {**_base(state), "state": "held", "reason": reason, "candidates": candidates}


def _decided(state: dict[str, Any]) -> bool:
    """Linked already, or staff chose for it: no match to make."""
    return bool(state.get("account_ref") or state.get("chosen_ref") or state.get("create_new"))


def _match_keys(c: Customer) -> list[str]:
    """What the package matches a customer by, beyond the account reference: its email, its name and postcode."""
    keys = [f"email:{normalise_email(c.email)}"] if c.email else []
    dedupe = dedupe_key(c.display_name, c.address.postcode if c.address else None)
    return keys + ([f"name:{dedupe}"] if dedupe else [])
