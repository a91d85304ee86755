"""Staff routes sit behind the Cognito authorizer; only the health check and /public/ routes are open."""

from __future__ import annotations

from typing import Any

from crm_local.template import Template
from infrastructure.conftest import is_public_path


def _apis(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {name: r for name, r in document["Resources"].items() if r["Type"] == "AWS::Serverless::Api"}


def _api_events(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """(function, event name, event properties) for every Api event of every function."""
    found = []
    for name, resource in document["Resources"].items():
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        for event_name, event in resource["Properties"].get("Events", {}).items():
            if event["Type"] == "Api":
                found.append((name, event_name, event["Properties"]))
    return found


def test_the_api_authorizes_with_the_staff_user_pool_by_default(document: dict[str, Any]) -> None:
    # Given the template's REST API
    api = _apis(document)["CustomerApi"]["Properties"]
    # When its Auth is read
    auth = api["Auth"]
    default = auth["DefaultAuthorizer"]
    # Then every route defaults to a Cognito authorizer backed by the staff user pool
    assert default in auth["Authorizers"]
    assert auth["Authorizers"][default]["UserPoolArn"] == {"Fn::GetAtt": ["StaffUserPool", "Arn"]}
    assert document["Resources"]["StaffUserPool"]["Type"] == "AWS::Cognito::UserPool"


def test_every_api_event_belongs_to_the_authorized_api(document: dict[str, Any]) -> None:
    # Given every Api event of every function
    events = _api_events(document)
    # When their RestApiId is read
    elsewhere = [(f, e) for f, e, props in events if props.get("RestApiId") != {"Ref": "CustomerApi"}]
    # Then none lands on SAM's implicit API, which would have no authorizer
    assert events and elsewhere == []


def test_only_health_and_public_routes_opt_out_of_the_authorizer(document: dict[str, Any]) -> None:
    # Given every Api event of every function
    events = _api_events(document)
    # When each event's own Auth is compared with its path
    wrong = []
    for function, event, props in events:
        authorizer = props.get("Auth", {}).get("Authorizer")
        if is_public_path(props["Path"]):
            if authorizer != "NONE":
                wrong.append(f"{function}.{event} {props['Path']}: public, but not Authorizer: NONE")
        elif authorizer is not None:
            wrong.append(f"{function}.{event} {props['Path']}: staff route overrides the authorizer ({authorizer})")
    # Then public paths say Authorizer: NONE and staff paths keep the default authorizer
    assert wrong == []


def test_every_route_is_public_only_if_its_path_is(sam: Template) -> None:
    # Given all routes of the template, as the local stack reads them
    routes = sam.routes()
    # When each route's public flag is compared with its path
    mismatched = [(r.method, r.path, r.public) for r in routes if r.public != is_public_path(r.path)]
    # Then only /health and /public/ routes are public
    assert routes and mismatched == []
