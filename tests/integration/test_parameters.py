"""Secrets and settings read at run time (Powertools Parameters), not from the environment."""

from __future__ import annotations

import boto3
import pytest
from botocore.stub import Stubber

from crm_core import parameters
from crm_core.aws import client
from crm_core.errors import ConfigurationError, RetryLater
from crm_local.template import Template


def test_keys_and_the_link_base_are_read_from_the_stack_and_kept(aws: Template) -> None:
    # Given the function environment, which names the secrets and the SSM parameter (never their values)
    # When the values are read
    assert parameters.cursor_signing_key() == "tests-cursor-signing-key-0123456789"
    assert parameters.unsubscribe_signing_key() == "tests-unsubscribe-signing-key-0123456789"
    assert parameters.public_base_url() == "http://127.0.0.1:3000"
    # Then a rotated secret is not read again at once: the value is kept (POWERTOOLS_PARAMETERS_MAX_AGE) ...
    boto3.client("secretsmanager").put_secret_value(SecretId="CursorSigningSecret", SecretString="rotated" * 4)
    assert parameters.cursor_signing_key() == "tests-cursor-signing-key-0123456789"
    # ... and a fresh execution environment reads the new one
    parameters.reset()
    assert parameters.cursor_signing_key() == "rotated" * 4


def test_a_missing_secret_is_a_configuration_error_and_throttling_is_retry_later(
        aws: Template, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CURSOR_SIGNING_SECRET", "NoSuchSecret")
    from crm_core.config import get_settings

    get_settings.cache_clear()
    with pytest.raises(ConfigurationError, match="the cursor signing key"):
        parameters.cursor_signing_key()
    monkeypatch.delenv("UNSUBSCRIBE_SIGNING_SECRET")
    get_settings.cache_clear()
    with pytest.raises(ConfigurationError, match="not configured"):
        parameters.unsubscribe_signing_key()
    with Stubber(client("ssm")) as ssm:
        ssm.add_client_error("get_parameter", "ThrottlingException", http_status_code=400)
        with pytest.raises(RetryLater):
            parameters.public_base_url()
