"""Staff API: API Gateway (Cognito user-pool authorizer) → this function → the customer service."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.event_handler import APIGatewayRestResolver
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from crm_core.http import register_error_handlers
from customers_routes import router as customers_router
from export_routes import router as export_router
from merge_routes import router as merge_router
from records_routes import router as records_router
from staff_routes import router as staff_router

logger = Logger()
tracer = Tracer()
app = APIGatewayRestResolver(enable_validation=True)
app.include_router(customers_router)
app.include_router(records_router)
app.include_router(merge_router)
app.include_router(staff_router)
app.include_router(export_router)
register_error_handlers(app, logger)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
