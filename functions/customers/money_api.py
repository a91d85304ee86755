"""Staff API for money and the accounts package: API Gateway (Cognito) → this function → the money and
accounting services."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.event_handler import APIGatewayRestResolver
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from accounting_routes import router as accounting_router
from crm_core.http import register_error_handlers
from money_routes import router as money_router

logger = Logger()
tracer = Tracer()
app = APIGatewayRestResolver(enable_validation=True)
app.include_router(accounting_router)
app.include_router(money_router)
register_error_handlers(app, logger)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
