"""Faults moto never produces, injected with botocore's Stubber: partial batches, throttling, cancellations."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber

from crm_core import wiring
from crm_core.dal.dynamo import Backoff, UnprocessedAfterRetries, batch_get, batch_write, key
from crm_core.errors import RetryLater
from crm_core.wiring import customer_service
from crm_local.events import api_event

TABLE = "customers"


@pytest.fixture
def ddb() -> Iterator[tuple[Any, Stubber]]:
    client = boto3.client("dynamodb", region_name="eu-west-2")
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


def _puts(n: int) -> list[dict[str, Any]]:
    return [{"PutRequest": {"Item": {"PK": {"S": f"P{i}"}, "SK": {"S": "S"}}}} for i in range(n)]


def test_batch_write_sends_at_most_25_and_retries_unprocessed_items_with_growing_backoff(
        ddb: tuple[Any, Stubber]) -> None:
    client, stubber = ddb
    requests = _puts(30)
    pauses: list[float] = []
    # Given DynamoDB leaves 3 items of the first call unprocessed, then takes them
    stubber.add_response("batch_write_item", {"UnprocessedItems": {TABLE: requests[22:25]}},
                         {"RequestItems": {TABLE: requests[:25]}})
    stubber.add_response("batch_write_item", {"UnprocessedItems": {}}, {"RequestItems": {TABLE: requests[22:25]}})
    stubber.add_response("batch_write_item", {}, {"RequestItems": {TABLE: requests[25:]}})
    # When 30 requests are written
    calls = batch_write(client, TABLE, requests, Backoff(sleep=pauses.append, base=1.0))
    # Then three calls went out, each within 25 items, and the retry waited first
    assert calls == 3
    assert len(pauses) == 1 and 0 <= pauses[0] <= 1.0


def test_batch_write_gives_up_after_the_cap_naming_what_never_went_in(ddb: tuple[Any, Stubber]) -> None:
    client, stubber = ddb
    requests = _puts(2)
    pauses: list[float] = []
    for _ in range(3):
        stubber.add_response("batch_write_item", {"UnprocessedItems": {TABLE: requests[1:]}}, {"RequestItems": ANY})
    with pytest.raises(UnprocessedAfterRetries) as caught:
        batch_write(client, TABLE, requests, Backoff(attempts=3, base=0.1, cap=10, sleep=pauses.append))
    assert caught.value.leftovers == requests[1:]
    assert len(pauses) == 3
    assert [round(min(10, 0.1 * 2**a), 2) for a in range(3)] == [0.1, 0.2, 0.4]  # the growing ceiling


def test_batch_get_retries_unprocessed_keys(ddb: tuple[Any, Stubber]) -> None:
    client, stubber = ddb
    keys = [key(f"P{i}", "S") for i in range(3)]
    stubber.add_response("batch_get_item", {"Responses": {TABLE: [keys[0]]}, "UnprocessedKeys": {TABLE: {
        "Keys": keys[1:]}}}, {"RequestItems": {TABLE: {"Keys": keys}}})
    stubber.add_response("batch_get_item", {"Responses": {TABLE: keys[1:]}}, {"RequestItems": {TABLE: {
        "Keys": keys[1:]}}})
    assert len(batch_get(client, TABLE, keys, backoff=Backoff(sleep=lambda _: None))) == 3


def test_throttling_that_outlasts_retries_is_retry_later(ddb: tuple[Any, Stubber]) -> None:
    client, stubber = ddb
    stubber.add_client_error("batch_write_item", "ProvisionedThroughputExceededException", http_status_code=400)
    with pytest.raises(RetryLater):
        batch_write(client, TABLE, _puts(1))


@pytest.fixture
def stubbed_service(monkeypatch: pytest.MonkeyPatch) -> Iterator[Stubber]:
    monkeypatch.setenv("TABLE_NAME", TABLE)
    client = boto3.client("dynamodb", region_name="eu-west-2")
    monkeypatch.setattr(wiring, "client", lambda service: client)
    customer_service.cache_clear()
    with Stubber(client) as stubber:
        yield stubber
    customer_service.cache_clear()


def test_throttled_api_request_is_503_with_retry_after(stubbed_service: Stubber, context: Any) -> None:
    # Given DynamoDB throttles every read past the client's retries
    stubbed_service.add_client_error("get_item", "ThrottlingException", http_status_code=400)
    import customers_api

    # When staff open a customer
    result = customers_api.handler(api_event("GET", "/customers/01M84C74A9P5N5ACTCTPRJECSQ",
                                             resource="/customers/{customer_id}",
                                             path_parameters={"customer_id": "01M84C74A9P5N5ACTCTPRJECSQ"}), context)
    # Then the API answers 503 with Retry-After, and no AWS error code leaks
    assert result["statusCode"] == 503
    assert result["multiValueHeaders"]["Retry-After"] == ["2"]
    assert "ThrottlingException" not in result["body"]
    assert '"code": "retry_later"' in result["body"]


def test_cancelled_transaction_under_contention_is_503(stubbed_service: Stubber, context: Any) -> None:
    # Given the create transaction is cancelled by a conflicting transaction (no condition failed)
    stubbed_service.add_response("get_item", {})  # email claim free
    stubbed_service.add_response("query", {"Items": []})  # no same name + postcode
    stubbed_service.add_response("update_item", {"Attributes": {"value": {"N": "100001"}}})
    stubbed_service.add_client_error(
        "transact_write_items", "TransactionCanceledException", http_status_code=400,
        response_meta=None, modeled_fields={"CancellationReasons": [{"Code": "TransactionConflict"}] + [
            {"Code": "None"}] * 8})
    import customers_api

    body = {"type": "individual", "first_name": "Ada", "last_name": "Lovelace", "email": "ada@example.org",
            "address": {"postcode": "N1 9GU"}}
    result = customers_api.handler(api_event("POST", "/customers", body=body), context)
    assert result["statusCode"] == 503, result["body"]
