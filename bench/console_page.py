"""The staff console in Chromium against the local stack: what the first page transfers, and how long the
results take to show once the API has answered a search (``python bench/console_page.py [--quick]``).

- First page: a fresh browser context opens ``/console/`` and waits until the list of the last 30 days is
  shown and the network is idle; every response's bytes on the wire (headers included, as Chromium counts
  them) are added up, split into the console's own files and the API's answers. The local API sends files
  uncompressed; CloudFront compresses them, so the gzip size of the same files is shown beside them.
- Search: a keyword matching 120 customers is typed again and again (pages of 25 and of 100 rows). The
  console marks when the API's answer has arrived and been read, and when the results are on screen (after
  the next frame); the median and the slowest of those spans are shown. Baseline, in the same page: the
  same answer fetched by a few lines of plain JavaScript and written into a bare table of the same columns,
  timed the same way.
"""

from __future__ import annotations

import argparse
import gzip
import statistics
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from report import table

BUDGET_BYTES = 300 * 1024
BUDGET_MS = 100.0
MATCHING = 120

BASELINE_JS = """async ([url, columns]) => {
  const headers = {Accept: "application/json"};
  const box = document.createElement("div");
  document.body.append(box);
  const response = await fetch(url, {headers});
  const text = await response.text();
  const start = performance.now();
  const page = JSON.parse(text);
  const tableEl = document.createElement("table");
  for (const c of page.items) {
    const row = tableEl.insertRow();
    for (const column of columns) {
      const [top, part] = column.split(".");
      const value = part ? (c[top] || {})[part] : c[top];
      row.insertCell().textContent = value == null ? "—" : String(value);
    }
  }
  box.replaceChildren(tableEl);
  await new Promise((resolve) => requestAnimationFrame(() => setTimeout(resolve, 0)));
  const spent = performance.now() - start;
  box.remove();
  return spent;
}"""


def _customers(count: int) -> None:
    """``count`` customers matching the keywords, written as ``CustomerRepository.create`` writes them but in
    batches (``search_reads.customer_items``): a transaction per customer is slow on moto, not the point here."""
    from datetime import UTC, datetime

    import boto3

    from crm_core.config import load_settings
    from crm_core.dal.dynamo import batch_write
    from crm_core.ids import new_id
    from crm_core.models.customer import Address, Customer
    from search_reads import customer_items

    now = datetime.now(UTC)
    items: list[dict[str, Any]] = []
    claimed: set[str] = set()
    for n in range(count):
        customer = Customer(
            id=new_id(), customer_number=str(900_000 + n), type="individual", first_name=f"Benchmark{n:03d}",
            last_name="Shopper", email=f"benchmark.{n}@example.org", phone=f"0113 496 {n:04d}",
            address=Address(line1=f"{n} Long Row", city="Leeds", postcode="LS1 4AP", country="GB"),
            version=1, created_at=now, updated_at=now, created_by="bench", updated_by="bench")
        items += customer_items(customer, claimed)
    batch_write(boto3.client("dynamodb"), load_settings().table_name, items)


def first_page(browser: Any, base: str) -> dict[str, Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    urls: dict[str, str] = {}
    sizes: dict[str, int] = {}
    cdp.on("Network.responseReceived", lambda e: urls.__setitem__(e["requestId"], e["response"]["url"]))
    cdp.on("Network.loadingFinished", lambda e: sizes.__setitem__(e["requestId"], int(e["encodedDataLength"])))
    page.goto(f"{base}/console/", wait_until="networkidle")
    page.wait_for_selector("table.customers tbody tr")
    page.wait_for_load_state("networkidle")
    context.close()
    from crm_local.console import SITE

    files = api = gzipped = 0
    count_files = count_api = 0
    for request_id, size in sizes.items():
        path = urlsplit(urls.get(request_id, "")).path
        local = SITE / path.removeprefix("/console/") if path.startswith("/console/") else None
        if local is not None and (local.is_file() or path == "/console/"):
            files += size
            count_files += 1
            source = SITE / "index.html" if path == "/console/" else local
            gzipped += len(gzip.compress(source.read_bytes(), 6))
        else:
            api += size
            count_api += 1
    return {"files": files, "api": api, "gzipped": gzipped, "count_files": count_files, "count_api": count_api}


def search_spans(browser: Any, base: str, page_size: int, repeats: int) -> tuple[list[float], list[float]]:
    # The waits below are evaluated scripts, which the console's Content-Security-Policy forbids: lift it here.
    context = browser.new_context(viewport={"width": 1280, "height": 900}, bypass_csp=True)
    page = context.new_page()
    page.goto(f"{base}/console/")
    page.wait_for_selector("table.customers tbody tr")
    page.select_option("#page-size", str(page_size))
    page.wait_for_timeout(300)
    spans: list[float] = []
    baseline: list[float] = []
    columns = page.evaluate("""() => [...document.querySelectorAll('col[data-column]')].map(c => c.dataset.column)
                                       .filter(c => c !== 'name')""")
    for n in range(repeats):
        word = "benchmark" if n % 2 == 0 else "shopper"
        page.evaluate("performance.clearMeasures('crm:search-shown')")
        page.fill("#keyword", word)
        page.wait_for_function("performance.getEntriesByName('crm:search-shown').length > 0")
        page.wait_for_function(f"document.querySelectorAll('table.customers tbody tr').length === {page_size}")
        spans.append(page.evaluate("performance.getEntriesByName('crm:search-shown').at(-1).duration"))
        baseline.append(page.evaluate(BASELINE_JS, [f"/customers?q={word}&limit={page_size}", columns]))
    context.close()
    return spans, baseline


def run(quick: bool = False) -> str:
    from playwright.sync_api import sync_playwright

    from e2e.conftest import local_stack
    from e2e.console.conftest import launch

    repeats = 6 if quick else 20
    stacks = local_stack(demo=True)
    stack = next(stacks)
    try:
        _customers(MATCHING)
        with sync_playwright() as playwright:
            browser = launch(playwright)
            try:
                sizes = first_page(browser, stack.api.url)
                results = {size: search_spans(browser, stack.api.url, size, repeats) for size in (25, 100)}
            finally:
                browser.close()
    finally:
        stacks.close()
    total = sizes["files"] + sizes["api"]
    out = [table(["first page (/console/)", "requests", "bytes", "vs 300 KB budget"], [
        ["console files (as served locally, uncompressed)", sizes["count_files"], f"{sizes['files']:,}",
         f"{sizes['files'] / BUDGET_BYTES:.2f}x"],
        ["  the same files gzipped (as CloudFront serves them)", "", f"{sizes['gzipped']:,}",
         f"{sizes['gzipped'] / BUDGET_BYTES:.2f}x"],
        ["config.json and API answers (/me, /staff, preferences, the list)", sizes["count_api"],
         f"{sizes['api']:,}", ""],
        ["total", sizes["count_files"] + sizes["count_api"], f"{total:,}", f"{total / BUDGET_BYTES:.2f}x"],
    ])]
    rows = []
    for size, (spans, baseline) in results.items():
        median, base = statistics.median(spans), statistics.median(baseline)
        rows.append([f"{size} rows", len(spans), f"{median:.1f}", f"{max(spans):.1f}", f"{median / BUDGET_MS:.2f}x",
                     f"{base:.1f}", f"{median / base:.1f}x"])
    out.append("")
    out.append(table(["API answer → results shown (ms)", "searches", "median", "slowest", "vs 100 ms",
                      "plain-JS table", "vs plain"], rows))
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    print(run(quick=parser.parse_args(argv).quick))
    return 0


if __name__ == "__main__":
    sys.exit(main())
