"""Public API for the organisation's web forms: no sign-in; throttled by API Gateway."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Query
from pydantic import BaseModel

from api_app import api_function
from crm_core.http import caller_address, json_response
from crm_core.models.mail import LoginAnswer, LoginRequest, ResetConfirm, ResetRequest

app, handler = api_function(public=True, form_routes=["POST /public/unsubscribe"])


class Health(BaseModel):
    status: str


@app.get("/health", tags=["public"], summary="Liveness")
def health() -> Health:
    return Health(status="ok")


@app.post("/public/login", tags=["public"], summary="Sign in with username and password",
          responses={401: {"description": "the username or password is not right (the same for both)"}})
def sign_in(request: Annotated[LoginRequest, Body()]) -> LoginAnswer:
    from crm_core.wiring import login_service  # the services load on first use, not at cold start

    return login_service().sign_in(request, caller_address(app))


@app.post("/public/password-reset", tags=["public"], summary="Ask for a password-reset email (by username or email)",
          responses={202: {"description": "the same answer whether or not an account matches"}})
def request_reset(request: Annotated[ResetRequest, Body()]) -> Response[str]:
    from crm_core.wiring import login_service

    return json_response(202, login_service().request_reset(request, caller_address(app)))


@app.post("/public/password-reset/confirm", tags=["public"], summary="Set a new password with the emailed link")
def confirm_reset(request: Annotated[ResetConfirm, Body()]) -> dict[str, str]:
    from crm_core.wiring import login_service

    return login_service().confirm_reset(request)


@app.get("/public/unsubscribe", tags=["public"], summary="Unsubscribe from marketing email (the email's link)")
def unsubscribe_link(token: Annotated[str, Query(min_length=10, max_length=500)]) -> dict[str, str]:
    from crm_core.wiring import mailing_service

    return mailing_service().unsubscribe(token)


@app.post("/public/unsubscribe", tags=["public"],
          summary="One-click unsubscribe (RFC 8058: List-Unsubscribe=One-Click posted to the header's URL)")
def unsubscribe_one_click(token: Annotated[str, Query(min_length=10, max_length=500)]) -> dict[str, str]:
    from crm_core.wiring import mailing_service

    return mailing_service().unsubscribe(token)
