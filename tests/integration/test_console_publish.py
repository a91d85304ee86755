"""The console's deployment (console/publish.py, the ConsoleSite custom resource) against moto's S3, with
CloudFront's invalidation stubbed and CloudFormation's presigned response URL served on loopback."""

from __future__ import annotations

import importlib.util
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import ModuleType
from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber

from crm_local import console as local_console
from crm_local.template import ROOT, Template

CONFIG = {"mode": "cognito", "auth": {"domain": "https://staff-x.auth.eu-west-2.amazoncognito.com",
                                      "client_id": "abc", "redirect_uri": "https://d1.cloudfront.net/console/"}}


def _module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("console_publish", ROOT / "console" / "publish.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


publish = _module()


class CloudFormation:
    """Where the custom resource answers: the presigned URL, served on loopback; keeps each answer."""

    def __init__(self) -> None:
        self.answers: list[dict[str, Any]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_PUT(self) -> None:
                length = int(self.headers["Content-Length"])
                outer.answers.append(json.loads(self.rfile.read(length)))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/response?signature=x"

    def event(self, kind: str, bucket: str, **more: Any) -> dict[str, Any]:
        return {"RequestType": kind, "ResponseURL": self.url, "StackId": "arn:aws:cloudformation:stack/s/1",
                "RequestId": f"request-{kind}", "LogicalResourceId": "ConsoleSite",
                "ResourceProperties": {"ServiceToken": "arn", "Bucket": bucket, "Config": CONFIG,
                                       "DistributionId": "E2CONSOLE"}, **more}


@pytest.fixture
def cloudformation() -> Iterator[CloudFormation]:
    answering = CloudFormation()
    yield answering
    answering.server.shutdown()
    answering.server.server_close()


@pytest.fixture
def bucket(aws: Template) -> str:
    name = "console-files-test"
    boto3.client("s3").create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": "eu-west-2"})
    return name


def _objects(bucket: str) -> dict[str, dict[str, Any]]:
    s3 = boto3.client("s3")
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]
    return {k: s3.get_object(Bucket=bucket, Key=k) for k in keys}


def test_a_deploy_copies_the_site_writes_the_config_and_clears_the_cdn(bucket: str, cloudformation: CloudFormation,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a file a previous version left, and CloudFront ready to be asked to forget its copies
    s3 = boto3.client("s3")
    s3.put_object(Bucket=bucket, Key="console/app/old.js", Body=b"old")
    s3.put_object(Bucket=bucket, Key="elsewhere.txt", Body=b"not the console's")
    cloudfront = boto3.client("cloudfront", region_name="us-east-1")
    stub = Stubber(cloudfront)
    stub.add_response("create_invalidation", {"Invalidation": {"Id": "I1", "Status": "InProgress",
                                                               "CreateTime": "2026-01-01T00:00:00Z",
                                                               "InvalidationBatch": {"Paths": {"Quantity": 1},
                                                                                     "CallerReference": "x"}}},
                      {"DistributionId": "E2CONSOLE", "InvalidationBatch": {
                          "Paths": {"Quantity": 1, "Items": ["/console/*"]}, "CallerReference": ANY}})
    stub.activate()
    real_client = boto3.client
    monkeypatch.setattr(publish.boto3, "client", lambda name, **kw: cloudfront if name == "cloudfront"
                        else real_client(name, **kw))
    # When CloudFormation creates the ConsoleSite
    publish.handler(cloudformation.event("Create", bucket), None)
    # Then every file of the site is there, as the local API serves it, and the config the template gave
    stored = _objects(bucket)
    expected = {f"console/{p.as_posix()}" for p in local_console.site_files()}
    assert set(stored) == expected | {"console/config.json", "elsewhere.txt"}
    index = stored["console/index.html"]
    assert index["ContentType"] == "text/html; charset=utf-8" and index["CacheControl"] == "no-cache"
    assert index["Body"].read() == (local_console.SITE / "index.html").read_bytes()
    assert stored["console/app/main.js"]["ContentType"] == "text/javascript; charset=utf-8"
    assert json.loads(stored["console/config.json"]["Body"].read()) == CONFIG
    stub.assert_no_pending_responses()
    # And CloudFormation heard it succeeded
    answer = cloudformation.answers[-1]
    assert (answer["Status"], answer["PhysicalResourceId"]) == ("SUCCESS", f"{bucket}/console/")
    assert answer["Data"] == {"Files": len(expected) + 1}


def test_a_stack_deletion_empties_the_console_files(bucket: str, cloudformation: CloudFormation) -> None:
    s3 = boto3.client("s3")
    for key in ("console/index.html", "console/app/main.js", "console/config.json", "keep.txt"):
        s3.put_object(Bucket=bucket, Key=key, Body=b"x")
    publish.handler(cloudformation.event("Delete", bucket, PhysicalResourceId=f"{bucket}/console/"), None)
    assert set(_objects(bucket)) == {"keep.txt"}
    assert cloudformation.answers[-1]["Status"] == "SUCCESS"


def test_a_failure_is_reported_to_cloudformation_with_why(aws: Template, cloudformation: CloudFormation) -> None:
    publish.handler(cloudformation.event("Create", "no-such-console-bucket"), None)
    answer = cloudformation.answers[-1]
    assert answer["Status"] == "FAILED"
    assert "NoSuchBucket" in answer["Reason"]


def test_the_published_kinds_of_file_are_the_ones_the_local_api_serves() -> None:
    assert publish.CONTENT_TYPES == local_console.CONTENT_TYPES
    assert sorted(publish.site_files().values()) == [local_console.SITE / p for p in local_console.site_files()]
