"""The API keeps its OpenAPI contract: schemathesis over the document the local stack serves — every check it
has (no server error, no undocumented status, bodies and headers as documented, invalid requests refused, valid
ones answered as documented), on every operation, from a fixed seed, a bounded number of cases each."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from crm_local.cli import LocalStack

pytestmark = pytest.mark.e2e

CONFIG = Path(__file__).with_name("schemathesis.toml")
SEED = "20261128"
CASES = "8"  # per operation and mode (valid and invalid data)


def test_every_operation_keeps_the_documented_contract(stack: LocalStack, tmp_path: Path) -> None:
    st = Path(sys.executable).with_name("st")
    done = subprocess.run(
        [str(st), "--config-file", str(CONFIG), "run", f"{stack.api.url}/openapi.json", "--checks", "all",
         "--phases", "examples,fuzzing", "--seed", SEED, "--max-examples", CASES, "--no-shrink",
         "--generation-deterministic", "--request-timeout", "30", "--max-failures", "50"],
        capture_output=True, text=True, timeout=900, cwd=tmp_path, check=False,
        env={**os.environ, "NO_COLOR": "1", "SCHEMATHESIS_HOOKS": ""})
    assert done.returncode == 0, done.stdout[-20_000:] + done.stderr[-5_000:]
