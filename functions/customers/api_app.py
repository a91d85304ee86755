"""One way to build an API function: a Powertools REST resolver with request validation, the routers it
serves, errors mapped in one place (``crm_core.http``), and the Lambda handler with logging, metrics (one
outcome per request) and tracing.

Before the resolver reads a request, the handler checks it at the edge: on a staff function, that the
caller's roles may call the route API Gateway matched (``crm_core.roles``: 401, 403 ``no_role`` or
``forbidden``); on every function, that a body is JSON (415 otherwise) no deeper than a request needs (400).
A staff write with an ``Idempotency-Key`` header is served once (``idempotent``). Every answer — a refusal
at the edge, a replayed one, a fault — is counted in the outcome metrics and is a JSON body, never a Lambda
error.
Route handlers get the signed-in user as a Powertools dependency (``actor: SignedIn``)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.event_handler import APIGatewayRestResolver
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from contract import honest_json
from crm_core import correlation
from crm_core.errors import ConfigurationError, DomainError
from crm_core.http import (
    ParsedBody,
    authorize,
    check_body,
    internal_error,
    outcome_metric,
    refusal,
    refused_fields,
    register_error_handlers,
)
from crm_core.roles import route_key
from idempotent import idempotency_key, once

Handler = Callable[[dict[str, Any], LambdaContext], dict[str, Any]]


class ApiResolver(APIGatewayRestResolver):
    """Powertools' REST resolver whose OpenAPI document lists every refusal its routes give (``contract``)."""

    def __init__(self, staff: bool, rate_limited: Iterable[str]) -> None:
        self.parsed_body = ParsedBody()
        super().__init__(enable_validation=True, json_body_deserializer=self.parsed_body)
        self._staff = staff
        self._rate_limited = frozenset(rate_limited)

    def get_openapi_json_schema(self, **kwargs: Any) -> str:  # type: ignore[override]
        return honest_json(super().get_openapi_json_schema(**kwargs), staff=self._staff,
                           rate_limited=self._rate_limited)


def api_function(*routers: Router, public: bool = False, form_routes: Iterable[str] = (),
                 rate_limited: Iterable[str] = ()) -> tuple[APIGatewayRestResolver, Handler]:
    """The resolver (routes may still be added to it) and the handler that serves it. ``public``: no sign-in
    (the web forms' routes); ``form_routes`` (``"POST /path"``) also take form posts; ``rate_limited`` routes
    may answer 429."""
    logger = Logger()
    tracer = Tracer()
    metrics = Metrics()
    app = ApiResolver(staff=not public, rate_limited=rate_limited)
    for router in routers:
        app.include_router(router)
    register_error_handlers(app, logger)
    forms = frozenset(form_routes)

    @logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
    @metrics.log_metrics(capture_cold_start_metric=True)
    @tracer.capture_lambda_handler
    def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        correlation.use(logger.get_correlation_id())  # queue messages this request causes carry it on
        response = answer(event, context)
        metrics.add_metric(name=outcome_metric(int(response["statusCode"])), unit=MetricUnit.Count, value=1)
        return response

    def answer(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        route = route_key(str(event.get("httpMethod") or ""), str(event.get("resource") or ""))
        try:
            user = None if public else authorize(event).username
            logger.append_keys(user=user)
            app.parsed_body.keep(event.get("body"), check_body(event, accept_forms=route in forms))
            key = idempotency_key(event) if user else None
            if key and user:
                return once(key, user, event, context, logger, lambda: app.resolve(event, context))
        except DomainError as refused:
            logger.info("request refused", extra={"route": route, **refused_fields(refused)})
            return refusal(refused)
        except ConfigurationError as fault:
            logger.error("deployment fault", extra={"route": route, "reason": str(fault)})
            return internal_error()
        except Exception:
            logger.exception("unexpected error", extra={"route": route})
            return internal_error()
        return app.resolve(event, context)

    return app, handler
