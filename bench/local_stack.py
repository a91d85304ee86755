"""The local stack doing the main job: a generated customer list through ``crm import`` on ``crm serve``, beside
the same import in-process on moto, then a stop and a restart on the state it saved.

For each size (10,000 and 100,000 rows; ``--quick``: 1,000 and 5,000):

- The workbook is ``crm_local.samples.generated_workbook(rows)``: distinct individuals with unique emails,
  phone, address and postcode (7 columns), written once to a temporary folder.
- Local stack: ``crm serve --no-demo --state <new folder>`` in its own process on free ports, as ``make run``
  runs it (emulator, saved state, API, queue poller). The import goes through ``crm import``'s client in this
  process (``POST /imports``, the presigned upload, the job followed until it is finished). Measured: wall time
  from the request to the finished job, the stack process's CPU time over the same span (user + system, from
  ``/proc``; on a machine shared with other work it says what the import costs when wall time cannot), and its
  peak resident memory (``VmHWM``) over its whole life. Meanwhile a keyword search (``GET /customers?q=...``)
  goes to the API every 2 seconds: how many answered 200, and their median and slowest time.
- Baseline, in the same run: the same workbook imported in-process on moto (``import_write.Account``: the
  tables, bucket and queues of template.yaml in a moto account in this process, the queue drained through
  ``import_worker.handler`` one message at a time) in a child process, with the same CPU and peak-memory
  measures. moto runs with ``crm_local/emulator.py`` in both.
- Stop and restart: SIGINT to the stack (what Ctrl-C sends), the seconds until the process has ended and the
  size of the state folder; then ``crm serve`` again on the same folder, the seconds from its start until
  ``GET /health`` answers, the restore's own seconds as it reports them, the items it restored, and its peak
  memory after the restore.

Nothing passes or fails on timing; the last lines compare the figures with the targets (100,000 rows within
30 minutes, the stack process at most 2 GB, every row created, searches answered, stop within 5 seconds).

    .venv/bin/python bench/local_stack.py            # 10,000 and 100,000 rows (most of an hour on 2 CPUs)
    .venv/bin/python bench/local_stack.py --quick    # 1,000 and 5,000 rows
    .venv/bin/python bench/local_stack.py --sizes 100000 --no-baseline   # one size, the stack alone
"""

from __future__ import annotations

import argparse
import io
import json
import os
import re
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from crm_local.import_client import run_import
from crm_local.samples import generated_workbook
from crm_local.state import folder_size
from crm_local.template import ROOT
from report import count, ratio, seconds, table

SIZES = (10_000, 100_000)
QUICK_SIZES = (1_000, 5_000)
SEARCH_EVERY = 2.0
TARGET_MINUTES = 30  # 100,000 rows through crm import
TARGET_PEAK_MB = 2048  # the stack process
TARGET_STOP_SECONDS = 5.0
_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def progress(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _status(pid: int, name: str) -> int:
    """A ``/proc/<pid>/status`` figure in kB (VmHWM, VmRSS)."""
    match = re.search(rf"^{name}:\s+(\d+) kB", Path(f"/proc/{pid}/status").read_text(), re.MULTILINE)
    return int(match.group(1)) if match else 0


def _cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Stack:
    """``crm serve`` in a child process."""

    def __init__(self, state: Path, log: Path) -> None:
        self.api = f"http://127.0.0.1:{_free_port()}"
        self.log = log
        environment = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "POWERTOOLS_"))}
        self.started = time.monotonic()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "crm_local.cli", "serve", "--no-demo", "--state", str(state),
             "--api-port", self.api.rsplit(":", 1)[1], "--aws-port", str(_free_port())],
            stdout=log.open("w"), stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=ROOT,
            env={**environment, "PYTHONUNBUFFERED": "1"})

    def wait_healthy(self, timeout: float = 1800) -> float:
        """Seconds from the start until ``GET /health`` answers 200."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"crm serve ended: {self.log.read_text()[-2000:]}")
            try:
                with _opener.open(f"{self.api}/health", timeout=5) as answer:
                    if answer.status == 200:
                        return time.monotonic() - self.started
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.1)
        raise RuntimeError("crm serve did not become healthy")

    def stop(self) -> float:
        asked = time.monotonic()
        self.process.send_signal(signal.SIGINT)
        self.process.wait(timeout=120)
        return time.monotonic() - asked

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


@dataclass
class Searches:
    """A keyword search every few seconds while the import runs."""

    api: str
    times: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        while not self._stop.wait(SEARCH_EVERY):
            began = time.monotonic()
            try:
                with _opener.open(f"{self.api}/customers?q=smith", timeout=60) as answer:
                    json.loads(answer.read())
                self.times.append(time.monotonic() - began)
            except (urllib.error.URLError, OSError, ValueError) as error:
                self.failures.append(str(error))

    def stop(self) -> None:
        self._stop.set()


@dataclass
class StackRun:
    rows: int
    created: int
    status: str
    seconds: float
    cpu: float
    peak_mb: float
    searches: Searches
    stop_seconds: float
    state_mb: float
    restart_seconds: float
    restore_seconds: float
    restored_items: int
    restart_peak_mb: float
    restart_stop_seconds: float


@dataclass
class InProcessRun:
    rows: int
    created: int
    seconds: float
    cpu: float
    peak_mb: float


def measure_stack(rows: int, book: Path, work: Path) -> StackRun:
    state = work / f"state-{rows}"
    stack = Stack(state, work / f"serve-{rows}.log")
    try:
        stack.wait_healthy()
        pid = stack.process.pid
        searches = Searches(stack.api)
        searcher = threading.Thread(target=searches.run, daemon=True)
        searcher.start()
        out = io.StringIO()
        cpu, began = _cpu(pid), time.monotonic()
        progress(f"local_stack: {rows:,} rows through crm import on crm serve (pid {pid})")
        code = run_import(book, api=stack.api, timeout=4 * 3600, out=out, err=_Progress(pid))
        elapsed, used = time.monotonic() - began, _cpu(pid) - cpu
        searches.stop()
        peak = _status(pid, "VmHWM") / 1024
        job = json.loads(out.getvalue()) if code == 0 else {"status": "failed", "counts": {}}
        progress(f"local_stack: {rows:,} rows in {seconds(elapsed)}; stopping")
        stopped = stack.stop()
        state_mb = folder_size(state) / 1e6
        again = Stack(state, work / f"restart-{rows}.log")
        try:
            restart = again.wait_healthy()
            restart_peak = _status(again.process.pid, "VmHWM") / 1024
            text = again.log.read_text()
            found = re.search(r"restored ([\d,]+) items.* in ([\d.]+) s\)", text)
            restart_stop = again.stop()
        finally:
            again.kill()
    finally:
        stack.kill()
    return StackRun(rows, int(job.get("counts", {}).get("created", 0)), str(job.get("status")), elapsed, used,
                    peak, searches, stopped, state_mb, restart, float(found.group(2)) if found else 0.0,
                    int(found.group(1).replace(",", "")) if found else 0, restart_peak, restart_stop)


class _Progress(io.StringIO):
    """crm import's progress lines, passed on every tenth chunk with the stack's memory then."""

    def __init__(self, pid: int) -> None:
        super().__init__()
        self.pid = pid

    def write(self, text: str) -> int:
        done = re.search(r"running, ([\d,]+)/", text)
        rows = int(done.group(1).replace(",", "")) if done else 0
        if rows and rows % 10_000 == 0:
            rss, peak = _status(self.pid, "VmRSS") // 1024, _status(self.pid, "VmHWM") // 1024
            memory = f"stack RSS {rss:,} MB, peak {peak:,} MB"
            progress(f"local_stack: {text.strip().split(': ', 2)[-1]} ({memory})")
        return super().write(text)


def measure_in_process(rows: int, book: Path) -> InProcessRun:
    progress(f"local_stack: {rows:,} rows in-process on moto (baseline)")
    answer = subprocess.run([sys.executable, __file__, "--in-process", str(rows), str(book)], capture_output=True,
                            text=True, check=True, cwd=ROOT)
    found = json.loads(answer.stdout.strip().splitlines()[-1])
    return InProcessRun(rows, found["created"], found["seconds"], found["cpu"], found["peak_mb"])


def in_process_child(rows: int, book: Path) -> None:
    """The baseline, in this (child) process: import_write's moto account and queue drain."""
    from moto import mock_aws

    from crm_local.template import Template
    from import_write import Account
    from search_reads import BENCH_ENV, environment

    sys.path.append(str(ROOT / "functions" / "sync"))
    template = Template(secrets={"CursorSigningSecret": BENCH_ENV["CURSOR_SIGNING_KEY"]})
    with environment(BENCH_ENV), mock_aws():
        account = Account(template)
        before = resource.getrusage(resource.RUSAGE_SELF)
        done = account.run("in-process", "uploads/in-process.xlsx", book.read_bytes(), rows)
        after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    print(json.dumps({"created": done.created, "seconds": done.seconds, "cpu": cpu,
                      "peak_mb": _status(os.getpid(), "VmHWM") / 1024}))


def render(stack_runs: list[StackRun], baselines: list[InProcessRun | None]) -> str:
    out = []
    rows = []
    for s, b in zip(stack_runs, baselines, strict=True):
        rows.append([f"{s.rows:,} rows, local stack", s.status, count(s.created), seconds(s.seconds),
                     f"{s.rows / s.seconds:,.0f}", seconds(s.cpu), f"{s.rows / s.cpu:,.0f}", f"{s.peak_mb:,.0f}"])
        if b is None:
            rows.append([f"{s.rows:,} rows, in-process moto", "not run (--no-baseline)", "", "", "", "", "", ""])
            continue
        rows.append([f"{b.rows:,} rows, in-process moto", "completed" if b.created == b.rows else "?",
                     count(b.created), seconds(b.seconds), f"{b.rows / b.seconds:,.0f}", seconds(b.cpu),
                     f"{b.rows / b.cpu:,.0f}", f"{b.peak_mb:,.0f}"])
        rows.append(["  stack / in-process", "", "", ratio(s.seconds / b.seconds), "", ratio(s.cpu / b.cpu), "",
                     ratio(s.peak_mb / b.peak_mb)])
    out.append(table(["import", "job", "created", "wall", "rows/s", "CPU", "rows/s of CPU", "peak MB"], rows))
    out.append("")
    rows = []
    for s in stack_runs:
        times = sorted(s.searches.times)
        rows.append([f"{s.rows:,} rows", count(len(times) + len(s.searches.failures)), count(len(times)),
                     f"{statistics.median(times):.2f} s" if times else "-", f"{times[-1]:.2f} s" if times else "-"])
    out.append(table(["searches while importing", "asked", "answered", "median", "slowest"], rows))
    out.append("")
    rows = []
    for s in stack_runs:
        rows.append([f"{s.rows:,} rows", count(s.restored_items), f"{s.state_mb:,.1f}", f"{s.stop_seconds:.1f} s",
                     f"{s.restart_seconds:.1f} s", f"{s.restore_seconds:.1f} s", f"{s.restart_peak_mb:,.0f}",
                     f"{s.restart_stop_seconds:.1f} s"])
    out.append(table(["stop and restart", "items saved", "state MB", "stop (Ctrl-C)", "start to /health",
                      "of which restore", "peak MB after restore", "stop again"], rows))
    out.append("")
    out.append("wall: from POST /imports to the finished job; CPU: the stack process's (or the in-process child's)")
    out.append("user + system seconds over that span; peak MB: the process's peak resident memory (VmHWM).")
    out.append("moto runs with crm_local/emulator.py in both; the stack adds HTTP, the API, the poller and saving.")
    out.append(verdict(stack_runs))
    return "\n".join(out)


def verdict(runs: list[StackRun]) -> str:
    missed = []
    for s in runs:
        where = f"{s.rows:,} rows"
        if s.created != s.rows:
            missed.append(f"{where}: {s.created:,} created of {s.rows:,}")
        if s.peak_mb > TARGET_PEAK_MB:
            missed.append(f"{where}: the stack peaked at {s.peak_mb:,.0f} MB")
        if s.searches.failures or not s.searches.times:
            missed.append(f"{where}: {len(s.searches.failures)} searches went unanswered")
        if max(s.stop_seconds, s.restart_stop_seconds) > TARGET_STOP_SECONDS:
            missed.append(f"{where}: a stop took {max(s.stop_seconds, s.restart_stop_seconds):.1f} s")
        if s.rows >= 100_000 and s.seconds > TARGET_MINUTES * 60:
            missed.append(f"{where}: {seconds(s.seconds)} (target {TARGET_MINUTES} min; CPU {seconds(s.cpu)})")
    targets = (f"targets: every row created; stack peak ≤ {TARGET_PEAK_MB:,} MB; searches answered while importing; "
               f"stop ≤ {TARGET_STOP_SECONDS:.0f} s; 100,000 rows ≤ {TARGET_MINUTES} min")
    return targets + "\n" + ("every target met" if not missed else "MISSED: " + "; ".join(missed))


def run(quick: bool = False, sizes: tuple[int, ...] | None = None, baseline: bool = True) -> str:
    chosen = sizes or (QUICK_SIZES if quick else SIZES)
    stack_runs: list[StackRun] = []
    baselines: list[InProcessRun | None] = []
    with tempfile.TemporaryDirectory(prefix="crm-local-stack-bench-") as folder:
        work = Path(folder)
        for rows in chosen:
            book = generated_workbook(work / f"customers-{rows}.xlsx", rows)
            baselines.append(measure_in_process(rows, book) if baseline else None)
            stack_runs.append(measure_stack(rows, book, work))
    return render(stack_runs, baselines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help=f"sizes {QUICK_SIZES}")
    parser.add_argument("--sizes", type=lambda text: tuple(int(n) for n in text.split(",")),
                        help="comma-separated row counts instead")
    parser.add_argument("--no-baseline", action="store_true",
                        help="the local stack only, without the in-process import beside it (it takes as long again)")
    parser.add_argument("--in-process", nargs=2, metavar=("ROWS", "BOOK"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.in_process:
        in_process_child(int(args.in_process[0]), Path(args.in_process[1]))
        return 0
    print(run(quick=args.quick, sizes=args.sizes, baseline=not args.no_baseline))
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    sys.exit(main())
