"""Logs, traces and Powertools settings: every function logs to a group with a retention, is traced, and
names its service; the stage is a parameter."""

from __future__ import annotations

from typing import Any

import pytest

from crm_local.template import Template
from infrastructure.conftest import FUNCTION_IDS

# The values CloudWatch Logs accepts for RetentionInDays.
RETENTION_DAYS = {1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
                  3288, 3653}


def _log_groups(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {name: r["Properties"] for name, r in document["Resources"].items() if r["Type"] == "AWS::Logs::LogGroup"}


def _retention_values(document: dict[str, Any], retention: Any) -> list[int]:
    """The retention a log group can get: a number, or each value its parameter allows."""
    if isinstance(retention, dict) and "Ref" in retention:
        parameter = document["Parameters"][retention["Ref"]]
        return [int(v) for v in parameter.get("AllowedValues", [parameter["Default"]])]
    return [int(retention)]


@pytest.mark.parametrize("logical_id", FUNCTION_IDS)
def test_function_has_its_own_log_group_with_retention(document: dict[str, Any], logical_id: str) -> None:
    # Given the log groups of the template
    groups = _log_groups(document)
    # When those named for the function's Lambda log group are found
    own = [props for props in groups.values()
           if props.get("LogGroupName") == {"Fn::Sub": f"/aws/lambda/${{{logical_id}}}"}]
    # Then there is exactly one, so Lambda does not create an unmanaged group that keeps logs forever
    assert len(own) == 1, f"{logical_id}: expected one log group named /aws/lambda/${{{logical_id}}}"
    # And it keeps logs for a number of days CloudWatch accepts
    assert "RetentionInDays" in own[0]
    assert set(_retention_values(document, own[0]["RetentionInDays"])) <= RETENTION_DAYS


def test_every_log_group_has_a_valid_retention(document: dict[str, Any]) -> None:
    # Given every log group of the template (functions and API access logs)
    groups = _log_groups(document)
    # When their retention is read
    missing = [name for name, props in groups.items() if "RetentionInDays" not in props]
    invalid = [name for name, props in groups.items() if "RetentionInDays" in props
               and not set(_retention_values(document, props["RetentionInDays"])) <= RETENTION_DAYS]
    # Then none keeps logs forever and each value is one CloudWatch accepts
    assert groups and missing == [] and invalid == []


def test_globals_trace_every_function_and_configure_powertools(document: dict[str, Any]) -> None:
    # Given the Globals every function inherits
    globals_ = document["Globals"]["Function"]
    variables = globals_["Environment"]["Variables"]
    # When tracing and the Powertools settings are read
    # Then X-Ray tracing is active and Powertools' namespace, log level and event logging are set
    assert globals_["Tracing"] == "Active"
    for name in ("POWERTOOLS_METRICS_NAMESPACE", "POWERTOOLS_LOG_LEVEL", "POWERTOOLS_LOGGER_LOG_EVENT"):
        assert variables.get(name) not in (None, ""), f"Globals do not set {name}"
    # And request events (customer data) are not written to the logs
    assert str(variables["POWERTOOLS_LOGGER_LOG_EVENT"]).lower() == "false"


def test_no_function_turns_tracing_off(document: dict[str, Any]) -> None:
    # Given every function's own properties
    functions = {n: r["Properties"] for n, r in document["Resources"].items()
                 if r["Type"] == "AWS::Serverless::Function"}
    # When their Tracing is read
    # Then none overrides the Globals' Active tracing
    assert functions and [n for n, p in functions.items() if p.get("Tracing", "Active") != "Active"] == []


def test_each_function_names_its_own_powertools_service(sam: Template) -> None:
    # Given every function with its environment (Globals merged with its own)
    services = {f.logical_id: f.environment.get("POWERTOOLS_SERVICE_NAME") for f in sam.functions().values()}
    # When their service names are read
    # Then each has one, and no two share it (logs, metrics and traces tell the functions apart)
    assert None not in services.values() and "" not in services.values(), services
    assert len(set(services.values())) == len(services), services


def test_stage_is_a_parameter_used_by_the_api_and_the_functions(document: dict[str, Any]) -> None:
    # Given the template's parameters
    stage = document["Parameters"]["Stage"]
    # When the Stage parameter and its uses are read
    # Then it is a string with a default among its allowed values
    assert stage["Type"] == "String"
    assert stage["Default"] in stage["AllowedValues"]
    # And it names the API stage and reaches the functions' environment
    assert document["Resources"]["CustomerApi"]["Properties"]["StageName"] == {"Ref": "Stage"}
    assert document["Globals"]["Function"]["Environment"]["Variables"]["STAGE"] == {"Ref": "Stage"}


def test_the_api_traces_and_logs_access(document: dict[str, Any]) -> None:
    # Given the REST API
    api = document["Resources"]["CustomerApi"]["Properties"]
    # When its tracing and access logging are read
    # Then requests are traced through API Gateway and logged to the access log group
    assert api.get("TracingEnabled") is True
    assert api["AccessLogSetting"]["DestinationArn"] == {"Fn::GetAtt": ["ApiAccessLogGroup", "Arn"]}
