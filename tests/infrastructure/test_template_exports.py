"""The export resources: a private, encrypted bucket whose files expire; a queue with a dead-letter queue;
the export function reporting partial batch failures and idle longer than the queue hides a message."""

from __future__ import annotations

from typing import Any


def _props(document: dict[str, Any], logical_id: str) -> dict[str, Any]:
    props: dict[str, Any] = document["Resources"][logical_id]["Properties"]
    return props


def test_exports_bucket_is_private_encrypted_and_expires_files(document: dict[str, Any]) -> None:
    bucket = _props(document, "ExportsBucket")
    assert bucket["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True, "BlockPublicPolicy": True, "IgnorePublicAcls": True, "RestrictPublicBuckets": True}
    rule = bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
    assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] in ("AES256", "aws:kms")
    expiry = [r for r in bucket["LifecycleConfiguration"]["Rules"] if r["Status"] == "Enabled"]
    assert expiry and all(1 <= r["ExpirationInDays"] <= 7 for r in expiry)


def test_export_queue_has_a_dead_letter_queue(document: dict[str, Any]) -> None:
    redrive = _props(document, "ExportQueue")["RedrivePolicy"]
    assert redrive["deadLetterTargetArn"] == {"Fn::GetAtt": ["ExportDeadLetterQueue", "Arn"]}
    assert 1 <= redrive["maxReceiveCount"] <= 5


def test_export_function_reads_the_queue_with_partial_batch_failures(document: dict[str, Any]) -> None:
    function = _props(document, "ExportFunction")
    (event,) = function["Events"].values()
    assert event["Type"] == "SQS"
    assert event["Properties"]["Queue"] == {"Fn::GetAtt": ["ExportQueue", "Arn"]}
    assert event["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    # a message stays hidden while the function may still be working on it
    assert _props(document, "ExportQueue")["VisibilityTimeout"] >= 6 * function["Timeout"]


def test_only_the_functions_that_export_know_the_bucket_and_queue(document: dict[str, Any]) -> None:
    env = {name: r["Properties"].get("Environment", {}).get("Variables", {})
           for name, r in document["Resources"].items() if r["Type"] == "AWS::Serverless::Function"}
    assert env["CustomersApiFunction"]["EXPORT_QUEUE_URL"] == {"Ref": "ExportQueue"}
    assert env["CustomersApiFunction"]["EXPORTS_BUCKET"] == env["ExportFunction"]["EXPORTS_BUCKET"]
    assert "EXPORTS_BUCKET" not in env["PublicApiFunction"]
