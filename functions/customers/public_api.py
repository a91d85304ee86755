"""Public API for the organisation's web forms: no sign-in; throttled by API Gateway."""

from __future__ import annotations

import html
import urllib.parse
from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Query
from pydantic import BaseModel

from api_app import api_function
from crm_core.http import caller_address, json_response
from crm_core.models.mail import LoginAnswer, LoginRequest, ResetConfirm, ResetRequest, Said

app, handler = api_function(public=True, form_routes=["POST /public/unsubscribe"],
                            rate_limited=["POST /public/login", "POST /public/password-reset"])


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
          status_code=202, responses={202: {"description": "the same answer whether or not an account matches",
                                            "content": {"application/json": {"model": Said}}}})
def request_reset(request: Annotated[ResetRequest, Body()]) -> Response[str]:
    from crm_core.wiring import login_service

    return json_response(202, login_service().request_reset(request, caller_address(app)))


@app.post("/public/password-reset/confirm", tags=["public"], summary="Set a new password with the emailed link")
def confirm_reset(request: Annotated[ResetConfirm, Body()]) -> Said:
    from crm_core.wiring import login_service

    return Said(**login_service().confirm_reset(request))


HTML = "text/html; charset=utf-8"
PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport"
content="width=device-width, initial-scale=1"><title>{title}</title></head>
<body style="font-family:sans-serif;max-width:32em;margin:3em auto;padding:0 1em"><h1>{title}</h1>{content}</body>
</html>
"""
CONFIRM = """<p>Press the button to stop our marketing email. Emails about your account still come.</p>
<form method="post" action="?token={token}"><button type="submit">Unsubscribe</button></form>"""
HTML_PAGE = {200: {"description": "an HTML page", "content": {"text/html": {"schema": {"type": "string"}}}}}


@app.get("/public/unsubscribe", tags=["public"], responses=HTML_PAGE,
         summary="The email's unsubscribe link: a page asking to confirm (a GET changes nothing: mail scanners and "
                 "link previews fetch links on their own)")
def unsubscribe_page(token: Annotated[str, Query(min_length=10, max_length=500)]) -> Response[str]:
    from crm_core.wiring import mailing_service

    mailing_service().check_unsubscribe(token)
    content = CONFIRM.format(token=html.escape(urllib.parse.quote(token, safe=""), quote=True))
    return Response(status_code=200, content_type=HTML, body=PAGE.format(title="Unsubscribe", content=content))


@app.post("/public/unsubscribe", tags=["public"], responses=HTML_PAGE,
          summary="Unsubscribe from marketing email: the page's button, or RFC 8058 one-click (List-Unsubscribe="
                  "One-Click posted to the List-Unsubscribe URL)")
def unsubscribe(token: Annotated[str, Query(min_length=10, max_length=500)]) -> Response[str]:
    from crm_core.wiring import mailing_service

    message = mailing_service().unsubscribe(token)["message"]
    return Response(status_code=200, content_type=HTML,
                    body=PAGE.format(title="Unsubscribed", content=f"<p>{html.escape(message)}</p>"))
