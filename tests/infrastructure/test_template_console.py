"""The staff console's hosting in template.yaml: a private bucket read only by CloudFront, the API on the same
origin with nothing cached, sign-in through the user pool's hosted UI with the authorization code flow, and
the ConsoleSite custom resource that deploys the files with the config that points at all of that — as written,
and as `sam deploy` sends it (translated by aws-sam-translator)."""

from __future__ import annotations

import json
from typing import Any

import pytest

CACHING_DISABLED = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"
ALL_VIEWER_EXCEPT_HOST = "b689b0a8-53d0-40ab-baf2-68738e2966ac"
CACHING_OPTIMIZED = "658327ea-f89d-4fab-a63d-7e88639e58f6"
CONSOLE_URL = {"Fn::Sub": "https://${ConsoleDistribution.DomainName}/console/"}


def _resource(document: dict[str, Any], logical_id: str, kind: str) -> dict[str, Any]:
    resource = document["Resources"][logical_id]
    assert resource["Type"] == kind
    properties: dict[str, Any] = resource["Properties"]
    return properties


@pytest.fixture(scope="module")
def distribution(document: dict[str, Any]) -> dict[str, Any]:
    config: dict[str, Any] = _resource(document, "ConsoleDistribution", "AWS::CloudFront::Distribution")[
        "DistributionConfig"]
    return config


def test_the_console_files_are_private_and_read_only_by_its_distribution(document: dict[str, Any]) -> None:
    bucket = _resource(document, "ConsoleBucket", "AWS::S3::Bucket")
    assert all(bucket["PublicAccessBlockConfiguration"].values())
    statements = _resource(document, "ConsoleBucketPolicy", "AWS::S3::BucketPolicy")["PolicyDocument"]["Statement"]
    reads = [s for s in statements if s["Effect"] == "Allow"]
    assert len(reads) == 1
    assert reads[0]["Principal"] == {"Service": "cloudfront.amazonaws.com"} and reads[0]["Action"] == "s3:GetObject"
    assert reads[0]["Resource"] == {"Fn::Sub": "${ConsoleBucket.Arn}/console/*"}
    assert "${ConsoleDistribution}" in reads[0]["Condition"]["StringEquals"]["AWS:SourceArn"]["Fn::Sub"]
    assert any(s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
               for s in statements)
    control = _resource(document, "ConsoleOriginAccessControl", "AWS::CloudFront::OriginAccessControl")
    assert control["OriginAccessControlConfig"]["SigningBehavior"] == "always"


def test_the_console_and_the_api_share_one_origin(distribution: dict[str, Any]) -> None:
    origins = {o["Id"]: o for o in distribution["Origins"]}
    files, api = origins["console-files"], origins["api"]
    assert files["OriginAccessControlId"] == {"Fn::GetAtt": ["ConsoleOriginAccessControl", "Id"]}
    assert api["DomainName"] == {"Fn::Sub": "${CustomerApi}.execute-api.${AWS::Region}.amazonaws.com"}
    assert api["OriginPath"] == {"Fn::Sub": "/${Stage}"}
    assert api["CustomOriginConfig"]["OriginProtocolPolicy"] == "https-only"
    # /console* is the site, cached; everything else is the API: never cached, Authorization passed on, HTTPS only
    (site,) = distribution["CacheBehaviors"]
    assert (site["PathPattern"], site["TargetOriginId"], site["CachePolicyId"]) == \
        ("/console*", "console-files", CACHING_OPTIMIZED)
    assert site["ResponseHeadersPolicyId"] == {"Ref": "ConsoleHeaders"}
    default = distribution["DefaultCacheBehavior"]
    assert (default["TargetOriginId"], default["CachePolicyId"], default["OriginRequestPolicyId"]) == \
        ("api", CACHING_DISABLED, ALL_VIEWER_EXCEPT_HOST)
    assert default["ViewerProtocolPolicy"] == "https-only"
    assert {"GET", "POST", "PUT", "PATCH", "DELETE"} <= set(default["AllowedMethods"])


def test_the_console_may_talk_only_to_its_origin_and_the_sign_in_domain(document: dict[str, Any]) -> None:
    headers = _resource(document, "ConsoleHeaders", "AWS::CloudFront::ResponseHeadersPolicy")[
        "ResponseHeadersPolicyConfig"]["SecurityHeadersConfig"]
    policy = headers["ContentSecurityPolicy"]["ContentSecurityPolicy"]["Fn::Sub"]
    assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert "connect-src 'self' https://${StaffUserPoolDomain}.auth.${AWS::Region}.amazoncognito.com" in policy
    assert "unsafe" not in policy


def test_staff_sign_in_through_the_hosted_ui_with_the_code_flow(document: dict[str, Any]) -> None:
    client = _resource(document, "StaffUserPoolClient", "AWS::Cognito::UserPoolClient")
    # A public client (a browser keeps no secret): the code flow only, so the console must use PKCE
    assert client["GenerateSecret"] is False
    assert client["AllowedOAuthFlowsUserPoolClient"] is True
    assert client["AllowedOAuthFlows"] == ["code"]
    assert "openid" in client["AllowedOAuthScopes"]
    assert client["CallbackURLs"] == [CONSOLE_URL] and client["LogoutURLs"] == [CONSOLE_URL]
    assert client["SupportedIdentityProviders"] == ["COGNITO"]
    domain = _resource(document, "StaffUserPoolDomain", "AWS::Cognito::UserPoolDomain")
    assert domain["UserPoolId"] == {"Ref": "StaffUserPool"}


def test_the_deployed_config_points_the_console_at_that_sign_in(document: dict[str, Any]) -> None:
    site = document["Resources"]["ConsoleSite"]
    assert site["Type"] == "Custom::ConsoleSite"
    properties = site["Properties"]
    assert properties["ServiceToken"] == {"Ref": "ConsolePublishFunction.Version"}  # runs again on new files
    assert properties["Bucket"] == {"Ref": "ConsoleBucket"}
    assert properties["DistributionId"] == {"Ref": "ConsoleDistribution"}
    config = properties["Config"]
    assert config["mode"] == "cognito"
    auth = config["auth"]
    assert auth["client_id"] == {"Ref": "StaffUserPoolClient"}
    assert auth["redirect_uri"] == CONSOLE_URL  # exactly a callback URL of the client
    assert auth["domain"] == {"Fn::Sub": "https://${StaffUserPoolDomain}.auth.${AWS::Region}.amazoncognito.com"}
    publisher = _resource(document, "ConsolePublishFunction", "AWS::Serverless::Function")
    assert (publisher["CodeUri"], publisher["Handler"]) == ("console/", "publish.handler")


# ---- as `sam deploy` sends it (translated by aws-sam-translator) ---------------------------------------------

def test_the_console_is_deployed_again_whenever_its_files_change(translated: dict[str, Any]) -> None:
    resources = translated["Resources"]
    # The custom resource calls a published version of the publishing function: new files, new version, new call
    token = resources["ConsoleSite"]["Properties"]["ServiceToken"]
    version = resources[token["Ref"]]
    assert version["Type"] == "AWS::Lambda::Version"
    assert version["Properties"]["FunctionName"] == {"Ref": "ConsolePublishFunction"}


def test_the_publishing_function_may_only_write_the_console_and_clear_its_cache(translated: dict[str, Any]) -> None:
    role = translated["Resources"]["ConsolePublishFunctionRole"]["Properties"]
    statements = [s for p in role["Policies"] for s in p["PolicyDocument"]["Statement"]]
    granted = {(a, json.dumps(s["Resource"], sort_keys=True)) for s in statements for a in s["Action"]}
    assert granted == {
        ("s3:PutObject", '{"Fn::Sub": "${ConsoleBucket.Arn}/console/*"}'),
        ("s3:DeleteObject", '{"Fn::Sub": "${ConsoleBucket.Arn}/console/*"}'),
        ("s3:ListBucket", '{"Fn::GetAtt": ["ConsoleBucket", "Arn"]}'),
        ("cloudfront:CreateInvalidation",
         '{"Fn::Sub": "arn:${AWS::Partition}:cloudfront::${AWS::AccountId}:distribution/${ConsoleDistribution}"}'),
    }


def test_sign_in_is_the_code_flow_back_to_the_deployed_console(translated: dict[str, Any]) -> None:
    resources = translated["Resources"]
    client = resources["StaffUserPoolClient"]["Properties"]
    assert (client["GenerateSecret"], client["AllowedOAuthFlows"]) == (False, ["code"])
    assert client["CallbackURLs"] == [CONSOLE_URL]
    assert resources["StaffUserPoolDomain"]["Type"] == "AWS::Cognito::UserPoolDomain"
    auth = resources["ConsoleSite"]["Properties"]["Config"]["auth"]
    assert auth["redirect_uri"] in client["CallbackURLs"] and auth["client_id"] == {"Ref": "StaffUserPoolClient"}
    # The API the distribution forwards to is the stage the template deploys, behind the staff authorizer
    api_origin = next(o for o in resources["ConsoleDistribution"]["Properties"]["DistributionConfig"]["Origins"]
                      if o["Id"] == "api")
    assert api_origin["DomainName"] == {"Fn::Sub": "${CustomerApi}.execute-api.${AWS::Region}.amazonaws.com"}
    assert resources["CustomerApi"]["Type"] == "AWS::ApiGateway::RestApi"
