"""The customers table read whole, for the search index rebuild only (``crm reindex``).

The one Scan of the project: a migration's, run with an operator's credentials, never by a function (no
function's role allows ``dynamodb:Scan``). Kept apart from ``CustomerRepository`` for that reason.
"""

from __future__ import annotations

from typing import Any

from crm_core.dal.customers import PROFILE, customer_from_item
from crm_core.dal.dynamo import call
from crm_core.dal.search import ItemKey
from crm_core.models.customer import Customer

LEGACY_TERM = "TERM#"  # the search index's items before prefix and pair items; the rebuild removes them


class TableScan:
    def __init__(self, ddb: Any, table: str) -> None:
        self._ddb = ddb
        self._table = table

    def page(self, segment: int, segments: int, start: dict[str, Any] | None,
             limit: int) -> tuple[list[Customer], list[ItemKey], dict[str, Any] | None]:
        """One page of a (parallel) Scan: its profiles, the keys of its ``TERM#`` items, and where the next page
        starts (None: the segment is done)."""
        request: dict[str, Any] = {
            "TableName": self._table, "Segment": segment, "TotalSegments": segments, "Limit": limit,
            "FilterExpression": "SK = :profile OR begins_with(PK, :legacy)",
            "ExpressionAttributeValues": {":profile": {"S": PROFILE}, ":legacy": {"S": LEGACY_TERM}},
        }
        if start:
            request["ExclusiveStartKey"] = start
        answer = call(self._ddb.scan, **request)
        profiles, legacy = [], []
        for item in answer.get("Items", []):
            if item["SK"]["S"] == PROFILE:
                profiles.append(customer_from_item(item))
            else:
                legacy.append((item["PK"]["S"], item["SK"]["S"]))
        return profiles, legacy, answer.get("LastEvaluatedKey")
