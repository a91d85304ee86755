"""template.yaml read as the single source of truth for the local stack and the tests.

Intrinsic functions are resolved for the local stack only as far as it needs: ``Ref`` of parameters
and resources, ``Fn::Sub`` of those, ``Fn::If`` on the stage, and Secrets Manager dynamic references.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"
REGION = "eu-west-2"
ACCOUNT = "123456789012"
_TAGS = ("Ref", "Condition", "GetAtt", "Sub", "If", "Equals", "Not", "And", "Or", "Join", "Select", "Split",
         "FindInMap", "GetAZs", "ImportValue", "Base64", "Cidr")


class _Loader(yaml.SafeLoader):  # type: ignore[misc]
    pass


def _construct(tag: str) -> Any:
    name = tag if tag in ("Ref", "Condition") else f"Fn::{tag}"

    def build(loader: yaml.SafeLoader, node: yaml.Node) -> dict[str, Any]:
        if isinstance(node, yaml.ScalarNode):
            value: Any = loader.construct_scalar(node)
            if tag == "GetAtt":
                value = str(value).split(".", 1)
        elif isinstance(node, yaml.SequenceNode):
            value = loader.construct_sequence(node, deep=True)
        else:
            value = loader.construct_mapping(node, deep=True)
        return {name: value}

    return build


for _tag in _TAGS:
    _Loader.add_constructor(f"!{_tag}", _construct(_tag))


def load(path: Path = TEMPLATE) -> dict[str, Any]:
    with path.open() as handle:
        document: dict[str, Any] = yaml.load(handle, Loader=_Loader)  # noqa: S506 - SafeLoader subclass
    return document


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    function: str
    public: bool


@dataclass(frozen=True)
class Function:
    logical_id: str
    code_uri: Path
    module: str
    attribute: str
    environment: dict[str, str]
    events: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class BucketSetup:
    """How a bucket of the template is configured beyond its name, as boto3 arguments (``None``: nothing to set).

    ``versioning`` is ``put_bucket_versioning``'s ``VersioningConfiguration``; ``notifications`` is
    ``put_bucket_notification_configuration``'s ``NotificationConfiguration``.
    """

    bucket: str
    versioning: dict[str, Any] | None = None
    notifications: dict[str, Any] | None = None


class Template:
    """What the local stack needs to know of template.yaml, with names made for one local stack."""

    def __init__(self, document: dict[str, Any] | None = None, stack_name: str = "crm-local",
                 stage: str = "local", secrets: dict[str, str] | None = None,
                 parameters: dict[str, str] | None = None) -> None:
        self.document = document if document is not None else load()
        self.stack_name = stack_name
        self.stage = stage
        self.secrets = secrets or {}
        self.parameters = parameters or {}  # values given for the template's parameters (else their defaults)
        self.resources: dict[str, Any] = self.document["Resources"]

    def of_type(self, kind: str) -> dict[str, dict[str, Any]]:
        return {name: res for name, res in self.resources.items() if res["Type"] == kind}

    def physical_name(self, logical_id: str) -> str:
        return f"{self.stack_name}-{logical_id}"

    # ---- intrinsic functions, locally -------------------------------------------------------------

    def resolve(self, value: Any) -> Any:
        if isinstance(value, dict) and len(value) == 1:
            (name, arg), = value.items()
            if name == "Ref":
                return self._ref(arg)
            if name == "Fn::Sub":
                return self._sub(arg)
            if name == "Fn::If":
                condition, yes, no = arg
                return self.resolve(yes if self._condition(condition) else no)
            if name == "Fn::GetAtt":
                if self.resources.get(arg[0], {}).get("Type") == "AWS::SQS::Queue" and arg[1] == "Arn":
                    return self.queue_arn(arg[0])
                return f"arn:aws:local:::{self.physical_name(arg[0])}"
        if isinstance(value, dict):
            return {k: self.resolve(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        return value

    def _ref(self, name: str) -> str:
        if name == "AWS::StackName":
            return self.stack_name
        if name == "AWS::Region":
            return REGION
        if name == "Stage":
            return self.stage
        parameters = self.document.get("Parameters", {})
        if name in self.parameters:
            return self.parameters[name]
        if name in parameters:
            return str(parameters[name].get("Default", ""))
        kind = self.resources.get(name, {}).get("Type")
        if kind == "AWS::Cognito::UserPool":
            return ""  # no user pool locally: the X-Dev-* headers sign in, the built-in users are the directory
        if name in self.secrets or kind == "AWS::SecretsManager::Secret":
            return name
        if kind == "AWS::S3::Bucket":
            return self.buckets()[name]
        if kind == "AWS::SQS::Queue":
            return self.queue_url(name)
        if kind == "AWS::SNS::Topic":
            return f"arn:aws:sns:{REGION}:{ACCOUNT}:{self.topics()[name]}"
        return self.physical_name(name)

    def _sub(self, arg: Any) -> str:
        text = arg if isinstance(arg, str) else arg[0]

        def var(match: re.Match[str]) -> str:
            return self._ref(match.group(1).split(".")[0])

        text = re.sub(r"\$\{([^}!]+)\}", var, text)
        # a secret the stack was not given gets a fixed local stand-in (never a real secret)
        return re.sub(r"\{\{resolve:secretsmanager:([^:}]+)[^}]*\}\}",
                      lambda m: self.secrets.get(m.group(1), f"local-stand-in-for-{m.group(1)}"), text)

    def _condition(self, name: str) -> bool:
        return self._truth(self.document.get("Conditions", {})[name])

    def _truth(self, condition: dict[str, Any]) -> bool:
        if "Fn::Not" in condition:
            return not self._truth(condition["Fn::Not"][0])
        left, right = condition["Fn::Equals"]
        return bool(self.resolve(left) == self.resolve(right))

    # ---- what the local stack reads ---------------------------------------------------------------

    def tables(self) -> dict[str, dict[str, Any]]:
        """create_table arguments for each AWS::DynamoDB::Table, named for this stack."""
        tables = {}
        for logical_id, resource in self.of_type("AWS::DynamoDB::Table").items():
            props = resource["Properties"]
            args: dict[str, Any] = {
                "TableName": self.physical_name(logical_id),
                "AttributeDefinitions": props["AttributeDefinitions"],
                "KeySchema": props["KeySchema"],
                "BillingMode": props.get("BillingMode", "PAY_PER_REQUEST"),
            }
            if props.get("GlobalSecondaryIndexes"):
                args["GlobalSecondaryIndexes"] = props["GlobalSecondaryIndexes"]
            tables[logical_id] = args
        return tables

    def buckets(self) -> dict[str, str]:
        return {name: self._named(name, res, "BucketName") for name, res in self.of_type("AWS::S3::Bucket").items()}

    def bucket_setup(self) -> dict[str, BucketSetup]:
        """Each bucket's versioning and event notifications to queues of the template, ready for boto3.

        ``VersioningConfiguration: {Status: Enabled}`` turns versioning on; each of
        ``NotificationConfiguration.QueueConfigurations`` becomes a ``QueueConfigurations`` entry with the queue's
        local ARN and its ``S3Key`` filter rules (CloudFormation's ``Filter.S3Key.Rules`` are boto3's
        ``Filter.Key.FilterRules``). Lambda and topic notifications are not set up locally.
        """
        names = self.buckets()
        found = {}
        for logical_id, resource in self.of_type("AWS::S3::Bucket").items():
            props = resource.get("Properties", {})
            status = self.resolve((props.get("VersioningConfiguration") or {}).get("Status"))
            notifications = self.resolve(props.get("NotificationConfiguration") or {})
            queues = [_queue_notification(config) for config in notifications.get("QueueConfigurations") or []]
            found[logical_id] = BucketSetup(bucket=names[logical_id],
                                            versioning={"Status": "Enabled"} if status == "Enabled" else None,
                                            notifications={"QueueConfigurations": queues} if queues else None)
        return found

    def queues(self) -> dict[str, dict[str, Any]]:
        """create_queue arguments for each AWS::SQS::Queue (FIFO queues keep their .fifo suffix)."""
        queues = {}
        for name, resource in self.of_type("AWS::SQS::Queue").items():
            props = resource.get("Properties", {})
            fifo = bool(props.get("FifoQueue"))
            queue_name = self._named(name, resource, "QueueName") + (".fifo" if fifo and "QueueName" not in props
                                                                      else "")
            attributes = {"FifoQueue": "true"} if fifo else {}
            if "VisibilityTimeout" in props:
                attributes["VisibilityTimeout"] = str(props["VisibilityTimeout"])
            queues[name] = {"QueueName": queue_name, "Attributes": attributes}
        return queues

    def queue_url(self, logical_id: str) -> str:
        """What ``Ref`` of a queue gives: its URL (the emulator finds a queue by the URL's last part)."""
        return f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/{self.queues()[logical_id]['QueueName']}"

    def queue_arn(self, logical_id: str) -> str:
        return f"arn:aws:sqs:{REGION}:{ACCOUNT}:{self.queues()[logical_id]['QueueName']}"

    def topics(self) -> dict[str, str]:
        return {name: self._named(name, res, "TopicName") for name, res in self.of_type("AWS::SNS::Topic").items()}

    def _named(self, logical_id: str, resource: dict[str, Any], name_property: str) -> str:
        given = resource.get("Properties", {}).get(name_property)
        return str(self.resolve(given)) if given else self.physical_name(logical_id).lower()

    def functions(self) -> dict[str, Function]:
        globals_ = self.document.get("Globals", {}).get("Function", {})
        global_env = globals_.get("Environment", {}).get("Variables", {})
        found = {}
        for logical_id, resource in self.of_type("AWS::Serverless::Function").items():
            props = resource["Properties"]
            module, attribute = props["Handler"].rsplit(".", 1)
            env = {**global_env, **props.get("Environment", {}).get("Variables", {})}
            found[logical_id] = Function(
                logical_id=logical_id,
                code_uri=ROOT / props["CodeUri"],
                module=module,
                attribute=attribute,
                environment={k: str(self.resolve(v)) for k, v in env.items()},
                events=props.get("Events", {}),
            )
        return found

    def routes(self) -> list[Route]:
        api = self.of_type("AWS::Serverless::Api")
        found = []
        for function in self.functions().values():
            for event in function.events.values():
                if event["Type"] != "Api":
                    continue
                props = event["Properties"]
                auth = props.get("Auth", {}).get("Authorizer")
                default_auth = any(a["Properties"].get("Auth", {}).get("DefaultAuthorizer") for a in api.values())
                found.append(Route(method=props["Method"].upper(), path=props["Path"], function=function.logical_id,
                                   public=(auth == "NONE") or not default_auth))
        return found


def _queue_notification(config: dict[str, Any]) -> dict[str, Any]:
    """A resolved CloudFormation ``QueueConfiguration`` as boto3's ``QueueConfigurations`` entry."""
    entry: dict[str, Any] = {"QueueArn": config["Queue"], "Events": [config["Event"]]}
    rules = ((config.get("Filter") or {}).get("S3Key") or {}).get("Rules") or []
    if rules:
        # S3 takes the rule names in either case; the emulator matches only "prefix" and "suffix"
        entry["Filter"] = {"Key": {"FilterRules": [{"Name": str(rule["Name"]).lower(), "Value": rule["Value"]}
                                                   for rule in rules]}}
    return entry
