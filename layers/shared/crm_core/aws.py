"""boto3 clients, made on first use and kept for the life of the execution environment.

Clients honour ``AWS_ENDPOINT_URL`` (boto3 reads it), so the same code talks to AWS and to the local
stack. Retries use botocore's standard mode; what is still throttled after the last attempt surfaces
as a ``ClientError`` that the adapters turn into ``RetryLater``.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import boto3
from botocore.config import Config

from crm_core.config import get_settings


@cache
def client(service: str) -> Any:
    settings = get_settings()
    config = Config(retries={"mode": "standard", "max_attempts": settings.aws_max_attempts}, connect_timeout=3,
                    read_timeout=10)
    return boto3.session.Session().client(service, config=config)  # type: ignore[call-overload]


def reset_clients() -> None:
    """Forget cached clients (tests that point the process at another endpoint)."""
    client.cache_clear()
