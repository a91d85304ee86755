"""Secrets and settings read at run time, not baked into the environment: the HMAC keys (Secrets Manager),
the REST accounts API's token, and where links in emails point (SSM Parameter Store).

Powertools Parameters reads each on first use and keeps it for ``POWERTOOLS_PARAMETERS_MAX_AGE`` seconds
(the template sets five minutes), so a rotated secret reaches every function within that time without a
deployment. The environment names the secrets (``crm_core.config``); a function whose environment names
none cannot read one.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from botocore.exceptions import ClientError

from crm_core.aws import client
from crm_core.config import get_settings
from crm_core.errors import ConfigurationError, RetryLater

THROTTLING = {"ThrottlingException", "TooManyUpdates", "RequestLimitExceeded", "LimitExceededException"}


@cache
def _secrets() -> Any:
    from aws_lambda_powertools.utilities.parameters import SecretsProvider

    return SecretsProvider(boto3_client=client("secretsmanager"))


@cache
def _ssm() -> Any:
    from aws_lambda_powertools.utilities.parameters import SSMProvider

    return SSMProvider(boto3_client=client("ssm"))


def _read(provider: Any, name: str | None, what: str) -> str:
    from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError

    if not name:
        raise ConfigurationError(f"{what} is not configured for this function")
    try:
        return str(provider.get(name))
    except GetParameterError as exc:
        cause = exc.__context__
        if isinstance(cause, ClientError) and cause.response.get("Error", {}).get("Code") in THROTTLING:
            raise RetryLater(f"{what} could not be read yet; retry shortly") from exc
        raise ConfigurationError(f"{what} ({name}) cannot be read") from exc


def cursor_signing_key() -> str:
    return _read(_secrets(), get_settings().cursor_signing_secret, "the cursor signing key")


def unsubscribe_signing_key() -> str:
    return _read(_secrets(), get_settings().unsubscribe_signing_secret, "the unsubscribe signing key")


def accounts_api_token() -> str:
    return _read(_secrets(), get_settings().accounts_api_token_secret, "the accounts API token")


def public_base_url() -> str:
    return _read(_ssm(), get_settings().public_base_url_parameter, "where links in emails point")


def reset() -> None:
    """Forget the providers and what they read (tests that point the process elsewhere)."""
    _secrets.cache_clear()
    _ssm.cache_clear()
