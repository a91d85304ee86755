"""The search index of the customers table: which items make a customer findable, and how they are read.

A customer's search terms (``(term, field)`` pairs, see ``services.customers.customer_terms``) become:

- prefix items: ``S#<prefix>`` / ``<id>`` for every prefix of two characters or more of every term (``ja``,
  ``jam``, ``jame``, ``james``). A keyword is a prefix, so its matches are exactly one partition, and the ids
  (ULIDs) sort it by registration: a page newest first is one Query, backwards, with a ``Limit``.
- pair items, at two lengths of start: ``P#<x>#<y>`` / ``<id>`` for every two different two-character starts
  ``x < y`` of the customer's terms that are not all digits (``P#ja#sm`` for James Smith), and the same for
  every two different four-character starts of its terms of four characters or more (``P#jame#smit``). Two
  words of four characters or more ("James Smith") read the four-character pair partition, which holds
  about the customers having both words (and few others: a Jameson Smithers), so they cost about their
  combination's matches, not either word's; shorter words ("ja sm", as typed) walk the two-character one.

Each item carries ``w``: the customer's terms that start with the item's prefix (or with either start of a
pair), as `` <field>:<term>`` tokens. A Query's filter checks the keywords (and the fields searched) on them
without reading profiles: ``contains(w, ' email:jame')`` is "a word of the email starts with jame".

Everything here is derived from the terms alone, so the customer service, the import and the index rebuild
all write the same items through ``CustomerRepository``, which also reads them (``postings``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from crm_core.models.customer import Customer
from crm_core.text import phone_terms, postcode_terms, words

PREFIX = "S#"
PAIR = "P#"
MIN_PREFIX = 2
PAIR_STARTS = (2, 4)  # a pair item is keyed by the first two (or four) characters of each of two terms
LONG_PAIR = PAIR_STARTS[-1]

Term = tuple[str, str]  # (term, field)
ItemKey = tuple[str, str]  # (PK, SK)


def customer_terms(c: Customer) -> set[Term]:
    """The (term, field) pairs that make a customer findable."""
    by_field: dict[str, set[str]] = {
        "name": set(words(c.first_name)) | set(words(c.last_name)) | set(words(c.organization_name)),
        "organization": set(words(c.organization_name)),
        "customer_number": {c.customer_number},
        "email": set(words(c.email)),
        "phone": phone_terms(c.phone),
        "username": set(words(c.username)) | ({c.username} if c.username and c.username.isalnum() else set()),
        "postcode": postcode_terms(c.address.postcode if c.address else None),
    }
    return {(term, field) for field, terms in by_field.items() for term in terms}


def prefix_pk(prefix: str) -> str:
    return f"{PREFIX}{prefix}"


def pair_pk(a: str, b: str, size: int = PAIR_STARTS[0]) -> str:
    """The pair partition of the ``size``-character starts of two terms or words (in either order)."""
    x, y = sorted((a[:size], b[:size]))
    return f"{PAIR}{x}#{y}"


def pairable(term: str) -> bool:
    """Terms that take part in pair items: not digits alone (phone and customer numbers have prefix items only)."""
    return not term.isdigit()


def _tokens(terms: list[Term]) -> str:
    return "".join(f" {field}:{term}" for term, field in sorted(terms, key=lambda t: (t[1], t[0])))


def search_items(customer_id: str, terms: set[Term]) -> dict[ItemKey, dict[str, Any]]:
    """Every search item of a customer with these terms, by key (plain values, ready for a put)."""
    by_prefix: dict[str, list[Term]] = {}
    for term, field in terms:
        for size in range(MIN_PREFIX, len(term) + 1):
            by_prefix.setdefault(term[:size], []).append((term, field))
    items = {(prefix_pk(p), customer_id): {"PK": prefix_pk(p), "SK": customer_id, "w": _tokens(found)}
             for p, found in by_prefix.items()}
    for size in PAIR_STARTS:
        starts = sorted({t[:size] for t, _ in terms if pairable(t) and len(t) >= size})
        for i, x in enumerate(starts):
            for y in starts[i + 1:]:
                found = [(t, f) for t, f in terms if t.startswith((x, y))]
                pk = pair_pk(x, y, size)
                items[(pk, customer_id)] = {"PK": pk, "SK": customer_id, "w": _tokens(found)}
    return items


def pair_partition(words: list[str], size: int) -> tuple[str, list[str]] | None:
    """The pair partition of ``size``-character starts that holds every customer having all ``words`` (as word
    starts), and the words its items can check (those starting with one of its two starts); None when no two
    words, not all digits and of ``size`` characters or more, differ in their first ``size`` characters. The
    first such two in ``words``' order are taken (longest first: the most selective)."""
    usable = [w for w in words if pairable(w) and len(w) >= size]
    for n, a in enumerate(usable):
        for b in usable[n + 1:]:
            if a[:size] != b[:size]:
                return pair_pk(a, b, size), [w for w in words if w.startswith((a[:size], b[:size]))]
    return None


@dataclass(frozen=True)
class SearchItemChanges:
    """What a change of terms does to a customer's search items: items to put (new or changed), keys to delete."""

    put: list[dict[str, Any]]
    delete: list[ItemKey]


def search_item_changes(customer_id: str, before: set[Term], after: set[Term]) -> SearchItemChanges:
    if before == after:
        return SearchItemChanges([], [])
    old, new = search_items(customer_id, before), search_items(customer_id, after)
    return SearchItemChanges(put=[item for k, item in sorted(new.items()) if old.get(k) != item],
                             delete=sorted(k for k in old if k not in new))


def is_search_item(pk: str) -> bool:
    return pk.startswith((PREFIX, PAIR))


def keyword_filter(words: list[str], fields: set[str] | None, names: dict[str, str],
                   values: dict[str, Any]) -> str:
    """A filter expression: each word starts a term (of one of ``fields``; ``None``: any) on the item's ``w``."""
    names["#w"] = "w"
    clauses = []
    for n, word in enumerate(words):
        options = []
        for m, field in enumerate(sorted(fields) if fields else [""]):
            values[f":w{n}_{m}"] = {"S": f" {field}:{word}" if field else f":{word}"}
            options.append(f"contains(#w, :w{n}_{m})")
        clauses.append(options[0] if len(options) == 1 else "(" + " OR ".join(options) + ")")
    return " AND ".join(clauses)


@dataclass
class PostingPage:
    """One Query's answer over a search partition: the ids that passed the filter, newest first."""

    ids: list[str]
    scanned: int
    last: str | None  # the last id read (None: the partition has nothing more below it)
