"""Shared fixtures: a moto account whose tables are built from template.yaml, and API events."""

from __future__ import annotations

import importlib
import json
import os
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from moto import mock_aws

from crm_core import correlation, wiring
from crm_local import emulator
from crm_local.template import Function, Template

emulator.install()  # moto's DynamoDB at the cost of the items (as the local stack and the benchmarks run it)

CURSOR_SIGNING_KEY = "tests-cursor-signing-key-0123456789"
TEST_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "eu-west-2",
    "POWERTOOLS_TRACE_DISABLED": "true",
    "POWERTOOLS_METRICS_NAMESPACE": "CustomerWorkflowTests",
    "POWERTOOLS_LOG_LEVEL": "WARNING",
    "AWS_MAX_ATTEMPTS": "2",
    "STAFF_DIRECTORY": "built-in",  # the local stack's staff (tests of the user pool set their own)
}


def pytest_report_header() -> str:
    from xlsx_corpus import find_corpus

    return f"xlsx corpus: {find_corpus().describe()}"


@pytest.fixture(autouse=True)
def _environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name, value in TEST_ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    wiring.reset()
    correlation.use(None)  # no test starts inside another's request
    yield
    wiring.reset()


@pytest.fixture
def template() -> Template:
    return Template(secrets={"CursorSigningSecret": CURSOR_SIGNING_KEY,
                             "UnsubscribeSigningSecret": "tests-unsubscribe-signing-key-0123456789"},
                    parameters={"PublicBaseUrl": "http://127.0.0.1:3000"})


@pytest.fixture
def aws(template: Template, monkeypatch: pytest.MonkeyPatch) -> Iterator[Template]:
    """A moto account holding every table, bucket and queue of template.yaml, the buckets configured as the
    template configures them (versioning, notifications); functions see the template's environment."""
    from crm_local.iam import Guard
    from crm_local.stack import create_resources

    with mock_aws():
        create_resources(template)  # as the local stack makes them: tables, buckets (configured), queues, senders
        for function in template.functions().values():
            for name, value in function.environment.items():
                if name not in ("POWERTOOLS_SERVICE_NAME",):
                    monkeypatch.setenv(name, value)
            _act_as(function, monkeypatch)
        wiring.reset()
        with Guard(template).installed():  # each handler may do what its role in template.yaml allows, no more
            yield template


def _act_as(function: Function, monkeypatch: pytest.MonkeyPatch) -> None:
    """The function's handler, as the tests import it, runs as that function (its calls checked by the guard)."""
    from crm_local.iam import acting_as

    if str(function.code_uri) not in sys.path:  # as Lambda finds it: its CodeUri first
        monkeypatch.syspath_prepend(str(function.code_uri))
    module = importlib.import_module(function.module)
    handler = getattr(module, function.attribute)

    def as_function(event: Any, context: Any) -> Any:
        with acting_as(function.logical_id):
            return handler(event, context)

    monkeypatch.setattr(module, function.attribute, as_function)


class FakeContext:
    function_name = "test-function"
    function_version = "$LATEST"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:eu-west-2:123456789012:function:test-function"
    aws_request_id = "00000000-0000-0000-0000-000000000000"
    log_group_name = "/aws/lambda/test-function"
    log_stream_name = "test"

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 900_000  # a fresh invocation of a 15-minute function


@pytest.fixture
def context() -> FakeContext:
    return FakeContext()


def body_of(response: dict[str, Any]) -> Any:
    return json.loads(response["body"]) if response.get("body") else None


os.environ.setdefault("AWS_DEFAULT_REGION", "eu-west-2")
