"""Password hashing, the rules for new passwords, temporary passwords and reset tokens (OWASP cheat sheets).

Argon2 at the real parameters takes a few hundred milliseconds a hash on a small machine, so the tests share
one stored hash and the timing check runs on a lighter hasher (the same code path, cheaper parameters).
"""

from __future__ import annotations

import base64
import re
import unicodedata
from collections.abc import Iterator

import pytest
from argon2 import PasswordHasher, Type, extract_parameters

from crm_core import passwords
from crm_core.passwords import (
    check_new_password,
    hash_password,
    needs_rehash,
    new_token,
    random_password,
    same_token,
    token_hash,
    verify_password,
    verify_unknown,
)

PASSWORD = "Café au lait, 3 sugars"  # "é" as one code point (NFC), as most keyboards send it


@pytest.fixture(scope="module")
def stored() -> str:
    return hash_password(PASSWORD)


def test_hash_is_argon2id_at_least_as_strong_as_the_library_defaults(stored: str) -> None:
    # Given a password hashed for storage
    # Then it is Argon2id, and no parameter is below argon2-cffi's defaults
    assert stored.startswith("$argon2id$v=19$")
    found, defaults = extract_parameters(stored), PasswordHasher()
    assert found.type is Type.ID
    assert found.memory_cost >= defaults.memory_cost >= 19 * 1024  # and above OWASP's 19 MiB floor
    assert found.time_cost >= defaults.time_cost
    assert found.parallelism >= defaults.parallelism
    assert found.salt_len >= defaults.salt_len and found.hash_len >= defaults.hash_len
    assert PASSWORD not in stored


def test_the_same_password_hashes_differently_each_time(stored: str) -> None:
    assert hash_password(PASSWORD) != stored  # a fresh salt each time


def test_the_right_password_verifies_and_a_wrong_one_does_not(stored: str) -> None:
    assert verify_password(stored, PASSWORD) is True
    assert verify_password(stored, PASSWORD.upper()) is False


@pytest.mark.parametrize("broken", ["", "not a hash", "$argon2id$v=19$m=65536,t=3,p=4$", "$2b$12$" + "a" * 53])
def test_a_malformed_hash_is_false_not_an_error(broken: str) -> None:
    assert verify_password(broken, PASSWORD) is False


def test_text_that_cannot_be_encoded_is_false_not_an_error(stored: str) -> None:
    assert verify_password(stored, "lone surrogate \ud800 here") is False


def test_a_password_typed_in_decomposed_form_verifies(stored: str) -> None:
    # Given the password stored as typed with a precomposed "é"
    # When it is typed as "e" + combining acute accent
    decomposed = unicodedata.normalize("NFD", PASSWORD)
    assert decomposed != PASSWORD
    # Then it is the same password
    assert verify_password(stored, decomposed) is True


def test_full_width_forms_are_the_same_password() -> None:
    assert passwords.normalise("\uff30\uff41\uff53\uff53") == "Pass"  # full-width "Pass": NFKC, not merely NFC


def test_a_hash_with_weaker_parameters_still_verifies_and_needs_a_rehash(stored: str) -> None:
    # Given a hash made with weaker parameters than today's (an older deployment)
    weak = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash(PASSWORD)
    # Then it still verifies, and asks to be replaced; today's hash does not
    assert verify_password(weak, PASSWORD) is True
    assert needs_rehash(weak) is True
    assert needs_rehash(stored) is False


def test_another_argon2_variant_or_an_unreadable_hash_needs_a_rehash(stored: str) -> None:
    argon2i = stored.replace("$argon2id$", "$argon2i$", 1)  # same parameters, another variant
    assert needs_rehash(argon2i) is True
    assert needs_rehash("not a hash") is True


def test_the_dummy_hash_for_unknown_accounts_uses_the_same_parameters(stored: str) -> None:
    # Given the dummy that unknown accounts are verified against
    assert verify_unknown(PASSWORD) is False
    # Then it costs what a real account's hash costs
    dummy = passwords._dummy_hash()
    assert extract_parameters(dummy) == extract_parameters(stored)
    assert passwords._dummy_hash() is dummy  # made once


@pytest.fixture
def light_hasher(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(passwords, "_HASHER", PasswordHasher(time_cost=2, memory_cost=16384, parallelism=1))
    passwords._dummy_hash.cache_clear()
    yield
    passwords._dummy_hash.cache_clear()


@pytest.mark.usefixtures("light_hasher")
def test_an_unknown_account_does_the_same_work_as_a_known_one(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a known account's hash, and every Argon2 verification watched
    known = hash_password(PASSWORD)
    verified: list[str | bytes] = []

    class Watched(PasswordHasher):
        def verify(self, hash: str | bytes, password: str | bytes) -> bool:
            verified.append(hash)
            return super().verify(hash, password)

    used = passwords._HASHER
    monkeypatch.setattr(passwords, "_HASHER", Watched(
        time_cost=used.time_cost, memory_cost=used.memory_cost, parallelism=used.parallelism,
        hash_len=used.hash_len, salt_len=used.salt_len, type=used.type))
    # When a wrong password is tried against the known account and against an unknown one
    assert verify_password(known, "a wrong guess at it") is False
    assert verify_unknown("a wrong guess at it") is False
    assert verify_unknown(PASSWORD) is False
    # Then each ran one real Argon2 verification, the unknown one against a hash with the same parameters
    assert len(verified) == 3
    assert verified[0] == known
    assert verified[1] != known
    assert extract_parameters(str(verified[1])) == extract_parameters(known)


# ---- rules for a new password -------------------------------------------------------------------------------

GOOD = "correct horse battery staple"


def test_a_long_passphrase_without_composition_rules_is_fine() -> None:
    assert check_new_password(GOOD, "alovelace", "ada@example.org") == []
    assert check_new_password("twelve chars", None, None) == []  # exactly 12, lower case and a space
    assert check_new_password("mot de passe très sûr ☕", "ada", None) == []  # any Unicode


@pytest.mark.parametrize(("password", "problem"), [
    ("short pass1", "must be at least 12 characters"),
    ("", "must be at least 12 characters"),
    ("x" * 64 + "y" * 65, "must be at most 128 characters"),
    ("aaaaaaaaaaaaaaaa", "must not be a single character repeated"),
    ("ALovelace", "must not be or contain the username"),
    ("my name is alovelace!", "must not be or contain the username"),
    ("Ada.Lovelace@Example.org", "must not be the email address"),
    ("ada.lovelace", "must not be the email address"),
    ("QwertyUiop12", "is one of the most common passwords"),
    ("password123", "is one of the most common passwords"),
    ("tab\there and there", "must not contain control characters"),
    ("null\x00byte-at-the-end", "must not contain control characters"),
    ("lone surrogate \ud800 here", "must not contain unpaired surrogates"),
])
def test_each_rule_names_its_problem(password: str, problem: str) -> None:
    assert problem in check_new_password(password, "alovelace", "ada.lovelace@example.org")


def test_only_the_broken_rules_are_named() -> None:
    assert check_new_password("password123", None, None) == [
        "must be at least 12 characters", "is one of the most common passwords"]
    assert check_new_password("passwordpassword", None, None) == ["is one of the most common passwords"]
    assert check_new_password("a" * 129, None, None) == [
        "must be at most 128 characters", "must not be a single character repeated"]


def test_lengths_are_counted_after_normalisation() -> None:
    # Given 11 letters whose accents are typed as combining marks (more than 12 code points as typed)
    typed = unicodedata.normalize("NFD", "éééééabcdef")
    assert len(typed) > 12
    # Then it is 11 characters, too short
    assert check_new_password(typed, None, None) == ["must be at least 12 characters"]


def test_a_very_short_username_is_only_refused_as_the_whole_password() -> None:
    # A two-letter username would otherwise rule out half the dictionary
    assert check_new_password("al" * 6, "al", None) == []
    assert check_new_password("alpine meadows at dawn", "al", None) == []


# ---- temporary passwords and reset tokens -------------------------------------------------------------------

def test_random_passwords_are_readable_pass_the_rules_and_differ() -> None:
    made = {random_password() for _ in range(50)}
    assert len(made) == 50
    for password in made:
        assert len(password) >= 16
        assert not set(password) & set("0O1lI")
        assert check_new_password(password, "alovelace", "ada@example.org") == []


def test_a_token_carries_32_random_bytes_and_only_its_sha256_is_stored() -> None:
    token, stored = new_token()
    assert len(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))) == 32
    assert re.fullmatch(r"[A-Za-z0-9_-]+", token)  # safe in a link as it is
    assert re.fullmatch(r"[0-9a-f]{64}", stored)
    assert stored == token_hash(token) and token not in stored
    assert new_token()[0] != token


def test_same_token_compares_hashes() -> None:
    token, stored = new_token()
    assert same_token(stored, token_hash(token)) is True
    assert same_token(stored, token_hash(token + "x")) is False
    assert same_token(stored, "") is False
    assert same_token(stored, "é") is False  # odd input is False, not an error
