"""template.yaml as the tests of the infrastructure read it, and each handler imported the way Lambda does."""

from __future__ import annotations

import json
import subprocess
import sys
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from crm_local.template import ROOT, Template, load

SECRETS = {"CursorSigningSecret": "x" * 32}
LAYER = ROOT / "layers" / "shared"
PROBE = Path(__file__).with_name("handler_probe.py")

SAM = Template(secrets=SECRETS)
FUNCTION_IDS = sorted(SAM.functions())
API_FUNCTION_IDS = sorted(f.logical_id for f in SAM.functions().values()
                          if any(e.get("Type") == "Api" for e in f.events.values()))


def is_public_path(path: str) -> bool:
    return path == "/health" or path.startswith("/health/") or path.startswith("/public/")


@pytest.fixture(scope="session")
def sam() -> Template:
    """template.yaml, its intrinsic functions resolved as the local stack resolves them."""
    return Template(secrets=SECRETS)


@pytest.fixture(scope="session")
def document() -> dict[str, Any]:
    """template.yaml as written (intrinsic functions left as ``{"Ref": ...}``, ``{"Fn::Sub": ...}``)."""
    return load()


@cache
def probe_handler(logical_id: str) -> dict[str, Any]:
    """Import the function's handler in a fresh interpreter with only its CodeUri and the layer on the path
    and only its template environment set; what the import found, as a dict."""
    function = SAM.functions()[logical_id]
    env = {
        **function.environment,
        "AWS_DEFAULT_REGION": "eu-west-2",
        "AWS_REGION": "eu-west-2",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_ENDPOINT_URL": "http://127.0.0.1:9",  # nothing may reach AWS while importing
        "POWERTOOLS_TRACE_DISABLED": "true",
    }
    done = subprocess.run(
        [sys.executable, "-I", str(PROBE), str(function.code_uri), str(LAYER), function.module,
         function.attribute, str(ROOT)],
        env=env, capture_output=True, text=True, timeout=60, check=False, cwd=str(function.code_uri))
    assert done.returncode == 0, (
        f"{logical_id}: importing {function.module}.{function.attribute} from {function.code_uri} failed:\n"
        f"{done.stderr}")
    report: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return report


@pytest.fixture(scope="session")
def translated() -> dict[str, Any]:
    """template.yaml as CloudFormation, translated by aws-sam-translator as `sam deploy` translates it."""
    from infrastructure.translated import translate

    return translate()
