"""The search items a customer's terms make, and what a change of terms does to them."""

from __future__ import annotations

from crm_core.dal.search import keyword_filter, pair_pk, search_item_changes, search_items

ID = "01HZX0000000000000000000AA"


def test_every_prefix_of_every_term_has_one_item_holding_the_terms_it_starts() -> None:
    items = search_items(ID, {("james", "name"), ("james", "email"), ("jameson", "email")})
    prefixes = sorted(pk.removeprefix("S#") for pk, _ in items if pk.startswith("S#"))
    assert prefixes == ["ja", "jam", "jame", "james", "jameso", "jameson"]
    assert items[("S#james", ID)]["w"] == " email:james email:jameson name:james"
    assert items[("S#jameso", ID)]["w"] == " email:jameson"
    assert {sk for _, sk in items} == {ID}


def test_pairs_join_two_different_starts_of_terms_that_are_not_all_digits() -> None:
    items = search_items(ID, {("james", "name"), ("smith", "name"), ("n1", "postcode"), ("9gu", "postcode"),
                              ("07700900123", "phone")})
    pairs = sorted(pk for pk, _ in items if pk.startswith("P#"))
    assert pairs == ["P#9g#ja", "P#9g#n1", "P#9g#sm", "P#ja#n1", "P#ja#sm", "P#n1#sm"]
    assert items[("P#ja#sm", ID)]["w"] == " name:james name:smith"
    assert pair_pk("smith", "james") == pair_pk("ja", "sm") == "P#ja#sm"


def test_a_change_of_terms_puts_only_new_or_changed_items_and_deletes_the_gone() -> None:
    before = {("ada", "name"), ("lovelace", "name")}
    after = {("ada", "name"), ("adams", "name")}
    changes = search_item_changes(ID, before, after)
    assert sorted(i["PK"] for i in changes.put) == ["S#ad", "S#ada", "S#adam", "S#adams"]  # ad, ada: adams too
    assert sorted(pk for pk, _ in changes.delete) == ["P#ad#lo", "S#lo", "S#lov", "S#love", "S#lovel", "S#lovela",
                                                     "S#lovelac", "S#lovelace"]
    assert search_item_changes(ID, before, before).put == []


def test_the_filter_checks_each_word_at_the_start_of_a_term_of_the_fields_asked() -> None:
    names: dict[str, str] = {}
    values: dict[str, object] = {}
    any_field = keyword_filter(["ja", "smi"], None, names, values)
    assert any_field == "contains(#w, :w0_0) AND contains(#w, :w1_0)"
    assert values[":w0_0"] == {"S": ":ja"} and names == {"#w": "w"}
    narrowed = keyword_filter(["ja"], {"name", "email"}, names, values)
    assert narrowed == "(contains(#w, :w0_0) OR contains(#w, :w0_1))"
    assert values[":w0_0"] == {"S": " email:ja"} and values[":w0_1"] == {"S": " name:ja"}
