"""Path parameters the staff routes share: every id is a ULID."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Path

from crm_core.models.customer import ID_PATTERN

CustomerId = Annotated[str, Path(pattern=ID_PATTERN, description="the customer's id")]
RecordId = Annotated[str, Path(pattern=ID_PATTERN, description="the record's id")]
ExportId = Annotated[str, Path(pattern=ID_PATTERN, description="the export's id")]
ImportId = Annotated[str, Path(pattern=ID_PATTERN, description="the import's id")]
