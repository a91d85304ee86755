"""Staff routes for spreadsheet imports: ask for an upload, follow the job, check it again with another mapping,
commit a dry run, revert."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body

from crm_core.http import SignedIn, json_response
from crm_core.models.imports import ImportCreated, ImportJob, ImportPage, ImportRequest, ImportRerun
from crm_core.roles import REPORT_LINK
from crm_core.wiring import import_service
from route_params import Cursor, ImportId, Limit

router = Router()


@router.post("/imports", tags=["imports"], summary="Start an import: returns the job and a presigned upload",
             description="POST the upload's fields and then the workbook (as `file`) to `upload.url` as "
                         "multipart/form-data. The import starts when the file arrives; follow it with "
                         "GET /imports/{import_id}.",
             status_code=201,
             responses={201: {"description": "the job (awaiting_upload) and where to upload the workbook",
                              "content": {"application/json": {"model": ImportCreated}}}})
def start_import(actor: SignedIn, request: Annotated[ImportRequest, Body()]) -> Response[str]:
    created = import_service().start(request, actor.username)
    return json_response(201, created.model_dump(mode="json"), {"Location": f"/imports/{created.job.id}"})


@router.get("/imports", tags=["imports"], summary="Imports, newest first")
def list_imports(limit: Limit = None, cursor: Cursor = None) -> ImportPage:
    return import_service().page(limit or 25, cursor)


@router.get("/imports/<import_id>", tags=["imports"],
            summary="An import: status, progress, counts, first errors, and the report workbook's link",
            description="The report workbook's link (`report_url`: the rejected rows) is given to the staff and "
                        "admin roles only.")
def get_import(actor: SignedIn, import_id: ImportId) -> ImportJob:
    return import_service().get(import_id, report_link=actor.may(REPORT_LINK))


@router.post("/imports/<import_id>/dry-run", tags=["imports"],
             summary="Check the uploaded workbook again, as a dry run, with your mapping or settings",
             description="Send the columns to map (title or letter → field, or \"ignore\"), the sheet, the header "
                         "row, the date order or the default country; what you leave out stays as it was. The "
                         "workbook is read again without a new upload. Only an import that wrote nothing can be "
                         "checked again.",
             status_code=202, responses={202: {"description": "queued; follow it with GET /imports/{import_id}",
                                               "content": {"application/json": {"model": ImportJob}}}})
def dry_run_import(actor: SignedIn, import_id: ImportId, options: Annotated[ImportRerun, Body()]) -> Response[str]:
    job = import_service().dry_run(import_id, actor.username, options)
    return json_response(202, job.model_dump(mode="json"))


@router.post("/imports/<import_id>/commit", tags=["imports"],
             summary="Apply a finished dry run: its rows as checked, or — with your mapping or settings — read again",
             description="Without a body (or with an empty one) the dry run's checked rows are applied. With a "
                         "mapping or settings the workbook is read again with them and applied.",
             status_code=202, responses={202: {"description": "queued; follow it with GET /imports/{import_id}",
                                               "content": {"application/json": {"model": ImportJob}}}})
def commit_import(actor: SignedIn, import_id: ImportId,
                  options: Annotated[ImportRerun | None, Body()] = None) -> Response[str]:
    job = import_service().commit(import_id, actor.username, options)
    return json_response(202, job.model_dump(mode="json"))


@router.post("/imports/<import_id>/revert", tags=["imports"],
             summary="Undo an import: created customers removed, updated ones restored — unless changed since",
             status_code=202, responses={202: {"description": "reverting; follow it with GET /imports/{import_id}",
                                               "content": {"application/json": {"model": ImportJob}}}})
def revert_import(actor: SignedIn, import_id: ImportId) -> Response[str]:
    job = import_service().revert(import_id, actor.username)
    return json_response(202, job.model_dump(mode="json"))
