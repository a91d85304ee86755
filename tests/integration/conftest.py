"""Calling the API functions the way API Gateway does, against moto."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from crm_local.events import LOCAL_STAFF_GROUPS, api_event
from crm_local.template import Template


@dataclass
class Answer:
    status: int
    body: Any
    headers: dict[str, str]


Call = Callable[..., Answer]


def _route_for(template: Template, method: str, path: str) -> tuple[str, str, dict[str, str], bool]:
    for route in template.routes():
        pattern = "^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", route.path) + "$"
        found = re.match(pattern, path)
        if found and route.method == method:
            return route.function, route.path, found.groupdict(), route.public
    raise AssertionError(f"template.yaml has no route {method} {path}")


@pytest.fixture
def api(aws: Template, context: Any) -> Iterator[Call]:
    """``api("POST", "/customers", body={...})`` → the function's answer, routed as template.yaml routes it."""
    import importlib

    handlers = {name: getattr(importlib.import_module(f.module), f.attribute)
                for name, f in aws.functions().items() if f.code_uri.name == "customers"}

    def call(method: str, path: str, body: Any = None, query: dict[str, Any] | None = None,
             user: str = "test-staff", headers: dict[str, str] | None = None,
             groups: str = LOCAL_STAFF_GROUPS) -> Answer:
        function, resource, params, public = _route_for(aws, method, path)
        event = api_event(method, path, resource=resource, path_parameters=params, body=body,
                          query={k: [str(v)] for k, v in (query or {}).items()}, headers=headers,
                          user=None if public else user, groups=groups)
        result = handlers[function](event, context)
        payload = json.loads(result["body"]) if result.get("body") else None
        headers = {k: ", ".join(v) for k, v in (result.get("multiValueHeaders") or {}).items()}
        return Answer(result["statusCode"], payload, {**headers, **(result.get("headers") or {})})

    yield call


ADA = {"type": "individual", "first_name": "Ada", "last_name": "Lovelace", "username": "alovelace",
       "email": "ada.lovelace@example.org", "phone": "+44 20 7946 0000",
       "address": {"line1": "1 High Street", "city": "London", "postcode": "N1 9GU", "country": "GB"}}


@pytest.fixture
def ada(api: Call) -> dict[str, Any]:
    created = api("POST", "/customers", body=ADA)
    assert created.status == 201, created.body
    return dict(created.body)
