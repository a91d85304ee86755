"""The local stack: moto in server mode with every table of template.yaml, and the functions in-process."""

from __future__ import annotations

import importlib
import os
import sys
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import boto3

from crm_local.template import Function, Template

LOCAL_ENV = {
    "AWS_ACCESS_KEY_ID": "local",
    "AWS_SECRET_ACCESS_KEY": "local",
    "AWS_DEFAULT_REGION": "eu-west-2",
    "AWS_REGION": "eu-west-2",
    "POWERTOOLS_TRACE_DISABLED": "true",
    "POWERTOOLS_DEV": "false",
    "STAFF_DIRECTORY": "built-in",  # no user pool locally: the built-in users are the staff
}
LOCAL_SECRETS = {"CursorSigningSecret": "local-stack-cursor-signing-key-not-a-secret",
                 "UnsubscribeSigningSecret": "local-stack-unsubscribe-signing-key-not-a-secret"}
Handler = Callable[[dict[str, Any], Any], Any]


@dataclass
class LambdaContext:
    """Enough of Lambda's context object for Powertools."""

    function_name: str
    memory_limit_in_mb: int = 512
    function_version: str = "$LATEST"
    log_group_name: str = ""
    log_stream_name: str = "local"
    aws_request_id: str = ""

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:eu-west-2:123456789012:function:{self.function_name}"

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 900_000


def local_template(api_url: str = "http://127.0.0.1:3000") -> Template:
    """The template as the local stack deploys it: local secrets, and links in emails pointing at the local
    API."""
    return Template(secrets=LOCAL_SECRETS, parameters={"PublicBaseUrl": api_url})


def point_at(endpoint: str, template: Template) -> None:
    """Make this process's boto3 clients and function configuration use the local stack at ``endpoint``."""
    os.environ.update(LOCAL_ENV)
    os.environ["AWS_ENDPOINT_URL"] = endpoint
    for function in template.functions().values():
        for name, value in function.environment.items():
            if name != "POWERTOOLS_SERVICE_NAME":
                os.environ[name] = value


def create_resources(template: Template) -> list[str]:
    """Create every table, bucket, queue, topic, secret and SSM parameter of the template that does not exist
    yet, and configure the buckets (versioning, notifications); returns their names."""
    ddb = boto3.client("dynamodb")
    existing = set(ddb.list_tables()["TableNames"])
    names = []
    for args in template.tables().values():
        if args["TableName"] not in existing:
            ddb.create_table(**args)
        names.append(args["TableName"])
    s3 = boto3.client("s3")
    have = {b["Name"] for b in s3.list_buckets().get("Buckets", [])}
    for bucket in template.buckets().values():
        if bucket not in have:
            s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "eu-west-2"})
        names.append(bucket)
    sqs = boto3.client("sqs")
    for args in template.queues().values():
        sqs.create_queue(**args)
        names.append(args["QueueName"])
    sns = boto3.client("sns")
    for topic in template.topics().values():
        sns.create_topic(Name=topic)
        names.append(topic)
    names += create_secrets_and_parameters(template)
    configure_buckets(template, s3)
    verify_senders(template)
    return names


def create_secrets_and_parameters(template: Template) -> list[str]:
    """The secrets the functions read at run time (the template's local values, else a stand-in) and the SSM
    parameters, with their values resolved as the template resolves them locally."""
    secrets = boto3.client("secretsmanager")
    have = {s["Name"] for page in secrets.get_paginator("list_secrets").paginate() for s in page["SecretList"]}
    names = []
    for logical_id in template.of_type("AWS::SecretsManager::Secret"):
        name = template.resolve({"Ref": logical_id})
        if name not in have:
            secrets.create_secret(Name=name, SecretString=template.secrets.get(
                logical_id, f"local-stand-in-for-{logical_id}-not-a-secret"))
        names.append(name)
    ssm = boto3.client("ssm")
    for resource in template.of_type("AWS::SSM::Parameter").values():
        props = template.resolve(resource["Properties"])
        ssm.put_parameter(Name=props["Name"], Value=str(props["Value"]), Type=props.get("Type", "String"),
                          Overwrite=True)
        names.append(props["Name"])
    return names


def verify_senders(template: Template) -> None:
    """SES sends only from verified identities: verify the template's From address (as an operator would)."""
    from email.utils import parseaddr

    ses = boto3.client("ses")
    have = {c["Name"] for c in ses.list_configuration_sets().get("ConfigurationSets", [])}
    for function in template.functions().values():
        sender = function.environment.get("MAIL_FROM")
        if sender:
            ses.verify_email_identity(EmailAddress=parseaddr(sender)[1])
        configuration_set = function.environment.get("SES_CONFIGURATION_SET")
        if configuration_set and configuration_set not in have:
            ses.create_configuration_set(ConfigurationSet={"Name": configuration_set})
            have.add(configuration_set)


def configure_buckets(template: Template, s3: Any = None) -> None:
    """Turn on each bucket's versioning and set its event notifications to queues, as template.yaml says.

    The buckets and the queues they notify must exist already (S3 sends each queue a test event when the
    notification is set, as AWS does). Setting them again replaces them.
    """
    s3 = s3 or boto3.client("s3")
    for setup in template.bucket_setup().values():
        if setup.versioning:
            s3.put_bucket_versioning(Bucket=setup.bucket, VersioningConfiguration=setup.versioning)
        if setup.notifications:
            s3.put_bucket_notification_configuration(Bucket=setup.bucket,
                                                     NotificationConfiguration=setup.notifications)


class Functions:
    """Imports each function's handler from its CodeUri, as Lambda would, and invokes it."""

    _lock = threading.Lock()

    def __init__(self, template: Template) -> None:
        self.template = template
        self.definitions: dict[str, Function] = template.functions()
        self._handlers: dict[str, Handler] = {}
        # Lambda runs one request at a time per environment; Powertools resolvers rely on that.
        self._running = {name: threading.Lock() for name in self.definitions}

    def handler(self, logical_id: str) -> Handler:
        if logical_id not in self.definitions:
            known = ", ".join(sorted(self.definitions))
            raise KeyError(f"no function {logical_id!r} in template.yaml (functions: {known})")
        with self._lock:
            if logical_id not in self._handlers:
                function = self.definitions[logical_id]
                if str(function.code_uri) not in sys.path:
                    sys.path.insert(0, str(function.code_uri))
                os.environ["POWERTOOLS_SERVICE_NAME"] = function.environment.get("POWERTOOLS_SERVICE_NAME", "")
                module = importlib.import_module(function.module)
                self._handlers[logical_id] = getattr(module, function.attribute)
        return self._handlers[logical_id]

    def invoke(self, logical_id: str, event: dict[str, Any]) -> Any:
        context = LambdaContext(function_name=self.template.physical_name(logical_id),
                                aws_request_id=str(uuid.uuid4()))
        from crm_local.iam import acting_as

        handler = self.handler(logical_id)
        with self._running[logical_id], acting_as(logical_id):  # its AWS calls are checked against its role
            return handler(event, context)
