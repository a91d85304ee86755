"""A fake accounts API on loopback: the API ``crm_core.accounting.rest`` documents, in memory, with faults.

    with FakeAccountsServer() as server:
        accounts = RestAccounts(server.url, server.token)
        server.seed("C0000001", "Ada Lovelace", "ada@example.org", "N1 9GU")
        server.fail_next(503, times=2)            # the next two requests answer 503, then all is normal

Matching, as a real package is assumed to match:

- ``?ref=R`` is exact;
- ``?email=E`` ignores case and surrounding spaces (``crm_core.text.normalise_email``);
- ``?name=N&postcode=P`` compares ``crm_core.text.dedupe_key(name, postcode)``, the key the customer side
  uses for duplicates: case, accents, punctuation and spacing are folded, the words must be the same and in
  the same order (``"  john   SMITH "`` in ``"n19gu"`` is ``"John Smith"`` in ``"N1 9GU"``; ``"Smith, John"``
  is not).

Idempotency: the first answer to a POST or PUT with an ``Idempotency-Key`` is stored and replayed, status and
body, for every later request with that key (whatever its body). Injected faults and 401s are answered before
the API, so they are neither stored nor replayed.

What a test can read: ``requests``, every request (faults and 401s included) as ``(method, path with query,
idempotency key or None)``; ``created``, the accounts ``POST /accounts`` opened; ``accounts`` (ref → the
account) and ``balances`` (ref → amount as a string, new accounts owe ``"0.00"``). Arrange accounts with
``seed``, not by writing to ``accounts``: the email and name-and-postcode lookups are indexed.
Nothing sleeps: ``Retry-After`` is only a header, and thousands of requests a second are fine.
"""

from __future__ import annotations

import json
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

from crm_core.text import dedupe_key, normalise_email

DEFAULT_TOKEN = "test-accounts-token"
FIELDS = ("name", "email", "phone", "address_lines", "postcode", "country", "customer_number")

Answer = tuple[int, dict[str, Any] | bytes, dict[str, str]]  # status, JSON body (or raw bytes), extra headers


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> Answer:
    return status, {"error": {"message": message}}, headers or {}


class FakeAccountsServer:
    """The accounts API on ``127.0.0.1`` and a free port, served by a background thread."""

    def __init__(self, token: str = DEFAULT_TOKEN) -> None:
        self.token = token
        self.accounts: dict[str, dict[str, Any]] = {}  # ref → the account as the API shows it
        self.balances: dict[str, str] = {}  # ref → amount, as a string
        self.requests: list[tuple[str, str, str | None]] = []
        self.created = 0  # accounts POST /accounts opened (seeded ones are not counted)
        self._answers: dict[str, Answer] = {}  # idempotency key → the first answer
        self._by_email: dict[str, set[str]] = {}  # normalised email → refs
        self._by_key: dict[str, set[str]] = {}  # dedupe_key(name, postcode) → refs
        self._faults: list[Answer] = []
        self._refused_names: set[str] = set()
        self._next_ref = 1
        self._lock = threading.Lock()
        self._httpd = _Server(("127.0.0.1", 0), _handler(self))
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    # -- lifecycle --------------------------------------------------------------------------------------

    def start(self) -> FakeAccountsServer:
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.01},
                                        name="fake-accounts-api", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join()
            self._thread = None
        self._httpd.server_close()

    def __enter__(self) -> FakeAccountsServer:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.stop()

    # -- arranging --------------------------------------------------------------------------------------

    def seed(self, ref: str, name: str, email: str | None = None, postcode: str | None = None,
             balance: str = "0.00") -> None:
        """An account that exists before the test, with what it owes."""
        with self._lock:
            self._store(ref, {"ref": ref, "name": name, "email": email, "postcode": postcode})
            self.balances[ref] = balance

    def fail_next(self, status: int, times: int = 1, retry_after: float | None = None,
                  body: bytes | None = None) -> None:
        """The next ``times`` requests, whatever they are, answer ``status`` (with ``Retry-After`` if given),
        with a JSON error, or ``body`` as it is (``b"<html>…"``: what a proxy in the way might send)."""
        headers = {"Retry-After": f"{retry_after:g}"} if retry_after is not None else {}
        fault = _error(status, f"injected {status}", headers) if body is None else (status, body, headers)
        with self._lock:
            self._faults += [fault] * times

    def fail_create_for(self, name: str) -> None:
        """``POST /accounts`` for exactly this name answers 422 with an error message."""
        with self._lock:
            self._refused_names.add(name)

    def accept_creates_for(self, name: str) -> None:
        """Undo ``fail_create_for``: the package takes that name again."""
        with self._lock:
            self._refused_names.discard(name)

    # -- the API ----------------------------------------------------------------------------------------

    def answer(self, method: str, target: str, authorization: str | None, key: str | None, raw: bytes) -> Answer:
        with self._lock:  # one request at a time: idempotency and ref allocation stay simple and exact
            self.requests.append((method, target, key))
            if self._faults:
                return self._faults.pop(0)
            if authorization != f"Bearer {self.token}":
                return _error(401, "missing or wrong bearer token")
            if key is not None and method in ("POST", "PUT"):
                if key not in self._answers:
                    self._answers[key] = self._route(method, target, raw)
                return self._answers[key]
            return self._route(method, target, raw)

    def _route(self, method: str, target: str, raw: bytes) -> Answer:
        parts = urllib.parse.urlsplit(target)
        path = parts.path.rstrip("/")
        query = dict(urllib.parse.parse_qsl(parts.query))
        if path == "/accounts" and method == "GET":
            return self._find(query)
        if path == "/accounts" and method == "POST":
            return self._create(raw)
        if path.startswith("/accounts/") and method == "PUT":
            return self._update(urllib.parse.unquote(path.removeprefix("/accounts/")), raw)
        if path == "/balances" and method == "GET":
            return 200, {"balances": dict(self.balances)}, {}
        if path in ("/accounts", "/balances") or path.startswith("/accounts/"):
            return _error(405, f"{method} is not allowed on {path}")
        return _error(404, f"no such resource: {path}")

    def _find(self, query: dict[str, str]) -> Answer:
        if set(query) == {"ref"}:
            refs = {query["ref"]} & self.accounts.keys()
        elif set(query) == {"email"}:
            refs = self._by_email.get(normalise_email(query["email"]), set())
        elif set(query) == {"name", "postcode"}:
            refs = self._by_key.get(dedupe_key(query["name"], query["postcode"]) or "", set())
        else:
            return _error(400, "ask by ref, by email, or by name and postcode")
        return 200, {"accounts": [_listed(self.accounts[ref]) for ref in sorted(refs)]}, {}

    def _create(self, raw: bytes) -> Answer:
        body = _parse(raw)
        if body is None:
            return _error(400, "the body must be a JSON object with a name")
        if body["name"] in self._refused_names:
            return _error(422, f"the accounts package refused the account {body['name']!r}")
        ref = f"C{self._next_ref:07d}"
        while ref in self.accounts:  # a seeded account already holds it
            self._next_ref += 1
            ref = f"C{self._next_ref:07d}"
        self._next_ref += 1
        self.created += 1
        self._store(ref, {"ref": ref, **{f: body.get(f) for f in FIELDS}})
        self.balances[ref] = "0.00"
        return 201, dict(self.accounts[ref]), {}

    def _update(self, ref: str, raw: bytes) -> Answer:
        if ref not in self.accounts:
            return _error(404, f"no account {ref}")
        body = _parse(raw)
        if body is None:
            return _error(400, "the body must be a JSON object with a name")
        self._store(ref, {**self.accounts[ref], **{f: body[f] for f in FIELDS if f in body}})
        return 200, dict(self.accounts[ref]), {}

    def _store(self, ref: str, account: dict[str, Any]) -> None:
        """Keep the account and its email and name-and-postcode indexes (finds stay fast with 10,000 accounts)."""
        for index, term in self._terms(self.accounts.get(ref)):
            index[term].discard(ref)
        self.accounts[ref] = account
        for index, term in self._terms(account):
            index.setdefault(term, set()).add(ref)

    def _terms(self, account: dict[str, Any] | None) -> list[tuple[dict[str, set[str]], str]]:
        if account is None:
            return []
        email = normalise_email(account["email"]) if isinstance(account.get("email"), str) else ""
        key = dedupe_key(account["name"], account.get("postcode"))
        return [(index, term) for index, term in ((self._by_email, email), (self._by_key, key)) if term]


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256  # benchmarks may connect from many threads at once


def _listed(account: dict[str, Any]) -> dict[str, Any]:
    return {f: account.get(f) for f in ("ref", "name", "email", "postcode")}


def _parse(raw: bytes) -> dict[str, Any] | None:
    try:
        body = json.loads(raw or b"null")
    except ValueError:
        return None
    if not isinstance(body, dict) or not isinstance(body.get("name"), str) or not body["name"].strip():
        return None
    return body


def _handler(server: FakeAccountsServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive for clients that reuse connections
        disable_nagle_algorithm = True

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            status, body, headers = server.answer(self.command, self.path, self.headers.get("Authorization"),
                                                  self.headers.get("Idempotency-Key"), raw)
            payload, kind = (body, "text/html") if isinstance(body, bytes) else (json.dumps(body).encode(),
                                                                                  "application/json")
            head = [f"HTTP/1.1 {status} {self.responses.get(status, ('',))[0]}",
                    f"Content-Type: {kind}", f"Content-Length: {len(payload)}",
                    *(f"{name}: {value}" for name, value in headers.items())]
            self.wfile.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + payload)  # one write

        do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _serve

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: tests and benchmarks make thousands of requests."""

    return Handler
