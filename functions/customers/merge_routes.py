"""Staff route to merge two customer accounts."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body

from crm_core.http import SignedIn
from crm_core.models.customer import Id, Strict
from crm_core.services.merge import MergePreview, MergeResult
from crm_core.wiring import merge_service
from route_params import CustomerId

router = Router()


class MergeRequest(Strict):
    source_id: Id


@router.post("/customers/<customer_id>/merge", tags=["customers"],
             summary="Merge the source customer into this one; running it again finishes an interrupted merge")
def merge(actor: SignedIn, customer_id: CustomerId, request: Annotated[MergeRequest, Body()]) -> MergeResult:
    return merge_service().merge(customer_id, request.source_id, actor.username)


@router.post("/customers/<customer_id>/merge/preview", tags=["customers"],
             summary="What merging the source into this customer would move; nothing is written")
def preview_merge(customer_id: CustomerId, request: Annotated[MergeRequest, Body()]) -> MergePreview:
    return merge_service().preview(customer_id, request.source_id)
