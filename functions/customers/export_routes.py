"""Staff routes for exports: ask for one (written at once when small, in the background when large), and
read it back with its download link. Metrics: ``ExportsWritten`` (written during the request) and
``ExportsQueued`` (sent to the export function)."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools import Metrics
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.metrics import MetricUnit

from crm_core.http import SignedIn, json_response
from crm_core.models.export import ExportJob, ExportRequest
from crm_core.wiring import export_service
from route_params import ExportId

router = Router()
metrics = Metrics()  # Powertools' metrics of the function: published with its answer's outcome (api_app)


@router.post("/exports", tags=["exports"], summary="Export ids or a search to CSV or XLSX",
             description="201 with the completed export and its link when small; 202 with the queued export "
                         "when it runs in the background (read it with GET /exports/{export_id}).",
             status_code=201,
             responses={201: {"description": "written; download_url is ready",
                              "content": {"application/json": {"model": ExportJob}}},
                        202: {"description": "queued; poll GET /exports/{export_id}",
                              "content": {"application/json": {"model": ExportJob}}}})
def start_export(actor: SignedIn, request: Annotated[ExportRequest, Body()]) -> Response[str]:
    job = export_service().start(request, actor.username)
    written = job.status == "completed"
    metrics.add_metric(name="ExportsWritten" if written else "ExportsQueued", unit=MetricUnit.Count, value=1)
    return json_response(201 if written else 202, job.model_dump(mode="json"), {"Location": f"/exports/{job.id}"})


@router.get("/exports/<export_id>", tags=["exports"], summary="An export: its status, and its download link once "
                                                               "completed (valid for 15 minutes)")
def get_export(actor: SignedIn, export_id: ExportId) -> ExportJob:
    return export_service().get(export_id, actor.username, actor.is_admin)
