"""The search items a customer's terms make, and what a change of terms does to them."""

from __future__ import annotations

from crm_core.dal.search import keyword_filter, pair_partition, pair_pk, search_item_changes, search_items

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
                              ("07700900123", "phone"), ("jameson", "email")})
    pairs = sorted(pk for pk, _ in items if pk.startswith("P#"))
    # two-character starts of every term but the phone's; four-character starts of the terms that long
    assert pairs == ["P#9g#ja", "P#9g#n1", "P#9g#sm", "P#ja#n1", "P#ja#sm", "P#jame#smit", "P#n1#sm"]
    assert items[("P#ja#sm", ID)]["w"] == " email:jameson name:james name:smith"
    assert items[("P#jame#smit", ID)]["w"] == " email:jameson name:james name:smith"
    assert pair_pk("smith", "james") == pair_pk("ja", "sm") == "P#ja#sm"
    assert pair_pk("smithson", "james", 4) == "P#jame#smit"


def test_the_pair_partition_of_a_search_holds_every_customer_with_all_its_words() -> None:
    # Two words of four characters or more: their four-character pair, both words checked on its items
    assert pair_partition(["smithson", "james", "ad"], 4) == ("P#jame#smit", ["smithson", "james"])
    assert pair_partition(["smithson", "james", "ad"], 2) == ("P#ja#sm", ["smithson", "james"])
    # Words too short, all digits, or of the same start have none
    assert pair_partition(["lovelace", "ada"], 4) is None
    assert pair_partition(["020794", "lovelace"], 4) is None
    assert pair_partition(["jameson", "james"], 4) is None
    assert pair_partition(["jameson", "james", "ja"], 2) is None


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
