"""The local stack (moto server and the API on loopback), started once for the end-to-end module."""

from __future__ import annotations

import json
import os
import socket
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from crm_core import wiring
from crm_local.cli import LocalStack
from crm_local.stack import point_at

# Ports a developer's ``make run`` (crm serve) listens on; the tests never take them.
DEVELOPER_PORTS = {3000, 4566}


def free_port() -> int:
    """A loopback port nothing listens on now (the OS picks it), never a developer's stack port."""
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.bind(("127.0.0.1", 0))
            port = int(probe.getsockname()[1])
        if port not in DEVELOPER_PORTS:
            return port


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    raw: bytes

    @property
    def body(self) -> Any:
        return json.loads(self.raw) if self.raw else None

    @property
    def content_type(self) -> str:
        return next((v for k, v in self.headers.items() if k.lower() == "content-type"), "")


class Http:
    """Plain HTTP to the local API with urllib; every answer is checked to be no 5xx, and every error to
    have the API's error shape."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback: no proxy

    def __call__(self, method: str, path: str, body: Any = None, *, query: dict[str, Any] | None = None,
                 headers: dict[str, str] | None = None, raw: bytes | None = None) -> Answer:
        url = self.base_url + path
        if query:
            url += "?" + urllib.parse.urlencode(query)
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        request = urllib.request.Request(url, data=data, method=method,
                                         headers={"Content-Type": "application/json", **(headers or {})})
        try:
            with self._opener.open(request, timeout=15) as response:
                answer = Answer(response.status, dict(response.headers), response.read())
        except urllib.error.HTTPError as error:
            answer = Answer(error.code, dict(error.headers), error.read())
        assert answer.status < 500, f"{method} {path} answered {answer.status}: {answer.raw[:500]!r}"
        if answer.status >= 400:
            assert_error_shape(answer)
        return answer


def assert_error_shape(answer: Answer) -> dict[str, Any]:
    """``{"error": {"code": str, "message": str, "fields": [{"field", "message"}]}}``; returns the error."""
    assert answer.content_type.startswith("application/json"), answer.content_type
    body = answer.body
    assert isinstance(body, dict) and set(body) == {"error"}, body
    error = body["error"]
    assert isinstance(error.get("code"), str) and error["code"], error
    assert isinstance(error.get("message"), str) and error["message"], error
    assert isinstance(error.get("fields"), list), error
    for field in error["fields"]:
        assert isinstance(field.get("field"), str) and isinstance(field.get("message"), str), field
    return dict(error)


def local_stack(demo: bool) -> Iterator[LocalStack]:
    """A local stack on free loopback ports (with the demo customers or without); the environment it changes
    is put back when it stops."""
    saved = dict(os.environ)
    wiring.reset()
    local = LocalStack(host="127.0.0.1", aws_port=free_port(), api_port=free_port())
    try:
        if demo:
            local.load_demo()
        yield local
    finally:
        local.stop()
        os.environ.clear()
        os.environ.update(saved)
        wiring.reset()


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    """The local stack with the demo customers, one per test module."""
    yield from local_stack(demo=True)


@pytest.fixture(autouse=True)
def _talk_to_the_stack(_environment: None, stack: LocalStack) -> Iterator[None]:
    """The root fixture resets the environment for every test; point this process (which runs the API's
    functions) back at the local stack after it."""
    point_at(stack.aws_endpoint, stack.template)
    wiring.reset()
    yield
    wiring.reset()


@pytest.fixture(scope="module")
def http(stack: LocalStack) -> Http:
    return Http(stack.api.url)
