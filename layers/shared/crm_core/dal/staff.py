"""Staff users' preferences: ``STAFFUSER#<username>`` / ``PREFERENCES``."""

from __future__ import annotations

from typing import Any

from crm_core.clock import utcnow
from crm_core.dal.dynamo import call, from_item, key, to_item
from crm_core.models.staff import StaffPreferences, StaffPreferencesPut


class StaffPreferencesRepository:
    def __init__(self, ddb: Any, table: str) -> None:
        self._ddb = ddb
        self._table = table

    def get(self, user: str) -> StaffPreferences:
        answer = call(self._ddb.get_item, TableName=self._table, Key=key(f"STAFFUSER#{user}", "PREFERENCES"))
        if "Item" not in answer:
            return StaffPreferences()
        values = from_item(answer["Item"])
        return StaffPreferences.model_validate({k: v for k, v in values.items() if k not in ("PK", "SK")})

    def put(self, user: str, preferences: StaffPreferencesPut) -> StaffPreferences:
        saved = StaffPreferences(**preferences.model_dump(), updated_at=utcnow())
        call(self._ddb.put_item, TableName=self._table,
             Item=to_item({**saved.model_dump(mode="json"), "PK": f"STAFFUSER#{user}", "SK": "PREFERENCES"}))
        return saved
