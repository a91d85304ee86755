"""The template's IAM policies, enforced on the AWS calls functions make on the local stack.

moto checks no permission: a function whose code makes a call its role does not allow works locally and is
refused in AWS. While a function runs (``acting_as``), an installed ``Guard`` checks each of its calls to
DynamoDB, SQS, S3, Secrets Manager and SSM against the statements of its role as template.yaml writes them
(inline, and the stack's managed policies it names): the action, the resource (table or index, queue, bucket
or object key, secret, parameter) and ``dynamodb:LeadingKeys``. A call they do not allow fails as AWS fails
it: ``AccessDeniedException``. Calls made outside a function (the tests' own, the local poller's) and calls
to other services pass.
"""

from __future__ import annotations

import contextlib
import fnmatch
import re
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from botocore.client import BaseClient
from botocore.exceptions import ClientError

from crm_local.template import Template

_acting: ContextVar[str | None] = ContextVar("acting_as", default=None)
GUARDED = {"dynamodb", "sqs", "s3", "secretsmanager", "ssm"}
TRANSACTION_ACTIONS = {"Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem",
                       "ConditionCheck": "ConditionCheckItem"}
S3_ACTIONS = {"PutObject": "PutObject", "CreateMultipartUpload": "PutObject", "UploadPart": "PutObject",
              "CompleteMultipartUpload": "PutObject", "AbortMultipartUpload": "AbortMultipartUpload",
              "GetObject": "GetObject", "HeadObject": "GetObject", "ListObjectsV2": "ListBucket",
              "ListObjects": "ListBucket", "DeleteObject": "DeleteObject"}


@dataclass(frozen=True)
class Request:
    """One action a call needs: ``dynamodb:PutItem`` on a resource, with the partition keys it touches."""

    action: str
    resource: tuple[str, str]  # (logical id of the stack's resource, the rest of the ARN after it)
    leading_keys: tuple[str, ...] = ()


@contextlib.contextmanager
def acting_as(logical_id: str) -> Iterator[None]:
    """Calls made in this block are the function's (the guard checks them against its role)."""
    token = _acting.set(logical_id)
    try:
        yield
    finally:
        _acting.reset(token)


class Guard:
    def __init__(self, template: Template) -> None:
        self.template = template
        self._statements = {name: self._function_statements(name) for name in template.functions()}
        self._tables = {args["TableName"]: (logical_id, args) for logical_id, args in template.tables().items()}
        self._queues = {args["QueueName"]: logical_id for logical_id, args in template.queues().items()}
        self._buckets = {name: logical_id for logical_id, name in template.buckets().items()}
        self._secrets = {str(template.resolve({"Ref": s})): s
                         for s in template.of_type("AWS::SecretsManager::Secret")}
        self._parameters = {str(template.resolve(r["Properties"]["Name"])): name
                            for name, r in template.of_type("AWS::SSM::Parameter").items()}

    # ---- installing ----------------------------------------------------------------------------------

    @contextlib.contextmanager
    def installed(self) -> Iterator[Guard]:
        original: Callable[..., Any] = BaseClient._make_api_call  # type: ignore[attr-defined]
        guard = self

        def checked(client: Any, operation: str, params: dict[str, Any]) -> Any:
            function = _acting.get()
            service = client.meta.service_model.service_name
            if function is not None and service in GUARDED:
                guard.check(function, service, operation, params)
            return original(client, operation, params)

        BaseClient._make_api_call = checked  # type: ignore[attr-defined]
        try:
            yield self
        finally:
            BaseClient._make_api_call = original  # type: ignore[attr-defined]

    # ---- checking ------------------------------------------------------------------------------------

    def check(self, function: str, service: str, operation: str, params: dict[str, Any]) -> None:
        for request in self.requests(service, operation, params):
            if not self.allows(function, request):
                raise ClientError({"Error": {"Code": "AccessDeniedException", "Message": (
                    f"{function} is not authorized to perform {request.action} on {request.resource[0]}"
                    f"{request.resource[1]} (partition keys {list(request.leading_keys)})")}}, operation)

    def allows(self, function: str, request: Request) -> bool:
        for statement in self._statements[function]:
            if statement.get("Effect") != "Allow" or not any(
                    fnmatch.fnmatchcase(request.action, a) for a in _listed(statement.get("Action"))):
                continue
            if not any(self._matches(r, request.resource) for r in _listed(statement.get("Resource"))):
                continue
            patterns = _leading_key_patterns(statement)
            if patterns is not None and not all(any(fnmatch.fnmatchcase(k, p) for p in patterns)
                                                for k in request.leading_keys):
                continue
            return True
        return False

    def requests(self, service: str, operation: str, params: dict[str, Any]) -> list[Request]:
        if service == "dynamodb":
            return self._dynamodb(operation, params)
        if service == "sqs":
            if operation in ("SendMessage", "SendMessageBatch"):
                return [Request("sqs:SendMessage", (self._queues[params["QueueUrl"].rsplit("/", 1)[-1]], ""))]
        elif service == "s3" and operation in S3_ACTIONS:
            bucket = self._buckets[params["Bucket"]]
            action = S3_ACTIONS[operation]
            if action == "GetObject" and params.get("VersionId"):
                action = "GetObjectVersion"
            rest = "" if action == "ListBucket" else "/" + params["Key"]
            return [Request(f"s3:{action}", (bucket, rest))]
        elif service == "secretsmanager" and operation == "GetSecretValue":
            return [Request("secretsmanager:GetSecretValue", (self._secrets[params["SecretId"]], ""))]
        elif service == "ssm" and operation in ("GetParameter", "GetParameters"):
            names = params.get("Names") or [params["Name"]]
            return [Request(f"ssm:{operation}", ("parameter", name)) for name in names]
        raise ClientError({"Error": {"Code": "AccessDeniedException", "Message": (
            f"the local IAM guard does not know {service}:{operation}; add it to crm_local/iam.py")}}, operation)

    def _dynamodb(self, operation: str, params: dict[str, Any]) -> list[Request]:
        if operation == "TransactWriteItems":
            found = []
            for item in params["TransactItems"]:
                (kind, action), = item.items()
                found += self._item_requests(TRANSACTION_ACTIONS[kind], action["TableName"],
                                             [action.get("Item") or action["Key"]])
            return found
        if operation == "BatchWriteItem":
            return [r for table, writes in params["RequestItems"].items() for r in self._item_requests(
                "BatchWriteItem", table, [(w.get("PutRequest") or {}).get("Item") or w["DeleteRequest"]["Key"]
                                          for w in writes])]
        if operation == "BatchGetItem":
            return [r for table, asked in params["RequestItems"].items()
                    for r in self._item_requests("BatchGetItem", table, asked["Keys"])]
        if operation in ("GetItem", "PutItem", "UpdateItem", "DeleteItem"):
            return self._item_requests(operation, params["TableName"], [params.get("Item") or params["Key"]])
        if operation in ("Query", "Scan"):
            logical_id, args = self._tables[params["TableName"]]
            index = params.get("IndexName")
            rest = f"/index/{index}" if index else ""
            keys = () if operation == "Scan" else (_queried_partition(params, _partition_key(args, index)),)
            return [Request(f"dynamodb:{operation}", (logical_id, rest), keys)]
        raise ClientError({"Error": {"Code": "AccessDeniedException", "Message": (
            f"the local IAM guard does not know dynamodb:{operation}; add it to crm_local/iam.py")}}, operation)

    def _item_requests(self, action: str, table: str, items: list[dict[str, Any]]) -> list[Request]:
        logical_id, args = self._tables[table]
        attribute = _partition_key(args, None)
        return [Request(f"dynamodb:{action}", (logical_id, ""),
                        tuple(str(next(iter(i[attribute].values()))) for i in items))]

    def _matches(self, resource: Any, wanted: tuple[str, str]) -> bool:
        """Whether a statement's resource (as template.yaml writes it) covers the resource a call needs."""
        logical_id, rest = wanted
        if logical_id == "parameter":  # an SSM parameter, named in the statement's ARN
            text = _text(resource)
            return bool(text) and str(self.template.resolve({"Fn::Sub": text})).endswith(f"parameter{rest}")
        if isinstance(resource, dict) and ("Ref" in resource or "Fn::GetAtt" in resource):
            target = resource.get("Ref") or resource["Fn::GetAtt"][0]
            return bool(target == logical_id and rest == "")
        text = _text(resource)
        prefix = f"${{{logical_id}.Arn}}"
        return text.startswith(prefix) and fnmatch.fnmatchcase(rest, text[len(prefix):] or "")

    def _function_statements(self, name: str) -> list[dict[str, Any]]:
        statements: list[dict[str, Any]] = []
        resources = self.template.resources
        for policy in _listed(resources[name]["Properties"].get("Policies")):
            if isinstance(policy, dict) and set(policy) == {"Ref"}:
                statements += _listed(resources[policy["Ref"]]["Properties"]["PolicyDocument"]["Statement"])
            elif isinstance(policy, dict) and "Statement" in policy:
                statements += _listed(policy["Statement"])
        return statements


def _listed(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _text(resource: Any) -> str:
    if isinstance(resource, str):
        return resource
    if isinstance(resource, dict) and "Fn::Sub" in resource:
        sub = resource["Fn::Sub"]
        return str(sub if isinstance(sub, str) else sub[0])
    return ""


def _leading_key_patterns(statement: dict[str, Any]) -> list[str] | None:
    for condition in (statement.get("Condition") or {}).values():
        if "dynamodb:LeadingKeys" in condition:
            return [str(p) for p in _listed(condition["dynamodb:LeadingKeys"])]
    return None


def _partition_key(table: dict[str, Any], index: str | None) -> str:
    schema = table["KeySchema"] if index is None else next(
        i["KeySchema"] for i in table.get("GlobalSecondaryIndexes", []) if i["IndexName"] == index)
    return str(next(k["AttributeName"] for k in schema if k["KeyType"] == "HASH"))


def _queried_partition(params: dict[str, Any], attribute: str) -> str:
    """The partition key value a Query asks for, read from its key condition."""
    names = {k: v for k, v in (params.get("ExpressionAttributeNames") or {}).items()}
    for name, value in re.findall(r"([#\w]+)\s*=\s*(:\w+)", params.get("KeyConditionExpression", "")):
        if names.get(name, name) == attribute:
            return unquote(str(next(iter(params["ExpressionAttributeValues"][value].values()))))
    return ""
