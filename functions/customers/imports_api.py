"""Staff API for spreadsheet imports: API Gateway (Cognito) → this function → the import service."""

from __future__ import annotations

from api_app import api_function
from import_routes import router as import_router

app, handler = api_function(import_router)
