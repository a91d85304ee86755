"""HTTP for the API functions: who is calling and whether their roles may call the route, what a body must be
to be read at all, and every error mapped to a response in one place."""

from __future__ import annotations

import json
from http import HTTPStatus
from typing import Annotated, Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Depends, Response, content_types
from aws_lambda_powertools.event_handler.api_gateway import BaseRouter
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.event_handler.request import Request

from crm_core.errors import (
    ConfigurationError,
    DomainError,
    Forbidden,
    Malformed,
    NoRole,
    NotSignedIn,
    RetryLater,
    UnsupportedMediaType,
)
from crm_core.roles import Actor, actor_of, may_call, role_needed, route_key

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


def caller_address(app: BaseRouter) -> str:
    """The caller's IP address as API Gateway saw it (for rate limits)."""
    context = app.current_event.get("requestContext") or {}
    return str((context.get("identity") or {}).get("sourceIp") or "unknown")


# ---- the edge: what every request passes before it is read --------------------------------------------

JSON_TYPES = frozenset({"application/json"})
FORM_TYPES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})
MAX_DEPTH = 16  # no request body nests deeper than a few levels; DynamoDB stops at 32


def signed_in(request: Request) -> Actor:
    """The signed-in staff user: a Powertools dependency of the staff routes (``actor: SignedIn``)."""
    actor = actor_of(request.resolved_event.raw_event)
    if actor is None:
        raise NotSignedIn("sign in first")
    return actor


SignedIn = Annotated[Actor, Depends(signed_in)]


def authorize(event: dict[str, Any]) -> Actor:
    """The caller, if their roles may call the route API Gateway matched (``resource``); else ``NoRole``,
    ``Forbidden`` or ``NotSignedIn``. The table is ``crm_core.roles.PERMISSIONS``."""
    actor = actor_of(event)
    if actor is None:
        raise NotSignedIn("sign in first")
    if not actor.roles:
        raise NoRole("you are in no staff group (admin, staff or readonly): ask an administrator to add you")
    route = route_key(str(event.get("httpMethod") or ""), str(event.get("resource") or ""))
    needed = role_needed(route)
    if needed is None:
        raise Forbidden(f"{route} is not a staff route")
    if not may_call(actor.roles, route):
        raise Forbidden(f"{route} needs the {needed} role; you have {', '.join(actor.roles)}")
    return actor


def check_body(event: dict[str, Any], accept_forms: bool = False) -> Any:
    """A body is JSON (``Content-Type: application/json``, or none given) of at most ``MAX_DEPTH`` levels;
    ``accept_forms`` also lets form posts through (RFC 8058 one-click unsubscribe). The body as parsed (None:
    no JSON body), for the resolver to read (``ParsedBody``) rather than parse it again."""
    body = event.get("body")
    if not body:
        return None
    headers = {str(k).lower(): str(v) for k, v in (event.get("headers") or {}).items()}
    media = headers.get("content-type", "application/json").split(";")[0].strip().lower()
    if accept_forms and media in FORM_TYPES:
        return None
    if media not in JSON_TYPES and not media.endswith("+json"):
        allowed = "application/json" + (" or a form" if accept_forms else "")
        raise UnsupportedMediaType(f"the body is {media or 'of no type'}; send {allowed}")
    try:
        value = json.loads(body, parse_constant=_not_json)
    except RecursionError:
        raise Malformed(f"the body nests deeper than {MAX_DEPTH} levels") from None
    except ValueError:
        raise Malformed("the body is not valid JSON") from None
    if _depth(value) > MAX_DEPTH:
        raise Malformed(f"the body nests deeper than {MAX_DEPTH} levels")
    return value


class ParsedBody:
    """The resolver's JSON deserializer: the body of the request being served as ``check_body`` parsed it (kept
    with ``keep``), so a body is parsed once; any other text is parsed as JSON."""

    def __init__(self) -> None:
        self._kept: tuple[str, Any] | None = None

    def keep(self, text: str | None, value: Any) -> None:
        self._kept = (text, value) if text and value is not None else None

    def __call__(self, text: str) -> Any:
        if self._kept is not None and self._kept[0] == text:
            return self._kept[1]
        return json.loads(text, parse_constant=_not_json)


def _not_json(constant: str) -> Any:
    raise ValueError(f"{constant} is not JSON")


def _depth(value: Any) -> int:
    deepest = 0
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict | list):
            deepest = max(deepest, depth)
            if deepest > MAX_DEPTH:
                return deepest
            stack.extend((child, depth + 1) for child in (node.values() if isinstance(node, dict) else node))
    return deepest


def refusal(exc: DomainError) -> dict[str, Any]:
    """A domain error as the Lambda proxy response API Gateway expects (for refusals before the resolver)."""
    status, body, headers = _answer(exc)
    return {"statusCode": status, "headers": {"Content-Type": content_types.APPLICATION_JSON, **(headers or {})},
            "body": json.dumps(body), "isBase64Encoded": False}


def _answer(exc: DomainError) -> tuple[int, dict[str, Any], dict[str, str] | None]:
    headers = {"Retry-After": str(exc.retry_after_seconds)} if isinstance(exc, RetryLater) else None
    return exc.status, error_body(exc.code, exc.message, exc.fields, **exc.details), headers


INTERNAL = {"error": {"code": "internal", "message": "something went wrong", "fields": []}}  # the one 500 body


def internal_error() -> dict[str, Any]:
    """The one answer to a fault of ours, as a Lambda proxy response (it never says more)."""
    return {"statusCode": int(HTTPStatus.INTERNAL_SERVER_ERROR), "isBase64Encoded": False,
            "headers": {"Content-Type": content_types.APPLICATION_JSON},
            "body": json.dumps(INTERNAL)}


def refused_fields(exc: DomainError) -> dict[str, Any]:
    """What a refusal's log line says: its code and the fields it names — never its message, which may quote
    what was sent (a name, an email, a template's text)."""
    return {"status": exc.status, "code": exc.code, "fields": [f.get("field") for f in exc.fields]}


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
        logger.info("request refused", extra=refused_fields(exc))
        return json_response(*_answer(exc))

    @app.exception_handler(ConfigurationError)  # type: ignore[untyped-decorator]
    def _deployment_fault(exc: ConfigurationError) -> Response[str]:
        logger.error("deployment fault", extra={"reason": str(exc)})
        return json_response(HTTPStatus.INTERNAL_SERVER_ERROR, INTERNAL)

    @app.exception_handler(RequestValidationError)  # type: ignore[untyped-decorator]
    def _invalid(exc: RequestValidationError) -> Response[str]:
        errors = list(exc.errors())
        if any(e.get("type") == "json_invalid" for e in errors):
            return json_response(HTTPStatus.BAD_REQUEST, error_body("malformed", "the body is not valid JSON"))
        fields = validation_fields(errors)
        logger.info("request invalid", extra={"fields": [f["field"] for f in fields]})
        return json_response(HTTPStatus.UNPROCESSABLE_ENTITY,
                             error_body("invalid", "the request has invalid fields", fields))

    @app.not_found
    def _no_route(exc: Exception) -> Response[str]:
        return json_response(HTTPStatus.NOT_FOUND, error_body("not_found", "no such route"))

    @app.exception_handler(Exception)  # type: ignore[untyped-decorator]
    def _unexpected(exc: Exception) -> Response[str]:
        logger.exception("unexpected error")
        return json_response(HTTPStatus.INTERNAL_SERVER_ERROR, INTERNAL)
