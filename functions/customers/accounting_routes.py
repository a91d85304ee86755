"""Staff routes for the accounting link: see it, settle a held match, and run the sync now."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body

from crm_core.http import SignedIn, json_response
from crm_core.models.accounting import AccountingChoice, AccountingView, SyncRequest, SyncRequested
from crm_core.wiring import accounting_sync
from route_params import CustomerId

router = Router()


@router.get("/customers/<customer_id>/accounting", tags=["accounting"],
            summary="The link to the accounts package: sync state, account reference, last synced, the package's "
                    "balance; candidates when held")
def get_accounting(customer_id: CustomerId) -> AccountingView:
    return accounting_sync().view(customer_id)


@router.put("/customers/<customer_id>/accounting", tags=["accounting"],
            summary="Settle a held match: link the chosen account, or open a new one (at the next sync)")
def choose_account(actor: SignedIn,
                   customer_id: CustomerId, choice: Annotated[AccountingChoice, Body()]) -> AccountingView:
    return accounting_sync().choose(customer_id, choice, actor.username)


@router.post("/accounting/sync", tags=["accounting"],
             summary="Run the accounting sync now (every new and changed customer, and the ids given)",
             status_code=202, responses={202: {"description": "the run is queued",
                                               "content": {"application/json": {"model": SyncRequested}}}})
def request_sync(request: Annotated[SyncRequest, Body()]) -> Response[str]:
    requested = accounting_sync().request(request.ids)
    return json_response(202, requested.model_dump(mode="json"))
