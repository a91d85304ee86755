"""API Gateway proxy events (REST, v1) and the sample events in ``events/``.

The local API server, ``crm invoke`` and the tests all build and load events here, so they agree.
"""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from typing import Any

from crm_local.template import ROOT

EVENTS = ROOT / "events"
LOCAL_STAFF_USER = "local-staff"
LOCAL_STAFF_GROUPS = "staff,admin"


def dev_groups(user: str, given: str | None) -> str:
    """The groups a local request acts with: ``X-Dev-Groups`` as given (comma-separated; empty: none); without
    it, a built-in user's own groups (``crm_core.dal.directory.BUILT_IN_STAFF``), any other name staff and
    admin."""
    if given is not None:
        return given
    from crm_core.dal.directory import BUILT_IN_STAFF

    known = next((m for m in BUILT_IN_STAFF if m.username == user), None)
    return ",".join(known.roles) if known else LOCAL_STAFF_GROUPS


def api_event(method: str, path: str, *, resource: str | None = None, path_parameters: dict[str, str] | None = None,
              query: dict[str, list[str]] | None = None, body: Any = None, headers: dict[str, str] | None = None,
              user: str | None = LOCAL_STAFF_USER, groups: str = LOCAL_STAFF_GROUPS,
              source_ip: str = "127.0.0.1") -> dict[str, Any]:
    """An API Gateway REST proxy event; ``user=None`` for a route without the authorizer."""
    headers = {"Content-Type": "application/json", **(headers or {})}
    if body is not None and not isinstance(body, str):
        body = json.dumps(body)
    query = query or {}
    authorizer = {"claims": {"cognito:username": user, "cognito:groups": groups}} if user else None
    request_id = str(uuid.uuid4())
    return {
        "resource": resource or path,
        "path": path,
        "httpMethod": method.upper(),
        "headers": headers,
        "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "queryStringParameters": {k: v[-1] for k, v in query.items()} or None,
        "multiValueQueryStringParameters": query or None,
        "pathParameters": path_parameters or None,
        "stageVariables": None,
        "body": body,
        "isBase64Encoded": False,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "local",
            "stage": "local",
            "requestId": request_id,
            "extendedRequestId": request_id,
            "resourcePath": resource or path,
            "httpMethod": method.upper(),
            "path": f"/local{path}",
            "protocol": "HTTP/1.1",
            "requestTimeEpoch": int(time.time() * 1000),
            "identity": {"sourceIp": source_ip, "userAgent": headers.get("User-Agent", "")},
            "authorizer": authorizer,
        },
    }


def event_path(function: str, name: str | None = None) -> Path:
    """A sample event of a function: ``events/<Function>/<name>.json``; without a name, its only one."""
    if name and Path(name).is_file():
        return Path(name)
    folder = EVENTS / function
    if name:
        candidate = folder / (name if name.endswith(".json") else f"{name}.json")
        if not candidate.is_file():
            raise FileNotFoundError(f"no sample event {candidate.relative_to(ROOT)}")
        return candidate
    samples = sorted(folder.glob("*.json"))
    if len(samples) != 1:
        names = ", ".join(p.stem for p in samples) or "none"
        raise FileNotFoundError(f"{function} has samples: {names}; pick one with --event")
    return samples[0]


def load_event(function: str, name: str | None = None) -> dict[str, Any]:
    event: dict[str, Any] = json.loads(event_path(function, name).read_text())
    return event


def sqs_event(messages: list[dict[str, Any]], queue_arn: str, region: str = "eu-west-2") -> dict[str, Any]:
    """The event Lambda's SQS poller hands a function for messages as ``ReceiveMessage`` returned them
    (ask for ``AttributeNames=["All"]`` and ``MessageAttributeNames=["All"]``)."""
    records = []
    for message in messages:
        attributes = message.get("MessageAttributes") or {}
        records.append({
            "messageId": message["MessageId"],
            "receiptHandle": message["ReceiptHandle"],
            "body": message["Body"],
            "attributes": dict(message.get("Attributes") or {}),
            "messageAttributes": {name: {_lower_first(k): v for k, v in value.items()}
                                  for name, value in attributes.items()},
            "md5OfBody": message.get("MD5OfBody", ""),
            "eventSource": "aws:sqs",
            "eventSourceARN": queue_arn,
            "awsRegion": region,
        })
    return {"Records": records}


def _lower_first(name: str) -> str:
    return name[:1].lower() + name[1:]
