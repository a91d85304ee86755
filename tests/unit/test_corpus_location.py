"""Where the corpus of real workbooks is found (tests/corpus and bench/import_corpus.py read it), and what a test
run says when it is not there."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from xlsx_corpus import ROOT, find_corpus


def _corpus(folder: Path) -> Path:
    folder.mkdir(parents=True)
    (folder / "manifest.json").write_text("[]")
    return folder


def test_a_checkout_finds_the_corpus_beside_it_or_beside_a_folder_above_it(tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("XLSX_CORPUS", raising=False)
    # Given a checkout two folders down (a worktree), and no corpus anywhere above it
    checkout = tmp_path / "wt" / "imports"
    checkout.mkdir(parents=True)
    missing = find_corpus(checkout)
    # Then the search says where it looked and how to name the corpus
    assert missing.folder is None
    assert str(tmp_path / "wt" / "shared" / "xlsx-corpus") in missing.describe()
    assert str(tmp_path / "shared" / "xlsx-corpus") in missing.describe()
    assert missing.describe().endswith("set $XLSX_CORPUS to the corpus folder to run tests/corpus")
    # When the corpus is in shared/ beside the folder above the checkout, it is found
    shared = _corpus(tmp_path / "shared" / "xlsx-corpus")
    assert find_corpus(checkout).folder == shared


def test_xlsx_corpus_names_a_corpus_anywhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    elsewhere = _corpus(tmp_path / "downloads" / "corpus")
    monkeypatch.setenv("XLSX_CORPUS", str(elsewhere))
    assert find_corpus(tmp_path / "ci" / "clone").folder == elsewhere


def test_a_run_names_where_the_corpus_was_looked_for_and_a_named_one_missing_fails_it(tmp_path: Path) -> None:
    # Given $XLSX_CORPUS naming a folder that holds no corpus
    env = {**os.environ, "XLSX_CORPUS": str(tmp_path / "nothing")}
    # When the corpus tests are run
    run = subprocess.run([sys.executable, "-m", "pytest", "tests/corpus", "-p", "no:cacheprovider"], cwd=ROOT,
                         env=env, capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL, check=False)
    # Then the run says so in its header and fails, rather than passing without them
    said = f"not found: $XLSX_CORPUS names {tmp_path / 'nothing'}, which holds no manifest.json"
    assert f"xlsx corpus: {said}" in run.stdout
    assert f"the xlsx corpus is {said}" in run.stdout and run.returncode != 0
