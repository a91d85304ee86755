"""The emulator's changes to moto (crm_local.emulator): transactions that copy only their items and still leave
nothing behind when they fail, queries that start from the partition or the index and answer exactly what
moto unchanged answers, and items kept as bytes that read back as written."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.dynamodb.models.dynamo_type import Item

from crm_local import emulator
from crm_local.emulator import EmulatorVersionError, ItemStore, check_version, moto_as_released

TABLE = "emulated"
KEY_SCHEMA = [{"AttributeName": "PK", "KeyType": "HASH"}, {"AttributeName": "SK", "KeyType": "RANGE"}]
ATTRIBUTES = [{"AttributeName": name, "AttributeType": "S"} for name in ("PK", "SK", "G1PK", "G1SK", "G2PK")]
INDEXES = [
    {"IndexName": "GSI1", "KeySchema": [{"AttributeName": "G1PK", "KeyType": "HASH"},
                                        {"AttributeName": "G1SK", "KeyType": "RANGE"}],
     "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["kind"]}},
    {"IndexName": "GSI2", "KeySchema": [{"AttributeName": "G2PK", "KeyType": "HASH"}],
     "Projection": {"ProjectionType": "KEYS_ONLY"}},
]


def make_table(ddb: Any) -> None:
    """The table with the seed items (written 25 a call)."""
    ddb.create_table(TableName=TABLE, KeySchema=KEY_SCHEMA, AttributeDefinitions=ATTRIBUTES,
                     GlobalSecondaryIndexes=INDEXES, BillingMode="PAY_PER_REQUEST")
    items = seed_items()
    for start in range(0, len(items), 25):
        ddb.batch_write_item(RequestItems={TABLE: [{"PutRequest": {"Item": i}} for i in items[start:start + 25]]})


def s(value: str) -> dict[str, str]:
    return {"S": value}


def seed_items() -> list[dict[str, Any]]:
    """Partitions of different sizes, sort keys that share prefixes, items in GSI1 (some without its sort
    key), in GSI2 (no sort key in the index), and every attribute type."""
    items: list[dict[str, Any]] = []
    for p in range(12):
        for n in range(p * 3 + 1):
            item: dict[str, Any] = {"PK": s(f"P#{p:02d}"), "SK": s(f"{'AB'[n % 2]}#{n:03d}"), "n": {"N": str(n)},
                                    "kind": s("odd" if n % 2 else "even"), "note": s("x" * (n % 5))}
            if n % 3 == 0:
                item["G1PK"] = s(f"G#{(p + n) % 4}")
                if n % 2 == 0:
                    item["G1SK"] = s(f"{n % 7}#{p:02d}")
            if n % 4 == 1:
                item["G2PK"] = s(f"dup#{n % 3}")
            items.append(item)
    items.append({"PK": s("TYPES"), "SK": s("all"), "s": s("ë ünïcode"), "n": {"N": "-12.50"}, "b": {"B": b"\x00\xff"},
                  "ss": {"SS": ["a", "b"]}, "ns": {"NS": ["1", "2.5"]}, "bs": {"BS": [b"x", b"y"]},
                  "m": {"M": {"inner": {"L": [s("v"), {"N": "3"}, {"BOOL": True}, {"NULL": True}]}}},
                  "l": {"L": [{"M": {"k": {"SS": ["z"]}}}]}, "t": {"BOOL": False}})
    return items


def query_battery(ddb: Any) -> list[Any]:
    """Many queries, every page of each; what each answers."""
    values = {":p": s("P#07"), ":a": s("A#"), ":lo": s("A#004"), ":hi": s("B#013"), ":g": s("G#2"), ":d": s("dup#1"),
              ":k": s("odd"), ":one": s("1")}
    queries: list[dict[str, Any]] = [
        {"KeyConditionExpression": "PK = :p"},
        {"KeyConditionExpression": "PK = :p", "ScanIndexForward": False, "Limit": 4},
        {"KeyConditionExpression": "PK = :p AND begins_with(SK, :a)", "Limit": 3},
        {"KeyConditionExpression": "PK = :p AND SK BETWEEN :lo AND :hi", "Limit": 5},
        {"KeyConditionExpression": "PK = :p AND SK < :hi", "ScanIndexForward": False},
        {"KeyConditionExpression": "PK = :p AND SK >= :lo", "FilterExpression": "kind = :k", "Limit": 4},
        {"KeyConditionExpression": "PK = :p", "ProjectionExpression": "SK, n", "Limit": 6},
        {"KeyConditionExpression": "PK = :p", "Select": "COUNT"},
        {"KeyConditionExpression": "PK = :one"},
        {"KeyConditionExpression": "PK = :p AND begins_with(SK, :one)"},
        {"IndexName": "GSI1", "KeyConditionExpression": "G1PK = :g"},
        {"IndexName": "GSI1", "KeyConditionExpression": "G1PK = :g", "Limit": 2, "ScanIndexForward": False},
        {"IndexName": "GSI1", "KeyConditionExpression": "G1PK = :g AND begins_with(G1SK, :one)"},
        {"IndexName": "GSI1", "KeyConditionExpression": "G1PK = :g", "FilterExpression": "kind = :k"},
        {"IndexName": "GSI1", "KeyConditionExpression": "G1PK = :one"},
        {"IndexName": "GSI2", "KeyConditionExpression": "G2PK = :d", "Limit": 3},
        {"IndexName": "GSI2", "KeyConditionExpression": "G2PK = :d", "Select": "COUNT"},
    ]
    answers = []
    for query in queries:
        names = query["KeyConditionExpression"] + query.get("FilterExpression", "")
        used = {k: v for k, v in values.items() if k in names}
        pages, start = [], None
        while True:
            request = {"TableName": TABLE, "ExpressionAttributeValues": used, **query}
            if start:
                request["ExclusiveStartKey"] = start
            page = ddb.query(**request)
            pages.append({k: page.get(k) for k in ("Items", "Count", "ScannedCount", "LastEvaluatedKey")})
            start = page.get("LastEvaluatedKey")
            if not start:
                break
        answers.append(pages)
    return answers


def scan_battery(ddb: Any) -> list[Any]:
    """Scans, every page: small pages, a filter, a projection, segments."""
    scans: list[dict[str, Any]] = [{"Limit": 7}, {"Limit": 25, "FilterExpression": "kind = :k",
                                                  "ExpressionAttributeValues": {":k": s("odd")}},
                                   {"Limit": 10, "ProjectionExpression": "PK, SK"},
                                   {"Segment": 1, "TotalSegments": 3, "Limit": 9}, {}]
    answers = []
    for scan in scans:
        pages, start = [], None
        while True:
            request = {"TableName": TABLE, **scan, **({"ExclusiveStartKey": start} if start else {})}
            page = ddb.scan(**request)
            pages.append({k: page.get(k) for k in ("Items", "Count", "ScannedCount", "LastEvaluatedKey")})
            start = page.get("LastEvaluatedKey")
            if not start:
                break
        answers.append(pages)
    return answers


def change_items(ddb: Any) -> None:
    """Writes that move items in and out of the indexes: an update that changes a GSI hash key, one that
    removes it, a delete, an overwrite, a transaction."""
    key = {"PK": s("P#07"), "SK": s("A#000")}
    ddb.update_item(TableName=TABLE, Key=key, UpdateExpression="SET G1PK = :g, G1SK = :k",
                    ExpressionAttributeValues={":g": s("G#2"), ":k": s("9#new")})
    ddb.update_item(TableName=TABLE, Key={"PK": s("P#07"), "SK": s("A#006")}, UpdateExpression="REMOVE G1PK")
    ddb.delete_item(TableName=TABLE, Key={"PK": s("P#07"), "SK": s("B#003")})
    ddb.put_item(TableName=TABLE, Item={"PK": s("P#07"), "SK": s("B#009"), "G2PK": s("dup#1"), "kind": s("odd")})
    ddb.transact_write_items(TransactItems=[
        {"Put": {"TableName": TABLE, "Item": {"PK": s("P#07"), "SK": s("A#100"), "G1PK": s("G#2"),
                                              "G1SK": s("0#first"), "kind": s("even")}}},
        {"Delete": {"TableName": TABLE, "Key": {"PK": s("P#07"), "SK": s("B#001")}}},
    ])
    ddb.update_item(TableName=TABLE, Key={"PK": s("P#07"), "SK": s("A#200")}, UpdateExpression="SET n = :n",
                    ExpressionAttributeValues={":n": {"N": "1"}})  # an update that creates the item


def everything(ddb: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    for page in ddb.get_paginator("scan").paginate(TableName=TABLE):
        items += page["Items"]
    return sorted(items, key=lambda i: (i["PK"]["S"], i["SK"]["S"]))


@pytest.fixture
def ddb(_environment: None) -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("dynamodb", region_name="eu-west-2")
        make_table(client)
        yield client


def run_unchanged(steps: Callable[[Any], Any]) -> Any:
    """The same table and items in moto as released (its own storage, queries and transactions), in another
    region of the same mocked account."""
    with moto_as_released():
        client = boto3.client("dynamodb", region_name="eu-west-1")
        make_table(client)
        return steps(client)


def test_the_table_keeps_its_items_as_bytes_and_moto_keeps_no_item_objects(ddb: Any) -> None:
    from moto.dynamodb.models import dynamodb_backends

    table = dynamodb_backends["123456789012"]["eu-west-2"].get_table(TABLE)
    assert isinstance(table.items, ItemStore)
    assert Item.instances_tracked == []  # moto otherwise keeps every Item it ever made


def test_items_read_back_exactly_as_moto_unchanged_gives_them(ddb: Any) -> None:
    # Given the same items in the emulator and in moto unchanged, when every item is read back
    def read(client: Any) -> Any:
        key = {"PK": s("TYPES"), "SK": s("all")}
        return client.get_item(TableName=TABLE, Key=key)["Item"], everything(client)

    # Then both give the same, every attribute type included
    assert read(ddb) == run_unchanged(read)


def test_queries_and_scans_answer_exactly_what_moto_unchanged_answers(ddb: Any) -> None:
    # Given the same items in both, when the same queries run (every page), before and after changes
    def steps(client: Any) -> Any:
        before = query_battery(client), scan_battery(client)
        change_items(client)
        return before, (query_battery(client), scan_battery(client)), everything(client)

    # Then each page of each answer is the same
    ours, theirs = steps(ddb), run_unchanged(steps)
    assert ours[0] == theirs[0]
    assert ours[1] == theirs[1]
    assert ours[2] == theirs[2]


def _fails(ddb: Any, actions: list[dict[str, Any]]) -> str:
    with pytest.raises(ClientError) as caught:
        ddb.transact_write_items(TransactItems=actions)
    return str(caught.value.response["Error"]["Code"])


def _put(sk: str, **extra: Any) -> dict[str, Any]:
    return {"Put": {"TableName": TABLE, "Item": {"PK": s("P#05"), "SK": s(sk), **extra}}}


def test_a_transaction_whose_condition_fails_in_the_middle_leaves_nothing_behind(ddb: Any) -> None:
    before, answers = everything(ddb), query_battery(ddb)
    # Given a transaction that puts, updates (moving an item into GSI1), deletes, then fails a condition
    # check half-way, with more writes after it
    actions = [
        _put("A#900", G1PK=s("G#2"), G1SK=s("1#tx")),
        {"Update": {"TableName": TABLE, "Key": {"PK": s("P#05"), "SK": s("A#002")},
                    "UpdateExpression": "SET G1PK = :g, G1SK = :k, n = n + :one",
                    "ExpressionAttributeValues": {":g": s("G#2"), ":k": s("1#moved"), ":one": {"N": "1"}}}},
        {"Delete": {"TableName": TABLE, "Key": {"PK": s("P#05"), "SK": s("B#001")}}},
        {"ConditionCheck": {"TableName": TABLE, "Key": {"PK": s("P#05"), "SK": s("A#000")},
                            "ConditionExpression": "attribute_not_exists(PK)"}},
        _put("B#901", G2PK=s("dup#1")),
        {"Update": {"TableName": TABLE, "Key": {"PK": s("P#06"), "SK": s("A#000")},
                    "UpdateExpression": "REMOVE G1PK"}},
    ]
    # When it runs, it is cancelled
    assert _fails(ddb, actions) == "TransactionCanceledException"
    # Then every item and every index answer is as before
    assert everything(ddb) == before
    assert query_battery(ddb) == answers


@pytest.mark.parametrize("failing", ["put", "update", "delete"])
def test_a_transaction_whose_own_write_condition_fails_leaves_nothing_behind(ddb: Any, failing: str) -> None:
    before = everything(ddb)
    condition = {"ConditionExpression": "attribute_not_exists(PK)"}
    last = {
        "put": {"Put": {**_put("A#000")["Put"], **condition}},
        "update": {"Update": {"TableName": TABLE, "Key": {"PK": s("P#05"), "SK": s("A#000")},
                              "UpdateExpression": "SET n = :n", "ExpressionAttributeValues": {":n": {"N": "7"}},
                              **condition}},
        "delete": {"Delete": {"TableName": TABLE, "Key": {"PK": s("P#05"), "SK": s("A#000")},
                              "ConditionExpression": "n = :n", "ExpressionAttributeValues": {":n": {"N": "99"}}}},
    }[failing]
    # Given writes to three items, then a write whose own condition fails
    actions = [_put("A#950"), {"Delete": {"TableName": TABLE, "Key": {"PK": s("P#05"), "SK": s("B#003")}}},
               {"Update": {"TableName": TABLE, "Key": {"PK": s("P#04"), "SK": s("A#000")},
                           "UpdateExpression": "SET kind = :k", "ExpressionAttributeValues": {":k": s("changed")}}},
               last]
    assert _fails(ddb, actions) == "TransactionCanceledException"
    assert everything(ddb) == before


def test_a_transaction_moto_refuses_part_way_leaves_nothing_behind(ddb: Any) -> None:
    before = everything(ddb)
    # Given a put, then an update whose expression moto refuses as it applies it (adding to a string)
    actions = [_put("A#960", G1PK=s("G#1"), G1SK=s("2#x")),
               {"Update": {"TableName": TABLE, "Key": {"PK": s("P#05"), "SK": s("A#000")},
                           "UpdateExpression": "SET kind = kind + :one",
                           "ExpressionAttributeValues": {":one": {"N": "1"}}}}]
    with pytest.raises(ClientError):
        ddb.transact_write_items(TransactItems=actions)
    assert everything(ddb) == before


def test_a_transaction_that_succeeds_writes_every_item(ddb: Any) -> None:
    ddb.transact_write_items(TransactItems=[_put("A#970"), {"Delete": {"TableName": TABLE, "Key": {
        "PK": s("P#05"), "SK": s("A#000")}}}])
    keys = {(i["PK"]["S"], i["SK"]["S"]) for i in everything(ddb)}
    assert ("P#05", "A#970") in keys and ("P#05", "A#000") not in keys


def test_concurrent_transactions_on_one_item_never_both_win(ddb: Any) -> None:
    # Given many threads, each claiming the same new item with a condition
    outcomes: list[str] = []

    def claim(n: int) -> None:
        try:
            ddb.transact_write_items(TransactItems=[
                {"Put": {"TableName": TABLE, "Item": {"PK": s("CLAIM"), "SK": s("one"), "by": s(str(n))},
                         "ConditionExpression": "attribute_not_exists(PK)"}},
                _put(f"A#{800 + n}")])
            outcomes.append("won")
        except ClientError:
            outcomes.append("lost")

    threads = [threading.Thread(target=claim, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # Then exactly one won, and only the winner's second item exists
    assert outcomes.count("won") == 1
    winner = ddb.get_item(TableName=TABLE, Key={"PK": s("CLAIM"), "SK": s("one")})["Item"]["by"]["S"]
    written = {i["SK"]["S"] for i in everything(ddb) if i["PK"]["S"] == "P#05" and i["SK"]["S"].startswith("A#8")}
    assert written == {f"A#{800 + int(winner)}"}


def test_another_moto_version_is_refused_with_what_to_do() -> None:
    check_version(emulator.MOTO_VERSION)
    with pytest.raises(EmulatorVersionError, match=r"moto 9\.9\.9.*pinned"):
        check_version("9.9.9")


def test_a_listener_hears_every_write_and_rollback(ddb: Any) -> None:
    heard: list[tuple[str, Any, Any, bool]] = []
    emulator.set_listener(lambda table, pk, sk, blob: heard.append((table, pk, sk, blob is None)))
    try:
        ddb.put_item(TableName=TABLE, Item={"PK": s("L"), "SK": s("1")})
        ddb.update_item(TableName=TABLE, Key={"PK": s("L"), "SK": s("1")}, UpdateExpression="SET v = :v",
                        ExpressionAttributeValues={":v": s("x")})
        _fails(ddb, [_put("L#2"), {"ConditionCheck": {"TableName": TABLE, "Key": {"PK": s("L"), "SK": s("1")},
                                                      "ConditionExpression": "attribute_not_exists(PK)"}}])
        ddb.delete_item(TableName=TABLE, Key={"PK": s("L"), "SK": s("1")})
    finally:
        emulator.set_listener(None)
    assert heard == [(TABLE, "L", "1", False), (TABLE, "L", "1", False),
                     (TABLE, "P#05", "L#2", False), (TABLE, "P#05", "L#2", True),  # written, then rolled back
                     (TABLE, "L", "1", True)]


def test_an_item_over_the_size_limit_is_refused_as_moto_unchanged_refuses_it(ddb: Any) -> None:
    def sizes(client: Any) -> list[str]:
        outcomes = []
        for size in (404_000, 406_000):
            item = {"PK": s("BIG"), "SK": s(str(size)), "a": s("x" * (size // 2)), "b": s("y" * (size // 2))}
            try:
                client.put_item(TableName=TABLE, Item=item)
                outcomes.append("stored")
            except ClientError as error:
                outcomes.append(str(error.response["Error"]["Message"]))
        return outcomes

    ours = sizes(ddb)
    assert ours[0] == "stored" and "size" in ours[1]
    assert ours == run_unchanged(sizes)
