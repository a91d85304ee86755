"""The local stack's saved state (crm_local.state): what is saved comes back whole, an unreadable folder is
refused and left as it is, one stack at a time, and a save that fails loses nothing."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from crm_local import emulator
from crm_local.outbox import sent_emails
from crm_local.stack import LOCAL_ENV, create_resources
from crm_local.state import DATABASE, SavedState, StateError
from crm_local.template import Template

REGION = LOCAL_ENV["AWS_REGION"]


@pytest.fixture
def account(template: Template, monkeypatch: pytest.MonkeyPatch) -> Callable[[], Any]:
    """Makes a fresh moto account with the template's resources, as the local stack starts one."""
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    running: list[Any] = []

    def fresh() -> Template:
        if running:
            running.pop().stop()
        mock = mock_aws()
        mock.start()
        running.append(mock)
        create_resources(template)
        return template

    yield fresh
    if running:
        running.pop().stop()


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    return tmp_path / "state"


def write_everything(template: Template) -> None:
    """A bit of everything a user makes: items (one binary, one updated, one deleted), object versions and a
    delete marker, queued messages, a sent email with accents."""
    table = next(iter(template.tables().values()))["TableName"]
    ddb = boto3.client("dynamodb")
    for n in range(30):
        ddb.put_item(TableName=table, Item={"PK": {"S": f"CUST#{n:03d}"}, "SK": {"S": "PROFILE"},
                                            "name": {"S": f"Zoë {n}"}, "GSI1PK": {"S": "MONTH#2026-11"},
                                            "GSI1SK": {"S": f"{n:03d}"}, "n": {"N": str(n)}})
    ddb.put_item(TableName=table, Item={"PK": {"S": "BIN"}, "SK": {"S": "1"}, "b": {"B": b"\x00\xff"},
                                        "bs": {"BS": [b"a", b"b"]}, "m": {"M": {"l": {"L": [{"NULL": True}]}}}})
    ddb.update_item(TableName=table, Key={"PK": {"S": "CUST#001"}, "SK": {"S": "PROFILE"}},
                    UpdateExpression="SET #n = :v", ExpressionAttributeNames={"#n": "name"},
                    ExpressionAttributeValues={":v": {"S": "changed"}})
    ddb.delete_item(TableName=table, Key={"PK": {"S": "CUST#002"}, "SK": {"S": "PROFILE"}})
    s3 = boto3.client("s3")
    bucket = template.buckets()["ImportsBucket"]  # versioned
    s3.put_object(Bucket=bucket, Key="imports/a/report.xlsx", Body=b"first", ContentType="application/x-test",
                  Metadata={"uploaded-by": "ada"})
    s3.put_object(Bucket=bucket, Key="imports/a/report.xlsx", Body=b"second")
    s3.put_object(Bucket=bucket, Key="imports/b/gone.xlsx", Body=b"gone")
    s3.delete_object(Bucket=bucket, Key="imports/b/gone.xlsx")
    sqs = boto3.client("sqs")
    queue = template.queue_url("ExportQueue")
    sqs.send_message(QueueUrl=queue, MessageBody='{"export": "é1"}',
                     MessageAttributes={"kind": {"DataType": "String", "StringValue": "export"}})
    sqs.send_message(QueueUrl=queue, MessageBody='{"export": 2}')
    mail = EmailMessage()
    mail["From"], mail["To"], mail["Subject"] = "no-reply@example.org", "zoe@example.ie", "Bonjour Zoë"
    mail.set_content("Chère Zoë,\n")
    boto3.client("sesv2").send_email(FromEmailAddress="no-reply@example.org",
                                     Destination={"ToAddresses": ["zoe@example.ie"]},
                                     Content={"Raw": {"Data": mail.as_bytes()}})


def read_everything(template: Template) -> dict[str, Any]:
    table = next(iter(template.tables().values()))["TableName"]
    ddb = boto3.client("dynamodb")
    items = sorted(ddb.scan(TableName=table)["Items"], key=lambda i: (i["PK"]["S"], i["SK"]["S"]))
    listed = ddb.query(TableName=table, IndexName="GSI1", KeyConditionExpression="GSI1PK = :m",
                       ExpressionAttributeValues={":m": {"S": "MONTH#2026-11"}})["Items"]
    s3 = boto3.client("s3")
    bucket = template.buckets()["ImportsBucket"]
    versions = s3.list_object_versions(Bucket=bucket)
    objects = [(v["Key"], v["VersionId"], v["ETag"], v["IsLatest"]) for v in versions.get("Versions", [])]
    markers = [(m["Key"], m["VersionId"], m["IsLatest"]) for m in versions.get("DeleteMarkers", [])]
    older = [v for key, v, _, latest in objects if key == "imports/a/report.xlsx" and not latest]
    first = s3.get_object(Bucket=bucket, Key="imports/a/report.xlsx", VersionId=older[0]) if older else None
    sqs = boto3.client("sqs")
    answer = sqs.receive_message(QueueUrl=template.queue_url("ExportQueue"), MaxNumberOfMessages=10,
                                 MessageAttributeNames=["All"])
    messages = sorted((m["Body"], str(m.get("MessageAttributes"))) for m in answer.get("Messages", []))
    return {"items": items, "listed": listed, "objects": sorted(objects), "markers": markers,
            "first version": (first["Body"].read(), first["ContentType"], first["Metadata"]) if first else None,
            "messages": messages, "outbox": [(m["to"], m["subject"], m["text"]) for m in sent_emails()]}


def test_what_is_saved_comes_back_whole_after_a_restart(account: Callable[[], Template], folder: Path) -> None:
    # Given a stack that saved as it went
    template = account()
    saved = SavedState(folder)
    assert saved.open() is False  # a new folder
    saved.start(every=3600)
    write_everything(template)
    before = read_everything(template)
    saved.stop()
    saved.close()
    # When a new emulator starts from the folder
    template = account()
    again = SavedState(folder)
    assert again.open() is True
    restored = again.restore()
    # Then everything is as it was
    assert read_everything(template) == before
    assert before["outbox"] == [("zoe@example.ie", "Bonjour Zoë", "Chère Zoë,\n")]
    assert len(before["items"]) == 30 and before["markers"] and len(before["objects"]) == 3
    assert (restored.objects, restored.emails) == (3, 1) and restored.messages >= 2
    again.close()


def test_changes_after_a_restore_are_saved_too(account: Callable[[], Template], folder: Path) -> None:
    template = account()
    saved = SavedState(folder)
    saved.open()
    saved.start(every=3600)
    write_everything(template)
    saved.stop()
    saved.close()
    # Given a restored stack in which more changes
    template = account()
    again = SavedState(folder)
    again.open()
    again.restore()
    again.start(every=3600)
    table = next(iter(template.tables().values()))["TableName"]
    boto3.client("dynamodb").delete_item(TableName=table, Key={"PK": {"S": "CUST#003"}, "SK": {"S": "PROFILE"}})
    boto3.client("s3").delete_object(Bucket=template.buckets()["ImportsBucket"], Key="imports/a/report.xlsx")
    before = read_everything(template)
    again.stop()
    again.close()
    # When it restarts, then those changes are there
    template = account()
    third = SavedState(folder)
    third.open()
    third.restore()
    assert read_everything(template) == before
    third.close()


def test_an_unreadable_state_file_is_refused_and_left_as_it_is(folder: Path) -> None:
    folder.mkdir()
    (folder / DATABASE).write_bytes(b"this is not a database" * 100)
    with pytest.raises(StateError) as refused:
        SavedState(folder).open()
    message = str(refused.value)
    assert "cannot be read" in message and "--fresh" in message and "mv " in message
    assert (folder / DATABASE).read_bytes() == b"this is not a database" * 100


def test_a_state_in_another_format_is_refused(folder: Path) -> None:
    saved = SavedState(folder)
    saved.open()
    saved.close()
    with sqlite3.connect(folder / DATABASE) as db:
        db.execute("UPDATE meta SET value = 'someone-else/9' WHERE name = 'format'")
    with pytest.raises(StateError, match="someone-else/9"):
        SavedState(folder).open()


def test_one_stack_at_a_time_uses_a_folder(folder: Path) -> None:
    first = SavedState(folder)
    first.open()
    try:
        with pytest.raises(StateError, match="in use by another local stack"):
            SavedState(folder).open()
    finally:
        first.close()
    SavedState(folder).open()  # free again once the first let go


class FailingOnce:
    """A connection whose first write fails, as a full disk would."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db
        self.failed = False

    def execute(self, sql: str, *args: Any) -> Any:
        return self.db.execute(sql, *args)

    def executemany(self, sql: str, rows: Any) -> Any:
        if not self.failed and sql.startswith("INSERT"):
            self.failed = True
            raise sqlite3.OperationalError("database or disk is full")
        return self.db.executemany(sql, rows)

    def close(self) -> None:
        self.db.close()


def test_a_save_that_fails_keeps_its_changes_for_the_next(account: Callable[[], Template], folder: Path) -> None:
    template = account()
    saved = SavedState(folder)
    saved.open()
    saved.start(every=3600)
    write_everything(template)
    saved._db = FailingOnce(saved._db)  # type: ignore[arg-type, assignment]
    with pytest.raises(sqlite3.OperationalError):
        saved.save()
    before = read_everything(template)
    saved.stop()  # the next save writes them
    saved.close()
    template = account()
    again = SavedState(folder)
    again.open()
    again.restore()
    assert read_everything(template) == before
    again.close()


@pytest.fixture(autouse=True)
def _no_listener() -> Iterator[None]:
    yield
    emulator.set_listener(None)


def test_an_sqlite_file_of_something_else_is_refused_and_left_as_it_is(folder: Path) -> None:
    folder.mkdir()
    with sqlite3.connect(folder / DATABASE) as db:
        db.execute("CREATE TABLE notes (text TEXT)")
        db.execute("INSERT INTO notes VALUES ('mine')")
    before = (folder / DATABASE).read_bytes()
    with pytest.raises(StateError, match="not one this stack saved"):
        SavedState(folder).open()
    assert (folder / DATABASE).read_bytes() == before
