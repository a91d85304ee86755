"""Export writing rate and peak memory: our CSV and XLSX writers against plain csv and openpyxl.

No AWS: customers are ``Customer`` models made in memory (a pool of 1,000, some with formula-like
values, handed out again and again up to N rows, so making them costs nothing during the measurement and
the writers see N rows). Each subject writes a header and N rows of the default export columns (all
contact data) to a temporary file:

- ``ours csv`` / ``ours xlsx``: ``crm_core.export.write_export``, as the export service runs it
  (column values read from each model, every formula-like cell neutralised).
- ``baseline csv``: the csv module writing the same values, already extracted, without neutralising.
- ``baseline xlsx``: openpyxl in write-only mode appending the same values, already extracted.

Rows/s is timed without tracing; peak memory is a second run under ``tracemalloc`` (Python allocations
above what was allocated before the write, pool included before). Run:

    .venv/bin/python bench/export_rate.py            # 10,000 and 100,000 rows
    .venv/bin/python bench/export_rate.py --quick    # 1,000 and 10,000 rows
"""

from __future__ import annotations

import argparse
import csv
import io
import itertools
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "layers" / "shared")]

from crm_core.export import CONTACT_COLUMNS, row_of, write_export  # noqa: E402
from crm_core.ids import new_id  # noqa: E402
from crm_core.models.customer import Address, Customer  # noqa: E402

POOL = 1_000
Writer = Callable[[IO[bytes], int], None]


def pool() -> list[Customer]:
    start = datetime(2024, 1, 1, tzinfo=UTC)
    made = []
    for n in range(POOL):
        odd = n % 50 == 0  # one in fifty has formula-like values
        moment = start + timedelta(minutes=n)
        made.append(Customer(
            id=new_id(), customer_number=str(100_000 + n), type="individual", status="active",
            first_name='=HYPERLINK("http://x","y")' if odd else f"First{n}", last_name=f"Last{n}",
            username=f"user{n}", email=f"user{n}@example.org", phone="+44 20 7946 0000" if odd else "020 7946 0000",
            address=Address(line1=f"{n} High Street", city="London", postcode="N1 9GU", country="GB"),
            assigned_staff=["amy"], version=1, created_at=moment, updated_at=moment, created_by="bench",
            updated_by="bench"))
    return made


def customers(models: list[Customer], n: int) -> Iterator[Customer]:
    return itertools.islice(itertools.cycle(models), n)


def ours(fmt: str, models: list[Customer]) -> Writer:
    def write(file: IO[bytes], n: int) -> None:
        write_export(file, fmt, CONTACT_COLUMNS, customers(models, n))  # type: ignore[arg-type]
    return write


def baseline_csv(rows: list[list[Any]]) -> Writer:
    def write(file: IO[bytes], n: int) -> None:
        text = io.TextIOWrapper(file, encoding="utf-8", newline="")
        writer = csv.writer(text)
        writer.writerow(CONTACT_COLUMNS)
        for row in itertools.islice(itertools.cycle(rows), n):
            writer.writerow(row)
        text.flush()
        text.detach()
    return write


def baseline_xlsx(rows: list[list[Any]]) -> Writer:
    def write(file: IO[bytes], n: int) -> None:
        from openpyxl import Workbook

        book = Workbook(write_only=True)
        sheet = book.create_sheet("Customers")
        sheet.append(CONTACT_COLUMNS)
        for row in itertools.islice(itertools.cycle(rows), n):
            sheet.append(row)
        book.save(file)
    return write


def measure(write: Writer, n: int) -> tuple[float, float, int]:
    """(rows per second, peak MiB under tracemalloc, file bytes)."""
    with tempfile.TemporaryFile() as file:
        began = time.perf_counter()
        write(file, n)
        elapsed = time.perf_counter() - began
        size = file.tell()
    with tempfile.TemporaryFile() as file:
        tracemalloc.start()
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        write(file, n)
        peak = tracemalloc.get_traced_memory()[1] - base
        tracemalloc.stop()
    return n / elapsed, peak / 2**20, size


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1,000 and 10,000 rows")
    args = parser.parse_args(argv)
    sizes = [1_000, 10_000] if args.quick else [10_000, 100_000]
    models = pool()
    rows = [["" if v is None else v for v in row_of(c, CONTACT_COLUMNS)] for c in models]
    subjects = [("ours csv", ours("csv", models)), ("baseline csv", baseline_csv(rows)),
                ("ours xlsx", ours("xlsx", models)), ("baseline xlsx", baseline_xlsx(rows))]
    print(f"Export writing: {len(CONTACT_COLUMNS)} columns (all contact data), Python {sys.version.split()[0]}\n")
    print(f"{'subject':<14} {'rows':>8} {'rows/s':>10} {'vs baseline':>12} {'peak MiB':>9} {'file MiB':>9}")
    for n in sizes:
        measured = {name: measure(write, n) for name, write in subjects}
        for name, (rate, peak, size) in measured.items():
            base = measured[name.replace("ours", "baseline")][0]
            ratio = f"{base / rate:.2f}x" if name.startswith("ours") else ""
            print(f"{name:<14} {n:>8,} {rate:>10,.0f} {ratio:>12} {peak:>9.1f} {size / 2**20:>9.1f}")
        print()
    print("vs baseline: how many times longer ours takes than the baseline writing the same rows.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
