"""Staff routes for a customer's web login: set it, give a temporary password, send a reset email."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body

from crm_core.http import SignedIn, json_response
from crm_core.models.mail import LoginPut, LoginSet, ResetQueued, TemporaryPassword
from crm_core.wiring import login_service
from route_params import CustomerId

router = Router()


@router.put("/customers/<customer_id>/login", tags=["login"],
            summary="Set the web login: username (unique, immutable once set) and password (stored as Argon2id)")
def set_login(actor: SignedIn, customer_id: CustomerId, login: Annotated[LoginPut, Body()]) -> LoginSet:
    return LoginSet(**login_service().set_login(customer_id, login, actor.username))


@router.post("/customers/<customer_id>/login/random-password", tags=["login"],
             summary="Set a temporary password, to be changed at the next sign-in")
def temporary_password(actor: SignedIn, customer_id: CustomerId) -> TemporaryPassword:
    return login_service().random_password(customer_id, actor.username)


@router.post("/customers/<customer_id>/login/reset-email", tags=["login"],
             summary="Send the customer a password-reset email", status_code=202,
             responses={202: {"description": "queued", "content": {"application/json": {"model": ResetQueued}}}})
def send_reset_email(actor: SignedIn, customer_id: CustomerId) -> Response[str]:
    return json_response(202, login_service().staff_reset(customer_id, actor.username))
