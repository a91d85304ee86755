"""Reading a translated (plain CloudFormation) template: references, roles' statements, alarms."""

from __future__ import annotations

import json
from typing import Any

Document = dict[str, Any]


def listed(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def of_type(document: Document, kind: str) -> dict[str, dict[str, Any]]:
    return {name: r for name, r in document["Resources"].items() if r["Type"] == kind}


def refs(value: Any) -> set[str]:
    """Logical ids a value points at (Ref, GetAtt, and ${...} in Sub), pseudo parameters left out."""
    found: set[str] = set()
    if isinstance(value, dict):
        for key, inner in value.items():
            if key == "Ref" and isinstance(inner, str):
                found.add(inner)
            elif key == "Fn::GetAtt":
                found.add(inner[0] if isinstance(inner, list) else str(inner).split(".")[0])
            elif key == "Fn::Sub":
                text = inner if isinstance(inner, str) else inner[0]
                found |= {part.split("}")[0].split(".")[0] for part in text.split("${")[1:]}
                if not isinstance(inner, str):
                    found |= refs(inner[1])
            else:
                found |= refs(inner)
    elif isinstance(value, list):
        for inner in value:
            found |= refs(inner)
    return {r for r in found if not r.startswith("AWS::")}


def points_at(value: Any, logical_id: str) -> bool:
    return logical_id in refs(value)


def function_role(document: Document, function: str) -> dict[str, Any]:
    role = document["Resources"][function]["Properties"]["Role"]
    return dict(document["Resources"][role["Fn::GetAtt"][0]]["Properties"])


def role_statements(document: Document, function: str) -> list[dict[str, Any]]:
    """Every statement the function's role holds: its inline policies and the stack's managed policies it names."""
    role = function_role(document, function)
    statements: list[dict[str, Any]] = []
    for policy in role.get("Policies", []):
        statements += listed(policy["PolicyDocument"]["Statement"])
    for arn in role.get("ManagedPolicyArns", []):
        if isinstance(arn, dict) and "Ref" in arn:
            statements += listed(document["Resources"][arn["Ref"]]["Properties"]["PolicyDocument"]["Statement"])
    return statements


def key_limits(statement: dict[str, Any]) -> list[str] | None:
    """The partition keys a statement is limited to (dynamodb:LeadingKeys), or None when it is not."""
    for condition in (statement.get("Condition") or {}).values():
        if "dynamodb:LeadingKeys" in condition:
            return listed(condition["dynamodb:LeadingKeys"])
    return None


def same(a: Any, b: Any) -> bool:
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)
