"""``RestAccounts``: the accounts adapter for a JSON accounting API, over HTTPS with the standard library.

The API it speaks (``tests/accounts_server.py`` implements exactly this, for tests and benchmarks). Every
request carries ``Authorization: Bearer <token>``; every answer is JSON.

``GET /accounts?ref=R`` / ``GET /accounts?email=E`` / ``GET /accounts?name=N&postcode=P``
    → 200 ``{"accounts": [{"ref", "name", "email", "postcode"}, …]}`` (empty list when none). The server
    matches the email case-insensitively and the name and postcode the way ``crm_core.text.dedupe_key``
    folds them (case, accents, punctuation, spacing). Other string fields of an account land in
    ``Account.extra``.
``POST /accounts`` with ``Idempotency-Key: <key>`` and ``{"name", "email", "phone", "address_lines",
"postcode", "country", "customer_number"}``
    → 201 ``{"ref", …}``: the server allocates the reference. The same key again replays the first answer
    (the same account, 200 or 201): never a second account.
``PUT /accounts/{ref}`` with ``Idempotency-Key`` and the same body → 200.
``GET /balances`` → 200 ``{"balances": {"REF": "123.45", …}}``, amounts as strings (exact decimals).
Errors → ``{"error": {"message": "…"}}``.

Failures, as the adapter reports them:

- 429, 5xx, connection errors and timeouts are retried, ``backoff.attempts`` requests in all, pausing with
  the backoff between them, or for the ``Retry-After`` seconds the server asked for (at most
  ``backoff.cap``). Retrying a create or an update is safe because the idempotency key goes with it. After
  the last attempt: ``AccountsUnavailable`` naming the status (or the connection error).
- Any other 4xx (and 3xx: redirects are not followed, the token must not travel to another host):
  ``AccountsError`` at once, with the status and the server's error message when it gave one.
- A success whose body is not the JSON described above: ``AccountsError``.

Messages name the method and path, never the query (names and emails stay out of logs) and never the token.
``requests`` counts the HTTP requests sent, retries included, for benchmarks.
"""

from __future__ import annotations

import http.client
import json
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.error import HTTPError, URLError

from crm_core.accounting import Account, AccountCustomer, AccountsError, AccountsUnavailable
from crm_core.dal.dynamo import Backoff
from crm_core.text import dedupe_key, normalise_email

DEFAULT_BACKOFF = Backoff(attempts=4, base=0.5, cap=10.0)
MAX_MESSAGE = 300  # characters of the server's error message kept in ours


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A 3xx is answered as an error instead of followed: urllib would resend the Authorization header."""

    def redirect_request(self, req: urllib.request.Request, fp: Any, code: int, msg: str, headers: Any,
                         newurl: str) -> None:
        return None


class RestAccounts:
    """Accounts in a JSON accounting API (see the module docstring for the API and the failure rules)."""

    name = "rest"

    def __init__(self, base_url: str, token: str, timeout: float = 10.0, backoff: Backoff | None = None,
                 sleep: Callable[[float], None] | None = None) -> None:
        """``sleep`` replaces the backoff's own for every pause (tests record pauses instead of waiting)."""
        scheme = urllib.parse.urlsplit(base_url).scheme
        if scheme not in ("http", "https"):
            raise ValueError("the accounts API base URL must be http:// or https://")
        if not token:
            raise ValueError("the accounts API token is empty")
        backoff = backoff or DEFAULT_BACKOFF
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.backoff = Backoff(max(1, backoff.attempts), backoff.base, backoff.cap, sleep or backoff.sleep)
        self.requests = 0
        self.__token = token
        self._opener = urllib.request.build_opener(_NoRedirects)

    def __repr__(self) -> str:
        return f"RestAccounts(base_url={self.base_url!r}, timeout={self.timeout!r})"

    # -- the adapter ------------------------------------------------------------------------------------

    def find(self, customer: AccountCustomer) -> list[Account]:
        queries: list[dict[str, str]] = []
        if customer.account_ref:
            queries.append({"ref": customer.account_ref})
        if customer.email and normalise_email(customer.email):
            queries.append({"email": normalise_email(customer.email)})
        if customer.postcode and dedupe_key(customer.name, customer.postcode):
            queries.append({"name": customer.name, "postcode": customer.postcode})
        found: dict[str, Account] = {}
        for query in queries:
            answer = self._call("GET", "/accounts", query=query)
            listed = answer.get("accounts")
            if not isinstance(listed, list):
                raise AccountsError("GET /accounts: the answer has no list of accounts")
            for item in listed:
                account = _account(item, "GET /accounts")
                found.setdefault(account.ref, account)
        return list(found.values())

    def create(self, customer: AccountCustomer, idempotency_key: str) -> Account:
        answer = self._call("POST", "/accounts", body=_body(customer), idempotency_key=idempotency_key)
        return _account(answer, "POST /accounts")

    def update(self, ref: str, customer: AccountCustomer, idempotency_key: str) -> None:
        self._call("PUT", f"/accounts/{urllib.parse.quote(ref, safe='')}", body=_body(customer),
                   idempotency_key=idempotency_key)

    def balances(self) -> dict[str, Decimal]:
        answer = self._call("GET", "/balances")
        listed = answer.get("balances")
        if not isinstance(listed, dict):
            raise AccountsError("GET /balances: the answer has no balances")
        return {str(ref): _amount(amount, ref) for ref, amount in listed.items()}

    def flush(self) -> None:
        """Nothing is queued: every call went out when it was made."""

    # -- HTTP -------------------------------------------------------------------------------------------

    def _call(self, method: str, path: str, query: Mapping[str, str] | None = None,
              body: Mapping[str, Any] | None = None, idempotency_key: str | None = None) -> dict[str, Any]:
        url = self.base_url + path + (f"?{urllib.parse.urlencode(query)}" if query else "")
        data = json.dumps(body).encode() if body is not None else None
        headers = {"Authorization": f"Bearer {self.__token}", "Accept": "application/json"}
        if data is not None:
            headers["Content-Type"] = "application/json"
        if idempotency_key is not None:
            headers["Idempotency-Key"] = idempotency_key
        what = f"{method} {path}"
        failure = ""
        retry_after: float | None = None
        for attempt in range(self.backoff.attempts):
            if attempt:
                if retry_after is None:
                    self.backoff.pause(attempt - 1)
                else:
                    self.backoff.sleep(min(retry_after, self.backoff.cap))
            retry_after = None
            # the scheme was checked in __init__: only http(s) URLs reach urllib
            request = urllib.request.Request(url, data=data, headers=headers, method=method)  # noqa: S310
            self.requests += 1
            try:
                with self._opener.open(request, timeout=self.timeout) as response:
                    if response.status == 204:
                        return {}
                    raw = response.read()
            except HTTPError as exc:
                status, raw, retry_after = exc.code, _read(exc), _seconds(exc.headers.get("Retry-After"))
                exc.close()
                if status == 429 or status >= 500:
                    failure = f"HTTP {status}"
                    continue
                raise AccountsError(f"{what}: HTTP {status}{self._message(raw)}") from None
            except (OSError, http.client.HTTPException) as exc:  # refused, reset, timed out, cut short
                reason = exc.reason if isinstance(exc, URLError) else exc
                failure = type(reason).__name__ if isinstance(reason, BaseException) else str(reason)
                continue
            return _json_object(raw, what)
        raise AccountsUnavailable(f"{what}: {failure} after {self.backoff.attempts} attempts")

    def _message(self, raw: bytes) -> str:
        """``: <the server's message>``, or nothing when it gave none; the token never repeated."""
        try:
            message = json.loads(raw)["error"]["message"]
        except (ValueError, TypeError, KeyError):
            return ""
        if not isinstance(message, str) or not message.strip():
            return ""
        return ": " + message.replace(self.__token, "***").strip()[:MAX_MESSAGE]


def _body(customer: AccountCustomer) -> dict[str, Any]:
    return {
        "name": customer.name,
        "email": customer.email.strip() if customer.email else None,
        "phone": customer.phone,
        "address_lines": list(customer.address_lines),
        "postcode": customer.postcode,
        "country": customer.country,
        "customer_number": customer.customer_number,
    }


def _account(item: Any, what: str) -> Account:
    if not isinstance(item, dict) or not isinstance(item.get("ref"), str) or not item["ref"]:
        raise AccountsError(f"{what}: an account in the answer has no reference")
    email, postcode = item.get("email"), item.get("postcode")
    return Account(
        ref=item["ref"],
        name=item["name"] if isinstance(item.get("name"), str) else "",
        email=email if isinstance(email, str) else None,
        postcode=postcode if isinstance(postcode, str) else None,
        extra={k: v for k, v in item.items() if k not in ("ref", "name", "email", "postcode") and isinstance(v, str)},
    )


def _amount(value: Any, ref: str) -> Decimal:
    try:
        amount = Decimal(value) if isinstance(value, str | int | Decimal) and not isinstance(value, bool) else None
    except InvalidOperation:
        amount = None
    if amount is None or not amount.is_finite():
        raise AccountsError(f"GET /balances: the balance of {ref} is not an amount")
    return amount


def _json_object(raw: bytes, what: str) -> dict[str, Any]:
    try:
        answer = json.loads(raw, parse_float=Decimal)  # a number that slips through stays exact
    except ValueError:
        raise AccountsError(f"{what}: the answer is not JSON") from None
    if not isinstance(answer, dict):
        raise AccountsError(f"{what}: the answer is not a JSON object")
    return answer


def _read(exc: HTTPError) -> bytes:
    try:
        return exc.read()
    except (OSError, http.client.HTTPException):
        return b""


def _seconds(value: str | None) -> float | None:
    """``Retry-After`` in seconds; the HTTP-date form (and nonsense) is ignored: the backoff decides."""
    try:
        seconds = float(value) if value else None
    except ValueError:
        return None
    return max(0.0, seconds) if seconds is not None and seconds == seconds else None
