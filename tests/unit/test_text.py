"""Normalisation and the terms that make a customer findable."""

from __future__ import annotations

from datetime import UTC, datetime

from crm_core.dal.search import customer_terms
from crm_core.models.customer import Address, Customer
from crm_core.text import dedupe_key, phone_terms, postcode_terms, query_words, words


def _customer(**fields: object) -> Customer:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    base = {"id": "01M84C74A9P5N5ACTCTPRJECSQ", "customer_number": "100001", "type": "individual", "version": 1,
            "created_at": now, "updated_at": now, "created_by": "t", "updated_by": "t"}
    return Customer.model_validate({**base, **fields})


def test_words_fold_case_and_accents_and_drop_single_letters() -> None:
    # Given a name with accents, capitals, punctuation and an initial
    # When it is split into words
    # Then the words are folded and the lone initial is dropped
    assert words("Zoë  O'Brien-Smith J.") == ["zoe", "brien", "smith"]


def test_phone_terms_cover_groups_whole_number_and_national_form() -> None:
    terms = phone_terms("+44 20 7946 0000")
    assert {"7946", "0000", "442079460000", "2079460000", "02079460000"} <= terms
    assert phone_terms(None) == set()


def test_postcode_terms_match_spaced_and_compact_forms() -> None:
    assert postcode_terms("N1 9GU") == {"n1", "9gu", "n19gu"}


def test_dedupe_key_ignores_case_spacing_and_accents_but_needs_a_postcode() -> None:
    assert dedupe_key("Zoë  O'Brien", "d02 x285") == dedupe_key("zoe o brien", "D02X285")
    assert dedupe_key("Ada Lovelace", None) is None


def test_query_words_are_distinct_and_longest_first() -> None:
    assert query_words("ada Lovelace ADA x") == ["lovelace", "ada"]


def test_a_postcode_typed_with_its_space_is_one_keyword() -> None:
    assert query_words("N1 9GU") == query_words("n19gu") == ["n19gu"]
    assert query_words("Lovelace SW1A 2A") == ["lovelace", "sw1a2a"]
    assert query_words("N1 9") == ["n19"]  # as typed
    assert query_words("020 7946") == ["7946", "020"]  # digits alone are not a postcode
    assert query_words("ada n1") == ["ada", "n1"]


def test_customer_terms_index_each_search_field() -> None:
    # Given a customer with every searchable field
    customer = _customer(first_name="Ada", last_name="Lovelace", username="alovelace",
                         email="ada.lovelace@example.org", phone="+44 20 7946 0000",
                         organization_name="Analytical Engines",
                         address=Address(postcode="N1 9GU"))
    # When its terms are computed
    terms = customer_terms(customer)
    # Then each field contributes its words under its own name
    assert ("lovelace", "name") in terms
    assert ("analytical", "organization") in terms and ("analytical", "name") in terms
    assert ("100001", "customer_number") in terms
    assert ("example", "email") in terms
    assert ("02079460000", "phone") in terms
    assert ("alovelace", "username") in terms
    assert ("n19gu", "postcode") in terms
