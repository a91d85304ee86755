"""The OpenAPI document as the API behaves: every refusal a route can give, with the one error shape.

Powertools documents each route's success from its return type, and a 422 of its own shape. The API answers
every refusal as ``{"error": {"code", "message", "fields"}}`` (``crm_core.http``), and some refusals come
before a route runs (``api_app``: roles, body type, body depth, Idempotency-Key). So each operation gets:
400, 422 and 503 always; 415 when it takes a body; 401 and 403 on staff routes; 404 when its path names
something; 409 on staff writes (conflicts, a request under way); 429 where a rate limit applies — each with
the error schema (429 and 503 with ``Retry-After``). A ``DELETE`` answers 204 with no body.
"""

from __future__ import annotations

import json
from typing import Any

ERROR = {
    "type": "object", "required": ["error"], "additionalProperties": False, "properties": {"error": {
        "type": "object", "required": ["code", "message", "fields"], "additionalProperties": True,
        "properties": {
            "code": {"type": "string", "description": "what went wrong, e.g. not_found, version_conflict"},
            "message": {"type": "string"},
            "fields": {"type": "array", "items": {"type": "object", "required": ["field", "message"],
                                                  "properties": {"field": {"type": "string"},
                                                                 "message": {"type": "string"}}}}}}}}
REFUSALS = {
    400: "malformed: not JSON, nested too deep, a bad cursor or Idempotency-Key",
    401: "not signed in",
    403: "a role this route needs is missing (no_role, forbidden), or (public) the account may not sign in",
    404: "no such thing",
    409: "a conflict: a taken name, a possible duplicate, a stale version, a request already under way",
    415: "the body is not application/json",
    422: "invalid fields, each named",
    429: "too many attempts: wait as Retry-After says",
    503: "busy: retry after Retry-After seconds",
}
RETRY_AFTER = {"Retry-After": {"description": "seconds to wait", "schema": {"type": "integer"}}}


def honest(document: dict[str, Any], *, staff: bool, rate_limited: frozenset[str] = frozenset()) -> dict[str, Any]:
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    schemas.pop("HTTPValidationError", None)
    schemas.pop("ValidationError", None)
    schemas["Error"] = ERROR
    for path, operations in document.get("paths", {}).items():
        for method, operation in operations.items():
            responses: dict[str, Any] = operation.setdefault("responses", {})
            if method == "delete" and "200" in responses and not any(c in responses for c in ("202", "204")):
                responses["204"] = {"description": responses.pop("200").get("description") or "done"}
            responses.get("204", {}).pop("content", None)
            statuses = {400, 422, 503}
            statuses |= {415} if "requestBody" in operation else set()
            statuses |= {401, 403} if staff else set()
            statuses |= {404} if "{" in path else set()
            statuses |= {409} if staff and method != "get" else set()
            statuses |= {429} if f"{method.upper()} {path}" in rate_limited else set()
            for status in statuses:
                responses.setdefault(str(status), {"description": REFUSALS[status]})
            for status, response in responses.items():
                if int(status) >= 400:
                    response["description"] = response.get("description") or REFUSALS.get(int(status), "refused")
                    if response["description"] == "Validation Error":
                        response["description"] = REFUSALS[422]
                    response["content"] = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
                    if int(status) in (429, 503):
                        response["headers"] = RETRY_AFTER
    return document


def honest_json(text: str, *, staff: bool, rate_limited: frozenset[str] = frozenset()) -> str:
    return json.dumps(honest(json.loads(text), staff=staff, rate_limited=rate_limited))
