"""Deploys the staff console: a CloudFormation custom resource (``ConsoleSite`` in template.yaml).

On Create and Update it copies the files of ``site/`` (packaged beside this module) into the console bucket
under ``console/``, writes the ``console/config.json`` the template gives it (where staff sign in), removes
files a previous version had and this one has not, and asks CloudFront to forget its copies. On Delete it
empties ``console/`` so the bucket can go with the stack. CloudFormation is always answered, failure
included: an unanswered custom resource holds the stack for an hour.
"""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path
from typing import Any

import boto3
from aws_lambda_powertools import Logger

SITE = Path(__file__).resolve().parent / "site"
PREFIX = "console/"
# The kinds of file the site is made of, as the local API serves them (crm_local/console.py)
CONTENT_TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
                 ".css": "text/css; charset=utf-8", ".svg": "image/svg+xml", ".json": "application/json",
                 ".txt": "text/plain; charset=utf-8", ".ico": "image/x-icon", ".png": "image/png"}
# Browsers ask again each time (a cheap 304 when unchanged), so a deploy shows at the next page load.
CACHE_CONTROL = "no-cache"

logger = Logger()


def site_files() -> dict[str, Path]:
    """Every file the site serves, by its key in the bucket."""
    return {PREFIX + p.relative_to(SITE).as_posix(): p for p in sorted(SITE.rglob("*"))
            if p.is_file() and p.suffix in CONTENT_TYPES}


def publish(s3: Any, cloudfront: Any, bucket: str, config: dict[str, Any], distribution_id: str | None,
            reference: str) -> dict[str, Any]:
    files = site_files()
    for key, path in files.items():
        s3.put_object(Bucket=bucket, Key=key, Body=path.read_bytes(), ContentType=CONTENT_TYPES[path.suffix],
                      CacheControl=CACHE_CONTROL)
    config_key = PREFIX + "config.json"
    s3.put_object(Bucket=bucket, Key=config_key, Body=json.dumps(config).encode(),
                  ContentType=CONTENT_TYPES[".json"], CacheControl=CACHE_CONTROL)
    stale = [k for k in _keys(s3, bucket) if k not in files and k != config_key]
    _delete(s3, bucket, stale)
    if distribution_id:
        cloudfront.create_invalidation(DistributionId=distribution_id, InvalidationBatch={
            "Paths": {"Quantity": 1, "Items": [f"/{PREFIX}*"]}, "CallerReference": reference})
    logger.info("console published", extra={"bucket": bucket, "files": len(files) + 1, "removed": len(stale)})
    return {"Files": len(files) + 1}


def unpublish(s3: Any, bucket: str) -> None:
    keys = _keys(s3, bucket)
    _delete(s3, bucket, keys)
    logger.info("console removed", extra={"bucket": bucket, "files": len(keys)})


def _keys(s3: Any, bucket: str) -> list[str]:
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=PREFIX)
    return [item["Key"] for page in pages for item in page.get("Contents", [])]


def _delete(s3: Any, bucket: str, keys: list[str]) -> None:
    for start in range(0, len(keys), 1000):
        s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": k} for k in keys[start:start + 1000]],
                                                 "Quiet": True})


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    properties = event.get("ResourceProperties") or {}
    bucket = str(properties.get("Bucket", ""))
    status, reason, data = "SUCCESS", "", {}
    try:
        s3 = boto3.client("s3")
        if event["RequestType"] in ("Create", "Update"):
            data = publish(s3, boto3.client("cloudfront"), bucket, properties["Config"],
                           properties.get("DistributionId"), event["RequestId"])
        else:
            unpublish(s3, bucket)
    except Exception as failure:  # whatever failed, CloudFormation must be told, with why
        logger.exception("console deployment failed", extra={"bucket": bucket})
        status, reason = "FAILED", f"{type(failure).__name__}: {failure}"
    return respond(event, status, reason, data, _physical_id(bucket))


def _physical_id(bucket: str) -> str:
    return f"{bucket}/{PREFIX}"


def respond(event: dict[str, Any], status: str, reason: str, data: dict[str, Any],
            physical_id: str) -> dict[str, Any]:
    """Answer CloudFormation at the presigned ResponseURL it gave (and return the answer: without a
    ResponseURL, as ``crm invoke`` runs the sample event, that is all)."""
    answer = {"Status": status, "Reason": reason[:1000] or status, "PhysicalResourceId": physical_id,
              "StackId": event["StackId"], "RequestId": event["RequestId"],
              "LogicalResourceId": event["LogicalResourceId"], "Data": data}
    url = event.get("ResponseURL")  # CloudFormation's presigned https URL
    if not url:
        return answer
    body = json.dumps(answer).encode()
    request = urllib.request.Request(url, data=body, method="PUT",  # noqa: S310
                                     headers={"Content-Type": "", "Content-Length": str(len(body))})
    with urllib.request.urlopen(request, timeout=30) as sent:  # noqa: S310
        sent.read()
    return answer
