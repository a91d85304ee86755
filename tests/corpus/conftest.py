"""The corpus of real workbooks is not part of the project: its tests run where it is (``../shared/xlsx-corpus``
beside the checkout, as in CI, or ``$XLSX_CORPUS``) and are not collected where it is not."""

from __future__ import annotations

from xlsx_corpus import corpus_dir

collect_ignore_glob = [] if corpus_dir() else ["test_*.py"]
