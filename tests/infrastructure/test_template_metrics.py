"""Every metric of the stack's own namespace that the dashboard graphs or an alarm watches is one its function
adds: the names are read from template.yaml and from the code (``metric_names``), never listed by hand."""

from __future__ import annotations

import json
from collections.abc import Iterator
from functools import cache
from typing import Any

import pytest

from crm_local.template import Template
from infrastructure.conftest import LAYER, SAM
from infrastructure.metric_names import Emitted, emitted, modules_of

Metric = tuple[str, str, str | None]  # (namespace, name, the service dimension)


def _namespace(document: dict[str, Any]) -> str:
    """The namespace every function's Powertools metrics go to, as the template writes it (``Fn::Sub``)."""
    namespace = document["Globals"]["Function"]["Environment"]["Variables"]["POWERTOOLS_METRICS_NAMESPACE"]
    return str(namespace["Fn::Sub"])


def _dashboard_metrics(document: dict[str, Any]) -> Iterator[Metric]:
    """Each metric line of the dashboard's widgets (``"."`` repeats the line before's value in that place,
    ``"..."`` the rest of the line before)."""
    body = json.loads(document["Resources"]["Dashboard"]["Properties"]["DashboardBody"]["Fn::Sub"])
    for widget in body["widgets"]:
        before: list[Any] = []
        for line in widget["properties"].get("metrics", []):
            fields = [f for f in line if not isinstance(f, dict)]
            if fields[:1] == ["..."]:
                fields = before
            fields = [before[n] if f == "." else f for n, f in enumerate(fields)]
            before = fields
            dimensions = dict(zip(fields[2::2], fields[3::2], strict=True))
            yield fields[0], fields[1], dimensions.get("service")


def _alarm_metrics(document: dict[str, Any]) -> Iterator[Metric]:
    """The metric of each alarm (and of each part of an alarm on metric math)."""
    def walk(node: Any) -> Iterator[Metric]:
        if isinstance(node, dict):
            if "MetricName" in node and "Namespace" in node:
                namespace = node["Namespace"]
                dimensions = {d["Name"]: d["Value"] for d in node.get("Dimensions", [])}
                yield (namespace.get("Fn::Sub", "") if isinstance(namespace, dict) else namespace,
                       node["MetricName"], dimensions.get("service"))
            for value in node.values():
                yield from walk(value)
        elif isinstance(node, list):
            for value in node:
                yield from walk(value)

    for resource in document["Resources"].values():
        if resource["Type"] == "AWS::CloudWatch::Alarm":
            yield from walk(resource["Properties"])


@cache
def _emitted_by(logical_id: str) -> Emitted:
    function = SAM.functions()[logical_id]
    return emitted(modules_of(function.module, [function.code_uri, LAYER]))


def _function_of_service(sam: Template) -> dict[str, str]:
    return {f.environment["POWERTOOLS_SERVICE_NAME"]: f.logical_id for f in sam.functions().values()}


def test_every_metric_the_dashboard_and_alarms_read_is_added_by_its_function(document: dict[str, Any],
                                                                            sam: Template) -> None:
    # Given the metrics of the stack's namespace that the dashboard graphs and the alarms watch
    ours = _namespace(document)
    read = {m for m in [*_dashboard_metrics(document), *_alarm_metrics(document)] if m[0] == ours}
    assert {"ApiOk", "ImportsFailed", "RunCompleted", "ExportsWritten", "ExportsQueued"} <= {m[1] for m in read}
    # When each is looked for in the code of the function whose service it names
    services = _function_of_service(sam)
    unnamed = sorted(name for _, name, service in read if service not in services)
    missing = sorted(f"{name} (service {service}: {services[service]})" for _, name, service in read
                     if service in services and name not in _emitted_by(services[service]).names)
    # Then each names one of the functions, and that function adds it
    assert unnamed == [], "metrics read without the service dimension of a function"
    assert missing == [], "metrics the dashboard or an alarm reads that no code adds"


@pytest.mark.parametrize("logical_id", sorted(SAM.functions()))
def test_every_metric_name_the_code_adds_can_be_read_from_it(logical_id: str) -> None:
    # Given the modules a function's handler imports
    found = _emitted_by(logical_id)
    # Then the name of each metric they add is written out (the test above would miss any other)
    assert found.unresolved == []


def test_the_functions_add_their_metrics() -> None:
    # The reading finds what each kind of function adds, through the ways the code names its metrics
    assert {"ApiOk", "ApiClientError", "ApiRetryLater", "ApiServerError", "ExportsWritten", "ExportsQueued"} <= (
        _emitted_by("CustomersApiFunction").names)  # a helper's returns, an if/else
    assert "ExportsWritten" not in _emitted_by("MoneyApiFunction").names  # only what the function imports
    assert {"ImportsCompleted", "ImportsPartial", "ImportsFailed", "ImportRowsRejected", "ImportRowsPerSecond"} <= (
        _emitted_by("ImportFunction").names)  # a wrapper's calls, a dict's values and default, a loop's rows
    assert {"AccountsError", "RunCompleted"} <= _emitted_by("AccountingSyncFunction").names
    assert {"MailSent", "ResetMailSkipped"} <= _emitted_by("MailerFunction").names


def test_a_name_made_at_run_time_is_reported_not_missed(tmp_path: Any) -> None:
    # Given a handler naming one metric by a literal and two at run time
    (tmp_path / "handler.py").write_text(
        "from aws_lambda_powertools import Metrics\n"
        "metrics = Metrics()\n"
        "def handler(event, context):\n"
        "    metrics.add_metric(name='Done', unit='Count', value=1)\n"
        "    for kind in event['kinds']:\n"
        "        metrics.add_metric(name=f'Done{kind}', unit='Count', value=1)\n"
        "    metrics.add_metric(name=event['name'], unit='Count', value=1)\n")
    # When its metrics are read
    found = emitted(modules_of("handler", [tmp_path]))
    # Then the literal is found and the other two are reported by line
    assert found.names == {"Done"}
    assert sorted((module, line) for module, line, _ in found.unresolved) == [("handler", 6), ("handler", 7)]
