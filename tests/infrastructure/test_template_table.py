"""The customers table that template.yaml defines has the keys and indexes the data layer queries."""

from __future__ import annotations

import ast
import re
from typing import Any

import boto3
import pytest
from pydantic import TypeAdapter

from crm_core import wiring
from crm_core.dal.dynamo import key
from crm_core.errors import DuplicateCustomer
from crm_core.models.customer import CustomerCreate, SearchParams
from crm_local.template import ROOT, Template

DAL = ROOT / "layers" / "shared" / "crm_core" / "dal"


def _index_queries() -> dict[str, set[str]]:
    """Index name → the key attributes the customer repository's queries on it name, read from its source
    (queries written as keyword arguments or as a request dict)."""
    found: dict[str, set[str]] = {}
    for node in ast.walk(ast.parse((DAL / "customers.py").read_text())):
        if isinstance(node, ast.Call):
            pairs = {k.arg: k.value for k in node.keywords if k.arg}
        elif isinstance(node, ast.Dict):
            pairs = {k.value: v for k, v in zip(node.keys, node.values, strict=True)
                     if isinstance(k, ast.Constant) and isinstance(k.value, str)}
        else:
            continue
        index, condition = pairs.get("IndexName"), pairs.get("KeyConditionExpression")
        if isinstance(index, ast.Constant) and isinstance(condition, ast.Constant):
            names = set(re.findall(r"\b([A-Za-z_][A-Za-z0-9_]*)\s*(?:=|>=|<=|>|<|BETWEEN)", condition.value))
            found.setdefault(index.value, set()).update(names)
    return found


def _table(aws: Template) -> dict[str, Any]:
    name = aws.tables()["CustomersTable"]["TableName"]
    table: dict[str, Any] = boto3.client("dynamodb").describe_table(TableName=name)["Table"]
    return table


def _keys(schema: list[dict[str, str]]) -> dict[str, str]:
    return {k["KeyType"]: k["AttributeName"] for k in schema}


def test_table_keys_are_the_data_layers(aws: Template) -> None:
    # Given the customers table created in moto from template.yaml
    table = _table(aws)
    # When its primary key is read
    # Then it is PK (hash) and SK (range), the keys every item of the data layer is written with
    assert _keys(table["KeySchema"]) == {"HASH": "PK", "RANGE": "SK"}
    assert set(key("CUST#1", "PROFILE")) == {"PK", "SK"}


def test_every_index_the_data_layer_queries_exists_with_its_keys(aws: Template) -> None:
    # Given the indexes the customer repository queries, and the key attributes it names for each
    queried = _index_queries()
    # When the table built from the template is described
    indexes = {i["IndexName"]: _keys(i["KeySchema"]) for i in _table(aws).get("GlobalSecondaryIndexes", [])}
    # Then each queried index exists, and the attributes the queries name are its keys
    assert set(queried) == {"GSI1", "GSI2", "GSI3"}
    assert indexes == {"GSI1": {"HASH": "GSI1PK", "RANGE": "GSI1SK"}, "GSI2": {"HASH": "GSI2PK", "RANGE": "GSI2SK"},
                       "GSI3": {"HASH": "GSI3PK", "RANGE": "GSI3SK"}}
    for name, attributes in queried.items():
        assert attributes <= set(indexes[name].values()), f"{name} is queried on {attributes}"


def test_registration_index_projects_what_listings_read(aws: Template) -> None:
    # Given the registration index (GSI1), which listings filter on without reading the profiles
    index = next(i for i in _table(aws)["GlobalSecondaryIndexes"] if i["IndexName"] == "GSI1")
    # When its projection is read
    projection = index["Projection"]
    # Then it carries type and status (or everything)
    assert projection["ProjectionType"] == "ALL" or {"type", "status"} <= set(projection["NonKeyAttributes"])


def test_the_data_layers_index_queries_work_on_the_template_table(aws: Template) -> None:
    # Given an individual assigned to a staff user, and an organization, created through the service into the
    # table built from the template
    service = wiring.customer_service()
    create = TypeAdapter(CustomerCreate).validate_python
    mary = service.create(create({"type": "individual", "first_name": "Mary", "last_name": "Somerville",
                                  "assigned_staff": ["local-clerk"], "address": {"postcode": "EH2 1JX"}}),
                          actor="jsmith")
    service.create(create({"type": "organization", "organization_name": "Northern Arts Trust"}), actor="jsmith")
    # When each index-backed access pattern runs
    recent_individuals = service.search(SearchParams(registered_within_days=1, type="individual"))
    assigned = service.search(SearchParams(assigned_to="local-clerk"))
    with pytest.raises(DuplicateCustomer) as duplicate:
        service.create(create({"type": "individual", "first_name": "Mary", "last_name": "Somerville",
                               "address": {"postcode": "eh21jx"}}), actor="jsmith")
    # Then registration by type (GSI3), assigned staff (GSI1) and name + postcode (GSI2) find her
    assert [c.id for c in recent_individuals.items] == [mary.id]
    assert [c.id for c in assigned.items] == [mary.id]
    assert [(d["id"], d["reason"]) for d in duplicate.value.details["duplicates"]] == [
        (mary.id, "same_name_and_postcode")]
