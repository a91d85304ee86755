"""Passwords and reset tokens, after the OWASP Password Storage and Forgot Password cheat sheets. No AWS here.

Passwords are hashed with Argon2id (argon2-cffi), pinned to argon2-cffi's defaults, which are RFC 9106's
"low memory" profile and stronger than OWASP's minimum (19 MiB, t=2, p=1):

- memory 64 MiB (``m=65536``), 3 passes (``t=3``), 4 lanes (``p=4``), a 16-byte random salt, a 32-byte tag.

The parameters travel inside each hash (``$argon2id$v=19$m=65536,t=3,p=4$…``), so a hash made with other
parameters still verifies; ``needs_rehash`` tells the caller to store a fresh hash after a good login.

Every password is normalised to Unicode NFKC before it is checked, hashed or verified (NIST SP 800-63B), so
the same password typed on a keyboard that sends "é" as one code point or as "e" + combining acute, or in
full-width forms, is the same password. Lengths are counted in code points after normalisation.

Rules for a new password (``check_new_password``) follow OWASP/NIST: a length of 12 to 128, no composition
rules, not the account's own username or email, not one character repeated, not one of the most common
passwords, and no control characters. Any other Unicode (spaces, accents, emoji) is allowed.

Reset tokens (``new_token``) are 32 random bytes from ``secrets``; only their SHA-256 is stored. A fast hash
is right here, unlike for passwords: 256 bits of entropy cannot be guessed, so slowing the hash buys nothing,
and a leaked table still does not hold a usable token.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import unicodedata
from functools import cache

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError

MIN_LENGTH = 12
MAX_LENGTH = 128
TEMPORARY_LENGTH = 20  # ~117 bits from a 57-character alphabet
TOKEN_BYTES = 32

TOO_SHORT = f"must be at least {MIN_LENGTH} characters"
TOO_LONG = f"must be at most {MAX_LENGTH} characters"
CONTROL = "must not contain control characters"
UNPAIRED = "must not contain unpaired surrogates"
ONE_CHARACTER = "must not be a single character repeated"
IS_USERNAME = "must not be or contain the username"
IS_EMAIL = "must not be the email address"
COMMON = "is one of the most common passwords"

# argon2-cffi's defaults (RFC 9106 low-memory profile), written out so a library upgrade cannot lower them.
_HASHER = PasswordHasher(time_cost=3, memory_cost=65536, parallelism=4, hash_len=32, salt_len=16, type=Type.ID)

# Readable: no 0/O, 1/l/I.
_TEMPORARY_ALPHABET = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"

# The commonest passwords that meet (or nearly meet) the length rule, as they appear in breach lists;
# compared case-insensitively. A deliberately small list: the length rule does most of the work.
_COMMON = frozenset({
    "password123", "password1234", "password12345", "password123!", "passw0rd1234", "p@ssw0rd1234",
    "passwordpassword", "qwertyuiop12", "qwertyuiop123", "qwerty123456", "123456qwerty", "qwertyqwerty",
    "123456789012", "1234567890123", "123123123123", "1q2w3e4r5t6y", "1qaz2wsx3edc", "zaq12wsxcde3",
    "qazwsxedcrfv", "asdfghjkl123", "abcdefghijkl", "abc123456789", "abcabcabcabc", "iloveyou1234",
    "welcome12345", "letmein12345", "changeme1234", "administrator", "football1234", "sunshine1234",
    "monkey123456", "trustno1trustno1",
})


def normalise(password: str) -> str:
    """The form that is checked, hashed and verified: Unicode NFKC."""
    return unicodedata.normalize("NFKC", password)


def hash_password(password: str) -> str:
    """An Argon2id hash (m=64 MiB, t=3, p=4, 16-byte salt, 32-byte tag) of the NFKC form of ``password``.

    Call ``check_new_password`` first: text with unpaired surrogates cannot be encoded and raises ValueError.
    """
    return _HASHER.hash(normalise(password))


def verify_password(stored_hash: str, password: str) -> bool:
    """Whether ``password`` matches ``stored_hash``; False (never an exception) for a wrong password or a
    malformed or unsupported hash."""
    try:
        return _HASHER.verify(stored_hash, normalise(password))
    except (VerificationError, InvalidHashError, UnicodeError):  # VerifyMismatchError is a VerificationError
        return False


def needs_rehash(stored_hash: str) -> bool:
    """Whether the hash was made with other parameters (or another Argon2 variant) than today's: after a good
    login, store ``hash_password(password)`` instead. A hash that cannot be read needs replacing too."""
    try:
        return _HASHER.check_needs_rehash(stored_hash)
    except InvalidHashError:
        return True


@cache
def _dummy_hash() -> str:
    """A hash of a random password nobody knows, made once (on first use) with the same parameters."""
    return _HASHER.hash(secrets.token_urlsafe(32))


def verify_unknown(password: str) -> bool:
    """Do the work of a verification for an account that does not exist, and answer False.

    A login or reset for an unknown username or email then takes as long as one for a known account, so the
    answer's timing does not tell which accounts exist.
    """
    verify_password(_dummy_hash(), password)
    return False


def check_new_password(password: str, username: str | None, email: str | None) -> list[str]:
    """The problems with a password someone chose (empty: it is fine). Each is a phrase about the password."""
    text = normalise(password)
    problems: list[str] = []
    if any(unicodedata.category(c) == "Cc" for c in text):
        problems.append(CONTROL)
    if any(unicodedata.category(c) == "Cs" for c in text):
        problems.append(UNPAIRED)
    if len(text) < MIN_LENGTH:
        problems.append(TOO_SHORT)
    if len(text) > MAX_LENGTH:
        problems.append(TOO_LONG)
    if text and len(set(text)) == 1:
        problems.append(ONE_CHARACTER)
    folded = text.casefold()
    name = normalise(username or "").strip().casefold()
    if name and (folded == name or (len(name) >= 3 and name in folded)):
        problems.append(IS_USERNAME)
    address = normalise(email or "").strip().casefold()
    if address and folded in (address, address.partition("@")[0]):
        problems.append(IS_EMAIL)
    if folded in _COMMON:
        problems.append(COMMON)
    return problems


def random_password() -> str:
    """A temporary password: 20 characters from ``secrets`` without look-alikes (0/O, 1/l/I); it passes
    ``check_new_password``."""
    while True:
        password = "".join(secrets.choice(_TEMPORARY_ALPHABET) for _ in range(TEMPORARY_LENGTH))
        if not check_new_password(password, None, None):
            return password


def new_token() -> tuple[str, str]:
    """A reset token to send (URL-safe base64 of 32 random bytes) and its hash to store (``token_hash``)."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    return token, token_hash(token)


def token_hash(token: str) -> str:
    """Hex SHA-256 of a token: what is stored and looked up. Fast on purpose (tokens carry 256 bits)."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def same_token(a_hash: str, b_hash: str) -> bool:
    """Constant-time comparison of two token hashes."""
    return hmac.compare_digest(a_hash.encode("utf-8", "surrogatepass"), b_hash.encode("utf-8", "surrogatepass"))
