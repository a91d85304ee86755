"""Staff API for customers: API Gateway (Cognito user-pool authorizer) → this function → the customer,
record, merge, staff and export services."""

from __future__ import annotations

from api_app import api_function
from customers_routes import router as customers_router
from export_routes import router as export_router
from merge_routes import router as merge_router
from records_routes import router as records_router
from staff_routes import router as staff_router

app, handler = api_function(customers_router, records_router, merge_router, staff_router, export_router)
