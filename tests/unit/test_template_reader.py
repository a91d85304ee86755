"""The local stack reads template.yaml: intrinsic functions resolved locally, resources named per stack."""

from __future__ import annotations

import boto3
from moto import mock_aws

from crm_local.stack import create_resources
from crm_local.template import Template

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
        "Uploads": {"Type": "AWS::S3::Bucket", "Properties": {}},
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


def test_every_table_bucket_queue_and_topic_is_created() -> None:
    template = Template(DOCUMENT, stack_name="s", secrets={"Secret": "k"})
    with mock_aws():
        names = create_resources(template)
        assert set(names) == {"s-Table", "s-uploads", "s-named", "s-work", "s-ordered.fifo", "s-bounces"}
        assert boto3.client("s3").list_buckets()["Buckets"]
        fifo = boto3.client("sqs").get_queue_url(QueueName="s-ordered.fifo")["QueueUrl"]
        assert boto3.client("sqs").get_queue_attributes(QueueUrl=fifo, AttributeNames=["FifoQueue"])[
            "Attributes"]["FifoQueue"] == "true"
        assert create_resources(template)  # a second start finds them and carries on
