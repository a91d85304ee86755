"""The local IAM guard: a function's AWS calls on the local stack are refused as AWS would refuse them."""

from __future__ import annotations

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from crm_local.iam import Guard, acting_as
from crm_local.template import Template


@pytest.fixture
def local() -> Template:
    return Template(secrets={"CursorSigningSecret": "k" * 32}, parameters={"PublicBaseUrl": "http://127.0.0.1:3000"})


def _denied(call: object) -> str:
    with pytest.raises(ClientError) as refused:
        call()  # type: ignore[operator]
    assert refused.value.response["Error"]["Code"] == "AccessDeniedException"
    return str(refused.value)


def test_a_function_may_write_only_the_items_its_role_allows(local: Template) -> None:
    from crm_local.stack import create_resources

    with mock_aws():
        create_resources(local)
        ddb = boto3.client("dynamodb")
        table = local.tables()["CustomersTable"]["TableName"]
        with Guard(local).installed():
            # Given the public function, which may write only sign-in, reset and customer items
            with acting_as("PublicApiFunction"):
                # When it writes a rate-limit counter, it may
                ddb.put_item(TableName=table, Item={"PK": {"S": "RATE#login#x"}, "SK": {"S": "1"}})
                # Then a search term, a claim or a transaction touching one are refused
                message = _denied(lambda: ddb.put_item(TableName=table, Item={"PK": {"S": "TERM#ad"},
                                                                              "SK": {"S": "x"}}))
                assert "PublicApiFunction" in message and "TERM#ad" in message
                _denied(lambda: ddb.transact_write_items(TransactItems=[
                    {"Put": {"TableName": table, "Item": {"PK": {"S": "CUST#1"}, "SK": {"S": "P"}}}},
                    {"Put": {"TableName": table, "Item": {"PK": {"S": "USERNAME#ada"}, "SK": {"S": "C"}}}}]))
                # And it may not send to a queue it has no statement for, nor read another secret
                _denied(lambda: boto3.client("sqs").send_message(QueueUrl=local.queue_url("ExportQueue"),
                                                                 MessageBody="{}"))
                _denied(lambda: boto3.client("secretsmanager").get_secret_value(SecretId="AccountsApiTokenSecret"))
                # And it writes no customer's records, not even a web login where logins were once kept
                _denied(lambda: ddb.put_item(TableName=table, Item={"PK": {"S": "CUST#1"}, "SK": {"S": "LOGIN"}}))
                ddb.put_item(TableName=table, Item={"PK": {"S": "LOGIN#1"}, "SK": {"S": "LOGIN"}})
                # And it reads only the partitions its routes need: never the answers kept for retried writes
                _denied(lambda: ddb.get_item(TableName=table, Key={"PK": {"S": "IDEMPOTENCY#api-request"},
                                                                   "SK": {"S": "k"}}))
                _denied(lambda: ddb.query(TableName=table, KeyConditionExpression="PK = :p",
                                          ExpressionAttributeValues={":p": {"S": "TERM#ad"}}))
                ddb.query(TableName=table, KeyConditionExpression="PK = :p",
                          ExpressionAttributeValues={":p": {"S": "CUST#1"}})
                # But it may read the keys it signs with
                boto3.client("secretsmanager").get_secret_value(SecretId="UnsubscribeSigningSecret")
            # Given the export function: it may only update EXPORT# jobs, and write under exports/
            with acting_as("ExportFunction"):
                _denied(lambda: ddb.put_item(TableName=table, Item={"PK": {"S": "EXPORT#1"}, "SK": {"S": "JOB"}}))
                ddb.update_item(TableName=table, Key={"PK": {"S": "EXPORT#1"}, "SK": {"S": "JOB"}},
                                UpdateExpression="SET #s = :s", ExpressionAttributeNames={"#s": "status"},
                                ExpressionAttributeValues={":s": {"S": "running"}})
                s3 = boto3.client("s3")
                bucket = local.buckets()["ExportsBucket"]
                s3.put_object(Bucket=bucket, Key="exports/a.csv", Body=b"x")
                _denied(lambda: s3.put_object(Bucket=bucket, Key="elsewhere/a.csv", Body=b"x"))
            # Outside any function (the tests' own calls), nothing is checked
            ddb.put_item(TableName=table, Item={"PK": {"S": "TERM#ad"}, "SK": {"S": "x"}})
        # And once the guard is removed, the function's calls are not checked either
        with acting_as("PublicApiFunction"):
            ddb.put_item(TableName=table, Item={"PK": {"S": "TERM#zz"}, "SK": {"S": "x"}})
