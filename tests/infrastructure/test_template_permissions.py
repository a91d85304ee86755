"""Least privilege: each function may do what its code does to the customers table, and no more."""

from __future__ import annotations

import ast
import json
from typing import Any

import pytest

from crm_local.template import ROOT
from infrastructure.conftest import FUNCTION_IDS, probe_handler

DAL = ROOT / "layers" / "shared" / "crm_core" / "dal"
BROAD_POLICIES = {"DynamoDBCrudPolicy", "AmazonDynamoDBFullAccess", "AdministratorAccess", "PowerUserAccess"}
# Actions that AWS only grants on Resource "*"; none of the functions needs one today.
STAR_RESOURCE_ACTIONS: set[str] = set()
TRANSACTION_ACTIONS = {"Put": "dynamodb:PutItem", "Delete": "dynamodb:DeleteItem", "Update": "dynamodb:UpdateItem",
                       "ConditionCheck": "dynamodb:ConditionCheckItem"}
READ_ACTIONS = {"dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query"}
ITEM_ACTIONS = {*READ_ACTIONS, *TRANSACTION_ACTIONS.values()}


def _listed(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _policies(document: dict[str, Any], logical_id: str) -> list[Any]:
    return _listed(document["Resources"][logical_id]["Properties"].get("Policies"))


def _stack_policy(document: dict[str, Any], policy: Any) -> dict[str, Any] | None:
    """The stack's own managed policy a ``!Ref`` names, if it is one."""
    if isinstance(policy, dict) and set(policy) == {"Ref"}:
        resource = document["Resources"].get(policy["Ref"], {})
        if resource.get("Type") == "AWS::IAM::ManagedPolicy":
            return dict(resource["Properties"]["PolicyDocument"])
    return None


def _statements(document: dict[str, Any], logical_id: str) -> list[dict[str, Any]]:
    """The function's inline statements and those of the stack's managed policies it names."""
    found = []
    for policy in _policies(document, logical_id):
        own = _stack_policy(document, policy)
        if own is not None:
            found += _listed(own["Statement"])
        elif isinstance(policy, dict) and "Statement" in policy:
            found += _listed(policy["Statement"])
    return found


def _policy_names(document: dict[str, Any], logical_id: str) -> list[str]:
    """Managed policies from outside the stack (by name or ARN) and SAM policy templates (by template name)."""
    names = []
    for policy in _policies(document, logical_id):
        if isinstance(policy, str):
            names.append(policy.rsplit("/", 1)[-1])
        elif isinstance(policy, dict) and "Statement" not in policy and _stack_policy(document, policy) is None:
            names += list(policy)
    return names


def _allowed_actions(document: dict[str, Any], logical_id: str) -> set[str]:
    return {a for s in _statements(document, logical_id) if s.get("Effect") == "Allow"
            for a in _listed(s.get("Action"))}


def _key_limited_actions(document: dict[str, Any], logical_id: str) -> set[str]:
    """Actions allowed only on items whose partition key matches (``dynamodb:LeadingKeys``)."""
    return {a for s in _statements(document, logical_id) if s.get("Effect") == "Allow"
            and any("dynamodb:LeadingKeys" in c for c in (s.get("Condition") or {}).values())
            for a in _listed(s.get("Action"))}


def _resource_text(resource: Any) -> str:
    if isinstance(resource, str):
        return resource
    if isinstance(resource, dict) and "Fn::Sub" in resource:
        sub = resource["Fn::Sub"]
        return sub if isinstance(sub, str) else sub[0]
    return ""  # Ref / GetAtt of a resource of the template: one resource


def _is_scoped(resource: Any) -> bool:
    """One resource of the stack: no wildcard, except an index ARN's ``/index/*`` and the objects under a
    prefix of one of the stack's buckets (``${Bucket.Arn}/prefix/*``)."""
    text = _resource_text(resource).removesuffix("/index/*")
    if text.startswith("${") and text.endswith("/*"):
        text = text.removesuffix("/*")
    return "*" not in text


def _client_operations(node: ast.AST) -> set[str]:
    """Operations named on the DynamoDB client (``ddb.query`` or ``self._ddb.query``), whether called
    directly or handed to a wrapper such as ``call(self._ddb.query, ...)``."""
    found = set()
    for attribute in ast.walk(node):
        if not isinstance(attribute, ast.Attribute) or attribute.attr == "meta":
            continue
        owner = attribute.value
        if (isinstance(owner, ast.Name) and owner.id == "ddb") or \
                (isinstance(owner, ast.Attribute) and owner.attr == "_ddb"):
            found.add(attribute.attr)
    return found


def _dynamodb_calls() -> tuple[set[str], bool]:
    """The DynamoDB actions the customer repository needs, read from its source, and whether it queries
    a secondary index."""
    helpers: dict[str, set[str]] = {}
    for node in ast.parse((DAL / "dynamo.py").read_text()).body:
        if isinstance(node, ast.FunctionDef):
            helpers[node.name] = _client_operations(node)
    tree = ast.parse((DAL / "customers.py").read_text())
    operations: set[str] = _client_operations(tree)
    uses_index = False
    transaction_kinds: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Name) and func.id in helpers:
                operations |= helpers[func.id]
            uses_index |= any(k.arg == "IndexName" for k in node.keywords)
        if isinstance(node, ast.Dict):
            transaction_kinds |= {k.value for k in node.keys
                                  if isinstance(k, ast.Constant) and k.value in TRANSACTION_ACTIONS}
    actions = {"dynamodb:" + "".join(p.capitalize() for p in op.split("_")) for op in operations}
    if "dynamodb:TransactWriteItems" in actions:  # IAM authorises each item of a transaction by its own action
        actions.remove("dynamodb:TransactWriteItems")
        actions |= {TRANSACTION_ACTIONS[k] for k in transaction_kinds}
    return actions, uses_index


@pytest.mark.parametrize("logical_id", FUNCTION_IDS)
def test_no_broad_managed_policies_or_templates(document: dict[str, Any], logical_id: str) -> None:
    # Given a function's Policies
    names = _policy_names(document, logical_id)
    # When the managed policies and SAM policy templates are listed
    # Then none of them grants a whole service (or everything)
    assert sorted(set(names) & BROAD_POLICIES) == []


@pytest.mark.parametrize("logical_id", FUNCTION_IDS)
def test_statements_name_actions_and_resources(document: dict[str, Any], logical_id: str) -> None:
    # Given each inline IAM statement of a function
    problems = []
    for statement in _statements(document, logical_id):
        sid = statement.get("Sid", "(no Sid)")
        # When its actions and resources are read
        actions = _listed(statement.get("Action"))
        resources = _listed(statement.get("Resource"))
        # Then actions are named one by one, not by wildcard or exclusion
        problems += [f"{sid}: wildcard action {a}" for a in actions if "*" in a]
        problems += [f"{sid}: uses {k}" for k in ("NotAction", "NotResource") if k in statement]
        # And every resource is a specific resource of the stack (an index ARN may end in /index/*)
        if not set(actions) <= STAR_RESOURCE_ACTIONS:
            problems += [f"{sid}: unscoped resource {r}" for r in resources if not _is_scoped(r)]
        if not resources:
            problems.append(f"{sid}: no Resource")
    assert problems == []


def test_public_api_reaches_only_the_table_the_mail_queue_and_its_keys(document: dict[str, Any]) -> None:
    # Given the function behind the public web-form routes (sign-in, password reset, unsubscribe)
    # When its policies are read
    resources = [r for statement in _statements(document, "PublicApiFunction")
                 for r in _listed(statement.get("Resource"))]
    names = _policy_names(document, "PublicApiFunction")
    # Then they name the customers table (not its indexes), the mail queue and the unsubscribe signing key,
    # nothing else, and no managed policy from outside the stack
    assert sorted({json.dumps(r, sort_keys=True) for r in resources}) == sorted(json.dumps(r, sort_keys=True) for r in [
        {"Fn::GetAtt": ["CustomersTable", "Arn"]}, {"Fn::GetAtt": ["MailQueue", "Arn"]},
        {"Ref": "UnsubscribeSigningSecret"}])
    assert names == []


@pytest.mark.parametrize("logical_id", FUNCTION_IDS)
def test_functions_can_make_the_table_calls_their_code_makes(document: dict[str, Any],
                                                                     logical_id: str) -> None:
    # Given the DynamoDB calls of the customer repository, read from its source
    needed, uses_index = _dynamodb_calls()
    # When a function's DynamoDB permissions are compared with whether its handler loads the repository
    allowed = {a for a in _allowed_actions(document, logical_id) if a.startswith("dynamodb:")}
    key_limited = _key_limited_actions(document, logical_id)
    if probe_handler(logical_id)["loads_customer_repository"] and allowed - key_limited <= READ_ACTIONS:
        # Then a function that only reads customers (any write limited to its own items by their partition
        # key, as the export function updates only EXPORT# jobs) may make each of the repository's reads
        assert sorted((needed & READ_ACTIONS) - allowed) == []
        assert sorted(key_limited - ITEM_ACTIONS - {"dynamodb:BatchWriteItem"}) == []  # item writes, batched or not
    elif probe_handler(logical_id)["loads_customer_repository"]:
        # Then a function that uses the repository may make each of its calls (else AccessDenied in AWS) ...
        assert sorted(needed - allowed) == []
        # ... and nothing beyond item reads and writes that it never makes (no Scan, no PartiQL, no batch
        # writes, no table management, no streams or exports)
        assert sorted((allowed - needed) - ITEM_ACTIONS) == []
        if uses_index:
            resources = [_resource_text(r) for s in _statements(document, logical_id)
                         for r in _listed(s.get("Resource"))]
            assert any(r.endswith("/index/*") for r in resources), "queries an index without index permission"
    else:
        # Then a function that does not use the repository has no DynamoDB permission
        assert sorted(allowed) == []
