"""template.yaml translated to CloudFormation by aws-sam-translator, as `sam deploy` sends it.

aws-sam-translator pins an older pydantic than the project, so it lives in a venv of its own
(``.venv-translator``, made on first use from ``tools/sam-translator.txt``, about 10 s) and runs in a child
process: the template goes in as JSON (YAML merge keys written out, code locations as `sam package` writes
them), CloudFormation comes out.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import venv
from pathlib import Path
from typing import Any

from crm_local.template import ROOT, load

TRANSLATOR_VENV = ROOT / ".venv-translator"
REQUIREMENTS = ROOT / "tools" / "sam-translator.txt"
SCRIPT = Path(__file__).with_name("translate.py")


def translator_python() -> Path:
    """The translator venv's interpreter, made (or brought up to the pinned version) when needed."""
    python = TRANSLATOR_VENV / "bin" / "python"
    stamp = TRANSLATOR_VENV / ".installed"
    if not stamp.exists() or stamp.read_text() != REQUIREMENTS.read_text():
        venv.create(TRANSLATOR_VENV, with_pip=True, clear=True)
        subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-r",
                        str(REQUIREMENTS)], check=True, stdin=subprocess.DEVNULL)
        stamp.write_text(REQUIREMENTS.read_text())
    return python


def packaged(document: dict[str, Any]) -> dict[str, Any]:
    """The template as `sam package` leaves it: code and layer folders uploaded to S3."""
    copy = json.loads(json.dumps(document))
    for resource in copy["Resources"].values():
        props = resource.get("Properties", {})
        for name in ("CodeUri", "ContentUri"):
            if isinstance(props.get(name), str):
                props[name] = f"s3://artifacts/{props[name].strip('/').replace('/', '-')}.zip"
    return copy


def translate(document: dict[str, Any] | None = None) -> dict[str, Any]:
    done = subprocess.run([str(translator_python()), str(SCRIPT)], input=json.dumps(packaged(document or load())),
                          capture_output=True, text=True, check=False, timeout=120,
                          env={"PATH": os.environ.get("PATH", ""), "AWS_DEFAULT_REGION": "eu-west-2"})
    if done.returncode != 0:
        raise RuntimeError(f"aws-sam-translator refused the template:\n{done.stderr[-4000:]}")
    translated: dict[str, Any] = json.loads(done.stdout)
    return translated


if __name__ == "__main__":  # python tests/infrastructure/translated.py > cloudformation.json
    json.dump(translate(), sys.stdout, indent=1)
