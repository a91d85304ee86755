"""Every workbook of the real-world corpus through the import's reading step: nothing crashes or hangs the
reader; every workbook a mature reader (openpyxl or python-calamine) reads is read, or refused only for what
it holds (no header row, no rows); the broken ones are refused with a reason a staff member can act on.

The corpus is not part of the project (``xlsx_corpus.find_corpus`` says where it is looked for). Where it is not,
these tests are reported skipped with that reason; where ``$XLSX_CORPUS`` names a folder without it, they fail."""

from __future__ import annotations

from typing import Any

import pytest

from xlsx_corpus import Outcome, find_corpus, manifest, read_all

SEARCH = find_corpus()
if SEARCH.folder is None:
    if SEARCH.named:
        pytest.fail(f"the xlsx corpus is {SEARCH.describe()}", pytrace=False)
    pytest.skip(f"the xlsx corpus is {SEARCH.describe()}", allow_module_level=True)
FOLDER = SEARCH.folder

# Lists of customers and contacts kept in the corpus, which the import must take (their rows may be rejected
# one by one for what they hold, but the list is read).
CUSTOMER_LISTS = [
    "Dromslades__contacts__contacts.xlsx",
    "HNordholm__contact-cleaning-automation__contactclean.xlsx",
    "HNordholm__contact-cleaning-automation__contacts.xlsx",
    "CrimsonSoul__NOCList__contacts.xlsx",
    "Nanle-code__CRM-System__customers.xlsx",
    "Piusha__dotmailer_usefull_functions__contacts.xlsx",
    "thodoris-spyridis__sql_server_bulk_insert__customer_list.xlsx",
    "LaFonseca__Cadastro-Cliente-Excel__clientes.xlsx",
    "Juanjo-stak__crm-cda__clientes.xlsx",
]


@pytest.fixture(scope="module")
def corpus() -> list[dict[str, Any]]:
    return manifest(FOLDER)


@pytest.fixture(scope="module")
def outcomes(corpus: list[dict[str, Any]]) -> dict[str, Outcome]:
    return {o.file: o for o in read_all(FOLDER, [entry["file"] for entry in corpus])}


def test_no_workbook_crashes_or_hangs_the_reader(outcomes: dict[str, Outcome]) -> None:
    failures = {o.file: o.detail for o in outcomes.values() if o.status in ("crashed", "hung")}
    assert failures == {}


def test_what_a_reference_reader_reads_is_read_or_refused_for_what_it_holds(
        corpus: list[dict[str, Any]], outcomes: dict[str, Outcome]) -> None:
    readable = [e["file"] for e in corpus if e["openpyxl"]["reads"] or e["calamine"]["reads"]]
    wrongly = {f: outcomes[f].detail for f in readable
               if not (outcomes[f].status == "read" or outcomes[f].content_refusal())}
    assert wrongly == {}
    assert sum(outcomes[f].status == "read" for f in readable) >= 50


def test_the_broken_ones_are_refused_with_a_reason(corpus: list[dict[str, Any]],
                                                   outcomes: dict[str, Outcome]) -> None:
    broken = [e["file"] for e in corpus if not (e["openpyxl"]["reads"] or e["calamine"]["reads"])]
    assert broken
    assert {f: outcomes[f].status for f in broken if outcomes[f].status != "refused"} == {}
    reasons = {outcomes[f].detail for f in broken}
    assert all(r and "Error" not in r.split(";")[0] and "Traceback" not in r for r in reasons), reasons


def test_the_customer_lists_in_it_are_read(outcomes: dict[str, Outcome]) -> None:
    assert {f: (outcomes[f].status, outcomes[f].detail) for f in CUSTOMER_LISTS if outcomes[f].status != "read"} == {}
    assert outcomes["HNordholm__contact-cleaning-automation__contactclean.xlsx"].rows == 2414
