"""Signed, non-expiring unsubscribe tokens and the URLs that carry them.

A token is ``base64url(payload || tag)`` without padding, where ``payload`` is compact JSON
``{"p":"unsubscribe","c":<customer id>,"m":<mailing id>}`` and ``tag`` the first 16 bytes (128 bits) of
HMAC-SHA256 over the payload, as ``crm_core.cursor`` signs its cursors. The purpose tag keeps a value
signed with the same key for another use (a cursor, say) from passing as an unsubscribe token.

Tokens do not expire: an unsubscribe link must keep working for as long as the email sits in someone's
inbox. They carry no secret (ids only) and grant one thing: unsubscribing that customer.

``urls`` gives the same URL twice, on purpose: ``GET /public/unsubscribe?token=…`` shows a page with a
confirm button and never unsubscribes by itself (link scanners and previews follow links), while a
``POST`` to the same URL with the body ``List-Unsubscribe=One-Click`` (RFC 8058, sent by the mail client
from the ``List-Unsubscribe`` header) unsubscribes at once.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
from typing import Any
from urllib.parse import quote, urlsplit

from crm_core.errors import BadToken

PURPOSE = "unsubscribe"
PATH = "/public/unsubscribe"
TAG_BYTES = 16
MAX_TOKEN_CHARS = 1024
MIN_KEY_BYTES = 16
_TOKEN = re.compile(r"^[A-Za-z0-9_-]+$")
_UNSAFE_URL = re.compile(r"[\x00-\x20\x7f-\x9f\u2028\u2029<>\"\\]")
_LOOPBACK = frozenset({"localhost", "127.0.0.1", "::1"})


class UnsubscribeSigner:
    def __init__(self, key: bytes) -> None:
        if len(key) < MIN_KEY_BYTES:
            raise ValueError(f"the unsubscribe signing key must be at least {MIN_KEY_BYTES} bytes")
        self._key = bytes(key)

    def _tag(self, payload: bytes) -> bytes:
        return hmac.new(self._key, payload, hashlib.sha256).digest()[:TAG_BYTES]

    def token(self, customer_id: str, mailing_id: str) -> str:
        if not customer_id or not mailing_id:
            raise ValueError("customer_id and mailing_id must not be empty")
        payload = json.dumps({"p": PURPOSE, "c": customer_id, "m": mailing_id}, separators=(",", ":"),
                             ensure_ascii=True).encode()
        return base64.urlsafe_b64encode(payload + self._tag(payload)).decode().rstrip("=")

    def read(self, token: str) -> tuple[str, str]:
        """``(customer_id, mailing_id)`` of a token this signer issued; ``BadToken`` for anything else."""
        if not isinstance(token, str) or not 0 < len(token) <= MAX_TOKEN_CHARS or not _TOKEN.match(token):
            raise BadToken
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        except (binascii.Error, ValueError):
            raise BadToken from None
        # One spelling per token: base64 leaves spare bits in the last character, which decoding ignores.
        if len(raw) <= TAG_BYTES or base64.urlsafe_b64encode(raw).decode().rstrip("=") != token:
            raise BadToken
        payload, tag = raw[:-TAG_BYTES], raw[-TAG_BYTES:]
        if not hmac.compare_digest(tag, self._tag(payload)):
            raise BadToken
        try:
            data: Any = json.loads(payload)
        except ValueError:
            raise BadToken from None
        if not isinstance(data, dict) or data.get("p") != PURPOSE:
            raise BadToken
        customer_id, mailing_id = data.get("c"), data.get("m")
        if not isinstance(customer_id, str) or not isinstance(mailing_id, str) or not customer_id or not mailing_id:
            raise BadToken
        return customer_id, mailing_id

    @staticmethod
    def urls(base_url: str, token: str) -> tuple[str, str]:
        """``(page_url, one_click_url)``: where the footer link goes (GET: a confirm page) and what the
        ``List-Unsubscribe`` header names (POST ``List-Unsubscribe=One-Click``). Both are the same URL.

        ``base_url`` is the public API's root, e.g. ``https://api.example.org/prod``; it must be https
        (plain http only on a loopback host, for the local stack)."""
        base = base_url.rstrip("/")
        parts = urlsplit(base)
        secure = parts.scheme == "https" or (parts.scheme == "http" and parts.hostname in _LOOPBACK)
        if not secure or not parts.hostname or parts.query or parts.fragment or _UNSAFE_URL.search(base):
            raise ValueError("base_url must be an https URL without query, fragment or spaces")
        url = f"{base}{PATH}?token={quote(token, safe='')}"
        return url, url
