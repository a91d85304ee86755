"""Sage 50 Accounts (UK desktop) as an accounts adapter: it has no API, so the sync and Sage trade files in S3
that staff carry between the bucket and the Sage PC by hand.

Bucket layout (``prefix`` defaults to ``accounting/sage50/``)::

    <prefix>outbox/customers-<UTC yyyymmddThhmmssZ>[-n].csv   written by flush(): import into Sage 50
    <prefix>inbox/accounts*.csv                                staff export: the customer accounts list
    <prefix>inbox/aged-debtors*.csv                            staff export: the aged debtors report

Only files directly in ``inbox/`` count (staff may file old ones in a sub-folder), and of each kind only the
newest by LastModified (then by name). Each inbox file is read at most once per adapter instance.

**Outbound: the customer record import file.** One CSV per ``flush()``, a header row, then one row per account
queued by ``create()``/``update()`` (an account queued twice in a run is written once, with its latest data).
The columns follow the order of Sage's own "Customer record data fields you can import" table (Sage UK
knowledge base; File > Import > Customer Records), columns A to AA::

    A Account Reference (8)  B Account Name (60)  C-F Street1, Street2, Town, County (60 each)  G Post Code (60)
    H Contact Name  I Telephone (30)  J Fax  K Analysis 1 (30)  L Analysis 2  M Analysis 3  N Department Number
    O VAT Registration Number  P MTD Turnover  Q YTD Turnover  R Prior Year Turnover  S Credit Limit  T Terms
    U Settlement Due Days  V Settlement Discount  W Default Nominal Code  X Default Tax Code  Y Trade Contact
    Z Telephone 2  AA E-mail

We fill A-G, I (the phone), K (the CRM customer number, so staff can trace an account back) and AA (the email);
the others are left empty so that every value sits at the position the import expects. The header names are
ours, chosen to match Sage's field names; the field order is what Sage documents, the header text is not
something we could confirm against a Sage template. Sage's Data Import wizard maps columns on screen: staff
should say the file has a header row, and, when the file updates existing accounts, map only the filled columns
(an empty cell in a mapped column may blank or zero that field on the existing record). The legacy importer
reads strictly by position and does not skip headers: delete row 1 first if using it.

Rules the file keeps:

- Account reference: 1 to 8 characters, A-Z and 0-9 only. A customer with an ``account_ref`` keeps it. A new
  one is built from the name (surname + first initial, ``SMITHJ01``; an organisation's leading letters,
  ``ACMELT01`` for "Acme Ltd"), six letters and two digits, then fewer letters and more digits when a stem's
  99 run out (``SMITH001``), never one already known: refs in the newest accounts list, refs in outbox files
  written since that list (not imported yet, so not in it), and refs seen or allocated by this instance.
  The same name against the same known refs always gives the same ref.
- Text: control characters and runs of white space become one space; name and address lines at most 60
  characters, cut at a word boundary when one is in the second half (telephone and analysis: 30). Every
  cell goes through :func:`crm_core.export.csv_cell`, so a value beginning ``= + - @`` gets a leading ``'``
  (the cut leaves room for it). A phone number's leading ``+`` is written as ``00`` (``+44 20…`` →
  ``0044 20…``), the same number that stays readable without the apostrophe.

**Encoding: Windows-1252, no BOM, CRLF line ends.** Sage 50 UK reads import CSVs in the Windows ANSI code page;
a UTF-8 file shows its accents as ``Ã«`` and a BOM lands in the first cell. Windows-1252 holds ``£``, ``€`` and
the Western European accents (``Zoë`` stays ``Zoë``); any other character degrades readably instead of failing
the file: accents folded (``ř`` → ``r``, ``ő`` → ``o``), a few letters spelt out (``Ł`` → ``L``, ``đ`` → ``d``),
and what has no Latin form (CJK, emoji) becomes ``?``. The account's email is written as given; a non-Latin
address cannot be imported by Sage anyway.

**Inbound.** Staff export from Sage 50 and drop the CSVs into ``inbox/``. Columns are found by header name,
case-insensitively and ignoring spaces and punctuation (``A/C`` = ``Account Reference``, ``E-mail`` =
``Email``), in the first 10 rows; extra columns, title rows above the header, blank rows, a totals row and a
BOM are tolerated; UTF-8 and Windows-1252 are both read.

- ``accounts*.csv`` needs Account Reference, Account Name, Post Code and E-mail. ``find()`` returns accounts
  with the customer's ``account_ref``, its email (case-insensitive), or its ``dedupe_key(name, postcode)``;
  accounts queued in outbox files not yet in the list, and those this instance has created, count too
  (``extra["pending"] == "true"``). An empty inbox and outbox → ``[]``, so a first sync creates.
- ``aged-debtors*.csv`` needs Account Reference and Balance (or Total/Outstanding); without a balance column
  the ageing columns (Future, Current, 30/60/90 Days or Period 1-3, Older) are added up. Amounts are exact
  :class:`~decimal.Decimal`: currency symbols and thousands separators are dropped, ``(10.00)``, ``-10.00``
  and ``10.00-`` are negative, an empty cell is 0.

A malformed file (missing column, bad reference, an account twice, an amount that is not one) raises
:class:`AccountsError` naming the file and the row. S3 throttling, 5xx answers and lost connections raise
:class:`AccountsUnavailable`; other S3 errors (a missing bucket, no permission) are raised as they are.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from fnmatch import fnmatch
from functools import lru_cache
from typing import Any

from botocore.exceptions import ClientError, HTTPClientError
from botocore.exceptions import ConnectionError as BotoConnectionError

from crm_core.accounting import Account, AccountCustomer, AccountsError, AccountsUnavailable
from crm_core.clock import utcnow
from crm_core.dal.dynamo import error_code
from crm_core.dal.exports import S3_THROTTLING
from crm_core.export import csv_cell
from crm_core.text import dedupe_key, fold, normalise_email

DEFAULT_PREFIX = "accounting/sage50/"
ENCODING = "cp1252"  # Windows-1252, what Sage 50 UK calls ANSI
CONTENT_TYPE = "text/csv; charset=windows-1252"
REF_MAX = 8
REF_LETTERS = 6  # a new reference: six letters and two digits, while the stem has numbers left
NAME_MAX = 60  # Account Name and each address line
SHORT_MAX = 30  # Telephone, Analysis 1
HEADER_SEARCH_ROWS = 10

HEADER = (
    "Account Reference", "Account Name", "Street1", "Street2", "Town", "County", "Post Code", "Contact Name",
    "Telephone", "Fax", "Analysis 1", "Analysis 2", "Analysis 3", "Department Number", "VAT Registration Number",
    "MTD Turnover", "YTD Turnover", "Prior Year Turnover", "Credit Limit", "Terms", "Settlement Due Days",
    "Settlement Discount", "Default Nominal Code", "Default Tax Code", "Trade Contact", "Telephone 2", "E-mail",
)
_COL = {name: n for n, name in enumerate(HEADER)}
_STREET_COLUMNS = 4  # Street1, Street2, Town, County

_REF = re.compile(r"[A-Z0-9]{1,8}")
_SPACES = re.compile(r"\s+")
_AMOUNT = re.compile(r"(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?|\.\d+")
_CURRENCY = re.compile(r"(?i)gbp|eur|usd|[£€$]")
_JOINERS = re.compile("['`\u2018\u2019\\-\u2010\u2011]")  # O'Brien → obrien, Smith-Jones → smithjones

# Letters NFKD does not break into a base letter and a mark, spelt as an English reader would.
_SPELT = {
    "Ł": "L", "ł": "l", "Đ": "D", "đ": "d", "Ħ": "H", "ħ": "h", "\u0131": "i", "Ŀ": "L", "ŀ": "l", "Ŧ": "T", "ŧ": "t",
    "ĸ": "k", "Ŋ": "N", "ŋ": "n", "\u017f": "s", "Ə": "E", "ə": "e",
    "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2015": "-", "\u2212": "-",  # hyphens, minus sign
}
# For building references only: letters Windows-1252 has but A-Z lacks.
_REF_SPELT = {"æ": "ae", "ø": "o", "œ": "oe", "ð": "d", "þ": "th", **{k.lower(): v.lower() for k, v in _SPELT.items()}}

# Header spellings, compared with everything but letters and digits removed, lower case.
_REF_NAMES = ("accountreference", "accountref", "acref", "ac", "account", "accountcode", "reference", "ref")
_NAME_NAMES = ("accountname", "name", "companyname", "customername")
_POSTCODE_NAMES = ("postcode", "postalcode", "zipcode", "zip")
_EMAIL_NAMES = ("email", "emailaddress", "email1")
_BALANCE_NAMES = ("balance", "total", "outstanding", "totalbalance", "balanceoutstanding", "amountoutstanding")
_AGEING_NAMES = {
    "future": ("future",),
    "current": ("current",),
    "30": ("30days", "period1", "130days"),
    "60": ("60days", "period2", "3160days"),
    "90": ("90days", "period3", "6190days"),
    "older": ("older", "over90days", "91days", "91plusdays", "120days"),
}
_LABELS = {
    "ref": "Account Reference", "name": "Account Name", "postcode": "Post Code", "email": "E-mail",
    "balance": "Balance", "agefuture": "Future", "agecurrent": "Current", "age30": "30 Days", "age60": "60 Days",
    "age90": "90 Days", "ageolder": "Older",
}
_TOTAL_WORDS = {"total", "totals", "grandtotal"}

_ORGANISATION_WORDS = {
    "ltd", "limited", "plc", "llp", "lp", "inc", "llc", "co", "corp", "corporation", "company", "group",
    "holdings", "cic", "trust", "partners", "partnership", "associates", "association", "society", "club",
    "charity", "foundation", "council", "school", "college", "services", "gmbh", "sa", "sarl", "bv", "ag", "uk",
}
_TITLES = {"mr", "mrs", "ms", "miss", "mx", "dr", "prof", "sir", "dame", "rev", "lord", "lady"}
_POST_NOMINALS = {"jr", "jnr", "sr", "snr", "ii", "iii", "iv", "phd", "md", "obe", "mbe", "cbe", "esq"}
_STOP_WORDS = {"the", "and", "of"}

_UNAVAILABLE_CODES = {"InternalError", "RequestTimeout", "ServiceUnavailable", "SlowDown", "500", "503"}
_TAKEN_CODES = {"PreconditionFailed", "412", "ConditionalRequestConflict"}


@dataclass(frozen=True)
class _Stored:
    key: str
    modified: datetime


class Sage50Accounts:
    """Sage 50 through CSV files in S3: see the module's description for the files and their rules."""

    name: str = "sage50"

    def __init__(self, s3: Any, bucket: str, prefix: str = DEFAULT_PREFIX,
                 clock: Callable[[], datetime] = utcnow, taken: Callable[[str], bool] | None = None) -> None:
        """``taken`` says whether a reference is already linked to a customer on our side (the sync's claims),
        so a new one never repeats a reference Sage may not have in the files yet."""
        self._taken = taken
        self._s3 = s3
        self.bucket = bucket
        self.prefix = prefix if not prefix or prefix.endswith("/") else prefix + "/"
        self._clock = clock
        self._listed: dict[str, list[_Stored]] = {}
        self._texts: dict[str, str] = {}
        self._accounts: list[Account] | None = None
        self._index: dict[str, dict[str, list[Account]]] | None = None
        self._balances: dict[str, Decimal] | None = None
        self._known: set[str] | None = None
        self._next: dict[tuple[str, int], int] = {}  # (stem, digits) → the first number not yet tried
        self._queued: dict[str, list[str]] = {}  # account reference → its row, in the order first queued
        self._created: dict[str, Account] = {}  # idempotency key → the account create() answered
        self._by_customer: dict[str, Account] = {}  # customer id → the account created for it in this run
        self._updated: set[str] = set()  # idempotency keys of update() calls already queued
        self._written: list[str] = []

    # ---- the adapter ---------------------------------------------------------------------------------------

    def find(self, customer: AccountCustomer) -> list[Account]:
        index = self._account_index()
        ref = (customer.account_ref or "").strip().upper()
        email = normalise_email(customer.email) if customer.email and customer.email.strip() else ""
        key = dedupe_key(customer.name, customer.postcode) or ""
        found: dict[str, Account] = {}
        for kind, value in (("ref", ref), ("email", email), ("name", key)):
            if value:
                for account in index[kind].get(value, []):
                    found.setdefault(account.ref, account)
        return list(found.values())

    def create(self, customer: AccountCustomer, idempotency_key: str) -> Account:
        done = self._created.get(idempotency_key)
        if done is not None:
            return done
        known = self._known_refs()
        if customer.account_ref:
            ref = valid_ref(customer.account_ref)
            known.add(ref)
        elif customer.customer_id in self._by_customer:
            ref = self._by_customer[customer.customer_id].ref
        else:
            ref = self._allocate(customer.name)
        row = customer_row(ref, customer)
        self._queued[ref] = row
        account = Account(ref=ref, name=row[_COL["Account Name"]], email=row[_COL["E-mail"]] or None,
                          postcode=row[_COL["Post Code"]] or None)
        self._created[idempotency_key] = account
        self._by_customer[customer.customer_id] = account
        _index_account(self._account_index(), Account(ref=ref, name=account.name, email=account.email,
                                                      postcode=account.postcode, extra={"pending": "true"}),
                       name=customer.name, email=customer.email, postcode=customer.postcode)
        return account

    def update(self, ref: str, customer: AccountCustomer, idempotency_key: str) -> None:
        if idempotency_key in self._updated:
            return
        ref = valid_ref(ref)
        self._known_refs().add(ref)
        self._queued[ref] = customer_row(ref, customer)
        self._updated.add(idempotency_key)

    def balances(self) -> dict[str, Decimal]:
        if self._balances is None:
            newest = self._newest("aged-debtors*.csv")
            self._balances = {} if newest is None else parse_aged_debtors(self._where(newest.key),
                                                                          self._text(newest.key))
        return dict(self._balances)

    def flush(self) -> None:
        """Write the queued rows as one import file; nothing when nothing is queued. The queue is kept if the
        write fails, so a later flush() can try again."""
        if not self._queued:
            return
        body = render(self._queued.values())
        moment = self._clock()
        moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
        stamp = moment.strftime("%Y%m%dT%H%M%SZ")
        for attempt in range(1, 100):
            key = f"{self.prefix}outbox/customers-{stamp}{'' if attempt == 1 else f'-{attempt}'}.csv"
            try:
                with self._s3_errors(f"writing {self._where(key)}"):
                    self._s3.put_object(Bucket=self.bucket, Key=key, Body=body, ContentType=CONTENT_TYPE,
                                        IfNoneMatch="*")  # never overwrite a file staff have not imported
            except ClientError as exc:
                if error_code(exc) in _TAKEN_CODES:
                    continue
                raise
            self._written.append(key)
            self._queued.clear()
            return
        raise AccountsUnavailable(f"no free file name for customers-{stamp}.csv in {self._where('outbox/')}")

    @property
    def written(self) -> tuple[str, ...]:
        """The keys flush() has written, oldest first."""
        return tuple(self._written)

    # ---- references ----------------------------------------------------------------------------------------

    def _known_refs(self) -> set[str]:
        if self._known is None:
            self._known = {a.ref for a in self._inbound_accounts()}
        return self._known

    def _allocate(self, name: str) -> str:
        known = self._known_refs()
        base = ref_stem(name)
        for digits in range(REF_MAX - REF_LETTERS, REF_MAX + 1):
            stem = base[:REF_MAX - digits]
            first = self._next.get((stem, digits), 1)
            for number in range(first, 10 ** digits):
                ref = f"{stem}{number:0{digits}d}"
                if ref not in known and not (self._taken and self._taken(ref)):
                    self._next[(stem, digits)] = number + 1
                    known.add(ref)
                    return ref
            self._next[(stem, digits)] = 10 ** digits
        raise AccountsError(f"no account reference is free for {name!r}")

    # ---- inbound files -------------------------------------------------------------------------------------

    def _inbound_accounts(self) -> list[Account]:
        """The newest accounts list, then accounts in outbox files written since (queued, not yet imported)."""
        if self._accounts is None:
            newest = self._newest("accounts*.csv")
            accounts: list[Account] = []
            if newest is not None:
                accounts = parse_accounts(self._where(newest.key), self._text(newest.key))
            for stored in sorted(self._list("outbox/"), key=lambda s: (s.modified, s.key)):
                if fnmatch(_basename(stored.key).lower(), "customers-*.csv") and (
                        newest is None or stored.modified > newest.modified):
                    for account in parse_accounts(self._where(stored.key), self._text(stored.key)):
                        accounts.append(Account(ref=account.ref, name=account.name, email=account.email,
                                                postcode=account.postcode,
                                                extra={**account.extra, "pending": "true"}))
            self._accounts = accounts
        return self._accounts

    def _account_index(self) -> dict[str, dict[str, list[Account]]]:
        if self._index is None:
            index: dict[str, dict[str, list[Account]]] = {"ref": {}, "email": {}, "name": {}}
            for account in self._inbound_accounts():
                _index_account(index, account, name=account.name, email=account.email, postcode=account.postcode)
            self._index = index
        return self._index

    def _newest(self, pattern: str) -> _Stored | None:
        matching = [s for s in self._list("inbox/") if fnmatch(_basename(s.key).lower(), pattern)]
        return max(matching, key=lambda s: (s.modified, s.key), default=None)

    def _list(self, folder: str) -> list[_Stored]:
        """The objects directly in ``<prefix><folder>``, listed once per instance."""
        if folder not in self._listed:
            prefix = self.prefix + folder
            found: list[_Stored] = []
            with self._s3_errors(f"listing {self._where(folder)}"):
                for page in self._s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix):
                    found.extend(_Stored(o["Key"], o["LastModified"]) for o in page.get("Contents", [])
                                 if "/" not in o["Key"][len(prefix):])
            self._listed[folder] = found
        return self._listed[folder]

    def _text(self, key: str) -> str:
        if key not in self._texts:
            try:
                with self._s3_errors(f"reading {self._where(key)}"):
                    data = self._s3.get_object(Bucket=self.bucket, Key=key)["Body"].read()
            except ClientError as exc:
                if error_code(exc) in ("NoSuchKey", "404"):
                    raise AccountsUnavailable(f"{self._where(key)} was moved while being read; try next run") from exc
                raise
            self._texts[key] = decode(self._where(key), data)
        return self._texts[key]

    def _where(self, key: str) -> str:
        return f"s3://{self.bucket}/{key if key.startswith(self.prefix) else self.prefix + key}"

    @staticmethod
    @contextmanager
    def _s3_errors(doing: str) -> Iterator[None]:
        try:
            yield
        except ClientError as exc:
            code = error_code(exc)
            status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
            if code in S3_THROTTLING or code in _UNAVAILABLE_CODES or status >= 500 or status == 429:
                raise AccountsUnavailable(f"the file store is busy or failing ({code or status}) while {doing}; "
                                          "try next run") from exc
            raise
        except (BotoConnectionError, HTTPClientError) as exc:
            raise AccountsUnavailable(f"the file store could not be reached while {doing}; try next run") from exc


def _index_account(index: dict[str, dict[str, list[Account]]], account: Account, *, name: str,
                   email: str | None, postcode: str | None) -> None:
    index["ref"].setdefault(account.ref, []).append(account)
    if email and email.strip():
        index["email"].setdefault(normalise_email(email), []).append(account)
    key = dedupe_key(name, postcode)
    if key:
        index["name"].setdefault(key, []).append(account)


# ---- the import file ------------------------------------------------------------------------------------------

def customer_row(ref: str, customer: AccountCustomer) -> list[str]:
    """A customer as a row of the import file, every cell safe for Windows-1252 and for spreadsheets."""
    row = [""] * len(HEADER)
    row[_COL["Account Reference"]] = csv_cell(ref)
    row[_COL["Account Name"]] = text_cell(customer.name, NAME_MAX)
    for n, line in enumerate(_street_lines(customer.address_lines)):
        row[_COL["Street1"] + n] = text_cell(line, NAME_MAX)
    row[_COL["Post Code"]] = text_cell(customer.postcode, NAME_MAX)
    row[_COL["Telephone"]] = text_cell(_phone(customer.phone), SHORT_MAX)
    row[_COL["Analysis 1"]] = text_cell(customer.customer_number, SHORT_MAX)
    row[_COL["E-mail"]] = text_cell(customer.email, None)
    return row


def render(rows: Iterable[Sequence[str]]) -> bytes:
    """The import file: a header row and the rows, CRLF line ends, Windows-1252 without a BOM."""
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([csv_cell(h) for h in HEADER])
    writer.writerows(rows)
    return out.getvalue().encode(ENCODING)  # every cell went through ansi(): this cannot fail


def text_cell(value: str | None, limit: int | None) -> str:
    """Cleaned, made Windows-1252, cut to ``limit`` characters on a word boundary and neutralised, in that
    order: the cut leaves room for the ``'`` a dangerous value gets."""
    if not value:
        return ""
    text = ansi(clean(value))
    if limit is None:
        return csv_cell(text)
    neutralised = csv_cell(text) != text
    return csv_cell(fit(text, limit - 1 if neutralised else limit))


def clean(value: str) -> str:
    """Control and invisible formatting characters as spaces; runs of white space as one; trimmed."""
    spaced = "".join(" " if unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") else ch for ch in value)
    return _SPACES.sub(" ", spaced).strip()


def ansi(text: str) -> str:
    """The text in characters Windows-1252 has: others folded to their base letter, spelt out, or ``?``."""
    return "".join(_ansi_char(ch) for ch in text)


@lru_cache(maxsize=4096)
def _ansi_char(ch: str) -> str:
    if _encodable(ch):
        return ch
    if ch in _SPELT:
        return _SPELT[ch]
    base = "".join(c for c in unicodedata.normalize("NFKD", ch) if not unicodedata.combining(c))
    if base and all(_encodable(c) for c in base):
        return base
    return "?"


def _encodable(ch: str) -> bool:
    try:
        ch.encode(ENCODING)
    except UnicodeEncodeError:
        return False
    return True


def fit(text: str, limit: int) -> str:
    """At most ``limit`` characters, cut after a whole word when one ends in the second half."""
    if len(text) <= limit:
        return text
    cut = text[:limit]
    if text[limit] == " ":
        return cut.rstrip()
    space = cut.rfind(" ")
    if space >= limit // 2:
        return cut[:space].rstrip(" ,;:-/&")
    return cut.rstrip()


def _street_lines(lines: Sequence[str]) -> list[str]:
    """Street lines, town and county into Sage's four address lines: when there are more, the first street
    lines share line 1 (``Flat 3, 12 High Street``) so that the town and county keep theirs."""
    kept = [c for c in (clean(line) for line in lines) if c]
    if len(kept) > _STREET_COLUMNS:
        spare = len(kept) - _STREET_COLUMNS + 1
        kept = [", ".join(kept[:spare]), *kept[spare:]]
    return kept


def _phone(phone: str | None) -> str | None:
    if not phone:
        return phone
    text = clean(phone)
    return "00" + text[1:].lstrip() if text.startswith("+") else text


def valid_ref(value: str) -> str:
    ref = value.strip().upper()
    if not _REF.fullmatch(ref):
        raise AccountsError(f"account reference {value!r} is not 1 to 8 letters A-Z and digits")
    return ref


def ref_stem(name: str) -> str:
    """The letters a new reference starts with: surname and first initial for a person (``SMITHJ``), the
    leading letters for an organisation (``ACMELT``); ``CUST`` when the name has no Latin letters."""
    spelt = "".join(_REF_SPELT.get(ch, ch) for ch in fold(name))
    tokens: list[str] = re.findall(r"[a-z0-9]+", _JOINERS.sub("", spelt))
    if not tokens:
        return "CUST"
    organisation = (any(t in _ORGANISATION_WORDS for t in tokens) or len(tokens) > 4 or "&" in name
                    or any(t.isdigit() for t in tokens))
    if organisation:
        letters = "".join(t for t in tokens if t not in _STOP_WORDS) or "".join(tokens)
        return letters[:REF_LETTERS].upper()
    person = [t for t in tokens if t not in _TITLES and t not in _POST_NOMINALS] or tokens
    initial = person[0][0] if len(person) > 1 else ""
    return (person[-1][:REF_LETTERS - len(initial)] + initial).upper()


# ---- reading what staff export -----------------------------------------------------------------------------

def decode(where: str, data: bytes) -> str:
    """UTF-8 (with or without a BOM), UTF-16 with a BOM, else Windows-1252 (Sage's own exports)."""
    try:
        if data.startswith(codecs.BOM_UTF8):
            return data[len(codecs.BOM_UTF8):].decode("utf-8")
        if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            return data.decode("utf-16")
    except UnicodeDecodeError as exc:
        raise AccountsError(f"{where}: not readable text ({exc.reason} at byte {exc.start})") from exc
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode(ENCODING, errors="replace")


def parse_accounts(where: str, text: str) -> list[Account]:
    """An accounts list: Account Reference, Account Name, Post Code and E-mail, found by header name."""
    columns = {"ref": _REF_NAMES, "name": _NAME_NAMES, "postcode": _POSTCODE_NAMES, "email": _EMAIL_NAMES}
    accounts: list[Account] = []
    seen: dict[str, int] = {}
    for number, cells in _records(where, text, columns, required=("ref", "name", "postcode", "email")):
        ref = _row_ref(where, number, cells["ref"], seen)
        accounts.append(Account(ref=ref, name=cells["name"], email=cells["email"] or None,
                                postcode=cells["postcode"] or None, extra={"source": where, "row": str(number)}))
    return accounts


def parse_aged_debtors(where: str, text: str) -> dict[str, Decimal]:
    """An aged debtors report: each account's balance (or, without a balance column, its ageing columns added)."""
    columns: dict[str, Sequence[str]] = {"ref": _REF_NAMES, "balance": _BALANCE_NAMES,
                                         **{f"age{k}": v for k, v in _AGEING_NAMES.items()}}
    balances: dict[str, Decimal] = {}
    seen: dict[str, int] = {}
    records = _records(where, text, columns, required=("ref",), one_of=tuple(columns)[1:])
    for number, cells in records:
        ref = _row_ref(where, number, cells["ref"], seen)
        if "balance" in cells:
            balances[ref] = _amount(where, number, "balance", cells["balance"])
        else:
            balances[ref] = sum((_amount(where, number, field, value) for field, value in cells.items()
                                 if field.startswith("age")), Decimal("0.00"))
    return balances


def parse_amount(text: str) -> Decimal | None:
    """``£1,234.50`` → 1234.50; ``(10.00)``, ``-5.25``, ``5.25-`` are negative; empty is 0; None if not money."""
    compact = _CURRENCY.sub("", text).replace(" ", "").replace("\u00a0", "")
    if not compact:
        return Decimal("0.00")
    negative = False
    if compact.startswith("(") and compact.endswith(")"):
        negative, compact = True, compact[1:-1]
    if compact[:1] in ("-", "+"):
        negative, compact = negative != (compact[0] == "-"), compact[1:]
    elif compact.endswith("-"):
        negative, compact = not negative, compact[:-1]
    if not _AMOUNT.fullmatch(compact):
        return None
    value = Decimal(compact.replace(",", ""))  # the pattern admits only what Decimal reads
    return -value if negative else value


def _amount(where: str, number: int, field: str, value: str) -> Decimal:
    amount = parse_amount(value)
    if amount is None:
        raise AccountsError(f"{where} row {number}: {_LABELS.get(field, field)} {value!r} is not an amount")
    return amount


def _is_totals(ref: str, row: Sequence[str]) -> bool:
    """A report's totals line: ``Totals:`` where the reference goes, or no reference and a cell saying so.
    A reference spelt exactly ``TOTAL`` in capitals is taken as an account's."""
    if ref:
        return _compact(ref) in _TOTAL_WORDS and (ref != ref.upper() or not _REF.fullmatch(ref))
    return any(_compact(cell) in _TOTAL_WORDS for cell in row)


def _row_ref(where: str, number: int, value: str, seen: dict[str, int]) -> str:
    """The row's account reference; AccountsError for a missing, bad or repeated one."""
    ref = value.strip().upper()
    if not _REF.fullmatch(ref):
        problem = "has no account reference" if not ref else (
            f"account reference {value!r} is not 1 to 8 letters A-Z and digits")
        raise AccountsError(f"{where} row {number}: {problem}")
    if ref in seen:
        raise AccountsError(f"{where} row {number}: account {ref} is also on row {seen[ref]}")
    seen[ref] = number
    return ref


def _records(where: str, text: str, columns: Mapping[str, Sequence[str]], required: Sequence[str],
             one_of: Sequence[str] = ()) -> Iterator[tuple[int, dict[str, str]]]:
    """(row number, {field: cell}) for each row below the header that is neither blank nor a totals line; the
    header is the first of the first rows that names a ``ref`` column. Fields whose column is missing are left
    out of the dict."""
    reader = csv.reader(io.StringIO(text, newline=""))
    number = 0
    found: dict[str, int] | None = None
    try:
        for number, row in enumerate(reader, start=1):
            if found is None:
                found = _header(row, columns)
                if found is None:
                    if number >= HEADER_SEARCH_ROWS:
                        break
                    continue
                missing = [f for f in required if f not in found]
                if missing or (one_of and not any(f in found for f in one_of)):
                    wanted = ", ".join(_LABELS[f] for f in missing) if missing else " or ".join(
                        _LABELS[f] for f in one_of)
                    raise AccountsError(f"{where} row {number}: the header has no {wanted} column")
                continue
            if not any(cell.strip() for cell in row):
                continue
            cells = {field: (row[i].strip() if i < len(row) else "") for field, i in found.items()}
            if _is_totals(cells["ref"], row):
                continue
            yield number, cells
    except csv.Error as exc:
        raise AccountsError(f"{where} row {number + 1}: not CSV ({exc})") from exc
    if found is None:
        raise AccountsError(f"{where} row 1: no header row naming an Account Reference column in the first "
                            f"{HEADER_SEARCH_ROWS} rows")


def _header(row: Sequence[str], columns: Mapping[str, Sequence[str]]) -> dict[str, int] | None:
    positions: dict[str, int] = {}
    for n, cell in enumerate(row):
        positions.setdefault(_compact(cell), n)
    found: dict[str, int] = {}
    for field, names in columns.items():
        for name in names:
            if name in positions and positions[name] not in found.values():
                found[field] = positions[name]
                break
    return found if "ref" in found else None


def _compact(cell: str) -> str:
    return re.sub(r"[^0-9a-z]", "", fold(cell.lstrip("\ufeff")))


def _basename(key: str) -> str:
    return key.rsplit("/", 1)[-1]
