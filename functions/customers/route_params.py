"""Parameters the staff routes share: every id is a ULID; every list pages with ``limit`` and ``cursor``."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Path, Query

from crm_core.models.customer import ID_PATTERN, PAGE_MAX

CustomerId = Annotated[str, Path(pattern=ID_PATTERN, description="the customer's id")]
RecordId = Annotated[str, Path(pattern=ID_PATTERN, description="the record's id")]
ExportId = Annotated[str, Path(pattern=ID_PATTERN, description="the export's id")]
ImportId = Annotated[str, Path(pattern=ID_PATTERN, description="the import's id")]
MailingId = Annotated[str, Path(pattern=ID_PATTERN, description="the mailing's id")]
ListId = Annotated[str, Path(pattern=ID_PATTERN, description="the mail list's id")]
Limit = Annotated[int | None, Query(ge=1, le=PAGE_MAX, description=f"page size (at most {PAGE_MAX})")]
Cursor = Annotated[str | None, Query(max_length=2000, description="next_cursor of the previous page")]
