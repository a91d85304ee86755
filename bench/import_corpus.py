"""Spreadsheet import over a corpus of 1,413 real workbooks (``../shared/xlsx-corpus`` beside the checkout, or
``$XLSX_CORPUS``): what the import's reading step makes of each, beside what two mature readers made of them
(the corpus's manifest: openpyxl read-only and python-calamine).

Every file goes through ``crm_core.imports.checking.check_workbook`` — the hostile-file checks, the reader and
its fallback, the header search, the mapping, every row's rules — in two worker processes, each file with a
60-second limit (``tests/xlsx_corpus.py``, shared with the corpus test). No AWS. Run:

    .venv/bin/python bench/import_corpus.py            # every file
    .venv/bin/python bench/import_corpus.py --quick    # one file in ten
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "layers" / "shared"), str(ROOT / "tests")]

from report import count, table  # noqa: E402
from xlsx_corpus import TIME_LIMIT, Outcome, find_corpus, manifest, read_all  # noqa: E402

WORKERS = 2


def reference(entry: dict[str, object]) -> str:
    openpyxl = bool(entry["openpyxl"]["reads"])  # type: ignore[index]
    calamine = bool(entry["calamine"]["reads"])  # type: ignore[index]
    return {(True, True): "both read it", (True, False): "only openpyxl", (False, True): "only calamine",
            (False, False): "neither"}[(openpyxl, calamine)]


def ours(outcome: Outcome) -> str:
    if outcome.status == "refused":
        return "refused: for what it holds" if outcome.content_refusal() else "refused: unreadable"
    return outcome.status


def reason(outcome: Outcome) -> str:
    """A refusal's reason without what is particular to the file (sheet names, rows, sizes)."""
    text = outcome.detail
    if text.startswith("no header row found"):
        return "no header row found"
    text = re.sub(r"\(.*?\)", "(…)", text)
    text = re.sub(r"'[^']*'", "'…'", text)
    return re.sub(r"\d[\d,.]*", "N", text.split("; open it")[0].split(": save")[0])[:90]


def run(quick: bool = False) -> str:
    search = find_corpus()
    folder = search.folder
    if folder is None:
        return f"import_corpus: the corpus is {search.describe()}; nothing measured"
    entries = manifest(folder)
    if quick:
        entries = entries[::10]
    began = time.perf_counter()
    outcomes = {o.file: o for o in read_all(folder, [e["file"] for e in entries], WORKERS)}
    wall = time.perf_counter() - began
    lines = [f"{len(entries):,} workbooks ({'one in ten, ' if quick else ''}{WORKERS} worker processes, "
             f"{TIME_LIMIT} s limit per file), {wall:.0f} s in all", ""]

    columns = ["read", "refused: for what it holds", "refused: unreadable", "crashed", "hung"]
    grid: Counter[tuple[str, str]] = Counter((reference(e), ours(outcomes[e["file"]])) for e in entries)
    rows = []
    for kind in ("both read it", "only openpyxl", "only calamine", "neither"):
        total = sum(grid[(kind, c)] for c in columns)
        rows.append([kind, count(total), *(count(grid[(kind, c)]) for c in columns)])
    rows.append(["all", count(len(entries)), *(count(sum(grid[(k, c)] for k in ("both read it", "only openpyxl",
                 "only calamine", "neither"))) for c in columns)])
    lines += table(["reference readers (manifest)", "files", *columns], rows).splitlines()
    lines.append("")

    reasons = Counter(reason(o) for o in outcomes.values() if o.status == "refused")
    lines += table(["refused because", "files"], [[r, count(n)] for r, n in reasons.most_common()]).splitlines()
    lines.append("")

    readers = Counter(o.reader for o in outcomes.values() if o.status == "read")
    slowest = max(outcomes.values(), key=lambda o: o.seconds)
    heaviest = max(outcomes.values(), key=lambda o: o.peak_mb)
    rows_read = sum(o.rows for o in outcomes.values())
    crashed = sum(o.status == "crashed" for o in outcomes.values())
    hung = sum(o.status == "hung" for o in outcomes.values())
    missed = any(grid[(k, c)] for k in ("both read it", "only openpyxl", "only calamine") for c in columns[2:])
    lines += [
        f"read by: {', '.join(f'{r} {n:,}' for r, n in readers.most_common())}; {rows_read:,} data rows in all",
        f"slowest file: {slowest.file} ({slowest.seconds:.2f} s, {ours(slowest)})",
        f"peak memory: {heaviest.peak_mb:.0f} MB (the worker's resident peak while reading {heaviest.file})",
        f"crashed: {crashed}, hung: {hung} (target: 0 and 0)",
        f"every file a reference reader reads is read or refused for what it holds: {'NO' if missed else 'yes'}",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="one file in ten")
    args = parser.parse_args(argv)
    print(run(quick=args.quick))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
