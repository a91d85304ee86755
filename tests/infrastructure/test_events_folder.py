"""The sample events in events/ (used by ``crm invoke``) are valid and belong to functions of the template."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from crm_local.events import EVENTS
from crm_local.template import Template

FILES = sorted(p for p in EVENTS.rglob("*") if p.is_file())


def _name(path: Path) -> str:
    return str(path.relative_to(EVENTS))


def test_there_are_sample_events() -> None:
    # Given the events folder
    # When its files are listed
    # Then there is at least one sample per folder
    folders = [p for p in EVENTS.iterdir() if p.is_dir()]
    assert folders and all(any(f.is_file() for f in folder.iterdir()) for folder in folders)


@pytest.mark.parametrize("path", FILES, ids=_name)
def test_sample_event_is_json(path: Path) -> None:
    # Given a file in events/
    # When it is parsed
    event = json.loads(path.read_text())
    # Then it is a JSON object, as Lambda events are
    assert isinstance(event, dict)


def test_every_events_folder_is_a_function_of_the_template(sam: Template) -> None:
    # Given the folders of events/ and the functions of the template
    folders = {p.name for p in EVENTS.iterdir() if p.is_dir()}
    functions = set(sam.functions())
    # When they are compared
    # Then every folder is named after a function's logical id (crm invoke looks samples up that way)
    assert sorted(folders - functions) == []
    # And nothing else lies loose in events/
    assert sorted(p.name for p in EVENTS.iterdir() if not p.is_dir()) == []


@pytest.mark.parametrize("path", [p for p in FILES if p.suffix == ".json"], ids=_name)
def test_api_sample_event_is_a_route_of_its_function(sam: Template, path: Path) -> None:
    # Given a sample API Gateway event of a function
    event = json.loads(path.read_text())
    function = path.parent.name
    routes = {(r.method, r.path): r for r in sam.routes() if r.function == function}
    if "httpMethod" not in event:
        triggers = {e["Type"] for e in sam.functions()[function].events.values()}
        # (a function with no trigger of its own, such as a custom resource's, is called some other way)
        assert triggers != {"Api"}, f"{_name(path)} is not an API event, but {function} has only Api triggers"
        return
    # When its method and resource are looked up in the template
    route = routes.get((event["httpMethod"], event["resource"]))
    # Then the template routes it to that function
    assert route is not None, f"{_name(path)}: {event['httpMethod']} {event['resource']} is not a route of {function}"
    # And it carries a signed-in staff user exactly when the route is behind the authorizer
    authorizer = (event.get("requestContext") or {}).get("authorizer")
    assert (authorizer is None) == route.public
