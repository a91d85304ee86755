"""HTTP for the API functions: who is calling, and every error mapped to a response in one place."""

from __future__ import annotations

import json
from http import HTTPStatus
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.event_handler.api_gateway import BaseRouter
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError

from crm_core.errors import DomainError, RetryLater

_LOCATIONS = {"body", "query", "path", "header", "individual", "organization"}
_MESSAGES = {
    "missing": "is required",
    "extra_forbidden": "is not a known field",
    "union_tag_not_found": "is required: individual or organization",
    "union_tag_invalid": "must be individual or organization",
}


def error_body(code: str, message: str, fields: list[dict[str, str]] | None = None,
               **details: Any) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "fields": fields or [], **details}}


def json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> Response[str]:
    return Response(status_code=status, content_type=content_types.APPLICATION_JSON,
                    body=json.dumps(body, default=str), headers=headers)


def validation_fields(errors: list[dict[str, Any]]) -> list[dict[str, str]]:
    fields = []
    for error in errors:
        loc = [str(p) for p in error.get("loc", ()) if str(p) not in _LOCATIONS]
        if error.get("type") in ("union_tag_not_found", "union_tag_invalid"):
            loc = [*loc, "type"]
        message = _MESSAGES.get(str(error.get("type")), str(error.get("msg", "is invalid")))
        fields.append({"field": ".".join(loc) or "body", "message": message.removeprefix("Value error, ")})
    return fields


def actor(app: BaseRouter) -> str:
    """The signed-in staff user (Cognito user pool authorizer claims)."""
    context = app.current_event.get("requestContext") or {}
    claims = (context.get("authorizer") or {}).get("claims") or {}
    return str(claims.get("cognito:username") or claims.get("username") or claims.get("sub") or "unknown")


def caller_address(app: BaseRouter) -> str:
    """The caller's IP address as API Gateway saw it (for rate limits)."""
    context = app.current_event.get("requestContext") or {}
    return str((context.get("identity") or {}).get("sourceIp") or "unknown")


def groups(app: BaseRouter) -> set[str]:
    """The signed-in staff user's Cognito groups. API Gateway hands ``cognito:groups`` on as text
    (``"admin,staff"`` or ``"[admin staff]"``); a list is taken as it is."""
    context = app.current_event.get("requestContext") or {}
    claims = (context.get("authorizer") or {}).get("claims") or {}
    value = claims.get("cognito:groups") or []
    if isinstance(value, str):
        value = value.strip("[]").replace(",", " ").split()
    return {str(g) for g in value}


def is_admin(app: BaseRouter) -> bool:
    return "admin" in groups(app)


def outcome_metric(status: int) -> str:
    """The metric that counts an answer with this status: ``ApiOk`` (below 400), ``ApiRetryLater`` (503 with
    Retry-After: AWS throttled us), ``ApiClientError`` (other 4xx) or ``ApiServerError`` (other 5xx)."""
    if status < 400:
        return "ApiOk"
    if status == HTTPStatus.SERVICE_UNAVAILABLE:
        return "ApiRetryLater"
    return "ApiClientError" if status < 500 else "ApiServerError"


def register_error_handlers(app: APIGatewayRestResolver, logger: Logger) -> None:
    @app.exception_handler(DomainError)  # type: ignore[untyped-decorator]
    def _domain(exc: DomainError) -> Response[str]:
        logger.info("request refused", extra={"status": exc.status, "code": exc.code, "reason": exc.message})
        headers = {"Retry-After": str(exc.retry_after_seconds)} if isinstance(exc, RetryLater) else None
        return json_response(exc.status, error_body(exc.code, exc.message, exc.fields, **exc.details), headers)

    @app.exception_handler(RequestValidationError)  # type: ignore[untyped-decorator]
    def _invalid(exc: RequestValidationError) -> Response[str]:
        errors = list(exc.errors())
        if any(e.get("type") == "json_invalid" for e in errors):
            return json_response(HTTPStatus.BAD_REQUEST, error_body("malformed", "the body is not valid JSON"))
        fields = validation_fields(errors)
        logger.info("request invalid", extra={"fields": fields})
        return json_response(HTTPStatus.UNPROCESSABLE_ENTITY,
                             error_body("invalid", "the request has invalid fields", fields))

    @app.not_found
    def _no_route(exc: Exception) -> Response[str]:
        return json_response(HTTPStatus.NOT_FOUND, error_body("not_found", "no such route"))

    @app.exception_handler(Exception)  # type: ignore[untyped-decorator]
    def _unexpected(exc: Exception) -> Response[str]:
        logger.exception("unexpected error")
        return json_response(HTTPStatus.INTERNAL_SERVER_ERROR, error_body("internal", "something went wrong"))
