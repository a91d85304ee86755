"""Staff API for money and the accounts package: API Gateway (Cognito) → this function → the money and
accounting services."""

from __future__ import annotations

from accounting_routes import router as accounting_router
from api_app import api_function
from money_routes import router as money_router

app, handler = api_function(accounting_router, money_router)
