"""Every sample in events/ runs through its function, as `crm invoke` runs it, and succeeds."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import unquote_plus

import pytest

from crm_local.events import EVENTS, load_event
from crm_local.stack import Functions
from crm_local.template import Template

SAMPLES = sorted(EVENTS.glob("*/*.json"))


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_sample_event_succeeds(aws: Template, sample: Path) -> None:
    # Given the local stack's view of the template and one of a function's samples
    functions = Functions(aws)
    event: dict[str, Any] = load_event(sample.parent.name, sample.stem)
    _put_uploaded_workbooks(event)
    # When the function is invoked with it
    result = functions.invoke(sample.parent.name, event)
    if event.get("Records") and event["Records"][0].get("eventSource") == "aws:sqs":
        # Then a queue consumer reports no failed message (the sample's job does not exist: nothing to do)
        assert result == {"batchItemFailures": []}, result
        return
    if "statusCode" not in result:
        # Then a scheduled function returns what it did
        assert isinstance(result, dict), result
        return
    # Then an API function answers 2xx with a JSON body
    assert 200 <= result["statusCode"] < 300, result["body"]
    json.loads(result["body"])


def _put_uploaded_workbooks(event: dict[str, Any]) -> None:
    """An S3 upload notice in a queue sample names a workbook: put one there, as the upload would have."""
    import boto3

    from import_books import simple_workbook

    for record in event.get("Records", []):
        body = json.loads(record.get("body") or "{}") if record.get("eventSource") == "aws:sqs" else {}
        for notice in body.get("Records", []) if isinstance(body, dict) else []:
            s3 = notice["s3"]
            boto3.client("s3").put_object(Bucket=s3["bucket"]["name"], Key=unquote_plus(s3["object"]["key"]),
                                          Body=simple_workbook(2))


def test_there_are_samples_for_every_function(aws: Template) -> None:
    assert {p.parent.name for p in SAMPLES} == set(aws.functions())
