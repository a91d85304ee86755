"""The staff directory read from a Cognito user pool (moto), and its faults (botocore's Stubber)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from crm_core import wiring
from crm_core.dal.directory import CognitoStaff
from crm_core.errors import RetryLater
from crm_core.http import INTERNAL
from crm_local.template import Template
from integration.conftest import Call


@pytest.fixture
def pool() -> Iterator[tuple[Any, str]]:
    with mock_aws():
        cognito = boto3.client("cognito-idp", region_name="eu-west-2")
        pool_id = cognito.create_user_pool(PoolName="staff")["UserPool"]["Id"]
        for group in ("admin", "staff", "readonly", "marketing"):
            cognito.create_group(UserPoolId=pool_id, GroupName=group)
        yield cognito, pool_id


def _user(cognito: Any, pool_id: str, username: str, groups: list[str], name: str | None = None) -> None:
    attributes = [{"Name": "email", "Value": f"{username}@example.org"}]
    attributes += [{"Name": "name", "Value": name}] if name else []
    cognito.admin_create_user(UserPoolId=pool_id, Username=username, UserAttributes=attributes)
    for group in groups:
        cognito.admin_add_user_to_group(UserPoolId=pool_id, Username=username, GroupName=group)


def test_the_directory_is_the_users_of_the_staff_groups_with_their_roles(pool: tuple[Any, str]) -> None:
    # Given users in the staff groups (one in two of them), one only in another group, and one disabled
    cognito, pool_id = pool
    _user(cognito, pool_id, "asmith", ["staff", "admin"], name="Ann Smith")
    _user(cognito, pool_id, "bjones", ["readonly"])
    _user(cognito, pool_id, "cmarket", ["marketing"])
    _user(cognito, pool_id, "dgone", ["staff"])
    cognito.admin_disable_user(UserPoolId=pool_id, Username="dgone")
    # When the directory is read
    members = CognitoStaff(cognito, pool_id).members()
    # Then it lists the enabled users of the staff groups, each once, with their roles, name and email
    assert [(m.username, m.roles, m.name, m.email) for m in members] == [
        ("asmith", ["staff", "admin"], "Ann Smith", "asmith@example.org"),
        ("bjones", ["readonly"], None, "bjones@example.org")]


def test_every_page_of_a_large_group_is_read(pool: tuple[Any, str]) -> None:
    cognito, pool_id = pool
    for n in range(65):
        _user(cognito, pool_id, f"user{n:02d}", ["staff"])
    assert len(CognitoStaff(cognito, pool_id).members()) == 65


def test_the_directory_is_kept_for_a_minute(pool: tuple[Any, str]) -> None:
    # Given a directory read once
    cognito, pool_id = pool
    now = [0.0]
    directory = CognitoStaff(cognito, pool_id, ttl=60, clock=lambda: now[0])
    assert directory.members() == []
    _user(cognito, pool_id, "late", ["staff"])
    # When asked again within the minute, and after it
    within = directory.members()
    now[0] = 61.0
    after = directory.members()
    # Then the pool is read again only after the minute
    assert within == [] and [m.username for m in after] == ["late"]


def test_cognito_throttling_is_retry_later() -> None:
    cognito = boto3.client("cognito-idp", region_name="eu-west-2")
    with Stubber(cognito) as stub:
        stub.add_client_error("list_users_in_group", service_error_code="TooManyRequestsException")
        with pytest.raises(RetryLater):
            CognitoStaff(cognito, "eu-west-2_pool").members()


# ---- as the functions reach it: the staff routes, configured as in AWS -------------------------------------

def test_in_aws_the_staff_a_job_or_task_names_are_the_user_pools_never_the_built_in_users(
        api: Call, aws: Template, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given the functions configured as the template configures them in AWS: the staff user pool, no built-in users
    cognito = boto3.client("cognito-idp")
    pool_id = cognito.create_user_pool(PoolName="staff")["UserPool"]["Id"]
    cognito.create_group(UserPoolId=pool_id, GroupName="staff")
    _user(cognito, pool_id, "asmith", ["staff"])
    monkeypatch.setenv("STAFF_DIRECTORY", "user-pool")
    monkeypatch.setenv("STAFF_USER_POOL_ID", pool_id)
    wiring.reset()
    ada = api("POST", "/customers", body={"type": "individual", "first_name": "Ada", "last_name": "L"}).body
    job = {"title": "Install", "starts_on": "2027-01-04", "due_on": "2027-01-05"}
    # When a job (the money function) and a task (the customers function) name a user of the pool, they are kept
    assert api("POST", f"/customers/{ada['id']}/jobs", body={**job, "assigned_to": "asmith"}).status == 201
    assert api("POST", f"/customers/{ada['id']}/tasks", body={"title": "Call", "assignee": "asmith"}).status == 201
    # And a built-in local user is nobody there
    refused = api("POST", f"/customers/{ada['id']}/jobs", body={**job, "assigned_to": "local-clerk"})
    assert (refused.status, refused.body["error"]["fields"][0]["field"]) == (422, "assigned_to")


def test_a_function_without_its_user_pool_is_a_deployment_fault_not_a_directory_of_its_own(
        api: Call, aws: Template, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    # Given a function deployed without STAFF_USER_POOL_ID (and not the local stack)
    monkeypatch.setenv("STAFF_DIRECTORY", "user-pool")
    monkeypatch.delenv("STAFF_USER_POOL_ID")
    wiring.reset()
    ada = api("POST", "/customers", body={"type": "individual", "first_name": "Ada", "last_name": "L"}).body
    # When a job names a staff user
    answer = api("POST", f"/customers/{ada['id']}/jobs", body={"title": "Install", "starts_on": "2027-01-04",
                                                                "due_on": "2027-01-05", "assigned_to": "local-clerk"})
    # Then the caller gets the one 500 body (no staff name is accepted unchecked), and the log names the fault
    assert answer.status == 500 and answer.body == INTERNAL
    assert [r.levelname for r in caplog.records if r.getMessage() == "deployment fault"] == ["ERROR"]
    assert api("GET", f"/customers/{ada['id']}/jobs").body == []
