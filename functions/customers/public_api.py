"""Public API for the organisation's web forms: no sign-in; throttled by API Gateway."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.event_handler import APIGatewayRestResolver
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel

from crm_core.http import register_error_handlers

logger = Logger()
tracer = Tracer()
app = APIGatewayRestResolver(enable_validation=True)
register_error_handlers(app, logger)


class Health(BaseModel):
    status: str


@app.get("/health", tags=["public"], summary="Liveness")
def health() -> Health:
    return Health(status="ok")


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
