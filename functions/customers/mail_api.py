"""Staff API for web logins, mass email and mail lists: API Gateway (Cognito) → this function → the login
and mailing services."""

from __future__ import annotations

from api_app import api_function
from login_routes import router as login_router
from mailing_routes import router as mailing_router

app, handler = api_function(login_router, mailing_router,
                            rate_limited=["POST /customers/{customer_id}/login/reset-email"])
