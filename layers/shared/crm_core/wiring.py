"""Builds services from configuration, once per execution environment (lazily, not at import: a function
pays at cold start only for what it imports, and imports a service's modules when it first uses it)."""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from crm_core.aws import client
from crm_core.config import get_settings
from crm_core.cursor import CursorCodec
from crm_core.dal.customers import CustomerRepository
from crm_core.models.customer import PAGE_MAX
from crm_core.parameters import cursor_signing_key

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer

    from crm_core.accounting import AccountsAdapter
    from crm_core.dal.queues import Queue
    from crm_core.dal.staff import StaffPreferencesRepository
    from crm_core.imports.service import ImportService
    from crm_core.services.accounting import AccountingSync
    from crm_core.services.customers import CustomerService
    from crm_core.services.exports import ExportService
    from crm_core.services.login import LoginService
    from crm_core.services.mailings import MailingService
    from crm_core.services.merge import MergeService
    from crm_core.services.money import MoneyService, NightlyRefresh
    from crm_core.services.points import PointsService
    from crm_core.services.records import RecordService
    from crm_core.services.staff import StaffService


@lru_cache(maxsize=1)
def staff_service() -> StaffService:
    """The staff directory: the user pool, or the built-in local users where the environment says so (the local
    stack); a function that checks staff names without either is a deployment fault."""
    from crm_core.dal.directory import BuiltInStaff, CognitoStaff, StaffDirectory
    from crm_core.errors import ConfigurationError
    from crm_core.services.staff import StaffService

    settings = get_settings()
    if settings.staff_directory == "built-in":
        directory: StaffDirectory = BuiltInStaff()
    elif settings.staff_user_pool_id:
        directory = CognitoStaff(client("cognito-idp"), settings.staff_user_pool_id)
    else:
        raise ConfigurationError("STAFF_USER_POOL_ID is not set for this function (the staff directory)")
    return StaffService(directory)


def _cursors() -> CursorCodec:
    """Page cursors, signed with the key read from Secrets Manager when a cursor is made or read."""
    return CursorCodec(cursor_signing_key, get_settings().cursor_ttl_seconds)


def _queue(url: str | None, name: str) -> Queue | None:
    """The queue adapter for a queue this function's environment names (``None``: it names none)."""
    from crm_core.dal.queues import Queue

    return Queue(client("sqs"), url, name) if url else None


@lru_cache(maxsize=1)
def customer_service() -> CustomerService:
    from crm_core.services.customers import CustomerService, Paging

    settings = get_settings()
    return CustomerService(
        CustomerRepository(client("dynamodb"), settings.table_name),
        _cursors(),
        Paging(default=settings.default_page_size),
        lambda field, names: staff_service().known(field, names),
    )


@lru_cache(maxsize=1)
def record_service() -> RecordService:
    from crm_core.dal.records import RecordRepository
    from crm_core.services.records import RecordService

    settings = get_settings()
    ddb = client("dynamodb")
    return RecordService(CustomerRepository(ddb, settings.table_name), RecordRepository(ddb, settings.table_name),
                         lambda field, names: staff_service().known(field, names))


@lru_cache(maxsize=1)
def points_service() -> PointsService:
    from crm_core.dal.points import PointsRepository
    from crm_core.services.points import PointsService

    settings = get_settings()
    ddb = client("dynamodb")
    return PointsService(CustomerRepository(ddb, settings.table_name), PointsRepository(ddb, settings.table_name),
                         _cursors())


@lru_cache(maxsize=1)
def staff_preferences() -> StaffPreferencesRepository:
    from crm_core.dal.staff import StaffPreferencesRepository

    return StaffPreferencesRepository(client("dynamodb"), get_settings().table_name)


@lru_cache(maxsize=1)
def export_service() -> ExportService:
    """Exports; the bucket and queue adapters exist only where the function's environment names them."""
    from crm_core.dal.exports import ExportFiles, ExportJobRepository
    from crm_core.services.exports import ExportLimits, ExportService

    settings = get_settings()
    ddb = client("dynamodb")
    return ExportService(
        ExportJobRepository(ddb, settings.table_name),
        CustomerRepository(ddb, settings.table_name),
        customer_service().search,
        staff_preferences(),
        ExportFiles(client("s3"), settings.exports_bucket) if settings.exports_bucket else None,
        _queue(settings.export_queue_url, "the export queue"),
        ExportLimits(sync_max=settings.export_sync_limit, link_seconds=settings.export_link_seconds,
                     page_size=PAGE_MAX),
    )


@lru_cache(maxsize=1)
def import_service() -> ImportService:
    """Imports; only functions whose environment names the upload bucket have them."""
    from crm_core.errors import ConfigurationError
    from crm_core.imports.applying import Applier
    from crm_core.imports.checking import Defaults
    from crm_core.imports.files import ImportFiles
    from crm_core.imports.queue import ImportQueue
    from crm_core.imports.reading import Limits
    from crm_core.imports.service import ImportLimits, ImportService
    from crm_core.imports.store import ImportJobRepository, MappingRepository

    settings = get_settings()
    if not settings.imports_bucket:
        raise ConfigurationError("IMPORTS_BUCKET is not set for this function")
    ddb = client("dynamodb")
    jobs = ImportJobRepository(ddb, settings.table_name)
    customers = CustomerRepository(ddb, settings.table_name)
    return ImportService(
        jobs,
        MappingRepository(ddb, settings.table_name),
        ImportFiles(client("s3"), settings.imports_bucket),
        ImportQueue(client("sqs"), settings.import_queue_url) if settings.import_queue_url else None,
        customers,
        Applier(jobs, customers, customer_service()),
        _cursors(),
        ImportLimits(chunk_rows=settings.import_chunk_rows, max_upload_bytes=settings.import_max_upload_mb * 2**20,
                     reader=Limits(max_rows=settings.import_max_rows),
                     defaults=Defaults(settings.import_date_order, settings.import_default_country)),
    )


@lru_cache(maxsize=1)
def upload_idempotency() -> DynamoDBPersistenceLayer:
    """Where Powertools idempotency keeps its records of uploads read: the customers table."""
    from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer

    return DynamoDBPersistenceLayer(table_name=get_settings().table_name, key_attr="PK", sort_key_attr="SK",
                                    static_pk_value="IDEMPOTENCY#import-upload", boto3_client=client("dynamodb"))


@lru_cache(maxsize=1)
def request_idempotency() -> DynamoDBPersistenceLayer:
    """Where the staff API keeps the answers of writes sent with an ``Idempotency-Key``: the customers table."""
    from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer

    return DynamoDBPersistenceLayer(table_name=get_settings().table_name, key_attr="PK", sort_key_attr="SK",
                                    static_pk_value="IDEMPOTENCY#api-request", boto3_client=client("dynamodb"))


@lru_cache(maxsize=1)
def money_service() -> MoneyService:
    from crm_core.dal.money import MoneyRepository
    from crm_core.services.money import MoneyService

    settings = get_settings()
    ddb = client("dynamodb")
    return MoneyService(CustomerRepository(ddb, settings.table_name), MoneyRepository(ddb, settings.table_name),
                        _cursors())


@lru_cache(maxsize=1)
def nightly_refresh() -> NightlyRefresh:
    from crm_core.dal.money import MoneyRepository
    from crm_core.dal.runs import RunRepository
    from crm_core.services.money import NightlyRefresh

    settings = get_settings()
    ddb = client("dynamodb")
    return NightlyRefresh(money_service(), MoneyRepository(ddb, settings.table_name),
                          RunRepository(ddb, settings.table_name))


def accounts_adapter() -> AccountsAdapter:
    """A fresh adapter for one sync run (file-based ones read their inbox once per instance)."""
    from crm_core.errors import ConfigurationError

    settings = get_settings()
    if settings.accounts_adapter == "rest":
        from crm_core.accounting.rest import RestAccounts

        if not settings.accounts_api_url or not settings.accounts_api_token_secret:
            raise ConfigurationError("ACCOUNTS_API_URL and ACCOUNTS_API_TOKEN_SECRET are needed for the REST adapter")
        from crm_core.parameters import accounts_api_token

        return RestAccounts(settings.accounts_api_url, accounts_api_token())
    from crm_core.accounting.sage50 import Sage50Accounts

    if not settings.accounting_bucket:
        raise ConfigurationError("ACCOUNTING_BUCKET is needed for the Sage 50 adapter")
    from crm_core.dal.accounting import AccountingRepository

    claims = AccountingRepository(client("dynamodb"), settings.table_name)
    return Sage50Accounts(client("s3"), settings.accounting_bucket,
                          taken=lambda ref: claims.ref_owner("sage50", ref) is not None)


@lru_cache(maxsize=1)
def accounting_sync() -> AccountingSync:
    from crm_core.dal.accounting import AccountingRepository
    from crm_core.dal.runs import RunRepository
    from crm_core.services.accounting import AccountingSync

    settings = get_settings()
    ddb = client("dynamodb")
    queue = _queue(settings.accounting_queue_url, "the accounting queue")

    def request_run() -> None:
        from crm_core.models.messages import AccountingRunRequested

        assert queue is not None
        queue.send([AccountingRunRequested()])

    return AccountingSync(CustomerRepository(ddb, settings.table_name), AccountingRepository(ddb, settings.table_name),
                          RunRepository(ddb, settings.table_name), accounts_adapter, settings.accounts_adapter,
                          request_run if queue else None)


@lru_cache(maxsize=1)
def login_service() -> LoginService:
    from crm_core.dal.mail import MailRepository
    from crm_core.dal.ratelimit import RateLimiter
    from crm_core.services.login import LoginService

    settings = get_settings()
    ddb = client("dynamodb")
    return LoginService(CustomerRepository(ddb, settings.table_name), customer_service(),
                        MailRepository(ddb, settings.table_name), RateLimiter(ddb, settings.table_name),
                        _queue(settings.mail_queue_url, "the mail queue"))


@lru_cache(maxsize=1)
def mailing_service() -> MailingService:
    from crm_core.dal.mail import MailRepository
    from crm_core.dal.ses import SesMail
    from crm_core.parameters import public_base_url, unsubscribe_signing_key
    from crm_core.services.mailings import MailingService

    settings = get_settings()
    ddb = client("dynamodb")

    def sender() -> SesMail:
        return SesMail(client("sesv2"), settings.mail_from, settings.mail_send_rate / settings.mail_senders,
                       settings.ses_configuration_set)

    return MailingService(CustomerRepository(ddb, settings.table_name), customer_service(),
                          MailRepository(ddb, settings.table_name), _queue(settings.mail_queue_url, "the mail queue"),
                          public_base_url if settings.public_base_url_parameter else None,
                          unsubscribe_signing_key if settings.unsubscribe_signing_secret else None, _one(sender),
                          _cursors())


def _one(make: Callable[[], Any]) -> Callable[[], Any]:
    """The same object on every call (one sender per execution environment keeps the pace)."""
    return lru_cache(maxsize=1)(make)


@lru_cache(maxsize=1)
def merge_service() -> MergeService:
    from crm_core.dal.merge import MergeRepository
    from crm_core.dal.points import PointsRepository
    from crm_core.services.merge import MergeService

    settings = get_settings()
    ddb = client("dynamodb")
    return MergeService(CustomerRepository(ddb, settings.table_name), MergeRepository(ddb, settings.table_name),
                        PointsRepository(ddb, settings.table_name), money_service().rebuild)


def reset() -> None:
    """Forget built services and settings (tests that change the environment)."""
    from crm_core import parameters
    from crm_core.aws import reset_clients

    staff_service.cache_clear()
    customer_service.cache_clear()
    record_service.cache_clear()
    points_service.cache_clear()
    merge_service.cache_clear()
    staff_preferences.cache_clear()
    export_service.cache_clear()
    import_service.cache_clear()
    money_service.cache_clear()
    upload_idempotency.cache_clear()
    request_idempotency.cache_clear()
    accounting_sync.cache_clear()
    login_service.cache_clear()
    mailing_service.cache_clear()
    nightly_refresh.cache_clear()
    get_settings.cache_clear()
    parameters.reset()
    reset_clients()
