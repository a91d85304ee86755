"""Writes sent with an ``Idempotency-Key``: what is kept, what a reused key means, and what a failing store
answers."""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from crm_local.template import Template
from integration.conftest import Call
from integration.test_metrics import emitted


def _table_text(aws: Template) -> str:
    """Every item of the customers table, as text (what anyone reading the table would see)."""
    ddb = boto3.client("dynamodb")
    table = aws.tables()["CustomersTable"]["TableName"]
    items: list[dict[str, Any]] = []
    for page in ddb.get_paginator("scan").paginate(TableName=table):
        items += page["Items"]
    return json.dumps(items)


def test_a_temporary_password_is_never_kept_under_its_key(api: Call, aws: Template, ada: dict[str, Any]) -> None:
    # Given an admin asking for a temporary password with an Idempotency-Key (as the console sends every write)
    key = {"Idempotency-Key": "random-password-1"}
    path = f"/customers/{ada['id']}/login/random-password"
    given = api("POST", path, headers=key)
    assert given.status == 200
    password = given.body["temporary_password"]
    # Then the password is nowhere in the table, whoever reads it
    assert password not in _table_text(aws)
    # And a retry with the key is told the answer was not kept — it never gets a password, and none is set again
    retry = api("POST", path, headers=key)
    assert (retry.status, retry.body["error"]["code"]) == (409, "answer_not_kept")
    assert "temporary_password" not in json.dumps(retry.body)
    signed_in = api("POST", "/public/login", body={"username": "alovelace", "password": password,
                                                   "new_password": "a long and new passphrase 42"})
    assert signed_in.status == 200


def test_a_key_stands_for_its_whole_request_query_string_included(api: Call, ada: dict[str, Any]) -> None:
    # Given a delete sent with a key, keeping the history
    key = {"Idempotency-Key": "delete-1"}
    path = f"/customers/{ada['id']}"
    assert api("DELETE", path, query={"delete_history": "false"}, headers=key).status == 204
    # When the same key comes with another query string, or on another path, or with another method
    other_query = api("DELETE", path, query={"delete_history": "true"}, headers=key)
    other_path = api("POST", f"/customers/{ada['id']}/notes", body={"text": "x"}, headers=key)
    # Then each is refused as a reused key (the IETF draft's 422), not answered with the first one's answer
    for refused in (other_query, other_path):
        assert (refused.status, refused.body["error"]["code"]) == (422, "idempotency_key_reused")
    # And the history was kept, as the first request asked
    assert api("GET", f"/customers/{ada['id']}/history").status == 200
    # While the very same request again gets the first answer
    assert api("DELETE", path, query={"delete_history": "false"}, headers=key).status == 204


def test_keyed_requests_count_in_the_outcome_metrics(api: Call, ada: dict[str, Any],
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    key = {"Idempotency-Key": "note-metrics"}
    base = f"/customers/{ada['id']}/notes"
    assert api("POST", base, body={"text": "Rang"}, headers=key).status == 201
    assert api("POST", base, body={"text": "Rang"}, headers=key).status == 201  # replayed
    assert api("POST", base, body={"text": "Other"}, headers=key).status == 422  # reused
    sums, _ = emitted(capsys.readouterr().out)
    assert (sums["ApiOk"], sums["ApiClientError"]) == (2, 1)


# ---- the store failing --------------------------------------------------------------------------------------

@pytest.fixture
def store(monkeypatch: pytest.MonkeyPatch, aws: Template) -> Iterator[Stubber]:
    """The idempotency store on a client of its own, stubbed: AWS's answers as the test gives them."""
    from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer

    from crm_core import wiring

    stubbed = boto3.client("dynamodb")
    layer = DynamoDBPersistenceLayer(table_name=aws.tables()["CustomersTable"]["TableName"], key_attr="PK",
                                     sort_key_attr="SK", static_pk_value="IDEMPOTENCY#api-request",
                                     boto3_client=stubbed)
    monkeypatch.setattr(wiring, "request_idempotency", functools.lru_cache(maxsize=1)(lambda: layer))
    with Stubber(stubbed) as stubber:
        yield stubber


@pytest.mark.parametrize(("code", "status", "error"), [
    ("ProvisionedThroughputExceededException", 503, "retry_later"),
    ("ThrottlingException", 503, "retry_later"),
    ("AccessDeniedException", 500, "internal"),
])
def test_a_failing_store_answers_json_never_a_lambda_error(api: Call, ada: dict[str, Any], store: Stubber,
                                                           code: str, status: int, error: str) -> None:
    # Given the store refusing to record the request
    store.add_client_error("put_item", service_error_code=code, http_status_code=400)
    # When a keyed write comes
    answer = api("POST", f"/customers/{ada['id']}/notes", body={"text": "Rang"}, headers={"Idempotency-Key": "k1"})
    # Then it is the error body, with Retry-After when throttled, and nothing was written
    assert (answer.status, answer.body["error"]["code"]) == (status, error)
    assert ("Retry-After" in answer.headers) == (status == 503)
    store.deactivate()
    assert api("GET", f"/customers/{ada['id']}/notes").body == []


def test_a_store_failing_after_the_write_gives_the_served_answer(api: Call, ada: dict[str, Any],
                                                                 store: Stubber) -> None:
    # Given the store taking the request, then failing to record its answer
    store.add_response("put_item", {})
    store.add_client_error("update_item", service_error_code="ThrottlingException", http_status_code=400)
    answer = api("POST", f"/customers/{ada['id']}/notes", body={"text": "Rang"}, headers={"Idempotency-Key": "k2"})
    # Then the write that landed is answered as it was served
    assert answer.status == 201 and answer.body["text"] == "Rang"
