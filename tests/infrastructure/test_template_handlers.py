"""Each function's Handler imports from its CodeUri, and the API routes of template.yaml are exactly the
routes the functions' resolvers serve."""

from __future__ import annotations

from collections import Counter

import pytest

from crm_local.template import Template
from infrastructure.conftest import API_FUNCTION_IDS, FUNCTION_IDS, probe_handler


@pytest.mark.parametrize("logical_id", FUNCTION_IDS)
def test_handler_imports_from_code_uri_and_is_callable(logical_id: str) -> None:
    # Given a function of the template, in a fresh interpreter with only its CodeUri and the shared layer on
    # the path and only the environment the template gives it
    # When its Handler is imported
    report = probe_handler(logical_id)
    # Then the handler exists and takes (event, context)
    assert report["callable"], f"{logical_id}: the Handler attribute is not callable"
    assert report["accepts_event_and_context"], f"{logical_id}: the handler does not take (event, context)"
    # And nothing outside the CodeUri, the layer and the installed packages was needed (Lambda has nothing else)
    assert report["foreign_modules"] == []


@pytest.mark.parametrize("logical_id", FUNCTION_IDS)
def test_template_environment_is_a_valid_configuration(logical_id: str) -> None:
    # Given a function in a fresh interpreter with only the environment the template gives it
    report = probe_handler(logical_id)
    # When the shared layer reads its configuration, as it does on the first request
    # Then the environment satisfies it (table name, cursor signing key, numbers in range)
    assert report["settings_error"] is None, f"{logical_id}: {report['settings_error']}"


def _served() -> set[tuple[str, str, str]]:
    """(METHOD, path, function) for every route a function's resolver serves."""
    served = set()
    for logical_id in FUNCTION_IDS:
        for method, path in probe_handler(logical_id)["routes"] or []:
            served.add((method, path, logical_id))
    return served


def test_template_routes_equal_resolver_routes(sam: Template) -> None:
    # Given the Api events of the template and the routes registered on the functions' resolvers
    routed = {(r.method, r.path) for r in sam.routes()}
    # When both are listed as (METHOD, path)
    served = {(method, path) for method, path, _ in _served()}
    # Then API Gateway routes exactly what the code serves: nothing routed to a 404, nothing unreachable
    assert sorted(routed - served) == [], "routed by template.yaml but served by no resolver"
    assert sorted(served - routed) == [], "served by a resolver but not routed by template.yaml"


def test_each_route_goes_to_the_function_that_serves_it(sam: Template) -> None:
    # Given the template's routes and the resolvers' routes, each with its function
    routed = {(r.method, r.path, r.function) for r in sam.routes()}
    # When they are compared with the function included
    served = _served()
    # Then every route reaches the function whose resolver serves it
    assert sorted(routed ^ served) == []


def test_no_route_is_declared_twice(sam: Template) -> None:
    # Given the template's Api events
    # When they are counted by (METHOD, path)
    counts = Counter((r.method, r.path) for r in sam.routes())
    # Then no route is claimed by two events (API Gateway would keep only one of them)
    assert [route for route, n in counts.items() if n > 1] == []


@pytest.mark.parametrize("logical_id", API_FUNCTION_IDS)
def test_api_function_has_a_resolver(logical_id: str) -> None:
    # Given a function with Api events
    # When its handler module is imported
    routes = probe_handler(logical_id)["routes"]
    # Then it exposes a Powertools resolver ``app`` with routes
    assert routes, f"{logical_id} has Api events but its module has no resolver named app with routes"
