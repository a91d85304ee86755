"""Finding the list in a workbook, and deciding what each of its columns is.

**The header row.** Each visible worksheet is looked at in order (or only the sheet staff name), at most
``Limits.header_scan_rows`` rows of it. A row is a header when at least two of its cells are titles the
vocabulary (``vocabulary.py``) or the staff's own mapping knows, one of them naming the customer (a name,
organisation, email, username or customer number), and none of its cells is a value — a number, a date, an
email address or a phone number — which is how a letterhead (``Email | sales@… | Phone | 01632…``) is told
apart. The row with the most titles wins. A row whose titles read better together with the row above it
(a merged "Name" over "First" and "Last") is a two-row header: the upper title is carried over the columns
its merged cell spans. When no sheet has a header the refusal names every sheet and the rows looked at.

**The mapping** (``plan``) is decided once the first reading pass has seen the column's values: staff's own
mapping first (column title or letter → field, or ignore), then a mapping remembered for the same headers,
else the vocabulary — checked against the values (a "Customer ID" of another system's UUIDs is not our
customer number). Every column is answered with its field, the reason, and a few sample values.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from crm_core.imports.normalising import looks_like_type
from crm_core.imports.reading import Book, CellError, Limits, RawRow, Refused
from crm_core.imports.vocabulary import (
    CONTEXTUAL,
    CONTEXTUAL_KEYS,
    IDENTIFYING,
    KNOWN,
    LABELS,
    REPEATABLE,
    describe,
    fold,
)
from crm_core.models.imports import ColumnMapping, RememberedMapping

IGNORE = "ignore"
SAMPLES = 3
SAMPLE_CHARS = 60


@dataclass
class Header:
    sheet: str
    row: int  # the (lower) header row's number
    titles: list[str]  # per column, as written ("" for none); a two-row header's are "Upper Lower"
    two_rows: bool = False

    @property
    def width(self) -> int:
        return len(self.titles)


@dataclass
class Found:
    header: Header
    rows: Iterator[RawRow]  # the rows under the header
    looked_at: list[str]  # sheets looked at before this one, and what was seen there
    remembered: RememberedMapping | None = None  # the mapping remembered for these headers, if any


Remembered = Callable[[list[str]], dict[str, RememberedMapping]]  # fingerprints → the mappings kept for them


@dataclass
class Plan:
    """What the rows are read with: each field's columns (the first one, then the ones used when it is empty)."""

    columns: list[ColumnMapping]
    fields: dict[str, list[int]] = field(default_factory=dict)

    @property
    def unknown(self) -> list[str]:
        return [c.title for c in self.columns if c.field is None and c.title]

    def titles(self) -> dict[str, str]:
        """The title of each field's first column (how errors name the column)."""
        return {name: self.columns[indexes[0]].title or self.columns[indexes[0]].column
                for name, indexes in self.fields.items()}


def letter(index: int) -> str:
    """The column letter of a 0-based column index (0 → A, 26 → AA)."""
    name = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        name = chr(65 + rest) + name
    return name


def fingerprint(titles: list[str]) -> str:
    """The same headers, in the same order (case, spacing and punctuation aside), give the same fingerprint."""
    keys = [fold(t) for t in titles]
    while keys and not keys[-1]:
        keys.pop()
    return hashlib.sha256("\x1f".join(keys).encode()).hexdigest()[:32]


# ---- the header row --------------------------------------------------------------------------------------------

def find_header(book: Book, sheet: str | None, header_row: int | None, staff: Mapping[str, str] | None,
                remembered: Remembered, limits: Limits) -> Found:
    """The header row and the rows under it: the row the vocabulary (or staff's mapping) reads best, else a row
    whose headers have a remembered mapping. Raises ``Refused`` naming the sheets and rows looked at."""
    names = {s.name: s for s in book.sheets}
    if sheet is not None:
        if sheet not in names:
            raise Refused(f"the workbook has no sheet named {sheet!r} (it has: {', '.join(names)})")
        candidates = [names[sheet]]
    else:
        candidates = [s for s in book.sheets if s.visible]
    staff_keys = _staff_keys(staff)
    looked_at: list[str] = []
    for info in candidates:
        if info.kind != "worksheet":
            looked_at.append(f"{info.name!r} is a chart, not a list")
            continue
        rows = book.rows(info.name)
        if header_row is not None:
            found = _at_row(info.name, rows, header_row, limits)
            if found is not None:
                kept = None if staff else remembered([fingerprint(found.titles)]).get(fingerprint(found.titles))
                return Found(found, rows, looked_at, kept)
            looked_at.append(f"{info.name!r} has no row {header_row} with titles")
            continue
        seen: list[RawRow] = []
        for read, raw in enumerate(rows, start=1):
            if any(v is not None for v in raw.cells):
                seen.append(raw)
            if len(seen) >= limits.header_scan_rows or read >= 10 * limits.header_scan_rows:
                break  # rows of styled empty cells count too: the search never reads a whole sheet
        header, at = _best(info.name, seen, staff_keys, limits)
        kept = None
        if header is None and not staff:
            header, at, kept = _remembered(info.name, seen, remembered, limits)
        elif header is not None and not staff:
            kept = remembered([fingerprint(header.titles)]).get(fingerprint(header.titles))
        if header is not None:
            return Found(header, _chain(seen[at + 1:], rows), looked_at, kept)
        looked_at.append(_describe_seen(info.name, seen, limits))
    hidden = [s.name for s in book.sheets if not s.visible and sheet is None]
    if not candidates and not hidden:
        raise Refused("the workbook has no sheets")
    where = "; ".join(looked_at) or "no visible sheet"
    extra = f"; hidden sheets not looked at: {', '.join(repr(h) for h in hidden)}" if hidden else ""
    raise Refused(f"no header row found ({where}{extra}): the list needs a row of column titles such as First Name, "
                  "Last Name, Email, Post Code — or send the header row and a mapping")


def _chain(first: list[RawRow], rest: Iterator[RawRow]) -> Iterator[RawRow]:
    yield from first
    yield from rest


def _describe_seen(name: str, seen: list[RawRow], limits: Limits) -> str:
    if not seen:
        return f"{name!r} is empty"
    span = f"rows {seen[0].number} to {seen[-1].number}" if len(seen) > 1 else f"row {seen[0].number}"
    if len(seen) >= limits.header_scan_rows:
        return f"{name!r}: {span} (the first {limits.header_scan_rows} rows with values)"
    return f"{name!r}: {span} (all of it)"


def _at_row(sheet: str, rows: Iterator[RawRow], wanted: int, limits: Limits) -> Header | None:
    for raw in rows:
        if raw.number == wanted:
            titles = [_title(v, limits) or "" for v in raw.cells]
            return Header(sheet, wanted, _trim(titles)) if any(titles) else None
        if raw.number > wanted:
            return None
    return None


def _title(value: Any, limits: Limits) -> str | None:
    """The cell as a column title, or None when it is no title."""
    if isinstance(value, str):
        text = " ".join(value.split())
        return text if 0 < len(text) <= limits.max_title_chars else None
    return None


def _is_value(value: Any, limits: Limits) -> bool:
    """A cell that is data, not a title: a header row has none of these."""
    if value is None or isinstance(value, CellError):
        return False
    if isinstance(value, bool | int | float | date | datetime):
        return True
    if isinstance(value, str):
        if len(value) > limits.max_title_chars:
            return True
        return "@" in value or sum(ch.isdigit() for ch in value) >= 7
    return False


def _trim(titles: list[str]) -> list[str]:
    while titles and not titles[-1]:
        titles.pop()
    return titles


def _score(titles: list[str], staff_keys: dict[str, str]) -> int:
    known = 0
    identifying = False
    for title in titles:
        if not title:
            continue
        key = fold(title)
        mapped = staff_keys.get(key)
        if mapped is not None:
            if mapped != IGNORE:
                known += 1
                identifying = identifying or mapped in IDENTIFYING
            continue
        hit = KNOWN.get(key)
        if hit is not None:
            known += 1
            identifying = identifying or hit.field in IDENTIFYING
        elif key in CONTEXTUAL_KEYS:
            known += 1
            identifying = True
    return known if identifying and (known >= 2 or staff_keys) else 0  # staff's own titles need no second one


def _combined(upper: tuple[Any, ...], lower: list[str], limits: Limits) -> list[str]:
    """Titles of a two-row header: the upper title carried right over the columns its merged cell spans."""
    width = max(len(upper), len(lower))
    titles = []
    carried = ""
    for index in range(width):
        above = _title(upper[index], limits) if index < len(upper) else None
        below = lower[index] if index < len(lower) else ""
        if above:
            carried = above
        elif not below:
            carried = ""
        top = above or carried
        if top and below:
            titles.append(f"{top} {below}")
        else:
            titles.append(top or below)
    return titles


def _best(sheet: str, seen: list[RawRow], staff_keys: dict[str, str],
          limits: Limits) -> tuple[Header | None, int]:
    best: tuple[int, int, Header | None] = (0, 0, None)
    for at, raw in enumerate(seen):
        if any(_is_value(v, limits) for v in raw.cells):
            continue
        titles = [_title(v, limits) or "" for v in raw.cells]
        header = Header(sheet, raw.number, _trim(titles))
        score = _score(header.titles, staff_keys)
        if at and seen[at - 1].number == raw.number - 1 and not any(_is_value(v, limits) for v in seen[at - 1].cells):
            two = _combined(seen[at - 1].cells, titles, limits)
            two_score = _score([_best_part(t, staff_keys) for t in two], staff_keys)
            if two_score > score:
                header, score = Header(sheet, raw.number, _trim(two), two_rows=True), two_score
        if score > best[0]:
            best = (score, at, header)
    return best[2], best[1]


def _remembered(sheet: str, seen: list[RawRow], remembered: Remembered,
                limits: Limits) -> tuple[Header | None, int, RememberedMapping | None]:
    """The first row of titles whose headers have a remembered mapping (one lookup for all the candidates)."""
    candidates: dict[str, tuple[int, Header]] = {}
    for at, raw in enumerate(seen):
        if any(_is_value(v, limits) for v in raw.cells):
            continue
        titles = _trim([_title(v, limits) or "" for v in raw.cells])
        if sum(1 for t in titles if t) >= 2:
            candidates.setdefault(fingerprint(titles), (at, Header(sheet, raw.number, titles)))
    if not candidates:
        return None, 0, None
    kept = remembered(list(candidates)[:100])
    for prints, (at, header) in sorted(candidates.items(), key=lambda item: item[1][0]):
        if prints in kept:
            return header, at, kept[prints]
    return None, 0, None


def _best_part(title: str, staff_keys: dict[str, str]) -> str:
    """Of a two-row title ("Name First"), the part that is known: the whole, the lower title, or the upper."""
    for candidate in _readings(title):
        key = fold(candidate)
        if key in staff_keys or key in KNOWN or key in CONTEXTUAL_KEYS:
            return candidate
    return title


def _readings(title: str) -> list[str]:
    words = title.split(" ")
    readings = [title]
    for cut in range(1, len(words)):
        readings += [" ".join(words[cut:]), " ".join(words[:cut])]
    return readings


def _staff_keys(staff: Mapping[str, str] | None) -> dict[str, str]:
    return {fold(title): name for title, name in (staff or {}).items() if fold(title)}


# ---- the mapping -------------------------------------------------------------------------------------------------

def plan(header: Header, samples: list[list[str]], staff: Mapping[str, str] | None,
         remembered: RememberedMapping | None) -> Plan:
    """Each column's field, and why. Raises ``Refused`` when staff's mapping names a column the sheet lacks."""
    titles = header.titles
    width = max(len(titles), len(samples))
    titles = titles + [""] * (width - len(titles))
    samples = samples + [[] for _ in range(width - len(samples))]
    columns = [ColumnMapping(column=letter(i), title=titles[i], field=None, why="", samples=samples[i])
               for i in range(width)]
    chosen: dict[int, tuple[str | None, str]] = {}
    if staff:
        chosen.update(_staff(columns, staff))
    elif remembered is not None:
        when = remembered.saved_at.date().isoformat()
        why = f"remembered from {remembered.filename} (import {remembered.import_id}, {when})"
        for index, column in enumerate(columns):
            name = remembered.columns.get(fold(column.title)) if column.title else None
            if name is not None:
                chosen[index] = (None if name == IGNORE else name, why + (": ignored" if name == IGNORE else ""))
    automatic = _automatic(columns, header.two_rows)
    for index, column in enumerate(columns):
        column.field, column.why = chosen[index] if index in chosen else automatic[index][:2]  # type: ignore[assignment]
    lesser = {i for i, (_, _, small) in enumerate(automatic) if small and i not in chosen}
    return Plan(columns, _settle_repeats(columns, lesser, {i for i in range(width) if i not in chosen}))


def _staff(columns: list[ColumnMapping], staff: Mapping[str, str]) -> dict[int, tuple[str | None, str]]:
    by_title: dict[str, list[int]] = {}
    for index, column in enumerate(columns):
        if column.title:
            by_title.setdefault(fold(column.title), []).append(index)
    chosen: dict[int, tuple[str | None, str]] = {}
    missing = []
    for name, target in staff.items():
        indexes = by_title.get(fold(name))
        if not indexes and name.strip().isalpha() and name.strip().isupper():
            indexes = [i for i, c in enumerate(columns) if c.column == name.strip()]
        if not indexes:
            missing.append(name)
            continue
        for index in indexes:
            chosen[index] = (None, "your mapping: ignored") if target == IGNORE else (target, "your mapping")
    if missing:
        have = ", ".join(f"{c.column} {c.title!r}" if c.title else c.column for c in columns)
        raise Refused(f"the mapping names {'a column' if len(missing) == 1 else 'columns'} the sheet does not have: "
                      f"{', '.join(repr(m) for m in missing)} (its columns: {have})")
    return chosen


def _automatic(columns: list[ColumnMapping], two_rows: bool) -> list[tuple[str | None, str, bool]]:
    """The vocabulary's answer for each column: its field, why, and whether it is a secondary column."""
    found: list[tuple[str | None, str, bool]] = []
    for column in columns:
        title = column.title
        if not title:
            found.append((None, "no title: ignored" if column.samples else "empty", False))
            continue
        key = fold(title)
        hit = KNOWN.get(key)
        if hit is None and key not in CONTEXTUAL_KEYS and two_rows:
            for reading in _readings(title)[1:]:
                if fold(reading) in KNOWN or fold(reading) in CONTEXTUAL_KEYS:
                    key = fold(reading)
                    hit = KNOWN.get(key)
                    break
        if hit is not None:
            found.append((hit.field, f"the title {title!r} means {LABELS[hit.field]}{describe(hit.source)}",
                          hit.lesser))
        elif key in CONTEXTUAL_KEYS:
            found.append(("?" + key, "", False))
        else:
            found.append((None, "not a customer field: ignored", False))
    present = {name for name, _, _ in found if name}
    answers: list[tuple[str | None, str, bool]] = []
    for column, (name, why, lesser) in zip(columns, found, strict=True):
        if name and name.startswith("?"):
            name, why = _contextual(column.title, name[1:], present)
        if name and not _fits(name, column.samples):
            shown = ", ".join(column.samples[:2])
            why = f"the title {column.title!r} reads as {LABELS[name]}, but its values ({shown}) are not: ignored"
            name = None
        answers.append((name, why, lesser))
    return answers


def _contextual(title: str, key: str, present: set[str]) -> tuple[str | None, str]:
    language, beside, partner = CONTEXTUAL[CONTEXTUAL_KEYS[key]]
    note = f" ({language})" if language else ""
    if not beside:  # "Name": a full name unless first and last names have their own columns
        if "first_name" in present and "last_name" in present:
            return None, f"{title!r} beside first and last name columns: ignored"
        return "full_name", f"{title!r} alone is a full name{note}: split into first and last names"
    if partner in present:
        return beside, f"{title!r} beside a {LABELS[partner]} column is the {LABELS[beside]}{note}"
    return "full_name", f"{title!r} alone is a full name{note}: split into first and last names"


def _fits(name: str, samples: list[str]) -> bool:
    """Values that cannot be this field keep an automatic mapping from taking the column."""
    if not samples:
        return True
    if name == "customer_number":
        return any(s.strip().isdigit() for s in samples)
    if name == "email":
        return any("@" in s for s in samples)
    if name == "type":
        return any(looks_like_type(s) for s in samples)
    return True


def _settle_repeats(columns: list[ColumnMapping], lesser: set[int], automatic: set[int]) -> dict[str, list[int]]:
    """One column per field, the first by rank (a home address before a business one) then by place; email and
    phone keep their further columns, used in turn when the first is empty. Returns each field's columns."""
    by_field: dict[str, list[int]] = {}
    for index, column in enumerate(columns):
        if column.field:
            by_field.setdefault(column.field, []).append(index)
    fields: dict[str, list[int]] = {}
    for name, indexes in by_field.items():
        ordered = sorted(indexes, key=lambda i: (i in lesser, i))
        first = columns[ordered[0]]
        kept = [ordered[0]]
        for index in ordered[1:]:
            column = columns[index]
            if name in REPEATABLE:
                column.why += f"; used when {first.title or first.column!r} is empty"
                kept.append(index)
            elif index in automatic:
                column.field = None
                column.why = f"also reads as {LABELS[name]}, but {first.title or first.column!r} is used: ignored"
            else:
                kept.append(index)  # staff mapped two columns to one field: the first with a value is used
        fields[name] = kept
    return fields


def sample_values(samples: list[list[str]], cells: tuple[Any, ...], width: int) -> None:
    """Note the first few distinct values of each column (for the answer's mapping)."""
    for index in range(min(width, len(cells))):
        value = cells[index]
        if value is None or isinstance(value, CellError):
            continue
        column = samples[index]
        if len(column) >= SAMPLES:
            continue
        text = value.isoformat() if isinstance(value, date | datetime) else str(value)
        text = " ".join(text.split())[:SAMPLE_CHARS]
        if text and text not in column:
            column.append(text)
