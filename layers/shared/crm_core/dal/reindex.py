"""The customers table read whole, for the search index rebuild only (``crm reindex``).

The one Scan of the project: a migration's, run with an operator's credentials, never by a function (no
function's role allows ``dynamodb:Scan``). Kept apart from ``CustomerRepository`` for that reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from crm_core.dal.customers import PROFILE, customer_from_item
from crm_core.dal.dynamo import call
from crm_core.dal.search import PAIR, PREFIX, ItemKey
from crm_core.models.customer import Customer

LEGACY_TERM = "TERM#"  # the search index's items before prefix and pair items; the rebuild removes them


@dataclass
class ScanPage:
    """What one page of the Scan holds for the rebuild."""

    profiles: list[Customer]
    legacy: list[ItemKey]  # the keys of its TERM# items
    search: list[tuple[ItemKey, str]]  # its S#/P# items: key and terms (w)
    resume: dict[str, Any] | None  # where the next page starts (None: the segment is done)


class TableScan:
    def __init__(self, ddb: Any, table: str) -> None:
        self._ddb = ddb
        self._table = table

    def page(self, segment: int, segments: int, start: dict[str, Any] | None, limit: int) -> ScanPage:
        """One page of a (parallel) Scan: its profiles, earlier search items and search items."""
        request: dict[str, Any] = {
            "TableName": self._table, "Segment": segment, "TotalSegments": segments, "Limit": limit,
            "FilterExpression": "SK = :profile OR begins_with(PK, :legacy) OR begins_with(PK, :prefix) "
                                "OR begins_with(PK, :pair)",
            "ExpressionAttributeValues": {":profile": {"S": PROFILE}, ":legacy": {"S": LEGACY_TERM},
                                          ":prefix": {"S": PREFIX}, ":pair": {"S": PAIR}},
        }
        if start:
            request["ExclusiveStartKey"] = start
        answer = call(self._ddb.scan, **request)
        found = ScanPage([], [], [], answer.get("LastEvaluatedKey"))
        for item in answer.get("Items", []):
            pk, sk = item["PK"]["S"], item["SK"]["S"]
            if sk == PROFILE:
                found.profiles.append(customer_from_item(item))
            elif pk.startswith(LEGACY_TERM):
                found.legacy.append((pk, sk))
            else:
                found.search.append(((pk, sk), item.get("w", {}).get("S", "")))
        return found
