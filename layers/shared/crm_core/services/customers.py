"""Customer rules: create with duplicate warning, edit with optimistic locking, search, history."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Literal

from crm_core.clock import iso, utcnow
from crm_core.cursor import CursorCodec
from crm_core.dal.customers import ClaimTaken, CustomerRepository, HasTransactions, StaleVersion, customer_pk
from crm_core.dal.mail import LOGIN, login_pk
from crm_core.dal.search import LONG_PAIR, PAIR_STARTS, PostingPage, customer_terms, pair_partition, prefix_pk
from crm_core.errors import (
    Conflict,
    CustomerHasTransactions,
    DomainError,
    DuplicateCustomer,
    Invalid,
    NotFound,
    RetryLater,
    UsernameTaken,
    VersionConflict,
    field_error,
)
from crm_core.ids import format_customer_number, min_id_at, new_id
from crm_core.models.customer import (
    EDITABLE,
    Address,
    BulkOutcome,
    Customer,
    CustomerPage,
    CustomerPatch,
    DuplicateCandidate,
    EmailPreferencesPut,
    FieldChange,
    HistoryEntry,
    HistoryPage,
    IndividualCreate,
    OrganizationCreate,
    SearchParams,
    StatusOptions,
)
from crm_core.services.staff import KnownStaff
from crm_core.status import StatusAction, options, refuse_merged, transition
from crm_core.text import SEARCH_FIELDS, dedupe_key, normalise_email, query_words

MAX_STAFF = 2
TRACKED = ("status", "inactive_reason", "status_before_deactivation", "email_preferences")
DEFAULT_WINDOW_DAYS = 30
READ_PAGES_AT_MOST = 20  # a keyword page reads at most this many pages' worth of items, then answers with a cursor
LARGEST_READ = 1000  # index items asked for in one Query at most
DuplicateReason = Literal["same_email", "same_name_and_postcode"]
_TYPE_FIELDS = {"individual": ("first_name", "last_name"), "organization": ("organization_name",)}


@dataclass(frozen=True)
class Paging:
    default: int


def claims_of(c: Customer) -> dict[str, str]:
    claims = {}
    if c.username:
        claims["username"] = c.username
    if c.email:
        claims["email"] = normalise_email(c.email)
    return claims


def dedupe_of(c: Customer) -> str | None:
    return dedupe_key(c.display_name, c.address.postcode if c.address else None)


class CustomerService:
    def __init__(self, repo: CustomerRepository, cursors: CursorCodec, paging: Paging, known_staff: KnownStaff) -> None:
        self._repo = repo
        self._cursors = cursors
        self._paging = paging
        self._known_staff = known_staff

    def _staff(self, field: str, wanted: list[str], current: list[str]) -> list[str]:
        """The assigned staff wanted, each new one checked against the staff directory (one already assigned
        stays even if they have left, so the others can still be edited)."""
        new = [name for name in dict.fromkeys(wanted) if name not in current]
        spelt = dict(zip(new, self._known_staff(field, new), strict=True)) if new else {}
        return list(dict.fromkeys(spelt.get(name, name) for name in wanted))

    # ---- create ------------------------------------------------------------------------------------

    def create(self, request: IndividualCreate | OrganizationCreate, actor: str) -> Customer:
        now = utcnow()
        fields = request.model_dump(exclude={"confirm_duplicate"})
        fields["assigned_staff"] = self._staff("assigned_staff", request.assigned_staff, [])
        draft = Customer(id=new_id(), customer_number="0", version=1, created_at=now, updated_at=now,
                         created_by=actor, updated_by=actor, status="active", **fields)
        claims = claims_of(draft)
        if not request.confirm_duplicate:
            self._refuse_duplicates(draft, claims.get("email"), exclude=None)
        elif "email" in claims and self._repo.claim_owner("email", claims["email"]):
            del claims["email"]  # the first customer with this email keeps it for matching and mail
        number = self._repo.allocate_numbers(1)[0]
        customer = draft.model_copy(update={"customer_number": format_customer_number(number)})
        entry = HistoryEntry(at=now, by=actor, action="created", changes=[
            FieldChange(field=f, new=v) for f, v in diffable(customer).items() if v not in (None, [], {})
        ])
        try:
            self._repo.create(customer, customer_terms(customer), entry, claims, dedupe_of(customer))
        except ClaimTaken as taken:
            raise self._claim_error(taken, customer) from None
        return customer

    def _refuse_duplicates(self, c: Customer, email: str | None, exclude: str | None) -> None:
        found: list[DuplicateCandidate] = []
        if email:
            owner = self._repo.claim_owner("email", email)
            if owner and owner != exclude:
                found += self._candidates([owner], "same_email")
        dedupe = dedupe_of(c)
        if dedupe:
            ids = [i for i in self._repo.with_dedupe_key(dedupe) if i != exclude and i not in {f.id for f in found}]
            found += self._candidates(ids[:10], "same_name_and_postcode")
        if found:
            raise DuplicateCustomer(
                "a customer with the same email, or the same name and postcode, exists; "
                "send confirm_duplicate=true to save anyway",
                duplicates=[d.model_dump() for d in found])

    def _candidates(self, ids: list[str], reason: DuplicateReason) -> list[DuplicateCandidate]:
        existing = self._repo.get_many(ids)
        return [DuplicateCandidate(id=c.id, customer_number=c.customer_number, name=c.display_name,
                                   reason=reason)
                for c in existing.values()]

    def _claim_error(self, taken: ClaimTaken, c: Customer) -> Exception:
        if taken.kind == "username":
            return UsernameTaken(f"username {taken.value!r} is taken",
                                 fields=[field_error("username", "is taken by another customer")])
        owner = self._repo.claim_owner("email", taken.value)
        return DuplicateCustomer(
            "a customer with the same email exists; send confirm_duplicate=true to save anyway",
            duplicates=[d.model_dump() for d in self._candidates([owner] if owner else [], "same_email")])

    # ---- read --------------------------------------------------------------------------------------

    def get(self, customer_id: str) -> Customer:
        customer = self._repo.get(customer_id)
        if customer is None:
            raise NotFound(f"customer {customer_id} does not exist")
        return customer

    # ---- edit --------------------------------------------------------------------------------------

    def patch(self, customer_id: str, patch: CustomerPatch, actor: str) -> Customer:
        before = refuse_merged(self._current(customer_id))
        if patch.version != before.version:
            raise _stale(before.version)
        changes = patch.model_dump(include=patch.model_fields_set & set(EDITABLE))
        if patch.address is not None:
            changes["address"] = patch.address.model_dump(include=patch.address.model_fields_set)
        if patch.assigned_staff:
            changes["assigned_staff"] = self._staff("assigned_staff", patch.assigned_staff, before.assigned_staff)
        return self.change(before, changes, actor, refuse_duplicates=not patch.confirm_duplicate)

    def change(self, before: Customer, changes: dict[str, Any], actor: str, refuse_duplicates: bool = True,
               action: str = "updated") -> Customer:
        """Apply field changes to ``before`` if it is still the stored version (the address is merge-patched:
        the parts given change, the others stay). Unchanged → ``before`` itself, nothing written."""
        if changes.get("address") is not None and before.address is not None:
            changes = {**changes, "address": {**before.address.model_dump(), **changes["address"]}}
        _check_patch(before, changes)
        after = Customer.model_validate({**before.model_dump(), **changes})
        diff = field_changes(before, after)
        if not diff:
            return before
        now = utcnow()
        after = after.model_copy(update={"version": before.version + 1, "updated_at": now, "updated_by": actor})
        old_claims, new_claims = claims_of(before), claims_of(after)
        claim = {k: v for k, v in new_claims.items() if old_claims.get(k) != v}
        release = {k: v for k, v in old_claims.items() if new_claims.get(k) != v}
        if "email" in release and self._repo.claim_owner("email", release["email"]) != before.id:
            del release["email"]  # this customer never owned that email's claim
        if refuse_duplicates and ("email" in claim or dedupe_of(after) != dedupe_of(before)):
            self._refuse_duplicates(after, claim.get("email"), exclude=before.id)
        if "email" in claim and self._repo.claim_owner("email", claim["email"]) not in (None, before.id):
            del claim["email"]
        entry = HistoryEntry(at=now, by=actor, action=action, changes=diff)
        try:
            self._repo.update(before, after, customer_terms(before), customer_terms(after), entry, claim, release,
                              dedupe_of(after))
        except StaleVersion:
            current = self._repo.get(before.id, consistent=True)
            raise _stale(current.version if current else before.version) from None
        except ClaimTaken as taken:
            raise self._claim_error(taken, after) from None
        return after

    # ---- delete -----------------------------------------------------------------------------------

    def delete(self, customer_id: str, delete_history: bool, actor: str) -> None:
        """Delete a customer without transactions. Its history stays (with a tombstone saying who deleted it)
        unless ``delete_history``. Deleting again finishes a deletion that was interrupted."""
        customer = self._repo.get(customer_id, consistent=True)
        if customer is None:
            tombstone = self._repo.tombstone(customer_id)
            if tombstone is None:
                raise NotFound(f"customer {customer_id} does not exist")
            self._purge(customer_id, tombstone, delete_history, actor)
            return
        if self._repo.has_transactions(customer_id):
            raise _has_transactions(customer)
        now = utcnow()
        released = {k: v for k, v in claims_of(customer).items()
                    if k == "username" or self._repo.claim_owner(k, v) == customer.id}
        tombstone = {"customer_id": customer.id, "customer_number": customer.customer_number,
                     "name": customer.display_name, "deleted_at": iso(now), "deleted_by": actor,
                     "terms": [list(t) for t in sorted(customer_terms(customer))]}
        entry = HistoryEntry(at=now, by=actor, action="deleted", changes=[])
        try:
            self._repo.delete(customer, released, entry, tombstone)
        except StaleVersion:
            raise Conflict("the customer changed while it was being deleted; look again and retry") from None
        except HasTransactions:
            raise _has_transactions(customer) from None
        self._purge(customer_id, tombstone, delete_history, actor)

    def delete_many(self, ids: list[str], delete_history: bool, actor: str) -> list[BulkOutcome]:
        outcomes = []
        for customer_id in dict.fromkeys(ids):
            try:
                self.delete(customer_id, delete_history, actor)
            except DomainError as refused:
                outcomes.append(BulkOutcome(id=customer_id, outcome="refused", code=refused.code,
                                            message=refused.message))
            else:
                outcomes.append(BulkOutcome(id=customer_id, outcome="deleted"))
        return outcomes

    def _purge(self, customer_id: str, tombstone: dict[str, Any], delete_history: bool, actor: str) -> None:
        """Remove what the deleted customer left: its records, search terms, the other side of its links."""
        keep = () if delete_history else ("HIST#", "TOMBSTONE")
        keys: list[tuple[str, str]] = []
        links: list[tuple[str, str]] = []
        for item in self._repo.partition(customer_id):
            if not keep or not str(item["SK"]).startswith(keep):
                keys.append((item["PK"], item["SK"]))
            if str(item["SK"]).startswith("REL#"):
                links.append((item["related_id"], item["SK"]))
        keys += self._repo.search_item_keys(customer_id, {(t, f) for t, f in tombstone.get("terms", [])})
        keys += [(customer_pk(other), sk) for other, sk in links]
        keys.append((login_pk(customer_id), LOGIN))  # the web login, kept in a partition of its own
        self._repo.remove_items(keys)
        now = utcnow()
        for other, sk in links:
            self._repo.add_history(other, HistoryEntry(at=now, by=actor, action="relationship_removed", changes=[
                FieldChange(field=f"relationships.{sk.removeprefix('REL#')}",
                            old={"related_id": customer_id, "reason": "the related customer was deleted"})]))

    # ---- status and email preferences -------------------------------------------------------------

    def status_options(self, customer_id: str) -> StatusOptions:
        customer = self._current(customer_id)
        return StatusOptions(status=customer.status, inactive_reason=customer.inactive_reason,
                             version=customer.version, actions=options(customer))

    def change_status(self, customer_id: str, action: StatusAction, actor: str) -> Customer:
        return self._update(customer_id, actor, f"status_{action}", lambda c: transition(c, action))

    def set_email_preferences(self, customer_id: str, wanted: EmailPreferencesPut, actor: str) -> Customer:
        def updates(c: Customer) -> dict[str, Any]:
            refuse_merged(c)
            chosen = wanted.model_dump(exclude_none=True)
            return {"email_preferences": c.email_preferences.model_copy(update=chosen)}

        return self._update(customer_id, actor, "email_preferences_changed", updates)

    def set_staff(self, customer_id: str, staff: list[str], actor: str) -> Customer:
        def updates(c: Customer) -> dict[str, Any]:
            refuse_merged(c)
            return {"assigned_staff": self._staff("staff", staff, c.assigned_staff)}

        return self._update(customer_id, actor, "staff_assigned", updates)

    def assign(self, ids: list[str], staff_user: str, actor: str, add: bool) -> list[BulkOutcome]:
        """Assign (or unassign) one staff user to each customer; an outcome per id. Only a staff user of the
        directory may be assigned; one who has left can still be unassigned."""
        if add:
            staff_user = self._known_staff("staff_user", [staff_user])[0]

        def updates(c: Customer) -> dict[str, Any]:
            refuse_merged(c)
            if not add:
                return {"assigned_staff": [s for s in c.assigned_staff if s != staff_user]}
            if staff_user in c.assigned_staff:
                return {}
            if len(c.assigned_staff) >= MAX_STAFF:
                raise Conflict(f"customer {c.customer_number} already has {MAX_STAFF} assigned staff")
            return {"assigned_staff": [*c.assigned_staff, staff_user]}

        outcomes = []
        for customer_id in dict.fromkeys(ids):
            try:
                before = self._current(customer_id)
                after = self._update(customer_id, actor, "staff_assigned" if add else "staff_unassigned", updates)
            except DomainError as refused:
                outcomes.append(BulkOutcome(id=customer_id, outcome="refused", code=refused.code,
                                            message=refused.message))
                continue
            changed = after.assigned_staff != before.assigned_staff
            outcome = ("assigned" if add else "unassigned") if changed else "unchanged"
            outcomes.append(BulkOutcome(id=customer_id, outcome=outcome))
        return outcomes

    def _update(self, customer_id: str, actor: str, action: str,
                updates: Callable[[Customer], dict[str, Any]], attempts: int = 3) -> Customer:
        """Read, change and write the profile; a concurrent edit in between makes it start again."""
        for _ in range(attempts):
            before = self._current(customer_id)
            after = before.model_copy(update=updates(before))
            diff = field_changes(before, after)
            if not diff:
                return before
            now = utcnow()
            after = after.model_copy(update={"version": before.version + 1, "updated_at": now, "updated_by": actor})
            terms = customer_terms(before)
            entry = HistoryEntry(at=now, by=actor, action=action, changes=diff)
            try:
                self._repo.update(before, after, terms, terms, entry, {}, {}, dedupe_of(after))
            except StaleVersion:
                continue
            return after
        raise RetryLater("the customer is being changed by others; retry shortly")

    def _current(self, customer_id: str) -> Customer:
        customer = self._repo.get(customer_id, consistent=True)
        if customer is None:
            raise NotFound(f"customer {customer_id} does not exist")
        return customer

    # ---- search ------------------------------------------------------------------------------------

    def search(self, params: SearchParams) -> CustomerPage:
        limit = params.limit or self._paging.default
        scope = self._cursors.scope_of("customers", params.model_dump(exclude={"cursor", "limit"}))
        after = self._cursors.decode(params.cursor, scope) if params.cursor else None
        if params.q:
            items, resume = self._keyword_page(params, after, limit)
        elif params.assigned_to:
            items, resume = self._assigned_page(params, after, limit)
        else:
            # The "registered in the last N days" list pages through the registration indexes themselves.
            since = utcnow() - timedelta(days=params.registered_within_days or DEFAULT_WINDOW_DAYS)
            ordered = self._repo.registered_page(since, after, limit + 1, params.type, params.status)
            found = self._repo.get_many(ordered[:limit]) if ordered else {}
            items = [found[i] for i in ordered[:limit] if i in found]
            resume = ordered[limit - 1] if len(ordered) > limit else None
        return CustomerPage(items=items, next_cursor=self._cursors.encode(scope, resume) if resume else None)

    def _keyword_page(self, params: SearchParams, after: str | None, limit: int) -> tuple[list[Customer], str | None]:
        """A page of the customers matching every keyword, newest first, and where the next page starts.

        One search partition is walked newest first (see ``_plan``) and each customer it gives is checked on
        its profile (keywords, type, status, staff), until the page is full. A page reads at most
        ``READ_PAGES_AT_MOST`` pages' worth of items: past that it is answered with what was found and a cursor
        that goes on from where the walk stopped, so no keystroke reads the whole of a common word.
        """
        words = query_words(params.q or "")
        if not words:
            raise Invalid("q needs a word of at least 2 letters or digits",
                          fields=[field_error("q", "needs a word of at least 2 letters or digits")])
        fields = set(params.fields or SEARCH_FIELDS)
        narrowed = None if fields == set(SEARCH_FIELDS) else fields
        window = params.registered_within_days
        lowest = min_id_at(utcnow() - timedelta(days=window)) if window else None
        wanted = limit + 1  # one more than the page tells whether there is a next one
        budget = READ_PAGES_AT_MOST * wanted

        def keeps(c: Customer) -> bool:
            return (_has_words(c, words, fields) and params.type in (None, c.type)
                    and params.status in (None, c.status)
                    and params.assigned_to in (None, *c.assigned_staff))

        direct = pair_partition(words, LONG_PAIR)
        if direct:
            (pk, checked), page, read = direct, None, 0
        else:
            probe = self._repo.postings(prefix_pk(words[0]), after, lowest, wanted, _checked(words, narrowed),
                                        narrowed)
            pk, checked, page = self._plan(words, narrowed, probe)
            read = probe.scanned
        shown: list[Customer] = []
        below, size = after, wanted
        while True:
            if page is None:
                page = self._repo.postings(pk, below, lowest, size, checked, narrowed)
                read += page.scanned
            kept_before, candidates = len(shown), page.ids
            while candidates and len(shown) < wanted:
                batch, candidates = candidates[:wanted - len(shown)], candidates[wanted - len(shown):]
                profiles = self._repo.get_many(batch)
                read += len(profiles)
                shown += [profiles[i] for i in batch if i in profiles and keeps(profiles[i])]
            if len(shown) >= wanted:
                return shown[:limit], shown[limit - 1].id
            if page.last is None:
                return shown, None
            below = page.last
            if read >= budget:
                return shown, below
            # Read the next stretch in proportion to how rarely the last one kept an item.
            kept = len(shown) - kept_before
            size = min(LARGEST_READ, budget - read,
                       max(wanted - len(shown), (wanted - len(shown)) * page.scanned // max(kept, 1)))
            page = None

    @staticmethod
    def _plan(words: list[str], fields: set[str] | None,
              probe: PostingPage) -> tuple[str, list[str], PostingPage | None]:
        """Which search partition to walk, the keywords its items check, and its first read if that is the probe.

        Two keywords of four characters or more never get here: they read their four-character pair partition
        straight away (about their combination's matches). Otherwise the probe is the first page-sized read of
        the longest keyword's prefix partition, which holds exactly that keyword's matches. If it ended there
        (a rare word), or it checks every keyword, it is the walk. Otherwise, with two keywords or more, the
        two-character pair partition of two of them (not all digits, different first two characters) holds
        about the customers having both, so "ja sm" as typed reads about its combination, not either word; the
        keywords starting with the pair's two starts are checked on its items, any other on the profiles.
        """
        lead = words[0]
        pair = pair_partition(words, PAIR_STARTS[0])
        if probe.last is None or all(w.startswith(lead) for w in words) or pair is None:
            return prefix_pk(lead), _checked(words, fields), probe
        return pair[0], pair[1], None

    def _assigned_page(self, params: SearchParams, after: str | None, limit: int) -> tuple[list[Customer], str | None]:
        """A staff user's customers, newest first, of a type and/or status if asked, a page read at a time."""
        window = params.registered_within_days
        lowest = min_id_at(utcnow() - timedelta(days=window)) if window else None
        ordered = self._repo.assigned_page(params.assigned_to or "", lowest, after, limit + 1, params.type,
                                           params.status)
        found = self._repo.get_many(ordered[:limit]) if ordered else {}
        return [found[i] for i in ordered[:limit] if i in found], ordered[limit - 1] if len(ordered) > limit else None

    # ---- history -----------------------------------------------------------------------------------

    def history(self, customer_id: str, limit: int | None, cursor: str | None) -> HistoryPage:
        size = limit or self._paging.default
        if self._repo.get(customer_id) is None and self._repo.tombstone(customer_id) is None:
            raise NotFound(f"customer {customer_id} does not exist")
        scope = self._cursors.scope_of("history", customer_id)
        after = self._cursors.decode(cursor, scope) if cursor else None
        entries, last = self._repo.history(customer_id, size, after)
        return HistoryPage(items=entries, next_cursor=self._cursors.encode(scope, last) if last else None)


def _checked(words: list[str], fields: set[str] | None) -> list[str]:
    """The keywords the longest one's prefix items check: those it starts (none needed for it alone, in any field)."""
    checked = [w for w in words if w.startswith(words[0])]
    return checked if fields or len(checked) > 1 else []


def _has_words(customer: Customer, keywords: list[str], fields: set[str]) -> bool:
    terms = [term for term, field in customer_terms(customer) if field in fields]
    return all(any(term.startswith(word) for term in terms) for word in keywords)


def _has_transactions(customer: Customer) -> CustomerHasTransactions:
    return CustomerHasTransactions(f"customer {customer.customer_number} has transactions and cannot be deleted")


def _stale(current_version: int) -> VersionConflict:
    return VersionConflict(
        f"the customer was changed by someone else; it is now at version {current_version}",
        fields=[field_error("version", "is stale")], current_version=current_version)


def _check_patch(before: Customer, changes: dict[str, Any]) -> None:
    problems = []
    own = _TYPE_FIELDS[before.type]
    for field in ("first_name", "last_name"):
        if field in changes and before.type == "organization":
            problems.append(field_error(field, "does not apply to an organization"))
    for field in own:
        if field in changes and changes[field] is None:
            problems.append(field_error(field, f"is required for an {before.type}"))
    if "username" in changes and before.username and changes["username"] != before.username:
        problems.append(field_error("username", "cannot be changed once saved"))
    if "username" in changes and changes["username"] is None and before.username:
        problems.append(field_error("username", "cannot be removed once saved"))
    if problems:
        raise Invalid("the changes are not valid for this customer", fields=problems)
    for field in ("answers", "assigned_staff"):
        if field in changes and changes[field] is None:
            changes[field] = {} if field == "answers" else []


def diffable(c: Customer) -> dict[str, Any]:
    """The fields history tracks, nested ones flattened so it says ``address.postcode``, not the whole address."""
    values = c.model_dump(mode="json", include=set(EDITABLE) | set(TRACKED))
    address = values.pop("address", None) or {}
    values.update({f"address.{part}": address.get(part) for part in Address.model_fields})
    preferences = values.pop("email_preferences")
    values.update({f"email_preferences.{k}": v for k, v in preferences.items()})
    return values


def field_changes(before: Customer, after: Customer) -> list[FieldChange]:
    old, new = diffable(before), diffable(after)
    return [FieldChange(field=f, old=old[f], new=new[f]) for f in old if old[f] != new[f]]
