"""The corpus of real workbooks (``$XLSX_CORPUS``, else ``shared/xlsx-corpus`` beside the checkout or beside a folder
above it), read the way
the import reads an upload: every file through the import's reading step (``checking.check_workbook``: the
hostile-file checks, the reader and its fallback, the header search, the mapping and every row's rules), in
worker processes, each file with a time limit.

Used by ``tests/corpus`` (no crash, no hang, every file a reference reader reads is read or refused for what
is in it) and by ``bench/import_corpus.py`` (the figures).
"""

from __future__ import annotations

import contextlib
import json
import multiprocessing
import os
import resource
import signal
import sys
import time
import traceback
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
CORPUS_ENV = "XLSX_CORPUS"
TIME_LIMIT = 60  # seconds a file may take before it counts as hung
# Refusals that are about what the file holds, not about the reader: a list must have a header and rows.
CONTENT_REASONS = ("no header row found", "the workbook has no sheets")


@dataclass(frozen=True)
class CorpusSearch:
    """Where the corpus was looked for, and where it is (``folder``: None when it is in none of those places)."""

    folder: Path | None
    looked_in: list[Path]
    named: bool  # $XLSX_CORPUS named the one place to look

    def describe(self) -> str:
        if self.folder is not None:
            return f"{self.folder}"
        places = ", ".join(str(p) for p in self.looked_in)
        if self.named:
            return f"not found: ${CORPUS_ENV} names {places}, which holds no manifest.json"
        return (f"not found (no manifest.json in {places}); set ${CORPUS_ENV} to the corpus folder to run "
                "tests/corpus")


def find_corpus(root: Path = ROOT) -> CorpusSearch:
    """``$XLSX_CORPUS`` when it is set; else ``shared/xlsx-corpus`` beside the checkout, or beside a folder above it
    (a checkout in ``/work/main`` and a worktree in ``/work/wt/<name>`` both find ``/work/shared/xlsx-corpus``)."""
    named = os.environ.get(CORPUS_ENV)
    places = [Path(named)] if named else [parent / "shared" / "xlsx-corpus" for parent in root.parents]
    found = next((p for p in places if (p / "manifest.json").is_file()), None)
    return CorpusSearch(found, places, bool(named))


def corpus_dir() -> Path | None:
    """Where the corpus is, when it is there."""
    return find_corpus().folder


def manifest(folder: Path) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = json.loads((folder / "manifest.json").read_text())
    return entries


@dataclass
class Outcome:
    file: str
    status: str  # read, refused, crashed, hung
    detail: str = ""  # the refusal's reason, or the crash
    rows: int = 0
    rejected: int = 0
    reader: str = ""
    seconds: float = 0.0
    peak_mb: float = 0.0  # the worker's peak resident size while reading this file (Linux), else its peak so far

    def content_refusal(self) -> bool:
        return self.status == "refused" and (self.detail.startswith(CONTENT_REASONS) or "has no data rows" in
                                             self.detail)


class _TooLong(Exception):
    pass


def _alarm(signum: int, frame: Any) -> None:
    raise _TooLong


def read_one(path: str) -> Outcome:
    """One file through the import's reading step (run in a worker process)."""
    from crm_core.imports.checking import Defaults, Outlet, check_workbook
    from crm_core.imports.reading import Limits, Refused
    from crm_core.models.imports import ImportOptions

    name = Path(path).name
    _reset_peak()
    signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(TIME_LIMIT)
    started = time.perf_counter()
    outcome = Outcome(name, "read")
    try:
        outlet = Outlet(lambda number, rows: None, lambda spool: None, lambda row: f"row{row}")
        reading = check_workbook(Path(path), ImportOptions(), lambda prints: {}, Defaults(), Limits(), 1000, outlet)
        outcome.rows, outcome.rejected, outcome.reader = reading.rows, reading.rejected, reading.settings.reader
    except Refused as refused:
        outcome.status, outcome.detail = "refused", refused.reason
    except _TooLong:
        outcome.status, outcome.detail = "hung", f"still reading after {TIME_LIMIT} s"
    except Exception:  # noqa: BLE001 - a crash is what this run looks for
        outcome.status, outcome.detail = "crashed", traceback.format_exc(limit=4)[-1500:]
    finally:
        signal.alarm(0)
    outcome.seconds = time.perf_counter() - started
    outcome.peak_mb = _peak_mb()
    return outcome


def read_all(folder: Path, files: list[str], workers: int = 2) -> list[Outcome]:
    """Every file, in ``workers`` processes; a file whose worker never answers counts as hung."""
    # not fork: the calling process may run threads (a test session's local stack), which a fork would copy
    context = multiprocessing.get_context("forkserver" if sys.platform.startswith("linux") else "spawn")
    outcomes: list[Outcome] = []
    with context.Pool(workers, initializer=_quiet) as pool:
        pending = [(name, pool.apply_async(read_one, (str(folder / "files" / name),))) for name in files]
        for name, result in pending:
            try:
                outcomes.append(result.get(timeout=TIME_LIMIT * 2))
            except multiprocessing.TimeoutError:
                outcomes.append(Outcome(name, "hung", f"no answer after {TIME_LIMIT * 2} s"))
        pool.terminate()
    return outcomes


def _quiet() -> None:
    import logging
    import warnings

    warnings.simplefilter("ignore")  # openpyxl warns about every extension it does not keep
    logging.disable(logging.CRITICAL)


def _reset_peak() -> None:
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")  # Linux: the peak resident size starts again from now


def _peak_mb() -> float:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / (1024 if sys.platform != "darwin" else 2**20)


def as_json(outcomes: list[Outcome]) -> str:
    return json.dumps([asdict(o) for o in outcomes])
