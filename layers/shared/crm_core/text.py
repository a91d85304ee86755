"""Normalisation and tokenisation shared by the search index, duplicate detection and matching.

The index stores *word-start* terms: a keyword matches a field when it is the beginning of one of the
field's words (``love`` finds ``ada.lovelace@example.org``). Several keywords must all match.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

MIN_TERM = 2
MAX_TERM = 40
SEARCH_FIELDS = ("name", "customer_number", "email", "phone", "username", "postcode", "organization")

_WORD = re.compile(r"[0-9a-z]+")
_DIGITS = re.compile(r"\d+")
# A UK postcode typed with its space (or the start of one: "n1 9", "sw1a 2a"): outward code, then inward digit
_SPACED_POSTCODE = re.compile(r"\b([a-z]{1,2}[0-9][a-z0-9]?)\s+([0-9][a-z]{0,2})\b")


def fold(value: str) -> str:
    """Case- and accent-insensitive form: ``Zoë`` → ``zoe``."""
    decomposed = unicodedata.normalize("NFKD", value)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()


def words(value: str | None) -> list[str]:
    if not value:
        return []
    return [w[:MAX_TERM] for w in _WORD.findall(fold(value)) if len(w) >= MIN_TERM]


def normalise_email(email: str) -> str:
    return email.strip().casefold()


def normalise_postcode(postcode: str | None) -> str:
    return "".join(_WORD.findall(fold(postcode or "")))


def phone_terms(phone: str | None) -> set[str]:
    """Each group of digits as typed, the whole number, and its national form (``+44 20…`` → ``020…``)."""
    if not phone:
        return set()
    groups = _DIGITS.findall(phone)
    digits = "".join(groups)
    terms = {g for g in groups if len(g) >= MIN_TERM}
    if len(digits) >= MIN_TERM:
        terms.add(digits)
    if phone.strip().startswith("+") and len(groups) > 1:
        national = "".join(groups[1:])
        terms.update({national, "0" + national})
    return {t[:MAX_TERM] for t in terms}


def postcode_terms(postcode: str | None) -> set[str]:
    compact = normalise_postcode(postcode)
    terms = set(words(postcode))
    if len(compact) >= MIN_TERM:
        terms.add(compact[:MAX_TERM])
    return terms


def dedupe_key(name: str, postcode: str | None) -> str | None:
    """Same name and postcode → same key; ``None`` when either is missing."""
    folded_name = " ".join(_WORD.findall(fold(name)))
    compact = normalise_postcode(postcode)
    if not folded_name or not compact:
        return None
    return f"{folded_name}|{compact}"


def query_words(q: str) -> list[str]:
    """The distinct keywords of a search, longest first (the most selective is read first).

    A postcode typed with its space is one keyword, its compact form (``N1 9GU`` → ``n19gu``, the postcode's
    own term): it finds that postcode however it was stored, and reads that postcode's customers only.
    """
    return sorted(set(words(_SPACED_POSTCODE.sub(r"\1\2", fold(q)))), key=lambda w: (-len(w), w))


def terms_by_field(values: dict[str, Iterable[str]]) -> set[tuple[str, str]]:
    return {(term, field) for field, terms in values.items() for term in terms}
