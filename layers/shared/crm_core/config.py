"""Configuration read from the environment that template.yaml sets, validated once per cold start.

This is the only module that reads ``os.environ``. Secrets are not in the environment: it names the Secrets
Manager secrets (and the SSM parameter) that ``crm_core.parameters`` reads at run time.
"""

from __future__ import annotations

import os
from functools import lru_cache
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from crm_core.errors import ConfigurationError


class Settings(BaseModel):
    model_config = ConfigDict(frozen=True)

    table_name: str = Field(min_length=3, description="the customers table (single-table design)")
    cursor_signing_secret: str | None = Field(default=None, min_length=1,
                                              description="the secret holding the HMAC key of pagination cursors")
    stage: str = "dev"
    default_page_size: int = Field(default=25, ge=1, le=1000)
    cursor_ttl_seconds: int = Field(default=3600, ge=60)
    aws_max_attempts: int = Field(default=5, ge=1, le=20)
    # Exports (only the functions that export have these)
    exports_bucket: str | None = Field(default=None, min_length=3, description="where export files are written")
    export_queue_url: str | None = Field(default=None, min_length=3, description="queue of background exports")
    export_sync_limit: int = Field(default=500, ge=0, le=10_000)
    export_link_seconds: int = Field(default=900, ge=60, le=43_200)
    # Imports (the staff API and the import function)
    imports_bucket: str | None = Field(default=None, min_length=3, description="where workbooks are uploaded")
    import_queue_url: str | None = Field(default=None, min_length=3, description="queue of import work")
    import_chunk_rows: int = Field(default=1000, ge=1, le=10_000, description="rows applied per queue message")
    import_max_rows: int = Field(default=200_000, ge=1, description="data rows a sheet may have")
    import_max_upload_mb: int = Field(default=50, ge=1, le=1024, description="largest workbook accepted")
    import_date_order: Literal["day_first", "month_first"] = Field(
        default="day_first", description="how the organisation writes numeric dates, when a list does not tell")
    import_default_country: str = Field(default="GB", pattern=r"^[A-Z]{2}$",
                                        description="the organisation's country: of phones, postcodes and "
                                                    "addresses that do not name theirs")
    # Accounting sync (the sync function; the API only asks for a run)
    accounts_adapter: Literal["sage50", "rest"] = Field(default="sage50", description="the accounts package")
    accounting_bucket: str | None = Field(default=None, min_length=3, description="Sage 50 files in and out")
    accounts_api_url: str | None = Field(default=None, min_length=8, description="the REST accounts API")
    accounts_api_token_secret: str | None = Field(default=None, min_length=1,
                                                  description="Secrets Manager secret holding its bearer token")
    accounting_queue_url: str | None = Field(default=None, min_length=3, description="asks for a sync run now")
    # Email (the mailer, and the APIs that ask it to send)
    mail_queue_url: str | None = Field(default=None, min_length=3, description="work for the mailer")
    mail_from: str = Field(default="Customer Services <no-reply@example.org>", min_length=3,
                           description="the From of every email (a verified SES identity)")
    mail_send_rate: float = Field(default=14.0, gt=0, le=10_000, description="emails per second, at most")
    mail_senders: int = Field(default=1, ge=1, le=100, description="mailer functions sending at once (the rate "
                                                                   "is shared between them)")
    ses_configuration_set: str | None = Field(default=None, min_length=1,
                                              description="SES configuration set (bounces and complaints → SNS)")
    public_base_url_parameter: str | None = Field(default=None, min_length=2, description=(
        "the SSM parameter holding where links in emails point (reset, unsubscribe)"))
    unsubscribe_signing_secret: str | None = Field(default=None, min_length=1,
                                                   description="the secret holding the key of unsubscribe links")
    reset_token_minutes: int = Field(default=60, ge=5, le=24 * 60)
    # Staff directory (the functions that list staff or check names against it)
    staff_user_pool_id: str | None = Field(default=None, min_length=1, description="the staff user pool")
    staff_directory: Literal["user-pool", "built-in"] = Field(
        default="user-pool", description="who the staff are: the user pool, or (the local stack and the tests "
                                         "only) the built-in local users")


_ENV = {
    "table_name": "TABLE_NAME",
    "cursor_signing_secret": "CURSOR_SIGNING_SECRET",
    "stage": "STAGE",
    "default_page_size": "DEFAULT_PAGE_SIZE",
    "cursor_ttl_seconds": "CURSOR_TTL_SECONDS",
    "aws_max_attempts": "AWS_MAX_ATTEMPTS",
    "exports_bucket": "EXPORTS_BUCKET",
    "export_queue_url": "EXPORT_QUEUE_URL",
    "export_sync_limit": "EXPORT_SYNC_LIMIT",
    "export_link_seconds": "EXPORT_LINK_SECONDS",
    "imports_bucket": "IMPORTS_BUCKET",
    "import_queue_url": "IMPORT_QUEUE_URL",
    "import_chunk_rows": "IMPORT_CHUNK_ROWS",
    "import_max_rows": "IMPORT_MAX_ROWS",
    "import_max_upload_mb": "IMPORT_MAX_UPLOAD_MB",
    "import_date_order": "IMPORT_DATE_ORDER",
    "import_default_country": "IMPORT_DEFAULT_COUNTRY",
    "accounts_adapter": "ACCOUNTS_ADAPTER",
    "accounting_bucket": "ACCOUNTING_BUCKET",
    "accounts_api_url": "ACCOUNTS_API_URL",
    "accounts_api_token_secret": "ACCOUNTS_API_TOKEN_SECRET",
    "accounting_queue_url": "ACCOUNTING_QUEUE_URL",
    "mail_queue_url": "MAIL_QUEUE_URL",
    "mail_from": "MAIL_FROM",
    "mail_send_rate": "MAIL_SEND_RATE",
    "mail_senders": "MAIL_SENDERS",
    "ses_configuration_set": "SES_CONFIGURATION_SET",
    "public_base_url_parameter": "PUBLIC_BASE_URL_PARAMETER",
    "unsubscribe_signing_secret": "UNSUBSCRIBE_SIGNING_SECRET",
    "reset_token_minutes": "RESET_TOKEN_MINUTES",
    "staff_user_pool_id": "STAFF_USER_POOL_ID",
    "staff_directory": "STAFF_DIRECTORY",
}


def load_settings(environ: dict[str, str] | None = None) -> Settings:
    env = os.environ if environ is None else environ
    values = {field: env[name] for field, name in _ENV.items() if env.get(name)}  # empty = not set
    try:
        return Settings.model_validate(values)
    except ValidationError as exc:
        problems = "; ".join(f"{_ENV[str(e['loc'][0])]}: {e['msg']}" for e in exc.errors())
        raise ConfigurationError(f"invalid configuration: {problems}") from exc


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The settings of this process, read on first use (cold start) and kept."""
    return load_settings()
