"""Cold-start import time of each function's handler module, against a minimal Powertools handler.

Every measurement is a fresh Python process that imports one handler module the way Lambda does (the
function's CodeUri first on sys.path, then the shared layer) with the production environment of
template.yaml: tracing on (Lambda's own variables are set, so Powertools' Tracer does not switch itself
off), the function's variables, a region and fake credentials. The child times the import with
``time.perf_counter`` and reports whether ``openpyxl`` got imported. Interpreter start-up is not counted.

The reference, measured in the same run and interleaved with the handlers, is a minimal Powertools handler
carrying the chosen stack: ``import boto3``, a ``Logger``, a ``Tracer`` and an ``APIGatewayRestResolver`` with
request validation on and one route taking a pydantic body. Every function (API or worker) is compared with
it. The smallest REST handler (no validation, no pydantic body) is shown for information.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
from dataclasses import dataclass
from pathlib import Path

from crm_local.template import ROOT, Template
from report import table

TARGET = 1.15  # a handler's median import may take at most this many times the reference's
REPEATS = 7
QUICK_REPEATS = 3
LAYER = ROOT / "layers" / "shared"
BASELINE = "for information: boto3 + Logger + Tracer + REST resolver"
REFERENCE = "reference: the same, validation on, a route taking a pydantic body"

BASELINE_HANDLER = '''\
"""The smallest Powertools REST handler: the floor an API function's cold start is compared with."""

import boto3  # noqa: F401

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.event_handler import APIGatewayRestResolver

logger = Logger()
tracer = Tracer()
app = APIGatewayRestResolver()


@app.get("/health")
def health():
    return {"status": "ok"}


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def handler(event, context):
    return app.resolve(event, context)
'''

CHILD = textwrap.dedent('''\
    import importlib, json, sys, time
    module, paths = sys.argv[1], sys.argv[2:]
    sys.path[0:0] = paths
    before = len(sys.modules)
    start = time.perf_counter()
    importlib.import_module(module)
    elapsed = time.perf_counter() - start
    print(json.dumps({"ms": elapsed * 1000, "openpyxl": "openpyxl" in sys.modules,
                      "modules": len(sys.modules) - before}))
''')


@dataclass(frozen=True)
class Subject:
    label: str
    module: str
    paths: tuple[str, ...]
    env: dict[str, str]


@dataclass
class Result:
    subject: Subject
    samples: list[float]
    openpyxl: bool
    modules: int

    @property
    def median(self) -> float:
        return statistics.median(self.samples)


def lambda_env(function_name: str, task_root: Path, handler: str, function_env: dict[str, str]) -> dict[str, str]:
    """What a Lambda execution environment sets, plus the function's variables; nothing from this shell."""
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "LANG": "C.UTF-8",
        "LAMBDA_TASK_ROOT": str(task_root),
        "AWS_LAMBDA_FUNCTION_NAME": function_name,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_EXECUTION_ENV": "AWS_Lambda_python3.12",
        "_HANDLER": handler,
        "AWS_REGION": "eu-west-2",
        "AWS_DEFAULT_REGION": "eu-west-2",
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_SESSION_TOKEN": "bench",
        **function_env,
    }


REFERENCE_HANDLER = '''\
"""A minimal Powertools handler carrying the chosen stack: every function's cold start is compared with it."""

import boto3  # noqa: F401

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.event_handler import APIGatewayRestResolver
from pydantic import BaseModel

logger = Logger()
tracer = Tracer()
app = APIGatewayRestResolver(enable_validation=True)


class Greeting(BaseModel):
    name: str


@app.post("/greetings")
def greet(greeting: Greeting) -> Greeting:
    return greeting


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def handler(event, context):
    return app.resolve(event, context)
'''


def function_subjects() -> list[Subject]:
    """Every function of template.yaml (API and workers)."""
    template = Template()
    subjects = []
    for function in template.functions().values():
        handler = f"{function.module}.{function.attribute}"
        env = lambda_env(template.physical_name(function.logical_id), function.code_uri, handler,
                         function.environment)
        subjects.append(Subject(f"{function.logical_id} ({function.module})", function.module,
                                (str(function.code_uri), str(LAYER)), env))
    return subjects


def baseline_subject(folder: Path) -> Subject:
    (folder / "baseline_handler.py").write_text(BASELINE_HANDLER)
    env = lambda_env("baseline", folder, "baseline_handler.handler", {"POWERTOOLS_SERVICE_NAME": "baseline"})
    return Subject(BASELINE, "baseline_handler", (str(folder), str(LAYER)), env)


def reference_subject(folder: Path) -> Subject:
    """The minimal handler carrying the chosen stack: request validation on (pydantic and the OpenAPI
    machinery) and a route taking a pydantic body, as every API function here does."""
    (folder / "reference_handler.py").write_text(REFERENCE_HANDLER)
    env = lambda_env("reference", folder, "reference_handler.handler", {"POWERTOOLS_SERVICE_NAME": "reference"})
    return Subject(REFERENCE, "reference_handler", (str(folder), str(LAYER)), env)


def import_once(subject: Subject) -> dict[str, float]:
    done = subprocess.run([sys.executable, "-c", CHILD, subject.module, *subject.paths], env=subject.env,
                          capture_output=True, text=True, check=False, cwd=tempfile.gettempdir())
    if done.returncode != 0:
        raise RuntimeError(f"importing {subject.module} failed:\n{done.stderr}")
    answer: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return answer


def measure(subjects: list[Subject], repeats: int) -> list[Result]:
    """One discarded round (writes the bytecode caches), then ``repeats`` rounds, subjects interleaved."""
    for subject in subjects:
        import_once(subject)
    results = [Result(s, [], False, 0) for s in subjects]
    for _ in range(repeats):
        for result in results:
            answer = import_once(result.subject)
            result.samples.append(answer["ms"])
            result.openpyxl = result.openpyxl or bool(answer["openpyxl"])
            result.modules = int(answer["modules"])
    return results


def render(results: list[Result], repeats: int) -> str:
    base = results[0].median
    rows = []
    for r in results:
        is_base = r.subject.label in (BASELINE, REFERENCE)
        verdict = "-" if is_base else ("yes" if r.median <= TARGET * base else "NO")
        rows.append([r.subject.label, f"{r.median:.0f}", f"{min(r.samples):.0f}-{max(r.samples):.0f}",
                     f"{r.median / base:.2f}x", verdict, "yes" if r.openpyxl else "no", r.modules])
    out = [table(["module imported in a fresh process", "median ms", "range ms", "vs reference",
                  f"<= {TARGET}x", "openpyxl", "modules"], rows)]
    out.append("")
    out.append(f"median of {repeats} fresh processes each, after one discarded round that writes the bytecode")
    out.append(f"caches; target: every handler within {TARGET}x the reference, and no API handler imports openpyxl.")
    out.append("modules: modules the import added to sys.modules. Tracing on, production environment.")
    out.append(f"python {sys.version.split()[0]} ({sys.executable})")
    return "\n".join(out)


def run(quick: bool = False, repeats: int | None = None) -> str:
    repeats = repeats or (QUICK_REPEATS if quick else REPEATS)
    with tempfile.TemporaryDirectory(prefix="bench-baseline-") as folder:
        results = measure([reference_subject(Path(folder)), baseline_subject(Path(folder)), *function_subjects()],
                          repeats)
    return render(results, repeats)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_REPEATS} repeats instead of {REPEATS}")
    parser.add_argument("--repeats", type=int, help="fresh processes per module")
    args = parser.parse_args(argv)
    print(run(quick=args.quick, repeats=args.repeats))


if __name__ == "__main__":
    main()
