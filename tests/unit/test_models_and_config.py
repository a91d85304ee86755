"""Request models refuse bad input field by field; configuration is validated once."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import TypeAdapter, ValidationError

from crm_core.config import load_settings
from crm_core.errors import ConfigurationError
from crm_core.http import validation_fields
from crm_core.models.customer import CustomerCreate, CustomerPatch

create = TypeAdapter(CustomerCreate)


def _fields(payload: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(ValidationError) as caught:
        create.validate_python(payload)
    return {f["field"]: f["message"] for f in validation_fields(caught.value.errors())}  # type: ignore[arg-type]


def test_individual_needs_first_and_last_name() -> None:
    assert set(_fields({"type": "individual"})) == {"first_name", "last_name"}


def test_organization_needs_its_name() -> None:
    assert _fields({"type": "organization"}) == {"organization_name": "is required"}


def test_type_is_required_and_must_be_known() -> None:
    assert _fields({"first_name": "A"}) == {"type": "is required: individual or organization"}
    assert _fields({"type": "robot"}) == {"type": "must be individual or organization"}


def test_unknown_fields_and_bad_values_are_named() -> None:
    fields = _fields({"type": "individual", "first_name": "Ada", "last_name": "L", "nickname": "x",
                      "email": "not-an-email", "phone": "call me", "username": "a b",
                      "address": {"country": "Britain", "planet": "Earth"}})
    assert fields["nickname"] == "is not a known field"
    assert fields["email"] == "is not a valid email address"
    assert "digits" in fields["phone"]
    assert "username" in fields
    assert "address.country" in fields and fields["address.planet"] == "is not a known field"


def test_header_injection_is_refused_in_names() -> None:
    assert "first_name" in _fields({"type": "individual", "first_name": "Ada\r\nBcc: x@y.z", "last_name": "L"})


def test_more_than_two_assigned_staff_is_refused() -> None:
    assert "assigned_staff" in _fields({"type": "individual", "first_name": "A", "last_name": "B",
                                        "assigned_staff": ["a", "b", "c"]})


def test_values_are_normalised() -> None:
    customer = create.validate_python({"type": "individual", "first_name": "  Ada ", "last_name": "Lovelace",
                                       "username": "ALovelace", "email": "Ada@Example.ORG",
                                       "address": {"country": "gb"}})
    assert customer.first_name == "Ada"
    assert customer.username == "alovelace"
    assert customer.email == "Ada@example.org"
    assert customer.address is not None and customer.address.country == "GB"


def test_patch_needs_a_version() -> None:
    with pytest.raises(ValidationError):
        CustomerPatch.model_validate({"first_name": "Ada"})


def test_settings_name_the_missing_variable() -> None:
    with pytest.raises(ConfigurationError, match="TABLE_NAME"):
        load_settings({"CURSOR_SIGNING_SECRET": "CursorSigningSecret"})


def test_settings_refuse_an_empty_secret_name_and_hold_no_secret() -> None:
    with pytest.raises(ConfigurationError, match="MAIL_SEND_RATE"):
        load_settings({"TABLE_NAME": "customers", "MAIL_SEND_RATE": "0"})
    # secrets are read at run time (crm_core.parameters): the settings only name them
    settings = load_settings({"TABLE_NAME": "customers", "CURSOR_SIGNING_SECRET": "arn:aws:secretsmanager:x"})
    assert settings.cursor_signing_secret == "arn:aws:secretsmanager:x"
    assert not any("key" in name and "secret" not in name for name in type(settings).model_fields)


def test_settings_read_numbers_from_text() -> None:
    settings = load_settings({"TABLE_NAME": "customers", "DEFAULT_PAGE_SIZE": "50"})
    assert settings.default_page_size == 50
