"""Staff routes for mass email and mail lists."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body

from crm_core.http import SignedIn, json_response
from crm_core.models.mail import Mailing as MailingView
from crm_core.models.mail import MailingCreate, MailingPreview, MailList, MailListPut, MailListSummary, Preview
from crm_core.wiring import mailing_service
from route_params import Cursor, Limit, ListId, MailingId

router = Router()


@router.post("/mailings/preview", tags=["mail"], summary="Render a mass email for one recipient")
def preview_mailing(request: Annotated[MailingPreview, Body()]) -> Preview:
    return mailing_service().preview(request)


@router.post("/mailings", tags=["mail"],
             summary="Send a mass email to ids, a saved mail list or a search (opted-out and suppressed skipped)",
             status_code=202, responses={202: {"description": "queued; follow it with GET /mailings/{mailing_id}",
                                               "content": {"application/json": {"model": MailingView}}}})
def send_mailing(actor: SignedIn, request: Annotated[MailingCreate, Body()]) -> Response[str]:
    mailing = mailing_service().create(request, actor.username)
    return json_response(202, mailing.model_dump(mode="json"), {"Location": f"/mailings/{mailing.id}"})


@router.get("/mailings/<mailing_id>", tags=["mail"], summary="A mailing: progress and each recipient's outcome")
def get_mailing(mailing_id: MailingId, limit: Limit = None, cursor: Cursor = None) -> MailingView:
    return mailing_service().get(mailing_id, limit, cursor)


@router.get("/mail-lists", tags=["mail"], summary="Saved mail lists (reset is simply all customers)")
def list_mail_lists() -> list[MailListSummary]:
    return mailing_service().lists()


@router.post("/mail-lists", status_code=201, tags=["mail"], summary="Save the current selection under a name")
def save_mail_list(actor: SignedIn, request: Annotated[MailListPut, Body()]) -> MailList:
    return mailing_service().save_list(request, actor.username)


@router.get("/mail-lists/<list_id>", tags=["mail"], summary="Load a mail list")
def get_mail_list(list_id: ListId) -> MailList:
    return mailing_service().get_list(list_id)


@router.put("/mail-lists/<list_id>", tags=["mail"], summary="Update a mail list (send the version you read)")
def update_mail_list(actor: SignedIn, list_id: ListId, request: Annotated[MailListPut, Body()]) -> MailList:
    return mailing_service().save_list(request, actor.username, list_id)


@router.delete("/mail-lists/<list_id>", tags=["mail"], summary="Delete a mail list")
def delete_mail_list(list_id: ListId) -> Response[str]:
    mailing_service().delete_list(list_id)
    return Response(status_code=204, body="")
