"""The local stack reads template.yaml: intrinsic functions resolved locally, resources named per stack."""

from __future__ import annotations

import json
from urllib.parse import unquote_plus

import boto3
from moto import mock_aws

from crm_local.stack import create_resources
from crm_local.template import BucketSetup, Template

DOCUMENT = {
    "Parameters": {"Stage": {"Type": "String", "Default": "dev"}, "Retention": {"Type": "Number", "Default": 7}},
    "Conditions": {"IsProd": {"Fn::Equals": [{"Ref": "Stage"}, "prod"]}},
    "Globals": {"Function": {"Environment": {"Variables": {
        "TABLE_NAME": {"Ref": "Table"},
        "KEY": {"Fn::Sub": "{{resolve:secretsmanager:${Secret}:SecretString}}"},
        "MODE": {"Fn::If": ["IsProd", "strict", "relaxed"]},
    }}}},
    "Resources": {
        "Table": {"Type": "AWS::DynamoDB::Table", "Properties": {
            "AttributeDefinitions": [{"AttributeName": "PK", "AttributeType": "S"}],
            "KeySchema": [{"AttributeName": "PK", "KeyType": "HASH"}], "BillingMode": "PAY_PER_REQUEST"}},
        "Secret": {"Type": "AWS::SecretsManager::Secret", "Properties": {}},
        "Uploads": {"Type": "AWS::S3::Bucket", "Properties": {
            "VersioningConfiguration": {"Status": "Enabled"},
            "NotificationConfiguration": {"QueueConfigurations": [{
                "Event": "s3:ObjectCreated:*", "Queue": {"Fn::GetAtt": ["Work", "Arn"]},
                "Filter": {"S3Key": {"Rules": [{"Name": "prefix", "Value": "uploads/"}]}}}]}}},
        "Named": {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": {"Fn::Sub": "${AWS::StackName}-named"}}},
        "Work": {"Type": "AWS::SQS::Queue", "Properties": {"VisibilityTimeout": 120}},
        "Ordered": {"Type": "AWS::SQS::Queue", "Properties": {"FifoQueue": True}},
        "Bounces": {"Type": "AWS::SNS::Topic", "Properties": {}},
        "Fn": {"Type": "AWS::Serverless::Function", "Properties": {
            "CodeUri": "functions/x/", "Handler": "x_app.handler",
            "Environment": {"Variables": {"MODE": "override", "BUCKET": {"Ref": "Uploads"}}},
            "Events": {"Get": {"Type": "Api", "Properties": {"Path": "/x", "Method": "get"}}}}},
    },
}


def test_function_environment_is_resolved_for_the_local_stack() -> None:
    template = Template(DOCUMENT, stack_name="s", secrets={"Secret": "local-key"})
    env = template.functions()["Fn"].environment
    assert env == {"TABLE_NAME": "s-Table", "KEY": "local-key", "MODE": "override", "BUCKET": "s-uploads"}
    assert template.functions()["Fn"].module == "x_app"


def test_refs_of_buckets_queues_and_topics_name_what_the_local_stack_creates() -> None:
    template = Template(DOCUMENT, stack_name="s", secrets={"Secret": "k"})
    # a bucket by its (lower-case) name, a queue by its URL, a topic by its ARN, as CloudFormation does
    assert template.resolve({"Ref": "Named"}) == "s-named"
    assert template.resolve({"Ref": "Work"}) == "https://sqs.eu-west-2.amazonaws.com/123456789012/s-work"
    assert template.resolve({"Fn::GetAtt": ["Work", "Arn"]}) == "arn:aws:sqs:eu-west-2:123456789012:s-work"
    assert template.resolve({"Ref": "Bounces"}) == "arn:aws:sns:eu-west-2:123456789012:s-bounces"


def test_conditions_follow_the_stage() -> None:
    prod = Template(DOCUMENT, stage="prod", secrets={"Secret": "k"})
    assert prod.resolve({"Fn::If": ["IsProd", "strict", "relaxed"]}) == "strict"


def test_routes_without_an_authorizer_are_public() -> None:
    routes = Template(DOCUMENT, secrets={"Secret": "k"}).routes()
    assert [(r.method, r.path, r.function, r.public) for r in routes] == [("GET", "/x", "Fn", True)]


def test_every_table_bucket_queue_topic_and_secret_is_created() -> None:
    template = Template(DOCUMENT, stack_name="s", secrets={"Secret": "k"})
    with mock_aws():
        names = create_resources(template)
        assert set(names) == {"s-Table", "s-uploads", "s-named", "s-work", "s-ordered.fifo", "s-bounces", "Secret"}
        # the functions read the secret at run time: it holds the local value the template was given
        assert boto3.client("secretsmanager").get_secret_value(SecretId="Secret")["SecretString"] == "k"
        assert boto3.client("s3").list_buckets()["Buckets"]
        fifo = boto3.client("sqs").get_queue_url(QueueName="s-ordered.fifo")["QueueUrl"]
        assert boto3.client("sqs").get_queue_attributes(QueueUrl=fifo, AttributeNames=["FifoQueue"])[
            "Attributes"]["FifoQueue"] == "true"
        assert create_resources(template)  # a second start finds them and carries on


def test_bucket_setup_reads_versioning_and_queue_notifications_as_boto3_arguments() -> None:
    # Given a template whose Uploads bucket is versioned and tells the Work queue of new objects under uploads/
    template = Template(DOCUMENT, stack_name="s", secrets={"Secret": "k"})
    # When the buckets' setup is read
    setup = template.bucket_setup()
    # Then the queue is named by its local ARN, and the S3Key filter has boto3's shape
    assert setup == {
        "Uploads": BucketSetup(bucket="s-uploads", versioning={"Status": "Enabled"}, notifications={
            "QueueConfigurations": [{
                "QueueArn": "arn:aws:sqs:eu-west-2:123456789012:s-work", "Events": ["s3:ObjectCreated:*"],
                "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": "uploads/"}]}}}]}),
        # And a bucket with neither gets nothing set
        "Named": BucketSetup(bucket="s-named"),
    }


def test_a_notification_without_a_filter_covers_the_whole_bucket() -> None:
    document = {"Resources": {
        "Queue": {"Type": "AWS::SQS::Queue", "Properties": {}},
        "Drop": {"Type": "AWS::S3::Bucket", "Properties": {
            "VersioningConfiguration": {"Status": "Suspended"},
            "NotificationConfiguration": {"QueueConfigurations": [
                {"Event": "s3:ObjectCreated:Put", "Queue": {"Fn::GetAtt": ["Queue", "Arn"]}}]}}}}}
    setup = Template(document, stack_name="s").bucket_setup()["Drop"]
    assert setup.versioning is None
    assert setup.notifications == {"QueueConfigurations": [
        {"QueueArn": "arn:aws:sqs:eu-west-2:123456789012:s-queue", "Events": ["s3:ObjectCreated:Put"]}]}


def test_template_yaml_sends_uploads_of_the_imports_bucket_to_the_import_queue() -> None:
    template = Template(secrets={"CursorSigningSecret": "k"})
    setup = template.bucket_setup()["ImportsBucket"]
    assert setup.bucket == template.buckets()["ImportsBucket"]
    assert setup.versioning == {"Status": "Enabled"}
    assert setup.notifications == {"QueueConfigurations": [{
        "QueueArn": template.queue_arn("ImportQueue"), "Events": ["s3:ObjectCreated:*"],
        "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": "uploads/"}]}}}]}


def test_created_buckets_are_versioned_and_notify_their_queue_of_matching_keys_only() -> None:
    # Given the resources of the template, created in moto
    template = Template(DOCUMENT, stack_name="s", secrets={"Secret": "k"})
    with mock_aws():
        create_resources(template)
        s3, sqs = boto3.client("s3"), boto3.client("sqs")
        queue = sqs.get_queue_url(QueueName="s-work")["QueueUrl"]
        # S3 tells a queue it may write to it when the notification is set (as AWS does)
        first = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10)["Messages"]
        assert [json.loads(m["Body"])["Event"] for m in first] == ["s3:TestEvent"]
        sqs.delete_message(QueueUrl=queue, ReceiptHandle=first[0]["ReceiptHandle"])
        assert s3.get_bucket_versioning(Bucket="s-uploads")["Status"] == "Enabled"
        # When one object is put under uploads/ and one elsewhere
        put = s3.put_object(Bucket="s-uploads", Key="uploads/book.xlsx", Body=b"x")
        s3.put_object(Bucket="s-uploads", Key="elsewhere/book.xlsx", Body=b"x")
        s3.put_object(Bucket="s-named", Key="uploads/other.xlsx", Body=b"x")
        # Then the object has a version, and only the one under uploads/ is on the queue
        assert put.get("VersionId")
        messages = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, WaitTimeSeconds=0)["Messages"]
        records = [r for m in messages for r in json.loads(m["Body"])["Records"]]
        assert [(r["eventName"], r["s3"]["bucket"]["name"], unquote_plus(r["s3"]["object"]["key"]))
                for r in records] == [("ObjectCreated:Put", "s-uploads", "uploads/book.xlsx")]
        # And a second start sets them again without harm
        create_resources(template)
        assert s3.get_bucket_notification_configuration(Bucket="s-uploads")["QueueConfigurations"]
