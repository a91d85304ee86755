"""Calling the API functions the way API Gateway does, against moto."""

from __future__ import annotations

import email
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from email.message import Message
from typing import Any

import boto3
import pytest

from crm_local.events import LOCAL_STAFF_GROUPS, api_event, sqs_event
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
             groups: str = LOCAL_STAFF_GROUPS, address: str = "127.0.0.1") -> Answer:
        function, resource, params, public = _route_for(aws, method, path)
        event = api_event(method, path, resource=resource, path_parameters=params, body=body,
                          query={k: [str(v)] for k, v in (query or {}).items()}, headers=headers,
                          user=None if public else user, groups=groups, source_ip=address)
        result = handlers[function](event, context)
        headers = {k: ", ".join(v) for k, v in (result.get("multiValueHeaders") or {}).items()}
        headers = {**headers, **(result.get("headers") or {})}
        json_body = headers.get("Content-Type", "application/json").startswith("application/json")
        payload = (json.loads(result["body"]) if json_body else result["body"]) if result.get("body") else None
        return Answer(result["statusCode"], payload, headers)

    yield call


ADA = {"type": "individual", "first_name": "Ada", "last_name": "Lovelace", "username": "alovelace",
       "email": "ada.lovelace@example.org", "phone": "+44 20 7946 0000",
       "address": {"line1": "1 High Street", "city": "London", "postcode": "N1 9GU", "country": "GB"}}


@pytest.fixture
def ada(api: Call) -> dict[str, Any]:
    created = api("POST", "/customers", body=ADA)
    assert created.status == 201, created.body
    return dict(created.body)


# ---- the mailer, as AWS runs it, and what SES sent ----------------------------------------------------

Drain = Callable[..., list[str]]


@pytest.fixture
def mailer(aws: Template, context: Any) -> Drain:
    """Deliver the mail queue's messages to MailerFunction until it is empty; the bodies that failed."""
    import mail_worker

    sqs = boto3.client("sqs")
    url, arn = aws.queue_url("MailQueue"), aws.queue_arn("MailQueue")

    def run(limit: int = 2000) -> list[str]:
        failed: list[str] = []
        for _ in range(limit):
            messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1, AttributeNames=["All"],
                                           VisibilityTimeout=0).get("Messages", [])
            if not messages:
                return failed
            result = mail_worker.handler(sqs_event(messages, arn), context)
            if result.get("batchItemFailures"):
                failed.append(messages[0]["Body"])
                continue  # visible again at once: the next receive retries it
            sqs.delete_message(QueueUrl=url, ReceiptHandle=messages[0]["ReceiptHandle"])
        raise AssertionError("the mail queue never emptied")

    return run


@pytest.fixture
def outbox(aws: Template) -> Callable[[], list[Message]]:
    """What SES sent (moto keeps it), parsed."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.ses.models import ses_backends

    def sent() -> list[Message]:
        backend = ses_backends[DEFAULT_ACCOUNT_ID]["eu-west-2"]
        return [email.message_from_string(m.raw_data) for m in backend.sent_messages if hasattr(m, "raw_data")]

    return sent


@pytest.fixture
def no_pauses(monkeypatch: pytest.MonkeyPatch) -> None:
    from crm_core.dal import ses

    monkeypatch.setattr(ses.time, "sleep", lambda seconds: None)
    monkeypatch.setattr("crm_core.dal.dynamo.Backoff.pause", lambda self, attempt: None)
