"""Run the benchmarks and print their figures: ``python bench/run.py [--only NAME] [--quick] [--large]``.

Nothing here passes or fails on timings; each benchmark prints measurements and ratios against a baseline
measured in the same run.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import accounting_sync
import cold_start
import console_page
import export_rate
import import_corpus
import import_read
import import_write
import local_stack
import mail_render
import nightly_refresh
import search_reads
from report import seconds


def _printed(main: Callable[[list[str]], int], argv: list[str]) -> str:
    """What a benchmark that prints its own figures printed."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        main(argv)
    return out.getvalue().rstrip()


BENCHMARKS: dict[str, tuple[str, Callable[[argparse.Namespace], str]]] = {
    "cold_start": ("Cold start: import time of each function's handler in a fresh process",
                   lambda args: cold_start.run(quick=args.quick)),
    "search": ("Search: DynamoDB items read per customer search, by table size",
               lambda args: search_reads.run(quick=args.quick, large=args.large)),
    "export": ("Export: CSV and XLSX writing rate and peak memory",
               lambda args: _printed(export_rate.main, ["--quick"] if args.quick else [])),
    "import_read": ("Spreadsheet import: reading and validating 100,000 rows",
                    lambda args: _printed(import_read.main, ["--quick"] if args.quick else [])),
    "import_corpus": ("Spreadsheet import over 1,413 real workbooks: read, refused, crashed, hung",
                      lambda args: import_corpus.run(quick=args.quick)),
    "import_write": ("Spreadsheet import into DynamoDB: items per customer and batch fill",
                     lambda args: _printed(import_write.main, ["--quick"] if args.quick else [])),
    "mail_render": ("Mass email: personalised render rate and SQS messages per 100,000 recipients",
                    lambda args: _printed(mail_render.main, ["--quick"] if args.quick else [])),
    "nightly_refresh": ("Nightly balance refresh: items read at 10k and 100k customers with 1% changed",
                        lambda args: nightly_refresh.run(quick=args.quick)),
    "accounting_sync": ("Accounting sync of 10,000 new customers: requests and wall time",
                        lambda args: accounting_sync.run(quick=args.quick)),
    "local_stack": ("The local stack: crm import of a generated list on crm serve, beside in-process moto; stop and "
                    "restart", lambda args: local_stack.run(
                        quick=args.quick, sizes=None if args.quick or args.large else local_stack.SIZES[:1])),
    "console_page": ("Staff console in Chromium: first page transfer, and API answer to results shown",
                     lambda args: console_page.run(quick=args.quick)),
}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Customer workflow benchmarks")
    parser.add_argument("--only", choices=sorted(BENCHMARKS), help="run one benchmark")
    parser.add_argument("--quick", action="store_true",
                        help="smaller sizes and fewer repeats: a smoke test that finishes in well under a minute")
    parser.add_argument("--large", action="store_true",
                        help="search: add 100,000 customers; local_stack: add the 100,000-row import (most of an hour)")
    args = parser.parse_args(argv)

    print(f"python {platform.python_version()} on {platform.system()} {platform.machine()}, "
          f"{os.cpu_count()} CPUs{'; quick mode' if args.quick else ''}")
    started = time.perf_counter()
    for name, (title, bench) in BENCHMARKS.items():
        if args.only and name != args.only:
            continue
        print()
        print(title)
        print("=" * len(title))
        began = time.perf_counter()
        print(bench(args))
        print(f"({name} took {seconds(time.perf_counter() - began)})")
    print()
    print(f"total {seconds(time.perf_counter() - started)}")


if __name__ == "__main__":
    main()
