"""One way to build an API function: a Powertools REST resolver with request validation, the routers it
serves, errors mapped in one place (``crm_core.http``), and the Lambda handler with logging, metrics (one
outcome per request) and tracing."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.event_handler import APIGatewayRestResolver
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from crm_core import correlation
from crm_core.http import outcome_metric, register_error_handlers

Handler = Callable[[dict[str, Any], LambdaContext], dict[str, Any]]


def api_function(*routers: Router) -> tuple[APIGatewayRestResolver, Handler]:
    """The resolver (routes may still be added to it) and the handler that serves it."""
    logger = Logger()
    tracer = Tracer()
    metrics = Metrics()
    app = APIGatewayRestResolver(enable_validation=True)
    for router in routers:
        app.include_router(router)
    register_error_handlers(app, logger)

    @logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
    @metrics.log_metrics(capture_cold_start_metric=True)
    @tracer.capture_lambda_handler
    def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        correlation.use(logger.get_correlation_id())  # queue messages this request causes carry it on
        response = app.resolve(event, context)
        metrics.add_metric(name=outcome_metric(int(response["statusCode"])), unit=MetricUnit.Count, value=1)
        return response

    return app, handler
