"""Builds services from configuration, once per execution environment (lazily, not at import)."""

from __future__ import annotations

from functools import lru_cache

from crm_core.aws import client
from crm_core.config import get_settings
from crm_core.cursor import CursorCodec
from crm_core.dal.customers import CustomerRepository
from crm_core.dal.points import PointsRepository
from crm_core.dal.records import RecordRepository
from crm_core.dal.staff import StaffPreferencesRepository
from crm_core.services.customers import CustomerService, Paging
from crm_core.services.points import PointsService
from crm_core.services.records import RecordService


@lru_cache(maxsize=1)
def customer_service() -> CustomerService:
    settings = get_settings()
    return CustomerService(
        CustomerRepository(client("dynamodb"), settings.table_name),
        CursorCodec(settings.cursor_signing_key, settings.cursor_ttl_seconds),
        Paging(default=settings.default_page_size, maximum=settings.max_page_size),
    )


@lru_cache(maxsize=1)
def record_service() -> RecordService:
    settings = get_settings()
    ddb = client("dynamodb")
    return RecordService(CustomerRepository(ddb, settings.table_name), RecordRepository(ddb, settings.table_name))


@lru_cache(maxsize=1)
def points_service() -> PointsService:
    settings = get_settings()
    ddb = client("dynamodb")
    return PointsService(CustomerRepository(ddb, settings.table_name), PointsRepository(ddb, settings.table_name),
                         CursorCodec(settings.cursor_signing_key, settings.cursor_ttl_seconds), settings.max_page_size)


@lru_cache(maxsize=1)
def staff_preferences() -> StaffPreferencesRepository:
    return StaffPreferencesRepository(client("dynamodb"), get_settings().table_name)


def reset() -> None:
    """Forget built services and settings (tests that change the environment)."""
    from crm_core.aws import reset_clients

    customer_service.cache_clear()
    record_service.cache_clear()
    points_service.cache_clear()
    staff_preferences.cache_clear()
    get_settings.cache_clear()
    reset_clients()
